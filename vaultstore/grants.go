package vaultstore

import (
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"sync"

	"github.com/pkfs/pkfs/internal/kvstore"
	"github.com/pkfs/pkfs/keyring"
)

// ErrGrants is wrapped by the errors of grants entries a vault refuses:
// forged, out of order, replayed, of another vault or another owner.
var ErrGrants = errors.New("grants entry refused")

// grantsLog is a vault's grants log: entries 0…n-1, stored in the vault's
// grants bucket under their sequence number, and kept decoded in memory
// (a log holds one entry per grant or revocation: it stays small).
type grantsLog struct {
	bucket *kvstore.Bucket
	mu     sync.RWMutex
	loaded bool
	view   grantsView
}

// grantsView is the log at one length: what a verification reads while
// the log may grow.
type grantsView struct {
	entries []*GrantEntry
	raw     [][]byte
}

func seqKey(seq int) []byte { return binary.BigEndian.AppendUint64(nil, uint64(seq)) }

// snapshot returns the log as it is now, loading it on first use.
func (g *grantsLog) snapshot() (grantsView, error) {
	g.mu.RLock()
	if g.loaded {
		defer g.mu.RUnlock()
		return g.view, nil
	}
	g.mu.RUnlock()
	g.mu.Lock()
	defer g.mu.Unlock()
	if err := g.loadLocked(); err != nil {
		return grantsView{}, err
	}
	return g.view, nil
}

// loadLocked reads and rechecks the stored log: damage is an error, never
// a different set of permissions.
func (g *grantsLog) loadLocked() error {
	if g.loaded {
		return nil
	}
	var view grantsView
	for seq := 0; ; seq++ {
		raw, err := g.bucket.Get(seqKey(seq))
		if errors.Is(err, kvstore.ErrNotFound) {
			break
		}
		if err != nil {
			return fmt.Errorf("%w: grants entry %d: %v", ErrCorrupt, seq, err)
		}
		e, err := view.check(raw)
		if err != nil {
			return fmt.Errorf("%w: stored grants entry %d: %v", ErrCorrupt, seq, err)
		}
		view = view.with(e, raw)
	}
	g.view, g.loaded = view, true
	return nil
}

// with returns the view with one more entry (the backing arrays are only
// ever appended to, so older views stay valid).
func (gv grantsView) with(e *GrantEntry, raw []byte) grantsView {
	return grantsView{entries: append(gv.entries, e), raw: append(gv.raw, raw)}
}

func (gv grantsView) len() int { return len(gv.entries) }

// owner returns the owner named by entry 0.
func (gv grantsView) owner() (keyring.NodeID, bool) {
	if len(gv.entries) == 0 {
		return keyring.NodeID{}, false
	}
	return gv.entries[0].Owner, true
}

// check decodes raw and checks it as the next entry of the log: next
// sequence number, prev chaining, time order, signature by the owner of
// entry 0 (entry 0: by the owner it names), canonical form, one genesis.
// The vault ID is checked by the caller, which knows it.
func (gv grantsView) check(raw []byte) (*GrantEntry, error) {
	e, sig, err := decodeGrantEntry(raw)
	if err != nil {
		return nil, err
	}
	n := len(gv.entries)
	if e.Seq != n {
		return nil, fmt.Errorf("%w: entry %d where entry %d is next", ErrGrants, e.Seq, n)
	}
	signer := e.Owner
	if n == 0 {
		if e.Op != OpGenesis {
			return nil, fmt.Errorf("%w: the first entry is not a genesis", ErrGrants)
		}
	} else {
		prev := gv.entries[n-1]
		switch {
		case e.Op == OpGenesis:
			return nil, fmt.Errorf("%w: a second genesis", ErrGrants)
		case e.Prev != entryHash(gv.raw[n-1]):
			return nil, fmt.Errorf("%w: entry %d does not chain to entry %d", ErrGrants, n, n-1)
		case e.Time.Before(prev.Time):
			return nil, fmt.Errorf("%w: entry %d is older than entry %d", ErrGrants, n, n-1)
		case e.Node == gv.entries[0].Owner:
			return nil, fmt.Errorf("%w: entry %d names the owner", ErrGrants, n)
		case e.Vault != gv.entries[0].Vault:
			return nil, fmt.Errorf("%w: entry %d is of another vault", ErrGrants, n)
		}
		signer = gv.entries[0].Owner
	}
	if err := keyring.Verify(signer, signedGrantBytes(raw[:len(raw)-signatureSize]), sig); err != nil {
		return nil, fmt.Errorf("%w: entry %d is not signed by the vault's owner", ErrGrants, n)
	}
	return e, nil
}

// actionsAt returns what node may do at log length s: what entries
// 0…s-1 give (the owner may do everything).
func (gv grantsView) actionsAt(node keyring.NodeID, s int) []Action {
	if s > len(gv.entries) {
		s = len(gv.entries)
	}
	if s == 0 {
		return nil
	}
	if node == gv.entries[0].Owner {
		return slices.Clone(allActions)
	}
	var have []Action
	for _, e := range gv.entries[1:s] {
		if e.Node != node {
			continue
		}
		switch e.Op {
		case OpGrant:
			have = slices.Clone(e.Actions)
		case OpRevoke:
			have = slices.DeleteFunc(have, func(a Action) bool { return slices.Contains(e.Actions, a) })
		}
	}
	return have
}

func (gv grantsView) can(node keyring.NodeID, s int, a Action) bool {
	return slices.Contains(gv.actionsAt(node, s), a)
}

// revocationsAfter returns the entries from s on that revoke node's write:
// commits node signed at log length s must lie in each one's frontier.
func (gv grantsView) revocationsAfter(node keyring.NodeID, s int) []*GrantEntry {
	var out []*GrantEntry
	for _, e := range gv.entries[min(s, len(gv.entries)):] {
		if e.Op == OpRevoke && e.Node == node && slices.Contains(e.Actions, ActionWrite) {
			out = append(out, e)
		}
	}
	return out
}

// appendEntries checks entries as the continuation of the log and stores
// them in one batch; entries the log already has, byte for byte, are
// skipped. All or nothing: one bad entry stores none.
func (g *grantsLog) appendEntries(db *kvstore.DB, vault VaultID, raws [][]byte, accept func(grantsView, *GrantEntry) error) (int, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if err := g.loadLocked(); err != nil {
		return 0, err
	}
	view := g.view
	var bt kvstore.Batch
	added := 0
	for i, raw := range raws {
		if e, _, err := decodeGrantEntry(raw); err == nil && e.Seq < view.len() && slices.Equal(view.raw[e.Seq], raw) {
			continue // one we have
		}
		e, err := view.check(raw)
		if err == nil && e.Vault != vault {
			err = fmt.Errorf("%w: entry of vault %s", ErrGrants, e.Vault)
		}
		if err == nil && accept != nil {
			err = accept(view, e)
		}
		if err != nil {
			return 0, fmt.Errorf("grants entry %d of %d: %w", i+1, len(raws), err)
		}
		view = view.with(e, raw)
		bt.Put(g.bucket, seqKey(e.Seq), raw)
		added++
	}
	if added == 0 {
		return 0, nil
	}
	if err := db.Write(&bt, true); err != nil {
		return 0, err
	}
	g.view = view
	return added, nil
}
