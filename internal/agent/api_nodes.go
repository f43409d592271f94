package agent

import (
	"context"
	"time"

	"github.com/pkfs/pkfs/gestalt"
	"github.com/pkfs/pkfs/keyring"
	"github.com/pkfs/pkfs/p2p"
)

// NodeParams name a node.
type NodeParams struct {
	NodeID string `json:"nodeId"`
}

// NodeAddParams are the parameters of nodes.add.
type NodeAddParams struct {
	NodeID string `json:"nodeId"`
	Host   string `json:"host"`
	Port   int    `json:"port"`
}

// PingResult is the result of nodes.ping.
type PingResult struct {
	NodeID string  `json:"nodeId"`
	RTTms  float64 `json:"rttMs"`
}

// PermissionParams are the parameters of identities.allow and disallow.
type PermissionParams struct {
	NodeID string `json:"nodeId"`
	Action string `json:"action"`
}

// PermissionsResult lists a node's gestalt actions.
type PermissionsResult struct {
	NodeID  string           `json:"nodeId"`
	Actions []gestalt.Action `json:"actions"`
}

func parseNode(s string) (keyring.NodeID, error) { return keyring.ParseNodeID(s) }

func (s *Service) online() error {
	if !s.P2P.Online() {
		return p2p.ErrOffline
	}
	return nil
}

func init() {
	register("nodes.add", func(ctx context.Context, s *Service, c *Call) (any, error) {
		var p NodeAddParams
		if err := decode(c, &p); err != nil {
			return nil, err
		}
		id, err := parseNode(p.NodeID)
		if err != nil {
			return nil, err
		}
		if id == s.Node.Keyring.NodeID() {
			return nil, p2p.ErrSelf
		}
		a := p2p.NodeAddress{NodeID: id, Host: p.Host, Port: p.Port}
		if err := s.P2P.Graph.Add(a); err != nil {
			return nil, err
		}
		return a, nil
	})
	register("nodes.getall", func(ctx context.Context, s *Service, c *Call) (any, error) {
		all, err := s.P2P.Graph.All()
		if all == nil {
			all = []p2p.NodeAddress{}
		}
		return all, err
	})
	register("nodes.ping", func(ctx context.Context, s *Service, c *Call) (any, error) {
		var p NodeParams
		if err := decode(c, &p); err != nil {
			return nil, err
		}
		id, err := parseNode(p.NodeID)
		if err != nil {
			return nil, err
		}
		if err := s.online(); err != nil {
			return nil, err
		}
		rtt, err := s.P2P.Node.Ping(ctx, id)
		if err != nil {
			return nil, err
		}
		return PingResult{NodeID: id.String(), RTTms: float64(rtt.Microseconds()) / 1000}, nil
	})
	register("nodes.connections", func(ctx context.Context, s *Service, c *Call) (any, error) {
		if err := s.online(); err != nil {
			return nil, err
		}
		return s.P2P.Node.Connections(), nil
	})
	register("nodes.find", func(ctx context.Context, s *Service, c *Call) (any, error) {
		var p NodeParams
		if err := decode(c, &p); err != nil {
			return nil, err
		}
		id, err := parseNode(p.NodeID)
		if err != nil {
			return nil, err
		}
		if err := s.online(); err != nil {
			return nil, err
		}
		if id == s.P2P.Keyring.NodeID() {
			return nil, Errorf(KindInvalid, "that is this node")
		}
		ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
		return s.P2P.Node.Find(ctx, id)
	})
	register("identities.trust", func(ctx context.Context, s *Service, c *Call) (any, error) {
		return s.setPermission(c, gestalt.Notify, true)
	})
	register("identities.untrust", func(ctx context.Context, s *Service, c *Call) (any, error) {
		return s.setPermission(c, gestalt.Notify, false)
	})
	register("identities.allow", func(ctx context.Context, s *Service, c *Call) (any, error) {
		return s.setPermission(c, "", true)
	})
	register("identities.disallow", func(ctx context.Context, s *Service, c *Call) (any, error) {
		return s.setPermission(c, "", false)
	})
	register("identities.permissions", func(ctx context.Context, s *Service, c *Call) (any, error) {
		var p NodeParams
		if err := decode(c, &p); err != nil {
			return nil, err
		}
		v, err := gestalt.ParseVertex(p.NodeID)
		if err != nil {
			return nil, err
		}
		acts, err := s.P2P.ACL.PermissionsOf(v)
		return PermissionsResult{NodeID: v.Display(), Actions: acts}, err
	})
}

// setPermission grants or revokes act (or the action named in the call) to
// the gestalt of a node or identity.
func (s *Service) setPermission(c *Call, act gestalt.Action, allow bool) (any, error) {
	var p PermissionParams
	if err := decode(c, &p); err != nil {
		return nil, err
	}
	v, err := gestalt.ParseVertex(p.NodeID)
	if err != nil {
		return nil, err
	}
	if act == "" {
		if act, err = gestalt.ParseAction(p.Action, gestalt.GestaltActions); err != nil {
			return nil, err
		}
	}
	if allow {
		err = s.P2P.ACL.AllowVertex(v, act)
	} else {
		err = s.P2P.ACL.DisallowVertex(v, act)
	}
	if err != nil {
		return nil, err
	}
	acts, err := s.P2P.ACL.PermissionsOf(v)
	return PermissionsResult{NodeID: v.Display(), Actions: acts}, err
}
