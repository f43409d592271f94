package vaultstore

import (
	"bytes"
	"errors"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

func signEntry(t testing.TB, s Signer, e *GrantEntry) []byte {
	t.Helper()
	p := e.payload()
	sig, err := s.Sign(signedGrantBytes(p))
	if err != nil {
		t.Fatal(err)
	}
	return append(p, sig...)
}

// nextEntry fills in what chains e to the end of v's log.
func nextEntry(t testing.TB, v *Vault, e *GrantEntry) *GrantEntry {
	t.Helper()
	es, err := v.GrantsSince(0)
	if err != nil {
		t.Fatal(err)
	}
	last, _, err := decodeGrantEntry(es[len(es)-1])
	if err != nil {
		t.Fatal(err)
	}
	e.Vault, e.Seq, e.Prev, e.Time = v.ID(), len(es), entryHash(es[len(es)-1]), last.Time
	return e
}

// Permissions at a log length are what the entries before it give: a
// grant replaces, a revoke takes away, the owner may do everything.
func TestGrantsPermissionsAtSeq(t *testing.T) {
	v := newTestVault(t)
	bob := TestOnlySigner().NodeID()
	steps := []func() error{
		func() error { return v.Grant(bob, ActionPull, ActionClone) },
		func() error { return v.Grant(bob, ActionWrite, ActionPull) },
		func() error { return v.Revoke(bob, ActionWrite) },
		func() error { return v.Grant(bob, ActionClone, ActionPull, ActionWrite) },
	}
	for _, s := range steps {
		if err := s(); err != nil {
			t.Fatal(err)
		}
	}
	view, _ := v.mw.grants.snapshot()
	want := [][]Action{nil, nil, {ActionClone, ActionPull}, {ActionPull, ActionWrite}, {ActionPull}, {ActionClone, ActionPull, ActionWrite}}
	for s, w := range want {
		if got := view.actionsAt(bob, s); !slices.Equal(got, w) {
			t.Errorf("at %d: %v, want %v", s, got, w)
		}
	}
	if got := view.actionsAt(v.s.nodeID, 1); !slices.Equal(got, allActions) {
		t.Errorf("owner: %v", got)
	}
	es, _ := v.Grants()
	if rv := es[3]; rv.Op != OpRevoke || len(rv.Frontier) != 1 || rv.Frontier[0] != v.Head() {
		t.Errorf("the revoke of write records the head as frontier: %+v", rv)
	}
	if holders, _ := v.Holders(); len(holders) != 2 {
		t.Errorf("holders %v", holders)
	}
	if err := v.Grant(bob); err == nil {
		t.Error("a grant of nothing")
	}
	if err := v.Grant(bob, "admin"); err == nil {
		t.Error("a grant of an unknown action")
	}
}

// A replica cannot change the grants, and only the owner's entries are
// accepted by any holder.
func TestGrantsOnlyOwnerSigns(t *testing.T) {
	vs := writers(t, 2)
	if err := vs[1].Grant(TestOnlySigner().NodeID(), ActionPull); !errors.Is(err, ErrNotOwner) {
		t.Fatalf("a writer granted: %v", err)
	}
}

// Entries that are forged, reordered, replayed, of another vault, out of
// time order, not canonical, or a second genesis are each refused, logged,
// and leave the log and the head as they were.
func TestGrantsEntriesRefused(t *testing.T) {
	vs := writers(t, 2)
	owner, r := vs[0], vs[1]
	bob, mallory := TestOnlySigner(), TestOnlySigner()
	ownerSigner := owner.s.signer
	good := func() *GrantEntry {
		return nextEntry(t, owner, &GrantEntry{Op: OpGrant, Node: bob.NodeID(), Actions: []Action{ActionPull}})
	}
	all, _ := owner.GrantsSince(0)
	cases := map[string][][]byte{
		"forged":          {signEntry(t, mallory, good())},
		"second genesis":  {signEntry(t, ownerSigner, nextEntry(t, owner, &GrantEntry{Op: OpGenesis, Owner: mallory.NodeID()}))},
		"replayed":        {bytes.Replace(all[1], []byte(`"seq":1`), []byte(`"seq":`+strconv.Itoa(len(all))), 1)},
		"other vault":     {signEntry(t, ownerSigner, func() *GrantEntry { e := good(); e.Vault = NewVaultID(); return e }())},
		"older":           {signEntry(t, ownerSigner, func() *GrantEntry { e := good(); e.Time = e.Time.Add(-time.Hour); return e }())},
		"bad prev":        {signEntry(t, ownerSigner, func() *GrantEntry { e := good(); e.Prev = strings.Repeat("0", 64); return e }())},
		"gap":             {signEntry(t, ownerSigner, func() *GrantEntry { e := good(); e.Seq++; return e }())},
		"names the owner": {signEntry(t, ownerSigner, func() *GrantEntry { e := good(); e.Node = ownerSigner.NodeID(); return e }())},
		"not canonical": {func() []byte {
			raw := signEntry(t, ownerSigner, good())
			p := bytes.Replace(raw[:len(raw)-64], []byte(`,"op"`), []byte(`, "op"`), 1)
			sig, _ := ownerSigner.Sign(signedGrantBytes(p))
			return append(p, sig...)
		}()},
	}
	// reordered: two good entries, the second first
	e1 := good()
	raw1 := signEntry(t, ownerSigner, e1)
	e2 := &GrantEntry{Vault: e1.Vault, Seq: e1.Seq + 1, Prev: entryHash(raw1), Time: e1.Time, Op: OpGrant, Node: mallory.NodeID(), Actions: []Action{ActionClone}}
	cases["reordered"] = [][]byte{signEntry(t, ownerSigner, e2), raw1}
	log := refusals(r.s)
	before, _ := r.GrantsLen()
	head := r.Head()
	for name, es := range cases {
		n := len(*log)
		if _, err := r.AppendGrants(es); !errors.Is(err, ErrGrants) && !errors.Is(err, ErrBadGrant) {
			t.Errorf("%s: accepted (%v)", name, err)
		}
		if len(*log) != n+1 {
			t.Errorf("%s: not logged", name)
		}
		if l, _ := r.GrantsLen(); l != before || r.Head() != head {
			t.Errorf("%s: the log or head changed", name)
		}
	}
	// the same entries in order are fine, and sending them again is too
	for range 2 {
		if _, err := r.AppendGrants([][]byte{raw1, signEntry(t, ownerSigner, e2)}); err != nil {
			t.Fatal(err)
		}
	}
	if l, _ := r.GrantsLen(); l != before+2 {
		t.Fatalf("log length %d", l)
	}
}

// The owner is pinned on first contact: a new clone takes the genesis it
// is given, a replica with history only one naming the node it follows,
// and a vault of ours only one naming us.
func TestGrantsGenesisPinned(t *testing.T) {
	s, _, _ := newTestStore(t)
	origin := TestOnlySigner()
	other := TestOnlySigner()
	genesis := func(owner Signer, id VaultID) []byte {
		return signEntry(t, owner, &GrantEntry{Vault: id, Time: time.Unix(1e9, 0).UTC(), Op: OpGenesis, Owner: owner.NodeID()})
	}
	fresh, _ := s.CreateReplica(NewVaultID(), "fresh", origin.NodeID())
	if _, err := fresh.AppendGrants([][]byte{genesis(other, fresh.ID())}); err != nil {
		t.Fatalf("a new clone refused its first genesis: %v", err)
	}
	if _, err := fresh.AppendGrants([][]byte{genesis(origin, fresh.ID())}); !errors.Is(err, ErrGrants) {
		t.Fatalf("a second genesis: %v", err)
	}
	ours := newTestVault(t)
	if _, err := ours.AppendGrants([][]byte{genesis(other, ours.ID())}); !errors.Is(err, ErrGrants) {
		t.Fatalf("a genesis for a vault of ours that has one: %v", err)
	}
	if owner, _ := ours.Owner(); owner != ours.s.nodeID {
		t.Fatal("the owner of a new vault")
	}
}

// Whatever the entry decoder accepts is in canonical form: payload and
// signature encode back to the same bytes.
func FuzzDecodeGrantEntry(f *testing.F) {
	v := newTestVault(f)
	bob := TestOnlySigner().NodeID()
	v.Grant(bob, ActionClone, ActionWrite)
	v.Revoke(bob, ActionWrite)
	v.Revoke(bob, ActionClone)
	es, _ := v.GrantsSince(0)
	for _, e := range es {
		f.Add(e)
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		e, sig, err := decodeGrantEntry(raw)
		if err != nil {
			return
		}
		if got := append(e.payload(), sig...); !bytes.Equal(got, raw) {
			t.Fatalf("decode/encode changed the entry:\n%q\n%q", raw, got)
		}
	})
}
