package p2p

import (
	"context"
	"errors"
	"fmt"
	"net"
	"slices"
	"sync/atomic"
	"time"

	"github.com/pkfs/pkfs/keyring"
)

// How long a dial tries the known addresses alone before it also tries
// through peers (a punch, then a relay): an address of the graph (which
// worked before) a second, a hint (which nothing confirmed: lookups give
// them for nodes behind NATs) a quarter of one. With no address it tries
// through peers at once.
const (
	punchDelay     = time.Second
	punchDelayHint = 250 * time.Millisecond
)

// conn returns a live connection to id, dialling (once, for concurrent
// callers) when there is none.
func (n *Node) conn(ctx context.Context, id keyring.NodeID) (*peerConn, error) {
	if id == n.id {
		return nil, ErrSelf
	}
	n.mu.Lock()
	if pc, ok := n.conns[id]; ok && pc.conn.Context().Err() == nil {
		n.mu.Unlock()
		return pc, nil
	}
	if d, ok := n.dialing[id]; ok {
		n.mu.Unlock()
		select {
		case <-d.done:
			return d.pc, d.err
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	d := &dialCall{done: make(chan struct{})}
	n.dialing[id] = d
	n.mu.Unlock()
	d.pc, d.err = n.dial(ctx, id)
	n.mu.Lock()
	delete(n.dialing, id)
	n.mu.Unlock()
	close(d.done)
	return d.pc, d.err
}

type dialResult struct {
	pc     *peerConn
	a      NodeAddress // the address dialled directly
	direct bool
	err    error
}

// dial connects to id: at the addresses known for it (the graph's and a
// hint's, the one seen more recently first), and through peers (see
// punchDelay). The first connection that comes up is kept; a direct dial
// that came up after a peer signalled id counts as punched (the signal
// may have opened id's NAT to us). An address where id's key answered a
// direct dial is learned into the graph (the outbound contact confirmed
// it); one that only a punch's addresses gave is a hint (a NAT's mapping
// for us, which will expire).
func (n *Node) dial(ctx context.Context, id keyring.NodeID) (*peerConn, error) {
	addrs, aerr := n.addressesOf(id)
	if aerr != nil && !errors.Is(aerr, ErrUnknownNode) {
		return nil, aerr
	}
	_, gerr := n.Graph.Get(id)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	results := make(chan dialResult, 2)
	var signalled atomic.Bool
	pending, indirect := 0, false
	startIndirect := func() {
		if !indirect {
			indirect = true
			pending++
			go func() { pc, err := n.dialIndirect(ctx, id, &signalled); results <- dialResult{pc: pc, err: err} }()
		}
	}
	if len(addrs) > 0 {
		pending++
		go func() { pc, a, err := n.dialDirect(ctx, id, addrs); results <- dialResult{pc, a, true, err} }()
	}
	delay := punchDelay
	if gerr != nil {
		delay = punchDelayHint
	}
	if len(addrs) == 0 {
		startIndirect()
	}
	timer := time.NewTimer(delay)
	defer timer.Stop()
	var directErr, indirectErr error
	for pending > 0 {
		select {
		case <-timer.C:
			startIndirect()
		case r := <-results:
			pending--
			if r.err == nil {
				cancel()
				go closeLosers(results, pending)
				if r.direct && signalled.Load() {
					r.pc.via = ViaPunched
				}
				n.adopt(r)
				return r.pc, nil
			}
			if r.direct {
				directErr = r.err
				startIndirect()
			} else {
				indirectErr = r.err
			}
		}
	}
	return nil, dialError(aerr, directErr, indirectErr)
}

// closeLosers closes the connections of dials that came up after another.
func closeLosers(results chan dialResult, pending int) {
	for ; pending > 0; pending-- {
		if r := <-results; r.err == nil {
			r.pc.conn.CloseWithError(0, "another connection won")
		}
	}
}

// dialError picks what a failed dial says: an impostor at a known address
// first, then what the way through peers found, then the direct dial's
// failure, and when nothing was tried, that the node is unknown.
func dialError(aerr, direct, indirect error) error {
	switch {
	case direct != nil && errors.Is(direct, ErrPeerID):
		return direct
	case indirect != nil && !errors.Is(indirect, errNoRoute):
		return indirect
	case direct != nil:
		return direct
	case aerr != nil:
		return aerr
	}
	return indirect
}

// adopt records what a successful dial learned and serves the connection.
func (n *Node) adopt(r dialResult) {
	switch {
	case r.direct:
		r.a.LastSeen = time.Now().UTC()
		if err := n.Graph.Learn(r.a); err != nil {
			logf("%s answered at %s but is not recorded: %v", r.pc.id, r.a.Addr(), err)
		}
		n.hints.forget(r.pc.id)
	case r.pc.via == ViaPunched:
		if ua, ok := r.pc.conn.RemoteAddr().(*net.UDPAddr); ok {
			if _, err := n.Graph.Get(r.pc.id); err != nil {
				n.hints.put(NodeAddress{NodeID: r.pc.id, Host: ua.IP.String(), Port: ua.Port})
			}
		}
	}
	n.register(r.pc)
}

// dialDirect tries the addresses in order.
func (n *Node) dialDirect(ctx context.Context, id keyring.NodeID, addrs []NodeAddress) (*peerConn, NodeAddress, error) {
	var err error
	for _, a := range addrs {
		var pc *peerConn
		if pc, err = n.dialAt(ctx, id, a.Addr(), ViaDirect, DialTimeout); err == nil {
			return pc, a, nil
		}
		if ctx.Err() != nil {
			break
		}
	}
	return nil, NodeAddress{}, err
}

// dialAny dials all addrs at once and keeps the first connection that
// comes up (the others are closed).
func (n *Node) dialAny(ctx context.Context, id keyring.NodeID, addrs []string, via Via, timeout time.Duration) (*peerConn, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	results := make(chan dialResult, len(addrs))
	for _, a := range addrs {
		go func() { pc, err := n.dialAt(ctx, id, a, via, timeout); results <- dialResult{pc: pc, err: err} }()
	}
	var first error
	for i := range addrs {
		r := <-results
		if r.err == nil {
			cancel()
			go closeLosers(results, len(addrs)-i-1)
			return r.pc, nil
		}
		if first == nil || errors.Is(first, ErrPeerID) {
			first = r.err // another node at one of the addresses says little
		}
	}
	if errors.Is(first, ErrPeerID) {
		first = fmt.Errorf("%w: %s: %v", ErrUnavailable, id, first)
	}
	return nil, first
}

// addressesOf returns where id may listen, most recently seen first, then
// the addresses a lookup said it was seen at.
func (n *Node) addressesOf(id keyring.NodeID) ([]NodeAddress, error) {
	g, gerr := n.Graph.Get(id)
	if gerr != nil && !errors.Is(gerr, ErrUnknownNode) {
		return nil, gerr
	}
	h, seen, ok := n.hints.get(id)
	var out []NodeAddress
	switch {
	case gerr != nil && !ok:
		return nil, gerr
	case gerr != nil:
		out = []NodeAddress{h}
	case !ok || h.Addr() == g.Addr():
		out = []NodeAddress{g}
	case seen.After(g.LastSeen):
		out = []NodeAddress{h, g}
	default:
		out = []NodeAddress{g, h}
	}
	for _, o := range h.Observed {
		ap, ok := parseAddrPort(o)
		a := NodeAddress{NodeID: id, Host: ap.Addr().String(), Port: int(ap.Port())}
		if ok && !slices.ContainsFunc(out, func(x NodeAddress) bool { return x.Addr() == a.Addr() }) && len(out) < 4 {
			out = append(out, a)
		}
	}
	return out, nil
}

// dialAt connects to id at addr and confirms the connection with a hello.
func (n *Node) dialAt(ctx context.Context, id keyring.NodeID, addr string, via Via, timeout time.Duration) (*peerConn, error) {
	ua, err := net.ResolveUDPAddr("udp", addr)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrUnavailable, id, err)
	}
	dctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	c, err := n.tr.Dial(dctx, ua, clientTLS(n.cert.c, id), quicConfig())
	if err != nil {
		if errors.Is(err, ErrPeerID) || isPeerIDError(err) {
			return nil, fmt.Errorf("%w: %s at %s", ErrPeerID, id, addr)
		}
		return nil, fmt.Errorf("%w: %s at %s: %v", ErrUnavailable, id, addr, err)
	}
	pc := &peerConn{id: id, conn: c, since: time.Now(), out: true, via: via}
	if err := n.hello(dctx, pc); err != nil {
		c.CloseWithError(2, "hello failed")
		return nil, err
	}
	return pc, nil
}
