package fs

import (
	"context"
	"path"
	"strings"
	"sync"
	"syscall"

	gofs "github.com/hanwen/go-fuse/v2/fs"
	"github.com/pkfs/pkfs/vaultstore"
)

// pendingFiles keeps the files that exist only in the mount's memory (made
// by creat(2) and not committed yet, or editors' scratch files) by vault
// and path. The kernel may forget an inode it no longer needs; the file
// must not go with it, so a later lookup finds it here and gets a new inode
// over the same content.
type pendingFiles struct {
	mu sync.Mutex
	m  map[pendingKey]*fileState
}

type pendingKey struct {
	vault vaultstore.VaultID
	path  string
}

func (p *pendingFiles) add(v vaultstore.VaultID, pth string, st *fileState) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.m == nil {
		p.m = map[pendingKey]*fileState{}
	}
	p.m[pendingKey{v, pth}] = st
}

// drop forgets the file at pth if it is still st.
func (p *pendingFiles) drop(v vaultstore.VaultID, pth string, st *fileState) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.m[pendingKey{v, pth}] == st {
		delete(p.m, pendingKey{v, pth})
	}
}

// dropState forgets st wherever it is (its node lost its path).
func (p *pendingFiles) dropState(st *fileState) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for k, s := range p.m {
		if s == st {
			delete(p.m, k)
		}
	}
}

func (p *pendingFiles) move(v vaultstore.VaultID, from, to string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if st, ok := p.m[pendingKey{v, from}]; ok {
		delete(p.m, pendingKey{v, from})
		p.m[pendingKey{v, to}] = st
	}
}

// moveDir moves the files under directory from to directory to (the
// directory was renamed).
func (p *pendingFiles) moveDir(v vaultstore.VaultID, from, to string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for k, st := range p.m {
		if k.vault == v && strings.HasPrefix(k.path, from+"/") {
			delete(p.m, k)
			p.m[pendingKey{v, to + k.path[len(from):]}] = st
		}
	}
}

// under reports whether a pending file lives under directory dir.
func (p *pendingFiles) under(v vaultstore.VaultID, dir string) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	for k := range p.m {
		if k.vault == v && strings.HasPrefix(k.path, dir+"/") {
			return true
		}
	}
	return false
}

func (p *pendingFiles) at(v vaultstore.VaultID, pth string) *fileState {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.m[pendingKey{v, pth}]
}

// in returns the names of the pending files directly in dir.
func (p *pendingFiles) in(v vaultstore.VaultID, dir string) []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []string
	for k := range p.m {
		if k.vault == v {
			if d := path.Dir(k.path); d == dir || (dir == "" && d == ".") {
				out = append(out, path.Base(k.path))
			}
		}
	}
	return out
}

// adoptPending returns an inode for the pending file at p, making a new
// one over its state when the kernel forgot the old one.
func (n *node) adoptPending(ctx context.Context, name, p string) *gofs.Inode {
	if ch := n.GetChild(name); ch != nil {
		if cn, ok := ch.Operations().(*node); ok && cn.pendingCreate() {
			return ch
		}
	}
	st := n.fsys.pending.at(n.vault, p)
	if st == nil {
		return nil
	}
	ino, g := n.fsys.vaultIno(n.vault, p)
	cn := &node{fsys: n.fsys, vault: n.vault, st: st}
	ch := n.NewInode(ctx, cn, gofs.StableAttr{Mode: syscall.S_IFREG, Ino: ino, Gen: g})
	if got, ok := ch.Operations().(*node); !ok || got.st != st {
		return nil
	}
	return ch
}
