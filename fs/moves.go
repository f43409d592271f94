package fs

import (
	"strings"
	"sync"

	gofs "github.com/hanwen/go-fuse/v2/fs"
	"github.com/pkfs/pkfs/vaultstore"
)

// moves bridges the gap between a rename's commit and the inode tree. Rename
// commits the move, but go-fuse moves the inode only after Rename returns:
// until then the tree still shows the old name for the inode moved and for
// everything under it, and a file under a directory just renamed, closed in
// that window, would commit back at its old path (recreating the directory
// there). Each rename is recorded here from its commit until go-fuse applies
// it, and paths read from the tree are mapped through the records.
type moves struct {
	// mu is held to commit a rename and record it, and read to read a
	// path and commit at it: a commit cannot go to a path a rename has
	// just moved away from
	mu sync.RWMutex

	listMu sync.Mutex // guards list (readers of mu prune it)
	list   []*move    // in commit order
}

// move is one rename committed and not known to be applied to the tree.
type move struct {
	vault    vaultstore.VaultID
	parent   *gofs.Inode // the old parent, and the old name in it
	name     string
	child    *gofs.Inode // the inode moved
	from, to string      // vault paths
}

// add records a rename just committed (mu held).
func (m *moves) add(mv *move) {
	m.listMu.Lock()
	m.list = append(m.list, mv)
	m.listMu.Unlock()
}

// mapPath maps p, read from the inode tree, to the vault path of the same
// thing; moves go-fuse has applied are dropped.
func (m *moves) mapPath(v vaultstore.VaultID, p string) string {
	m.listMu.Lock()
	defer m.listMu.Unlock()
	if len(m.list) == 0 {
		return p
	}
	live := m.list[:0]
	for _, mv := range m.list {
		if mv.parent.GetChild(mv.name) == mv.child {
			live = append(live, mv)
		}
	}
	clear(m.list[len(live):])
	m.list = live
	for _, mv := range live {
		if mv.vault == v && (p == mv.from || strings.HasPrefix(p, mv.from+"/")) {
			p = mv.to + p[len(mv.from):]
		}
	}
	return p
}

// vaultPath is the node's path in its vault (moves.mu held, either way), or
// false when it has been unlinked. The tree is read on both sides of the
// mapping: go-fuse may apply a move in between, and then the first read
// may be the old path and the mapping already gone.
func (n *node) vaultPath() (string, bool) {
	for {
		t1, ok1 := n.treePath()
		p := n.fsys.moves.mapPath(n.vault, t1)
		t2, ok2 := n.treePath()
		if t1 == t2 && ok1 == ok2 {
			return p, ok1
		}
	}
}

// path is the node's path in its vault, or false when it has been unlinked.
func (n *node) path() (string, bool) {
	n.fsys.moves.mu.RLock()
	defer n.fsys.moves.mu.RUnlock()
	return n.vaultPath()
}

// lockedPath is path, with renames held off until unlock is called: a
// commit at the path made before then goes where the node is.
func (n *node) lockedPath() (p string, ok bool, unlock func()) {
	n.fsys.moves.mu.RLock()
	p, ok = n.vaultPath()
	return p, ok, n.fsys.moves.mu.RUnlock
}
