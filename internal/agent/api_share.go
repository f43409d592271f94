package agent

import (
	"context"
	"fmt"

	"github.com/pkfs/pkfs/gestalt"
	"github.com/pkfs/pkfs/keyring"
	"github.com/pkfs/pkfs/p2p"
)

// ShareParams name a vault and a node (or, for share and unshare, a
// PROVIDER:IDENTITY, or "self" for our own linked devices).
type ShareParams struct {
	Vault  string `json:"vault"`
	NodeID string `json:"nodeId,omitempty"`
}

func parseShareTarget(s string) (gestalt.Vertex, error) {
	if s == "self" {
		return gestalt.Self, nil
	}
	return gestalt.ParseVertex(s)
}

// ShareResult is the result of vaults.share.
type ShareResult struct {
	Vault  string `json:"vault"`
	NodeID string `json:"nodeId"`
	// Delivered: every node of the target got the notification at once.
	Delivered bool `json:"notified"`
	// Notification sums up the notifications: delivered (all), queued
	// (some wait for their node), refused (some node does not trust us;
	// the share stands), or none (no node to notify yet).
	Notification string `json:"notification"`
}

// shareOutcome sums up the notifications of a share.
func shareOutcome(sent map[keyring.NodeID]p2p.Delivery) string {
	out := "none"
	for _, d := range sent {
		switch {
		case d == p2p.Refused:
			return "refused"
		case d == p2p.Queued:
			out = "queued"
		case out == "none":
			out = "delivered"
		}
	}
	return out
}

// VaultPermission is one node's actions on a vault.
type VaultPermission struct {
	NodeID  string           `json:"nodeId"`
	Actions []gestalt.Action `json:"actions"`
}

// CloneResult is the result of vaults.clone and vaults.pull.
type CloneResult struct {
	VaultName string `json:"vaultName"`
	VaultID   string `json:"vaultId"`
	p2p.FetchStats
}

func init() {
	register("vaults.share", func(ctx context.Context, s *Service, c *Call) (any, error) {
		var p ShareParams
		if err := decode(c, &p); err != nil {
			return nil, err
		}
		v, err := parseShareTarget(p.NodeID)
		if err != nil {
			return nil, err
		}
		if id, ok := v.Node(); ok && id == s.Node.Keyring.NodeID() {
			return nil, Errorf(KindInvalid, "that is this node")
		}
		sent, err := s.P2P.ShareWith(ctx, p.Vault, v)
		if err != nil {
			return nil, err
		}
		o := shareOutcome(sent)
		return ShareResult{Vault: p.Vault, NodeID: v.Display(), Delivered: o == "delivered", Notification: o}, nil
	})
	register("vaults.unshare", func(ctx context.Context, s *Service, c *Call) (any, error) {
		var p ShareParams
		if err := decode(c, &p); err != nil {
			return nil, err
		}
		v, err := parseShareTarget(p.NodeID)
		if err != nil {
			return nil, err
		}
		return struct{}{}, s.P2P.UnshareWith(p.Vault, v)
	})
	register("vaults.permissions", func(ctx context.Context, s *Service, c *Call) (any, error) {
		var p ShareParams
		if err := decode(c, &p); err != nil {
			return nil, err
		}
		v, err := s.Vaults.Vault(p.Vault)
		if err != nil {
			return nil, err
		}
		perms, err := s.P2P.ACL.VaultPermissions(v.ID().String())
		out := []VaultPermission{}
		for v, acts := range perms {
			out = append(out, VaultPermission{NodeID: v.Display(), Actions: acts})
		}
		return out, err
	})
	register("vaults.scan", func(ctx context.Context, s *Service, c *Call) (any, error) {
		var p ShareParams
		if err := decode(c, &p); err != nil {
			return nil, err
		}
		id, err := parseNode(p.NodeID)
		if err != nil {
			return nil, err
		}
		return s.P2P.Scan(ctx, id)
	})
	register("vaults.clone", func(ctx context.Context, s *Service, c *Call) (any, error) {
		var p ShareParams
		if err := decode(c, &p); err != nil {
			return nil, err
		}
		id, err := parseNode(p.NodeID)
		if err != nil {
			return nil, err
		}
		v, st, err := s.P2P.Clone(ctx, id, p.Vault, &progressWriter{w: c.Out})
		if err != nil {
			return nil, err
		}
		return CloneResult{VaultName: v.Name(), VaultID: v.ID().String(), FetchStats: st}, nil
	})
	register("vaults.pull", func(ctx context.Context, s *Service, c *Call) (any, error) {
		var p ShareParams
		if err := decode(c, &p); err != nil {
			return nil, err
		}
		var from *keyring.NodeID
		if p.NodeID != "" {
			id, err := parseNode(p.NodeID)
			if err != nil {
				return nil, err
			}
			from = &id
		}
		st, err := s.P2P.Pull(ctx, p.Vault, from)
		if err != nil {
			return nil, err
		}
		v, err := s.Vaults.Vault(p.Vault)
		if err != nil {
			return nil, err
		}
		return CloneResult{VaultName: v.Name(), VaultID: v.ID().String(), FetchStats: st}, nil
	})
}

// progressWriter reports bytes received as "progress N" lines on the call's
// output, for the CLI's progress bar.
type progressWriter struct {
	w     interface{ Write([]byte) (int, error) }
	n     int64
	shown int64
}

func (p *progressWriter) Write(b []byte) (int, error) {
	p.n += int64(len(b))
	if p.n-p.shown >= 256<<10 {
		p.shown = p.n
		fmt.Fprintf(p.w, "progress %d\n", p.n)
	}
	return len(b), nil
}
