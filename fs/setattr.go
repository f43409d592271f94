package fs

import (
	"context"
	"syscall"
	"time"

	gofs "github.com/hanwen/go-fuse/v2/fs"
	"github.com/hanwen/go-fuse/v2/fuse"
	"github.com/pkfs/pkfs/vaultstore"
)

// Setattr implements gofs.NodeSetattrer: truncate (one commit, or part of
// the open file's next commit), chmod (the executable bit, one commit),
// utimens (the mtime index, no commit) and chown (only to the owner).
func (n *node) Setattr(ctx context.Context, fh gofs.FileHandle, in *fuse.SetAttrIn, out *fuse.AttrOut) syscall.Errno {
	if uid, ok := in.GetUID(); ok && uid != n.fsys.uid {
		return syscall.EPERM
	}
	if gid, ok := in.GetGID(); ok && gid != n.fsys.gid {
		return syscall.EPERM
	}
	if size, ok := in.GetSize(); ok {
		if e := n.truncate(ctx, size); e != 0 {
			return e
		}
	}
	if mode, ok := in.GetMode(); ok && n.StableAttr().Mode == syscall.S_IFREG {
		if e := n.chmod(mode&0o100 != 0); e != 0 {
			return e
		}
	}
	if t, ok := in.GetMTime(); ok {
		if e := n.touch(t); e != 0 {
			return e
		}
	} else if in.Valid&fuse.FATTR_MTIME_NOW != 0 {
		if e := n.touch(time.Now()); e != 0 {
			return e
		}
	}
	return n.Getattr(ctx, fh, out)
}

func (n *node) writable() syscall.Errno {
	v, e := n.vaultHandle()
	if e != 0 {
		return e
	}
	if v.ReadOnly() {
		return syscall.EROFS
	}
	return 0
}

func (n *node) truncate(ctx context.Context, size uint64) syscall.Errno {
	if n.StableAttr().Mode == syscall.S_IFDIR {
		return syscall.EISDIR
	}
	if e := n.writable(); e != 0 {
		return e
	}
	if size > vaultstore.MaxFileSize {
		return syscall.EFBIG
	}
	n.mu.Lock()
	open := n.st != nil
	if !open {
		n.st = &fileState{}
	}
	st := n.st
	if !st.loaded && !st.created {
		if e := n.loadLocked(); e != 0 {
			if !open {
				n.st = nil
			}
			n.mu.Unlock()
			return e
		}
	}
	if int(size) != len(st.data) {
		if int(size) < len(st.data) {
			clear(st.data[size:])
			st.data = st.data[:size]
		} else {
			st.data = grow(st.data, int(size))
		}
		st.dirty, st.mtime = true, time.Now()
	}
	st.written = true
	writing := st.writers > 0
	n.mu.Unlock()
	if writing {
		return 0 // part of the open file's next commit
	}
	e := n.commit(ctx, false)
	n.mu.Lock()
	if n.st == st && st.opens == 0 && !st.dirty {
		n.st = nil
	}
	n.mu.Unlock()
	return e
}

func (n *node) chmod(exec bool) syscall.Errno {
	if e := n.writable(); e != 0 {
		return e
	}
	n.mu.Lock()
	if st := n.st; st != nil && st.created {
		st.exec = exec
		n.mu.Unlock()
		return 0
	}
	n.mu.Unlock()
	p, ok := n.path()
	if !ok {
		return 0
	}
	return n.update("chmod", false, func(tx *vaultstore.Tx) error { return tx.Chmod(p, exec) })
}

func (n *node) touch(t time.Time) syscall.Errno {
	n.mu.Lock()
	if st := n.st; st != nil && st.dirty {
		st.touch, st.mtime = &t, t
		n.mu.Unlock()
		return 0
	}
	n.mu.Unlock()
	p, ok := n.path()
	if !ok {
		return 0
	}
	v, e := n.vaultHandle()
	if e != 0 {
		return e
	}
	if v.ReadOnly() {
		return syscall.EROFS
	}
	return errno("utimens", v.TouchFrom(p, t, n.fsys.origin))
}

var _ = (gofs.NodeAllocater)((*node)(nil))

// Allocate implements gofs.NodeAllocater (fallocate): plain allocation
// extends the file, FALLOC_FL_KEEP_SIZE does nothing (there are no blocks to
// reserve); punching holes is not supported.
func (n *node) Allocate(ctx context.Context, fh gofs.FileHandle, off uint64, size uint64, mode uint32) syscall.Errno {
	const keepSize = 1
	if mode&^keepSize != 0 {
		return syscall.EOPNOTSUPP
	}
	end := off + size
	if end > vaultstore.MaxFileSize {
		return syscall.EFBIG
	}
	if mode&keepSize != 0 {
		return 0
	}
	n.mu.Lock()
	st := n.st
	if st == nil || (!st.loaded && !st.created) {
		n.mu.Unlock()
		return syscall.EBADF
	}
	if int(end) > len(st.data) {
		st.data = grow(st.data, int(end))
		st.dirty, st.written, st.mtime = true, true, time.Now()
	}
	n.mu.Unlock()
	return 0
}
