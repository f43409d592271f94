package p2p

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"sync/atomic"
	"time"

	"github.com/pkfs/pkfs/keyring"
)

// Hole punching. A cannot dial B (both behind NATs), but both are
// connected to S (a seed, or any common peer):
//
//  1. A calls S reach.punch{target: B, addrs: A's own candidates};
//  2. S, which must hold a connection to B (it signals only for peers it
//     knows), calls B reach.signal{from: A, addrs: where S sees A, then
//     A's candidates};
//  3. B sends a few punch packets to A's addresses, from its one socket:
//     its NAT now lets A's packets in; it answers S with its candidates;
//  4. S answers A with where it sees B, then B's candidates; A dials them
//     all at once (QUIC's own retransmissions are the retries) and keeps
//     the first connection that comes up: the usual TLS-pinned one.
//
// Signalling is authenticated (it runs over the connections' pinned
// node IDs) and rate-limited at S (per caller) and at B (per signaller
// and in all), and B sends at most punchBurst packets to at most
// maxCandidates addresses per signal. A tries punchAttempts times.
const (
	PunchTimeout   = 2 * time.Second // a punched dial, per attempt
	punchAttempts  = 2
	maxCandidates  = 6
	punchExpect    = 30 * time.Second // an inbound connection this soon after a signal was punched
	signalsPerNode = 2 * time.Second  // one signal per signaller per this, on average
)

// punchSchedule is when B sends its punch packets after a signal.
var punchSchedule = []time.Duration{0, 100 * time.Millisecond, 250 * time.Millisecond,
	500 * time.Millisecond, time.Second, 2 * time.Second}

type punchRequest struct {
	Target keyring.NodeID `json:"target"`
	Addrs  []string       `json:"addrs,omitempty"`
}

type punchAnswer struct {
	Addrs []string `json:"addrs"`
}

type signalRequest struct {
	From  keyring.NodeID `json:"from"`
	Addrs []string       `json:"addrs"`
}

type signalAnswer struct {
	Addrs []string `json:"addrs"`
}

// cleanAddrs keeps the valid, distinct addresses, at most maxCandidates.
func cleanAddrs(in []string) []string {
	out := []string{}
	seen := map[string]bool{}
	for _, s := range in {
		ap, ok := parseAddrPort(s)
		if !ok || seen[ap.String()] {
			continue
		}
		seen[ap.String()] = true
		out = append(out, ap.String())
		if len(out) == maxCandidates {
			break
		}
	}
	return out
}

// handlePunch serves reach.punch: we introduce the caller to a node we
// are connected to.
func (n *Node) handlePunch(ctx context.Context, from Peer, body json.RawMessage, _ io.Writer) (any, error) {
	var req punchRequest
	if err := decodeBody(body, &req); err != nil {
		return nil, err
	}
	if req.Target == from.ID || req.Target == n.id {
		return nil, fmt.Errorf("%w: a punch joins two other nodes", ErrBadRequest)
	}
	if len(req.Addrs) > maxCandidates {
		return nil, fmt.Errorf("%w: %d addresses", ErrBadRequest, len(req.Addrs))
	}
	src := udpString(from.Addr)
	if src == "" || from.Via == ViaRelayed {
		return nil, fmt.Errorf("%w: no punch over a relayed connection", ErrPermission)
	}
	if !n.punchLimit.allow(from.ID) {
		return nil, fmt.Errorf("%w: punch requests", ErrRateLimited)
	}
	pc := n.outerConn(req.Target)
	if pc == nil {
		return nil, fmt.Errorf("%w: not connected to %s", ErrNotFound, req.Target)
	}
	sctx, cancel := context.WithTimeout(ctx, DialTimeout)
	defer cancel()
	var sa signalAnswer
	sig := signalRequest{From: from.ID, Addrs: cleanAddrs(append([]string{src}, req.Addrs...))}
	if err := n.callOn(sctx, pc, "reach.signal", sig, &sa, nil); err != nil {
		if errors.Is(err, ErrRateLimited) {
			return nil, err
		}
		return nil, fmt.Errorf("%w: %s did not take the signal: %v", ErrNotFound, req.Target, err)
	}
	return punchAnswer{Addrs: cleanAddrs(append([]string{udpString(pc.conn.RemoteAddr())}, sa.Addrs...))}, nil
}

// handleSignal serves reach.signal: a peer says that a node wants to
// connect to us; we open our NAT towards it.
func (n *Node) handleSignal(ctx context.Context, from Peer, body json.RawMessage, _ io.Writer) (any, error) {
	var req signalRequest
	if err := decodeBody(body, &req); err != nil {
		return nil, err
	}
	if req.From == n.id || req.From == from.ID {
		return nil, fmt.Errorf("%w: a signal is about another node", ErrBadRequest)
	}
	if len(req.Addrs) > maxCandidates {
		return nil, fmt.Errorf("%w: %d addresses", ErrBadRequest, len(req.Addrs))
	}
	addrs := cleanAddrs(req.Addrs)
	if len(addrs) == 0 {
		return nil, fmt.Errorf("%w: no address to punch", ErrBadRequest)
	}
	if !n.signalLimit.allow(from.ID) || !n.signalAll.take(1) {
		return nil, fmt.Errorf("%w: signals", ErrRateLimited)
	}
	n.expectPunch(req.From)
	n.sendPunches(addrs)
	return signalAnswer{Addrs: n.candidates()}, nil
}

// sendPunches sends punch packets to addrs on punchSchedule, in the
// background.
func (n *Node) sendPunches(addrs []string) {
	n.wg.Add(1)
	go func() {
		defer n.wg.Done()
		start := time.Now()
		for _, at := range punchSchedule {
			select {
			case <-n.ctx.Done():
				return
			case <-time.After(time.Until(start.Add(at))):
			}
			for _, a := range addrs {
				ap, _ := parseAddrPort(a)
				_, _ = n.tr.WriteTo(punchPacket(), net.UDPAddrFromAddrPort(ap))
			}
		}
	}()
}

// expectPunch notes that a connection from id may come through a punch.
func (n *Node) expectPunch(id keyring.NodeID) {
	n.mu.Lock()
	defer n.mu.Unlock()
	for k, t := range n.expect {
		if time.Since(t) > punchExpect {
			delete(n.expect, k)
		}
	}
	if len(n.expect) < maxHints {
		n.expect[id] = time.Now()
	}
}

// punchedFrom reports (once) whether an inbound connection from id
// follows a signal. n.mu is held.
func (n *Node) punchedFromLocked(id keyring.NodeID) bool {
	t, ok := n.expect[id]
	delete(n.expect, id)
	return ok && time.Since(t) <= punchExpect
}

// punchVia asks via to introduce us to target, and dials target at the
// addresses it answers. signalled says that via reached target: when the
// punch fails then, other introducers would not do better. It also sets
// onSignal (when not nil) as soon as via has signalled.
func (n *Node) punchVia(ctx context.Context, via, target keyring.NodeID, onSignal *atomic.Bool) (pc *peerConn, signalled bool, err error) {
	vpc := n.outerConn(via)
	if vpc == nil {
		return nil, false, fmt.Errorf("%w: not connected to %s", ErrUnavailable, via)
	}
	for range punchAttempts {
		var ans punchAnswer
		cctx, cancel := context.WithTimeout(ctx, DialTimeout)
		err = n.callOn(cctx, vpc, "reach.punch", punchRequest{Target: target, Addrs: n.candidates()}, &ans, nil)
		cancel()
		if err != nil {
			return nil, signalled, err
		}
		signalled = true
		if onSignal != nil {
			onSignal.Store(true)
		}
		addrs := cleanAddrs(ans.Addrs)
		if len(addrs) == 0 {
			return nil, true, fmt.Errorf("%w: no address for %s", ErrBadRequest, target)
		}
		if pc, err = n.dialAny(ctx, target, addrs, ViaPunched, PunchTimeout); err == nil || ctx.Err() != nil {
			return pc, true, err
		}
	}
	return nil, true, err
}
