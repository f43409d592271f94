package vaultstore

import (
	"bytes"
	"errors"
	"fmt"
	"slices"

	"github.com/pkfs/pkfs/keyring"
)

// ErrNoGrants is returned for a vault that has no grants log yet (a
// replica that has not fetched it, or a vault of ours not yet upgraded).
var ErrNoGrants = errors.New("the vault has no grants log")

// AppendGrants adds grants entries from a peer (see GrantsSince) after
// checking each as the continuation of the log (docs/multi-writer.md).
// Entries the log has already, byte for byte, are skipped; one bad entry
// stores none, is logged, and is returned as an error wrapping ErrGrants.
// A genesis is accepted by a new clone (the owner is pinned on first
// contact), by a replica only if it names the node the replica follows as
// owner, and by a vault of ours only if it names us.
func (v *Vault) AppendGrants(entries [][]byte) (int, error) {
	if err := v.checkUsable(); err != nil {
		return 0, err
	}
	v.wmu.Lock() // no verification runs against a log about to change
	n, err := v.mw.grants.appendEntries(v.s.db, v.id, entries, v.acceptGenesis)
	v.wmu.Unlock()
	if err != nil {
		v.refuse(err)
	}
	return n, err
}

func (v *Vault) acceptGenesis(_ grantsView, e *GrantEntry) error {
	if e.Op != OpGenesis {
		return nil
	}
	info := v.Info()
	switch {
	case info.Origin == "" && e.Owner != v.s.nodeID:
		return fmt.Errorf("%w: a genesis naming another owner for a vault of ours", ErrGrants)
	case info.Origin == "", v.headCommit().IsZero():
		return nil
	case e.Owner.String() != info.Origin:
		return fmt.Errorf("%w: the genesis does not name the node this replica follows as owner", ErrGrants)
	}
	return nil
}

// GrantsLen returns the length of the grants log.
func (v *Vault) GrantsLen() (int, error) {
	view, err := v.mw.grants.snapshot()
	return view.len(), err
}

// GrantsSince returns the stored entries from sequence number n on, for a
// peer whose log has n entries.
func (v *Vault) GrantsSince(n int) ([][]byte, error) {
	view, err := v.mw.grants.snapshot()
	if err != nil || n >= view.len() {
		return nil, err
	}
	out := make([][]byte, 0, view.len()-max(n, 0))
	for _, raw := range view.raw[max(n, 0):] {
		out = append(out, bytes.Clone(raw))
	}
	return out, nil
}

// Grants returns the decoded grants log.
func (v *Vault) Grants() ([]GrantEntry, error) {
	view, err := v.mw.grants.snapshot()
	if err != nil {
		return nil, err
	}
	out := make([]GrantEntry, view.len())
	for i, e := range view.entries {
		out[i] = *e
		out[i].Actions, out[i].Frontier = slices.Clone(e.Actions), slices.Clone(e.Frontier)
	}
	return out, nil
}

// Owner returns the vault's owner, as its grants log names it.
func (v *Vault) Owner() (keyring.NodeID, error) {
	view, err := v.mw.grants.snapshot()
	if err != nil {
		return keyring.NodeID{}, err
	}
	o, ok := view.owner()
	if !ok {
		return o, ErrNoGrants
	}
	return o, nil
}

// Permissions returns what node may do with the vault now.
func (v *Vault) Permissions(node keyring.NodeID) ([]Action, error) {
	view, err := v.mw.grants.snapshot()
	if err != nil {
		return nil, err
	}
	if view.len() == 0 {
		return nil, ErrNoGrants
	}
	return view.actionsAt(node, view.len()), nil
}

// Holders returns the owner and every node the log lets do anything now,
// in node ID order: the nodes that replicate the vault with each other.
func (v *Vault) Holders() ([]keyring.NodeID, error) {
	view, err := v.mw.grants.snapshot()
	if err != nil {
		return nil, err
	}
	var out []keyring.NodeID
	for _, e := range view.entries {
		id := e.Node
		if e.Op == OpGenesis {
			id = e.Owner
		}
		if !slices.Contains(out, id) && len(view.actionsAt(id, view.len())) > 0 {
			out = append(out, id)
		}
	}
	slices.SortFunc(out, func(a, b keyring.NodeID) int { return bytes.Compare(a[:], b[:]) })
	return out, nil
}

// canWrite reports whether this node may commit at the current grants
// state: always for a vault of ours or its owner, else with a write grant.
func (v *Vault) canWrite() bool {
	if v.Info().Origin == "" {
		return true
	}
	view, err := v.mw.grants.snapshot()
	return err == nil && view.can(v.s.nodeID, view.len(), ActionWrite)
}
