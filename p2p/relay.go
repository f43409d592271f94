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
	Port        int   // UDP port of the relay's own socket (0: a free one)
	MaxSessions int   // sessions at once (default 64)
	MaxPerPeer  int   // sessions one node may be part of (default 8)
	MaxPeers    int   // nodes with sessions at once (default 32)
	Rate        int64 // bytes a second forwarded, all sessions together (default 32 MiB)
	// TestOnlyTamperEvery flips a byte of every Nth packet forwarded: the
	// tests show with it that a relay cannot alter what it carries.
	TestOnlyTamperEvery int
}

// DefaultRelayPort is the UDP port of an agent's relay socket unless told
// otherwise.
const DefaultRelayPort = DefaultPort + 2

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
	Port     int   `json:"port,omitempty"` // of the relay's socket
	Sessions int   `json:"sessions"`
	Peers    int   `json:"peers"`
	Packets  int64 `json:"packets"` // forwarded
	Bytes    int64 `json:"bytes"`   // forwarded
	Dropped  int64 `json:"dropped"` // no such session, not from its ends, or past the rate
	Tampered int64 `json:"tampered,omitempty"`
}

// relayServer forwards packets between the two ends of a session, on a
// UDP socket of its own: only sessions that both ends asked for over their
// own connections to us (the caller with relay.open, the peer by
// accepting relay.offer), and only between the addresses the ends
// registered with the tokens they were given there (an address is one
// end of one session). What it forwards is QUIC between the two ends: it
// can drop it, not read or change it.
type relayServer struct {
	n      *Node
	opt    RelayOptions
	conn   *net.UDPConn // nil when the node does not relay
	rd     *batchReader
	out    *batchSender // used by serve only
	port   int
	bucket *tokenBucket
	opens  *rateLimiter[keyring.NodeID]

	mu       sync.Mutex
	sessions map[sessionID]*relaySession
	ends     map[netip.AddrPort]*relaySession // registered addresses

	packets, bytes, dropped, tampered atomic.Int64
}

type relaySession struct {
	a, b         keyring.NodeID // a asked, b accepted
	tokA, tokB   relayToken
	addrA, addrB netip.AddrPort // as registered; zero until then
	last         atomic.Int64   // unix nanoseconds of the last packet
}

// newRelayServer makes the relay of a node; when enabled it listens on
// host:o.Port.
func newRelayServer(n *Node, host string, o RelayOptions) (*relayServer, error) {
	o = o.withDefaults()
	r := &relayServer{n: n, opt: o, bucket: newBucket(float64(o.Rate), float64(max(o.Rate/4, 64<<10))),
		opens: newRateLimiter[keyring.NodeID](3*time.Second, 10, 1024), sessions: map[sessionID]*relaySession{},
		ends: map[netip.AddrPort]*relaySession{}}
	if !o.Enabled {
		return r, nil
	}
	var err error
	if r.conn, err = listenRelaySocket(host, o.Port); err != nil {
		return nil, err
	}
	r.rd, r.out = newBatchReader(r.conn), newBatchSender(r.conn)
	r.port = r.conn.LocalAddr().(*net.UDPAddr).Port
	return r, nil
}

func (r *relayServer) enabled() bool { return r != nil && r.conn != nil }

func (r *relayServer) close() {
	if r.conn != nil {
		r.conn.Close()
	}
}

// unmapped returns an address in the form sessions compare.
func unmapped(ap netip.AddrPort) netip.AddrPort {
	return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())
}

// addrPortOf returns a UDP address in the form sessions compare.
func addrPortOf(a *net.UDPAddr) netip.AddrPort { return unmapped(a.AddrPort()) }

type relayOpenRequest struct {
	Peer keyring.NodeID `json:"peer"`
}

type relayOpenAnswer struct {
	Session string `json:"session"`
	Port    int    `json:"port"`  // of the relay's socket
	Token   string `json:"token"` // registers the caller's address
}

// handleOpen serves relay.open: the caller asks for a session with a peer
// that is connected to us; the peer is offered the session, and has
// registered its address once it accepts.
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
	if _, ok := from.Addr.(*net.UDPAddr); !ok || from.Via == ViaRelayed {
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
	s := &relaySession{a: from.ID, b: req.Peer, tokA: newRelayToken(), tokB: newRelayToken()}
	if err := r.reserve(sid, s); err != nil {
		return nil, err
	}
	octx, cancel := context.WithTimeout(ctx, DialTimeout)
	defer cancel()
	offer := relayOfferRequest{From: from.ID, Session: sid.String(), Port: r.port, Token: s.tokB.String()}
	if err := r.n.callOn(octx, pc, "relay.offer", offer, nil, nil); err != nil {
		r.remove(sid)
		return nil, fmt.Errorf("%w: %s did not accept the relay session: %v", ErrNotFound, req.Peer, err)
	}
	return relayOpenAnswer{Session: sid.String(), Port: r.port, Token: s.tokA.String()}, nil
}

// reserve records a session, within the caps.
func (r *relayServer) reserve(sid sessionID, s *relaySession) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.sessions) >= r.opt.MaxSessions {
		return fmt.Errorf("%w: the relay holds %d sessions", ErrRateLimited, len(r.sessions))
	}
	per := map[keyring.NodeID]int{}
	for _, o := range r.sessions {
		per[o.a]++
		per[o.b]++
	}
	if per[s.a] >= r.opt.MaxPerPeer || per[s.b] >= r.opt.MaxPerPeer {
		return fmt.Errorf("%w: %d relay sessions of one node", ErrRateLimited, r.opt.MaxPerPeer)
	}
	peers := len(per)
	for _, id := range []keyring.NodeID{s.a, s.b} {
		if per[id] == 0 {
			peers++
		}
	}
	if peers > r.opt.MaxPeers {
		return fmt.Errorf("%w: the relay serves %d nodes", ErrRateLimited, r.opt.MaxPeers)
	}
	s.last.Store(time.Now().UnixNano())
	r.sessions[sid] = s
	return nil
}

func (r *relayServer) remove(sid sessionID) {
	r.mu.Lock()
	r.removeLocked(sid)
	r.mu.Unlock()
}

func (r *relayServer) removeLocked(sid sessionID) {
	if s, ok := r.sessions[sid]; ok {
		delete(r.ends, s.addrA)
		delete(r.ends, s.addrB)
		delete(r.sessions, sid)
	}
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
		r.removeLocked(sid)
	}
	return struct{}{}, nil
}
