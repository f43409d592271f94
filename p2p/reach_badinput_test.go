package p2p

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

// connected makes every node of ns connected to hub.
func connected(t *testing.T, hub *testNode, ns ...*testNode) {
	t.Helper()
	for _, n := range ns {
		n.know(t, hub)
		if _, err := n.Ping(ctx(t), hub.ID()); err != nil {
			t.Fatal(err)
		}
	}
}

// TestReachBadInput: malformed and hostile requests of the punch and
// relay methods are refused with the right code; the nodes go on serving.
func TestReachBadInput(t *testing.T) {
	a, b, plain, ghost := newTestNode(t), newTestNode(t), newTestNode(t), newTestNode(t)
	s := newTestNodeWith(t, RelayOptions{Enabled: true})
	connected(t, s, a, b)
	connected(t, plain, a)
	connected(t, b, a)
	id := func(n *testNode) string { return `"` + n.ID().String() + `"` }
	seven := `["1.2.3.4:1","1.2.3.4:2","1.2.3.4:3","1.2.3.4:4","1.2.3.4:5","1.2.3.4:6","1.2.3.4:7"]`
	cases := []struct {
		name   string
		to     *testNode
		method string
		body   string
		want   error
	}{
		{"punch: not a node ID", s, "reach.punch", `{"target":7}`, ErrBadRequest},
		{"punch: unknown field", s, "reach.punch", `{"target":` + id(b) + `,"x":1}`, ErrBadRequest},
		{"punch: the caller", s, "reach.punch", `{"target":` + id(a) + `}`, ErrBadRequest},
		{"punch: the introducer", s, "reach.punch", `{"target":` + id(s) + `}`, ErrBadRequest},
		{"punch: too many addresses", s, "reach.punch", `{"target":` + id(b) + `,"addrs":` + seven + `}`, ErrBadRequest},
		{"punch: a node the introducer is not connected to", s, "reach.punch", `{"target":` + id(ghost) + `}`, ErrNotFound},
		{"signal: no address", b, "reach.signal", `{"from":` + id(s) + `,"addrs":[]}`, ErrBadRequest},
		{"signal: no usable address", b, "reach.signal", `{"from":` + id(s) + `,"addrs":["0.0.0.0:1","224.0.0.1:9","x",""]}`, ErrBadRequest},
		{"signal: about the caller", b, "reach.signal", `{"from":` + id(a) + `,"addrs":["127.0.0.1:9"]}`, ErrBadRequest},
		{"signal: too many addresses", b, "reach.signal", `{"from":` + id(s) + `,"addrs":` + seven + `}`, ErrBadRequest},
		{"relay.open: a node that does not relay", plain, "relay.open", `{"peer":` + id(b) + `}`, ErrPermission},
		{"relay.open: a peer the relay does not know", s, "relay.open", `{"peer":` + id(ghost) + `}`, ErrNotFound},
		{"relay.open: the relay itself", s, "relay.open", `{"peer":` + id(s) + `}`, ErrBadRequest},
		{"relay.open: the caller", s, "relay.open", `{"peer":` + id(a) + `}`, ErrBadRequest},
		{"relay.open: not a node ID", s, "relay.open", `{"peer":"x"}`, ErrBadRequest},
		{"relay.offer: session not hex", b, "relay.offer", `{"from":` + id(ghost) + `,"session":"zzzzzzzzzzzzzzzz"}`, ErrBadRequest},
		{"relay.offer: short session", b, "relay.offer", `{"from":` + id(ghost) + `,"session":"abcd"}`, ErrBadRequest},
		{"relay.offer: about ourselves", b, "relay.offer", `{"from":` + id(b) + `,"session":"0011223344556677"}`, ErrBadRequest},
		{"relay.offer: bad token", b, "relay.offer", `{"from":` + id(ghost) + `,"session":"0011223344556677","port":9,"token":"00"}`, ErrBadRequest},
		{"relay.offer: no port", b, "relay.offer", `{"from":` + id(ghost) + `,"session":"0011223344556677","token":"00112233445566778899aabbccddeeff"}`, ErrBadRequest},
		{"relay.close: bad session", s, "relay.close", `{"session":"nope"}`, ErrBadRequest},
	}
	for _, c := range cases {
		err := a.Call(ctx(t), c.to.ID(), c.method, json.RawMessage(c.body), nil, nil)
		if !errors.Is(err, c.want) {
			t.Errorf("%s: %v, want %v", c.name, err, c.want)
		}
	}
	if st := s.RelayStats(); st.Sessions != 0 {
		t.Fatalf("refused requests left relay sessions: %+v", st)
	}
	// everyone still serves
	for _, n := range []*testNode{s, b, plain} {
		if _, err := a.Ping(ctx(t), n.ID()); err != nil {
			t.Fatal(err)
		}
	}
}

// TestReachRateLimits: punch requests, signals and relay sessions are
// bounded per caller and in all.
func TestReachRateLimits(t *testing.T) {
	a, b, ghost := newTestNode(t), newTestNode(t), newTestNode(t)
	s := newTestNodeWith(t, RelayOptions{Enabled: true, MaxSessions: 2})
	connected(t, s, a, b)
	connected(t, b, a)
	limited := func(what string, call func() error) int {
		t.Helper()
		for i := range 30 {
			if err := call(); errors.Is(err, ErrRateLimited) {
				return i
			}
		}
		t.Fatalf("%s: 30 calls in a row and none limited", what)
		return 0
	}
	punch := punchRequest{Target: ghost.ID()}
	if n := limited("punch requests", func() error { return a.Call(ctx(t), s.ID(), "reach.punch", punch, nil, nil) }); n > 10 {
		t.Fatalf("%d punch requests before the limit", n)
	}
	sig := signalRequest{From: ghost.ID(), Addrs: []string{"127.0.0.1:9"}} // the discard port
	if n := limited("signals", func() error { return a.Call(ctx(t), b.ID(), "reach.signal", sig, nil, nil) }); n > 10 {
		t.Fatalf("%d signals before the limit", n)
	}
	// relay sessions: two at most here
	var sessions []string
	err := error(nil)
	for i := 0; i < 3 && err == nil; i++ {
		var ans relayOpenAnswer
		if err = a.Call(ctx(t), s.ID(), "relay.open", relayOpenRequest{Peer: b.ID()}, &ans, nil); err == nil {
			sessions = append(sessions, ans.Session)
		}
	}
	if len(sessions) != 2 || !errors.Is(err, ErrRateLimited) || !strings.Contains(err.Error(), "2 sessions") {
		t.Fatalf("sessions %v, then %v", sessions, err)
	}
	if st := s.RelayStats(); st.Sessions != 2 || st.Peers != 2 {
		t.Fatalf("relay stats: %+v", st)
	}
	// an end closes its session: there is room again
	if err := a.Call(ctx(t), s.ID(), "relay.close", relayCloseRequest{Session: sessions[0]}, nil, nil); err != nil {
		t.Fatal(err)
	}
	// another node cannot close a session it is not part of
	other := newTestNode(t)
	connected(t, s, other)
	if err := other.Call(ctx(t), s.ID(), "relay.close", relayCloseRequest{Session: sessions[1]}, nil, nil); err != nil {
		t.Fatal(err)
	}
	if st := s.RelayStats(); st.Sessions != 1 {
		t.Fatalf("after a close by an end and one by a stranger: %+v", st)
	}
}
