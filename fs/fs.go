package fs

import (
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	gofs "github.com/hanwen/go-fuse/v2/fs"
	"github.com/hanwen/go-fuse/v2/fuse"
	"github.com/pkfs/pkfs/internal/cryptocore"
	"github.com/pkfs/pkfs/vaultstore"
)

// Timeouts of the kernel's attribute and entry caches. Changes made outside
// the mount are pushed to the kernel at once, so these only bound how long a
// missed invalidation could last.
const (
	EntryTimeout    = time.Second
	AttrTimeout     = time.Second
	NegativeTimeout = time.Second
)

// Store is what the filesystem needs of the vault store.
type Store interface {
	List() ([]vaultstore.VaultInfo, error)
	Vault(nameOrID string) (*vaultstore.Vault, error)
	VaultByName(name string) (*vaultstore.Vault, error)
	VaultByID(id vaultstore.VaultID) (*vaultstore.Vault, error)
	Create(name string) (*vaultstore.Vault, error)
	Rename(oldName, newName string) error
	Subscribe(fn func(vaultstore.Event)) (cancel func())
	Sync() error
}

// FS is one mount of a node's vaults.
type FS struct {
	store   Store
	uid     uint32
	gid     uint32
	origin  string // tags this mount's commits
	started time.Time

	root   *rootNode
	server *fuse.Server
	dir    string

	gensMu sync.Mutex
	gens   map[uint64]uint64
	// renamed keeps the inode number a file took along in a rename, so a
	// later lookup at its new path gives the same number (POSIX: a rename
	// keeps the inode); guarded by gensMu
	renamed map[pendingKey]gofs.StableAttr

	pending pendingFiles // files that exist only in memory
	moves   moves        // renames committed, not yet applied to the inode tree

	// StatfsPath is where statfs (df) reads the space from: the node path.
	StatfsPath string

	events   chan vaultstore.Event
	eventsMu sync.RWMutex // held to send, taken to close
	cancel   func()
	done     chan struct{} // the invalidator stopped
	served   chan struct{} // the server stopped (unmounted, maybe from outside)
	closed   atomic.Bool
}

// New returns a filesystem over store, owned by the current user.
func New(store Store) *FS {
	f := &FS{store: store, uid: uint32(os.Getuid()), gid: uint32(os.Getgid()),
		origin: "fs:" + fmt.Sprintf("%x", cryptocore.RandomBytes(8)), started: time.Now(),
		gens: map[uint64]uint64{}, events: make(chan vaultstore.Event, 1024), done: make(chan struct{})}
	f.root = &rootNode{fsys: f}
	return f
}

// Root returns the root node, for fs.Mount or a test harness.
func (f *FS) Root() gofs.InodeEmbedder { return f.root }

// Options returns the go-fuse options pkfs mounts with.
func (f *FS) Options(direct bool) *gofs.Options {
	et, at, nt := EntryTimeout, AttrTimeout, NegativeTimeout
	return &gofs.Options{
		EntryTimeout: &et, AttrTimeout: &at, NegativeTimeout: &nt,
		UID: f.uid, GID: f.gid,
		MountOptions: fuse.MountOptions{
			FsName: "pkfs", Name: "pkfs", DirectMount: direct,
			MaxWrite:          1 << 20,
			MaxReadAhead:      1 << 20,
			ExtraCapabilities: fuse.CAP_ATOMIC_O_TRUNC,
			DisableXAttrs:     false,
		},
	}
}

// Mount mounts the filesystem at dir and starts serving it. As root it
// mounts directly; otherwise through fusermount3.
func (f *FS) Mount(dir string) error {
	server, err := gofs.Mount(dir, f.root, f.Options(os.Geteuid() == 0))
	if err != nil {
		return err
	}
	f.server, f.dir = server, dir
	f.served = make(chan struct{})
	go func() { server.Wait(); close(f.served) }()
	f.cancel = f.store.Subscribe(func(ev vaultstore.Event) {
		f.eventsMu.RLock()
		defer f.eventsMu.RUnlock()
		if ev.Origin == f.origin || f.closed.Load() {
			return
		}
		select {
		case f.events <- ev:
		default:
			// the queue is full: drop the details, invalidate everything
			select {
			case f.events <- vaultstore.Event{Kind: vaultstore.EventDeleted}:
			default:
			}
		}
	})
	go f.invalidator()
	return server.WaitMount()
}

// Wait blocks until the filesystem is unmounted.
func (f *FS) Wait() {
	if f.served != nil {
		<-f.served
	}
}

// Unmount commits what is open and dirty, then unmounts.
func (f *FS) Unmount() error {
	f.FlushAll()
	if f.closed.Swap(true) {
		return nil
	}
	if f.cancel != nil {
		f.cancel()
	}
	f.eventsMu.Lock()
	close(f.events)
	f.eventsMu.Unlock()
	var err error
	if f.server != nil {
		select {
		case <-f.served:
			<-f.done
			return nil // unmounted from outside already
		default:
		}
		err = f.server.Unmount()
		if err != nil {
			// a busy mount: detach it lazily so the agent can exit
			err = syscall.Unmount(f.dir, syscall.MNT_DETACH)
		}
	}
	<-f.doneOrClosed()
	return err
}

func (f *FS) doneOrClosed() <-chan struct{} {
	if f.server == nil {
		ch := make(chan struct{})
		close(ch)
		return ch
	}
	return f.done
}

// gen returns the generation of an inode number.
func (f *FS) gen(ino uint64) uint64 {
	f.gensMu.Lock()
	defer f.gensMu.Unlock()
	return f.gens[ino]
}

// retire moves a path to a new generation, because the inode that had it is
// leaving it (renamed or unlinked) and may stay alive.
func (f *FS) retire(base uint64) {
	f.gensMu.Lock()
	f.gens[base]++
	f.gensMu.Unlock()
}

// vaultIno returns the inode number and generation of a HEAD path.
func (f *FS) vaultIno(v vaultstore.VaultID, path string) (uint64, uint64) {
	f.gensMu.Lock()
	if a, ok := f.renamed[pendingKey{v, path}]; ok {
		f.gensMu.Unlock()
		return a.Ino, a.Gen
	}
	f.gensMu.Unlock()
	base := inoOf(v, "", path, 0)
	g := f.gen(base)
	return inoOf(v, "", path, g), g
}

// moveIno records that the inode at from now lives at to (nil: to has no
// inode to keep, and from's record goes).
func (f *FS) moveIno(v vaultstore.VaultID, from, to string, a *gofs.StableAttr) {
	f.gensMu.Lock()
	defer f.gensMu.Unlock()
	delete(f.renamed, pendingKey{v, from})
	delete(f.renamed, pendingKey{v, to})
	if a != nil {
		if f.renamed == nil {
			f.renamed = map[pendingKey]gofs.StableAttr{}
		}
		f.renamed[pendingKey{v, to}] = *a
	}
}

// forgetIno drops the record of a path that went away.
func (f *FS) forgetIno(v vaultstore.VaultID, p string) {
	f.gensMu.Lock()
	delete(f.renamed, pendingKey{v, p})
	f.gensMu.Unlock()
}
