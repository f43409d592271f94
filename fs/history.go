package fs

import (
	"context"
	"io"
	"syscall"

	gofs "github.com/hanwen/go-fuse/v2/fs"
	"github.com/hanwen/go-fuse/v2/fuse"
	"github.com/pkfs/pkfs/vaultstore"
)

// The history tree: .history/<vault>/<rev>/<path>, read-only. A revision
// is looked up by any name the vault resolves (full or short commit ID,
// HEAD~N); listing a vault's directory shows its commit IDs, newest first.

// readOnly answers every mutation under .history with EROFS.
type readOnly struct{}

func (readOnly) Setattr(context.Context, gofs.FileHandle, *fuse.SetAttrIn, *fuse.AttrOut) syscall.Errno {
	return syscall.EROFS
}
func (readOnly) Mkdir(context.Context, string, uint32, *fuse.EntryOut) (*gofs.Inode, syscall.Errno) {
	return nil, syscall.EROFS
}
func (readOnly) Create(context.Context, string, uint32, uint32, *fuse.EntryOut) (*gofs.Inode, gofs.FileHandle, uint32, syscall.Errno) {
	return nil, nil, 0, syscall.EROFS
}
func (readOnly) Unlink(context.Context, string) syscall.Errno { return syscall.EROFS }
func (readOnly) Rmdir(context.Context, string) syscall.Errno  { return syscall.EROFS }
func (readOnly) Rename(context.Context, string, gofs.InodeEmbedder, string, uint32) syscall.Errno {
	return syscall.EROFS
}
func (readOnly) Symlink(context.Context, string, string, *fuse.EntryOut) (*gofs.Inode, syscall.Errno) {
	return nil, syscall.EROFS
}
func (readOnly) Link(context.Context, gofs.InodeEmbedder, string, *fuse.EntryOut) (*gofs.Inode, syscall.Errno) {
	return nil, syscall.EROFS
}
func (readOnly) Mknod(context.Context, string, uint32, uint32, *fuse.EntryOut) (*gofs.Inode, syscall.Errno) {
	return nil, syscall.EROFS
}
func (readOnly) Setxattr(context.Context, string, []byte, uint32) syscall.Errno { return syscall.EROFS }
func (readOnly) Removexattr(context.Context, string) syscall.Errno              { return syscall.EROFS }
func (readOnly) Getxattr(context.Context, string, []byte) (uint32, syscall.Errno) {
	return 0, syscall.ENODATA
}

type historyRoot struct {
	gofs.Inode
	readOnly
	fsys *FS
}

var (
	_ = (gofs.NodeLookuper)((*historyRoot)(nil))
	_ = (gofs.NodeReaddirer)((*historyRoot)(nil))
	_ = (gofs.NodeMkdirer)((*historyRoot)(nil))
	_ = (gofs.NodeLookuper)((*historyVault)(nil))
	_ = (gofs.NodeLookuper)((*hnode)(nil))
	_ = (gofs.NodeOpener)((*hnode)(nil))
	_ = (gofs.NodeCreater)((*hnode)(nil))
)

func (h *historyRoot) Getattr(ctx context.Context, fh gofs.FileHandle, out *fuse.AttrOut) syscall.Errno {
	h.fsys.fill(&out.Attr, h.StableAttr().Ino, modeDir, 0, h.fsys.started)
	return 0
}

func (h *historyRoot) Lookup(ctx context.Context, name string, out *fuse.EntryOut) (*gofs.Inode, syscall.Errno) {
	v, err := h.fsys.store.VaultByName(name)
	if err != nil || v.Name() != name {
		return nil, syscall.ENOENT
	}
	ino := inoOf(v.ID(), HistoryDir, "", 0)
	ch := h.NewInode(ctx, &historyVault{fsys: h.fsys, vault: v.ID()}, gofs.StableAttr{Mode: syscall.S_IFDIR, Ino: ino})
	h.fsys.fill(&out.Attr, ino, modeDir, 0, h.fsys.started)
	return ch, 0
}

func (h *historyRoot) Readdir(ctx context.Context) (gofs.DirStream, syscall.Errno) {
	infos, err := h.fsys.store.List()
	if err != nil {
		return nil, errno("readdir", err)
	}
	out := make([]fuse.DirEntry, 0, len(infos))
	for _, i := range infos {
		out = append(out, fuse.DirEntry{Name: i.Name, Mode: modeDir, Ino: inoOf(i.ID, HistoryDir, "", 0)})
	}
	return gofs.NewListDirStream(out), 0
}

// historyVault lists and resolves the revisions of one vault.
type historyVault struct {
	gofs.Inode
	readOnly
	fsys  *FS
	vault vaultstore.VaultID
}

func (h *historyVault) Getattr(ctx context.Context, fh gofs.FileHandle, out *fuse.AttrOut) syscall.Errno {
	h.fsys.fill(&out.Attr, h.StableAttr().Ino, modeDir, 0, h.fsys.started)
	return 0
}

func (h *historyVault) Readdir(ctx context.Context) (gofs.DirStream, syscall.Errno) {
	v, err := h.fsys.store.VaultByID(h.vault)
	if err != nil {
		return nil, errno("history", err)
	}
	log, err := v.Log(0)
	if err != nil {
		return nil, errno("history", err)
	}
	out := make([]fuse.DirEntry, 0, len(log))
	for _, c := range log {
		id := c.ID.String()
		out = append(out, fuse.DirEntry{Name: id, Mode: modeDir, Ino: inoOf(h.vault, id, "", 0)})
	}
	return gofs.NewListDirStream(out), 0
}

func (h *historyVault) Lookup(ctx context.Context, name string, out *fuse.EntryOut) (*gofs.Inode, syscall.Errno) {
	v, err := h.fsys.store.VaultByID(h.vault)
	if err != nil {
		return nil, errno("history", err)
	}
	c, err := v.Resolve(name)
	if err != nil {
		return nil, errno("history", err)
	}
	snap, err := v.Snapshot(c.String())
	if err != nil {
		return nil, errno("history", err)
	}
	ent, err := snap.Stat("")
	if err != nil {
		return nil, errno("history", err)
	}
	hn := &hnode{fsys: h.fsys, vault: h.vault, rev: name, commit: c}
	return hn.child(ctx, &h.Inode, "", ent, out)
}

// hnode is a file, directory or symlink of one revision.
type hnode struct {
	gofs.Inode
	readOnly
	fsys   *FS
	vault  vaultstore.VaultID
	rev    string // the name the revision was looked up by
	commit vaultstore.Hash
	path   string
}

func (h *hnode) snapshot() (*vaultstore.Snapshot, syscall.Errno) {
	v, err := h.fsys.store.VaultByID(h.vault)
	if err != nil {
		return nil, errno("history", err)
	}
	s, err := v.Snapshot(h.commit.String())
	return s, errno("history", err)
}

// child makes the inode of entry ent (at path p) under parent.
func (h *hnode) child(ctx context.Context, parent *gofs.Inode, p string, ent vaultstore.Entry, out *fuse.EntryOut) (*gofs.Inode, syscall.Errno) {
	ino := inoOf(h.vault, "rev:"+h.rev, p, 0)
	mode := modeOf(ent)
	n := &hnode{fsys: h.fsys, vault: h.vault, rev: h.rev, commit: h.commit, path: p}
	ch := parent.NewInode(ctx, n, gofs.StableAttr{Mode: mode & syscall.S_IFMT, Ino: ino})
	h.fsys.fill(&out.Attr, ino, mode, ent.Size, ent.Mtime)
	return ch, 0
}

func (h *hnode) Getattr(ctx context.Context, fh gofs.FileHandle, out *fuse.AttrOut) syscall.Errno {
	s, e := h.snapshot()
	if e != 0 {
		return e
	}
	ent, err := s.Stat(h.path)
	if err != nil {
		return errno("history", err)
	}
	h.fsys.fill(&out.Attr, h.StableAttr().Ino, modeOf(ent), ent.Size, ent.Mtime)
	return 0
}

func (h *hnode) Lookup(ctx context.Context, name string, out *fuse.EntryOut) (*gofs.Inode, syscall.Errno) {
	s, e := h.snapshot()
	if e != 0 {
		return nil, e
	}
	p := joinPath(h.path, name)
	ent, err := s.Stat(p)
	if err != nil {
		return nil, errno("history", err)
	}
	return h.child(ctx, &h.Inode, p, ent, out)
}

func (h *hnode) Readdir(ctx context.Context) (gofs.DirStream, syscall.Errno) {
	s, e := h.snapshot()
	if e != 0 {
		return nil, e
	}
	es, err := s.ReadDir(h.path)
	if err != nil {
		return nil, errno("history", err)
	}
	out := make([]fuse.DirEntry, 0, len(es))
	for _, ent := range es {
		out = append(out, fuse.DirEntry{Name: ent.Name, Mode: modeOf(ent), Ino: inoOf(h.vault, "rev:"+h.rev, ent.Path, 0)})
	}
	return gofs.NewListDirStream(out), 0
}

func (h *hnode) Readlink(ctx context.Context) ([]byte, syscall.Errno) {
	s, e := h.snapshot()
	if e != 0 {
		return nil, e
	}
	t, err := s.Readlink(h.path)
	if err != nil {
		return nil, errno("history", err)
	}
	return []byte(t), 0
}

func (h *hnode) Open(ctx context.Context, flags uint32) (gofs.FileHandle, uint32, syscall.Errno) {
	if flags&syscall.O_ACCMODE != syscall.O_RDONLY || flags&syscall.O_TRUNC != 0 {
		return nil, 0, syscall.EROFS
	}
	s, e := h.snapshot()
	if e != 0 {
		return nil, 0, e
	}
	b, err := s.Open(h.path)
	if err != nil {
		return nil, 0, errno("history", err)
	}
	return &historyHandle{b: b}, fuse.FOPEN_KEEP_CACHE, 0
}

type historyHandle struct{ b *vaultstore.Blob }

func (h *historyHandle) Read(ctx context.Context, dest []byte, off int64) (fuse.ReadResult, syscall.Errno) {
	n, err := h.b.ReadAt(dest, off)
	if err != nil && err != io.EOF {
		return nil, errno("read", err)
	}
	return fuse.ReadResultData(dest[:n]), 0
}
