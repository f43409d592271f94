package p2p

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"sync"
	"time"

	"github.com/pkfs/pkfs/gestalt"
	"github.com/pkfs/pkfs/internal/kvstore"
	"github.com/pkfs/pkfs/keyring"
)

// Limits of discovery.
const (
	MaxDiscoveryQueue = 1000
	VertexTimeout     = 10 * time.Second
	// rediscoverAfter keeps a walk from visiting a vertex twice in a row.
	rediscoverAfter = 5 * time.Second
)

// discovery walks the gestalt graph breadth first in the background.
type discovery struct {
	s    *System
	kick chan struct{}

	mu       sync.Mutex
	queue    []gestalt.Vertex
	queued   map[gestalt.Vertex]bool
	active   gestalt.Vertex
	visited  map[gestalt.Vertex]time.Time
	rejected []string
}

func newDiscovery(s *System) *discovery {
	return &discovery{s: s, kick: make(chan struct{}, 1), queued: map[gestalt.Vertex]bool{}, visited: map[gestalt.Vertex]time.Time{}}
}

// Discover queues a vertex (and, from it, everything its claims reach).
func (s *System) Discover(v gestalt.Vertex) error {
	if !s.Online() {
		return ErrOffline
	}
	return s.disc.enqueue(v, true)
}

func (d *discovery) enqueue(v gestalt.Vertex, force bool) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if self := gestalt.NodeVertex(d.s.Keyring.NodeID()); v == self || d.queued[v] || v == d.active {
		return nil
	}
	if t, ok := d.visited[v]; ok && !force && time.Since(t) < rediscoverAfter {
		return nil
	}
	if len(d.queue) >= MaxDiscoveryQueue {
		return fmt.Errorf("%w: the discovery queue is full", ErrTooLarge)
	}
	d.queue = append(d.queue, v)
	d.queued[v] = true
	select {
	case d.kick <- struct{}{}:
	default:
	}
	return nil
}

// QueueState describes the discovery queue.
type QueueState struct {
	Active   string   `json:"active,omitempty"`
	Queued   []string `json:"queued"`
	Rejected []string `json:"rejected"` // the latest claims refused, newest last
}

// DiscoveryQueue returns the state of the discovery queue.
func (s *System) DiscoveryQueue() QueueState {
	d := s.disc
	d.mu.Lock()
	defer d.mu.Unlock()
	st := QueueState{Active: d.active.Display(), Queued: []string{}, Rejected: append([]string{}, d.rejected...)}
	if d.active == "" {
		st.Active = ""
	}
	for _, v := range d.queue {
		st.Queued = append(st.Queued, v.Display())
	}
	return st
}

// Idle reports whether discovery has nothing queued or running.
func (s *System) DiscoveryIdle() bool {
	d := s.disc
	d.mu.Lock()
	defer d.mu.Unlock()
	return len(d.queue) == 0 && d.active == ""
}

func (d *discovery) reject(v gestalt.Vertex, err error) {
	msg := fmt.Sprintf("%s: %v", v.Display(), err)
	logf("discovery rejected %s", msg)
	d.mu.Lock()
	d.rejected = append(d.rejected, msg)
	if len(d.rejected) > 100 {
		d.rejected = d.rejected[len(d.rejected)-100:]
	}
	d.mu.Unlock()
}

func (d *discovery) loop(ctx context.Context) {
	for {
		d.mu.Lock()
		if len(d.queue) == 0 {
			d.mu.Unlock()
			select {
			case <-ctx.Done():
				return
			case <-d.kick:
				continue
			}
		}
		v := d.queue[0]
		d.queue = d.queue[1:]
		delete(d.queued, v)
		d.active = v
		d.mu.Unlock()
		vctx, cancel := context.WithTimeout(ctx, VertexTimeout)
		err := d.process(vctx, v)
		cancel()
		d.mu.Lock()
		d.active = ""
		d.visited[v] = time.Now()
		d.mu.Unlock()
		if err != nil && ctx.Err() == nil {
			d.reject(v, err)
		}
	}
}

func (d *discovery) process(ctx context.Context, v gestalt.Vertex) error {
	if id, ok := v.Node(); ok {
		return d.s.discoverNode(ctx, id)
	}
	if p, i, ok := v.Identity(); ok {
		return d.s.discoverIdentity(ctx, p, i)
	}
	return fmt.Errorf("%w: vertex %q", ErrBadRequest, v)
}

// discoverNode fetches and verifies a node's chain, records what it
// declares, and queues the vertices it reaches.
func (s *System) discoverNode(ctx context.Context, id keyring.NodeID) error {
	if _, err := s.Graph.Get(id); err != nil {
		if _, err := s.Node.Find(ctx, id); err != nil {
			return fmt.Errorf("no address: %w", err)
		}
	}
	es, err := s.FetchChain(ctx, id)
	if err != nil {
		return err
	}
	decl := declares(id, es)
	if err := s.Gestalts.Set(gestalt.NodeVertex(id), decl); err != nil {
		return err
	}
	for _, w := range decl {
		_ = s.disc.enqueue(w, false)
	}
	return nil
}

// discoverIdentity reads an identity's published claims from its provider,
// keeps those that verify and are about it, records the nodes they name,
// and queues them.
func (s *System) discoverIdentity(ctx context.Context, provider, identity string) error {
	p, ok := s.provider(provider)
	if !ok {
		return fmt.Errorf("%w: unknown identity provider %q", ErrNotFound, provider)
	}
	texts, err := p.Claims(ctx, identity)
	if err != nil {
		return err
	}
	var decl []gestalt.Vertex
	var bad error
	for _, t := range texts {
		cs, err := gestalt.DecodeIdentityClaims(t)
		if err != nil {
			bad = err
			continue
		}
		for _, c := range cs {
			if c.Provider == provider && c.Identity == identity {
				decl = append(decl, gestalt.NodeVertex(c.NodeA))
			}
		}
	}
	v := gestalt.IdentityVertex(provider, identity)
	if err := s.Gestalts.Set(v, decl); err != nil {
		return err
	}
	for _, w := range decl {
		_ = s.disc.enqueue(w, false)
	}
	if bad != nil {
		return fmt.Errorf("a published claim was refused: %w", bad)
	}
	return nil
}

// Gestalt is a gestalt as commands show it.
type Gestalt struct {
	Nodes      []string `json:"nodes"`
	Identities []string `json:"identities"`
}

func toGestalt(vs []gestalt.Vertex) Gestalt {
	g := Gestalt{Nodes: []string{}, Identities: []string{}}
	for _, v := range vs {
		if id, ok := v.Node(); ok {
			g.Nodes = append(g.Nodes, id.String())
		} else {
			g.Identities = append(g.Identities, v.Display())
		}
	}
	sort.Strings(g.Nodes)
	sort.Strings(g.Identities)
	return g
}

// GestaltOf returns the gestalt of a vertex.
func (s *System) GestaltOf(v gestalt.Vertex) Gestalt { return toGestalt(s.Gestalts.Gestalt(v)) }

// Gestalts returns every gestalt known.
func (s *System) AllGestalts() ([]Gestalt, error) {
	all, err := s.Gestalts.All()
	out := make([]Gestalt, 0, len(all))
	for _, vs := range all {
		out = append(out, toGestalt(vs))
	}
	return out, err
}

// --- identity providers and their tokens

type tokenRecord struct {
	Token    string `json:"token"`
	Identity string `json:"identity"`
}

func (s *System) tokens() *kvstore.Bucket { return s.DB.Bucket("identities/tokens") }

// SetProviders installs the identity providers (by ID).
func (s *System) SetProviders(ps ...gestalt.Provider) {
	s.provMu.Lock()
	defer s.provMu.Unlock()
	s.providers = map[string]gestalt.Provider{}
	for _, p := range ps {
		s.providers[p.ID()] = p
	}
}

func (s *System) provider(id string) (gestalt.Provider, bool) {
	s.provMu.Lock()
	defer s.provMu.Unlock()
	p, ok := s.providers[id]
	return p, ok
}

// Authenticate runs a provider's device flow: show(challenge) tells the
// user where to go; it then waits for the approval and keeps the token.
func (s *System) Authenticate(ctx context.Context, provider string, show func(gestalt.AuthChallenge)) (string, error) {
	p, ok := s.provider(provider)
	if !ok {
		return "", fmt.Errorf("%w: unknown identity provider %q", ErrNotFound, provider)
	}
	ch, err := p.StartAuth(ctx)
	if err != nil {
		return "", err
	}
	show(ch)
	tok, err := p.FinishAuth(ctx, ch)
	if err != nil {
		return "", err
	}
	who, err := p.WhoAmI(ctx, tok)
	if err != nil {
		return "", err
	}
	b, _ := json.Marshal(tokenRecord{Token: tok.Secret(), Identity: who})
	return who, s.tokens().Put([]byte(provider), b, true)
}

// Authenticated lists the providers we hold a token for, with the identity.
func (s *System) Authenticated() (map[string]string, error) {
	out := map[string]string{}
	err := s.tokens().ForEach(func(k, v []byte) error {
		var r tokenRecord
		if err := json.Unmarshal(v, &r); err == nil {
			out[string(k)] = r.Identity
		}
		return nil
	})
	return out, err
}

func (s *System) token(provider string) (gestalt.Token, string, error) {
	v, err := s.tokens().Get([]byte(provider))
	if errors.Is(err, kvstore.ErrNotFound) {
		return gestalt.Token{}, "", fmt.Errorf("%w: %s (run pkfs identities authenticate %s)", gestalt.ErrNotAuthenticated, provider, provider)
	}
	if err != nil {
		return gestalt.Token{}, "", err
	}
	var r tokenRecord
	if err := json.Unmarshal(v, &r); err != nil {
		return gestalt.Token{}, "", fmt.Errorf("%w: token record", kvstore.ErrDamaged)
	}
	return gestalt.NewToken(r.Token), r.Identity, nil
}

// ClaimIdentity links this node to an identity we are authenticated as: a
// signed claim in our sigchain, published on the provider.
func (s *System) ClaimIdentity(ctx context.Context, provider, identity string) (string, error) {
	p, ok := s.provider(provider)
	if !ok {
		return "", fmt.Errorf("%w: unknown identity provider %q", ErrNotFound, provider)
	}
	tok, who, err := s.token(provider)
	if err != nil {
		return "", err
	}
	if who != identity {
		return "", fmt.Errorf("%w: authenticated to %s as %s, not %s", ErrPermission, provider, who, identity)
	}
	c := gestalt.Claim{Type: gestalt.ClaimIdentity, NodeA: s.Keyring.NodeID(), Provider: provider, Identity: identity,
		IssuedAt: time.Now().UTC().Truncate(time.Millisecond), Nonce: newNonce()}
	if err := s.Sigchain.SignClaim(&c); err != nil {
		return "", err
	}
	url, err := p.Publish(ctx, tok, gestalt.EncodeIdentityClaim(c))
	if err != nil {
		return "", err
	}
	if _, err := s.Sigchain.Append(c); err != nil {
		return "", err
	}
	if err := s.RefreshSelf(); err != nil {
		return url, err
	}
	if err := s.discoverIdentity(ctx, provider, identity); err != nil {
		logf("reading back the claim of %s:%s: %v", provider, identity, err)
	}
	return url, nil
}

// SearchIdentities asks a provider for identities matching a query.
func (s *System) SearchIdentities(ctx context.Context, provider, query string) ([]string, error) {
	p, ok := s.provider(provider)
	if !ok {
		return nil, fmt.Errorf("%w: unknown identity provider %q", ErrNotFound, provider)
	}
	return p.Search(ctx, query)
}
