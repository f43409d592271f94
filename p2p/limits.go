package p2p

import (
	"context"
	"errors"
	"net"
	"slices"
	"sync"
	"time"

	"github.com/quic-go/quic-go"
)

// Limits of what peers may hold open here. Any peer can make new node IDs
// at will, so the caps that stop a flood are those per remote address and
// in total; the cap per node ID keeps one node from taking all of its
// address's share.
const (
	// MaxStreamsPerConn is how many requests one connection may have
	// open at once (quic-go's MaxIncomingStreams: the peer's next stream
	// waits until one ends).
	MaxStreamsPerConn = 64
	// MaxConnsPerPeer is how many connections one node ID may have with
	// us, both directions; a new one closes the oldest (a node that
	// restarted must not wait for its dead connections to time out).
	MaxConnsPerPeer = 4
	// MaxConnsPerAddr is how many inbound connections one IP address may
	// have, handshakes in progress included; more are refused.
	MaxConnsPerAddr = 16
	// MaxConns is how many inbound connections the node holds in total,
	// handshakes in progress included; more are refused.
	MaxConns = 256
	// A stalled connection holds at most its initial receive windows of
	// data in quic-go's buffers: 512 KiB in all, 256 KiB per stream (the
	// windows grow only while the data is read fast, as a pack is).
	initialStreamWindow = 256 << 10
	initialConnWindow   = 512 << 10
)

// connTooMany is the QUIC application error code of a connection closed
// because its node holds too many.
const connTooMany quic.ApplicationErrorCode = 3

var errTooManyConns = errors.New("too many connections")

// admission counts inbound connections from their first packet to their
// end, per remote IP address and in total.
type admission struct {
	mu       sync.Mutex
	total    int
	perIP    map[string]int
	maxTotal int       // MaxConns (tests lower it)
	logged   time.Time // of the last refusal logged (one a minute at most)
}

// admit is quic-go's ConnContext: it runs when a client's first packet
// arrives, before the handshake, and refuses the connection past the
// limits. The count drops when the connection ends (or its handshake
// fails).
func (n *Node) admit(ctx context.Context, ci *quic.ClientInfo) (context.Context, error) {
	ip := ipOf(ci.RemoteAddr)
	a := &n.adm
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.perIP == nil {
		a.perIP, a.maxTotal = map[string]int{}, MaxConns
	}
	if a.total >= a.maxTotal || a.perIP[ip] >= MaxConnsPerAddr {
		if time.Since(a.logged) > time.Minute {
			a.logged = time.Now()
			logf("refused a connection from %s: %d from that address, %d in all (limits %d, %d)",
				ip, a.perIP[ip], a.total, MaxConnsPerAddr, a.maxTotal)
		}
		return nil, errTooManyConns
	}
	a.total++
	a.perIP[ip]++
	context.AfterFunc(ctx, func() {
		a.mu.Lock()
		defer a.mu.Unlock()
		a.total--
		if a.perIP[ip]--; a.perIP[ip] <= 0 {
			delete(a.perIP, ip)
		}
	})
	return ctx, nil
}

func ipOf(a net.Addr) string {
	if ua, ok := a.(*net.UDPAddr); ok {
		return ua.IP.String()
	}
	host, _, err := net.SplitHostPort(a.String())
	if err != nil {
		return a.String()
	}
	return host
}

// keepLive records a connection of its node and returns the oldest ones
// past MaxConnsPerPeer, for the caller to close. n.mu is held.
func (n *Node) keepLive(pc *peerConn) []*peerConn {
	l := append(n.live[pc.id], pc)
	var old []*peerConn
	if len(l) > MaxConnsPerPeer {
		old = slices.Clone(l[:len(l)-MaxConnsPerPeer])
		l = l[len(l)-MaxConnsPerPeer:]
	}
	n.live[pc.id] = l
	return old
}

// dropLive forgets a connection that ended. n.mu is held.
func (n *Node) dropLive(pc *peerConn) {
	l := slices.DeleteFunc(n.live[pc.id], func(o *peerConn) bool { return o == pc })
	if len(l) == 0 {
		delete(n.live, pc.id)
		return
	}
	n.live[pc.id] = l
}
