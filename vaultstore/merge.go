package vaultstore

import (
	"fmt"
	"slices"
	"strings"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"
)

// treeMerger merges the trees of two commits, x (the first parent) and y,
// against a base, path by path (docs/multi-writer.md). It descends only
// into subtrees that differ, so its cost follows the change, not the
// vault. The trees it makes are kept in memory, for the caller to store or
// to compare.
type treeMerger struct {
	v       *Vault
	xWins   bool   // x's version keeps a path both sides changed
	xTag    string // conflict-copy tags: "<date>-<time>-<node7>" of each side's commit
	yTag    string
	made    map[plumbing.Hash][]byte // encoded trees made by the merge
	decoded overlay                  // the same, decoded
	keep    bool                     // an empty directory got the placeholder
}

// side is one of the two versions of an entry in a merge.
type side int

const (
	sideX side = iota
	sideY
)

// copyReq is a version that loses its name and becomes a conflict copy.
type copyReq struct {
	name string
	e    treeEntry
	tag  string
}

var keepBlobHash = computeHash(plumbing.BlobObject, nil)

// merge returns the hash of the merged tree of b, x and y (zero: absent or
// empty).
func (m *treeMerger) merge(b, x, y plumbing.Hash, depth int) (plumbing.Hash, error) {
	b, x, y = orEmpty(b), orEmpty(x), orEmpty(y)
	switch {
	case x == y, b == y:
		return x, nil
	case b == x:
		return y, nil
	case depth > MaxTreeDepth:
		return plumbing.ZeroHash, fmt.Errorf("%w: trees nested deeper than %d", ErrCorrupt, MaxTreeDepth)
	}
	tb, err := m.v.tree(b)
	if err != nil {
		return plumbing.ZeroHash, err
	}
	tx, err := m.v.tree(x)
	if err != nil {
		return plumbing.ZeroHash, err
	}
	ty, err := m.v.tree(y)
	if err != nil {
		return plumbing.ZeroHash, err
	}
	out := make(map[string]treeEntry, len(tx.entries)+len(ty.entries))
	var copies []copyReq
	nb, nx, ny := byName(tb), byName(tx), byName(ty)
	for len(nb)+len(nx)+len(ny) > 0 {
		name := firstName(nb, nx, ny)
		eb, ex, ey := take(&nb, name), take(&nx, name), take(&ny, name)
		e, cp, err := m.mergeEntry(name, eb, ex, ey, depth)
		if err != nil {
			return plumbing.ZeroHash, err
		}
		if e != nil {
			out[name] = *e
		}
		copies = append(copies, cp...)
	}
	for _, c := range copies {
		c.e.name = freeConflictName(c.name, c.tag, out)
		out[c.e.name] = c.e
	}
	return m.store(out, depth == 0)
}

// mergeEntry resolves one name of a directory: the entry that keeps it
// (nil: none), and the versions that become conflict copies.
func (m *treeMerger) mergeEntry(name string, eb, ex, ey *treeEntry, depth int) (*treeEntry, []copyReq, error) {
	switch {
	case sameEntry(ex, ey), sameEntry(eb, ey):
		return ex, nil, nil
	case sameEntry(eb, ex):
		return ey, nil, nil
	}
	xd, yd := ex != nil && ex.isDir(), ey != nil && ey.isDir()
	if !xd && !yd { // files (or links) changed on both sides, or edit against delete
		switch {
		case ex == nil:
			return ey, nil, nil
		case ey == nil:
			return ex, nil, nil
		}
		win, lose, tag := ex, ey, m.yTag
		if !m.xWins {
			win, lose, tag = ey, ex, m.xTag
		}
		if name == keepName {
			return win, nil, nil
		}
		return win, []copyReq{{name: name, e: *lose, tag: tag}}, nil
	}
	// At least one side is a directory: merge the directories, a side
	// without one counting as empty (it removed or replaced it).
	dirOf := func(e *treeEntry) plumbing.Hash {
		if e != nil && e.isDir() {
			return e.hash
		}
		return emptyTreeHash
	}
	sub, err := m.merge(dirOf(eb), dirOf(ex), dirOf(ey), depth+1)
	if err != nil {
		return nil, nil, err
	}
	var other *treeEntry // the file (or nothing) on the side without a directory
	otherTag := m.xTag
	if xd && yd {
		return &treeEntry{name: name, mode: filemode.Dir, hash: sub}, nil, nil
	} else if xd {
		other, otherTag = ey, m.yTag
	} else {
		other = ex
	}
	empty, err := m.isEmptyDir(sub)
	if err != nil {
		return nil, nil, err
	}
	if empty { // nothing of the directory is left: the other side's choice stands
		return other, nil, nil
	}
	dir := &treeEntry{name: name, mode: filemode.Dir, hash: sub}
	if other == nil {
		return dir, nil, nil
	}
	return dir, []copyReq{{name: name, e: *other, tag: otherTag}}, nil
}

// store encodes a merged directory (placeholder only when it is empty, as
// commits write them) and keeps it with the trees the merge made.
func (m *treeMerger) store(out map[string]treeEntry, isRoot bool) (plumbing.Hash, error) {
	if len(out) > 1 {
		delete(out, keepName)
	}
	if len(out) == 0 && !isRoot {
		out[keepName] = treeEntry{name: keepName, mode: filemode.Regular, hash: keepBlobHash}
		m.keep = true
	}
	es := make([]treeEntry, 0, len(out))
	for _, e := range out {
		es = append(es, e)
	}
	sortEntries(es)
	content := encodeTree(es)
	h := computeHash(plumbing.TreeObject, content)
	m.made[h] = content
	m.decoded[h] = newTree(es)
	return h, nil
}

func (m *treeMerger) isEmptyDir(h plumbing.Hash) (bool, error) {
	if h == emptyTreeHash {
		return true, nil
	}
	t, ok := m.decoded[h]
	if !ok {
		var err error
		if t, err = m.v.tree(h); err != nil {
			return false, err
		}
	}
	for _, e := range t.entries {
		if e.name != keepName {
			return false, nil
		}
	}
	return true, nil
}

func orEmpty(h plumbing.Hash) plumbing.Hash {
	if h.IsZero() {
		return emptyTreeHash
	}
	return h
}

func sameEntry(a, b *treeEntry) bool {
	if a == nil || b == nil {
		return a == b
	}
	return a.mode == b.mode && a.hash == b.hash
}

// byName returns the entries of t in order of their names (git's order
// puts a directory where its name with a '/' would be).
func byName(t *tree) []*treeEntry {
	out := make([]*treeEntry, len(t.entries))
	for i := range t.entries {
		out[i] = &t.entries[i]
	}
	slices.SortFunc(out, func(a, b *treeEntry) int { return strings.Compare(a.name, b.name) })
	return out
}

// firstName is the smallest name at the head of the three lists.
func firstName(lists ...[]*treeEntry) string {
	first, ok := "", false
	for _, l := range lists {
		if len(l) > 0 && (!ok || l[0].name < first) {
			first, ok = l[0].name, true
		}
	}
	return first
}

// take pops the head of l if it is named name.
func take(l *[]*treeEntry, name string) *treeEntry {
	if len(*l) == 0 || (*l)[0].name != name {
		return nil
	}
	e := (*l)[0]
	*l = (*l)[1:]
	return e
}
