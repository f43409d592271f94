package vaultstore

import (
	"errors"
	"fmt"
	"io"
	"sync"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/storer"
	"github.com/go-git/go-git/v5/storage"
	"github.com/go-git/go-git/v5/storage/memory"
	"github.com/pkfs/pkfs/internal/kvstore"
)

// Storer is a go-git storage.Storer over a vault's encrypted buckets:
// objects and references are ours; config, index, shallow and module
// storage are go-git's in-memory ones (a vault has no worktree). It is safe
// for concurrent use.
type Storer struct {
	objs *objStore
	refs *kvstore.Bucket
	mu   sync.Mutex // serialises reference check-and-set

	memory.ConfigStorage
	memory.IndexStorage
	memory.ShallowStorage
	modules memory.ModuleStorage
}

var _ storage.Storer = (*Storer)(nil)

func newStorer(objs *objStore, refs *kvstore.Bucket) *Storer {
	return &Storer{objs: objs, refs: refs, modules: memory.ModuleStorage{}}
}

// Module implements storage.ModuleStorer.
func (s *Storer) Module(name string) (storage.Storer, error) { return s.modules.Module(name) }

// NewEncodedObject implements storer.EncodedObjectStorer.
func (s *Storer) NewEncodedObject() plumbing.EncodedObject { return &plumbing.MemoryObject{} }

// SetEncodedObject stores an object (unsynced; the ref update that follows
// orders it on disk).
func (s *Storer) SetEncodedObject(obj plumbing.EncodedObject) (plumbing.Hash, error) {
	switch obj.Type() {
	case plumbing.CommitObject, plumbing.TreeObject, plumbing.BlobObject, plumbing.TagObject:
	default:
		return plumbing.ZeroHash, plumbing.ErrInvalidType
	}
	r, err := obj.Reader()
	if err != nil {
		return plumbing.ZeroHash, err
	}
	defer r.Close()
	p, err := s.objs.writeObject(obj.Type(), r, obj.Size())
	if err != nil {
		return plumbing.ZeroHash, err
	}
	var bt kvstore.Batch
	p.addTo(s.objs, &bt)
	if err := s.objs.db.Write(&bt, false); err != nil {
		return plumbing.ZeroHash, err
	}
	return p.hash, nil
}

// EncodedObject implements storer.EncodedObjectStorer.
func (s *Storer) EncodedObject(t plumbing.ObjectType, h plumbing.Hash) (plumbing.EncodedObject, error) {
	m, err := s.objs.getMeta(h)
	if err != nil {
		return nil, err
	}
	if t != plumbing.AnyObject && t != m.typ {
		return nil, plumbing.ErrObjectNotFound
	}
	return &storedObject{s: s.objs, h: h, m: m}, nil
}

// IterEncodedObjects implements storer.EncodedObjectStorer.
func (s *Storer) IterEncodedObjects(t plumbing.ObjectType) (storer.EncodedObjectIter, error) {
	var hashes []plumbing.Hash
	err := s.objs.meta.ForEach(func(k, v []byte) error {
		m, err := decodeMeta(v)
		if err != nil || len(k) != len(plumbing.ZeroHash) {
			return fmt.Errorf("%w: meta entry", ErrCorrupt)
		}
		if t == plumbing.AnyObject || m.typ == t {
			var h plumbing.Hash
			copy(h[:], k)
			hashes = append(hashes, h)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return storer.NewEncodedObjectLookupIter(s, t, hashes), nil
}

// HasEncodedObject implements storer.EncodedObjectStorer.
func (s *Storer) HasEncodedObject(h plumbing.Hash) error {
	ok, err := s.objs.has(h)
	if err != nil {
		return err
	}
	if !ok {
		return plumbing.ErrObjectNotFound
	}
	return nil
}

// EncodedObjectSize implements storer.EncodedObjectStorer.
func (s *Storer) EncodedObjectSize(h plumbing.Hash) (int64, error) {
	m, err := s.objs.getMeta(h)
	if err != nil {
		return 0, err
	}
	return m.size, nil
}

// AddAlternate implements storer.EncodedObjectStorer; vaults have none.
func (s *Storer) AddAlternate(string) error { return errors.New("alternates are not supported") }

// storedObject is a read-only plumbing.EncodedObject backed by the store.
type storedObject struct {
	s *objStore
	h plumbing.Hash
	m *objMeta
}

func (o *storedObject) Hash() plumbing.Hash         { return o.h }
func (o *storedObject) Type() plumbing.ObjectType   { return o.m.typ }
func (o *storedObject) SetType(plumbing.ObjectType) {}
func (o *storedObject) Size() int64                 { return o.m.size }
func (o *storedObject) SetSize(int64)               {}
func (o *storedObject) Writer() (io.WriteCloser, error) {
	return nil, errors.New("stored objects are read-only")
}
func (o *storedObject) Reader() (io.ReadCloser, error) {
	return io.NopCloser((&Blob{o: o.s, h: o.h, m: o.m}).Reader()), nil
}
