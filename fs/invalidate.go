package fs

import (
	"strings"

	gofs "github.com/hanwen/go-fuse/v2/fs"
	"github.com/pkfs/pkfs/vaultstore"
)

// invalidator pushes changes made outside the mount to the kernel's caches.
// It runs in its own goroutine: the kernel must never be notified from
// inside a FUSE handler or under a lock a handler may need.
func (f *FS) invalidator() {
	defer close(f.done)
	for ev := range f.events {
		switch ev.Kind {
		case vaultstore.EventCommit, vaultstore.EventTouched:
			vr := f.vaultRoot(ev.Vault)
			if vr == nil {
				continue // the kernel knows nothing of this vault
			}
			if ev.Changes == nil {
				notifyTree(vr)
				continue
			}
			for _, c := range ev.Changes {
				f.notifyPath(vr, c.Path)
			}
		default: // created, renamed, deleted, or an overflow: refresh the root
			for name := range f.root.Children() {
				f.root.NotifyEntry(name)
			}
		}
	}
}

// vaultRoot finds the inode of a vault's root among the root's children.
func (f *FS) vaultRoot(id vaultstore.VaultID) *gofs.Inode {
	for _, ch := range f.root.Children() {
		if n, ok := ch.Operations().(*node); ok && n.vroot && n.vault == id {
			return ch
		}
	}
	return nil
}

// notifyPath drops the kernel's entry, attributes and pages for one path.
func (f *FS) notifyPath(vr *gofs.Inode, p string) {
	if p == "" {
		vr.NotifyContent(0, 0)
		return
	}
	parts := strings.Split(p, "/")
	dir := vr
	for _, name := range parts[:len(parts)-1] {
		if dir = dir.GetChild(name); dir == nil {
			return
		}
	}
	name := parts[len(parts)-1]
	if ch := dir.GetChild(name); ch != nil {
		if n, ok := ch.Operations().(*node); ok && n.pendingCreate() {
			return // ours, not committed yet: the kernel's view is right
		}
		ch.NotifyContent(0, 0)
	}
	dir.NotifyEntry(name)
	dir.NotifyContent(0, 0)
}

func notifyTree(n *gofs.Inode) {
	n.NotifyContent(0, 0)
	for name, ch := range n.Children() {
		n.NotifyEntry(name)
		notifyTree(ch)
	}
}

// FlushAll commits every dirty open file (at unmount).
func (f *FS) FlushAll() {
	var walk func(*gofs.Inode)
	walk = func(in *gofs.Inode) {
		if n, ok := in.Operations().(*node); ok {
			n.commit(nil, false)
		}
		for _, ch := range in.Children() {
			walk(ch)
		}
	}
	walk(&f.root.Inode)
}
