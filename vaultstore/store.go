package vaultstore

import (
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"sync"
	"time"

	"github.com/pkfs/pkfs/internal/kvstore"
	"github.com/pkfs/pkfs/keyring"
)

// VaultInfo describes a vault on this node.
type VaultInfo struct {
	ID      VaultID   `json:"id"`
	Name    string    `json:"name"`
	Created time.Time `json:"created"`
	// Origin is the node that owns the vault when this is a replica; empty
	// for our own vaults.
	Origin string `json:"origin,omitempty"`
}

// Store holds the vaults of one node. It is safe for concurrent use.
type Store struct {
	db     *kvstore.DB
	nodeID keyring.NodeID
	signer Signer
	infos  *kvstore.Bucket // vault ID → VaultInfo (JSON)
	names  *kvstore.Bucket // name → vault ID

	mu     sync.Mutex // lifecycle: create, rename, delete, open
	vaults map[VaultID]*Vault
	closed bool

	events events
	now    func() time.Time
}

// Open returns the vault store of a node, whose commits and grants signer
// signs.
func Open(db *kvstore.DB, signer Signer) (*Store, error) {
	s := &Store{db: db, nodeID: signer.NodeID(), signer: signer, infos: db.Bucket("vaults"), names: db.Bucket("vault-names"),
		vaults: map[VaultID]*Vault{}, now: time.Now}
	return s, nil
}

// NodeID returns the node the store belongs to (the author of its commits).
func (s *Store) NodeID() keyring.NodeID { return s.nodeID }

// Close closes the open vaults. The store's DB stays open (its owner closes it).
func (s *Store) Close() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = true
	for _, v := range s.vaults {
		v.markGone()
	}
	s.vaults = map[VaultID]*Vault{}
}

// List returns every vault, sorted by name.
func (s *Store) List() ([]VaultInfo, error) {
	var out []VaultInfo
	err := s.infos.ForEach(func(k, v []byte) error {
		var info VaultInfo
		if err := json.Unmarshal(v, &info); err != nil {
			return fmt.Errorf("%w: vault record", ErrCorrupt)
		}
		out = append(out, info)
		return nil
	})
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, err
}

// Vault opens a vault by ID text or by name. Text of the form of a vault
// ID always means that ID, never a name: names cannot take that form
// (ValidateName), and a vault that took one in an older version is
// reached by its own ID (or VaultByName) until it is renamed.
func (s *Store) Vault(nameOrID string) (*Vault, error) {
	if id, err := ParseVaultID(nameOrID); err == nil {
		return s.VaultByID(id)
	}
	return s.VaultByName(nameOrID)
}

// VaultByName opens a vault by its name only (the mount's directories are
// names).
func (s *Store) VaultByName(name string) (*Vault, error) {
	idb, err := s.names.Get([]byte(name))
	if errors.Is(err, kvstore.ErrNotFound) {
		return nil, fmt.Errorf("%w: %q", ErrVaultNotFound, truncName(name))
	}
	if err != nil {
		return nil, err
	}
	var id VaultID
	if len(idb) != VaultIDSize {
		return nil, fmt.Errorf("%w: name index", ErrCorrupt)
	}
	copy(id[:], idb)
	return s.VaultByID(id)
}

// VaultByID opens a vault by ID.
func (s *Store) VaultByID(id VaultID) (*Vault, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, ErrClosed
	}
	if v, ok := s.vaults[id]; ok {
		return v, nil
	}
	info, err := s.info(id)
	if err != nil {
		return nil, err
	}
	v, err := s.openVault(info)
	if err != nil {
		return nil, err
	}
	s.vaults[id] = v
	return v, nil
}

func (s *Store) info(id VaultID) (VaultInfo, error) {
	var info VaultInfo
	b, err := s.infos.Get(id[:])
	if errors.Is(err, kvstore.ErrNotFound) {
		return info, fmt.Errorf("%w: %s", ErrVaultNotFound, id)
	}
	if err != nil {
		return info, err
	}
	if err := json.Unmarshal(b, &info); err != nil || info.ID != id {
		return info, fmt.Errorf("%w: vault record", ErrCorrupt)
	}
	return info, nil
}

func (s *Store) putInfo(bt *kvstore.Batch, info VaultInfo) {
	b, _ := json.Marshal(info)
	bt.Put(s.infos, info.ID[:], b)
}

// Create makes a vault with an initial commit.
func (s *Store) Create(name string) (*Vault, error) {
	v, err := s.create(VaultInfo{ID: NewVaultID(), Name: name}, true)
	if err == nil {
		s.events.publish(Event{Vault: v.ID(), Kind: EventCreated})
	}
	return v, err
}

// CreateReplica makes an empty vault (no commit yet) with a given ID and
// origin, for a clone: the first fetch fills it.
func (s *Store) CreateReplica(id VaultID, name string, origin keyring.NodeID) (*Vault, error) {
	return s.create(VaultInfo{ID: id, Name: name, Origin: origin.String()}, false)
}

func (s *Store) create(info VaultInfo, initial bool) (*Vault, error) {
	if err := ValidateName(info.Name); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, ErrClosed
	}
	if ok, err := s.names.Has([]byte(info.Name)); err != nil {
		return nil, err
	} else if ok {
		return nil, fmt.Errorf("%w: %q", ErrVaultExists, info.Name)
	}
	if ok, _ := s.infos.Has(info.ID[:]); ok {
		return nil, fmt.Errorf("%w: vault %s already exists", ErrVaultExists, info.ID)
	}
	info.Created = s.now().UTC().Truncate(time.Second)
	var bt kvstore.Batch
	if _, err := s.db.NewVaultKey(&bt, info.ID[:]); err != nil {
		return nil, err
	}
	s.putInfo(&bt, info)
	bt.Put(s.names, []byte(info.Name), info.ID[:])
	if err := s.db.Write(&bt, true); err != nil {
		return nil, err
	}
	v, err := s.openVault(info)
	if err != nil {
		return nil, err
	}
	if initial {
		if err := v.initialCommit(); err != nil {
			return nil, err
		}
	}
	s.vaults[info.ID] = v
	return v, nil
}

// UniqueName returns name, or name-2, name-3… when it is taken.
func (s *Store) UniqueName(name string) (string, error) {
	for i := 1; i < 10000; i++ {
		n := name
		if i > 1 {
			n = fmt.Sprintf("%s-%d", name, i)
		}
		ok, err := s.names.Has([]byte(n))
		if err != nil {
			return "", err
		}
		if !ok {
			return n, nil
		}
	}
	return "", fmt.Errorf("%w: %q", ErrVaultExists, name)
}

// Rename gives a vault a new name.
func (s *Store) Rename(oldName, newName string) error {
	if err := ValidateName(newName); err != nil {
		return err
	}
	v, err := s.Vault(oldName)
	if err != nil {
		return err
	}
	changed, err := s.rename(v, oldName, newName)
	if err == nil && changed {
		s.events.publish(Event{Vault: v.ID(), Kind: EventRenamed})
	}
	return err
}

func (s *Store) rename(v *Vault, oldName, newName string) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	info := v.Info()
	if v.gone() {
		return false, fmt.Errorf("%w: %q", ErrVaultNotFound, oldName)
	}
	if info.Name == newName {
		return false, nil
	}
	if ok, err := s.names.Has([]byte(newName)); err != nil {
		return false, err
	} else if ok {
		return false, fmt.Errorf("%w: %q", ErrVaultExists, newName)
	}
	var bt kvstore.Batch
	bt.Delete(s.names, []byte(info.Name))
	bt.Put(s.names, []byte(newName), info.ID[:])
	info.Name = newName
	s.putInfo(&bt, info)
	if err := s.db.Write(&bt, true); err != nil {
		return false, err
	}
	v.setInfo(info)
	return true, nil
}

// Delete removes a vault and all its history. This is the one operation
// that destroys history; it is a CLI command only.
func (s *Store) Delete(name string) error {
	v, err := s.Vault(name)
	if err != nil {
		return err
	}
	info := v.Info()
	if err := s.drop(v); err != nil {
		return err
	}
	s.events.publish(Event{Vault: info.ID, Kind: EventDeleted})
	return nil
}

func (s *Store) drop(v *Vault) error {
	v.wmu.Lock()
	defer v.wmu.Unlock()
	s.mu.Lock()
	defer s.mu.Unlock()
	info := v.Info()
	var bt kvstore.Batch
	for _, b := range v.buckets() {
		if err := b.DropInto(&bt); err != nil {
			return err
		}
	}
	s.db.DeleteVaultKey(&bt, info.ID[:])
	bt.Delete(s.infos, info.ID[:])
	bt.Delete(s.names, []byte(info.Name))
	if err := s.db.Write(&bt, true); err != nil {
		return err
	}
	v.markGone()
	delete(s.vaults, info.ID)
	return nil
}

// SetOrigin records which node a replica follows (empty: our own vault).
func (s *Store) SetOrigin(v *Vault, origin string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	info := v.Info()
	info.Origin = origin
	var bt kvstore.Batch
	s.putInfo(&bt, info)
	if err := s.db.Write(&bt, true); err != nil {
		return err
	}
	v.setInfo(info)
	return nil
}

// Sync makes every commit so far durable against a power cut (fsync of a
// file whose commit was written unsynced).
func (s *Store) Sync() error { return s.db.Sync() }
