package p2p

import (
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/pkfs/pkfs/internal/kvstore"
	"github.com/pkfs/pkfs/keyring"
)

// K and Alpha are the Kademlia bucket size and lookup parallelism.
const (
	K     = 20
	Alpha = 3
)

// NodeAddress is a known node and where it listens.
type NodeAddress struct {
	NodeID   keyring.NodeID `json:"nodeId"`
	Host     string         `json:"host"`
	Port     int            `json:"port"`
	LastSeen time.Time      `json:"lastSeen,omitzero"`
	Seed     bool           `json:"seed,omitempty"`
	// Learned: recorded by the node itself (an outbound contact confirmed
	// it, or a trusted peer told of it), not added by hand or as a seed.
	// Learned entries are evicted, oldest first, when the graph is full.
	Learned bool `json:"learned,omitempty"`
	// Observed are other addresses the node was seen at (by the peer
	// that answered a lookup: its connection's far end, a NAT's mapping).
	// Kept in memory only, never in the graph.
	Observed []string `json:"observed,omitempty"`
}

// Addr returns host:port.
func (a NodeAddress) Addr() string { return net.JoinHostPort(a.Host, strconv.Itoa(a.Port)) }

// ErrInvalidAddress is returned for a host or port that cannot be used.
var ErrInvalidAddress = errors.New("invalid address")

// ValidateAddress checks a host (an IP address or a DNS name) and a port.
func ValidateAddress(host string, port int) error {
	if port < 1 || port > 65535 {
		return fmt.Errorf("%w: port %d", ErrInvalidAddress, port)
	}
	if host == "" || len(host) > 253 || strings.ContainsAny(host, " /\\\x00") {
		return fmt.Errorf("%w: host %q", ErrInvalidAddress, host)
	}
	return nil
}

// ParseSeeds parses "NODEID@HOST:PORT;NODEID@HOST:PORT".
func ParseSeeds(s string) ([]NodeAddress, error) {
	var out []NodeAddress
	for _, part := range strings.Split(s, ";") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		ids, hp, ok := strings.Cut(part, "@")
		if !ok {
			return nil, fmt.Errorf("%w: seed %q: want NODEID@HOST:PORT", ErrInvalidAddress, part)
		}
		id, err := keyring.ParseNodeID(ids)
		if err != nil {
			return nil, err
		}
		host, ps, err := net.SplitHostPort(hp)
		if err != nil {
			return nil, fmt.Errorf("%w: seed %q: %v", ErrInvalidAddress, part, err)
		}
		port, err := strconv.Atoi(ps)
		if err != nil {
			return nil, fmt.Errorf("%w: seed %q: port", ErrInvalidAddress, part)
		}
		if err := ValidateAddress(host, port); err != nil {
			return nil, err
		}
		out = append(out, NodeAddress{NodeID: id, Host: host, Port: port, Seed: true})
	}
	return out, nil
}

// Graph is the persistent table of known nodes.
type Graph struct {
	b *kvstore.Bucket
}

// NewGraph returns the node graph kept in db.
func NewGraph(db *kvstore.DB) *Graph { return &Graph{b: db.Bucket("nodes/graph")} }

// Add records (or updates) a node's address given by hand or as a seed:
// it is kept until removed.
func (g *Graph) Add(a NodeAddress) error {
	if err := ValidateAddress(a.Host, a.Port); err != nil {
		return err
	}
	a.Learned = false
	if old, err := g.Get(a.NodeID); err == nil {
		a.Seed = a.Seed || old.Seed
		if a.LastSeen.IsZero() {
			a.LastSeen = old.LastSeen
		}
	}
	return g.put(a)
}

func (g *Graph) put(a NodeAddress) error {
	a.Observed = nil
	v, _ := json.Marshal(a)
	return g.b.Put(a.NodeID[:], v, false)
}

// maxLearned bounds the node graph against the nodes it learns by itself
// (Learn): past it, a new one evicts the learned node seen least
// recently; nodes added by hand or as seeds are never evicted. Any peer
// can make new node IDs at will; without the bound each would grow the
// store for good.
var maxLearned = 10000

// Learn records the address of a node that an outbound contact confirmed
// (we dialled it and its key was the node ID), or that a trusted peer told
// us of. A node added by hand stays so, with its address updated; a new
// node in a full graph evicts the learned node seen least recently.
func (g *Graph) Learn(a NodeAddress) error {
	if err := ValidateAddress(a.Host, a.Port); err != nil {
		return err
	}
	a.Learned = true
	if old, err := g.Get(a.NodeID); err == nil {
		a.Seed, a.Learned = old.Seed, old.Learned
		if a.LastSeen.IsZero() {
			a.LastSeen = old.LastSeen
		}
	} else if err := g.makeRoom(); err != nil {
		return err
	}
	return g.put(a)
}

// makeRoom evicts the learned node seen least recently when the graph is
// full.
func (g *Graph) makeRoom() error {
	n, err := g.b.Count()
	if err != nil || n < maxLearned {
		return err
	}
	all, err := g.All()
	if err != nil {
		return err
	}
	var oldest *NodeAddress
	for i := range all {
		if a := &all[i]; a.Learned && (oldest == nil || a.LastSeen.Before(oldest.LastSeen)) {
			oldest = a
		}
	}
	if oldest == nil {
		return fmt.Errorf("%w: the node graph holds %d nodes, none learned", ErrTooLarge, n)
	}
	return g.Remove(oldest.NodeID)
}

// Seen records that a known node answered now (nothing for an unknown one).
func (g *Graph) Seen(id keyring.NodeID) error {
	a, err := g.Get(id)
	if err != nil {
		return nil
	}
	a.LastSeen = time.Now().UTC()
	return g.put(a)
}

// Get returns a node's address, or ErrUnknownNode.
func (g *Graph) Get(id keyring.NodeID) (NodeAddress, error) {
	var a NodeAddress
	v, err := g.b.Get(id[:])
	if errors.Is(err, kvstore.ErrNotFound) {
		return a, fmt.Errorf("%w %s", ErrUnknownNode, id)
	}
	if err != nil {
		return a, err
	}
	if err := json.Unmarshal(v, &a); err != nil || a.NodeID != id {
		return a, fmt.Errorf("%w: node graph record", kvstore.ErrDamaged)
	}
	return a, nil
}

// Remove forgets a node.
func (g *Graph) Remove(id keyring.NodeID) error { return g.b.Delete(id[:], false) }

// All returns every known node, sorted by node ID.
func (g *Graph) All() ([]NodeAddress, error) {
	var out []NodeAddress
	err := g.b.ForEach(func(k, v []byte) error {
		var a NodeAddress
		if err := json.Unmarshal(v, &a); err != nil {
			return fmt.Errorf("%w: node graph record", kvstore.ErrDamaged)
		}
		out = append(out, a)
		return nil
	})
	sort.Slice(out, func(i, j int) bool { return out[i].NodeID.String() < out[j].NodeID.String() })
	return out, err
}

// Closest returns up to k known nodes closest to target by XOR distance.
func (g *Graph) Closest(target keyring.NodeID, k int) ([]NodeAddress, error) {
	all, err := g.All()
	if err != nil {
		return nil, err
	}
	sortByDistance(all, target)
	if len(all) > k {
		all = all[:k]
	}
	return all, nil
}

// distanceLess reports whether a is closer to t than b (XOR metric).
func distanceLess(a, b, t keyring.NodeID) bool {
	for i := range t {
		da, db := a[i]^t[i], b[i]^t[i]
		if da != db {
			return da < db
		}
	}
	return false
}

func sortByDistance(as []NodeAddress, t keyring.NodeID) {
	sort.SliceStable(as, func(i, j int) bool { return distanceLess(as[i].NodeID, as[j].NodeID, t) })
}
