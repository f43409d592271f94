package kvstore

import (
	"errors"
	"fmt"

	"github.com/pkfs/pkfs/internal/cryptocore"
)

// ErrKeyExists is returned by NewVaultKey when the id already has a key.
var ErrKeyExists = errors.New("key already exists")

func (d *DB) vaultKeys() *Bucket { return d.Bucket("vault-keys") }

// NewVaultKey creates a random key for a vault, seals it under the data key
// and adds it to bt. The key is stored only when bt is written.
func (d *DB) NewVaultKey(bt *Batch, id []byte) (cryptocore.Key, error) {
	if ok, err := d.vaultKeys().Has(id); err != nil {
		return cryptocore.Key{}, err
	} else if ok {
		return cryptocore.Key{}, ErrKeyExists
	}
	k := cryptocore.NewRandomKey()
	bt.Put(d.vaultKeys(), id, k.Bytes())
	return k, nil
}

// PutVaultKey stores a given vault key (an imported vault) in bt.
func (d *DB) PutVaultKey(bt *Batch, id []byte, k cryptocore.Key) {
	bt.Put(d.vaultKeys(), id, k.Bytes())
}

// VaultKey returns the key of a vault, ErrNotFound, or ErrDamaged.
func (d *DB) VaultKey(id []byte) (cryptocore.Key, error) {
	b, err := d.vaultKeys().Get(id)
	if err != nil {
		return cryptocore.Key{}, err
	}
	defer clear(b)
	k, err := cryptocore.KeyFromBytes(b)
	if err != nil {
		return cryptocore.Key{}, fmt.Errorf("%w: vault key", ErrDamaged)
	}
	return k, nil
}

// DeleteVaultKey adds the deletion of a vault's key to bt.
func (d *DB) DeleteVaultKey(bt *Batch, id []byte) { bt.Delete(d.vaultKeys(), id) }
