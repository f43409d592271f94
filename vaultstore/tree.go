package vaultstore

import (
	"bytes"
	"fmt"
	"sort"
	"strconv"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"
)

// treeEntry is one entry of a git tree.
type treeEntry struct {
	name string
	mode filemode.FileMode
	hash plumbing.Hash
}

func (e *treeEntry) isDir() bool { return e.mode == filemode.Dir }

// tree is a decoded git tree. Decoded trees are immutable and shared through
// the cache.
type tree struct {
	entries []treeEntry // git order
	index   map[string]int
}

// emptyTreeHash is the hash of the tree with no entries.
var emptyTreeHash = plumbing.ComputeHash(plumbing.TreeObject, nil)

func (t *tree) find(name string) (*treeEntry, bool) {
	if t.index != nil {
		i, ok := t.index[name]
		if !ok {
			return nil, false
		}
		return &t.entries[i], true
	}
	for i := range t.entries {
		if t.entries[i].name == name {
			return &t.entries[i], true
		}
	}
	return nil, false
}

// gitLess orders entries as git does: a directory sorts as if its name ended
// with '/'.
func gitLess(a, b *treeEntry) bool {
	an, bn := a.name, b.name
	if a.isDir() {
		an += "/"
	}
	if b.isDir() {
		bn += "/"
	}
	return an < bn
}

func sortEntries(es []treeEntry) {
	sort.Slice(es, func(i, j int) bool { return gitLess(&es[i], &es[j]) })
}

// encodeTree encodes entries (sorted here) in git's tree format.
func encodeTree(es []treeEntry) []byte {
	sortEntries(es)
	var b bytes.Buffer
	for _, e := range es {
		b.WriteString(strconv.FormatUint(uint64(e.mode), 8))
		b.WriteByte(' ')
		b.WriteString(e.name)
		b.WriteByte(0)
		b.Write(e.hash[:])
	}
	return b.Bytes()
}

// decodeTree parses a git tree, refusing anything a vault cannot hold:
// unknown modes, empty or path-like names, duplicates, bad order.
func decodeTree(b []byte) (*tree, error) {
	t := &tree{}
	for len(b) > 0 {
		sp := bytes.IndexByte(b, ' ')
		if sp <= 0 || sp > 7 {
			return nil, fmt.Errorf("%w: tree entry mode", ErrCorrupt)
		}
		m, err := strconv.ParseUint(string(b[:sp]), 8, 32)
		if err != nil {
			return nil, fmt.Errorf("%w: tree entry mode", ErrCorrupt)
		}
		mode := filemode.FileMode(m)
		switch mode {
		case filemode.Dir, filemode.Regular, filemode.Executable, filemode.Symlink:
		case filemode.Deprecated:
			mode = filemode.Regular
		default:
			return nil, fmt.Errorf("%w: tree entry mode %o", ErrCorrupt, m)
		}
		b = b[sp+1:]
		nul := bytes.IndexByte(b, 0)
		if nul <= 0 || len(b) < nul+1+20 {
			return nil, fmt.Errorf("%w: tree entry name", ErrCorrupt)
		}
		name := string(b[:nul])
		if name == "." || name == ".." || bytes.IndexByte(b[:nul], '/') >= 0 {
			return nil, fmt.Errorf("%w: tree entry name", ErrCorrupt)
		}
		var h plumbing.Hash
		copy(h[:], b[nul+1:nul+21])
		b = b[nul+21:]
		e := treeEntry{name: name, mode: mode, hash: h}
		if n := len(t.entries); n > 0 && !gitLess(&t.entries[n-1], &e) {
			return nil, fmt.Errorf("%w: tree entries out of order", ErrCorrupt)
		}
		t.entries = append(t.entries, e)
	}
	if len(t.entries) > 16 {
		t.index = make(map[string]int, len(t.entries))
		for i, e := range t.entries {
			if _, dup := t.index[e.name]; dup {
				return nil, fmt.Errorf("%w: duplicate tree entry", ErrCorrupt)
			}
			t.index[e.name] = i
		}
	} else {
		for i := 1; i < len(t.entries); i++ {
			for j := 0; j < i; j++ {
				if t.entries[i].name == t.entries[j].name {
					return nil, fmt.Errorf("%w: duplicate tree entry", ErrCorrupt)
				}
			}
		}
	}
	return t, nil
}
