package vaultstore

import (
	"errors"
	"io"
	"testing"
)

// zeros reads n zero bytes, made on demand, then fails with err (io.EOF
// when nil).
type zeros struct {
	n   int64
	err error
}

func (z *zeros) Read(p []byte) (int, error) {
	if z.n <= 0 {
		if z.err != nil {
			return 0, z.err
		}
		return 0, io.EOF
	}
	if int64(len(p)) > z.n {
		p = p[:z.n]
	}
	clear(p)
	z.n -= int64(len(p))
	return len(p), nil
}

// withMaxFileSize lowers the file size limit for one test, so that streams
// over it need not be a GiB (integration's TestOverMaxFileSize streams the
// real limit through the built binary).
func withMaxFileSize(t *testing.T, n int64) {
	old := maxFileSize
	maxFileSize = n
	t.Cleanup(func() { maxFileSize = old })
}

func chunkCount(t *testing.T, v *Vault) int {
	t.Helper()
	n, err := v.objs.chunks.Count()
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// A stream over the limit fails with ErrTooLarge once it passes the limit,
// and leaves no chunk behind; a stream of exactly the limit is accepted; a
// stream that fails midway leaves no chunk either; nothing is committed.
func TestStreamOverMaxFileSize(t *testing.T) {
	const limit = 3*ChunkSize + 100 // the last chunk is partial
	withMaxFileSize(t, limit)
	v := newTestVault(t)
	write(t, v, "keep", "keep")
	head := v.Head()

	for _, size := range []int64{-1, limit + 1} {
		z := &zeros{n: limit + 1}
		if _, err := v.WriteBlob(z, size); !errors.Is(err, ErrTooLarge) {
			t.Fatalf("size %d: %v", size, err)
		}
		if size < 0 && z.n > 0 {
			t.Fatalf("%d bytes left unread: the stream was not read to the limit", z.n)
		}
		if c := chunkCount(t, v); c != 0 {
			t.Fatalf("size %d: %d chunks left behind", size, c)
		}
	}
	if _, err := v.WriteBlob(&zeros{n: 10 * ChunkSize}, -1); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("far over the limit: %v", err)
	}
	if c := chunkCount(t, v); c != 0 {
		t.Fatalf("%d chunks left behind", c)
	}

	broken := errors.New("broken pipe")
	if _, err := v.WriteBlob(&zeros{n: 2*ChunkSize + 5, err: broken}, -1); !errors.Is(err, broken) {
		t.Fatalf("failing reader: %v", err)
	}
	if c := chunkCount(t, v); c != 0 {
		t.Fatalf("failing reader: %d chunks left behind", c)
	}
	if v.Head() != head {
		t.Fatal("a failed write moved the head")
	}

	b, err := v.WriteBlob(&zeros{n: limit}, -1)
	if err != nil {
		t.Fatalf("exactly the limit: %v", err)
	}
	mustUpdate(t, v, func(tx *Tx) error { return tx.Put("max", b, false, false) })
	if c := chunkCount(t, v); c != 4 {
		t.Fatalf("a file of the limit has %d chunks, want 4", c)
	}
	snap, _ := v.Snapshot("")
	if e, err := snap.Stat("max"); err != nil || e.Size != limit {
		t.Fatalf("stat: %+v %v", e, err)
	}
	if r, _ := v.Verify(); !r.OK() {
		t.Fatalf("verify: %v", r.Problems)
	}
}
