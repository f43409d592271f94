package agent

import (
	"context"
	"fmt"
	"time"

	"github.com/pkfs/pkfs/gestalt"
	"github.com/pkfs/pkfs/gestalt/github"
	"github.com/pkfs/pkfs/p2p"
)

func init() {
	// first the specific errors, then what they also wrap
	classifiers = append(classifiers, []struct {
		err  error
		kind Kind
	}{
		{github.ErrBadLogin, KindInvalid},
		{github.ErrAuthDenied, KindPermission},
		{gestalt.ErrInvalidIdentity, KindInvalid},
		{gestalt.ErrNotAuthenticated, KindPermission},
		{gestalt.ErrBadClaim, KindDamaged},
		{gestalt.ErrBadChain, KindDamaged},
		{gestalt.ErrProvider, KindUnavailable},
	}...)
}

// VertexParams name a node or an identity (PROVIDER:IDENTITY).
type VertexParams struct {
	Vertex string `json:"vertex"`
	Action string `json:"action,omitempty"`
	Wait   bool   `json:"wait,omitempty"`
}

// ProviderParams name an identity provider (and a query or identity).
type ProviderParams struct {
	Provider string `json:"provider"`
	Query    string `json:"query,omitempty"`
}

// VertexPermissions is the result of the permission methods on a vertex.
type VertexPermissions struct {
	Vertex  string           `json:"vertex"`
	Actions []gestalt.Action `json:"actions"`
	Gestalt p2p.Gestalt      `json:"gestalt"`
}

// AuthResult is the result of identities.authenticate.
type AuthResult struct {
	Provider string `json:"provider"`
	Identity string `json:"identity"`
}

// ClaimResult is the result of identities.claim and nodes.claim: what was
// claimed (PROVIDER:IDENTITY, or the node linked) and, for an identity,
// where the claim was published.
type ClaimResult struct {
	Claim string `json:"claim"`
	URL   string `json:"url,omitempty"`
}

// InviteResult is the result of identities.invite: the invited node, and
// what became of the invitation's notification (delivered, queued, or
// refused by a node that does not trust us; the invitation stands).
type InviteResult struct {
	NodeID       string `json:"nodeId"`
	Inviter      string `json:"inviter"`
	Delivered    bool   `json:"delivered"`
	Queued       bool   `json:"queued"`
	Notification string `json:"notification"`
}

// DiscoverResult is the result of identities.discover: the gestalt known
// so far; with wait, the other vertices refused meanwhile.
type DiscoverResult struct {
	p2p.Gestalt
	Rejected []string `json:"rejected"`
}

func (s *Service) vertexPermissions(v gestalt.Vertex) (any, error) {
	acts, err := s.P2P.ACL.PermissionsOf(v)
	return VertexPermissions{Vertex: v.Display(), Actions: acts, Gestalt: s.P2P.GestaltOf(v)}, err
}

func init() {
	register("identities.invite", func(ctx context.Context, s *Service, c *Call) (any, error) {
		var p NodeParams
		if err := decode(c, &p); err != nil {
			return nil, err
		}
		id, err := parseNode(p.NodeID)
		if err != nil {
			return nil, err
		}
		d, err := s.P2P.Invite(ctx, id)
		if err != nil {
			return nil, err
		}
		r := InviteResult{NodeID: id.String(), Inviter: s.Node.Keyring.NodeID().String(),
			Delivered: d == p2p.Delivered, Queued: d == p2p.Queued, Notification: "queued"}
		switch d {
		case p2p.Delivered:
			r.Notification = "delivered"
		case p2p.Refused:
			r.Notification = "refused"
		}
		return r, nil
	})
	register("nodes.claim", func(ctx context.Context, s *Service, c *Call) (any, error) {
		var p NodeParams
		if err := decode(c, &p); err != nil {
			return nil, err
		}
		id, err := parseNode(p.NodeID)
		if err != nil {
			return nil, err
		}
		if _, err := s.P2P.ClaimNode(ctx, id); err != nil {
			return nil, err
		}
		return ClaimResult{Claim: id.String()}, nil
	})
	register("identities.unlink", func(ctx context.Context, s *Service, c *Call) (any, error) {
		var p NodeParams
		if err := decode(c, &p); err != nil {
			return nil, err
		}
		id, err := parseNode(p.NodeID)
		if err != nil {
			return nil, err
		}
		return struct{}{}, s.P2P.Unlink(ctx, id)
	})
	register("identities.discover", func(ctx context.Context, s *Service, c *Call) (any, error) {
		var p VertexParams
		if err := decode(c, &p); err != nil {
			return nil, err
		}
		v, err := gestalt.ParseVertex(p.Vertex)
		if err != nil {
			return nil, err
		}
		if !p.Wait {
			if err := s.P2P.Discover(v); err != nil {
				return nil, err
			}
			return DiscoverResult{Gestalt: s.P2P.GestaltOf(v), Rejected: []string{}}, nil
		}
		wctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
		defer cancel()
		g, rejected, err := s.P2P.DiscoverWait(wctx, v)
		if err != nil {
			return nil, err
		}
		return DiscoverResult{Gestalt: g, Rejected: rejected}, nil
	})
	register("identities.get", func(ctx context.Context, s *Service, c *Call) (any, error) {
		var p VertexParams
		if err := decode(c, &p); err != nil {
			return nil, err
		}
		v, err := gestalt.ParseVertex(p.Vertex)
		if err != nil {
			return nil, err
		}
		return s.vertexPermissions(v)
	})
	register("identities.list", func(ctx context.Context, s *Service, c *Call) (any, error) {
		return s.P2P.AllGestalts()
	})
	register("identities.queue", func(ctx context.Context, s *Service, c *Call) (any, error) {
		if err := s.online(); err != nil {
			return nil, err
		}
		return s.P2P.DiscoveryQueue(), nil
	})
	register("identities.authenticate", func(ctx context.Context, s *Service, c *Call) (any, error) {
		var p ProviderParams
		if err := decode(c, &p); err != nil {
			return nil, err
		}
		ctx, cancel := context.WithTimeout(ctx, 15*time.Minute)
		defer cancel()
		who, err := s.P2P.Authenticate(ctx, p.Provider, func(ch gestalt.AuthChallenge) {
			fmt.Fprintf(c.Out, "open %s and enter the code %s\n", ch.VerificationURI, ch.UserCode)
			if f, ok := c.Out.(interface{ Flush() error }); ok {
				f.Flush()
			}
		})
		if err != nil {
			return nil, err
		}
		return AuthResult{Provider: p.Provider, Identity: who}, nil
	})
	register("identities.authenticated", func(ctx context.Context, s *Service, c *Call) (any, error) {
		m, err := s.P2P.Authenticated()
		out := []AuthResult{}
		for p, i := range m {
			out = append(out, AuthResult{Provider: p, Identity: i})
		}
		return out, err
	})
	register("identities.claim", func(ctx context.Context, s *Service, c *Call) (any, error) {
		var p VertexParams
		if err := decode(c, &p); err != nil {
			return nil, err
		}
		prov, ident, err := gestalt.ParseIdentity(p.Vertex)
		if err != nil {
			return nil, err
		}
		url, err := s.P2P.ClaimIdentity(ctx, prov, ident)
		if err != nil {
			return nil, err
		}
		return ClaimResult{Claim: prov + ":" + ident, URL: url}, nil
	})
	register("identities.search", func(ctx context.Context, s *Service, c *Call) (any, error) {
		var p ProviderParams
		if err := decode(c, &p); err != nil {
			return nil, err
		}
		return s.P2P.SearchIdentities(ctx, p.Provider, p.Query)
	})
}
