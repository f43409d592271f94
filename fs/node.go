package fs

import (
	"context"
	"strings"
	"sync"
	"syscall"

	gofs "github.com/hanwen/go-fuse/v2/fs"
	"github.com/hanwen/go-fuse/v2/fuse"
	"github.com/pkfs/pkfs/vaultstore"
	"golang.org/x/sys/unix"
)

// node is a directory, file or symlink at the HEAD of a vault.
type node struct {
	gofs.Inode
	fsys  *FS
	vault vaultstore.VaultID
	vroot bool // the vault's root directory

	mu   sync.Mutex
	st   *fileState        // the open content of a file, shared by its handles
	gone *vaultstore.Entry // what it was when it was unlinked while in use
}

var (
	_ = (gofs.NodeLookuper)((*node)(nil))
	_ = (gofs.NodeGetattrer)((*node)(nil))
	_ = (gofs.NodeReaddirer)((*node)(nil))
	_ = (gofs.NodeStatfser)((*node)(nil))
)

// treePath returns the node's path in the inode tree, or false when the
// node has been unlinked (it is no longer in the tree). A rename just
// committed may not be in the tree yet: path maps it to the vault.
func (n *node) treePath() (string, bool) {
	var parts []string
	var p *gofs.Inode = &n.Inode
	for {
		if nn, ok := p.Operations().(*node); ok && nn.vroot {
			break
		}
		name, parent := p.Parent()
		if parent == nil {
			return "", false
		}
		parts = append(parts, name)
		p = parent
	}
	for i, j := 0, len(parts)-1; i < j; i, j = i+1, j-1 {
		parts[i], parts[j] = parts[j], parts[i]
	}
	return strings.Join(parts, "/"), true
}

func joinPath(dir, name string) string {
	if dir == "" {
		return name
	}
	return dir + "/" + name
}

func (n *node) vaultHandle() (*vaultstore.Vault, syscall.Errno) {
	v, err := n.fsys.store.VaultByID(n.vault)
	if err != nil {
		return nil, errno("vault", err)
	}
	return v, 0
}

// head returns the vault and a snapshot of its head.
func (n *node) head() (*vaultstore.Vault, *vaultstore.Snapshot, syscall.Errno) {
	v, e := n.vaultHandle()
	if e != 0 {
		return nil, nil, e
	}
	s, err := v.Snapshot("")
	if err != nil {
		return nil, nil, errno("snapshot", err)
	}
	return v, s, 0
}

// attr fills out for the node: from its open state when it has one, else
// from the entry at HEAD.
func (n *node) attr(e vaultstore.Entry, out *fuse.Attr) {
	mode, size, mtime := modeOf(e), e.Size, e.Mtime
	n.mu.Lock()
	nlink := uint32(0)
	if n.gone != nil && e.Hash.IsZero() && e.Mtime.IsZero() {
		mode, size, mtime = modeOf(*n.gone), n.gone.Size, n.gone.Mtime
	} else {
		nlink = 1
	}
	if st := n.st; st != nil && (st.dirty || st.created) {
		size, mtime = int64(len(st.data)), st.mtime
		if st.created {
			mode = modeFile
			if st.exec {
				mode = modeExec
			}
		}
	}
	n.mu.Unlock()
	n.fsys.fill(out, n.StableAttr().Ino, mode, size, mtime)
	if n.readOnly() {
		out.Mode &^= 0o222 // a replica of another node's vault
	}
	if nlink == 0 {
		out.Nlink = 0
	}
}

// newChild returns the inode for entry e under n (an existing one when the
// kernel already knows it).
func (n *node) newChild(ctx context.Context, dirPath string, e vaultstore.Entry) *gofs.Inode {
	ino, g := n.fsys.vaultIno(n.vault, joinPath(dirPath, e.Name))
	mode := modeOf(e) & syscall.S_IFMT
	return n.NewInode(ctx, &node{fsys: n.fsys, vault: n.vault}, gofs.StableAttr{Mode: mode, Ino: ino, Gen: g})
}

// Lookup implements gofs.NodeLookuper.
func (n *node) Lookup(ctx context.Context, name string, out *fuse.EntryOut) (*gofs.Inode, syscall.Errno) {
	dir, ok := n.path()
	if !ok {
		return nil, syscall.ENOENT
	}
	if ch := n.adoptPending(ctx, name, joinPath(dir, name)); ch != nil {
		ch.Operations().(*node).attr(vaultstore.Entry{}, &out.Attr)
		return ch, 0
	}
	_, snap, e := n.head()
	if e != 0 {
		return nil, e
	}
	ent, err := statEntry(snap, joinPath(dir, name))
	if err != nil {
		return nil, errno("lookup", err)
	}
	ch := n.newChild(ctx, dir, ent)
	ch.Operations().(*node).attr(ent, &out.Attr)
	return ch, 0
}

// Getattr implements gofs.NodeGetattrer.
func (n *node) Getattr(ctx context.Context, fh gofs.FileHandle, out *fuse.AttrOut) syscall.Errno {
	if n.pendingCreate() {
		n.attr(vaultstore.Entry{}, &out.Attr)
		return 0
	}
	p, ok := n.path()
	if !ok {
		// unlinked but still open: what its handles hold
		n.attr(vaultstore.Entry{}, &out.Attr)
		return 0
	}
	_, snap, e := n.head()
	if e != 0 {
		return e
	}
	ent, err := statEntry(snap, p)
	if err != nil {
		return errno("getattr", err)
	}
	if modeOf(ent)&syscall.S_IFMT != n.StableAttr().Mode {
		// the name now holds something else (a rename raced with us):
		// this inode is what was there before
		n.attr(vaultstore.Entry{}, &out.Attr)
		return 0
	}
	n.attr(ent, &out.Attr)
	return 0
}

// Readdir implements gofs.NodeReaddirer.
func (n *node) Readdir(ctx context.Context) (gofs.DirStream, syscall.Errno) {
	dir, ok := n.path()
	if !ok {
		return gofs.NewListDirStream(nil), 0
	}
	_, snap, e := n.head()
	if e != 0 {
		return nil, e
	}
	es, err := snap.ReadDirNames(dir) // names and types are all it needs
	if err != nil {
		return nil, errno("readdir", err)
	}
	seen := make(map[string]bool, len(es))
	out := make([]fuse.DirEntry, 0, len(es))
	for _, ent := range es {
		seen[ent.Name] = true
		ino, _ := n.fsys.vaultIno(n.vault, ent.Path)
		out = append(out, fuse.DirEntry{Name: ent.Name, Mode: modeOf(ent), Ino: ino})
	}
	for _, name := range n.fsys.pending.in(n.vault, dir) {
		if !seen[name] {
			ino, _ := n.fsys.vaultIno(n.vault, joinPath(dir, name))
			if ch := n.GetChild(name); ch != nil {
				ino = ch.StableAttr().Ino
			}
			out = append(out, fuse.DirEntry{Name: name, Mode: modeFile, Ino: ino})
		}
	}
	return gofs.NewListDirStream(out), 0
}

// Statfs implements gofs.NodeStatfser.
func (n *node) Statfs(ctx context.Context, out *fuse.StatfsOut) syscall.Errno {
	return n.fsys.statfs(out)
}

// statfs reports the space of the filesystem that holds the node path
// (StatfsPath), where the vaults' bytes really go; without one, large
// round numbers.
func (f *FS) statfs(out *fuse.StatfsOut) syscall.Errno {
	out.Bsize = blockSize
	out.Frsize = blockSize
	out.NameLen = 255
	var st unix.Statfs_t
	if f.StatfsPath != "" && unix.Statfs(f.StatfsPath, &st) == nil && st.Bsize > 0 {
		scale := uint64(st.Bsize) / blockSize
		if scale == 0 {
			scale = 1
		}
		out.Blocks, out.Bfree, out.Bavail = st.Blocks*scale, st.Bfree*scale, st.Bavail*scale
		out.Files, out.Ffree = st.Files, st.Ffree
		return 0
	}
	out.Blocks = 1 << 30
	out.Bfree = 1 << 29
	out.Bavail = 1 << 29
	out.Files = 1 << 30
	out.Ffree = 1 << 29
	return 0
}

// readOnly reports whether the node's vault is a read-only replica.
func (n *node) readOnly() bool {
	v, err := n.fsys.store.VaultByID(n.vault)
	return err == nil && v.ReadOnly()
}
