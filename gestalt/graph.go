package gestalt

import (
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pkfs/pkfs/internal/kvstore"
	"github.com/pkfs/pkfs/keyring"
)

// Vertex is a node ("node:v…") or an identity ("identity:github.com:alice")
// of the gestalt graph.
type Vertex string

// NodeVertex returns the vertex of a node.
func NodeVertex(id keyring.NodeID) Vertex { return Vertex("node:" + id.String()) }

// IdentityVertex returns the vertex of an identity.
func IdentityVertex(provider, identity string) Vertex {
	return Vertex("identity:" + provider + ":" + identity)
}

// Node returns the node ID of a node vertex.
func (v Vertex) Node() (keyring.NodeID, bool) {
	s, ok := strings.CutPrefix(string(v), "node:")
	if !ok {
		return keyring.NodeID{}, false
	}
	id, err := keyring.ParseNodeID(s)
	return id, err == nil
}

// Identity returns the provider and identity of an identity vertex.
func (v Vertex) Identity() (string, string, bool) {
	s, ok := strings.CutPrefix(string(v), "identity:")
	if !ok {
		return "", "", false
	}
	p, i, err := ParseIdentity(s)
	return p, i, err == nil
}

// ParseVertex accepts a node ID or PROVIDER:IDENTITY.
func ParseVertex(s string) (Vertex, error) {
	if id, err := keyring.ParseNodeID(s); err == nil {
		return NodeVertex(id), nil
	}
	p, i, err := ParseIdentity(s)
	if err != nil {
		return "", fmt.Errorf("%w: %q is neither a node ID nor PROVIDER:IDENTITY", ErrInvalidIdentity, s)
	}
	return IdentityVertex(p, i), nil
}

// Display returns the vertex as users write it.
func (v Vertex) Display() string {
	if id, ok := v.Node(); ok {
		return id.String()
	}
	if p, i, ok := v.Identity(); ok {
		return p + ":" + i
	}
	return string(v)
}

// record is what discovery learnt about one vertex: the vertices its own
// (verified) claims point to. A link needs both sides discovered and
// agreeing: no node can borrow an identity it does not own, and a device
// unlinked in a chain not read yet does not come back.
type record struct {
	Declares []Vertex `json:"declares"`
	Verified bool     `json:"verified"`
	Updated  time.Time
}

// Graph is the gestalt graph: vertices and the links their verified claims
// declare. Two vertices are linked when both declare each other (a vertex
// not discovered yet counts as agreeing): either side can break a link.
type Graph struct {
	mu sync.Mutex
	b  *kvstore.Bucket
	// version counts changes, so answers derived from the graph can be
	// cached until it changes.
	version atomic.Uint64
	// self is this node: its own links are known without discovery.
	self keyring.NodeID
}

// NewGraph returns the gestalt graph kept in db.
func NewGraph(db *kvstore.DB, self keyring.NodeID) *Graph {
	return &Graph{b: db.Bucket("gestalts/graph"), self: self}
}

func (g *Graph) get(v Vertex) (*record, error) {
	b, err := g.b.Get([]byte(v))
	if errors.Is(err, kvstore.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var r record
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, fmt.Errorf("%w: gestalt record", kvstore.ErrDamaged)
	}
	return &r, nil
}

// Set records the vertices v's verified claims declare.
func (g *Graph) Set(v Vertex, declares []Vertex) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	defer g.version.Add(1)
	sort.Slice(declares, func(i, j int) bool { return declares[i] < declares[j] })
	b, _ := json.Marshal(record{Declares: declares, Verified: true, Updated: time.Now().UTC()})
	return g.b.Put([]byte(v), b, false)
}

// Forget removes a vertex's record.
func (g *Graph) Forget(v Vertex) error {
	defer g.version.Add(1)
	return g.b.Delete([]byte(v), false)
}

// Known reports whether a vertex has been discovered.
func (g *Graph) Known(v Vertex) bool { r, _ := g.get(v); return r != nil }

// neighbours returns the vertices linked to v.
func (g *Graph) neighbours(v Vertex) []Vertex {
	rv, err := g.get(v)
	if err != nil {
		return nil
	}
	cand := map[Vertex]bool{}
	if rv != nil {
		for _, w := range rv.Declares {
			cand[w] = true
		}
	}
	_ = g.b.ForEach(func(k, b []byte) error { // who declares v?
		var r record
		if json.Unmarshal(b, &r) == nil && containsVertex(r.Declares, v) {
			cand[Vertex(k)] = true
		}
		return nil
	})
	var out []Vertex
	for w := range cand {
		rw, err := g.get(w)
		if err == nil && w != v && linked(v, rv, w, rw) {
			out = append(out, w)
		}
	}
	return out
}

// linked applies the agreement rule to two vertices and their records:
// both must be known and declare each other. A side not known yet does not
// count as agreeing, even for a link both nodes signed: that old signed
// claim may since have been revoked by an unlink in the chain we have not
// read, and a revoked device must not come back through it.
func linked(v Vertex, rv *record, w Vertex, rw *record) bool {
	return rv != nil && rw != nil && containsVertex(rv.Declares, w) && containsVertex(rw.Declares, v)
}

func containsVertex(vs []Vertex, v Vertex) bool {
	for _, x := range vs {
		if x == v {
			return true
		}
	}
	return false
}

// MaxGestalt bounds the vertices of one gestalt walk.
const MaxGestalt = 1000

// Gestalt returns the gestalt of v: v and every vertex linked to it,
// directly or not, sorted.
func (g *Graph) Gestalt(v Vertex) []Vertex {
	seen := map[Vertex]bool{v: true}
	queue := []Vertex{v}
	for len(queue) > 0 && len(seen) < MaxGestalt {
		x := queue[0]
		queue = queue[1:]
		for _, w := range g.neighbours(x) {
			if !seen[w] {
				seen[w] = true
				queue = append(queue, w)
			}
		}
	}
	out := make([]Vertex, 0, len(seen))
	for x := range seen {
		out = append(out, x)
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}

// All returns every gestalt the graph knows, each sorted.
func (g *Graph) All() ([][]Vertex, error) {
	var vs []Vertex
	err := g.b.ForEach(func(k, _ []byte) error { vs = append(vs, Vertex(k)); return nil })
	if err != nil {
		return nil, err
	}
	sort.Slice(vs, func(i, j int) bool { return vs[i] < vs[j] })
	done := map[Vertex]bool{}
	var out [][]Vertex
	for _, v := range vs {
		if done[v] {
			continue
		}
		gs := g.Gestalt(v)
		for _, x := range gs {
			done[x] = true
		}
		out = append(out, gs)
	}
	return out, nil
}

// AddDeclare records that v declares w (a doubly signed link we hold),
// until v's own chain is discovered again.
func (g *Graph) AddDeclare(v, w Vertex) error {
	r, err := g.get(v)
	if err != nil {
		return err
	}
	var decl []Vertex
	if r != nil {
		if containsVertex(r.Declares, w) {
			return nil
		}
		decl = r.Declares
	}
	return g.Set(v, append(decl, w))
}
