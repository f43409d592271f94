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

// relayNet is the relay client. Each relay session is a link: a UDP
// socket of its own, registered with the relay (with the token the relay
// gave us) before anything else is sent on it, and a quic.Transport on
// that socket, so that a relayed connection is the usual QUIC connection,
// TLS end to end, pinned to the peer's node ID (the relay sees
// ciphertext), with all of quic-go's batching and path MTU discovery.
type relayNet struct {
	n      *Node
	host   string // where the links' sockets listen
	offers *rateLimiter[keyring.NodeID]

	mu    sync.Mutex
	links map[sessionID]*relayLink
}

type relayLink struct {
	sid     sessionID
	relay   keyring.NodeID
	peer    keyring.NodeID
	to      *net.UDPAddr // the relay's socket
	sock    *net.UDPConn
	tr      *quic.Transport
	created time.Time
	conn    *quic.Conn // the connection on it, once one came up
}

// Limits of the relay client.
const (
	maxRelayLinks  = 32               // sessions at once
	relayLinkWait  = 30 * time.Second // an offered session no connection took ends
	registerEvery  = 200 * time.Millisecond
	registerWithin = 3 * time.Second
)

// relayQuicConfig is quicConfig for connections through a relay: packets
// start at QUIC's minimum size (path MTU discovery raises it), so that
// they cross any path.
func relayQuicConfig() *quic.Config {
	c := quicConfig()
	c.InitialPacketSize = 1200
	return c
}

func newRelayNet(n *Node, host string) *relayNet {
	return &relayNet{n: n, host: host, offers: newRateLimiter[keyring.NodeID](3*time.Second, 10, 256),
		links: map[sessionID]*relayLink{}}
}

// open makes a link: a socket registered at the relay as one end of
// session sid, and a transport on it.
func (rn *relayNet) open(ctx context.Context, sid sessionID, tok relayToken, relay netip.AddrPort, relayID, peer keyring.NodeID) (*relayLink, error) {
	to, ok := udp4Addr(relay)
	if !ok {
		return nil, fmt.Errorf("%w: relays are reached over IPv4, not at %s", ErrUnavailable, relay)
	}
	rn.mu.Lock()
	rn.pruneLocked()
	_, dup := rn.links[sid]
	full := len(rn.links) >= maxRelayLinks
	rn.mu.Unlock()
	if dup || full {
		return nil, fmt.Errorf("%w: relay sessions (%d at most, no two of one ID)", ErrRateLimited, maxRelayLinks)
	}
	sock, err := listenRelaySocket(rn.host, 0)
	if err != nil {
		return nil, err
	}
	if err := register(ctx, sock, sid, tok, to); err != nil {
		sock.Close()
		return nil, err
	}
	l := &relayLink{sid: sid, relay: relayID, peer: peer, to: to, sock: sock, created: time.Now(),
		tr: &quic.Transport{Conn: sock, ConnContext: rn.n.admit}}
	rn.mu.Lock()
	defer rn.mu.Unlock()
	if _, dup := rn.links[sid]; dup {
		l.close()
		return nil, fmt.Errorf("%w: session %s exists", ErrBadRequest, sid)
	}
	rn.links[sid] = l
	return l, nil
}

// register makes sock the address of one end of a session at its relay:
// it sends the registration until the relay answers. It runs before any
// transport reads the socket.
func register(ctx context.Context, sock *net.UDPConn, sid sessionID, tok relayToken, to *net.UDPAddr) error {
	deadline := time.Now().Add(registerWithin)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	defer sock.SetReadDeadline(time.Time{})
	buf := make([]byte, maxPacketSize)
	want := append([]byte{pktRegistered}, sid[:]...)
	for time.Now().Before(deadline) {
		if _, err := sock.WriteToUDP(registerPacket(sid, tok), to); err != nil {
			return fmt.Errorf("%w: registering with the relay: %v", ErrUnavailable, err)
		}
		wait := time.Now().Add(registerEvery)
		if wait.After(deadline) {
			wait = deadline
		}
		sock.SetReadDeadline(wait)
		for {
			k, from, err := sock.ReadFromUDPAddrPort(buf)
			if err != nil {
				break // the deadline: send again
			}
			if unmapped(from) == addrPortOf(to) && string(buf[:k]) == string(want) {
				return nil
			}
		}
	}
	return fmt.Errorf("%w: the relay did not answer the registration of session %s", ErrUnavailable, sid)
}

func (l *relayLink) close() {
	l.tr.Close()
	l.sock.Close()
}

// pruneLocked closes the links that no connection took in time, and
// those whose connection ended.
func (rn *relayNet) pruneLocked() {
	for sid, l := range rn.links {
		if l.conn == nil && time.Since(l.created) > relayLinkWait || l.conn != nil && l.conn.Context().Err() != nil {
			l.close()
			delete(rn.links, sid)
		}
	}
}

func (rn *relayNet) dropLink(sid sessionID) {
	rn.mu.Lock()
	l, ok := rn.links[sid]
	delete(rn.links, sid)
	rn.mu.Unlock()
	if ok {
		l.close()
	}
}

// close closes every link (the node is closing).
func (rn *relayNet) close() {
	rn.mu.Lock()
	ls := rn.links
	rn.links = map[sessionID]*relayLink{}
	rn.mu.Unlock()
	for _, l := range ls {
		l.close()
	}
}

type relayOfferRequest struct {
	From    keyring.NodeID `json:"from"`
	Session string         `json:"session"`
	Port    int            `json:"port"`
	Token   string         `json:"token"`
}

// handleOffer serves relay.offer: a relay we are connected to says that
// a node asked for a session with us. We take it (the connection that
// comes through it must be that node's), within our caps, and register
// the session's socket with the relay before we answer.
func (rn *relayNet) handleOffer(ctx context.Context, from Peer, body json.RawMessage, _ io.Writer) (any, error) {
	var req relayOfferRequest
	if err := decodeBody(body, &req); err != nil {
		return nil, err
	}
	sid, err := parseSessionID(req.Session)
	if err != nil {
		return nil, err
	}
	tok, err := parseRelayToken(req.Token)
	if err != nil {
		return nil, err
	}
	if req.From == rn.n.id || req.From == from.ID || req.Port < 1 || req.Port > 65535 {
		return nil, fmt.Errorf("%w: a relay session joins two other nodes, on a relay's port", ErrBadRequest)
	}
	ua, ok := from.Addr.(*net.UDPAddr)
	if !ok || from.Via == ViaRelayed {
		return nil, fmt.Errorf("%w: no relay session over a relayed connection", ErrPermission)
	}
	if !rn.offers.allow(from.ID) {
		return nil, fmt.Errorf("%w: relay offers", ErrRateLimited)
	}
	relay := netip.AddrPortFrom(addrPortOf(ua).Addr(), uint16(req.Port))
	l, err := rn.open(ctx, sid, tok, relay, from.ID, req.From)
	if err != nil {
		return nil, err
	}
	ln, err := l.tr.Listen(serverTLS(rn.n.cert.c), relayQuicConfig())
	if err != nil {
		rn.dropLink(sid)
		return nil, err
	}
	rn.n.wg.Add(1)
	go rn.acceptOne(l, ln)
	return struct{}{}, nil
}

// acceptOne serves the one connection a link offered to us carries: it
// must come from the node the session was offered for.
func (rn *relayNet) acceptOne(l *relayLink, ln *quic.Listener) {
	defer rn.n.wg.Done()
	defer ln.Close()
	ctx, cancel := context.WithTimeout(rn.n.ctx, relayLinkWait)
	defer cancel()
	c, err := ln.Accept(ctx)
	if err != nil {
		rn.dropLink(l.sid)
		return
	}
	if id, err := peerID(c.ConnectionState().TLS.PeerCertificates); err != nil || id != l.peer {
		c.CloseWithError(1, "not the node of this relay session")
		rn.dropLink(l.sid)
		return
	}
	rn.mu.Lock()
	l.conn = c
	rn.mu.Unlock()
	rn.n.register(&peerConn{id: l.peer, conn: c, since: time.Now(), via: ViaRelayed, relay: l.relay, sid: l.sid})
}

// dialRelayed asks relay for a session with target and connects to
// target through it. opened says that the relay opened a session (so
// target is connected to it).
func (n *Node) dialRelayed(ctx context.Context, relay, target keyring.NodeID) (pc *peerConn, opened bool, err error) {
	rpc := n.outerConn(relay)
	if rpc == nil {
		return nil, false, fmt.Errorf("%w: not connected to relay %s", ErrUnavailable, relay)
	}
	raddr, ok := rpc.conn.RemoteAddr().(*net.UDPAddr)
	if !ok {
		return nil, false, fmt.Errorf("%w: relay %s", ErrUnavailable, relay)
	}
	var ans relayOpenAnswer
	if err := n.callOn(ctx, rpc, "relay.open", relayOpenRequest{Peer: target}, &ans, nil); err != nil {
		return nil, false, fmt.Errorf("relay %s: %w", relay, err)
	}
	sid, err := parseSessionID(ans.Session)
	if err != nil {
		return nil, false, fmt.Errorf("relay %s: %w", relay, err)
	}
	tok, err := parseRelayToken(ans.Token)
	if err != nil || ans.Port < 1 || ans.Port > 65535 {
		n.closeRelaySession(relay, sid)
		return nil, false, fmt.Errorf("relay %s: %w: its answer", relay, ErrBadRequest)
	}
	at := netip.AddrPortFrom(addrPortOf(raddr).Addr(), uint16(ans.Port))
	l, err := n.rnet.open(ctx, sid, tok, at, relay, target)
	if err != nil {
		n.closeRelaySession(relay, sid)
		return nil, true, err
	}
	fail := func(err error) (*peerConn, bool, error) {
		n.rnet.dropLink(sid)
		n.closeRelaySession(relay, sid)
		return nil, true, err
	}
	dctx, cancel := context.WithTimeout(ctx, DialTimeout)
	defer cancel()
	c, err := l.tr.Dial(dctx, l.to, clientTLS(n.cert.c, target), relayQuicConfig())
	if err != nil {
		if isPeerIDError(err) {
			return fail(fmt.Errorf("%w: %s through relay %s", ErrPeerID, target, relay))
		}
		return fail(fmt.Errorf("%w: %s through relay %s: %v", ErrUnavailable, target, relay, err))
	}
	n.rnet.mu.Lock()
	l.conn = c
	n.rnet.mu.Unlock()
	pc = &peerConn{id: target, conn: c, since: time.Now(), out: true, via: ViaRelayed, relay: relay, sid: sid}
	if err := n.hello(dctx, pc); err != nil {
		c.CloseWithError(2, "hello failed")
		return fail(err)
	}
	return pc, true, nil
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
