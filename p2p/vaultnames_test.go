package p2p

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"testing"
	"time"

	"github.com/pkfs/pkfs/gestalt"
	"github.com/pkfs/pkfs/vaultstore"
)

// shareWith lets b clone and pull v of a.
func shareWith(a, b *sysNode, v *vaultstore.Vault) {
	a.ACL.SetVault(v.ID().String(), b.Keyring.NodeID(), []gestalt.Action{gestalt.Clone, gestalt.Pull})
}

// TestPeerVaultNamedLikeOurVaultID: a peer offers a vault whose name is
// the ID of our replica prod. Cloning it gives it a safe local name; the
// ID still means prod (reads, pulls); and a legacy vault of ours already
// named like prod's ID (older versions accepted such names) does not
// shadow prod either, locally or for a peer that fetches prod by ID.
func TestPeerVaultNamedLikeOurVaultID(t *testing.T) {
	origin, evil, b := newSys(t), newSys(t), newSysEvery(t, time.Hour)
	origin.meet(t, b)
	evil.meet(t, b)
	prod, _ := origin.Vaults.Create("prod")
	writeFile(t, prod, "pw", "real")
	shareWith(origin, b, prod)
	r, _, err := b.Clone(ctx(t), origin.Keyring.NodeID(), "prod", nil)
	if err != nil {
		t.Fatal(err)
	}
	pid := prod.ID().String()

	// the evil peer names its vault after prod's ID
	decoy, _ := evil.Vaults.Create("decoy")
	writeFile(t, decoy, "pw", "evil")
	shareWith(evil, b, decoy)
	evil.Node.Handle("vaults.info", func(ctx context.Context, from Peer, body json.RawMessage, _ io.Writer) (any, error) {
		return VaultInfo{VaultID: decoy.ID().String(), VaultName: pid, Head: Hash(decoy.Head())}, nil
	})
	d, _, err := b.Clone(ctx(t), evil.Keyring.NodeID(), "decoy", nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := vaultstore.ParseVaultID(d.Name()); err == nil || vaultstore.ValidateName(d.Name()) != nil {
		t.Fatalf("the peer's vault was cloned as %q", d.Name())
	}
	if got, err := b.Vaults.Vault(pid); err != nil || got.ID() != prod.ID() || readFile(got, "pw") != "real" {
		t.Fatalf("%s resolves to %v (%v)", pid, got, err)
	}

	// a legacy vault of b named like prod's ID: the ID form still means prod
	if err := b.Vaults.TestOnlyForceName(d.ID(), pid); err != nil {
		t.Fatal(err)
	}
	if got, err := b.Vaults.Vault(pid); err != nil || got.ID() != r.ID() {
		t.Fatalf("%s resolves to %v (%v)", pid, got, err)
	}
	if got, err := b.Vaults.VaultByName(pid); err != nil || got.ID() != d.ID() {
		t.Fatalf("the legacy name resolves to %v (%v)", got, err)
	}
	writeFile(t, prod, "pw", "real 2")
	if _, err := b.Pull(ctx(t), pid, nil); err != nil || readFile(r, "pw") != "real 2" {
		t.Fatalf("pull of prod by ID: %v", err)
	}

	// the origin holds such a legacy vault too, shared with b: a fetch of
	// prod by ID is answered with prod
	legacy, _ := origin.Vaults.Create("legacy")
	writeFile(t, legacy, "pw", "legacy")
	shareWith(origin, b, legacy)
	if err := origin.Vaults.TestOnlyForceName(legacy.ID(), pid); err != nil {
		t.Fatal(err)
	}
	writeFile(t, prod, "pw", "real 3")
	if _, err := b.Pull(ctx(t), "prod", nil); err != nil || readFile(r, "pw") != "real 3" {
		t.Fatalf("pull of prod: %v (%q)", err, readFile(r, "pw"))
	}
}

// A peer names vaults by ID in every request but vaults.info; a clone by
// ID answered with another vault is refused.
func TestPeerRequestsNameVaultsByID(t *testing.T) {
	a, b := newSys(t), newSys(t)
	a.meet(t, b)
	v, _ := a.Vaults.Create("prod")
	shareWith(a, b, v)
	err := b.Node.Call(ctx(t), a.Keyring.NodeID(), "vaults.fetch", fetchRequest{VaultID: "prod"}, nil, io.Discard)
	if !errors.Is(err, ErrBadRequest) {
		t.Fatalf("fetch by name: %v", err)
	}
	other, _ := a.Vaults.Create("other")
	shareWith(a, b, other)
	a.Node.Handle("vaults.info", func(ctx context.Context, from Peer, body json.RawMessage, _ io.Writer) (any, error) {
		return VaultInfo{VaultID: other.ID().String(), VaultName: "other", Head: Hash(other.Head())}, nil
	})
	if _, _, err := b.Clone(ctx(t), a.Keyring.NodeID(), v.ID().String(), nil); !errors.Is(err, ErrBadRequest) {
		t.Fatalf("clone answered with another vault: %v", err)
	}
	if vs, _ := b.Vaults.List(); len(vs) != 0 {
		t.Fatalf("left %+v", vs)
	}
}
