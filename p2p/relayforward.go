package p2p

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"time"

	"github.com/pkfs/pkfs/internal/cryptocore"
	"github.com/pkfs/pkfs/keyring"
)

// serve reads the relay's socket until it closes, and sends what it
// forwards a batch at a time: what the last read brought.
func (r *relayServer) serve() {
	defer r.n.wg.Done()
	for {
		if !r.rd.buffered() && r.out.pending() {
			r.out.flush()
		}
		p, from, err := r.rd.next()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			continue
		}
		switch {
		case len(p) > 0 && p[0]&0x40 != 0: // QUIC: the fixed bit
			r.forward(p, from)
		case len(p) == registerLen && p[0] == pktRegister:
			r.register(p, from)
		default:
			r.dropped.Add(1)
		}
	}
}

// register records the address of the end whose token a register packet
// carries, and acknowledges it. An address is one end of one session.
func (r *relayServer) register(p []byte, from netip.AddrPort) {
	sid, tok, err := parseRegister(p)
	r.mu.Lock()
	s, ok := r.sessions[sid]
	var end *netip.AddrPort
	switch {
	case err != nil || !ok:
	case cryptocore.ConstantTimeEqual(tok[:], s.tokA[:]):
		end = &s.addrA
	case cryptocore.ConstantTimeEqual(tok[:], s.tokB[:]):
		end = &s.addrB
	}
	if other, taken := r.ends[from]; end != nil && taken && other != s {
		end = nil // the address is an end of another session
	}
	if end != nil {
		delete(r.ends, *end)
		*end = from
		r.ends[from] = s
	}
	r.mu.Unlock()
	if end == nil {
		r.dropped.Add(1)
		return
	}
	if to, ok := udp4Addr(from); ok {
		r.out.add(append([]byte{pktRegistered}, sid[:]...), to)
	}
}

// forward sends a QUIC packet on to the other end of the session whose
// end sent it, when both ends registered and the rate allows.
func (r *relayServer) forward(p []byte, from netip.AddrPort) {
	r.mu.Lock()
	s := r.ends[from]
	var dst netip.AddrPort
	switch {
	case s == nil || !s.addrA.IsValid() || !s.addrB.IsValid():
	case from == s.addrA:
		dst = s.addrB
	case from == s.addrB:
		dst = s.addrA
	}
	r.mu.Unlock()
	if !dst.IsValid() || !r.bucket.take(float64(len(p))) {
		r.dropped.Add(1)
		return
	}
	s.last.Store(time.Now().UnixNano())
	k := r.packets.Add(1)
	if t := r.opt.TestOnlyTamperEvery; t > 0 && k%int64(t) == 0 {
		p[len(p)/2] ^= 0xff
		r.tampered.Add(1)
	}
	r.bytes.Add(int64(len(p)))
	if to, ok := udp4Addr(dst); ok {
		r.out.add(p, to)
	}
}

// sweep removes the sessions nothing crossed for relayIdle.
func (r *relayServer) sweep() {
	limit := time.Now().Add(-relayIdle).UnixNano()
	r.mu.Lock()
	defer r.mu.Unlock()
	for sid, s := range r.sessions {
		if s.last.Load() < limit {
			r.removeLocked(sid)
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

// stats returns what the relay did.
func (r *relayServer) stats() RelayStats {
	st := RelayStats{Enabled: r.enabled(), Port: r.port, Packets: r.packets.Load(), Bytes: r.bytes.Load(),
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
