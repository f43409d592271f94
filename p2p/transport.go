package p2p

import (
	"context"
	"fmt"
	"log"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pkfs/pkfs/internal/kvstore"
	"github.com/pkfs/pkfs/keyring"
	"github.com/quic-go/quic-go"
)

// DefaultPort is the UDP port an agent listens on unless told otherwise.
const DefaultPort = 1314

// Timeouts of connections and calls.
const (
	DialTimeout    = 5 * time.Second
	CallTimeout    = 15 * time.Second
	IdleTimeout    = 60 * time.Second
	KeepAlive      = 15 * time.Second
	HandshakeLimit = 5 * time.Second
)

// Config says how to run a node.
type Config struct {
	Host    string // listen host: "" or "::" for all, 127.0.0.1 in tests
	Port    int    // 0 picks a free port
	Keyring *keyring.Keyring
	DB      *kvstore.DB
	Relay   RelayOptions // whether we relay for others (off unless asked)
}

// Node is this node on the network.
type Node struct {
	id    keyring.NodeID
	cert  tlsCert
	udp   *net.UDPConn
	tr    *quic.Transport
	ln    *quic.Listener
	Graph *Graph

	handlersMu sync.RWMutex
	handlers   map[string]Handler

	mu      sync.Mutex
	conns   map[keyring.NodeID]*peerConn   // the connection calls use
	live    map[keyring.NodeID][]*peerConn // every connection served, oldest first
	dialing map[keyring.NodeID]*dialCall
	expect  map[keyring.NodeID]time.Time // nodes a signal said would punch to us
	adm     admission
	hints   *hintTable

	observed    *observedTable
	pstats      packetStats
	relay       *relayServer // forwards for others (when enabled)
	rnet        *relayNet    // our own relayed connections
	punchLimit  *rateLimiter[keyring.NodeID]
	signalLimit *rateLimiter[keyring.NodeID]
	signalAll   *tokenBucket

	sign  func([]byte) ([]byte, error) // with the root key
	lanMu sync.Mutex
	lan   *lanDiscovery // nil unless LAN discovery runs

	trustMu sync.RWMutex
	trusted func(keyring.NodeID) bool

	connectMu sync.Mutex
	onConnect []func(keyring.NodeID)

	activeStreams atomic.Int64 // requests being read or served

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

type peerConn struct {
	id     keyring.NodeID
	conn   *quic.Conn
	since  time.Time
	out    bool // we dialled it
	via    Via
	relay  keyring.NodeID // the relay of a relayed connection
	sid    sessionID      // and its session
	relays bool           // the peer said (hello) that it relays
}

// Via says how a connection came up.
type Via string

// How connections come up.
const (
	ViaDirect  Via = "direct"  // dialled at a known address, or accepted
	ViaPunched Via = "punched" // through NATs, after a signal of a common peer
	ViaRelayed Via = "relayed" // through a relay, end to end encrypted
)

type dialCall struct {
	done chan struct{}
	pc   *peerConn
	err  error
}

func quicConfig() *quic.Config {
	return &quic.Config{
		HandshakeIdleTimeout:  HandshakeLimit,
		MaxIdleTimeout:        IdleTimeout,
		KeepAlivePeriod:       KeepAlive,
		MaxIncomingStreams:    MaxStreamsPerConn,
		MaxIncomingUniStreams: -1, // pkfs uses none

		InitialStreamReceiveWindow:     initialStreamWindow,
		InitialConnectionReceiveWindow: initialConnWindow,
	}
}

// Listen starts a node on cfg.Host:cfg.Port (UDP).
func Listen(cfg Config) (*Node, error) {
	cert, err := certificate(cfg.Keyring.PrivateKey())
	if err != nil {
		return nil, err
	}
	host := cfg.Host
	if host == "" {
		host = "::"
	}
	ua, err := net.ResolveUDPAddr("udp", net.JoinHostPort(host, strconv.Itoa(cfg.Port)))
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalidAddress, err)
	}
	udp, err := net.ListenUDP("udp", ua)
	if err != nil {
		return nil, fmt.Errorf("failed to listen on %s: %w", ua, err)
	}
	n := &Node{id: cfg.Keyring.NodeID(), cert: tlsCert{cert}, udp: udp,
		Graph: NewGraph(cfg.DB), handlers: map[string]Handler{}, conns: map[keyring.NodeID]*peerConn{},
		live: map[keyring.NodeID][]*peerConn{}, dialing: map[keyring.NodeID]*dialCall{},
		expect: map[keyring.NodeID]time.Time{}, hints: newHints(), observed: newObserved(),
		punchLimit:  newRateLimiter[keyring.NodeID](2*time.Second, 10, 1024),
		signalLimit: newRateLimiter[keyring.NodeID](signalsPerNode, 10, 1024),
		signalAll:   newBucket(5, 50)}
	n.sign = cfg.Keyring.Sign
	n.tr = &quic.Transport{Conn: udp, ConnContext: n.admit}
	n.ctx, n.cancel = context.WithCancel(context.Background())
	ln, err := n.tr.Listen(serverTLS(cert), quicConfig())
	if err != nil {
		udp.Close()
		return nil, err
	}
	n.ln = ln
	n.rnet = newRelayNet(n, ua.IP.String())
	if n.relay, err = newRelayServer(n, ua.IP.String(), cfg.Relay); err != nil {
		ln.Close()
		n.tr.Close()
		udp.Close()
		return nil, err
	}
	n.Handle("hello", n.handleHello)
	n.Handle("reach.punch", n.handlePunch)
	n.Handle("reach.signal", n.handleSignal)
	n.Handle("relay.open", n.relay.handleOpen)
	n.Handle("relay.close", n.relay.handleClose)
	n.Handle("relay.offer", n.rnet.handleOffer)
	n.wg.Add(3)
	go n.acceptLoop()
	go n.readPackets()
	go func() { defer n.wg.Done(); n.relay.loop(n.ctx) }()
	if n.relay.enabled() {
		n.wg.Add(1)
		go n.relay.serve()
	}
	return n, nil
}

// SetTrusted says which peers the node believes about other nodes'
// addresses (see Graph.Learn); others' word is only a hint.
func (n *Node) SetTrusted(fn func(keyring.NodeID) bool) {
	n.trustMu.Lock()
	n.trusted = fn
	n.trustMu.Unlock()
}

func (n *Node) isTrusted(id keyring.NodeID) bool {
	n.trustMu.RLock()
	defer n.trustMu.RUnlock()
	return n.trusted != nil && n.trusted(id)
}

// ID returns this node's ID.
func (n *Node) ID() keyring.NodeID { return n.id }

// Addr returns the address the node listens on.
func (n *Node) Addr() *net.UDPAddr { return n.udp.LocalAddr().(*net.UDPAddr) }

// OnConnect registers fn to run (in its own goroutine) whenever a connection
// to a peer comes up, in either direction.
func (n *Node) OnConnect(fn func(keyring.NodeID)) {
	n.connectMu.Lock()
	n.onConnect = append(n.onConnect, fn)
	n.connectMu.Unlock()
}

// Close closes every connection and the listener.
func (n *Node) Close() error {
	n.StopLocalDiscovery()
	n.cancel()
	n.mu.Lock()
	for _, pc := range n.conns {
		pc.conn.CloseWithError(0, "node closing")
	}
	n.mu.Unlock()
	n.rnet.close()
	n.relay.close()
	n.ln.Close()
	err := n.tr.Close()
	n.udp.Close()
	n.wg.Wait()
	return err
}

// acceptLoop serves the connections of the node's listener.
func (n *Node) acceptLoop() {
	defer n.wg.Done()
	for {
		c, err := n.ln.Accept(n.ctx)
		if err != nil {
			return
		}
		id, err := peerID(c.ConnectionState().TLS.PeerCertificates)
		if err != nil {
			c.CloseWithError(1, "bad certificate")
			continue
		}
		n.mu.Lock()
		via := ViaDirect
		if n.punchedFromLocked(id) {
			via = ViaPunched
		}
		n.mu.Unlock()
		n.register(&peerConn{id: id, conn: c, since: time.Now(), via: via})
	}
}

// register keeps a connection to a peer and serves its streams. Calls use
// the newest connection, except that a relayed one does not replace one
// that is not. Past MaxConnsPerPeer connections of one node, the oldest
// is closed.
func (n *Node) register(pc *peerConn) {
	n.mu.Lock()
	if cur, ok := n.conns[pc.id]; !ok || cur.conn.Context().Err() != nil || pc.via != ViaRelayed || cur.via == ViaRelayed {
		n.conns[pc.id] = pc
	}
	old := n.keepLive(pc)
	n.mu.Unlock()
	for _, o := range old {
		logf("closed the oldest connection of %s: over %d", pc.id, MaxConnsPerPeer)
		o.conn.CloseWithError(connTooMany, "too many connections from your node")
	}
	n.wg.Add(1)
	go func() {
		defer n.wg.Done()
		n.serveConn(pc)
		n.mu.Lock()
		n.dropLive(pc)
		if n.conns[pc.id] == pc {
			delete(n.conns, pc.id)
			if next := n.bestLiveLocked(pc.id); next != nil {
				n.conns[pc.id] = next
			}
		}
		n.mu.Unlock()
		if pc.via == ViaRelayed {
			n.rnet.dropLink(pc.sid)
			if pc.out {
				n.closeRelaySession(pc.relay, pc.sid)
			}
		}
	}()
	n.connectMu.Lock()
	fns := append([]func(keyring.NodeID){}, n.onConnect...)
	n.connectMu.Unlock()
	for _, fn := range fns {
		go fn(pc.id)
	}
}

func logf(format string, a ...any) { log.Printf("pkfs p2p: "+format, a...) }
