package vaultstore

import (
	"bytes"
	"cmp"
	"fmt"
	"slices"
	"strconv"
	"strings"

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
}

// emptyTreeHash is the hash of the tree with no entries.
var emptyTreeHash = plumbing.ComputeHash(plumbing.TreeObject, nil)

// find returns the entry named name: a binary search in git order, where a
// directory sorts as name+"/" and anything else as name.
func (t *tree) find(name string) (*treeEntry, bool) {
	if len(t.entries) <= 8 {
		for i := range t.entries {
			if t.entries[i].name == name {
				return &t.entries[i], true
			}
		}
		return nil, false
	}
	if e, ok := t.findKind(name, filemode.Regular); ok {
		return e, true
	}
	return t.findKind(name, filemode.Dir)
}

// findKind returns the directory named name (mode filemode.Dir), or the
// entry of any other kind named name (any other mode).
func (t *tree) findKind(name string, mode filemode.FileMode) (*treeEntry, bool) {
	key := treeEntry{name: name, mode: mode}
	if i, ok := slices.BinarySearchFunc(t.entries, &key, compareEntry); ok && t.entries[i].name == name {
		return &t.entries[i], true // (a name with '/' could equal a directory's key)
	}
	return nil, false
}

func compareEntry(e treeEntry, key *treeEntry) int { return gitCompare(&e, key) }

// gitCompare orders entries as git does: a directory sorts as if its name
// ended with '/'. It allocates nothing: commits sort every tree they write.
func gitCompare(a, b *treeEntry) int {
	n := min(len(a.name), len(b.name))
	if c := strings.Compare(a.name[:n], b.name[:n]); c != 0 {
		return c
	}
	return cmp.Compare(nameByteAt(a, n), nameByteAt(b, n))
}

// nameByteAt is byte i of the entry's name, '/' just past the end of a
// directory's name, -1 past the end of another name.
func nameByteAt(e *treeEntry, i int) int {
	switch {
	case i < len(e.name):
		return int(e.name[i])
	case e.isDir():
		return '/'
	}
	return -1
}

func gitLess(a, b *treeEntry) bool { return gitCompare(a, b) < 0 }

func sortEntries(es []treeEntry) {
	slices.SortFunc(es, func(a, b treeEntry) int { return gitCompare(&a, &b) })
}

// newTree returns the decoded form of entries already in git order (and
// checked, or written by us).
func newTree(es []treeEntry) *tree { return &tree{entries: es} }

// encodeTree encodes entries (sorted here if they are not) in git's tree
// format.
func encodeTree(es []treeEntry) []byte {
	if !slices.IsSortedFunc(es, func(a, b treeEntry) int { return gitCompare(&a, &b) }) {
		sortEntries(es)
	}
	n := 0
	for i := range es {
		n += len(es[i].name) + 28 // mode, space, NUL, hash
	}
	b := make([]byte, 0, n)
	for _, e := range es {
		b = strconv.AppendUint(b, uint64(e.mode), 8)
		b = append(b, ' ')
		b = append(b, e.name...)
		b = append(b, 0)
		b = append(b, e.hash[:]...)
	}
	return b
}

// canonicalModes are the modes of the entries a vault holds, spelled as
// git writes them (no zero padding). Gitlinks (160000, submodules) are
// refused: a vault has no submodules and the mount could not show one.
var canonicalModes = map[string]filemode.FileMode{
	"40000":  filemode.Dir,
	"100644": filemode.Regular,
	"100755": filemode.Executable,
	"120000": filemode.Symlink,
}

// decodeTree parses a git tree, accepting only the canonical encoding that
// encodeTree writes: known modes spelled as git spells them, names of 1 to
// 255 bytes without '/' or NUL and not "." or "..", entries strictly in git
// order, no name twice (not even a file and a directory). So a decoded
// tree encodes back to the same bytes, and a peer cannot make two
// encodings of one directory.
func decodeTree(b []byte) (*tree, error) {
	t := &tree{}
	for len(b) > 0 {
		sp := bytes.IndexByte(b, ' ')
		if sp <= 0 || sp > 6 {
			return nil, fmt.Errorf("%w: tree entry mode", ErrCorrupt)
		}
		mode, ok := canonicalModes[string(b[:sp])]
		if !ok {
			return nil, fmt.Errorf("%w: tree entry mode %q", ErrCorrupt, b[:sp])
		}
		b = b[sp+1:]
		nul := bytes.IndexByte(b, 0)
		if nul <= 0 || len(b) < nul+1+20 {
			return nil, fmt.Errorf("%w: tree entry name", ErrCorrupt)
		}
		name := string(b[:nul])
		if name == "." || name == ".." || nul > 255 || bytes.IndexByte(b[:nul], '/') >= 0 {
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
	// Strict git order rules out two files or two directories of one name,
	// not a file and a directory: look for the file of each directory.
	for i := range t.entries {
		if e := &t.entries[i]; e.isDir() {
			key := treeEntry{name: e.name, mode: filemode.Regular}
			if _, ok := slices.BinarySearchFunc(t.entries, &key, compareEntry); ok {
				return nil, fmt.Errorf("%w: duplicate tree entry", ErrCorrupt)
			}
		}
	}
	return t, nil
}
