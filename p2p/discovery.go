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
)

// discovery walks the gestalt graph breadth first in the background. Each
// Discover starts a walk: the vertex, then every vertex its claims reach,
// each visited once per walk (so a walk ends, and asking again visits
// everything again).
type discovery struct {
	s    *System
	kick chan struct{}

	mu       sync.Mutex
	queue    []gestalt.Vertex
	queued   map[gestalt.Vertex]uint64 // vertex -> walk
	active   gestalt.Vertex
	walks    uint64                    // the latest walk
	visited  map[gestalt.Vertex]uint64 // vertex -> walk of its latest visit; emptied when idle
	rejected []rejection               // the latest maxRejected, oldest first
	seq      uint64                    // of the latest rejection
}

// rejection is a vertex whose discovery failed, or (claim) one of its
// claims that was refused while the vertex was discovered.
type rejection struct {
	seq   uint64
	v     gestalt.Vertex
	err   error
	claim bool
}

func (r rejection) String() string { return fmt.Sprintf("%s: %v", r.v.Display(), r.err) }

// maxRejected bounds the rejections kept for identities queue.
const maxRejected = 100

func newDiscovery(s *System) *discovery {
	return &discovery{s: s, kick: make(chan struct{}, 1), queued: map[gestalt.Vertex]uint64{}, visited: map[gestalt.Vertex]uint64{}}
}

// Discover queues a vertex (and, from it, everything its claims reach).
func (s *System) Discover(v gestalt.Vertex) error {
	if !s.Online() {
		return ErrOffline
	}
	if p, _, ok := v.Identity(); ok {
		if _, ok := s.provider(p); !ok {
			return fmt.Errorf("%w: unknown identity provider %q", ErrNotFound, p)
		}
	}
	return s.disc.enqueue(v, 0)
}

// DiscoverWait discovers a vertex and waits until discovery has nothing
// left to do (or ctx ends). It returns v's gestalt and the rejections of
// other vertices meanwhile (discovery went on without them); when v itself
// could not be discovered (unreachable, a sigchain or claim refused, its
// provider failing), the error says why.
func (s *System) DiscoverWait(ctx context.Context, v gestalt.Vertex) (Gestalt, []string, error) {
	start := s.disc.lastSeq()
	if err := s.Discover(v); err != nil {
		return Gestalt{}, nil, err
	}
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for !s.DiscoveryIdle() {
		select {
		case <-ctx.Done():
			return Gestalt{}, nil, fmt.Errorf("discovery is still running: %w", ctx.Err())
		case <-tick.C:
		}
	}
	others := []string{}
	var own error
	for _, r := range s.disc.rejectedSince(start) {
		if r.v == v && !r.claim {
			own = r.err
		} else {
			others = append(others, r.String())
		}
	}
	if own != nil {
		return Gestalt{}, others, fmt.Errorf("discovery of %s: %w", v.Display(), own)
	}
	return s.GestaltOf(v), others, nil
}

func (d *discovery) lastSeq() uint64 {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.seq
}

// rejectedSince returns the rejections after seq, oldest first.
func (d *discovery) rejectedSince(seq uint64) []rejection {
	d.mu.Lock()
	defer d.mu.Unlock()
	var out []rejection
	for _, r := range d.rejected {
		if r.seq > seq {
			out = append(out, r)
		}
	}
	return out
}

// enqueue queues v in a walk; walk 0 starts a new one. A vertex already
// queued moves to the newer walk; one visited in the same walk is skipped.
func (d *discovery) enqueue(v gestalt.Vertex, walk uint64) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if walk == 0 {
		d.walks++
		walk = d.walks
	}
	if self := gestalt.NodeVertex(d.s.Keyring.NodeID()); v == self || d.visited[v] == walk {
		return nil
	}
	if w, ok := d.queued[v]; ok {
		d.queued[v] = max(w, walk)
		return nil
	}
	if len(d.queue) >= MaxDiscoveryQueue {
		return fmt.Errorf("%w: the discovery queue is full", ErrTooLarge)
	}
	d.queue = append(d.queue, v)
	d.queued[v] = walk
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
	Rejected []string `json:"rejected"` // the latest failures and refused claims, newest last
}

// DiscoveryQueue returns the state of the discovery queue.
func (s *System) DiscoveryQueue() QueueState {
	d := s.disc
	d.mu.Lock()
	defer d.mu.Unlock()
	st := QueueState{Active: d.active.Display(), Queued: []string{}, Rejected: []string{}}
	if d.active == "" {
		st.Active = ""
	}
	for _, v := range d.queue {
		st.Queued = append(st.Queued, v.Display())
	}
	for _, r := range d.rejected {
		st.Rejected = append(st.Rejected, r.String())
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

// rejectClaim logs and keeps a claim of v refused while v was discovered.
func (d *discovery) rejectClaim(v gestalt.Vertex, err error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.rejectLocked(v, err, true)
}

// rejectLocked logs and keeps a failure of v's discovery (or, with claim,
// of one of its claims).
func (d *discovery) rejectLocked(v gestalt.Vertex, err error, claim bool) {
	d.seq++
	r := rejection{seq: d.seq, v: v, err: err, claim: claim}
	logf("discovery rejected %s", r)
	d.rejected = append(d.rejected, r)
	if len(d.rejected) > maxRejected {
		d.rejected = d.rejected[len(d.rejected)-maxRejected:]
	}
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
		walk := d.queued[v]
		delete(d.queued, v)
		d.active = v
		d.visited[v] = walk
		d.mu.Unlock()
		vctx, cancel := context.WithTimeout(ctx, VertexTimeout)
		err := d.process(vctx, v, walk)
		cancel()
		d.mu.Lock()
		if err != nil && ctx.Err() == nil {
			d.rejectLocked(v, err, false) // before idle: DiscoverWait must see it
		}
		d.active = ""
		if len(d.queue) == 0 {
			clear(d.visited) // every walk has ended
		}
		d.mu.Unlock()
	}
}

func (d *discovery) process(ctx context.Context, v gestalt.Vertex, walk uint64) error {
	if id, ok := v.Node(); ok {
		return d.s.discoverNode(ctx, id, walk)
	}
	if p, i, ok := v.Identity(); ok {
		return d.s.discoverIdentity(ctx, p, i, walk)
	}
	return fmt.Errorf("%w: vertex %q", ErrBadRequest, v)
}

// discoverNode fetches and verifies a node's chain, records what it
// declares, and queues the vertices it reaches in the same walk (0: a new
// one).
func (s *System) discoverNode(ctx context.Context, id keyring.NodeID, walk uint64) error {
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
		_ = s.disc.enqueue(w, walk)
	}
	return nil
}

// discoverIdentity reads an identity's published claims from its provider,
// keeps those that verify and are about it, records the nodes they name,
// and queues them. Each refused claim is logged as a rejection; when none
// verifies, the identity declares no node and the first refusal is its
// error.
func (s *System) discoverIdentity(ctx context.Context, provider, identity string, walk uint64) error {
	p, ok := s.provider(provider)
	if !ok {
		return fmt.Errorf("%w: unknown identity provider %q", ErrNotFound, provider)
	}
	texts, err := p.Claims(ctx, identity)
	if err != nil {
		return err
	}
	v := gestalt.IdentityVertex(provider, identity)
	var decl []gestalt.Vertex
	var bad []error
	for _, t := range texts {
		cs, err := gestalt.DecodeIdentityClaims(t)
		if err != nil {
			bad = append(bad, fmt.Errorf("a published claim was refused: %w", err))
		}
		for _, c := range cs {
			if c.Provider != provider || c.Identity != identity {
				bad = append(bad, fmt.Errorf("%w: a published claim names %s:%s, not this identity", gestalt.ErrBadClaim, c.Provider, c.Identity))
				continue
			}
			decl = append(decl, gestalt.NodeVertex(c.NodeA))
		}
	}
	if err := s.Gestalts.Set(v, decl); err != nil {
		return err
	}
	for _, w := range decl {
		_ = s.disc.enqueue(w, walk)
	}
	var failed error // the identity's own failure: no claim verified
	if len(decl) == 0 && len(bad) > 0 {
		bad, failed = bad[1:], bad[0]
	}
	for _, err := range bad {
		s.disc.rejectClaim(v, err)
	}
	return failed
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
	if err := s.discoverIdentity(ctx, provider, identity, 0); err != nil {
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
