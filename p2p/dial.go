package p2p

import (
	"context"
	"errors"
	"fmt"
	"net"
	"time"

	"github.com/pkfs/pkfs/keyring"
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

// dial connects to id at the addresses known for it, the graph's and a
// hint's, the one seen more recently first. The address where id's key
// answers is learned into the graph: the outbound contact confirmed it.
func (n *Node) dial(ctx context.Context, id keyring.NodeID) (*peerConn, error) {
	addrs, err := n.addressesOf(id)
	if err != nil {
		return nil, err
	}
	for _, a := range addrs {
		var pc *peerConn
		if pc, err = n.dialAt(ctx, id, a); err != nil {
			if ctx.Err() != nil {
				break
			}
			continue
		}
		a.LastSeen = time.Now().UTC()
		if lerr := n.Graph.Learn(a); lerr != nil {
			logf("%s answered at %s but is not recorded: %v", id, a.Addr(), lerr)
		}
		n.hints.forget(id)
		n.register(pc)
		return pc, nil
	}
	return nil, err
}

// addressesOf returns where id may listen, most recently seen first.
func (n *Node) addressesOf(id keyring.NodeID) ([]NodeAddress, error) {
	g, gerr := n.Graph.Get(id)
	if gerr != nil && !errors.Is(gerr, ErrUnknownNode) {
		return nil, gerr
	}
	h, seen, ok := n.hints.get(id)
	switch {
	case gerr != nil && !ok:
		return nil, gerr
	case gerr != nil:
		return []NodeAddress{h}, nil
	case !ok || h.Addr() == g.Addr():
		return []NodeAddress{g}, nil
	case seen.After(g.LastSeen):
		return []NodeAddress{h, g}, nil
	}
	return []NodeAddress{g, h}, nil
}

// dialAt connects to id at a and confirms the connection with a hello.
func (n *Node) dialAt(ctx context.Context, id keyring.NodeID, a NodeAddress) (*peerConn, error) {
	ua, err := net.ResolveUDPAddr("udp", a.Addr())
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrUnavailable, id, err)
	}
	dctx, cancel := context.WithTimeout(ctx, DialTimeout)
	defer cancel()
	c, err := n.tr.Dial(dctx, ua, clientTLS(n.cert.c, id), quicConfig())
	if err != nil {
		if errors.Is(err, ErrPeerID) || isPeerIDError(err) {
			return nil, fmt.Errorf("%w: %s at %s", ErrPeerID, id, a.Addr())
		}
		return nil, fmt.Errorf("%w: %s at %s: %v", ErrUnavailable, id, a.Addr(), err)
	}
	pc := &peerConn{id: id, conn: c, since: time.Now(), out: true}
	if err := n.hello(dctx, pc); err != nil {
		c.CloseWithError(2, "hello failed")
		return nil, err
	}
	return pc, nil
}
