package vaultstore

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/pkfs/pkfs/keyring"
)

// ErrNotOwner is returned when a node that does not own a vault tries to
// change its grants.
var ErrNotOwner = errors.New("only the vault's owner changes its grants")

// Grant gives node the actions (replacing what it had), as a new entry of
// the grants log signed by this node, the owner.
func (v *Vault) Grant(node keyring.NodeID, actions ...Action) error {
	as, err := sortActions(actions)
	if err != nil {
		return err
	}
	return v.ownerAppend(func(view grantsView) (*GrantEntry, error) {
		return &GrantEntry{Op: OpGrant, Node: node, Actions: as}, nil
	})
}

// Revoke takes actions away from node. A revocation of write records the
// current head as its frontier: the node's commits in it stay valid, any
// other commit it signed before seeing the revocation is refused.
func (v *Vault) Revoke(node keyring.NodeID, actions ...Action) error {
	as, err := sortActions(actions)
	if err != nil {
		return err
	}
	return v.ownerAppend(func(view grantsView) (*GrantEntry, error) {
		e := &GrantEntry{Op: OpRevoke, Node: node, Actions: as, Frontier: []Hash{}}
		if slices.Contains(as, ActionWrite) {
			h := v.headCommit() // under the commit lock: no commit or merge races
			if h.IsZero() {
				return nil, fmt.Errorf("%w: the vault has no head to revoke write at", ErrRevision)
			}
			e.Frontier = []Hash{Hash(h)}
		}
		return e, nil
	})
}

// ExtendFrontier admits commits a revoked writer made before it heard of
// its revocation, which other holders accepted in the meantime (their
// histories are refused while those commits are outside every frontier):
// a new revocation of node's write whose frontier is heads and our own
// head. The heads must be stored here (fetched from those holders). It is
// the owner's explicit choice, never automatic.
func (v *Vault) ExtendFrontier(node keyring.NodeID, heads ...Hash) error {
	return v.ownerAppend(func(view grantsView) (*GrantEntry, error) {
		f := append([]Hash{Hash(v.headCommit())}, heads...)
		for _, h := range f {
			if t, err := v.ObjectType(h); err != nil || t != CommitObject {
				return nil, fmt.Errorf("%w: frontier %s is not a commit stored here", ErrRevision, h)
			}
		}
		slices.SortFunc(f, func(a, b Hash) int { return bytes.Compare(a[:], b[:]) })
		f = slices.Compact(f)
		if len(f) > maxFrontier {
			return nil, fmt.Errorf("a frontier of at most %d heads", maxFrontier)
		}
		return &GrantEntry{Op: OpRevoke, Node: node, Actions: []Action{ActionWrite}, Frontier: f}, nil
	})
}

// UpgradeGrants starts the grants log of a vault of ours made before
// grants existed: a genesis that vouches for the current head (its
// unsigned history), then a grant for each node of readers with the
// actions given (the caller's local permissions), in node ID order. It
// does nothing (and returns false) for a vault that has a log, or that is
// not ours.
func (v *Vault) UpgradeGrants(readers map[keyring.NodeID][]Action) (bool, error) {
	if err := v.checkUsable(); err != nil {
		return false, err
	}
	if v.Info().Origin != "" {
		return false, nil
	}
	v.wmu.Lock()
	defer v.wmu.Unlock()
	view, err := v.mw.grants.snapshot()
	if err != nil || view.len() > 0 {
		return false, err
	}
	ids := make([]keyring.NodeID, 0, len(readers))
	for id := range readers {
		if id != v.s.nodeID {
			ids = append(ids, id)
		}
	}
	slices.SortFunc(ids, func(a, b keyring.NodeID) int { return bytes.Compare(a[:], b[:]) })
	entries := []*GrantEntry{{Op: OpGenesis, Owner: v.s.nodeID, Base: Hash(v.headCommit())}}
	for _, id := range ids {
		as, err := sortActions(readers[id])
		if err != nil {
			return false, err
		}
		entries = append(entries, &GrantEntry{Op: OpGrant, Node: id, Actions: as})
	}
	if err := v.signAndAppend(view, entries); err != nil {
		return false, err
	}
	return true, nil
}

// startGrants writes the genesis of a new vault of ours.
func (v *Vault) startGrants() error {
	view, err := v.mw.grants.snapshot()
	if err != nil || view.len() > 0 {
		return err
	}
	return v.signAndAppend(view, []*GrantEntry{{Op: OpGenesis, Owner: v.s.nodeID}})
}

// ownerAppend appends the entry that mk makes from the current log, under
// the commit lock (one change of the log at a time, none during a merge).
func (v *Vault) ownerAppend(mk func(grantsView) (*GrantEntry, error)) error {
	if err := v.checkUsable(); err != nil {
		return err
	}
	v.wmu.Lock()
	defer v.wmu.Unlock()
	view, err := v.mw.grants.snapshot()
	if err != nil {
		return err
	}
	if owner, ok := view.owner(); !ok || owner != v.s.nodeID {
		return fmt.Errorf("%w: %s", ErrNotOwner, v.Name())
	}
	e, err := mk(view)
	if err != nil {
		return err
	}
	return v.signAndAppend(view, []*GrantEntry{e})
}

// signAndAppend fills in the chaining fields of entries, signs them as the
// owner, and appends them in one batch (checked as any holder checks them).
func (v *Vault) signAndAppend(view grantsView, entries []*GrantEntry) error {
	raws := make([][]byte, len(entries))
	prevRaw, prevTime := []byte(nil), time.Time{}
	if n := view.len(); n > 0 {
		prevRaw, prevTime = view.raw[n-1], view.entries[n-1].Time
	}
	now := v.s.now().UTC().Truncate(time.Second)
	if now.Before(prevTime) {
		now = prevTime // a clock set back must not break the log's order
	}
	for i, e := range entries {
		e.Vault, e.Seq, e.Time = v.id, view.len()+i, now
		if prevRaw != nil {
			e.Prev = entryHash(prevRaw)
		}
		p := e.payload()
		sig, err := v.s.signer.Sign(signedGrantBytes(p))
		if err != nil {
			return fmt.Errorf("signing the grants entry: %w", err)
		}
		raws[i] = append(p, sig...)
		prevRaw = raws[i]
	}
	_, err := v.mw.grants.appendEntries(v.s.db, v.id, raws, nil)
	return err
}

// sortActions returns actions in canonical order, refusing unknown ones
// and an empty list.
func sortActions(as []Action) ([]Action, error) {
	var out []Action
	for _, a := range allActions {
		if slices.Contains(as, a) {
			out = append(out, a)
		}
	}
	for _, a := range as {
		if !slices.Contains(allActions, a) {
			return nil, fmt.Errorf("unknown vault action %q", a)
		}
	}
	if len(out) == 0 {
		return nil, errors.New("no vault action given")
	}
	return out, nil
}
