package vaultstore

import (
	"errors"
	"fmt"
	"strings"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/storer"
	"github.com/go-git/go-git/v5/storage"
	"github.com/pkfs/pkfs/internal/kvstore"
)

func encodeRef(r *plumbing.Reference) []byte {
	if r.Type() == plumbing.SymbolicReference {
		return []byte("ref: " + r.Target().String())
	}
	return []byte(r.Hash().String())
}

func decodeRef(name string, v []byte) (*plumbing.Reference, error) {
	s := string(v)
	if t, ok := strings.CutPrefix(s, "ref: "); ok {
		return plumbing.NewSymbolicReference(plumbing.ReferenceName(name), plumbing.ReferenceName(t)), nil
	}
	if h, err := ParseHash(s); err != nil || h.String() != s { // lowercase only, as encodeRef writes
		return nil, fmt.Errorf("%w: reference %s", ErrCorrupt, name)
	}
	return plumbing.NewHashReference(plumbing.ReferenceName(name), plumbing.NewHash(s)), nil
}

// SetReference implements storer.ReferenceStorer.
func (s *Storer) SetReference(r *plumbing.Reference) error {
	if r == nil {
		return nil
	}
	return s.refs.Put([]byte(r.Name()), encodeRef(r), false)
}

// CheckAndSetReference implements storer.ReferenceStorer.
func (s *Storer) CheckAndSetReference(n, old *plumbing.Reference) error {
	if n == nil {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if old != nil {
		cur, err := s.Reference(old.Name())
		if err != nil && !errors.Is(err, plumbing.ErrReferenceNotFound) {
			return err
		}
		if cur != nil && cur.Hash() != old.Hash() {
			return storage.ErrReferenceHasChanged
		}
	}
	return s.SetReference(n)
}

// Reference implements storer.ReferenceStorer.
func (s *Storer) Reference(n plumbing.ReferenceName) (*plumbing.Reference, error) {
	v, err := s.refs.Get([]byte(n))
	if errors.Is(err, kvstore.ErrNotFound) {
		return nil, plumbing.ErrReferenceNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("%w: reference %s: %v", ErrCorrupt, n, err)
	}
	return decodeRef(string(n), v)
}

// IterReferences implements storer.ReferenceStorer.
func (s *Storer) IterReferences() (storer.ReferenceIter, error) {
	var refs []*plumbing.Reference
	err := s.refs.ForEach(func(k, v []byte) error {
		r, err := decodeRef(string(k), v)
		if err != nil {
			return err
		}
		refs = append(refs, r)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return storer.NewReferenceSliceIter(refs), nil
}

// RemoveReference implements storer.ReferenceStorer.
func (s *Storer) RemoveReference(n plumbing.ReferenceName) error {
	return s.refs.Delete([]byte(n), false)
}

// CountLooseRefs implements storer.ReferenceStorer.
func (s *Storer) CountLooseRefs() (int, error) { return s.refs.Count() }

// PackRefs implements storer.ReferenceStorer; there is nothing to pack.
func (s *Storer) PackRefs() error { return nil }
