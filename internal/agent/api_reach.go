package agent

import (
	"context"

	"github.com/pkfs/pkfs/p2p"
)

// LocalDiscoveryParams set LAN discovery: "on", "off", or "" to read it.
type LocalDiscoveryParams struct {
	Set string `json:"set,omitempty"`
}

// LocalDiscoveryResult is the persisted setting and whether LAN discovery
// runs now (the setting, or the agent's --local-discovery).
type LocalDiscoveryResult struct {
	Setting bool          `json:"setting"`
	Running bool          `json:"running"`
	Stats   *p2p.LANStats `json:"stats,omitempty"`
}

// AddressesResult is where this node is: where it listens and where its
// peers see it.
type AddressesResult struct {
	NodeID   string                `json:"nodeId"`
	Listen   string                `json:"listen,omitempty"`
	Observed []p2p.ObservedAddress `json:"observed"`
}

func init() {
	register("nodes.localdiscovery", func(ctx context.Context, s *Service, c *Call) (any, error) {
		var p LocalDiscoveryParams
		if err := decode(c, &p); err != nil {
			return nil, err
		}
		switch p.Set {
		case "":
		case "on", "off":
			if err := s.P2P.SetLocalDiscovery(p.Set == "on"); err != nil {
				return nil, err
			}
		default:
			return nil, Errorf(KindUsage, "local discovery is on or off, not "+p.Set)
		}
		on, err := s.P2P.LocalDiscoverySetting()
		if err != nil {
			return nil, err
		}
		res := LocalDiscoveryResult{Setting: on}
		if s.P2P.Online() {
			if st := s.P2P.Node.LANStats(); st.Enabled {
				res.Running, res.Stats = true, &st
			}
		}
		return res, nil
	})
	register("nodes.addresses", func(ctx context.Context, s *Service, c *Call) (any, error) {
		res := AddressesResult{NodeID: s.Node.Keyring.NodeID().String(), Observed: []p2p.ObservedAddress{}}
		if s.P2P.Online() {
			res.Listen = s.P2P.Node.Addr().String()
			res.Observed = s.P2P.Node.ObservedAddresses()
		}
		return res, nil
	})
}
