package vaultstore

import (
	"bytes"
	"errors"
	"io"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/storage"
	"github.com/go-git/go-git/v5/storage/memory"
)

// The storer conformance suite runs against go-git's memory storer and ours:
// both must behave the same on everything go-git relies on.
func TestStorerConformance(t *testing.T) {
	for name, mk := range map[string]func(t *testing.T) storage.Storer{
		"memory": func(*testing.T) storage.Storer { return memory.NewStorage() },
		"vault":  func(t *testing.T) storage.Storer { return newTestVault(t).storer },
	} {
		t.Run(name, func(t *testing.T) {
			for _, c := range conformanceCases {
				t.Run(c.name, func(t *testing.T) {
					if c.name == "concurrent writes" && name == "memory" {
						t.Skip("go-git's memory storer is not safe for concurrent use; ours must be")
					}
					c.fn(t, mk(t))
				})
			}
		})
	}
}

var conformanceCases = []struct {
	name string
	fn   func(*testing.T, storage.Storer)
}{
	{"object round trip", testObjectRoundTrip},
	{"missing object", testMissingObject},
	{"iterate by type", testIterByType},
	{"references", testReferences},
	{"check and set", testCheckAndSet},
	{"concurrent writes", testConcurrentWrites},
}

func setObj(t *testing.T, s storage.Storer, typ plumbing.ObjectType, content []byte) plumbing.Hash {
	t.Helper()
	o := s.NewEncodedObject()
	o.SetType(typ)
	o.SetSize(int64(len(content)))
	w, _ := o.Writer()
	w.Write(content)
	w.Close()
	h, err := s.SetEncodedObject(o)
	if err != nil {
		t.Fatal(err)
	}
	if want := plumbing.ComputeHash(typ, content); h != want {
		t.Fatalf("hash %s, want %s", h, want)
	}
	return h
}

func testObjectRoundTrip(t *testing.T, s storage.Storer) {
	for _, size := range []int{0, 1, InlineLimit, InlineLimit + 1, ChunkSize + 17, 2*ChunkSize + 3} {
		content := bytes.Repeat([]byte{byte(size)}, size)
		h := setObj(t, s, plumbing.BlobObject, content)
		if err := s.HasEncodedObject(h); err != nil {
			t.Fatalf("size %d: has: %v", size, err)
		}
		if n, err := s.EncodedObjectSize(h); err != nil || n != int64(size) {
			t.Fatalf("size %d: EncodedObjectSize %d %v", size, n, err)
		}
		o, err := s.EncodedObject(plumbing.AnyObject, h)
		if err != nil {
			t.Fatal(err)
		}
		if o.Type() != plumbing.BlobObject || o.Size() != int64(size) || o.Hash() != h {
			t.Fatalf("size %d: object header %v %d %s", size, o.Type(), o.Size(), o.Hash())
		}
		r, _ := o.Reader()
		got, err := io.ReadAll(r)
		if err != nil || !bytes.Equal(got, content) {
			t.Fatalf("size %d: content differs (%v)", size, err)
		}
		if _, err := s.EncodedObject(plumbing.TreeObject, h); !errors.Is(err, plumbing.ErrObjectNotFound) {
			t.Fatalf("wrong type lookup: %v", err)
		}
	}
}

func testMissingObject(t *testing.T, s storage.Storer) {
	h := plumbing.NewHash("0123456789012345678901234567890123456789")
	if err := s.HasEncodedObject(h); !errors.Is(err, plumbing.ErrObjectNotFound) {
		t.Fatalf("has: %v", err)
	}
	if _, err := s.EncodedObject(plumbing.AnyObject, h); !errors.Is(err, plumbing.ErrObjectNotFound) {
		t.Fatalf("get: %v", err)
	}
	if _, err := s.EncodedObjectSize(h); !errors.Is(err, plumbing.ErrObjectNotFound) {
		t.Fatalf("size: %v", err)
	}
	if _, err := s.Reference("refs/heads/nope"); !errors.Is(err, plumbing.ErrReferenceNotFound) {
		t.Fatalf("ref: %v", err)
	}
}

func testIterByType(t *testing.T, s storage.Storer) {
	before := countObjs(t, s, plumbing.BlobObject)
	a := setObj(t, s, plumbing.BlobObject, []byte("a-unique-blob"))
	b := setObj(t, s, plumbing.BlobObject, []byte("b-unique-blob"))
	tr := setObj(t, s, plumbing.TreeObject, encodeTree([]treeEntry{{name: "a", mode: 0o100644, hash: a}}))
	blobs := hashesOf(t, s, plumbing.BlobObject)
	if len(blobs) != before+2 || !contains(blobs, a) || !contains(blobs, b) || contains(blobs, tr) {
		t.Fatalf("blob iteration: %v", blobs)
	}
	if !contains(hashesOf(t, s, plumbing.AnyObject), tr) {
		t.Fatal("AnyObject iteration misses the tree")
	}
}

func countObjs(t *testing.T, s storage.Storer, typ plumbing.ObjectType) int {
	return len(hashesOf(t, s, typ))
}

func hashesOf(t *testing.T, s storage.Storer, typ plumbing.ObjectType) []plumbing.Hash {
	it, err := s.IterEncodedObjects(typ)
	if err != nil {
		t.Fatal(err)
	}
	var out []plumbing.Hash
	it.ForEach(func(o plumbing.EncodedObject) error { out = append(out, o.Hash()); return nil })
	return out
}

func contains(hs []plumbing.Hash, h plumbing.Hash) bool {
	for _, x := range hs {
		if x == h {
			return true
		}
	}
	return false
}

func testReferences(t *testing.T, s storage.Storer) {
	h := plumbing.NewHash("1111111111111111111111111111111111111111")
	s.SetReference(plumbing.NewHashReference("refs/heads/x", h))
	s.SetReference(plumbing.NewSymbolicReference("refs/heads/sym", "refs/heads/x"))
	r, err := s.Reference("refs/heads/x")
	if err != nil || r.Hash() != h {
		t.Fatalf("ref: %v", err)
	}
	sr, err := s.Reference("refs/heads/sym")
	if err != nil || sr.Type() != plumbing.SymbolicReference || sr.Target() != "refs/heads/x" {
		t.Fatalf("symbolic: %v", err)
	}
	it, _ := s.IterReferences()
	var names []string
	it.ForEach(func(r *plumbing.Reference) error { names = append(names, string(r.Name())); return nil })
	sort.Strings(names)
	if !strings.Contains(strings.Join(names, ","), "refs/heads/sym,refs/heads/x") {
		t.Fatalf("iter: %v", names)
	}
	if err := s.RemoveReference("refs/heads/x"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Reference("refs/heads/x"); !errors.Is(err, plumbing.ErrReferenceNotFound) {
		t.Fatal("removed ref still there")
	}
}

func testCheckAndSet(t *testing.T, s storage.Storer) {
	h1 := plumbing.NewHash("1111111111111111111111111111111111111111")
	h2 := plumbing.NewHash("2222222222222222222222222222222222222222")
	h3 := plumbing.NewHash("3333333333333333333333333333333333333333")
	s.SetReference(plumbing.NewHashReference("refs/heads/c", h1))
	if err := s.CheckAndSetReference(plumbing.NewHashReference("refs/heads/c", h2), plumbing.NewHashReference("refs/heads/c", h1)); err != nil {
		t.Fatal(err)
	}
	err := s.CheckAndSetReference(plumbing.NewHashReference("refs/heads/c", h3), plumbing.NewHashReference("refs/heads/c", h1))
	if !errors.Is(err, storage.ErrReferenceHasChanged) {
		t.Fatalf("stale check-and-set: %v", err)
	}
	if r, _ := s.Reference("refs/heads/c"); r.Hash() != h2 {
		t.Fatal("stale check-and-set changed the ref")
	}
}

func testConcurrentWrites(t *testing.T, s storage.Storer) {
	var wg sync.WaitGroup
	hs := make([]plumbing.Hash, 16)
	for i := range hs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			o := s.NewEncodedObject()
			o.SetType(plumbing.BlobObject)
			w, _ := o.Writer()
			w.Write(bytes.Repeat([]byte{byte(i)}, 100+i))
			w.Close()
			h, err := s.SetEncodedObject(o)
			if err != nil {
				t.Error(err)
			}
			hs[i] = h
		}()
	}
	wg.Wait()
	for _, h := range hs {
		if err := s.HasEncodedObject(h); err != nil {
			t.Fatal(err)
		}
	}
}
