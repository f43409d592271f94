package kvstore

import (
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pkfs/pkfs/internal/cryptocore"
	"github.com/syndtr/goleveldb/leveldb"
	lerrors "github.com/syndtr/goleveldb/leveldb/errors"
	"github.com/syndtr/goleveldb/leveldb/opt"
)

// Errors of the store.
var (
	// ErrNotFound is returned by Get for a missing key.
	ErrNotFound = errors.New("not found")
	// ErrDamaged wraps every failure to authenticate or decode stored data.
	ErrDamaged = errors.New("stored data damaged")
	// ErrClosed is returned after Close.
	ErrClosed = errors.New("store closed")
)

// SyncInterval bounds how long an unsynced write may stay only in the OS
// page cache.
const SyncInterval = 500 * time.Millisecond

// DB is an open encrypted store. It is safe for concurrent use.
type DB struct {
	ldb     *leveldb.DB
	dataKey cryptocore.Key
	marker  *Bucket

	journals journals

	dirty  atomic.Bool
	stop   chan struct{}
	done   chan struct{}
	closeM sync.Once
	closed atomic.Bool
}

// Options tunes goleveldb for sealed values: ciphertext does not compress.
func Options() *opt.Options {
	return &opt.Options{
		Compression:        opt.NoCompression,
		WriteBuffer:        16 << 20,
		BlockCacheCapacity: 32 << 20,
		ErrorIfMissing:     false,
	}
}

// Open opens (creating if needed) the store in dir with the node's data key.
func Open(dir string, dataKey cryptocore.Key) (*DB, error) {
	ldb, err := leveldb.OpenFile(dir, Options())
	if err != nil {
		if lerrors.IsCorrupted(err) {
			return nil, fmt.Errorf("%w: %v", ErrDamaged, err)
		}
		return nil, fmt.Errorf("failed to open database: %w", err)
	}
	d := &DB{ldb: ldb, dataKey: dataKey, stop: make(chan struct{}), done: make(chan struct{}), journals: journals{dir: dir}}
	cryptocore.Lock(d.dataKey.Bytes())
	d.marker = d.Bucket("sync-marker")
	go d.syncLoop()
	return d, nil
}

// Bucket returns the bucket name, keyed by the data key.
func (d *DB) Bucket(name string) *Bucket {
	return newBucket(d, name, cryptocore.DeriveKey(d.dataKey, "pkfs bucket v1 "+name))
}

// BucketWithKey returns the bucket name keyed by key (a vault key).
func (d *DB) BucketWithKey(name string, key cryptocore.Key) *Bucket {
	return newBucket(d, name, cryptocore.DeriveKey(key, "pkfs bucket v1 "+name))
}

// Write applies a batch atomically. With sync it returns once the batch is
// durable against a power cut.
func (d *DB) Write(b *Batch, sync bool) error {
	if d.closed.Load() {
		return ErrClosed
	}
	if b.Len() == 0 {
		if sync {
			return d.Sync()
		}
		return nil
	}
	if sync {
		return d.syncedWrite(&b.b)
	}
	if err := d.ldb.Write(&b.b, &opt.WriteOptions{Sync: false}); err != nil {
		return fmt.Errorf("failed to write batch: %w", err)
	}
	d.dirty.Store(true)
	return nil
}

// Sync makes every write so far durable against a power cut.
func (d *DB) Sync() error {
	if d.closed.Load() {
		return ErrClosed
	}
	d.dirty.Store(false)
	var b Batch
	b.Put(d.marker, []byte("m"), nil)
	if err := d.syncedWrite(&b.b); err != nil {
		d.dirty.Store(true)
		return fmt.Errorf("failed to sync: %w", err)
	}
	return nil
}

func (d *DB) syncLoop() {
	defer close(d.done)
	t := time.NewTicker(SyncInterval)
	defer t.Stop()
	for {
		select {
		case <-d.stop:
			return
		case <-t.C:
			if d.dirty.Load() {
				_ = d.Sync()
			}
		}
	}
}

// Close syncs pending writes and closes the database.
func (d *DB) Close() error {
	var err error
	d.closeM.Do(func() {
		close(d.stop)
		<-d.done
		if d.dirty.Load() {
			err = d.Sync()
		}
		d.closed.Store(true)
		if cerr := d.ldb.Close(); err == nil {
			err = cerr
		}
		cryptocore.Unlock(d.dataKey.Bytes())
	})
	return err
}

// syncedWrite writes a batch durably: the journals it may depend on are
// synced first, the batch itself with goleveldb's sync, then the directory
// entry of a journal that is new.
func (d *DB) syncedWrite(b *leveldb.Batch) error {
	if err := d.journals.before(); err != nil {
		return fmt.Errorf("failed to sync journals: %w", err)
	}
	if err := d.ldb.Write(b, &opt.WriteOptions{Sync: true}); err != nil {
		return fmt.Errorf("failed to write batch: %w", err)
	}
	if err := d.journals.after(); err != nil {
		return fmt.Errorf("failed to sync the database directory: %w", err)
	}
	return nil
}

// Stats returns goleveldb's statistics, for diagnostics.
func (d *DB) Stats() string {
	s, _ := d.ldb.GetProperty("leveldb.stats")
	return s
}
