package fs

import (
	"bytes"
	"context"
	"io"
	"log"
	"path"
	"syscall"
	"time"

	gofs "github.com/hanwen/go-fuse/v2/fs"
	"github.com/hanwen/go-fuse/v2/fuse"
	"github.com/pkfs/pkfs/vaultstore"
)

// fileState is the open content of a file: loaded on the first write (copy
// on write of the committed content), shared by every handle of the inode,
// committed on flush and fsync, dropped when the last handle is released.
type fileState struct {
	data    []byte
	loaded  bool // data holds the whole content
	dirty   bool // data differs from the last commit
	created bool // made by Create and not committed yet
	emptied bool // emptied by an O_TRUNC open and not committed yet
	written bool // written to (or resized) since it was opened or created
	exec    bool // the executable bit of a created file
	mtime   time.Time
	touch   *time.Time // an mtime set while dirty, applied after the commit
	opens   int
	writers int // handles open for writing
}

// handle is one open file description.
type handle struct {
	n      *node
	write  bool
	append bool
	blob   *vaultstore.Blob // committed content, for reads without a loaded state
}

var (
	_ = (gofs.NodeOpener)((*node)(nil))
	_ = (gofs.NodeSetattrer)((*node)(nil))
	_ = (gofs.NodeReadlinker)((*node)(nil))
	_ = (gofs.FileReader)((*handle)(nil))
	_ = (gofs.FileWriter)((*handle)(nil))
	_ = (gofs.FileFlusher)((*handle)(nil))
	_ = (gofs.FileFsyncer)((*handle)(nil))
	_ = (gofs.FileReleaser)((*handle)(nil))
	_ = (gofs.FileGetattrer)((*handle)(nil))
)

func (n *node) pendingCreate() bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.st != nil && n.st.created
}

// dropPendingCreate forgets a created file that was never committed; it
// reports whether there was one.
func (n *node) dropPendingCreate() bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	st := n.st
	if st == nil || !st.created {
		return false
	}
	n.gone = &vaultstore.Entry{Type: vaultstore.TypeFile, Exec: st.exec, Size: int64(len(st.data)), Mtime: st.mtime}
	st.created, st.dirty, st.loaded = false, false, true
	n.fsys.pending.dropState(st)
	return true
}

// Open implements gofs.NodeOpener.
func (n *node) Open(ctx context.Context, flags uint32) (gofs.FileHandle, uint32, syscall.Errno) {
	return n.open(ctx, flags)
}

func (n *node) open(ctx context.Context, flags uint32) (gofs.FileHandle, uint32, syscall.Errno) {
	var e syscall.Errno
	write := flags&syscall.O_ACCMODE != syscall.O_RDONLY
	trunc := flags&syscall.O_TRUNC != 0
	if write || trunc {
		v, e := n.vaultHandle()
		if e != 0 {
			return nil, 0, e
		}
		if v.ReadOnly() {
			return nil, 0, syscall.EROFS
		}
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.st == nil {
		n.st = &fileState{}
	}
	st := n.st
	if trunc && len(st.data) > 0 || trunc && !st.loaded && !st.created {
		st.dirty, st.mtime = true, time.Now()
		st.data, st.loaded = st.data[:0], true
		st.emptied, st.written = true, false
	}
	if write && !st.loaded && !st.created {
		if e := n.loadLocked(); e != 0 {
			if st.opens == 0 {
				n.st = nil
			}
			return nil, 0, e
		}
	}
	st.opens++
	if write {
		st.writers++
	}
	h := &handle{n: n, write: write, append: flags&syscall.O_APPEND != 0}
	if !st.loaded && !st.created {
		// read-only: read the committed content, which stays readable
		// through this handle even if the file is unlinked or replaced
		if h.blob, e = n.committedBlob(); e != 0 {
			st.opens--
			if write {
				st.writers--
			}
			if st.opens == 0 {
				n.st = nil
			}
			return nil, 0, e
		}
	}
	return h, fuse.FOPEN_KEEP_CACHE, 0
}

// committedBlob opens the committed content of the file.
func (n *node) committedBlob() (*vaultstore.Blob, syscall.Errno) {
	p, ok := n.path()
	if !ok {
		if n.gone == nil {
			return nil, syscall.ENOENT
		}
		v, e := n.vaultHandle()
		if e != 0 {
			return nil, e
		}
		b, err := v.OpenHash(n.gone.Hash)
		return b, errno("open", err)
	}
	return n.openRegular(p)
}

// openRegular opens the committed content at p, which must still be a
// regular file: the name may have become a symlink or a directory since
// the kernel looked it up, and a symlink's target must never be served as
// a file's content.
func (n *node) openRegular(p string) (*vaultstore.Blob, syscall.Errno) {
	v, snap, e := n.head()
	if e != 0 {
		return nil, e
	}
	ent, err := snap.Stat(p)
	if err != nil {
		return nil, errno("open", err)
	}
	if ent.Type != vaultstore.TypeFile {
		return nil, syscall.ENOENT
	}
	b, err := v.OpenHash(ent.Hash)
	return b, errno("open", err)
}

// loadLocked reads the committed content into the state (n.mu held).
func (n *node) loadLocked() syscall.Errno {
	p, ok := n.path()
	if !ok {
		n.st.loaded = true
		return 0
	}
	b, e := n.openRegular(p)
	if e != 0 {
		return e
	}
	buf := make([]byte, 0, b.Size())
	w := bytes.NewBuffer(buf)
	if _, err := io.Copy(w, b.Reader()); err != nil {
		return errno("read", err)
	}
	n.st.data, n.st.loaded = w.Bytes(), true
	return 0
}

// Read implements gofs.FileReader.
func (h *handle) Read(ctx context.Context, dest []byte, off int64) (fuse.ReadResult, syscall.Errno) {
	n := h.n
	n.mu.Lock()
	if st := n.st; st != nil && (st.loaded || st.created) {
		defer n.mu.Unlock()
		if off >= int64(len(st.data)) {
			return fuse.ReadResultData(nil), 0
		}
		c := copy(dest, st.data[off:])
		return fuse.ReadResultData(dest[:c]), 0
	}
	n.mu.Unlock()
	n.mu.Lock()
	if h.blob == nil {
		b, e := n.committedBlob()
		if e != 0 {
			n.mu.Unlock()
			return nil, e
		}
		h.blob = b
	}
	blob := h.blob
	n.mu.Unlock()
	c, err := blob.ReadAt(dest, off)
	if err != nil && err != io.EOF {
		return nil, errno("read", err)
	}
	return fuse.ReadResultData(dest[:c]), 0
}

// Write implements gofs.FileWriter.
func (h *handle) Write(ctx context.Context, data []byte, off int64) (uint32, syscall.Errno) {
	if !h.write {
		return 0, syscall.EBADF
	}
	n := h.n
	n.mu.Lock()
	defer n.mu.Unlock()
	st := n.st
	if h.append {
		off = int64(len(st.data))
	}
	end := off + int64(len(data))
	if off < 0 || end > vaultstore.MaxFileSize {
		return 0, syscall.EFBIG
	}
	if end > int64(len(st.data)) {
		st.data = growFor(st.data, int(off), int(end))
	}
	copy(st.data[off:], data)
	st.dirty, st.written, st.mtime = true, true, time.Now()
	return uint32(len(data)), 0
}

// grow extends b to n bytes (zero-filled), doubling the capacity so that
// sequential writes copy amortised O(1) per byte.
func grow(b []byte, n int) []byte { return growFor(b, n, n) }

// growFor is grow for a write of [off, n): only the bytes before off that
// are new must be zeroed, the write covers the rest.
func growFor(b []byte, off, n int) []byte {
	if n <= cap(b) {
		old := len(b)
		b = b[:n]
		if off > old {
			clear(b[old:off])
		}
		return b
	}
	c := max(n, 2*cap(b), 4096)
	nb := make([]byte, n, c)
	copy(nb, b)
	clear(b)
	return nb
}

// Flush implements gofs.FileFlusher: close(2) of a descriptor open for
// writing returns after the commit is written. A reader's close commits
// nothing: it would make a version of another process's half-written
// content. One more exception: a file just created, or emptied by
// O_TRUNC, and not yet written is not committed on a flush but at its
// release. A shell redirection (open, dup2, close, write, close) would
// otherwise commit an empty version first: `echo x > file` made two
// versions, the first one empty.
func (h *handle) Flush(ctx context.Context) syscall.Errno {
	if !h.write {
		return 0
	}
	n := h.n
	n.mu.Lock()
	deferEmpty := n.st != nil && (n.st.created || n.st.emptied) && !n.st.written
	n.mu.Unlock()
	if deferEmpty {
		return 0
	}
	return n.commit(ctx, false)
}

// Fsync implements gofs.FileFsyncer: fsync(2) returns after the commit is
// durable.
func (h *handle) Fsync(ctx context.Context, flags uint32) syscall.Errno { return h.n.commit(ctx, true) }

// Getattr implements gofs.FileGetattrer (fstat).
func (h *handle) Getattr(ctx context.Context, out *fuse.AttrOut) syscall.Errno {
	return h.n.Getattr(ctx, h, out)
}

// Release implements gofs.FileReleaser.
func (h *handle) Release(ctx context.Context) syscall.Errno {
	n := h.n
	n.mu.Lock()
	st := n.st
	if st == nil {
		n.mu.Unlock()
		return 0
	}
	st.opens--
	if h.write {
		st.writers--
	}
	// the last handle, or the last writer: a truncation closed without a
	// write (deferred by Flush) must not wait for readers to go
	last, dirty := st.opens <= 0, st.dirty
	lastWriter := h.write && st.writers <= 0
	n.mu.Unlock()
	if (last || lastWriter) && dirty {
		if e := n.commit(ctx, false); e != 0 {
			log.Printf("pkfs: release: commit failed: errno %d", e)
		}
	}
	n.mu.Lock()
	if n.st == st && st.opens <= 0 && !st.dirty {
		clear(st.data)
		n.st = nil
	}
	n.mu.Unlock()
	return 0
}

// commit writes the state of a dirty file as one commit; with sync it
// returns once the commit is durable (and syncs earlier commits when clean).
func (n *node) commit(ctx context.Context, sync bool) syscall.Errno {
	return n.commitAs(ctx, sync, false)
}

// commitAs is commit; with force, even an editor's scratch file is
// committed (it is being renamed to a name that keeps it).
func (n *node) commitAs(ctx context.Context, sync, force bool) syscall.Errno {
	n.mu.Lock()
	defer n.mu.Unlock()
	st := n.st
	if st == nil || !st.dirty {
		if sync {
			return errno("fsync", n.fsys.store.Sync())
		}
		return 0
	}
	p, ok := n.path()
	if !ok || n.gone != nil {
		st.dirty, st.created = false, false // unlinked: nowhere to commit
		n.fsys.pending.dropState(st)
		return 0
	}
	if !force && scratchName(path.Base(p)) {
		return 0 // an editor's swap or lock file: kept in memory, never a version
	}
	v, e := n.vaultHandle()
	if e != 0 {
		return e
	}
	if v.ReadOnly() {
		return syscall.EROFS
	}
	b, err := v.WriteBlobBytes(st.data) // no copy: n.mu keeps st.data still until the commit returns
	if err != nil {
		return errno("commit", err)
	}
	// the path again, now with renames held off until the commit is in: one
	// may have moved the file (or a directory above it) while the blob was
	// written, and the commit must not bring it back at its old name
	p, ok, unlock := n.lockedPath()
	defer unlock()
	if !ok || n.gone != nil || (!force && scratchName(path.Base(p))) {
		b.Discard()
		if !ok || n.gone != nil {
			st.dirty, st.created = false, false
			n.fsys.pending.dropState(st)
		}
		return 0
	}
	created, exec, mtime := st.created, st.exec, st.mtime
	if st.touch != nil {
		mtime = *st.touch
	}
	_, err = v.Update(vaultstore.CommitOptions{Origin: n.fsys.origin, Sync: sync}, func(tx *vaultstore.Tx) error {
		if !created {
			exec = tx.Exec(p)
		}
		if err := tx.Put(p, b, exec, false); err != nil {
			return err
		}
		tx.SetMtime(p, mtime) // the mtime the kernel has already been shown
		return nil
	})
	if err != nil {
		b.Discard()
		return errno("commit", err)
	}
	// data holds the whole content (a created file's was never loaded):
	// later reads must come from it, not from a blob of an older commit
	if st.created {
		n.fsys.pending.drop(n.vault, p, st)
	}
	st.dirty, st.created, st.emptied, st.touch, st.loaded = false, false, false, nil, true
	return 0
}

// Readlink implements gofs.NodeReadlinker.
func (n *node) Readlink(ctx context.Context) ([]byte, syscall.Errno) {
	p, ok := n.path()
	if !ok {
		return nil, syscall.ENOENT
	}
	_, snap, e := n.head()
	if e != 0 {
		return nil, e
	}
	t, err := snap.Readlink(p)
	if err != nil {
		return nil, errno("readlink", err)
	}
	return []byte(t), 0
}
