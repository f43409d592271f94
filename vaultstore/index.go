package vaultstore

import (
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/pkfs/pkfs/internal/kvstore"
)

// overlay holds trees written by a commit that is not in the store yet.
type overlay map[plumbing.Hash]*tree

func (v *Vault) treeOv(h plumbing.Hash, ov overlay) (*tree, error) {
	if t, ok := ov[h]; ok {
		return t, nil
	}
	return v.tree(h)
}

// diffEntry is one difference between two trees.
type diffEntry struct {
	path     string
	dir      bool
	oldHash  plumbing.Hash // zero when added
	newHash  plumbing.Hash // zero when deleted
	nsChange bool          // a directory whose names changed
}

// diffTrees walks two trees in step, descending only into subtrees whose
// hashes differ, so its cost is proportional to the change.
func (v *Vault) diffTrees(a, b plumbing.Hash, prefix string, out *[]diffEntry, ov overlay) error {
	if len(prefix) > MaxPathLen {
		return fmt.Errorf("%w: a path longer than %d bytes", ErrCorrupt, MaxPathLen)
	}
	if a == b {
		return nil
	}
	ta, tb := &tree{}, &tree{}
	var err error
	if !a.IsZero() {
		if ta, err = v.treeOv(a, ov); err != nil {
			return err
		}
	}
	if !b.IsZero() {
		if tb, err = v.treeOv(b, ov); err != nil {
			return err
		}
	}
	join := func(n string) string {
		if prefix == "" {
			return n
		}
		return prefix + "/" + n
	}
	// A merge of the two entry lists, both in git order: no lookups, no
	// allocation. An entry only in a was removed (or replaced by one of the
	// other kind), an entry only in b was added.
	ns := false
	var replacedDirs []string // directories of a already reported as replaced by a file
	for i, j := 0, 0; i < len(ta.entries) || j < len(tb.entries); {
		var ea, eb *treeEntry
		c := 1
		if i < len(ta.entries) {
			ea, c = &ta.entries[i], -1
		}
		if j < len(tb.entries) {
			eb = &tb.entries[j]
			if ea != nil {
				c = gitCompare(ea, eb)
			}
		}
		switch {
		case c == 0: // the same name and kind on both sides
			i, j = i+1, j+1
			switch {
			case ea.name == keepName:
			case ea.isDir():
				if err := v.diffTrees(ea.hash, eb.hash, join(ea.name), out, ov); err != nil {
					return err
				}
			case ea.hash != eb.hash || ea.mode != eb.mode:
				*out = append(*out, diffEntry{path: join(ea.name), oldHash: ea.hash, newHash: eb.hash})
			}
		case c < 0:
			i++
			if ea.name == keepName || (ea.isDir() && slices.Contains(replacedDirs, ea.name)) {
				continue
			}
			ns = true
			if err := v.diffSide(ea, join(ea.name), true, out, ov); err != nil {
				return err
			}
		default:
			j++
			if eb.name == keepName {
				continue
			}
			ns = true
			// A directory replaced by this file sorts after it (as name+"/"):
			// report its removal first, so that the index entry of the path
			// is deleted before the file's is written.
			if !eb.isDir() {
				if old, ok := ta.findKind(eb.name, filemode.Dir); ok {
					replacedDirs = append(replacedDirs, old.name)
					if err := v.diffSide(old, join(old.name), true, out, ov); err != nil {
						return err
					}
				}
			}
			if err := v.diffSide(eb, join(eb.name), false, out, ov); err != nil {
				return err
			}
		}
	}
	if ns {
		*out = append(*out, diffEntry{path: prefix, dir: true, oldHash: a, newHash: b, nsChange: true})
	}
	return nil
}

// diffSide records an entry present on one side only (old when deleted).
func (v *Vault) diffSide(e *treeEntry, p string, deleted bool, out *[]diffEntry, ov overlay) error {
	if e.mode == filemode.Dir {
		if deleted {
			if err := v.diffTrees(e.hash, plumbing.ZeroHash, p, out, ov); err != nil {
				return err
			}
			*out = append(*out, diffEntry{path: p, dir: true, oldHash: e.hash})
			return nil
		}
		if err := v.diffTrees(plumbing.ZeroHash, e.hash, p, out, ov); err != nil {
			return err
		}
		*out = append(*out, diffEntry{path: p, dir: true, newHash: e.hash})
		return nil
	}
	if deleted {
		*out = append(*out, diffEntry{path: p, oldHash: e.hash})
	} else {
		*out = append(*out, diffEntry{path: p, newHash: e.hash})
	}
	return nil
}

// indexChanges diffs the old and new root, adds the mtime index updates to
// bt and returns the changes for the event. A file that appears with the
// content of a file that disappeared in the same commit (a rename) keeps its
// mtime.
func (v *Vault) indexChanges(bt *kvstore.Batch, oldRoot, newRoot plumbing.Hash, when time.Time, ov overlay) ([]Change, error) {
	var ds []diffEntry
	if err := v.diffTrees(oldRoot, newRoot, "", &ds, ov); err != nil {
		return nil, err
	}
	moved := map[plumbing.Hash]time.Time{}
	for _, d := range ds {
		if !d.dir && d.newHash.IsZero() {
			if t, err := v.indexedMtime(d.path); err == nil {
				moved[d.oldHash] = t
			}
		}
	}
	changes := make([]Change, 0, len(ds))
	for _, d := range ds {
		changes = append(changes, Change{Path: d.path, Dir: d.dir})
		switch {
		case d.newHash.IsZero():
			bt.Delete(v.mtimes, []byte(d.path))
		case d.dir && !d.nsChange && !d.oldHash.IsZero():
		case !d.dir && d.oldHash.IsZero():
			t, ok := moved[d.newHash]
			if !ok {
				t = when
			}
			bt.Put(v.mtimes, []byte(d.path), encodeTime(t))
		default:
			bt.Put(v.mtimes, []byte(d.path), encodeTime(when))
		}
	}
	return changes, nil
}

func encodeTime(t time.Time) []byte { return binary.BigEndian.AppendUint64(nil, uint64(t.UnixNano())) }

// mtimeCache keeps recent mtime index entries in memory: a stat of a
// directory listing otherwise costs one store lookup per file. Readers load
// and fill it under the read lock; writers drop entries under the write lock
// after their store write, so a reader can never leave a stale entry behind.
type mtimeCache struct {
	mu sync.RWMutex
	c  *lru[string, time.Time]
}

func newMtimeCache() *mtimeCache { return &mtimeCache{c: newLRU[string, time.Time](65536)} }

// forget drops paths after the index changed them.
func (m *mtimeCache) forget(paths ...string) {
	m.mu.Lock()
	for _, p := range paths {
		m.c.remove(p)
	}
	m.mu.Unlock()
}

// indexedMtime returns the indexed mtime of path ("" is the root).
func (v *Vault) indexedMtime(path string) (time.Time, error) {
	v.mtc.mu.RLock()
	defer v.mtc.mu.RUnlock()
	if t, ok := v.mtc.c.get(path); ok {
		return t, nil
	}
	b, err := v.mtimes.Get([]byte(path))
	if err != nil {
		return time.Time{}, err
	}
	if len(b) != 8 {
		return time.Time{}, errors.New("bad mtime entry")
	}
	t := time.Unix(0, int64(binary.BigEndian.Uint64(b)))
	v.mtc.c.put(path, t)
	return t, nil
}

// Touch sets the mtime of path at HEAD without a commit (utimens, touch).
// The change survives the agent being killed; it is not versioned and does
// not replicate.
func (v *Vault) Touch(path string, t time.Time) error { return v.TouchFrom(path, t, "") }

// TouchFrom is Touch whose event carries origin (see CommitOptions.Origin).
func (v *Vault) TouchFrom(path string, t time.Time, origin string) error {
	parts, err := CleanPath(path)
	if err != nil {
		return err
	}
	// under the commit lock: a commit that removes the path between the
	// check and the write would leave an index entry for a missing path
	v.wmu.Lock()
	snap, err := v.Snapshot("")
	if err == nil {
		_, err = snap.Stat(JoinPath(parts))
	}
	if err == nil {
		err = v.mtimes.Put([]byte(JoinPath(parts)), encodeTime(t), false)
	}
	if err == nil {
		v.mtc.forget(JoinPath(parts))
	}
	v.wmu.Unlock()
	if err != nil {
		return err
	}
	v.s.events.publish(Event{Vault: v.id, Kind: EventTouched, Changes: []Change{{Path: JoinPath(parts)}}, Origin: origin})
	return nil
}
