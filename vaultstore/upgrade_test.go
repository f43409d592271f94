package vaultstore

import (
	"errors"
	"testing"
	"time"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/pkfs/pkfs/internal/kvstore"
	"github.com/pkfs/pkfs/keyring"
)

// oldVault makes a vault as pkfs made them before grants: no grants log,
// and commits written by go-git's encoder, unsigned.
func oldVault(t *testing.T, s *Store, files ...string) *Vault {
	t.Helper()
	v, err := s.create(VaultInfo{ID: NewVaultID(), Name: "old"}, false)
	if err != nil {
		t.Fatal(err)
	}
	for i, f := range files {
		oldCommit(t, v, f, time.Unix(1700000000+int64(i), 0))
	}
	return v
}

// oldCommit writes path (content: its name) as an unsigned commit.
func oldCommit(t *testing.T, v *Vault, path string, when time.Time) {
	t.Helper()
	v.wmu.Lock()
	defer v.wmu.Unlock()
	head := v.head.Load()
	tx := &Tx{v: v}
	root, err := tx.load(head.root)
	if err != nil {
		t.Fatal(err)
	}
	tx.root = root
	if err := tx.WriteSmall(path, []byte(path), false, true); err != nil {
		t.Fatal(err)
	}
	var bt kvstore.Batch
	for _, p := range tx.pending {
		p.addTo(v.objs, &bt)
	}
	newRoot, err := tx.serialize(tx.root, true, &bt)
	if err != nil {
		t.Fatal(err)
	}
	sig := object.Signature{Name: v.s.nodeID.String(), When: when.UTC()}
	c := &object.Commit{Author: sig, Committer: sig, Message: path + " added", TreeHash: newRoot}
	if !head.commit.IsZero() {
		c.ParentHashes = []plumbing.Hash{head.commit}
	}
	p, err := v.objs.inlineObject(plumbing.CommitObject, encodeGoGit(t, c))
	if err != nil {
		t.Fatal(err)
	}
	p.addTo(v.objs, &bt)
	if _, err := v.moveHead(&bt, head, p.hash, newRoot, when, true, false, tx.trees, nil); err != nil {
		t.Fatal(err)
	}
}

// A vault made before grants upgrades: the owner starts a log that vouches
// for its unsigned history and grants its readers; an old replica takes
// the log from its origin and follows on; a new clone accepts the whole
// history; the history stays readable and valid everywhere.
func TestUpgradeOldVault(t *testing.T) {
	s, _, _ := newTestStore(t)
	owner := oldVault(t, s, "a", "b", "c")
	oldHead := owner.Head()
	rs, _, _ := newTestStore(t)
	replica, err := rs.CreateReplica(owner.ID(), "old", s.NodeID())
	if err != nil {
		t.Fatal(err)
	}
	movePack(t, owner, replica)
	if err := replica.FastForward(owner.Head(), false); err != nil { // as replicas followed before
		t.Fatal(err)
	}
	if owner.ReadOnly() || !replica.ReadOnly() {
		t.Fatal("read-only before the upgrade")
	}

	ok, err := owner.UpgradeGrants(map[keyring.NodeID][]Action{rs.NodeID(): {ActionClone, ActionPull}})
	if err != nil || !ok {
		t.Fatalf("upgrade: %v %v", ok, err)
	}
	if ok, err := owner.UpgradeGrants(nil); ok || err != nil {
		t.Fatalf("a second upgrade: %v %v", ok, err)
	}
	es, _ := owner.Grants()
	if len(es) != 2 || es[0].Base != oldHead || es[0].Owner != s.NodeID() || es[1].Node != rs.NodeID() {
		t.Fatalf("log %+v", es)
	}
	write(t, owner, "d", "signed now")
	movePack(t, owner, replica)
	if _, err := replica.Integrate(owner.Head(), false); !errors.Is(err, ErrNoGrants) {
		t.Fatalf("integrate without a log: %v", err)
	}

	if r := mustPull(t, owner, replica); r.Outcome != FastForward || r.Commits != 1 {
		t.Fatalf("the replica after the upgrade: %+v", r)
	}
	if !replica.ReadOnly() {
		t.Fatal("a reader may write after the upgrade")
	}
	cs, _, _ := newTestStore(t)
	clone := cloneTo(t, owner, cs) // unsigned history, vouched for by the genesis
	for _, v := range []*Vault{owner, replica, clone} {
		if log, _ := v.Log(0); len(log) != 4 {
			t.Fatalf("log of %d commits", len(log))
		}
		if rep, err := v.Verify(); err != nil || !rep.OK() {
			t.Fatalf("verify: %v %v", err, rep.Problems)
		}
		if got := read(t, v, "a"); got != "a" {
			t.Fatalf("old content %q", got)
		}
	}
}

// A replica that has history accepts a genesis only if it names the node
// the replica follows as owner.
func TestUpgradeGenesisOnlyFromOrigin(t *testing.T) {
	s, _, _ := newTestStore(t)
	owner := oldVault(t, s, "a")
	impostor, _, _ := newTestStore(t)
	rs, _, _ := newTestStore(t)
	replica, _ := rs.CreateReplica(owner.ID(), "old", s.NodeID())
	movePack(t, owner, replica)
	if err := replica.FastForward(owner.Head(), false); err != nil {
		t.Fatal(err)
	}
	fake := signEntry(t, impostor.signer, &GrantEntry{Vault: owner.ID(), Time: time.Unix(1e9, 0).UTC(), Op: OpGenesis,
		Owner: impostor.NodeID(), Base: owner.Head()})
	log := refusals(rs)
	if _, err := replica.AppendGrants([][]byte{fake}); !errors.Is(err, ErrGrants) || len(*log) != 1 {
		t.Fatalf("a genesis by another node: %v", err)
	}
	if _, err := owner.UpgradeGrants(nil); err != nil {
		t.Fatal(err)
	}
	mustPull(t, owner, replica)
	if o, _ := replica.Owner(); o != s.NodeID() {
		t.Fatal("owner")
	}
}
