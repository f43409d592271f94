package p2p

import (
	"net"
	"net/netip"
	"slices"
	"sort"
	"sync"
	"time"

	"github.com/pkfs/pkfs/keyring"
)

// Observed addresses are where peers see this node's packets come from:
// behind a NAT, its public mapping. Every peer we dial says in its answer
// to hello what it sees (as STUN does); the node keeps a few such
// addresses with who reported them and when, shows them (agent status,
// nodes addresses), and gives them to a peer that signals a punch. A
// peer can lie: an address counts for more the more peers report it,
// and the table is small and forgets.
const (
	maxObserved  = 8         // addresses kept
	maxObservers = 4         // reporters kept per address
	observedTTL  = time.Hour // an address nobody reports again is forgotten
)

// ObservedAddress is an address a peer saw this node at.
type ObservedAddress struct {
	Address  string           `json:"address"`
	SeenBy   []keyring.NodeID `json:"seenBy"`
	LastSeen time.Time        `json:"lastSeen"`
}

type observedTable struct {
	mu sync.Mutex
	m  map[string]*ObservedAddress
}

func newObserved() *observedTable { return &observedTable{m: map[string]*ObservedAddress{}} }

// parseAddrPort accepts an IP literal and port as a peer may report them:
// not unspecified, multicast or broadcast, port 1..65535.
func parseAddrPort(s string) (netip.AddrPort, bool) {
	ap, err := netip.ParseAddrPort(s)
	if err != nil || ap.Port() == 0 {
		return netip.AddrPort{}, false
	}
	a := ap.Addr().Unmap()
	if !a.IsValid() || a.IsUnspecified() || a.IsMulticast() || a == netip.AddrFrom4([4]byte{255, 255, 255, 255}) || a.Zone() != "" {
		return netip.AddrPort{}, false
	}
	return netip.AddrPortFrom(a, ap.Port()), true
}

// udpString is the text of a UDP address as reported to peers ("" for an
// address that is not UDP, as a relayed connection's).
func udpString(a net.Addr) string {
	ua, ok := a.(*net.UDPAddr)
	if !ok {
		return ""
	}
	ap := ua.AddrPort()
	return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port()).String()
}

// add records that peer by saw this node at addr (ignored unless valid).
func (o *observedTable) add(addr string, by keyring.NodeID) {
	ap, ok := parseAddrPort(addr)
	if !ok {
		return
	}
	key := ap.String()
	now := time.Now().UTC()
	o.mu.Lock()
	defer o.mu.Unlock()
	o.expireLocked(now)
	e, ok := o.m[key]
	if !ok {
		if len(o.m) >= maxObserved {
			o.evictLocked()
		}
		e = &ObservedAddress{Address: key}
		o.m[key] = e
	}
	e.LastSeen = now
	if i := slices.Index(e.SeenBy, by); i >= 0 {
		e.SeenBy = slices.Delete(e.SeenBy, i, i+1)
	}
	e.SeenBy = append(e.SeenBy, by) // the latest reporter last
	if len(e.SeenBy) > maxObservers {
		e.SeenBy = e.SeenBy[len(e.SeenBy)-maxObservers:]
	}
}

// evictLocked drops the address with the fewest reporters, the oldest of
// those.
func (o *observedTable) evictLocked() {
	var worst *ObservedAddress
	for _, e := range o.m {
		if worst == nil || len(e.SeenBy) < len(worst.SeenBy) ||
			len(e.SeenBy) == len(worst.SeenBy) && e.LastSeen.Before(worst.LastSeen) {
			worst = e
		}
	}
	if worst != nil {
		delete(o.m, worst.Address)
	}
}

func (o *observedTable) expireLocked(now time.Time) {
	for k, e := range o.m {
		if now.Sub(e.LastSeen) > observedTTL {
			delete(o.m, k)
		}
	}
}

// list returns the addresses, the most reported first, then the newest.
func (o *observedTable) list() []ObservedAddress {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.expireLocked(time.Now().UTC())
	out := make([]ObservedAddress, 0, len(o.m))
	for _, e := range o.m {
		c := *e
		c.SeenBy = slices.Clone(e.SeenBy)
		out = append(out, c)
	}
	sort.Slice(out, func(i, j int) bool {
		if len(out[i].SeenBy) != len(out[j].SeenBy) {
			return len(out[i].SeenBy) > len(out[j].SeenBy)
		}
		return out[i].LastSeen.After(out[j].LastSeen)
	})
	return out
}

// ObservedAddresses returns where peers see this node, the most reported
// first.
func (n *Node) ObservedAddresses() []ObservedAddress { return n.observed.list() }
