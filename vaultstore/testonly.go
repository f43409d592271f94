package vaultstore

import (
	"fmt"

	"github.com/pkfs/pkfs/internal/kvstore"
)

// TestOnlyObjectKey returns the bucket and key of the stored entry of
// object h: its meta entry (chunk < 0; it holds the content of a small
// object), or chunk number chunk of a large one. Tests damage the entry with
// kvstore.DB.TestOnlyTamper to check that damage is detected. Never used
// outside tests.
func (v *Vault) TestOnlyObjectKey(h Hash, chunk int) (*kvstore.Bucket, []byte, error) {
	if chunk < 0 {
		return v.objs.meta, h[:], nil
	}
	m, err := v.objs.getMeta(h.git())
	if err != nil {
		return nil, nil, err
	}
	if !m.chunked() || chunk >= int(m.nchunks) {
		return nil, nil, fmt.Errorf("object %s has no chunk %d", h, chunk)
	}
	return v.objs.chunks, chunkKey(m.prefix, uint32(chunk)), nil
}

// TestOnlyRefKey returns the bucket and key of the branch ref of the vault
// named name, without opening the vault (which a damaged ref prevents).
// Never used outside tests.
func (s *Store) TestOnlyRefKey(name string) (*kvstore.Bucket, []byte, error) {
	idb, err := s.names.Get([]byte(name))
	if err != nil {
		return nil, nil, err
	}
	key, err := s.db.VaultKey(idb)
	if err != nil {
		return nil, nil, err
	}
	defer key.Wipe()
	var id VaultID
	copy(id[:], idb)
	return s.db.BucketWithKey("vault/"+id.String()+"/refs", key), []byte(Branch), nil
}

// TestOnlyForceName gives a vault a name without checking it, as older
// versions allowed (a name of the form of a vault ID). Never used outside
// tests.
func (s *Store) TestOnlyForceName(id VaultID, name string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	info, err := s.info(id)
	if err != nil {
		return err
	}
	var bt kvstore.Batch
	bt.Delete(s.names, []byte(info.Name))
	bt.Put(s.names, []byte(name), id[:])
	info.Name = name
	s.putInfo(&bt, info)
	if err := s.db.Write(&bt, true); err != nil {
		return err
	}
	if v, ok := s.vaults[id]; ok {
		v.setInfo(info)
	}
	return nil
}
