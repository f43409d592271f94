package p2p

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/quic-go/quic-go"
)

// sayHello connects to b with a made-up node ID from tr, says hello as
// listening on port, and hangs up.
func sayHello(t *testing.T, tr *quic.Transport, b *testNode, port int) {
	t.Helper()
	cert, err := certificate(freshCert(t))
	if err != nil {
		t.Fatal(err)
	}
	id, _ := peerID(mustParse(t, cert))
	cctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	var c *quic.Conn
	for c == nil { // the address may hold its share of connections a moment longer
		if c, err = tr.Dial(cctx, b.Addr(), clientTLS(cert, b.ID()), quicConfig()); err != nil && cctx.Err() != nil {
			t.Fatal(err)
		}
	}
	defer c.CloseWithError(0, "bye")
	body, _ := json.Marshal(helloBody{NodeID: id, Port: port, Version: WireVersion})
	f, err := exchange(t, c, rawRequest("hello", string(body)))
	if err != nil || f.kind != kindResponse {
		t.Fatalf("hello: %+v %v", f, err)
	}
}

// TestStrangersDoNotFillTheGraph: 50 made-up node IDs say hello. None is
// recorded in the node graph on disk; their addresses are kept in memory
// as hints, a bounded number of them, the oldest evicted first. A node
// that said hello can still be called back (its hint), and the graph
// records it once that outbound contact has confirmed it.
func TestStrangersDoNotFillTheGraph(t *testing.T) {
	b := newTestNode(t)
	b.hints.mu.Lock() // b serves already: its handlers read the bound
	b.hints.max = 20
	b.hints.mu.Unlock()
	tr := attackerTransport(t)
	for range 50 {
		sayHello(t, tr, b, 9)
	}
	all, _ := b.Graph.All()
	if len(all) != 0 {
		t.Fatalf("the graph holds %d nodes after 50 strangers said hello", len(all))
	}
	if n := b.hints.len(); n != 20 {
		t.Fatalf("%d hints kept, the bound is 20", n)
	}
	// a real node says hello: b calls it back on the hint, and records it
	a := newTestNode(t)
	a.know(t, b)
	if _, err := a.Ping(ctx(t), b.ID()); err != nil {
		t.Fatal(err)
	}
	for _, pc := range b.Connections() {
		b.mu.Lock()
		b.conns[pc.NodeID].conn.CloseWithError(0, "") // b must dial
		b.mu.Unlock()
	}
	waitFor(t, "the connection to close", func() bool { return !b.Connected(a.ID()) })
	if _, err := b.Ping(ctx(t), a.ID()); err != nil {
		t.Fatalf("calling back a node that said hello: %v", err)
	}
	got, err := b.Graph.Get(a.ID())
	if err != nil || got.Port != a.Addr().Port || !got.Learned {
		t.Fatalf("a after b dialled it: %+v %v", got, err)
	}
}

// TestTrustedPeerAddressIsLearned: a hello from a peer we share a vault
// with is recorded in the graph at once; one from a stranger is not.
func TestTrustedPeerAddressIsLearned(t *testing.T) {
	a, b, c := newSys(t), newSys(t), newSys(t)
	v, _ := a.Vaults.Create("prod")
	shareWith(a, b, v)
	for _, n := range []*sysNode{b, c} {
		n.Graph.Add(NodeAddress{NodeID: a.Keyring.NodeID(), Host: "127.0.0.1", Port: a.Node.Addr().Port})
		if _, err := n.Node.Ping(ctx(t), a.Keyring.NodeID()); err != nil {
			t.Fatal(err)
		}
	}
	if got, err := a.Graph.Get(b.Keyring.NodeID()); err != nil || got.Port != b.Node.Addr().Port || !got.Learned {
		t.Fatalf("the trusted peer: %+v %v", got, err)
	}
	if _, err := a.Graph.Get(c.Keyring.NodeID()); err == nil {
		t.Fatal("a stranger's hello was recorded")
	}
}
