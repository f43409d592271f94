package kvstore

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/pkfs/pkfs/internal/cryptocore"
	"github.com/syndtr/goleveldb/leveldb"
	lerrors "github.com/syndtr/goleveldb/leveldb/errors"
	"github.com/syndtr/goleveldb/leveldb/util"
)

const (
	tagSize = 8
	macSize = 32
	// KeySize is the size of an on-disk key.
	KeySize = tagSize + macSize
)

var adPrefix = []byte("pkfs kv v1")

// Bucket is a named set of entries sealed under one key.
type Bucket struct {
	db   *DB
	name string
	tag  [tagSize]byte
	aead *cryptocore.AEAD
	mac  *cryptocore.MACer
}

func newBucket(db *DB, name string, key cryptocore.Key) *Bucket {
	macKey := cryptocore.DeriveKey(key, "pkfs bucket mac")
	b := &Bucket{db: db, name: name,
		aead: cryptocore.NewAEAD(cryptocore.DeriveKey(key, "pkfs bucket seal")),
		mac:  cryptocore.NewMACer(macKey)}
	macKey.Wipe()
	tagKey := cryptocore.DeriveKey(key, "pkfs bucket tag")
	t := cryptocore.MAC(tagKey, []byte(name))
	copy(b.tag[:], t[:tagSize])
	key.Wipe()
	return b
}

// Name returns the bucket's logical name (never written to disk).
func (b *Bucket) Name() string { return b.name }

func (b *Bucket) dbKey(k []byte) []byte {
	out := make([]byte, 0, KeySize)
	out = append(out, b.tag[:]...)
	m := b.mac.Sum(k)
	return append(out, m[:]...)
}

func (b *Bucket) ad(dbKey []byte) []byte {
	return append(append(make([]byte, 0, len(adPrefix)+len(dbKey)), adPrefix...), dbKey...)
}

func (b *Bucket) seal(dbKey, k, v []byte) []byte {
	n := binary.MaxVarintLen64 + len(k) + len(v)
	buf := make([]byte, cryptocore.NonceSize, cryptocore.Overhead+n)
	buf = binary.AppendUvarint(buf, uint64(len(k)))
	buf = append(buf, k...)
	buf = append(buf, v...)
	return b.aead.SealInPlace(buf, b.ad(dbKey))
}

// open authenticates a stored value and splits it into logical key and value.
func (b *Bucket) open(dbKey, sealed []byte) (k, v []byte, err error) {
	pt, err := b.aead.OpenInPlace(sealed, b.ad(dbKey))
	if err != nil {
		return nil, nil, fmt.Errorf("%w: %s entry fails authentication", ErrDamaged, b.name)
	}
	return splitPlain(pt)
}

func splitPlain(pt []byte) (k, v []byte, err error) {
	n, w := binary.Uvarint(pt)
	if w <= 0 || n > uint64(len(pt)-w) {
		return nil, nil, fmt.Errorf("%w: malformed entry", ErrDamaged)
	}
	return pt[w : w+int(n)], pt[w+int(n):], nil
}

// Get returns the value of k, ErrNotFound, or an ErrDamaged error.
func (b *Bucket) Get(k []byte) ([]byte, error) {
	if b.db.closed.Load() {
		return nil, ErrClosed
	}
	dk := b.dbKey(k)
	sealed, err := b.db.ldb.Get(dk, nil)
	if err != nil {
		return nil, mapErr(err)
	}
	gotK, v, err := b.open(dk, sealed)
	if err != nil {
		return nil, err
	}
	if !bytes.Equal(gotK, k) {
		return nil, fmt.Errorf("%w: %s entry under the wrong key", ErrDamaged, b.name)
	}
	return v, nil
}

// Has reports whether k exists, without decrypting it.
func (b *Bucket) Has(k []byte) (bool, error) {
	if b.db.closed.Load() {
		return false, ErrClosed
	}
	ok, err := b.db.ldb.Has(b.dbKey(k), nil)
	if err != nil {
		return false, mapErr(err)
	}
	return ok, nil
}

// Put writes one entry as its own batch.
func (b *Bucket) Put(k, v []byte, sync bool) error {
	var bt Batch
	bt.Put(b, k, v)
	return b.db.Write(&bt, sync)
}

// Delete removes one entry as its own batch.
func (b *Bucket) Delete(k []byte, sync bool) error {
	var bt Batch
	bt.Delete(b, k)
	return b.db.Write(&bt, sync)
}

// ForEach calls fn for every entry of the bucket, in no particular order.
// The slices passed to fn are fresh. An entry that fails authentication stops
// the walk with an ErrDamaged error.
func (b *Bucket) ForEach(fn func(k, v []byte) error) error {
	if b.db.closed.Load() {
		return ErrClosed
	}
	it := b.db.ldb.NewIterator(util.BytesPrefix(b.tag[:]), nil)
	defer it.Release()
	for it.Next() {
		k, v, err := b.open(it.Key(), bytes.Clone(it.Value())) // opened in place
		if err != nil {
			return err
		}
		if err := fn(k, v); err != nil {
			return err
		}
	}
	return mapErr(it.Error())
}

// Count returns the number of entries, without decrypting them.
func (b *Bucket) Count() (int, error) {
	it := b.db.ldb.NewIterator(util.BytesPrefix(b.tag[:]), nil)
	defer it.Release()
	n := 0
	for it.Next() {
		n++
	}
	return n, mapErr(it.Error())
}

// DropInto adds the deletion of every entry of the bucket to bt.
func (b *Bucket) DropInto(bt *Batch) error {
	it := b.db.ldb.NewIterator(util.BytesPrefix(b.tag[:]), nil)
	defer it.Release()
	for it.Next() {
		bt.b.Delete(bytes.Clone(it.Key()))
	}
	return mapErr(it.Error())
}

func mapErr(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, leveldb.ErrNotFound):
		return ErrNotFound
	case errors.Is(err, leveldb.ErrClosed):
		return ErrClosed
	case lerrors.IsCorrupted(err):
		return fmt.Errorf("%w: %v", ErrDamaged, err)
	}
	return err
}

// Batch collects puts and deletes across buckets for one atomic write.
type Batch struct {
	b    leveldb.Batch
	size int
}

// Put adds k=v in bucket to the batch.
func (bt *Batch) Put(b *Bucket, k, v []byte) {
	dk := b.dbKey(k)
	sealed := b.seal(dk, k, v)
	bt.size += len(dk) + len(sealed)
	bt.b.Put(dk, sealed)
}

// Delete adds the deletion of k in bucket to the batch.
func (bt *Batch) Delete(b *Bucket, k []byte) { bt.b.Delete(b.dbKey(k)) }

// Len returns the number of operations in the batch.
func (bt *Batch) Len() int { return bt.b.Len() }

// Size returns the approximate number of bytes the batch will write.
func (bt *Batch) Size() int { return bt.size }

// Reset empties the batch for reuse.
func (bt *Batch) Reset() { bt.b.Reset(); bt.size = 0 }

// Scan is ForEach that goes on past damaged entries: fn gets err != nil
// (an ErrDamaged error, k and v nil) for each entry that fails to open.
func (b *Bucket) Scan(fn func(k, v []byte, err error) error) error {
	if b.db.closed.Load() {
		return ErrClosed
	}
	it := b.db.ldb.NewIterator(util.BytesPrefix(b.tag[:]), nil)
	defer it.Release()
	for it.Next() {
		k, v, err := b.open(it.Key(), bytes.Clone(it.Value())) // opened in place
		if err := fn(k, v, err); err != nil {
			return err
		}
	}
	return mapErr(it.Error())
}
