package p2p

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/pkfs/pkfs/internal/cryptocore"
)

// LAN discovery (opt-in: --local-discovery, or `pkfs nodes
// local-discovery on`). The node broadcasts a signed announcement to
// every IPv4 network it is on (the subnet's broadcast address, UDP port
// LANPort) at start, after 1 and 3 seconds, then every lanInterval, and
// listens for others'. An announcement is taken when its signature is
// the announced node's, its time is within lanWindow of ours, its nonce
// was not seen (replays are dropped), and it comes from one of the
// addresses it announces: the address is then a hint, which a dial
// confirms (TLS pins the node ID) before the graph records it. Nothing
// is sent while it is off.
const (
	LANPort     = DefaultPort + 1
	lanInterval = 10 * time.Second
	lanWindow   = time.Minute
	maxLANSeen  = 4096
)

var lanSchedule = []time.Duration{0, time.Second, 3 * time.Second}

// LANStats is what LAN discovery did (agent status).
type LANStats struct {
	Enabled  bool  `json:"enabled"`
	Port     int   `json:"port,omitempty"`
	Sent     int64 `json:"sent"`
	Received int64 `json:"received"`
	Accepted int64 `json:"accepted"`
	Forged   int64 `json:"forged"`   // malformed, a bad signature, or not from an address it announces
	Stale    int64 `json:"stale"`    // outside the time window
	Replayed int64 `json:"replayed"` // a nonce seen before
}

type lanDiscovery struct {
	n      *Node
	sign   func([]byte) ([]byte, error)
	conn   *net.UDPConn
	port   int
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu   sync.Mutex
	seen map[[lanNonceLen]byte]time.Time

	sent, received, accepted, forged, stale, replayed atomic.Int64
}

// StartLocalDiscovery starts LAN discovery on port (0: LANPort); it is a
// no-op when it runs.
func (n *Node) StartLocalDiscovery(port int) error {
	n.lanMu.Lock()
	defer n.lanMu.Unlock()
	if n.lan != nil {
		return nil
	}
	if port == 0 {
		port = LANPort
	}
	lc := net.ListenConfig{Control: func(_, _ string, c syscall.RawConn) error {
		var serr error
		err := c.Control(func(fd uintptr) {
			serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_REUSEADDR, 1)
			if serr == nil {
				serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_BROADCAST, 1)
			}
		})
		return errors.Join(err, serr)
	}}
	pc, err := lc.ListenPacket(n.ctx, "udp4", fmt.Sprintf("0.0.0.0:%d", port))
	if err != nil {
		return fmt.Errorf("local discovery on UDP port %d: %w", port, err)
	}
	ctx, cancel := context.WithCancel(n.ctx)
	d := &lanDiscovery{n: n, sign: n.sign, conn: pc.(*net.UDPConn), port: port, cancel: cancel,
		seen: map[[lanNonceLen]byte]time.Time{}}
	d.wg.Add(2)
	go d.receiveLoop()
	go d.announceLoop(ctx)
	n.lan = d
	return nil
}

// StopLocalDiscovery stops LAN discovery (a no-op when it does not run).
func (n *Node) StopLocalDiscovery() {
	n.lanMu.Lock()
	d := n.lan
	n.lan = nil
	n.lanMu.Unlock()
	if d != nil {
		d.cancel()
		d.conn.Close()
		d.wg.Wait()
	}
}

// LANStats returns what LAN discovery did.
func (n *Node) LANStats() LANStats {
	n.lanMu.Lock()
	d := n.lan
	n.lanMu.Unlock()
	if d == nil {
		return LANStats{}
	}
	return LANStats{Enabled: true, Port: d.port, Sent: d.sent.Load(), Received: d.received.Load(),
		Accepted: d.accepted.Load(), Forged: d.forged.Load(), Stale: d.stale.Load(), Replayed: d.replayed.Load()}
}

func (d *lanDiscovery) announceLoop(ctx context.Context) {
	defer d.wg.Done()
	start := time.Now()
	for i := 0; ; i++ {
		next := start.Add(lanInterval * time.Duration(i-len(lanSchedule)+1))
		if i < len(lanSchedule) {
			next = start.Add(lanSchedule[i])
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(time.Until(next)):
		}
		if err := d.announce(); err != nil && ctx.Err() == nil {
			logf("local discovery: %v", err)
		}
	}
}

// announce sends a fresh announcement to the broadcast address of every
// IPv4 network of the node.
func (d *lanDiscovery) announce() error {
	ips, bcasts := localIPv4()
	if len(ips) > lanMaxAddrs {
		ips = ips[:lanMaxAddrs]
	}
	a := announcement{NodeID: d.n.id, Time: time.Now().UTC().Truncate(time.Millisecond),
		Port: uint16(d.n.Addr().Port), Addrs: ips}
	copy(a.Nonce[:], cryptocore.RandomBytes(lanNonceLen))
	p, err := a.encode(d.sign)
	if err != nil {
		return err
	}
	for _, b := range bcasts {
		if _, err := d.conn.WriteToUDPAddrPort(p, netip.AddrPortFrom(b, uint16(d.port))); err == nil {
			d.sent.Add(1)
		}
	}
	return nil
}

// localIPv4 returns the IPv4 addresses of the interfaces that are up and
// can broadcast, and their networks' broadcast addresses.
func localIPv4() (ips, bcasts []netip.Addr) {
	ifs, err := net.Interfaces()
	if err != nil {
		return nil, nil
	}
	for _, ifi := range ifs {
		if ifi.Flags&net.FlagUp == 0 || ifi.Flags&net.FlagBroadcast == 0 || ifi.Flags&net.FlagLoopback != 0 {
			continue
		}
		addrs, _ := ifi.Addrs()
		for _, ifa := range addrs {
			ipn, ok := ifa.(*net.IPNet)
			ip4 := ipn.IP.To4()
			if !ok || ip4 == nil || len(ipn.Mask) != net.IPv4len {
				continue
			}
			var b [4]byte
			for i := range b {
				b[i] = ip4[i] | ^ipn.Mask[i]
			}
			ips = append(ips, netip.AddrFrom4([4]byte(ip4)))
			bcasts = append(bcasts, netip.AddrFrom4(b))
		}
	}
	return ips, bcasts
}

func (d *lanDiscovery) receiveLoop() {
	defer d.wg.Done()
	buf := make([]byte, lanMaxLen+1)
	for {
		k, from, err := d.conn.ReadFromUDPAddrPort(buf)
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			continue
		}
		d.received.Add(1)
		d.take(buf[:k], from, time.Now())
	}
}

// take checks an announcement and keeps its sender's address as a hint.
func (d *lanDiscovery) take(p []byte, from netip.AddrPort, now time.Time) {
	a, err := decodeAnnouncement(p)
	if err != nil {
		d.forged.Add(1)
		return
	}
	if a.NodeID == d.n.id {
		return // our own, looped back
	}
	if err := a.verify(); err != nil {
		d.forged.Add(1)
		return
	}
	if dt := now.Sub(a.Time); dt > lanWindow || dt < -lanWindow {
		d.stale.Add(1)
		return
	}
	if !d.firstSight(a.Nonce, now) {
		d.replayed.Add(1)
		return
	}
	src := from.Addr().Unmap()
	if !containsAddr(a.Addrs, src) {
		d.forged.Add(1)
		return
	}
	d.accepted.Add(1)
	d.n.hints.put(NodeAddress{NodeID: a.NodeID, Host: src.String(), Port: int(a.Port), LastSeen: now.UTC()})
}

// firstSight records a nonce; it reports false for one seen within the
// window. Past maxLANSeen nonces, new ones are refused until old ones
// expire (a flood cannot make a replay pass).
func (d *lanDiscovery) firstSight(nonce [lanNonceLen]byte, now time.Time) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	if _, ok := d.seen[nonce]; ok {
		return false
	}
	if len(d.seen) >= maxLANSeen {
		for k, t := range d.seen {
			if now.Sub(t) > 2*lanWindow {
				delete(d.seen, k)
			}
		}
		if len(d.seen) >= maxLANSeen {
			return false
		}
	}
	d.seen[nonce] = now
	return true
}

func containsAddr(as []netip.Addr, a netip.Addr) bool {
	for _, x := range as {
		if x.Unmap() == a {
			return true
		}
	}
	return false
}
