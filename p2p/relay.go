package p2p

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pkfs/pkfs/keyring"
)

// RelayOptions say whether, and how much, a node relays for others. Off
// by default: a node relays only when its user asks (--relay, --seed).
type RelayOptions struct {
	Enabled     bool
	MaxSessions int   // sessions at once (default 64)
	MaxPerPeer  int   // sessions one node may be part of (default 8)
	MaxPeers    int   // nodes with sessions at once (default 32)
	Rate        int64 // bytes a second forwarded, all sessions together (default 32 MiB)
	// TestOnlyTamperEvery flips a byte of every Nth packet forwarded: the
	// tests show with it that a relay cannot alter what it carries.
	TestOnlyTamperEvery int
}

func (o RelayOptions) withDefaults() RelayOptions {
	if o.MaxSessions <= 0 {
		o.MaxSessions = 64
	}
	if o.MaxPerPeer <= 0 {
		o.MaxPerPeer = 8
	}
	if o.MaxPeers <= 0 {
		o.MaxPeers = 32
	}
	if o.Rate <= 0 {
		o.Rate = 32 << 20
	}
	return o
}

// Timing of relay sessions.
const (
	relayIdle  = 2 * time.Minute  // a session nothing crossed for this long ends
	relaySweep = 10 * time.Second // how often ended sessions are removed
)

// RelayStats is what a relay did (agent status).
type RelayStats struct {
	Enabled  bool  `json:"enabled"`
	Sessions int   `json:"sessions"`
	Peers    int   `json:"peers"`
	Packets  int64 `json:"packets"` // forwarded
	Bytes    int64 `json:"bytes"`   // forwarded
	Dropped  int64 `json:"dropped"` // no such session, not from its ends, or past the rate
	Tampered int64 `json:"tampered,omitempty"`
}

// relayServer forwards packets between the two ends of a session: only
// sessions that both ends asked for over their own connections to us
// (the caller with relay.open, the peer by accepting relay.offer), and
// only from and to the addresses those connections come from. What it
// forwards is QUIC between the two ends: it can drop it, not read or
// change it.
type relayServer struct {
	n      *Node
	opt    RelayOptions
	bucket *tokenBucket
	opens  *rateLimiter[keyring.NodeID]

	mu       sync.Mutex
	sessions map[sessionID]*relaySession

	packets, bytes, dropped, tampered atomic.Int64
}

type relaySession struct {
	a, b         keyring.NodeID // a asked, b accepted
	addrA, addrB netip.AddrPort // b's is set once b accepted
	last         atomic.Int64   // unix nanoseconds of the last packet
}

func newRelayServer(n *Node, o RelayOptions) *relayServer {
	o = o.withDefaults()
	return &relayServer{n: n, opt: o, bucket: newBucket(float64(o.Rate), float64(max(o.Rate/4, 64<<10))),
		opens: newRateLimiter[keyring.NodeID](3*time.Second, 10, 1024), sessions: map[sessionID]*relaySession{}}
}

func (r *relayServer) enabled() bool { return r != nil && r.opt.Enabled }

// addrPortOf returns a UDP address in the form sessions compare.
func addrPortOf(a *net.UDPAddr) netip.AddrPort {
	ap := a.AddrPort()
	return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())
}

type relayOpenRequest struct {
	Peer keyring.NodeID `json:"peer"`
}

type relayOpenAnswer struct {
	Session string `json:"session"`
}

// handleOpen serves relay.open: the caller asks for a session with a peer
// that is connected to us; the peer is asked, and the session exists once
// it accepts.
func (r *relayServer) handleOpen(ctx context.Context, from Peer, body json.RawMessage, _ io.Writer) (any, error) {
	if !r.enabled() {
		return nil, fmt.Errorf("%w: this node does not relay", ErrPermission)
	}
	var req relayOpenRequest
	if err := decodeBody(body, &req); err != nil {
		return nil, err
	}
	if req.Peer == from.ID || req.Peer == r.n.id {
		return nil, fmt.Errorf("%w: a relay session joins two other nodes", ErrBadRequest)
	}
	src, ok := from.Addr.(*net.UDPAddr)
	if !ok {
		return nil, fmt.Errorf("%w: no relay session over a relayed connection", ErrPermission)
	}
	if !r.opens.allow(from.ID) {
		return nil, fmt.Errorf("%w: relay sessions", ErrRateLimited)
	}
	pc := r.n.outerConn(req.Peer)
	if pc == nil {
		return nil, fmt.Errorf("%w: this relay is not connected to %s", ErrNotFound, req.Peer)
	}
	sid := newSessionID()
	if err := r.reserve(sid, from.ID, req.Peer, addrPortOf(src)); err != nil {
		return nil, err
	}
	octx, cancel := context.WithTimeout(ctx, DialTimeout)
	defer cancel()
	offer := relayOfferRequest{From: from.ID, Session: sid.String()}
	if err := r.n.callOn(octx, pc, "relay.offer", offer, nil, nil); err != nil {
		r.remove(sid)
		return nil, fmt.Errorf("%w: %s did not accept the relay session: %v", ErrNotFound, req.Peer, err)
	}
	dst, ok := pc.conn.RemoteAddr().(*net.UDPAddr)
	if !ok || !r.complete(sid, addrPortOf(dst)) {
		r.remove(sid)
		return nil, fmt.Errorf("%w: the session ended", ErrNotFound)
	}
	return relayOpenAnswer{Session: sid.String()}, nil
}

// reserve records a session that waits for its peer, within the caps.
func (r *relayServer) reserve(sid sessionID, a, b keyring.NodeID, addrA netip.AddrPort) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.sessions) >= r.opt.MaxSessions {
		return fmt.Errorf("%w: the relay holds %d sessions", ErrRateLimited, len(r.sessions))
	}
	per := map[keyring.NodeID]int{}
	for _, s := range r.sessions {
		per[s.a]++
		per[s.b]++
	}
	if per[a] >= r.opt.MaxPerPeer || per[b] >= r.opt.MaxPerPeer {
		return fmt.Errorf("%w: %d relay sessions of one node", ErrRateLimited, r.opt.MaxPerPeer)
	}
	peers := len(per)
	for _, id := range []keyring.NodeID{a, b} {
		if per[id] == 0 {
			peers++
		}
	}
	if peers > r.opt.MaxPeers {
		return fmt.Errorf("%w: the relay serves %d nodes", ErrRateLimited, r.opt.MaxPeers)
	}
	s := &relaySession{a: a, b: b, addrA: addrA}
	s.last.Store(time.Now().UnixNano())
	r.sessions[sid] = s
	return nil
}

func (r *relayServer) complete(sid sessionID, addrB netip.AddrPort) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	s, ok := r.sessions[sid]
	if ok {
		s.addrB = addrB
	}
	return ok
}

func (r *relayServer) remove(sid sessionID) {
	r.mu.Lock()
	delete(r.sessions, sid)
	r.mu.Unlock()
}

type relayCloseRequest struct {
	Session string `json:"session"`
}

// handleClose serves relay.close: an end of a session ends it.
func (r *relayServer) handleClose(ctx context.Context, from Peer, body json.RawMessage, _ io.Writer) (any, error) {
	var req relayCloseRequest
	if err := decodeBody(body, &req); err != nil {
		return nil, err
	}
	sid, err := parseSessionID(req.Session)
	if err != nil {
		return nil, err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if s, ok := r.sessions[sid]; ok && (s.a == from.ID || s.b == from.ID) {
		delete(r.sessions, sid)
	}
	return struct{}{}, nil
}

// forward sends a relayed packet on to the other end of its session, when
// it comes from one end's registered address and the rate allows.
func (r *relayServer) forward(p []byte, from *net.UDPAddr) {
	if !r.enabled() {
		return
	}
	sid, _, err := parseRelayPacket(p)
	if err != nil {
		r.dropped.Add(1)
		return
	}
	r.mu.Lock()
	s := r.sessions[sid]
	r.mu.Unlock()
	src := addrPortOf(from)
	var dst netip.AddrPort
	switch {
	case s == nil || !s.addrB.IsValid():
	case src == s.addrA:
		dst = s.addrB
	case src == s.addrB:
		dst = s.addrA
	}
	if !dst.IsValid() || !r.bucket.take(float64(len(p))) {
		r.dropped.Add(1)
		return
	}
	s.last.Store(time.Now().UnixNano())
	k := r.packets.Add(1)
	if t := r.opt.TestOnlyTamperEvery; t > 0 && k%int64(t) == 0 {
		p[relayHdrLen+(len(p)-relayHdrLen)/2] ^= 0xff
		r.tampered.Add(1)
	}
	r.bytes.Add(int64(len(p)))
	_, _ = r.n.tr.WriteTo(p, net.UDPAddrFromAddrPort(dst))
}

// sweep removes the sessions nothing crossed for relayIdle.
func (r *relayServer) sweep() {
	limit := time.Now().Add(-relayIdle).UnixNano()
	r.mu.Lock()
	defer r.mu.Unlock()
	for sid, s := range r.sessions {
		if s.last.Load() < limit {
			delete(r.sessions, sid)
		}
	}
}

func (r *relayServer) loop(ctx context.Context) {
	t := time.NewTicker(relaySweep)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			r.sweep()
		}
	}
}

// Stats returns what the relay did.
func (r *relayServer) stats() RelayStats {
	st := RelayStats{Enabled: r.enabled(), Packets: r.packets.Load(), Bytes: r.bytes.Load(),
		Dropped: r.dropped.Load(), Tampered: r.tampered.Load()}
	r.mu.Lock()
	defer r.mu.Unlock()
	peers := map[keyring.NodeID]bool{}
	for _, s := range r.sessions {
		peers[s.a], peers[s.b] = true, true
	}
	st.Sessions, st.Peers = len(r.sessions), len(peers)
	return st
}

// RelayStats returns what this node relayed for others.
func (n *Node) RelayStats() RelayStats { return n.relay.stats() }
