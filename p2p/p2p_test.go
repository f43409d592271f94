package p2p

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/pkfs/pkfs/internal/cryptocore"
	"github.com/pkfs/pkfs/internal/kvstore"
	"github.com/pkfs/pkfs/keyring"
)

type testNode struct {
	*Node
	kr *keyring.Keyring
	db *kvstore.DB
}

func newTestNode(t testing.TB) *testNode {
	t.Helper()
	return newTestNodeWith(t, RelayOptions{})
}

// newTestNodeWith is newTestNode with relay options.
func newTestNodeWith(t testing.TB, relay RelayOptions) *testNode {
	t.Helper()
	return newTestNodeAt(t, "127.0.0.1", relay)
}

// newTestNodeAt is newTestNodeWith on another address (of 127.0.0.0/8:
// nodes on addresses of their own do not share the caps per address).
func newTestNodeAt(t testing.TB, host string, relay RelayOptions) *testNode {
	t.Helper()
	kr, _, err := keyring.Create(t.TempDir(), []byte("pw"), keyring.Params{Ops: 1, MemKiB: keyring.MinMemKiB, Parallelism: 1}, "")
	if err != nil {
		t.Fatal(err)
	}
	db, err := kvstore.Open(t.TempDir(), cryptocore.NewRandomKey())
	if err != nil {
		t.Fatal(err)
	}
	n, err := Listen(Config{Host: host, Port: 0, Keyring: kr, DB: db, Relay: relay})
	if err != nil {
		t.Fatal(err)
	}
	n.RegisterNodeMethods()
	t.Cleanup(func() { n.Close(); db.Close(); kr.Close() })
	return &testNode{Node: n, kr: kr, db: db}
}

func (a *testNode) know(t testing.TB, b *testNode) {
	t.Helper()
	if err := a.Graph.Add(NodeAddress{NodeID: b.ID(), Host: b.Addr().IP.String(), Port: b.Addr().Port}); err != nil {
		t.Fatal(err)
	}
}

func ctx(t testing.TB) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return c
}

func TestPingAndReuse(t *testing.T) {
	a, b := newTestNode(t), newTestNode(t)
	a.know(t, b)
	for i := 0; i < 5; i++ {
		if _, err := a.Ping(ctx(t), b.ID()); err != nil {
			t.Fatal(err)
		}
	}
	if n := len(a.Connections()); n != 1 {
		t.Fatalf("%d connections after 5 pings", n)
	}
	// b learned a's address from the hello and can call back on it
	if _, err := b.Ping(ctx(t), a.ID()); err != nil {
		t.Fatalf("ping back: %v", err)
	}
}

func TestWrongNodeIDRefused(t *testing.T) {
	a, b, c := newTestNode(t), newTestNode(t), newTestNode(t)
	// a thinks b lives at c's address
	if err := a.Graph.Add(NodeAddress{NodeID: b.ID(), Host: "127.0.0.1", Port: c.Addr().Port}); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Ping(ctx(t), b.ID()); !errors.Is(err, ErrPeerID) {
		t.Fatalf("impostor accepted: %v", err)
	}
}

func TestUnknownMethodAndNode(t *testing.T) {
	a, b := newTestNode(t), newTestNode(t)
	a.know(t, b)
	if err := a.Call(ctx(t), b.ID(), "no.such", struct{}{}, nil, nil); !errors.Is(err, ErrUnknownMethod) {
		t.Fatalf("unknown method: %v", err)
	}
	if _, err := a.Ping(ctx(t), newTestNode(t).ID()); !errors.Is(err, ErrUnknownNode) {
		t.Fatalf("unknown node: %v", err)
	}
	// malformed body: the handler answers an error, the node keeps serving
	if err := a.Call(ctx(t), b.ID(), "nodes.closest", map[string]string{"target": "x"}, nil, nil); !errors.Is(err, ErrBadRequest) {
		t.Fatalf("malformed body: %v", err)
	}
	if _, err := a.Ping(ctx(t), b.ID()); err != nil {
		t.Fatalf("node stopped serving: %v", err)
	}
}

func TestFind(t *testing.T) {
	// a chain: a knows b, b knows c, c knows d; a finds d
	ns := []*testNode{newTestNode(t), newTestNode(t), newTestNode(t), newTestNode(t)}
	for i := 0; i+1 < len(ns); i++ {
		ns[i].know(t, ns[i+1])
	}
	got, err := ns[0].Find(ctx(t), ns[3].ID())
	if err != nil {
		t.Fatal(err)
	}
	if got.Port != ns[3].Addr().Port {
		t.Fatalf("found %+v", got)
	}
}
