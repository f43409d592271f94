package p2p

import (
	"context"
	"sync"
	"time"

	"github.com/pkfs/pkfs/gestalt"
	"github.com/pkfs/pkfs/internal/kvstore"
	"github.com/pkfs/pkfs/keyring"
	"github.com/pkfs/pkfs/vaultstore"
)

// System is everything p2p on one node: the state kept in the store (node
// graph, permissions, notifications) and, while an agent runs, the network
// node and the replication loops. Without a network node the state can
// still be read and changed (commands without an agent).
type System struct {
	Keyring *keyring.Keyring
	DB      *kvstore.DB
	Vaults  *vaultstore.Store
	ACL     *gestalt.ACL
	Graph   *Graph
	// Gestalts is the gestalt graph; Sigchain this node's own chain.
	Gestalts *gestalt.Graph
	Sigchain *gestalt.Sigchain

	inbox  *kvstore.Bucket
	outbox *kvstore.Bucket

	provMu    sync.Mutex
	providers map[string]gestalt.Provider
	disc      *discovery

	Node *Node // nil while offline

	lanFlag bool // LAN discovery was asked for by the start options
	lanPort int

	repl     *replicator
	cancel   context.CancelFunc
	wg       sync.WaitGroup
	stopOnce sync.Once
}

// NewSystem returns the p2p state of a node, offline.
func NewSystem(kr *keyring.Keyring, db *kvstore.DB, vs *vaultstore.Store) *System {
	gg := gestalt.NewGraph(db, kr.NodeID())
	return &System{Keyring: kr, DB: db, Vaults: vs, ACL: gestalt.NewACL(db, gg), Graph: NewGraph(db),
		Gestalts: gg, Sigchain: gestalt.NewSigchain(db, kr),
		inbox: db.Bucket("notifications/inbox"), outbox: db.Bucket("notifications/outbox")}
}

// StartOptions say how to go online.
type StartOptions struct {
	Host  string
	Port  int
	Seeds []NodeAddress
	// FollowInterval is how often replicas compare heads with their origin.
	FollowInterval time.Duration
	// RediscoverInterval is how often every known gestalt is walked again,
	// so that links made or broken elsewhere are learnt (default 15 min).
	RediscoverInterval time.Duration
	// Relay says whether and how much the node relays for others.
	Relay RelayOptions
	// LocalDiscovery runs LAN discovery (as the persisted setting does)
	// on LANPort (0: the default).
	LocalDiscovery bool
	LANPort        int
}

// Start brings the node online: it listens, serves the methods, contacts the
// seed nodes, and runs the outbox and the replication loops.
func (s *System) Start(o StartOptions) error {
	n, err := Listen(Config{Host: o.Host, Port: o.Port, Keyring: s.Keyring, DB: s.DB, Relay: o.Relay})
	if err != nil {
		return err
	}
	n.Graph = s.Graph
	n.SetTrusted(s.trustedForAddresses)
	s.Node = n
	n.RegisterNodeMethods()
	s.registerNotifications()
	s.registerVaultMethods()
	s.registerGestaltMethods()
	s.disc = newDiscovery(s)
	_ = s.RefreshSelf()
	ctx, cancel := context.WithCancel(context.Background())
	s.cancel = cancel
	if o.FollowInterval <= 0 {
		o.FollowInterval = 10 * time.Second
	}
	if o.RediscoverInterval <= 0 {
		o.RediscoverInterval = 15 * time.Minute
	}
	s.repl = newReplicator(s, o.FollowInterval)
	n.OnConnect(s.repl.onConnect)
	s.repl.subscribe()
	for _, seed := range o.Seeds {
		_ = s.Graph.Add(seed)
	}
	s.wg.Add(4)
	go func() { defer s.wg.Done(); s.disc.loop(ctx) }()
	s.wg.Add(1)
	go func() { defer s.wg.Done(); s.rediscoverLoop(ctx, o.RediscoverInterval) }()
	go func() { defer s.wg.Done(); s.contactSeeds(ctx, o.Seeds) }()
	go func() { defer s.wg.Done(); s.outboxLoop(ctx) }()
	go func() { defer s.wg.Done(); s.repl.loop(ctx) }()
	s.startReach(ctx, o)
	return nil
}

func (s *System) contactSeeds(ctx context.Context, seeds []NodeAddress) {
	for _, a := range seeds {
		if ctx.Err() != nil {
			return
		}
		cctx, cancel := context.WithTimeout(ctx, DialTimeout)
		if _, err := s.Node.Ping(cctx, a.NodeID); err != nil {
			logf("seed node %s unreachable", a.NodeID)
		}
		cancel()
	}
	if len(seeds) > 0 {
		cctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		_, _ = s.Node.Find(cctx, s.Keyring.NodeID()) // fill the graph with our neighbourhood
		cancel()
	}
}

// Online reports whether the network node runs.
func (s *System) Online() bool { return s.Node != nil }

// Stop goes offline.
func (s *System) Stop() {
	if s.Node == nil {
		return
	}
	s.stopOnce.Do(func() {
		s.cancel()
		if s.repl != nil {
			s.repl.stop()
		}
		s.Node.Close()
		s.wg.Wait()
	})
}

// rediscoverLoop walks every known gestalt again, one walk per gestalt,
// every interval.
func (s *System) rediscoverLoop(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	self := gestalt.NodeVertex(s.Keyring.NodeID())
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		all, err := s.Gestalts.All()
		if err != nil {
			continue
		}
		for _, g := range all {
			for _, v := range g {
				if v != self {
					_ = s.Discover(v) // the walk reaches the rest of the gestalt
					break
				}
			}
		}
	}
}

// trustedForAddresses reports whether a peer's word about addresses (its
// own in a hello, others' in lookups) goes into the node graph: a node of
// our gestalt, one we accept notifications from, or one we share a vault
// with. Anyone else's is a hint in memory until a dial confirms it.
func (s *System) trustedForAddresses(id keyring.NodeID) bool {
	if s.ACL.Allowed(id, gestalt.Notify) || s.inOurGestalt(id) {
		return true
	}
	vs, err := s.ACL.VaultsOf(id)
	return err == nil && len(vs) > 0
}
