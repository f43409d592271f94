package p2p

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/pkfs/pkfs/gestalt"
	"github.com/pkfs/pkfs/internal/cryptocore"
	"github.com/pkfs/pkfs/internal/kvstore"
	"github.com/pkfs/pkfs/keyring"
	"github.com/pkfs/pkfs/vaultstore"
)

type sysNode struct {
	*System
	dir string
}

func newSys(t testing.TB) *sysNode { return newSysEvery(t, 200*time.Millisecond) }

// newSysEvery starts a node whose replicas poll their origin every interval.
func newSysEvery(t testing.TB, interval time.Duration) *sysNode {
	t.Helper()
	return newSysWith(t, StartOptions{Host: "127.0.0.1", FollowInterval: interval})
}

// newSysWith starts a node with the given options.
func newSysWith(t testing.TB, o StartOptions) *sysNode {
	t.Helper()
	kr, _, err := keyring.Create(t.TempDir(), []byte("pw"), keyring.Params{Ops: 1, MemKiB: keyring.MinMemKiB, Parallelism: 1}, "")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	db, err := kvstore.Open(dir, cryptocore.NewRandomKey())
	if err != nil {
		t.Fatal(err)
	}
	vs, _ := vaultstore.Open(db, kr)
	s := NewSystem(kr, db, vs)
	if err := s.Start(o); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Stop(); vs.Close(); db.Close(); kr.Close() })
	return &sysNode{System: s, dir: dir}
}

func (a *sysNode) meet(t testing.TB, b *sysNode) {
	t.Helper()
	a.Graph.Add(NodeAddress{NodeID: b.Keyring.NodeID(), Host: "127.0.0.1", Port: b.Node.Addr().Port})
	b.Graph.Add(NodeAddress{NodeID: a.Keyring.NodeID(), Host: "127.0.0.1", Port: a.Node.Addr().Port})
}

func writeFile(t testing.TB, v *vaultstore.Vault, p, content string) {
	t.Helper()
	if _, err := v.Update(vaultstore.CommitOptions{}, func(tx *vaultstore.Tx) error {
		return tx.WriteSmall(p, []byte(content), false, true)
	}); err != nil {
		t.Fatal(err)
	}
}

func readFile(v *vaultstore.Vault, p string) string {
	s, err := v.Snapshot("")
	if err != nil {
		return ""
	}
	b, _ := s.ReadFile(p)
	return string(b)
}

func waitFor(t testing.TB, what string, fn func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !fn() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestShareCloneFollow(t *testing.T) {
	// b polls only every minute: the commit must reach it by the push
	a, b, c := newSys(t), newSysEvery(t, time.Minute), newSys(t)
	a.meet(t, b)
	a.meet(t, c)
	b.ACL.Allow(a.Keyring.NodeID(), gestalt.Notify) // b trusts a
	v, _ := a.Vaults.Create("prod")
	writeFile(t, v, "db/password", "one")
	delivered, err := a.Share(ctx(t), "prod", b.Keyring.NodeID())
	if err != nil || !delivered {
		t.Fatalf("share: %v %v", delivered, err)
	}
	inbox, _ := b.Inbox()
	if len(inbox) != 1 || inbox[0].Notification.Type != TypeVaultShare {
		t.Fatalf("b's inbox: %+v", inbox)
	}
	if items, err := b.Scan(ctx(t), a.Keyring.NodeID()); err != nil || len(items) != 1 || items[0].VaultName != "prod" {
		t.Fatalf("scan: %v %v", items, err)
	}
	if _, err := c.Scan(ctx(t), a.Keyring.NodeID()); !errors.Is(err, ErrPermission) {
		t.Fatalf("c's scan: %v", err)
	}
	if _, _, err := c.Clone(ctx(t), a.Keyring.NodeID(), "prod", nil); !errors.Is(err, ErrPermission) {
		t.Fatalf("c's clone: %v", err)
	}
	if _, _, err := b.Clone(ctx(t), a.Keyring.NodeID(), "nope", nil); !errors.Is(err, ErrPermission) {
		t.Fatalf("clone of a missing vault: %v", err)
	}
	r, st, err := b.Clone(ctx(t), a.Keyring.NodeID(), "prod", nil)
	if err != nil {
		t.Fatal(err)
	}
	if r.ID() != v.ID() || r.Name() != "prod" || readFile(r, "db/password") != "one" || st.Commits != 2 {
		t.Fatalf("replica %s %s %q %+v", r.ID(), r.Name(), readFile(r, "db/password"), st)
	}
	if _, err := r.Update(vaultstore.CommitOptions{}, func(tx *vaultstore.Tx) error { return nil }); !errors.Is(err, vaultstore.ErrReadOnly) {
		t.Fatalf("replica write: %v", err)
	}
	// live replication
	writeFile(t, v, "db/password", "two")
	waitFor(t, "the commit to reach b", func() bool { return readFile(r, "db/password") == "two" })
	if rep, _ := r.Verify(); !rep.OK() {
		t.Fatalf("replica damaged: %v", rep.Problems)
	}
	// unshare stops pulls
	a.Unshare("prod", b.Keyring.NodeID())
	writeFile(t, v, "db/password", "three")
	if _, err := b.Pull(ctx(t), r.Name(), nil); !errors.Is(err, ErrPermission) {
		t.Fatalf("pull after unshare: %v", err)
	}
	if readFile(r, "db/password") != "two" {
		t.Fatal("replica moved after unshare")
	}
}

func TestFetchSendsOnlyTheChange(t *testing.T) {
	a, b := newSys(t), newSysEvery(t, time.Hour)
	a.meet(t, b)
	v, _ := a.Vaults.Create("big")
	if _, err := v.Update(vaultstore.CommitOptions{}, func(tx *vaultstore.Tx) error {
		for d := 0; d < 20; d++ {
			for f := 0; f < 50; f++ {
				if err := tx.WriteSmall(string(rune('a'+d))+"/f"+string(rune('0'+f%10))+string(rune('a'+f/10)), []byte("secret value"), false, true); err != nil {
					return err
				}
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	a.ACL.SetVault(v.ID().String(), b.Keyring.NodeID(), []gestalt.Action{gestalt.Clone, gestalt.Pull})
	r, st, err := b.Clone(ctx(t), a.Keyring.NodeID(), v.ID().String(), nil)
	if err != nil {
		t.Fatal(err)
	}
	clone := st.Bytes
	a.repl.stop() // no announcement: b pulls by hand below
	writeFile(t, v, "c/f0a", "changed")
	st, err = b.Pull(ctx(t), r.Name(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if st.Objects != 4 || st.Bytes > 4096 {
		t.Fatalf("one-file change sent %d objects, %d bytes (clone was %d bytes)", st.Objects, st.Bytes, clone)
	}
}

func TestNotificationsNeedTrust(t *testing.T) {
	a, b := newSys(t), newSys(t)
	a.meet(t, b)
	n, _ := a.NewNotification(b.Keyring.NodeID(), TypeGeneral, "hello")
	if ok, _ := a.Send(ctx(t), n); ok {
		t.Fatal("untrusted notification delivered")
	}
	if in, _ := b.Inbox(); len(in) != 0 {
		t.Fatal("untrusted notification stored")
	}
	if a.Pending() != 0 {
		t.Fatal("a refused notification stays in the outbox")
	}
	b.ACL.Allow(a.Keyring.NodeID(), gestalt.Notify)
	n, _ = a.NewNotification(b.Keyring.NodeID(), TypeGeneral, "hello")
	if ok, err := a.Send(ctx(t), n); !ok || err != nil {
		t.Fatalf("trusted notification: %v", err)
	}
	// a forged notification: signed by a, sent by c
	c := newSys(t)
	c.meet(t, b)
	b.ACL.Allow(c.Keyring.NodeID(), gestalt.Notify)
	err := c.Node.Call(ctx(t), b.Keyring.NodeID(), "notifications.send", n, nil, nil)
	if !errors.Is(err, ErrPermission) {
		t.Fatalf("forwarded notification: %v", err)
	}
}

func TestOutboxRetriesWhenPeerComesBack(t *testing.T) {
	a, b := newSys(t), newSys(t)
	b.ACL.Allow(a.Keyring.NodeID(), gestalt.Notify)
	port := b.Node.Addr().Port
	// a knows b at a dead port first
	a.Graph.Add(NodeAddress{NodeID: b.Keyring.NodeID(), Host: "127.0.0.1", Port: 9})
	n, _ := a.NewNotification(b.Keyring.NodeID(), TypeGeneral, "later")
	cctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	if ok, _ := a.Send(cctx, n); ok {
		t.Fatal("delivered to a dead address")
	}
	a.Graph.Add(NodeAddress{NodeID: b.Keyring.NodeID(), Host: "127.0.0.1", Port: port})
	waitFor(t, "the outbox to deliver", func() bool { in, _ := b.Inbox(); return len(in) == 1 })
}
