package vaultstore

import (
	"bytes"
	"errors"
	"fmt"
	"slices"

	"github.com/go-git/go-git/v5/plumbing"
)

// Errors of commit verification. A refused commit is returned as a
// *RefusedError, which wraps ErrRefused and one of the reasons below.
var (
	ErrRefused = errors.New("commit refused")
	// ErrGrantsBehind: the commit was signed under grants entries this
	// holder lacks. Fetch the grants log, then try again.
	ErrGrantsBehind   = errors.New("signed under grants entries this holder lacks")
	ErrBadSignature   = errors.New("bad signature")
	ErrNotWriter      = errors.New("the author may not write to this vault")
	ErrAfterRevoke    = errors.New("signed by a writer after its write grant was revoked")
	ErrUnsigned       = errors.New("an unsigned commit the grants log does not vouch for")
	ErrBadMerge       = errors.New("the merge commit does not recompute")
	ErrFrontierAbsent = errors.New("a revocation's frontier commit is not here yet")
)

// RefusedError says which commit was refused and why.
type RefusedError struct {
	Commit Hash
	Author string // node ID text, as the commit names it
	Reason error
}

func (e *RefusedError) Error() string {
	return fmt.Sprintf("commit %s by %s refused: %v", e.Commit, e.Author, e.Reason)
}

// Unwrap lets errors.Is find ErrRefused and the reason.
func (e *RefusedError) Unwrap() []error { return []error{ErrRefused, e.Reason} }

// verifyNew checks commits not yet in our history, parents first, by the
// rules of docs/multi-writer.md, against the grants log view.
func (v *Vault) verifyNew(view grantsView, commits []plumbing.Hash) error {
	gens := make(map[plumbing.Hash]uint32, len(commits))
	for _, h := range commits {
		g, err := v.generation(h)
		if err != nil {
			return err
		}
		gens[h] = g
	}
	order := slices.Clone(commits)
	slices.SortFunc(order, func(a, b plumbing.Hash) int {
		if gens[a] != gens[b] {
			return int(gens[a]) - int(gens[b])
		}
		return bytes.Compare(a[:], b[:])
	})
	vouched, err := v.vouchedFor(view, gens)
	if err != nil {
		return err
	}
	for _, h := range order {
		if vouched[h] {
			continue
		}
		c, err := v.readCommit(h)
		if err != nil {
			if errors.Is(err, ErrBadCommit) {
				return &RefusedError{Commit: Hash(h), Author: "?", Reason: err}
			}
			return err
		}
		if reason := v.checkCommit(view, h, c); reason != nil {
			return &RefusedError{Commit: Hash(h), Author: c.author, Reason: reason}
		}
	}
	return nil
}

// vouchedFor returns the new commits reachable from the genesis base: the
// history from before the vault had a grants log, which the owner's
// signature on the genesis vouches for. (Commits of ours are not new, and
// our history holds all their ancestors: so the walk stays in the new
// commits.)
func (v *Vault) vouchedFor(view grantsView, isNew map[plumbing.Hash]uint32) (map[plumbing.Hash]bool, error) {
	out := map[plumbing.Hash]bool{}
	if view.len() == 0 || view.entries[0].Base.IsZero() {
		return out, nil
	}
	stack := []plumbing.Hash{view.entries[0].Base.git()}
	for len(stack) > 0 {
		h := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if _, ok := isNew[h]; !ok || out[h] {
			continue
		}
		out[h] = true
		c, err := v.readCommit(h)
		if err != nil {
			return nil, err
		}
		stack = append(stack, c.parents...)
	}
	return out, nil
}

// checkCommit returns why commit h may not be accepted, or nil.
func (v *Vault) checkCommit(view grantsView, h plumbing.Hash, c *commitObj) error {
	if len(c.parents) == maxParents {
		return v.checkMerge(h, c)
	}
	if !c.signed() {
		return ErrUnsigned
	}
	if err := c.checkSignature(); err != nil {
		return fmt.Errorf("%w: %v", ErrBadSignature, err)
	}
	s := int(c.grants)
	if s > view.len() {
		return fmt.Errorf("%w: signed at grants length %d, this holder has %d", ErrGrantsBehind, s, view.len())
	}
	author := c.authorID()
	if !view.can(author, s, ActionWrite) {
		return fmt.Errorf("%w: no write grant at grants length %d", ErrNotWriter, s)
	}
	return v.checkFrontier(view.revocationsAfter(author, s), h)
}

// checkFrontier accepts a commit signed by a writer whose write a later
// entry revoked only if a revocation's frontier holds it. The frontiers of
// all such entries count: a later revocation with a wider frontier is how
// the owner admits a commit that the first one left out.
func (v *Vault) checkFrontier(revokes []*GrantEntry, h plumbing.Hash) error {
	if len(revokes) == 0 {
		return nil
	}
	var tips []plumbing.Hash
	for _, r := range revokes {
		for _, f := range r.Frontier {
			if ok, err := v.objs.has(f.git()); err != nil {
				return err
			} else if !ok {
				return fmt.Errorf("%w: %s (grants entry %d)", ErrFrontierAbsent, f, r.Seq)
			}
			tips = append(tips, f.git())
		}
	}
	ok, err := v.isAncestor(h, tips)
	if err != nil {
		return err
	}
	if !ok {
		return fmt.Errorf("%w (grants entry %d)", ErrAfterRevoke, revokes[0].Seq)
	}
	return nil
}

// checkMerge accepts a merge commit only if merging its parents here gives
// exactly its bytes.
func (v *Vault) checkMerge(h plumbing.Hash, c *commitObj) error {
	if c.signed() {
		return fmt.Errorf("%w: a merge commit carries a signature", ErrBadMerge)
	}
	r, err := v.mergeCommits(c.parents[0], c.parents[1], nil)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrBadMerge, err)
	}
	if r.base == c.parents[0] || r.base == c.parents[1] {
		return fmt.Errorf("%w: one parent contains the other", ErrBadMerge)
	}
	if r.hash != h {
		return fmt.Errorf("%w: recomputed as %s", ErrBadMerge, r.hash)
	}
	return nil
}
