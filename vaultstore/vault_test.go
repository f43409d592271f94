package vaultstore

import (
	"bytes"
	"crypto/rand"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/go-git/go-git/v5/plumbing"
)

func TestNameRules(t *testing.T) {
	for _, bad := range []string{"", ".", "..", ".hidden", "a/b", "a:b", "a\x00b", "a\nb", "a\x7fb", strings.Repeat("x", 256), "\xff"} {
		if err := ValidateName(bad); !errors.Is(err, ErrInvalidName) {
			t.Errorf("ValidateName(%q) = %v", bad, err)
		}
	}
	id := NewVaultID().String()
	for _, bad := range []string{id, "z1111111111111111"} { // the form of a vault ID
		if err := ValidateName(bad); !errors.Is(err, ErrInvalidName) {
			t.Errorf("ValidateName(%q) = %v", bad, err)
		}
	}
	for _, good := range []string{"a", "prod", "my vault", "ünïcode", strings.Repeat("x", 255), "a.b", "z", "zoo", id + "x", id[1:]} {
		if err := ValidateName(good); err != nil {
			t.Errorf("ValidateName(%q) = %v", good, err)
		}
	}
}

func TestCleanPath(t *testing.T) {
	for _, bad := range []string{"../x", "a/../b", "a//b", "a/./b", "..", "a\x00", keepName, "a/" + keepName} {
		if _, err := CleanPath(bad); !errors.Is(err, ErrInvalidPath) {
			t.Errorf("CleanPath(%q) = %v", bad, err)
		}
	}
	for in, want := range map[string]string{"": "", "/": "", "a": "a", "/a/b/": "a/b", "x y/z": "x y/z"} {
		p, err := CleanPath(in)
		if err != nil || JoinPath(p) != want {
			t.Errorf("CleanPath(%q) = %v, %v", in, p, err)
		}
	}
}

func TestVaultLifecycle(t *testing.T) {
	s, _, _ := newTestStore(t)
	v, err := s.Create("alpha")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(v.ID().String(), "z") {
		t.Fatalf("vault ID %s", v.ID())
	}
	if back, err := ParseVaultID(v.ID().String()); err != nil || back != v.ID() {
		t.Fatal("vault ID round trip")
	}
	if log, _ := v.Log(0); len(log) != 1 || log[0].Message != "Initial commit" {
		t.Fatalf("initial log %+v", log)
	}
	if _, err := s.Create("alpha"); !errors.Is(err, ErrVaultExists) {
		t.Fatalf("duplicate name: %v", err)
	}
	if _, err := s.Create("a/b"); !errors.Is(err, ErrInvalidName) {
		t.Fatalf("bad name: %v", err)
	}
	write(t, v, "k", "v")
	if err := s.Rename("alpha", "beta"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Vault("alpha"); !errors.Is(err, ErrVaultNotFound) {
		t.Fatal("old name still resolves")
	}
	v2, err := s.Vault("beta")
	if err != nil || v2 != v || read(t, v2, "k") != "v" {
		t.Fatalf("renamed vault: %v", err)
	}
	if v3, err := s.Vault(v.ID().String()); err != nil || v3 != v {
		t.Fatal("lookup by ID")
	}
	s.Create("gamma")
	if err := s.Rename("beta", "gamma"); !errors.Is(err, ErrVaultExists) {
		t.Fatalf("rename onto a taken name: %v", err)
	}
	list, _ := s.List()
	if len(list) != 2 || list[0].Name != "beta" || list[1].Name != "gamma" {
		t.Fatalf("list %+v", list)
	}
	if err := s.Delete("beta"); err != nil {
		t.Fatal(err)
	}
	if _, err := v.Snapshot(""); !errors.Is(err, ErrVaultNotFound) {
		t.Fatal("deleted vault still readable")
	}
	if list, _ := s.List(); len(list) != 1 {
		t.Fatalf("list after delete %+v", list)
	}
	if n, _ := v.objs.meta.Count(); n != 0 {
		t.Fatalf("%d objects left after delete", n)
	}
}

func TestFileOperations(t *testing.T) {
	v := newTestVault(t)
	write(t, v, "db/password", "hunter2")
	if got := read(t, v, "db/password"); got != "hunter2" {
		t.Fatalf("read %q", got)
	}
	log, _ := v.Log(1)
	if log[0].Message != "db/password added" {
		t.Fatalf("message %q", log[0].Message)
	}
	write(t, v, "db/password", "hunter3")
	if log, _ := v.Log(1); log[0].Message != "db/password modified" {
		t.Fatalf("message %q", log[0].Message)
	}
	head := v.Head()
	write(t, v, "db/password", "hunter3") // same content: no commit
	if v.Head() != head {
		t.Fatal("identical write made a commit")
	}
	mustUpdate(t, v, func(tx *Tx) error { return tx.Mkdir("empty/dir", true) })
	snap, _ := v.Snapshot("")
	if es, err := snap.ReadDir("empty/dir"); err != nil || len(es) != 0 {
		t.Fatalf("empty dir: %v %v", es, err)
	}
	mustUpdate(t, v, func(tx *Tx) error { return tx.Symlink("link", "db/password") })
	mustUpdate(t, v, func(tx *Tx) error { return tx.Chmod("db/password", true) })
	snap, _ = v.Snapshot("")
	if target, _ := snap.Readlink("link"); target != "db/password" {
		t.Fatalf("symlink target %q", target)
	}
	if e, _ := snap.Stat("db/password"); !e.Exec || e.Size != 7 || e.Type != TypeFile {
		t.Fatalf("stat %+v", e)
	}
	root, _ := snap.ReadDir("")
	if names(root) != "db,empty,link" {
		t.Fatalf("root %s", names(root))
	}
	mustUpdate(t, v, func(tx *Tx) error { return tx.Rename("db", "database") })
	if read(t, v, "database/password") != "hunter3" {
		t.Fatal("rename lost content")
	}
	// errors, each leaving the head where it was
	head = v.Head()
	for name, fn := range map[string]func(tx *Tx) error{
		"rm non-empty dir":   func(tx *Tx) error { return tx.Remove("database", RemoveAny) },
		"unlink a dir":       func(tx *Tx) error { return tx.Remove("empty", RemoveFile) },
		"rmdir a file":       func(tx *Tx) error { return tx.Remove("link", RemoveDir) },
		"mkdir existing":     func(tx *Tx) error { return tx.Mkdir("database", false) },
		"mkdir no parent":    func(tx *Tx) error { return tx.Mkdir("x/y", false) },
		"rename into itself": func(tx *Tx) error { return tx.Rename("empty", "empty/dir/x") },
		"rename missing":     func(tx *Tx) error { return tx.Rename("nope", "x") },
		"write over dir":     func(tx *Tx) error { return tx.WriteSmall("empty", []byte("x"), false, false) },
		"write under file":   func(tx *Tx) error { return tx.WriteSmall("link/x", []byte("x"), false, true) },
		"escape":             func(tx *Tx) error { return tx.WriteSmall("../x", []byte("x"), false, true) },
		"rm root":            func(tx *Tx) error { return tx.Remove("", RemoveRecursive) },
		"file over dir":      func(tx *Tx) error { return tx.Rename("link", "empty") },
	} {
		if _, err := v.Update(CommitOptions{}, fn); err == nil {
			t.Errorf("%s: no error", name)
		}
		if v.Head() != head {
			t.Fatalf("%s: failed update moved the head", name)
		}
	}
	mustUpdate(t, v, func(tx *Tx) error { return tx.Remove("database", RemoveRecursive) })
	snap, _ = v.Snapshot("")
	if _, err := snap.Stat("database/password"); !errors.Is(err, ErrNotFound) {
		t.Fatal("recursive remove left a file")
	}
}

func names(es []Entry) string {
	var n []string
	for _, e := range es {
		n = append(n, e.Name)
	}
	return strings.Join(n, ",")
}

func mustUpdate(t *testing.T, v *Vault, fn func(*Tx) error) Hash {
	t.Helper()
	h, err := v.Update(CommitOptions{}, fn)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func TestTransactionIsOneCommit(t *testing.T) {
	v := newTestVault(t)
	n0, _ := v.Log(0)
	mustUpdate(t, v, func(tx *Tx) error {
		for _, p := range []string{"a/1", "a/2", "b/c/3", "d"} {
			if err := tx.WriteSmall(p, []byte(p), false, true); err != nil {
				return err
			}
		}
		return tx.Remove("d", RemoveFile)
	})
	n1, _ := v.Log(0)
	if len(n1) != len(n0)+1 {
		t.Fatalf("%d commits for one transaction", len(n1)-len(n0))
	}
	if read(t, v, "b/c/3") != "b/c/3" {
		t.Fatal("content")
	}
}

func TestRevisionsAndVersion(t *testing.T) {
	v := newTestVault(t)
	write(t, v, "f", "one")
	c1 := v.Head()
	write(t, v, "f", "two")
	write(t, v, "f", "three")
	for rev, want := range map[string]string{"HEAD": "three", "HEAD~1": "two", "HEAD~2": "one", "HEAD^^": "one", c1.String(): "one", c1.String()[:7]: "one", strings.ToUpper(c1.String()[:8]): "one", c1.String()[:8] + "~0": "one"} {
		s, err := v.Snapshot(rev)
		if err != nil {
			t.Fatalf("%s: %v", rev, err)
		}
		if b, _ := s.ReadFile("f"); string(b) != want {
			t.Fatalf("%s: %q", rev, b)
		}
	}
	for _, bad := range []string{"HEAD~10", "deadbeef", "xyz", "0000000000000000000000000000000000000000", "HEAD~a~"} {
		if _, err := v.Snapshot(bad); !errors.Is(err, ErrRevision) {
			t.Errorf("%s: %v", bad, err)
		}
	}
	before, _ := v.Log(0)
	h, err := v.Version(c1.String()[:10], CommitOptions{})
	if err != nil {
		t.Fatal(err)
	}
	after, _ := v.Log(0)
	if len(after) != len(before)+1 || after[0].ID != h || read(t, v, "f") != "one" {
		t.Fatal("version did not add a commit with the old content")
	}
	if s, _ := v.Snapshot(before[0].ID.String()); s == nil {
		t.Fatal("old head lost")
	}
}

func TestMtimeChangesOnlyWithTheFile(t *testing.T) {
	v := newTestVault(t)
	write(t, v, "a", "1")
	write(t, v, "b", "1")
	s, _ := v.Snapshot("")
	ea, _ := s.Stat("a")
	time.Sleep(10 * time.Millisecond)
	write(t, v, "b", "2")
	mustUpdate(t, v, func(tx *Tx) error { return tx.Rename("a", "c") })
	s, _ = v.Snapshot("")
	ec, _ := s.Stat("c")
	eb, _ := s.Stat("b")
	if !ec.Mtime.Equal(ea.Mtime) {
		t.Fatalf("rename changed mtime: %v -> %v", ea.Mtime, ec.Mtime)
	}
	if !eb.Mtime.After(ea.Mtime) {
		t.Fatal("write did not change mtime")
	}
	tt := time.Unix(1_000_000_000, 0)
	if err := v.Touch("c", tt); err != nil {
		t.Fatal(err)
	}
	s, _ = v.Snapshot("")
	if ec, _ := s.Stat("c"); !ec.Mtime.Equal(tt) {
		t.Fatalf("touch: %v", ec.Mtime)
	}
}

func TestLargeFileStreams(t *testing.T) {
	v := newTestVault(t)
	data := make([]byte, 5*ChunkSize+123)
	rand.Read(data)
	for _, size := range []int64{-1, int64(len(data))} {
		b, err := v.WriteBlob(struct{ io.Reader }{bytes.NewReader(data)}, size)
		if err != nil {
			t.Fatal(err)
		}
		mustUpdate(t, v, func(tx *Tx) error { return tx.Put("big", b, false, false) })
		s, _ := v.Snapshot("")
		got, err := s.ReadFile("big")
		if err != nil || !bytes.Equal(got, data) {
			t.Fatalf("size %d: read back differs: %v", size, err)
		}
		if e, _ := s.Stat("big"); e.Size != int64(len(data)) || e.Hash != Hash(plumbing.ComputeHash(plumbing.BlobObject, data)) {
			t.Fatalf("stat %+v", e)
		}
		blob, _ := s.Open("big")
		part := make([]byte, 100)
		if n, err := blob.ReadAt(part, ChunkSize-50); n != 100 || err != nil || !bytes.Equal(part, data[ChunkSize-50:ChunkSize+50]) {
			t.Fatal("ReadAt across chunks")
		}
	}
	if _, err := v.WriteBlob(bytes.NewReader(nil), MaxFileSize+1); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("over the limit: %v", err)
	}
}

func TestReadOnlyReplica(t *testing.T) {
	s, _, _ := newTestStore(t)
	v, err := s.CreateReplica(NewVaultID(), "replica", s.NodeID())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := v.Update(CommitOptions{}, func(tx *Tx) error { return nil }); !errors.Is(err, ErrReadOnly) {
		t.Fatalf("write to replica: %v", err)
	}
}

// Content too large for the commit batch has its chunks written while its
// hash is computed; when the content turns out to be stored already, the
// chunks just written are dropped again and the object is the stored one.
func TestLargeMemObjectStoredTwice(t *testing.T) {
	v := newTestVault(t)
	data := make([]byte, 6*ChunkSize+7)
	rand.Read(data)
	b1, err := v.WriteBlobBytes(data)
	if err != nil {
		t.Fatal(err)
	}
	if b1.p.exists || b1.p.meta.nchunks != 7 {
		t.Fatalf("first write: exists %v, %d chunks", b1.p.exists, b1.p.meta.nchunks)
	}
	mustUpdate(t, v, func(tx *Tx) error { return tx.Put("a", b1, false, false) })
	b2, err := v.WriteBlobBytes(data)
	if err != nil {
		t.Fatal(err)
	}
	if !b2.p.exists || b2.p.hash != b1.p.hash {
		t.Fatalf("second write of the same content: exists %v, hash %v vs %v", b2.p.exists, b2.p.hash, b1.p.hash)
	}
	for i := uint32(0); i < 7; i++ {
		if _, err := v.objs.chunks.Get(chunkKey(b2.p.meta.prefix, i)); err == nil {
			t.Fatalf("chunk %d of the duplicate was kept", i)
		}
	}
	mustUpdate(t, v, func(tx *Tx) error { return tx.Put("b", b2, false, false) })
	s, _ := v.Snapshot("")
	for _, p := range []string{"a", "b"} {
		if got, err := s.ReadFile(p); err != nil || !bytes.Equal(got, data) {
			t.Fatalf("%s: read back differs: %v", p, err)
		}
	}
	if e, _ := s.Stat("b"); e.Hash != Hash(plumbing.ComputeHash(plumbing.BlobObject, data)) {
		t.Fatalf("hash %v", e.Hash)
	}
}
