package p2p

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"sort"
	"sync/atomic"
	"time"

	"github.com/pkfs/pkfs/keyring"
)

// Reaching a node that cannot be dialled at a known address: through a
// peer that is connected to both (a punch), else through a peer that
// relays. A relayed connection is replaced by a punched one when a later
// punch succeeds, tried on a back-off while the relayed one lives.
const (
	maxIntroducers = 4
	maxRelays      = 2
	upgradeMax     = 5 * time.Minute // the back-off's ceiling
)

// Timing of upgrades (tests shorten them).
var (
	upgradeFirst = 10 * time.Second // first retry of a punch under a relayed connection
	retireGrace  = 10 * time.Second // calls in flight on a replaced connection may end
)

// errNoRoute says that no connected peer could introduce us to a node or
// relay for it: as far as we can tell, nobody knows it.
var errNoRoute = fmt.Errorf("%w: no connected peer knows it", ErrUnknownNode)

// dialIndirect connects to id through the peers we are connected to: a
// punch through the first that reaches id, else a relay. It sets
// signalled once a peer has signalled id.
func (n *Node) dialIndirect(ctx context.Context, id keyring.NodeID, signalled *atomic.Bool) (*peerConn, error) {
	var errs []error
	known := false // some peer reached id
	for _, via := range n.introducers(id) {
		pc, signalled, err := n.punchVia(ctx, via, id, signalled)
		if err == nil {
			return pc, nil
		}
		errs = append(errs, fmt.Errorf("punch through %s: %w", via, err))
		known = known || signalled
		if signalled || ctx.Err() != nil {
			break
		}
	}
	for _, r := range n.relayPeers(id) {
		if ctx.Err() != nil {
			break
		}
		pc, opened, err := n.dialRelayed(ctx, r, id)
		if err == nil {
			n.wg.Add(1)
			go n.upgrade(pc)
			return pc, nil
		}
		errs = append(errs, err)
		known = known || opened
	}
	if !known {
		return nil, fmt.Errorf("%w (%v)", errNoRoute, errors.Join(errs...))
	}
	return nil, fmt.Errorf("%w: %s: %v", ErrUnavailable, id, errors.Join(errs...))
}

// outerConns returns the live connections that are not relayed, except
// to skip, seeds first, then the oldest.
func (n *Node) outerConns(skip keyring.NodeID) []*peerConn {
	n.mu.Lock()
	var out []*peerConn
	for id, pc := range n.conns {
		if id != skip && pc.via != ViaRelayed && pc.conn.Context().Err() == nil {
			out = append(out, pc)
		}
	}
	n.mu.Unlock()
	seed := map[keyring.NodeID]bool{}
	for _, pc := range out {
		if a, err := n.Graph.Get(pc.id); err == nil && a.Seed {
			seed[pc.id] = true
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if seed[out[i].id] != seed[out[j].id] {
			return seed[out[i].id]
		}
		return out[i].since.Before(out[j].since)
	})
	return out
}

// introducers returns the peers that may introduce us to target.
func (n *Node) introducers(target keyring.NodeID) []keyring.NodeID {
	var ids []keyring.NodeID
	for _, pc := range n.outerConns(target) {
		if ids = append(ids, pc.id); len(ids) == maxIntroducers {
			break
		}
	}
	return ids
}

// relayPeers returns the peers that said they relay.
func (n *Node) relayPeers(target keyring.NodeID) []keyring.NodeID {
	var ids []keyring.NodeID
	for _, pc := range n.outerConns(target) {
		if !pc.relays {
			continue
		}
		if ids = append(ids, pc.id); len(ids) == maxRelays {
			break
		}
	}
	return ids
}

// outerConn returns a live connection to id that is not relayed, or nil.
func (n *Node) outerConn(id keyring.NodeID) *peerConn {
	n.mu.Lock()
	defer n.mu.Unlock()
	if pc, ok := n.conns[id]; ok && pc.via != ViaRelayed && pc.conn.Context().Err() == nil {
		return pc
	}
	l := n.live[id]
	for i := len(l) - 1; i >= 0; i-- {
		if l[i].via != ViaRelayed && l[i].conn.Context().Err() == nil {
			return l[i]
		}
	}
	return nil
}

// candidates returns the addresses a peer may punch us at: where peers
// see us (the most reported two), then where we are on our own networks.
func (n *Node) candidates() []string {
	var c []string
	for i, o := range n.observed.list() {
		if i == 2 {
			break
		}
		c = append(c, o.Address)
	}
	return cleanAddrs(append(c, n.localAddrs()...))
}

// localAddrs returns where peers on our own networks may reach us: the
// listen address when it is one IP, else the addresses of the interfaces
// that are up (IPv4 first; no loopback, no link-local), with our port.
func (n *Node) localAddrs() []string {
	la := n.Addr()
	if !la.IP.IsUnspecified() {
		return []string{udpString(la)}
	}
	ifas, err := net.InterfaceAddrs()
	if err != nil {
		return nil
	}
	var v4, v6 []string
	for _, ifa := range ifas {
		ipn, ok := ifa.(*net.IPNet)
		if !ok {
			continue
		}
		a, ok := netip.AddrFromSlice(ipn.IP)
		if !ok || a.IsLoopback() || a.IsLinkLocalUnicast() || a.IsUnspecified() || a.IsMulticast() {
			continue
		}
		ap := netip.AddrPortFrom(a.Unmap(), uint16(la.Port)).String()
		if a.Unmap().Is4() {
			v4 = append(v4, ap)
		} else if la.IP.To4() == nil {
			v6 = append(v6, ap)
		}
	}
	out := append(v4, v6...)
	if len(out) > 3 {
		out = out[:3]
	}
	return out
}

// upgrade tries, on a back-off, to replace a relayed connection with a
// punched one, until one comes up or the relayed connection ends.
func (n *Node) upgrade(pc *peerConn) {
	defer n.wg.Done()
	wait := upgradeFirst
	for {
		select {
		case <-n.ctx.Done():
			return
		case <-pc.conn.Context().Done():
			return
		case <-time.After(wait):
		}
		if n.outerConn(pc.id) != nil { // a direct connection came up otherwise
			n.retire(pc)
			return
		}
		ctx, cancel := context.WithTimeout(n.ctx, punchAttempts*(PunchTimeout+DialTimeout))
		for _, via := range n.introducers(pc.id) {
			dpc, signalled, err := n.punchVia(ctx, via, pc.id, nil)
			if err == nil {
				cancel()
				n.register(dpc)
				logf("the relayed connection to %s is now punched", pc.id)
				n.retire(pc)
				return
			}
			if signalled {
				break
			}
		}
		cancel()
		wait = min(2*wait, upgradeMax)
	}
}

// retire closes a connection that another replaced, after a grace for
// the calls in flight on it.
func (n *Node) retire(pc *peerConn) {
	time.AfterFunc(retireGrace, func() { pc.conn.CloseWithError(0, "replaced by a direct connection") })
}
