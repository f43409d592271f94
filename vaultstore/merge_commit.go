package vaultstore

import (
	"bytes"
	"fmt"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/pkfs/pkfs/internal/kvstore"
)

// mergeResult is the merge of two commits, not yet stored: the same on
// every node that computes it.
type mergeResult struct {
	commit  *commitObj
	hash    plumbing.Hash
	encoded []byte
	m       *treeMerger
	base    plumbing.Hash // the base it merged against (zero: none)
}

// mergeCommits computes the merge commit of a and b (in either order):
// parents in ascending hash order, the base and the winner as
// docs/multi-writer.md says, author and time of the winner. bases are the
// best common ancestors of a and b when the caller has them (nil: computed
// here).
func (v *Vault) mergeCommits(a, b plumbing.Hash, bases []plumbing.Hash) (*mergeResult, error) {
	p1, p2 := a, b
	if bytes.Compare(p1[:], p2[:]) > 0 {
		p1, p2 = p2, p1
	}
	if bases == nil {
		pr, err := v.paint(p1, p2)
		if err != nil {
			return nil, err
		}
		bases = pr.bases
	}
	base, err := v.mergeBase(bases)
	if err != nil {
		return nil, err
	}
	c1, err := v.readCommit(p1)
	if err != nil {
		return nil, err
	}
	c2, err := v.readCommit(p2)
	if err != nil {
		return nil, err
	}
	baseTree := emptyTreeHash
	if !base.IsZero() {
		cb, err := v.readCommit(base)
		if err != nil {
			return nil, err
		}
		baseTree = cb.tree
	}
	// the later committer time wins; on a tie the greater hash, p2
	xWins := c1.committerAt > c2.committerAt
	winner := c2
	if xWins {
		winner = c1
	}
	m := &treeMerger{v: v, xWins: xWins, xTag: conflictTag(c1), yTag: conflictTag(c2),
		made: map[plumbing.Hash][]byte{}, decoded: overlay{}}
	root, err := m.merge(baseTree, c1.tree, c2.tree, 0)
	if err != nil {
		return nil, err
	}
	at := max(c1.committerAt, c2.committerAt)
	c := &commitObj{tree: root, parents: []plumbing.Hash{p1, p2}, author: winner.author, authorAt: at,
		committer: winner.author, committerAt: at, grants: -1,
		message: fmt.Sprintf("Merge %s into %s", p2, p1)}
	enc := c.encode()
	return &mergeResult{commit: c, hash: computeHash(plumbing.CommitObject, enc), encoded: enc, m: m, base: base}, nil
}

// addTo adds the merge's new trees, the placeholder blob if an empty
// directory needs it, and the commit to bt.
func (r *mergeResult) addTo(v *Vault, bt *kvstore.Batch) error {
	add := func(t plumbing.ObjectType, content []byte) error {
		p, err := v.objs.memObject(t, content)
		if err != nil {
			return err
		}
		p.addTo(v.objs, bt)
		return nil
	}
	for _, h := range r.m.reachable(r.commit.tree) {
		content := r.m.made[h]
		if ok, err := v.objs.has(h); err != nil {
			return err
		} else if !ok {
			if err := add(plumbing.TreeObject, content); err != nil {
				return err
			}
		}
	}
	if r.m.keep {
		if err := add(plumbing.BlobObject, nil); err != nil {
			return err
		}
	}
	if err := add(plumbing.CommitObject, r.encoded); err != nil {
		return err
	}
	v.mw.commits.put(r.hash, r.commit)
	return nil
}

// reachable returns the trees made by the merge that the merged root uses
// (a directory merged and then dropped, for example, is not).
func (m *treeMerger) reachable(root plumbing.Hash) []plumbing.Hash {
	var out []plumbing.Hash
	seen := map[plumbing.Hash]bool{}
	stack := []plumbing.Hash{root}
	for len(stack) > 0 {
		h := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		t, ok := m.decoded[h]
		if !ok || seen[h] {
			continue
		}
		seen[h] = true
		out = append(out, h)
		for _, e := range t.entries {
			if e.isDir() {
				stack = append(stack, e.hash)
			}
		}
	}
	return out
}
