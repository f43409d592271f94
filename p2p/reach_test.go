package p2p

import (
	"errors"
	"net"
	"strconv"
	"testing"
	"time"
)

// connVia returns how a's connection to b came up ("" when none).
func connVia(a *testNode, b *testNode) Via {
	for _, ci := range a.Connections() {
		if ci.NodeID == b.ID() {
			return ci.Via
		}
	}
	return ""
}

// TestObservedAddressFromHello: the node a dials tells it where it sees
// it; a keeps that address with who saw it.
func TestObservedAddressFromHello(t *testing.T) {
	a, b := newTestNode(t), newTestNode(t)
	a.know(t, b)
	if _, err := a.Ping(ctx(t), b.ID()); err != nil {
		t.Fatal(err)
	}
	obs := a.ObservedAddresses()
	want := "127.0.0.1:" + strconv.Itoa(a.Addr().Port)
	if len(obs) != 1 || obs[0].Address != want || len(obs[0].SeenBy) != 1 || obs[0].SeenBy[0] != b.ID() {
		t.Fatalf("a's observed addresses: %+v, want %s seen by b", obs, want)
	}
	if got := connVia(a, b); got != ViaDirect {
		t.Fatalf("a's connection to b is %q", got)
	}
}

// TestObservedTableBounds: a bounded table that prefers addresses
// reported by more peers; garbage is ignored.
func TestObservedTableBounds(t *testing.T) {
	o := newObserved()
	ids := []*testNode{newTestNode(t), newTestNode(t)}
	o.add("192.0.2.1:1314", ids[0].ID())
	o.add("192.0.2.1:1314", ids[1].ID())
	for i := range 20 {
		o.add("198.51.100.7:"+strconv.Itoa(2000+i), ids[0].ID())
	}
	for _, bad := range []string{"", "x", "0.0.0.0:1", "224.0.0.1:5", "10.0.0.1:0", "[fe80::1%eth0]:7", "255.255.255.255:9"} {
		o.add(bad, ids[0].ID())
	}
	l := o.list()
	if len(l) != maxObserved || l[0].Address != "192.0.2.1:1314" || len(l[0].SeenBy) != 2 {
		t.Fatalf("observed: %+v", l)
	}
	for _, e := range l {
		if _, ok := parseAddrPort(e.Address); !ok {
			t.Fatalf("kept %q", e.Address)
		}
	}
}

// TestPunchThroughCommonPeer: a and b know only s; a reaches b through a
// signal of s, and both sides see the connection as punched.
func TestPunchThroughCommonPeer(t *testing.T) {
	a, b, s := newTestNode(t), newTestNode(t), newTestNode(t)
	a.know(t, s)
	b.know(t, s)
	for _, n := range []*testNode{a, b} {
		if _, err := n.Ping(ctx(t), s.ID()); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := a.Ping(ctx(t), b.ID()); err != nil {
		t.Fatalf("a reaches b through s: %v", err)
	}
	if got := connVia(a, b); got != ViaPunched {
		t.Fatalf("a's connection to b is %q, want punched", got)
	}
	waitFor(t, "b's side of the punched connection", func() bool { return connVia(b, a) == ViaPunched })
	waitFor(t, "b's punch packets to reach a", func() bool { return a.pstats.punches.Load() > 0 })
	if _, err := a.Graph.Get(b.ID()); err == nil {
		t.Fatal("a punched address went into the graph")
	}
}

// TestPunchOfUnknownNode: nobody a is connected to knows the node: the
// dial says it is unknown.
func TestPunchOfUnknownNode(t *testing.T) {
	a, s, ghost := newTestNode(t), newTestNode(t), newTestNode(t)
	a.know(t, s)
	if _, err := a.Ping(ctx(t), s.ID()); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Ping(ctx(t), ghost.ID()); !isUnknown(err) {
		t.Fatalf("ping of a node nobody knows: %v", err)
	}
}

// TestRelayedConnectionUpgrades: a connects to b through relay s; the
// connection is relayed, calls work over it, and the upgrade loop
// replaces it with a punched one, closing the relayed one after it.
func TestRelayedConnectionUpgrades(t *testing.T) {
	oldFirst, oldGrace := upgradeFirst, retireGrace
	upgradeFirst, retireGrace = 200*time.Millisecond, 100*time.Millisecond
	t.Cleanup(func() { upgradeFirst, retireGrace = oldFirst, oldGrace })
	a, b := newTestNode(t), newTestNodeWith(t, RelayOptions{Enabled: true}) // b relays too: it must refuse over a relay
	s := newTestNodeWith(t, RelayOptions{Enabled: true})
	a.know(t, s)
	b.know(t, s)
	for _, n := range []*testNode{a, b} {
		if _, err := n.Ping(ctx(t), s.ID()); err != nil {
			t.Fatal(err)
		}
	}
	if !a.outerConn(s.ID()).relays {
		t.Fatal("s's hello did not say that it relays")
	}
	pc, _, err := a.dialRelayed(ctx(t), s.ID(), b.ID())
	if err != nil {
		t.Fatal(err)
	}
	a.register(pc)
	if got := connVia(a, b); got != ViaRelayed {
		t.Fatalf("a's connection to b is %q", got)
	}
	waitFor(t, "b's side of the relayed connection", func() bool { return connVia(b, a) == ViaRelayed })
	for range 20 {
		if _, err := a.Ping(ctx(t), b.ID()); err != nil {
			t.Fatalf("ping over the relay: %v", err)
		}
	}
	if st := s.RelayStats(); st.Sessions != 1 || st.Packets < 40 || st.Bytes == 0 {
		t.Fatalf("relay stats: %+v", st)
	}
	// over a relayed connection, no one punches or relays: the address
	// it comes from is the relay's
	for _, m := range []string{"reach.punch", "relay.open"} {
		body := map[string]any{"target": s.ID(), "peer": s.ID()}
		if m == "reach.punch" {
			delete(body, "peer")
		} else {
			delete(body, "target")
		}
		if err := a.callOn(ctx(t), pc, m, body, nil, nil); !errors.Is(err, ErrPermission) {
			t.Fatalf("%s over the relayed connection: %v", m, err)
		}
	}
	a.wg.Add(1)
	go a.upgrade(pc)
	waitFor(t, "the upgrade to a punched connection", func() bool { return connVia(a, b) == ViaPunched })
	waitFor(t, "the relayed connection to close", func() bool { return pc.conn.Context().Err() != nil })
	waitFor(t, "the relay session to end", func() bool { return s.RelayStats().Sessions == 0 })
	if _, err := a.Ping(ctx(t), b.ID()); err != nil {
		t.Fatal(err)
	}
}

// TestRelayForwardsOnlyBetweenItsEnds: packets with a live session's ID
// from any other address are dropped, not forwarded; so are registrations
// with a wrong token, which move nothing.
func TestRelayForwardsOnlyBetweenItsEnds(t *testing.T) {
	a, b := newTestNode(t), newTestNode(t)
	s := newTestNodeWith(t, RelayOptions{Enabled: true})
	a.know(t, s)
	b.know(t, s)
	for _, n := range []*testNode{a, b} {
		if _, err := n.Ping(ctx(t), s.ID()); err != nil {
			t.Fatal(err)
		}
	}
	pc, _, err := a.dialRelayed(ctx(t), s.ID(), b.ID())
	if err != nil {
		t.Fatal(err)
	}
	a.register(pc)
	before := s.RelayStats()
	attacker, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer attacker.Close()
	relay := &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: s.relay.port}
	sid := pc.sid
	quicLike := append([]byte{0x40}, make([]byte, 60)...)
	for range 50 {
		attacker.WriteTo(quicLike, relay) // from no registered address
		attacker.WriteTo(append(append([]byte{pktRegister}, sid[:]...), make([]byte, tokenLen)...), relay)
		attacker.WriteTo([]byte{pktRegister, 1, 2}, relay)
	}
	waitFor(t, "the relay to drop the packets", func() bool { return s.RelayStats().Dropped >= before.Dropped+150 })
	if st := s.RelayStats(); st.Packets > before.Packets+5 { // keep-alives may cross meanwhile
		t.Fatalf("the relay forwarded %d packets of others", st.Packets-before.Packets)
	}
	attacker.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
	if k, _, err := attacker.ReadFrom(make([]byte, 64)); err == nil {
		t.Fatalf("the relay answered the attacker (%d bytes)", k)
	}
	if _, err := a.Ping(ctx(t), b.ID()); err != nil {
		t.Fatalf("the session stopped working: %v", err)
	}
}

func isUnknown(err error) bool { return errors.Is(err, ErrUnknownNode) }

// TestLookupThroughSeed: a seed answers a lookup of a node connected to
// it (not in its graph) with where it sees it, and lists no other node
// connected to it.
func TestLookupThroughSeed(t *testing.T) {
	a, b, c, s := newTestNode(t), newTestNode(t), newTestNode(t), newTestNode(t)
	connected(t, s, a, b, c)
	var got []NodeAddress
	if err := a.Call(ctx(t), s.ID(), "nodes.closest", map[string]any{"target": b.ID()}, &got, nil); err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].NodeID != b.ID() || got[0].Port != b.Addr().Port {
		t.Fatalf("the seed's answer for b: %+v", got)
	}
	if err := a.Call(ctx(t), s.ID(), "nodes.closest", map[string]any{"target": a.ID()}, &got, nil); err != nil {
		t.Fatal(err)
	}
	for _, g := range got {
		if g.NodeID == b.ID() || g.NodeID == c.ID() {
			t.Fatalf("the seed listed a connected stranger: %+v", got)
		}
	}
	found, err := a.Find(ctx(t), b.ID())
	if err != nil || found.NodeID != b.ID() {
		t.Fatalf("find of b through the seed: %+v %v", found, err)
	}
}
