package vaultstore

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/go-git/go-git/v5/plumbing"
)

func flip(b []byte) []byte { c := bytes.Clone(b); c[len(c)/2] ^= 1; return c }

// A flipped byte in any stored object is found by Verify, and reads fail
// with an error instead of returning wrong bytes.
func TestDamagedObjects(t *testing.T) {
	s, db, _ := newTestStore(t)
	v, _ := s.Create("v")
	write(t, v, "small", "small secret")
	big := bytes.Repeat([]byte("0123456789"), ChunkSize/5)
	b, _ := v.WriteBlob(bytes.NewReader(big), int64(len(big)))
	mustUpdate(t, v, func(tx *Tx) error { return tx.Put("big", b, false, false) })
	if r, _ := v.Verify(); !r.OK() || r.Objects == 0 || r.Commits != 3 {
		t.Fatalf("sound vault: %+v", r)
	}
	snap, _ := v.Snapshot("")
	smallE, _ := snap.Stat("small")
	bigE, _ := snap.Stat("big")

	// small object: the meta entry holds the content
	db.TestOnlyTamper(v.objs.meta, smallE.Hash[:], flip)
	v.objs.cache.remove(smallE.Hash.git())
	if _, err := snap.ReadFile("small"); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("read of damaged small file: %v", err)
	}
	if r, _ := v.Verify(); r.OK() {
		t.Fatal("verify missed a damaged object")
	}
	// large object: damage one chunk
	m, _ := v.objs.getMeta(bigE.Hash.git())
	db.TestOnlyTamper(v.objs.chunks, chunkKey(m.prefix, 1), flip)
	if _, err := snap.ReadFile("big"); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("read of damaged big file: %v", err)
	}
	r, _ := v.Verify()
	if len(r.Problems) < 2 {
		t.Fatalf("verify found %v", r.Problems)
	}
	// a damaged ref
	db.TestOnlyTamper(v.refs, []byte(Branch), flip)
	if r, _ := v.Verify(); r.OK() {
		t.Fatal("verify missed a damaged ref")
	}
}

// Secrets, paths and vault names never reach the disk in plaintext.
func TestNoPlaintextInStore(t *testing.T) {
	s, db, dir := newTestStore(t)
	v, _ := s.Create("SENTINELVAULT")
	for i := 0; i < 50; i++ {
		write(t, v, "SENTINELDIR/SENTINELFILE"+strings.Repeat("x", i), "SENTINELSECRET value "+strings.Repeat("y", i*100))
	}
	big := bytes.Repeat([]byte("SENTINELBIG "), 200_000)
	b, _ := v.WriteBlob(bytes.NewReader(big), -1)
	mustUpdate(t, v, func(tx *Tx) error { return tx.Put("SENTINELBIGFILE", b, false, false) })
	s.Close()
	db.Close()
	filepath.Walk(dir, func(p string, info os.FileInfo, err error) error {
		if err != nil || info.IsDir() {
			return err
		}
		c, _ := os.ReadFile(p)
		if bytes.Contains(c, []byte("SENTINEL")) {
			t.Errorf("%s holds plaintext", p)
		}
		return nil
	})
}

// Parallel writers in one vault: every write lands, each as a commit.
func TestParallelWriters(t *testing.T) {
	v := newTestVault(t)
	var wg sync.WaitGroup
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 10; i++ {
				p := filepath.Join("w"+string(rune('a'+w)), "f"+string(rune('0'+i)))
				if _, err := v.Update(CommitOptions{}, func(tx *Tx) error {
					return tx.WriteSmall(p, []byte(p), false, true)
				}); err != nil {
					t.Error(err)
				}
				snap, _ := v.Snapshot("")
				if _, err := snap.ReadDir(""); err != nil {
					t.Error(err)
				}
			}
		}()
	}
	wg.Wait()
	log, _ := v.Log(0)
	if len(log) != 81 {
		t.Fatalf("%d commits, want 81", len(log))
	}
	snap, _ := v.Snapshot("")
	n := 0
	snap.Walk("", func(e Entry) error {
		if e.Type == TypeFile {
			n++
		}
		return nil
	})
	if n != 80 {
		t.Fatalf("%d files", n)
	}
}

func FuzzDecodeMeta(f *testing.F) {
	f.Add(encodeMeta(&objMeta{typ: plumbing.BlobObject, size: 3, inline: []byte("abc")}))
	f.Add(encodeMeta(&objMeta{typ: plumbing.BlobObject, size: ChunkSize + 1, prefix: make([]byte, 16), nchunks: 2}))
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := decodeMeta(b)
		if err != nil {
			return
		}
		if !bytes.Equal(encodeMeta(m), b) {
			t.Fatal("meta does not round-trip")
		}
	})
}

func FuzzDecodeRef(f *testing.F) {
	f.Add([]byte("ref: refs/heads/main"))
	f.Add([]byte(strings.Repeat("a", 40)))
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := decodeRef("refs/heads/x", b)
		if err == nil && !bytes.Equal(encodeRef(r), b) {
			t.Fatalf("ref does not round-trip: %q", b)
		}
	})
}
