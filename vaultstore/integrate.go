package vaultstore

import (
	"errors"
	"fmt"
	"slices"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/pkfs/pkfs/internal/kvstore"
)

// Outcome says what Integrate did with a remote head.
type Outcome int

// Outcomes of Integrate.
const (
	Contained   Outcome = iota // our history already holds it: nothing changed
	FastForward                // our head moved forward to it
	Merged                     // the histories had diverged: our head is their merge
)

func (o Outcome) String() string {
	return [...]string{"contained", "fast-forward", "merged"}[o]
}

// IntegrateResult is what Integrate did.
type IntegrateResult struct {
	Outcome Outcome
	Head    Hash // our head afterwards
	Commits int  // commits verified and accepted
}

// Integrate makes a remote head, whose objects are stored (see ReadPack),
// part of the vault: it verifies every commit not yet in our history
// (parents first, docs/multi-writer.md), then fast-forwards to it or
// merges it with our head, deterministically, so that every holder that
// merges the same two heads writes the same merge commit. The head moves
// in one batch with the mtime index and publishes a remote commit event
// with the changed paths. A refused commit leaves the head as it was and
// is returned as a *RefusedError (logged, and published as EventRefused);
// missing objects give ErrIncomplete; a vault without a grants log gives
// ErrNoGrants (fetch it first).
func (v *Vault) Integrate(remote Hash, sync bool) (IntegrateResult, error) {
	if err := v.checkUsable(); err != nil {
		return IntegrateResult{}, err
	}
	v.wmu.Lock()
	res, ev, err := v.integrate(remote.git(), sync)
	v.wmu.Unlock()
	if bad := (*badCommitError)(nil); errors.As(err, &bad) {
		err = &RefusedError{Commit: Hash(bad.h), Author: "?", Reason: bad.err}
	}
	if err != nil {
		if errors.Is(err, ErrRefused) {
			v.refuse(err)
		} else if errors.Is(err, ErrObjectNotFound) {
			err = fmt.Errorf("%w: %v", ErrIncomplete, err)
		}
		return IntegrateResult{Head: v.Head()}, err
	}
	if ev != nil {
		v.s.events.publish(*ev)
	}
	return res, nil
}

func (v *Vault) integrate(remote plumbing.Hash, sync bool) (IntegrateResult, *Event, error) {
	head := v.head.Load()
	res := IntegrateResult{Outcome: Contained, Head: Hash(head.commit)}
	if remote == head.commit || remote.IsZero() {
		return res, nil, nil // (a peer with an empty replica has nothing for us)
	}
	view, err := v.mw.grants.snapshot()
	if err != nil {
		return res, nil, err
	}
	if view.len() == 0 {
		return res, nil, fmt.Errorf("%w: %s", ErrNoGrants, v.Name())
	}
	fresh, bases, err := v.newCommits(head.commit, remote)
	if err != nil {
		return res, nil, err
	}
	if slices.Contains(bases, remote) {
		return res, nil, nil
	}
	if err := v.checkPresent(fresh); err != nil {
		return res, nil, err
	}
	if err := v.verifyNew(view, fresh); err != nil {
		return res, nil, err
	}
	res.Commits = len(fresh)
	var bt kvstore.Batch
	if head.commit.IsZero() || slices.Contains(bases, head.commit) {
		c, err := v.readCommit(remote)
		if err != nil {
			return res, nil, err
		}
		ev, err := v.moveHead(&bt, head, remote, c.tree, c.committerTime(), sync, true, nil, nil)
		if err == nil {
			res.Outcome, res.Head = FastForward, Hash(remote)
		}
		return res, ev, err
	}
	m, err := v.mergeCommits(head.commit, remote, bases)
	if err != nil {
		return res, nil, err
	}
	if err := m.addTo(v, &bt); err != nil {
		return res, nil, err
	}
	ev, err := v.moveHead(&bt, head, m.hash, m.commit.tree, m.commit.committerTime(), sync, true, m.m.decoded, nil)
	if err == nil {
		res.Outcome, res.Head = Merged, Hash(m.hash)
	}
	return res, ev, err
}

// newCommits returns the commits reachable from remote and not from head,
// and the best common ancestors of the two.
func (v *Vault) newCommits(head, remote plumbing.Hash) ([]plumbing.Hash, []plumbing.Hash, error) {
	if head.IsZero() {
		all, err := v.ancestry(remote)
		return all, nil, err
	}
	pr, err := v.paint(head, remote)
	if err != nil {
		return nil, nil, err
	}
	return pr.onlyB, pr.bases, nil
}

// ancestry returns remote and all its ancestors.
func (v *Vault) ancestry(remote plumbing.Hash) ([]plumbing.Hash, error) {
	seen := map[plumbing.Hash]bool{remote: true}
	out := []plumbing.Hash{remote}
	for i := 0; i < len(out); i++ {
		if i >= maxRevWalk {
			return nil, fmt.Errorf("history longer than %d commits", maxRevWalk)
		}
		c, err := v.readCommit(out[i])
		if err != nil {
			return nil, err
		}
		for _, p := range c.parents {
			if !seen[p] {
				seen[p] = true
				out = append(out, p)
			}
		}
	}
	return out, nil
}

// checkPresent makes sure that every object the new commits reference is
// stored: each commit's trees are read as it is diffed against its first
// parent (ours are complete; a new one is checked in its own turn), and the
// blobs it adds are looked up.
func (v *Vault) checkPresent(commits []plumbing.Hash) error {
	checked := map[plumbing.Hash]bool{}
	for _, h := range commits {
		c, err := v.readCommit(h)
		if err != nil {
			return err
		}
		parentTree := plumbing.ZeroHash
		if len(c.parents) > 0 {
			p, err := v.readCommit(c.parents[0])
			if err != nil {
				return err
			}
			parentTree = p.tree
		}
		var ds []diffEntry
		if err := v.diffTrees(parentTree, c.tree, "", &ds, nil); err != nil {
			return fmt.Errorf("%w: commit %s: %v", ErrIncomplete, h, err)
		}
		for _, d := range ds {
			if d.dir || d.newHash.IsZero() || checked[d.newHash] {
				continue
			}
			checked[d.newHash] = true
			if ok, err := v.objs.has(d.newHash); err != nil {
				return err
			} else if !ok {
				return fmt.Errorf("%w: object %s of commit %s", ErrIncomplete, d.newHash, h)
			}
		}
	}
	return nil
}
