package vaultstore

import (
	"errors"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/pkfs/pkfs/internal/kvstore"
)

// Branch is the one branch of a vault.
const Branch = plumbing.ReferenceName("refs/heads/main")

// Vault is one open vault. Reads run concurrently; commits are serialised
// per vault.
type Vault struct {
	s  *Store
	id VaultID

	infoMu sync.RWMutex
	info   VaultInfo
	isGone atomic.Bool

	objs   *objStore
	storer *Storer
	refs   *kvstore.Bucket
	mtimes *kvstore.Bucket
	trees  *lru[plumbing.Hash, *tree]

	mtc  *mtimeCache
	wmu  sync.Mutex // serialises commits, merges and grants changes
	head atomic.Pointer[headState]
	mw   *writerState // grants log, commit graph caches (writers.go)
}

type headState struct {
	commit plumbing.Hash // zero for a replica not yet fetched
	root   plumbing.Hash
}

func (s *Store) openVault(info VaultInfo) (*Vault, error) {
	key, err := s.db.VaultKey(info.ID[:])
	if err != nil {
		return nil, fmt.Errorf("vault %s: key: %w", info.ID, err)
	}
	defer key.Wipe()
	pfx := "vault/" + info.ID.String() + "/"
	v := &Vault{s: s, id: info.ID, info: info,
		refs:   s.db.BucketWithKey(pfx+"refs", key),
		mtimes: s.db.BucketWithKey(pfx+"mtimes", key),
		trees:  newLRU[plumbing.Hash, *tree](4096),
		mtc:    newMtimeCache(),
	}
	v.objs = newObjStore(s.db, s.db.BucketWithKey(pfx+"meta", key), s.db.BucketWithKey(pfx+"chunks", key))
	v.storer = newStorer(v.objs, v.refs)
	v.mw = newWriterState(s.db.BucketWithKey(pfx+"grants", key))
	if err := v.loadHead(); err != nil {
		return nil, err
	}
	return v, nil
}

func (v *Vault) buckets() []*kvstore.Bucket {
	return []*kvstore.Bucket{v.objs.meta, v.objs.chunks, v.refs, v.mtimes, v.mw.grants.bucket}
}

// loadHead reads refs/heads/main into the head cache.
func (v *Vault) loadHead() error {
	r, err := v.storer.Reference(Branch)
	if errors.Is(err, plumbing.ErrReferenceNotFound) {
		v.head.Store(&headState{root: emptyTreeHash})
		return nil
	}
	if err != nil {
		return err
	}
	c, err := v.commit(r.Hash())
	if err != nil {
		return err
	}
	v.head.Store(&headState{commit: r.Hash(), root: c.TreeHash})
	return nil
}

// ID returns the vault ID.
func (v *Vault) ID() VaultID { return v.id }

// Info returns the vault's record.
func (v *Vault) Info() VaultInfo {
	v.infoMu.RLock()
	defer v.infoMu.RUnlock()
	return v.info
}

// Name returns the vault's current name.
func (v *Vault) Name() string { return v.Info().Name }

func (v *Vault) setInfo(i VaultInfo) {
	v.infoMu.Lock()
	v.info = i
	v.infoMu.Unlock()
}

func (v *Vault) markGone()  { v.isGone.Store(true) }
func (v *Vault) gone() bool { return v.isGone.Load() }

// Head returns the head commit (zero for an empty replica).
func (v *Vault) Head() Hash { return Hash(v.headCommit()) }

func (v *Vault) headCommit() plumbing.Hash { return v.head.Load().commit }

// ReadOnly reports whether this node may not commit to the vault: a
// replica without a write grant in the vault's grants log (a vault of ours
// is never read-only).
func (v *Vault) ReadOnly() bool { return !v.canWrite() }

// tree returns the decoded tree h, through the cache.
func (v *Vault) tree(h plumbing.Hash) (*tree, error) {
	if h == emptyTreeHash {
		return &tree{}, nil
	}
	if t, ok := v.trees.get(h); ok {
		return t, nil
	}
	m, b, err := v.objs.readAll(h)
	if err != nil {
		return nil, wrapObjErr(h, err)
	}
	if m.typ != plumbing.TreeObject {
		return nil, fmt.Errorf("%w: object %s is not a tree", ErrCorrupt, h)
	}
	t, err := decodeTree(b)
	if err != nil {
		return nil, fmt.Errorf("tree %s: %w", h, err)
	}
	v.trees.put(h, t)
	return t, nil
}

// commit decodes commit h.
func (v *Vault) commit(h plumbing.Hash) (*object.Commit, error) {
	o, err := v.storer.EncodedObject(plumbing.CommitObject, h)
	if err != nil {
		return nil, wrapObjErr(h, err)
	}
	c := &object.Commit{}
	if err := c.Decode(o); err != nil {
		return nil, fmt.Errorf("%w: commit %s: %v", ErrCorrupt, h, err)
	}
	return c, nil
}

// wrapObjErr turns a missing object that a tree or ref points to into
// damage: inside a vault, a referenced object must exist.
func wrapObjErr(h plumbing.Hash, err error) error {
	if errors.Is(err, plumbing.ErrObjectNotFound) {
		return fmt.Errorf("%w: object %s is missing", ErrCorrupt, h)
	}
	return err
}

func (v *Vault) checkUsable() error {
	if v.gone() {
		return fmt.Errorf("%w: %s", ErrVaultNotFound, v.id)
	}
	return nil
}
