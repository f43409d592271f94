package p2p

import (
	"errors"
	"testing"
	"time"

	"github.com/pkfs/pkfs/gestalt"
)

func linkNodes(t *testing.T, inviter, claimer *sysNode) {
	t.Helper()
	b := inviter.Keyring.NodeID()
	claimer.ACL.Allow(b, gestalt.Notify) // to receive the invitation
	if d, err := inviter.Invite(ctx(t), claimer.Keyring.NodeID()); err != nil || d != Delivered {
		t.Fatalf("invite: %v %v", d, err)
	}
	if _, err := claimer.ClaimNode(ctx(t), b); err != nil {
		t.Fatalf("claim: %v", err)
	}
}

func TestLinkedNodesAreOneGestalt(t *testing.T) {
	laptop, desktop, other := newSys(t), newSys(t), newSys(t)
	laptop.meet(t, desktop)
	other.meet(t, laptop)
	other.meet(t, desktop)
	// claiming without an invitation is refused
	if _, err := desktop.ClaimNode(ctx(t), laptop.Keyring.NodeID()); !errors.Is(err, ErrPermission) {
		t.Fatalf("claim without invitation: %v", err)
	}
	linkNodes(t, laptop, desktop)
	for _, n := range []*sysNode{laptop, desktop} {
		es, _ := n.Sigchain.Entries()
		if len(es) != 1 || es[0].Claim.Type != gestalt.ClaimLink {
			t.Fatalf("chain of %s: %+v", n.Keyring.NodeID(), es)
		}
	}
	// the third node discovers the gestalt from one of its nodes
	if err := other.Discover(gestalt.NodeVertex(laptop.Keyring.NodeID())); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "discovery", func() bool {
		return len(other.GestaltOf(gestalt.NodeVertex(desktop.Keyring.NodeID())).Nodes) == 2
	})
	// a vault shared with the gestalt can be cloned by both of its nodes
	v, _ := other.Vaults.Create("team")
	writeFile(t, v, "k", "v")
	other.ShareWith(ctx(t), "team", gestalt.NodeVertex(laptop.Keyring.NodeID()))
	for _, n := range []*sysNode{laptop, desktop} {
		if _, _, err := n.Clone(ctx(t), other.Keyring.NodeID(), "team", nil); err != nil {
			t.Fatalf("clone by %s: %v", n.Keyring.NodeID(), err)
		}
	}
	// unlinking removes what the desktop had through the gestalt
	if err := desktop.Unlink(ctx(t), laptop.Keyring.NodeID()); err != nil {
		t.Fatal(err)
	}
	other.Discover(gestalt.NodeVertex(desktop.Keyring.NodeID()))
	waitFor(t, "rediscovery", func() bool {
		return len(other.GestaltOf(gestalt.NodeVertex(desktop.Keyring.NodeID())).Nodes) == 1
	})
	if other.ACL.VaultAllowed(v.ID().String(), desktop.Keyring.NodeID(), gestalt.Pull) {
		t.Fatal("unlinked node keeps the gestalt's permission")
	}
	if !other.ACL.VaultAllowed(v.ID().String(), laptop.Keyring.NodeID(), gestalt.Pull) {
		t.Fatal("the laptop lost its own permission")
	}
}

func TestOwnDevicesScanSelfSharedVaults(t *testing.T) {
	laptop, desktop := newSys(t), newSys(t)
	laptop.meet(t, desktop)
	linkNodes(t, laptop, desktop)
	v, _ := laptop.Vaults.Create("mine")
	laptop.Vaults.Create("private")
	if _, err := laptop.ShareWith(ctx(t), "mine", gestalt.Self); err != nil {
		t.Fatal(err)
	}
	items, err := desktop.Scan(ctx(t), laptop.Keyring.NodeID())
	if err != nil || len(items) != 1 || items[0].VaultID != v.ID().String() {
		t.Fatalf("scan of my own devices: %v %v", items, err)
	}
}

func TestForgedChainsRejected(t *testing.T) {
	a, b := newSys(t), newSys(t)
	a.meet(t, b)
	me := a.Keyring.NodeID()
	// a chain entry not signed by its owner
	c := gestalt.Claim{Type: gestalt.ClaimUnlink, NodeA: me, NodeB: b.Keyring.NodeID(), IssuedAt: time.Now(), Nonce: newNonce()}
	e := gestalt.Entry{Seq: 1, Claim: c, Sig: make([]byte, 64)}
	if err := gestalt.VerifyChain(me, []gestalt.Entry{e}); !errors.Is(err, gestalt.ErrBadChain) {
		t.Fatalf("unsigned entry: %v", err)
	}
	// a link claim signed by one side only
	half := gestalt.Claim{Type: gestalt.ClaimLink, NodeA: me, NodeB: b.Keyring.NodeID(), IssuedAt: time.Now(), Nonce: newNonce()}
	a.Sigchain.SignClaim(&half)
	if _, err := a.Sigchain.Append(half); !errors.Is(err, gestalt.ErrBadChain) {
		t.Fatalf("half-signed link appended: %v", err)
	}
	// sending it to b without an invitation
	err := a.Node.Call(ctx(t), b.Keyring.NodeID(), "gestalts.link", half, nil, nil)
	if !errors.Is(err, ErrPermission) {
		t.Fatalf("uninvited link: %v", err)
	}
	// a replayed claim: b invites a, a links; the same claim again is refused
	b.ACL.Allow(me, gestalt.ClaimPerm)
	var signed gestalt.Claim
	if err := a.Node.Call(ctx(t), b.Keyring.NodeID(), "gestalts.link", half, &signed, nil); err != nil {
		t.Fatal(err)
	}
	b.ACL.Allow(me, gestalt.ClaimPerm)
	if err := a.Node.Call(ctx(t), b.Keyring.NodeID(), "gestalts.link", half, nil, nil); !errors.Is(err, ErrBadRequest) {
		t.Fatalf("replayed claim: %v", err)
	}
	// a stale claim
	old := gestalt.Claim{Type: gestalt.ClaimLink, NodeA: me, NodeB: b.Keyring.NodeID(), IssuedAt: time.Now().Add(-time.Hour), Nonce: newNonce()}
	a.Sigchain.SignClaim(&old)
	if err := a.Node.Call(ctx(t), b.Keyring.NodeID(), "gestalts.link", old, nil, nil); !errors.Is(err, ErrBadRequest) {
		t.Fatalf("stale claim: %v", err)
	}
	// tampering with a fetched chain breaks it
	es, err := a.FetchChain(ctx(t), b.Keyring.NodeID())
	if err != nil || len(es) != 1 {
		t.Fatalf("b's chain: %v %v", es, err)
	}
	es[0].Claim.Nonce = newNonce()
	if err := gestalt.VerifyChain(b.Keyring.NodeID(), es); !errors.Is(err, gestalt.ErrBadChain) {
		t.Fatalf("tampered chain: %v", err)
	}
}

func TestPeriodicRediscovery(t *testing.T) {
	b, c := newSys(t), newSys(t)
	// a third node that walks its gestalts again every 100 ms
	o := newSysWith(t, StartOptions{Host: "127.0.0.1", RediscoverInterval: 100 * time.Millisecond})
	o.meet(t, b)
	b.meet(t, c)
	o.Discover(gestalt.NodeVertex(b.Keyring.NodeID()))
	waitFor(t, "the first walk", func() bool { return o.DiscoveryIdle() && o.Gestalts.Known(gestalt.NodeVertex(b.Keyring.NodeID())) })
	linkNodes(t, b, c) // linked after o's walk: o learns it by itself
	waitFor(t, "the periodic walk", func() bool {
		return len(o.GestaltOf(gestalt.NodeVertex(b.Keyring.NodeID())).Nodes) == 2
	})
}
