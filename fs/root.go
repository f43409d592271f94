package fs

import (
	"context"
	"errors"
	"syscall"

	gofs "github.com/hanwen/go-fuse/v2/fs"
	"github.com/hanwen/go-fuse/v2/fuse"
	"github.com/pkfs/pkfs/vaultstore"
)

// HistoryDir is the name of the read-only history tree at the root.
const HistoryDir = ".history"

// rootNode is the mount root: one directory per vault, and .history.
type rootNode struct {
	gofs.Inode
	fsys *FS
}

var (
	_ = (gofs.NodeLookuper)((*rootNode)(nil))
	_ = (gofs.NodeReaddirer)((*rootNode)(nil))
	_ = (gofs.NodeMkdirer)((*rootNode)(nil))
	_ = (gofs.NodeRenamer)((*rootNode)(nil))
	_ = (gofs.NodeRmdirer)((*rootNode)(nil))
	_ = (gofs.NodeUnlinker)((*rootNode)(nil))
	_ = (gofs.NodeCreater)((*rootNode)(nil))
	_ = (gofs.NodeSymlinker)((*rootNode)(nil))
	_ = (gofs.NodeMknoder)((*rootNode)(nil))
	_ = (gofs.NodeLinker)((*rootNode)(nil))
	_ = (gofs.NodeGetattrer)((*rootNode)(nil))
	_ = (gofs.NodeSetattrer)((*rootNode)(nil))
	_ = (gofs.NodeStatfser)((*rootNode)(nil))
)

// Getattr implements gofs.NodeGetattrer.
func (r *rootNode) Getattr(ctx context.Context, fh gofs.FileHandle, out *fuse.AttrOut) syscall.Errno {
	r.fsys.fill(&out.Attr, 1, modeDir, 0, r.fsys.started)
	return 0
}

// Setattr implements gofs.NodeSetattrer: nothing to change on the root.
func (r *rootNode) Setattr(ctx context.Context, fh gofs.FileHandle, in *fuse.SetAttrIn, out *fuse.AttrOut) syscall.Errno {
	if uid, ok := in.GetUID(); ok && uid != r.fsys.uid {
		return syscall.EPERM
	}
	return r.Getattr(ctx, fh, out)
}

// Statfs implements gofs.NodeStatfser.
func (r *rootNode) Statfs(ctx context.Context, out *fuse.StatfsOut) syscall.Errno {
	return r.fsys.statfs(out)
}

func (r *rootNode) vaultInode(ctx context.Context, v *vaultstore.Vault, out *fuse.Attr) (*gofs.Inode, syscall.Errno) {
	snap, err := v.Snapshot("")
	if err != nil {
		return nil, errno("vault", err)
	}
	ent, err := snap.Stat("")
	if err != nil {
		return nil, errno("vault", err)
	}
	ino := inoOf(v.ID(), "", "", 0)
	ch := r.NewInode(ctx, &node{fsys: r.fsys, vault: v.ID(), vroot: true}, gofs.StableAttr{Mode: syscall.S_IFDIR, Ino: ino})
	r.fsys.fill(out, ino, modeDir, 0, ent.Mtime)
	if v.ReadOnly() {
		out.Mode &^= 0o222
	}
	return ch, 0
}

// Lookup implements gofs.NodeLookuper.
func (r *rootNode) Lookup(ctx context.Context, name string, out *fuse.EntryOut) (*gofs.Inode, syscall.Errno) {
	if name == HistoryDir {
		ino := inoOf(vaultstore.VaultID{}, HistoryDir, "", 0)
		ch := r.NewInode(ctx, &historyRoot{fsys: r.fsys}, gofs.StableAttr{Mode: syscall.S_IFDIR, Ino: ino})
		r.fsys.fill(&out.Attr, ino, modeDir, 0, r.fsys.started)
		return ch, 0
	}
	v, err := r.fsys.store.VaultByName(name)
	if err != nil || v.Name() != name {
		return nil, syscall.ENOENT
	}
	return r.vaultInode(ctx, v, &out.Attr)
}

// Readdir implements gofs.NodeReaddirer.
func (r *rootNode) Readdir(ctx context.Context) (gofs.DirStream, syscall.Errno) {
	infos, err := r.fsys.store.List()
	if err != nil {
		return nil, errno("readdir", err)
	}
	out := []fuse.DirEntry{{Name: HistoryDir, Mode: modeDir, Ino: inoOf(vaultstore.VaultID{}, HistoryDir, "", 0)}}
	for _, i := range infos {
		out = append(out, fuse.DirEntry{Name: i.Name, Mode: modeDir, Ino: inoOf(i.ID, "", "", 0)})
	}
	return gofs.NewListDirStream(out), 0
}

// Mkdir implements gofs.NodeMkdirer: a new vault.
func (r *rootNode) Mkdir(ctx context.Context, name string, mode uint32, out *fuse.EntryOut) (*gofs.Inode, syscall.Errno) {
	v, err := r.fsys.store.Create(name)
	if err != nil {
		return nil, errno("mkdir vault", err)
	}
	return r.vaultInode(ctx, v, &out.Attr)
}

// Rename implements gofs.NodeRenamer: renames a vault; EXDEV elsewhere.
func (r *rootNode) Rename(ctx context.Context, name string, newParent gofs.InodeEmbedder, newName string, flags uint32) syscall.Errno {
	if _, ok := newParent.(*rootNode); !ok {
		return syscall.EXDEV
	}
	if name == HistoryDir || newName == HistoryDir {
		return syscall.EPERM
	}
	if flags&renameExchange != 0 {
		return syscall.EINVAL
	}
	v, err := r.fsys.store.VaultByName(name) // a name, even one of an ID's form
	if err == nil {
		err = r.fsys.store.Rename(v.ID().String(), newName)
	}
	if errors.Is(err, vaultstore.ErrVaultExists) {
		return syscall.EEXIST
	}
	return errno("rename vault", err)
}

// Rmdir implements gofs.NodeRmdirer: vaults are deleted with the CLI only.
func (r *rootNode) Rmdir(ctx context.Context, name string) syscall.Errno { return syscall.EPERM }

// Unlink implements gofs.NodeUnlinker: the root holds no files.
func (r *rootNode) Unlink(ctx context.Context, name string) syscall.Errno { return syscall.EPERM }

// Create implements gofs.NodeCreater: the root holds only vaults.
func (r *rootNode) Create(ctx context.Context, name string, flags uint32, mode uint32, out *fuse.EntryOut) (*gofs.Inode, gofs.FileHandle, uint32, syscall.Errno) {
	return nil, nil, 0, syscall.EPERM
}

// Symlink implements gofs.NodeSymlinker: the root holds only vaults.
func (r *rootNode) Symlink(ctx context.Context, target, name string, out *fuse.EntryOut) (*gofs.Inode, syscall.Errno) {
	return nil, syscall.EPERM
}

// Mknod implements gofs.NodeMknoder.
func (r *rootNode) Mknod(ctx context.Context, name string, mode uint32, dev uint32, out *fuse.EntryOut) (*gofs.Inode, syscall.Errno) {
	return nil, syscall.EPERM
}

// Link implements gofs.NodeLinker.
func (r *rootNode) Link(ctx context.Context, target gofs.InodeEmbedder, name string, out *fuse.EntryOut) (*gofs.Inode, syscall.Errno) {
	return nil, syscall.EPERM
}
