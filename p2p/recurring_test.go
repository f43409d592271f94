package p2p

import (
	"testing"
	"time"

	"github.com/pkfs/pkfs/gestalt"
	"github.com/pkfs/pkfs/vaultstore"
)

// TestCloneAndPullOfRecurringTrees: histories where the same tree object
// comes back (a copied directory, a revert, a file set back to an older
// content, a moved subtree) are sent completely, whether a replica pulls
// them one commit at a time or clones them at once: a pack may skip a
// subtree it has already listed, never one it has not.
func TestCloneAndPullOfRecurringTrees(t *testing.T) {
	a, b, c := newSys(t), newSysEvery(t, time.Hour), newSysEvery(t, time.Hour)
	a.meet(t, b)
	a.meet(t, c)
	a.repl.stop() // b pulls by hand
	v, _ := a.Vaults.Create("prod")
	for _, n := range []*sysNode{b, c} {
		a.ACL.SetVault(v.ID().String(), n.Keyring.NodeID(), []gestalt.Action{gestalt.Clone, gestalt.Pull})
	}
	steps := []func(tx *vaultstore.Tx) error{
		func(tx *vaultstore.Tx) error { return tx.WriteSmall("a/x/1", []byte("one"), false, true) },
		func(tx *vaultstore.Tx) error { return tx.WriteSmall("b/x/1", []byte("one"), false, true) }, // b/x is a/x's tree
		func(tx *vaultstore.Tx) error { return tx.WriteSmall("a/x/1", []byte("two"), false, true) },
		func(tx *vaultstore.Tx) error { return tx.Remove("b", vaultstore.RemoveRecursive) },
		func(tx *vaultstore.Tx) error { return tx.WriteSmall("a/x/1", []byte("one"), false, true) }, // a/x as in step 1
		func(tx *vaultstore.Tx) error { return tx.WriteSmall("c/d/e/x/1", []byte("one"), false, true) },
		func(tx *vaultstore.Tx) error { return tx.Rename("c/d", "f") },
		func(tx *vaultstore.Tx) error { return tx.WriteSmall("f/e/y", []byte("two"), false, true) },
	}
	var r *vaultstore.Vault
	check := func(what string) {
		t.Helper()
		if r.Head() != v.Head() {
			t.Fatalf("%s: replica at %s, origin at %s", what, r.Head(), v.Head())
		}
		if rep, err := r.Verify(); err != nil || !rep.OK() {
			t.Fatalf("%s: replica incomplete: %v %v", what, err, rep.Problems)
		}
	}
	for i, step := range steps {
		if _, err := v.Update(vaultstore.CommitOptions{}, step); err != nil {
			t.Fatalf("step %d: %v", i, err)
		}
		var err error
		if i == 0 {
			r, _, err = b.Clone(ctx(t), a.Keyring.NodeID(), "prod", nil)
		} else {
			_, err = b.Pull(ctx(t), r.Name(), nil)
		}
		if err != nil {
			t.Fatalf("step %d: %v", i, err)
		}
		check("step")
	}
	first, err := v.Resolve("HEAD~6")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := v.Version(first.String(), vaultstore.CommitOptions{}); err != nil { // an old tree again
		t.Fatal(err)
	}
	if _, err := b.Pull(ctx(t), r.Name(), nil); err != nil {
		t.Fatal(err)
	}
	check("revert")
	if r, _, err = c.Clone(ctx(t), a.Keyring.NodeID(), "prod", nil); err != nil {
		t.Fatal(err)
	}
	check("clone of the whole history")
}
