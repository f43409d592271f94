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

// Add records (or updates) a node's address.
func (g *Graph) Add(a NodeAddress) error {
	if err := ValidateAddress(a.Host, a.Port); err != nil {
		return err
	}
	if old, err := g.Get(a.NodeID); err == nil {
		a.Seed = a.Seed || old.Seed
		if a.LastSeen.IsZero() {
			a.LastSeen = old.LastSeen
		}
	}
	v, _ := json.Marshal(a)
	return g.b.Put(a.NodeID[:], v, false)
}

// maxLearned bounds the node graph against nodes we only hear of (from a
// hello, from another node's answer): past it, only nodes already known,
// added by hand or given as seeds are recorded. Any peer can make new node
// IDs at will; without the bound each would grow the store for good.
var maxLearned = 10000

// Learn records the address of a node we heard of, unless the graph is
// full and the node is new to it.
func (g *Graph) Learn(a NodeAddress) error {
	if _, err := g.Get(a.NodeID); err != nil {
		if n, err := g.b.Count(); err != nil || n >= maxLearned {
			return fmt.Errorf("%w: the node graph holds %d nodes", ErrTooLarge, n)
		}
	}
	return g.Add(a)
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
