package fs

import (
	"context"
	"syscall"

	gofs "github.com/hanwen/go-fuse/v2/fs"
)

var (
	_ = (gofs.NodeFsyncer)((*node)(nil))
	_ = (gofs.NodeFsyncer)((*rootNode)(nil))
	_ = (gofs.NodeFsyncer)((*readOnly)(nil))
)

// Fsync implements gofs.NodeFsyncer: fsync of a directory (what careful
// programs do after a rename) returns once the vault's commits are on
// disk. It used to fail with EOPNOTSUPP, which programs that check it
// treat as a failed save. A file's fsync goes to its handle.
func (n *node) Fsync(ctx context.Context, f gofs.FileHandle, flags uint32) syscall.Errno {
	if h, ok := f.(*handle); ok {
		return h.Fsync(ctx, flags)
	}
	return errno("fsync", n.fsys.store.Sync())
}

// Fsync implements gofs.NodeFsyncer: vault creations and renames are on
// disk when it returns.
func (r *rootNode) Fsync(ctx context.Context, f gofs.FileHandle, flags uint32) syscall.Errno {
	return errno("fsync", r.fsys.store.Sync())
}

// Fsync implements gofs.NodeFsyncer: history never changes, nothing to
// sync.
func (readOnly) Fsync(context.Context, gofs.FileHandle, uint32) syscall.Errno { return 0 }
