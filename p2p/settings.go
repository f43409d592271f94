package p2p

import (
	"context"
	"errors"
	"time"

	"github.com/pkfs/pkfs/internal/kvstore"
)

// Settings of the node's network that persist in its store.
const settingLocalDiscovery = "local-discovery"

// seedCheck is how often the node checks that it is connected to its seed
// nodes (and reconnects): the connection keeps its NAT mapping open and
// lets peers signal punches to it.
const seedCheck = 30 * time.Second

func (s *System) settings() *kvstore.Bucket { return s.DB.Bucket("nodes/settings") }

// LocalDiscoverySetting says whether LAN discovery was turned on with
// SetLocalDiscovery (it is off unless it was).
func (s *System) LocalDiscoverySetting() (bool, error) {
	v, err := s.settings().Get([]byte(settingLocalDiscovery))
	if errors.Is(err, kvstore.ErrNotFound) {
		return false, nil
	}
	return string(v) == "on", err
}

// SetLocalDiscovery turns LAN discovery on or off for good; while the node
// is online it also starts or stops it at once.
func (s *System) SetLocalDiscovery(on bool) error {
	v := "off"
	if on {
		v = "on"
	}
	if err := s.settings().Put([]byte(settingLocalDiscovery), []byte(v), true); err != nil {
		return err
	}
	if !s.Online() {
		return nil
	}
	if on {
		return s.Node.StartLocalDiscovery(s.lanPort)
	}
	if !s.lanFlag {
		s.Node.StopLocalDiscovery()
	}
	return nil
}

// startReach starts what the network options ask beyond listening: LAN
// discovery (the flag or the setting) and the watch over seed nodes.
func (s *System) startReach(ctx context.Context, o StartOptions) {
	s.lanFlag, s.lanPort = o.LocalDiscovery, o.LANPort
	on, err := s.LocalDiscoverySetting()
	if err != nil {
		logf("reading the local discovery setting: %v", err)
	}
	if on || o.LocalDiscovery {
		if err := s.Node.StartLocalDiscovery(o.LANPort); err != nil {
			logf("%v", err)
		}
	}
	s.wg.Add(1)
	go func() { defer s.wg.Done(); s.keepSeeds(ctx) }()
}

// keepSeeds reconnects to the seed nodes that we are not connected to,
// every seedCheck.
func (s *System) keepSeeds(ctx context.Context) {
	t := time.NewTicker(seedCheck)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		all, err := s.Graph.All()
		if err != nil {
			continue
		}
		for _, a := range all {
			if !a.Seed || s.Node.Connected(a.NodeID) {
				continue
			}
			cctx, cancel := context.WithTimeout(ctx, DialTimeout)
			_, _ = s.Node.Ping(cctx, a.NodeID)
			cancel()
		}
	}
}
