package vaultstore

import (
	"errors"
	"fmt"
	"time"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/pkfs/pkfs/internal/kvstore"
)

// Errors of replication.
var (
	ErrNotDescendant = errors.New("history does not descend from ours")
	ErrIncomplete    = errors.New("objects are missing")
)

// MissingObjects lists the objects reachable from the head that a replica
// whose head is have lacks: the new commits and, for each, the trees and
// blobs that differ from its parent's. Its cost follows the change, not the
// vault. With a zero have (a clone) or a have this vault does not know, it
// lists everything reachable from the head.
func (v *Vault) MissingObjects(have Hash) ([]Hash, error) {
	out, err := v.missingObjects(have.git())
	return hashes(out), err
}

func (v *Vault) missingObjects(have plumbing.Hash) ([]plumbing.Hash, error) {
	head := v.headCommit()
	if head.IsZero() || head == have {
		return nil, nil
	}
	if !have.IsZero() {
		if ok, _ := v.objs.has(have); !ok {
			have = plumbing.ZeroHash
		}
	}
	seen := map[plumbing.Hash]bool{}
	var out []plumbing.Hash
	add := func(h plumbing.Hash) bool {
		if seen[h] {
			return false
		}
		seen[h] = true
		out = append(out, h)
		return true
	}
	commits, err := v.commitsSince(head, have)
	if err != nil {
		return nil, err
	}
	for _, c := range commits {
		add(c)
		cm, err := v.commit(c)
		if err != nil {
			return nil, err
		}
		parentTree := plumbing.ZeroHash
		if len(cm.ParentHashes) > 0 && !have.IsZero() {
			p, err := v.commit(cm.ParentHashes[0])
			if err != nil {
				return nil, err
			}
			parentTree = p.TreeHash
		}
		if err := v.newObjects(parentTree, cm.TreeHash, add); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// commitsSince returns the commits reachable from head but not from have
// (all of them when have is zero), walking parents breadth first.
func (v *Vault) commitsSince(head, have plumbing.Hash) ([]plumbing.Hash, error) {
	var out []plumbing.Hash
	seen := map[plumbing.Hash]bool{head: true}
	queue := []plumbing.Hash{head}
	for len(queue) > 0 {
		h := queue[0]
		queue = queue[1:]
		if h == have {
			continue
		}
		if len(out) >= maxRevWalk {
			return nil, fmt.Errorf("history longer than %d commits", maxRevWalk)
		}
		out = append(out, h)
		c, err := v.commit(h)
		if err != nil {
			return nil, err
		}
		for _, p := range c.ParentHashes {
			if !seen[p] {
				seen[p] = true
				queue = append(queue, p)
			}
		}
	}
	return out, nil
}

// newObjects calls add for every object of tree b that tree a does not
// have at the same place, descending only into differing subtrees.
func (v *Vault) newObjects(a, b plumbing.Hash, add func(plumbing.Hash) bool) error {
	return v.newObjectsAt(a, b, add, 0)
}

// MaxTreeDepth bounds how deep directories nest: a peer's pack of millions
// of nested trees must fail, not overflow the stack.
const MaxTreeDepth = MaxPathLen / 2

func (v *Vault) newObjectsAt(a, b plumbing.Hash, add func(plumbing.Hash) bool, depth int) error {
	if depth > MaxTreeDepth {
		return fmt.Errorf("%w: trees nested deeper than %d", ErrCorrupt, MaxTreeDepth)
	}
	if a == b {
		return nil
	}
	if !add(b) {
		// this subtree was already walked, against a tree whose objects
		// are listed or present: so are all of its own
		return nil
	}
	tb, err := v.tree(b)
	if err != nil {
		return err
	}
	ta := &tree{}
	if !a.IsZero() {
		if ta, err = v.tree(a); err != nil {
			return err
		}
	}
	for _, e := range tb.entries {
		old, ok := ta.find(e.name)
		if ok && old.hash == e.hash {
			continue
		}
		if e.isDir() {
			prev := plumbing.ZeroHash
			if ok && old.isDir() {
				prev = old.hash
			}
			if err := v.newObjectsAt(prev, e.hash, add, depth+1); err != nil {
				return err
			}
			continue
		}
		add(e.hash)
	}
	return nil
}

// FastForward moves the head of a replica to newHead, whose objects have
// been stored (see Storer). newHead must descend from the current head, and
// everything it references must be present; otherwise nothing changes. The
// move is one batch with the mtime index, and publishes a remote commit
// event.
func (v *Vault) FastForward(to Hash, sync bool) error {
	newHead := to.git()
	if err := v.checkUsable(); err != nil {
		return err
	}
	v.wmu.Lock()
	head := v.head.Load()
	if head.commit == newHead {
		v.wmu.Unlock()
		return nil
	}
	ev, err := v.fastForward(head, newHead, sync)
	v.wmu.Unlock()
	if err != nil {
		return err
	}
	v.s.events.publish(*ev)
	return nil
}

func (v *Vault) fastForward(head *headState, newHead plumbing.Hash, sync bool) (*Event, error) {
	c, err := v.commit(newHead)
	if err != nil {
		return nil, fmt.Errorf("%w: the new head: %v", ErrIncomplete, err)
	}
	commits, err := v.commitsSince(newHead, head.commit)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrIncomplete, err)
	}
	if !head.commit.IsZero() && !v.reaches(commits, head.commit) {
		return nil, fmt.Errorf("%w: %s does not contain our head %s", ErrNotDescendant, newHead, head.commit)
	}
	if err := v.checkComplete(commits, head.commit); err != nil {
		return nil, err
	}
	var bt kvstore.Batch
	when := c.Committer.When
	if when.IsZero() {
		when = time.Now()
	}
	return v.moveHead(&bt, head, newHead, c.TreeHash, when, sync, true, nil, nil)
}

// reaches reports whether one of the commits has old as a parent.
func (v *Vault) reaches(commits []plumbing.Hash, old plumbing.Hash) bool {
	for _, h := range commits {
		c, err := v.commit(h)
		if err != nil {
			return false
		}
		for _, p := range c.ParentHashes {
			if p == old {
				return true
			}
		}
	}
	return false
}

// checkComplete makes sure every object the new commits reference exists.
func (v *Vault) checkComplete(commits []plumbing.Hash, have plumbing.Hash) error {
	checked := map[plumbing.Hash]bool{}
	for _, h := range commits {
		c, err := v.commit(h)
		if err != nil {
			return fmt.Errorf("%w: commit %s", ErrIncomplete, h)
		}
		parentTree := plumbing.ZeroHash
		if len(c.ParentHashes) > 0 {
			if p, err := v.commit(c.ParentHashes[0]); err == nil {
				parentTree = p.TreeHash
			} else if c.ParentHashes[0] != have {
				return fmt.Errorf("%w: parent %s", ErrIncomplete, c.ParentHashes[0])
			}
		}
		var missing error
		err = v.newObjects(parentTree, c.TreeHash, func(o plumbing.Hash) bool {
			if checked[o] {
				return false
			}
			checked[o] = true
			if ok, err := v.objs.has(o); err != nil || !ok {
				missing = fmt.Errorf("%w: object %s", ErrIncomplete, o)
			}
			return true
		})
		if missing != nil {
			return missing
		}
		if err != nil {
			return fmt.Errorf("%w: %v", ErrIncomplete, err)
		}
	}
	return nil
}

// CountSince returns how many commits lie between from (exclusive) and the
// head, or -1 when from is not in the head's history.
func (v *Vault) CountSince(since Hash) int {
	from := since.git()
	cs, err := v.commitsSince(v.headCommit(), from)
	if err != nil {
		return -1
	}
	if !from.IsZero() && !v.reaches(cs, from) && v.headCommit() != from {
		return -1
	}
	return len(cs)
}
