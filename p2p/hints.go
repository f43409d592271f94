package p2p

import (
	"sync"
	"time"

	"github.com/pkfs/pkfs/keyring"
)

// Hints keep, in memory only, addresses that nothing has confirmed: a
// peer's own address as it said hello (its port is what it claims), and
// nodes named in the answers of peers we do not trust. A dial may try a
// hint; once the dial confirms the node's key, the address is learned
// into the graph (Graph.Learn). At most maxHints are kept, for an hour
// each; the oldest go first.
const (
	maxHints = 1024
	hintTTL  = time.Hour
)

type hint struct {
	a    NodeAddress
	seen time.Time
}

type hintTable struct {
	mu  sync.Mutex
	m   map[keyring.NodeID]hint
	max int
}

func newHints() *hintTable { return &hintTable{m: map[keyring.NodeID]hint{}, max: maxHints} }

// put records an address, evicting the oldest hint when full.
func (h *hintTable) put(a NodeAddress) {
	if ValidateAddress(a.Host, a.Port) != nil {
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if _, ok := h.m[a.NodeID]; !ok && len(h.m) >= h.max {
		var oldest keyring.NodeID
		var when time.Time
		for id, x := range h.m {
			if when.IsZero() || x.seen.Before(when) {
				oldest, when = id, x.seen
			}
		}
		delete(h.m, oldest)
	}
	a.Learned, a.Seed = false, false
	h.m[a.NodeID] = hint{a: a, seen: time.Now()}
}

// get returns the hint of a node and when it came, unless expired.
func (h *hintTable) get(id keyring.NodeID) (NodeAddress, time.Time, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	x, ok := h.m[id]
	if ok && time.Since(x.seen) > hintTTL {
		delete(h.m, id)
		ok = false
	}
	return x.a, x.seen, ok
}

func (h *hintTable) forget(id keyring.NodeID) {
	h.mu.Lock()
	delete(h.m, id)
	h.mu.Unlock()
}

func (h *hintTable) len() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.m)
}
