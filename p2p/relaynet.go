package p2p

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/netip"
	"sync"
	"time"

	"github.com/pkfs/pkfs/keyring"
	"github.com/quic-go/quic-go"
)

// relayNet is the relay client: a net.PacketConn whose packets travel
// encapsulated through relays, on the node's one UDP socket. A second
// quic.Transport runs over it, so that a relayed connection is the usual
// QUIC connection, TLS end to end, pinned to the peer's node ID: the
// relay sees ciphertext.
//
// Each session is a link: its relay, the relay's address as our
// connection to it sees it, and the peer at the other end. A packet is
// taken from a relay only for a link of ours and only from that address.
type relayNet struct {
	n    *Node
	tr   *quic.Transport
	ln   *quic.Listener
	in   chan relayIn
	done chan struct{}
	once sync.Once

	offers *rateLimiter[keyring.NodeID]

	mu    sync.Mutex
	links map[sessionID]*relayLink
}

type relayLink struct {
	relay     keyring.NodeID
	relayAddr netip.AddrPort
	peer      keyring.NodeID
	out       bool // we asked for it
	created   time.Time
	conn      *quic.Conn // the connection on it, once one came up
}

type relayIn struct {
	b    *[]byte
	n    int
	from relayAddr
}

// Limits of the relay client.
const (
	maxRelayLinks = 32               // sessions at once
	relayLinkWait = 30 * time.Second // an offered session no connection took ends
	relayInQueue  = 512              // packets received, not yet read by QUIC
)

// relayAddr is the address of a peer through a relay: the session.
type relayAddr struct {
	relay keyring.NodeID
	sid   sessionID
}

func (a relayAddr) Network() string { return "pkfs-relay" }
func (a relayAddr) String() string  { return "relay:" + a.relay.String()[:12] + "/" + a.sid.String() }

var packetPool = sync.Pool{New: func() any { b := make([]byte, maxPacketSize); return &b }}

// relayQuicConfig is quicConfig for connections through a relay: packets
// start at QUIC's minimum size, so that with the relay's header they fit
// any path.
func relayQuicConfig() *quic.Config {
	c := quicConfig()
	c.InitialPacketSize = 1200
	return c
}

func newRelayNet(n *Node) (*relayNet, error) {
	rn := &relayNet{n: n, in: make(chan relayIn, relayInQueue), done: make(chan struct{}),
		offers: newRateLimiter[keyring.NodeID](3*time.Second, 10, 256), links: map[sessionID]*relayLink{}}
	rn.tr = &quic.Transport{Conn: rn, ConnContext: n.admit}
	ln, err := rn.tr.Listen(serverTLS(n.cert.c), relayQuicConfig())
	if err != nil {
		return nil, err
	}
	rn.ln = ln
	return rn, nil
}

// deliver takes a relayed packet that belongs to one of our links; it
// reports whether it did.
func (rn *relayNet) deliver(p []byte, from *net.UDPAddr) bool {
	sid, payload, err := parseRelayPacket(p)
	if err != nil {
		return false
	}
	rn.mu.Lock()
	l, ok := rn.links[sid]
	rn.mu.Unlock()
	if !ok || l.relayAddr != addrPortOf(from) {
		return false
	}
	b := packetPool.Get().(*[]byte)
	k := copy(*b, payload)
	select {
	case rn.in <- relayIn{b: b, n: k, from: relayAddr{relay: l.relay, sid: sid}}:
	default:
		packetPool.Put(b) // QUIC reads too slowly: a loss, which it recovers from
	}
	return true
}

// ReadFrom implements net.PacketConn for the relay transport.
func (rn *relayNet) ReadFrom(p []byte) (int, net.Addr, error) {
	select {
	case in := <-rn.in:
		k := copy(p, (*in.b)[:in.n])
		packetPool.Put(in.b)
		return k, in.from, nil
	case <-rn.done:
		return 0, nil, net.ErrClosed
	}
}

// WriteTo implements net.PacketConn: the packet goes to the session's
// relay, behind the session's header. A packet that cannot be sent is
// lost, as on any network; QUIC sends it again.
func (rn *relayNet) WriteTo(p []byte, addr net.Addr) (int, error) {
	ra, ok := addr.(relayAddr)
	if !ok {
		return 0, fmt.Errorf("%w: not a relay address: %v", ErrInvalidAddress, addr)
	}
	rn.mu.Lock()
	l, ok := rn.links[ra.sid]
	rn.mu.Unlock()
	if !ok {
		return len(p), nil
	}
	b := packetPool.Get().(*[]byte)
	defer packetPool.Put(b)
	pkt := relayPacket((*b)[:0], ra.sid, p)
	if _, err := rn.n.tr.WriteTo(pkt, net.UDPAddrFromAddrPort(l.relayAddr)); err != nil && rn.n.ctx.Err() != nil {
		return 0, net.ErrClosed
	}
	return len(p), nil
}

func (rn *relayNet) Close() error {
	rn.once.Do(func() { close(rn.done) })
	return nil
}

func (rn *relayNet) LocalAddr() net.Addr                { return relayAddr{relay: rn.n.id} }
func (rn *relayNet) SetDeadline(t time.Time) error      { return nil }
func (rn *relayNet) SetReadDeadline(t time.Time) error  { return nil }
func (rn *relayNet) SetWriteDeadline(t time.Time) error { return nil }

// SetReadBuffer and SetWriteBuffer tell quic-go that the relay's
// buffers need no tuning (the node's socket has them).
func (rn *relayNet) SetReadBuffer(int) error  { return nil }
func (rn *relayNet) SetWriteBuffer(int) error { return nil }

var _ net.PacketConn = (*relayNet)(nil)

// close stops the relay transport (the node is closing).
func (rn *relayNet) close() {
	rn.ln.Close()
	rn.Close() // first: the transport's Close waits for its reader to end
	rn.tr.Close()
}

// addLink records a session, within maxRelayLinks.
func (rn *relayNet) addLink(sid sessionID, l *relayLink) error {
	rn.mu.Lock()
	defer rn.mu.Unlock()
	rn.pruneLocked()
	if len(rn.links) >= maxRelayLinks {
		return fmt.Errorf("%w: %d relay sessions", ErrRateLimited, maxRelayLinks)
	}
	l.created = time.Now()
	rn.links[sid] = l
	return nil
}

// pruneLocked drops the sessions that no connection took in time, and
// those whose connection ended.
func (rn *relayNet) pruneLocked() {
	for sid, l := range rn.links {
		if l.conn == nil && time.Since(l.created) > relayLinkWait || l.conn != nil && l.conn.Context().Err() != nil {
			delete(rn.links, sid)
		}
	}
}

func (rn *relayNet) link(sid sessionID) (relayLink, bool) {
	rn.mu.Lock()
	defer rn.mu.Unlock()
	l, ok := rn.links[sid]
	if !ok {
		return relayLink{}, false
	}
	return *l, true
}

// markUsed records the connection that runs on a session.
func (rn *relayNet) markUsed(sid sessionID, c *quic.Conn) {
	rn.mu.Lock()
	if l, ok := rn.links[sid]; ok {
		l.conn = c
	}
	rn.mu.Unlock()
}

func (rn *relayNet) dropLink(sid sessionID) {
	rn.mu.Lock()
	delete(rn.links, sid)
	rn.mu.Unlock()
}

type relayOfferRequest struct {
	From    keyring.NodeID `json:"from"`
	Session string         `json:"session"`
}

// handleOffer serves relay.offer: a relay we are connected to says that
// a node asked for a session with us. We take it (the connection that
// comes through it is pinned to that node like any other), within our
// caps.
func (rn *relayNet) handleOffer(ctx context.Context, from Peer, body json.RawMessage, _ io.Writer) (any, error) {
	var req relayOfferRequest
	if err := decodeBody(body, &req); err != nil {
		return nil, err
	}
	sid, err := parseSessionID(req.Session)
	if err != nil {
		return nil, err
	}
	if req.From == rn.n.id || req.From == from.ID {
		return nil, fmt.Errorf("%w: a relay session joins two other nodes", ErrBadRequest)
	}
	ua, ok := from.Addr.(*net.UDPAddr)
	if !ok {
		return nil, fmt.Errorf("%w: no relay session over a relayed connection", ErrPermission)
	}
	if !rn.offers.allow(from.ID) {
		return nil, fmt.Errorf("%w: relay offers", ErrRateLimited)
	}
	if _, dup := rn.link(sid); dup {
		return nil, fmt.Errorf("%w: session %s exists", ErrBadRequest, sid)
	}
	l := &relayLink{relay: from.ID, relayAddr: addrPortOf(ua), peer: req.From}
	if err := rn.addLink(sid, l); err != nil {
		return nil, err
	}
	return struct{}{}, nil
}

// dialRelayed asks relay for a session with target and connects to
// target through it.
func (n *Node) dialRelayed(ctx context.Context, relay, target keyring.NodeID) (*peerConn, error) {
	rpc := n.outerConn(relay)
	if rpc == nil {
		return nil, fmt.Errorf("%w: not connected to relay %s", ErrUnavailable, relay)
	}
	raddr, ok := rpc.conn.RemoteAddr().(*net.UDPAddr)
	if !ok {
		return nil, fmt.Errorf("%w: relay %s", ErrUnavailable, relay)
	}
	var ans relayOpenAnswer
	if err := n.callOn(ctx, rpc, "relay.open", relayOpenRequest{Peer: target}, &ans, nil); err != nil {
		return nil, fmt.Errorf("relay %s: %w", relay, err)
	}
	sid, err := parseSessionID(ans.Session)
	if err != nil {
		return nil, fmt.Errorf("relay %s: %w", relay, err)
	}
	if err := n.rnet.addLink(sid, &relayLink{relay: relay, relayAddr: addrPortOf(raddr), peer: target, out: true}); err != nil {
		n.closeRelaySession(relay, sid)
		return nil, err
	}
	dctx, cancel := context.WithTimeout(ctx, DialTimeout)
	defer cancel()
	c, err := n.rnet.tr.Dial(dctx, relayAddr{relay: relay, sid: sid}, clientTLS(n.cert.c, target), relayQuicConfig())
	if err != nil {
		n.rnet.dropLink(sid)
		n.closeRelaySession(relay, sid)
		if isPeerIDError(err) {
			return nil, fmt.Errorf("%w: %s through relay %s", ErrPeerID, target, relay)
		}
		return nil, fmt.Errorf("%w: %s through relay %s: %v", ErrUnavailable, target, relay, err)
	}
	n.rnet.markUsed(sid, c)
	pc := &peerConn{id: target, conn: c, since: time.Now(), out: true, via: ViaRelayed, relay: relay, sid: sid}
	if err := n.hello(dctx, pc); err != nil {
		c.CloseWithError(2, "hello failed")
		n.rnet.dropLink(sid)
		n.closeRelaySession(relay, sid)
		return nil, err
	}
	return pc, nil
}

// closeRelaySession tells a relay, in the background, that a session of
// ours ended.
func (n *Node) closeRelaySession(relay keyring.NodeID, sid sessionID) {
	rpc := n.outerConn(relay)
	if rpc == nil || n.ctx.Err() != nil {
		return
	}
	n.wg.Add(1)
	go func() {
		defer n.wg.Done()
		ctx, cancel := context.WithTimeout(n.ctx, 2*time.Second)
		defer cancel()
		_ = n.callOn(ctx, rpc, "relay.close", relayCloseRequest{Session: sid.String()}, nil, nil)
	}()
}

// acceptRelayed admits a connection that came through a relay: it must be
// from the node the session was offered for.
func (n *Node) acceptRelayed(c *quic.Conn, id keyring.NodeID) (*peerConn, bool) {
	ra, ok := c.RemoteAddr().(relayAddr)
	if !ok {
		return nil, false
	}
	l, ok := n.rnet.link(ra.sid)
	if !ok || l.peer != id || l.relay != ra.relay || l.conn != nil {
		return nil, false
	}
	n.rnet.markUsed(ra.sid, c)
	return &peerConn{id: id, conn: c, since: time.Now(), via: ViaRelayed, relay: l.relay, sid: ra.sid}, true
}
