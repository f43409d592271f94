package fs

import (
	"cmp"
	"context"
	"slices"
	"syscall"
	"time"

	gofs "github.com/hanwen/go-fuse/v2/fs"
	"github.com/hanwen/go-fuse/v2/fuse"
	"github.com/pkfs/pkfs/vaultstore"
)

var (
	_ = (gofs.NodeMkdirer)((*node)(nil))
	_ = (gofs.NodeRmdirer)((*node)(nil))
	_ = (gofs.NodeUnlinker)((*node)(nil))
	_ = (gofs.NodeRenamer)((*node)(nil))
	_ = (gofs.NodeSymlinker)((*node)(nil))
	_ = (gofs.NodeCreater)((*node)(nil))
	_ = (gofs.NodeLinker)((*node)(nil))
	_ = (gofs.NodeMknoder)((*node)(nil))
)

// update commits fn as one commit of n's vault, tagged as this mount's.
func (n *node) update(op string, sync bool, fn func(tx *vaultstore.Tx) error) syscall.Errno {
	v, e := n.vaultHandle()
	if e != 0 {
		return e
	}
	if v.ReadOnly() {
		return syscall.EROFS
	}
	_, err := v.Update(vaultstore.CommitOptions{Origin: n.fsys.origin, Sync: sync}, fn)
	return errno(op, err)
}

// entryAt stats a path at HEAD after a change, for the new inode's attributes.
func (n *node) entryAt(p string) (vaultstore.Entry, syscall.Errno) {
	_, snap, e := n.head()
	if e != 0 {
		return vaultstore.Entry{}, e
	}
	ent, err := snap.Stat(p)
	return ent, errno("stat", err)
}

// Mkdir implements gofs.NodeMkdirer: one commit.
func (n *node) Mkdir(ctx context.Context, name string, mode uint32, out *fuse.EntryOut) (*gofs.Inode, syscall.Errno) {
	dir, ok := n.path()
	if !ok {
		return nil, syscall.ENOENT
	}
	p := joinPath(dir, name)
	if e := n.update("mkdir", false, func(tx *vaultstore.Tx) error { return tx.Mkdir(p, false) }); e != 0 {
		return nil, e
	}
	ent, e := n.entryAt(p)
	if e != 0 {
		return nil, e
	}
	ch := n.newChild(ctx, dir, ent)
	ch.Operations().(*node).attr(ent, &out.Attr)
	return ch, 0
}

// Rmdir implements gofs.NodeRmdirer: one commit.
func (n *node) Rmdir(ctx context.Context, name string) syscall.Errno {
	dir, ok := n.path()
	if !ok {
		return syscall.ENOENT
	}
	p := joinPath(dir, name)
	if n.fsys.pending.under(n.vault, p) {
		return syscall.ENOTEMPTY // it holds a file that lives in memory only
	}
	if e := n.update("rmdir", false, func(tx *vaultstore.Tx) error { return tx.Remove(p, vaultstore.RemoveDir) }); e != 0 {
		return e
	}
	n.fsys.retire(inoOf(n.vault, "", p, 0))
	n.fsys.forgetIno(n.vault, p)
	return 0
}

// Unlink implements gofs.NodeUnlinker: one commit. A file created but not
// yet committed just disappears.
func (n *node) Unlink(ctx context.Context, name string) syscall.Errno {
	dir, ok := n.path()
	if !ok {
		return syscall.ENOENT
	}
	p := joinPath(dir, name)
	if ch := n.GetChild(name); ch != nil {
		if cn, ok := ch.Operations().(*node); ok && cn.dropPendingCreate() {
			n.fsys.retire(inoOf(n.vault, "", p, 0))
			n.fsys.forgetIno(n.vault, p)
			return 0
		}
	}
	ent, _ := n.entryAt(p)
	// The inode keeps its name until go-fuse drops it, after we return: a
	// flush meanwhile would commit the file back. Detach it in the same
	// critical section as the commit.
	cn := n.childNode(name)
	unlock := lockNodes(cn)
	e := n.update("unlink", false, func(tx *vaultstore.Tx) error { return tx.Remove(p, vaultstore.RemoveFile) })
	if e == 0 && cn != nil {
		cn.gone = &ent
	}
	unlock()
	if e != 0 {
		return e
	}
	n.fsys.retire(inoOf(n.vault, "", p, 0))
	n.fsys.forgetIno(n.vault, p)
	return 0
}

// childNode returns the node of a child the kernel knows, or nil.
func (n *node) childNode(name string) *node {
	if ch := n.GetChild(name); ch != nil {
		if cn, ok := ch.Operations().(*node); ok {
			return cn
		}
	}
	return nil
}

// lockNodes locks the mutexes of the given nodes (nil and duplicates
// skipped) in inode number order, and returns the function that unlocks
// them.
func lockNodes(ns ...*node) func() {
	var ls []*node
	for _, x := range ns {
		if x != nil && !slices.Contains(ls, x) {
			ls = append(ls, x)
		}
	}
	slices.SortFunc(ls, func(a, b *node) int { return cmp.Compare(a.StableAttr().Ino, b.StableAttr().Ino) })
	for _, x := range ls {
		x.mu.Lock()
	}
	return func() {
		for _, x := range ls {
			x.mu.Unlock()
		}
	}
}

// RENAME_NOREPLACE and RENAME_EXCHANGE of renameat2(2).
const (
	renameNoReplace = 1
	renameExchange  = 2
)

// Rename implements gofs.NodeRenamer: one commit; EXDEV across vaults.
func (n *node) Rename(ctx context.Context, name string, newParent gofs.InodeEmbedder, newName string, flags uint32) syscall.Errno {
	np, ok := newParent.(*node)
	if !ok || np.vault != n.vault {
		return syscall.EXDEV
	}
	if flags&renameExchange != 0 {
		return syscall.EINVAL
	}
	from, ok1 := n.path()
	to, ok2 := np.path()
	if !ok1 || !ok2 {
		return syscall.ENOENT
	}
	from, to = joinPath(from, name), joinPath(to, newName)
	if ch := n.GetChild(name); ch != nil {
		if cn, ok := ch.Operations().(*node); ok && cn.pendingCreate() {
			if scratchName(newName) && !n.inVault(to) {
				// a scratch file renamed to another scratch name: memory only
				n.fsys.pending.move(n.vault, from, to)
				return 0
			}
			if e := cn.commitAs(ctx, false, true); e != 0 {
				return e
			}
		}
	}
	if tc := np.childNode(newName); tc != nil && tc != n.childNode(name) {
		// the name replaced is a file that lives in memory only: it goes,
		// and its handles must not commit it over the file moved there
		tc.dropPendingCreate()
	}
	target, _ := n.entryAt(to)
	if target.Type == vaultstore.TypeDir && n.fsys.pending.under(n.vault, to) {
		return syscall.ENOTEMPTY // the directory replaced holds a file that lives in memory only
	}
	// The inodes keep their names until go-fuse moves them, after we
	// return: a flush meanwhile would commit the moved file (or one under
	// the moved directory) back at its old name, or the replaced one over
	// the file moved there. The move is recorded, and the replaced file
	// told, in the same critical section as the commit.
	sn, tn := n.childNode(name), np.childNode(newName)
	if target.Hash.IsZero() || tn == sn {
		tn = nil
	}
	unlock := lockNodes(sn, tn)
	n.fsys.moves.mu.Lock()
	e := n.renameLocked(&from, &to, name, newName, np, flags)
	if e == 0 {
		if tn != nil {
			tn.gone = &target
		}
		if sn != nil {
			n.fsys.moves.add(&move{vault: n.vault, parent: &n.Inode, name: name, child: &sn.Inode, from: from, to: to})
		}
		n.fsys.pending.moveDir(n.vault, from, to) // a directory takes its in-memory files along
	}
	n.fsys.moves.mu.Unlock()
	unlock()
	if e != 0 {
		return e
	}
	n.fsys.retire(inoOf(n.vault, "", from, 0))
	n.fsys.retire(inoOf(n.vault, "", to, 0))
	var kept *gofs.StableAttr
	if sn != nil {
		a := sn.StableAttr()
		kept = &a
	}
	n.fsys.moveIno(n.vault, from, to, kept)
	return 0
}

// renameLocked reads the paths again (moves.mu held: an earlier rename may
// have moved them since) and commits the rename.
func (n *node) renameLocked(from, to *string, name, newName string, np *node, flags uint32) syscall.Errno {
	d1, ok1 := n.vaultPath()
	d2, ok2 := np.vaultPath()
	if !ok1 || !ok2 {
		return syscall.ENOENT
	}
	*from, *to = joinPath(d1, name), joinPath(d2, newName)
	return n.update("rename", false, func(tx *vaultstore.Tx) error {
		if flags&renameNoReplace != 0 {
			if _, err := tx.Stat(*to); err == nil {
				return syscall.EEXIST
			}
		}
		return tx.Rename(*from, *to)
	})
}

// Symlink implements gofs.NodeSymlinker: one commit.
func (n *node) Symlink(ctx context.Context, target, name string, out *fuse.EntryOut) (*gofs.Inode, syscall.Errno) {
	dir, ok := n.path()
	if !ok {
		return nil, syscall.ENOENT
	}
	p := joinPath(dir, name)
	if e := n.update("symlink", false, func(tx *vaultstore.Tx) error { return tx.Symlink(p, target) }); e != 0 {
		return nil, e
	}
	ent, e := n.entryAt(p)
	if e != 0 {
		return nil, e
	}
	ch := n.newChild(ctx, dir, ent)
	ch.Operations().(*node).attr(ent, &out.Attr)
	return ch, 0
}

// Create implements gofs.NodeCreater. The new file lives in memory until
// its first close or fsync commits it.
func (n *node) Create(ctx context.Context, name string, flags uint32, mode uint32, out *fuse.EntryOut) (*gofs.Inode, gofs.FileHandle, uint32, syscall.Errno) {
	v, e := n.vaultHandle()
	if e != 0 {
		return nil, nil, 0, e
	}
	if v.ReadOnly() {
		return nil, nil, 0, syscall.EROFS
	}
	dir, ok := n.path()
	if !ok {
		return nil, nil, 0, syscall.ENOENT
	}
	p := joinPath(dir, name)
	if _, err := vaultstore.CleanPath(p); err != nil {
		return nil, nil, 0, errno("create", err)
	}
	if snap, err := v.Snapshot(""); err == nil {
		if ent, err := statEntry(snap, p); err == nil {
			if flags&syscall.O_EXCL != 0 {
				return nil, nil, 0, syscall.EEXIST
			}
			ch := n.newChild(ctx, dir, ent)
			cn := ch.Operations().(*node)
			fh, fl, e := cn.open(ctx, flags)
			if e == 0 {
				cn.attr(ent, &out.Attr)
			}
			return ch, fh, fl, e
		}
	}
	ino, g := n.fsys.vaultIno(n.vault, p)
	cn := &node{fsys: n.fsys, vault: n.vault,
		st: &fileState{created: true, dirty: true, exec: mode&0o100 != 0, mtime: time.Now()}}
	st := cn.st
	ch := n.NewInode(ctx, cn, gofs.StableAttr{Mode: syscall.S_IFREG, Ino: ino, Gen: g})
	cn = ch.Operations().(*node)
	if cn.st == st {
		n.fsys.pending.add(n.vault, p, st)
	}
	fh, fl, e := cn.open(ctx, flags&^syscall.O_TRUNC)
	if e != 0 {
		return nil, nil, 0, e
	}
	cn.attr(vaultstore.Entry{}, &out.Attr)
	return ch, fh, fl, 0
}

// Link implements gofs.NodeLinker: vaults have no hard links.
func (n *node) Link(ctx context.Context, target gofs.InodeEmbedder, name string, out *fuse.EntryOut) (*gofs.Inode, syscall.Errno) {
	return nil, syscall.EPERM
}

// Mknod implements gofs.NodeMknoder: no device nodes, FIFOs or sockets.
func (n *node) Mknod(ctx context.Context, name string, mode uint32, dev uint32, out *fuse.EntryOut) (*gofs.Inode, syscall.Errno) {
	return nil, syscall.EPERM
}

// inVault reports whether p exists at the vault's head.
func (n *node) inVault(p string) bool {
	_, e := n.entryAt(p)
	return e == 0
}
