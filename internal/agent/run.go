package agent

import (
	"context"
	"errors"
	"fmt"
	"log"
	"os"
	"sync"
	"syscall"
	"time"

	"github.com/pkfs/pkfs/fs"
	"github.com/pkfs/pkfs/internal/node"
	"github.com/pkfs/pkfs/p2p"
)

// Options say how to run an agent.
type Options struct {
	NodePath   string
	Password   []byte
	MountPoint string // "" runs without a mount
	// Ready is called once the agent serves (and the mount is up).
	Ready func(Status)
	// The network: where to listen, which seed nodes to contact.
	AgentHost string
	AgentPort int
	// AgentPortSet says the port was asked for; otherwise a busy default
	// port falls back to a free one.
	AgentPortSet bool
	Seeds        []p2p.NodeAddress
	NoNetwork    bool
	// Relay forwards packets for other nodes (within RelayRate MiB/s and
	// RelaySessions sessions; 0: the defaults). Seed is a seed node: no
	// mount, relay on. LocalDiscovery announces the node on its LANs
	// and listens for others (as the persisted setting does).
	Relay          bool
	RelayPort      int // UDP port of the relay's socket (0: a free one)
	RelayPortSet   bool
	RelayRate      int
	RelaySessions  int
	Seed           bool
	LocalDiscovery bool
}

// Status is what `agent status` reports.
type Status struct {
	PID        int       `json:"pid"`
	NodeID     string    `json:"nodeId"`
	NodePath   string    `json:"nodePath"`
	MountPoint string    `json:"mountPoint"`
	Socket     string    `json:"socket"`
	StartedAt  time.Time `json:"startedAt"`
	Vaults     int       `json:"vaults"`
	AgentHost  string    `json:"agentHost"`
	AgentPort  int       `json:"agentPort"`
	// ConnectionsActive counts live peer connections.
	ConnectionsActive int  `json:"connectionsActive"`
	Seed              bool `json:"seed,omitempty"`
	// ObservedAddresses are where peers see this node (its NAT's public
	// mapping, when it has one).
	ObservedAddresses []p2p.ObservedAddress `json:"observedAddresses"`
	Relay             *p2p.RelayStats       `json:"relay,omitempty"`
	LocalDiscovery    *p2p.LANStats         `json:"localDiscovery,omitempty"`
}

// Agent is a running agent.
type Agent struct {
	svc    *Service
	fsys   *fs.FS
	srv    *server
	status Status
	stopMu sync.Once
	stopCh chan struct{}
}

// Run opens the node, mounts (when asked), serves the control socket, and
// blocks until ctx is done, `agent stop`/`umount` is called, or the mount
// is removed from outside. It then commits what is open, unmounts, and
// closes the node.
func Run(ctx context.Context, o Options) error {
	defer startCPUProfile()()
	a, err := start(o)
	if err != nil {
		return err
	}
	if o.Ready != nil {
		o.Ready(a.status)
	}
	unmounted := make(chan struct{})
	if a.fsys != nil {
		go func() { a.fsys.Wait(); close(unmounted) }()
	}
	select {
	case <-ctx.Done():
	case <-a.stopCh:
	case <-unmounted:
	}
	return a.shutdown()
}

func start(o Options) (*Agent, error) {
	var mnt string
	if o.MountPoint != "" {
		var err error
		if mnt, err = checkMountPoint(o.MountPoint); err != nil {
			return nil, err
		}
	}
	n, err := node.Open(o.NodePath, o.Password)
	if err != nil {
		return nil, err
	}
	svc, err := NewService(n)
	if err != nil {
		n.Close()
		return nil, err
	}
	a := &Agent{svc: svc, stopCh: make(chan struct{})}
	var host string
	var port int
	if !o.NoNetwork {
		so := startOptions(o)
		err := svc.P2P.Start(so)
		if errors.Is(err, syscall.EADDRINUSE) && !o.AgentPortSet && !o.RelayPortSet {
			log.Printf("pkfs agent: port %d or %d is busy (another agent?); listening on free ports", o.AgentPort, o.RelayPort)
			so.Port, so.Relay.Port = 0, 0
			err = svc.P2P.Start(so)
		}
		if err != nil {
			svc.Close()
			return nil, fmt.Errorf("%w: %v", p2p.ErrUnavailable, err)
		}
		ua := svc.P2P.Node.Addr()
		host, port = ua.IP.String(), ua.Port
	}
	sock, err := SocketPath(o.NodePath)
	if err != nil {
		svc.Close()
		return nil, err
	}
	ln, err := listen(sock)
	if err != nil {
		svc.Close()
		return nil, fmt.Errorf("failed to create the control socket: %w", err)
	}
	a.srv = &server{svc: svc, ln: ln, path: sock, agentOnly: a.agentMethods()}
	if mnt != "" {
		a.fsys = fs.New(svc.Vaults)
		a.fsys.StatfsPath = o.NodePath
		if err := a.fsys.Mount(mnt); err != nil {
			ln.Close()
			svc.Close()
			return nil, fmt.Errorf("%w: failed to mount %s: %v", ErrMountPoint, mnt, err)
		}
	}
	vs, _ := svc.Vaults.List()
	a.status = Status{PID: os.Getpid(), NodeID: n.Keyring.NodeID().String(), NodePath: o.NodePath,
		MountPoint: mnt, Socket: sock, StartedAt: time.Now().UTC().Truncate(time.Second), Vaults: len(vs),
		AgentHost: host, AgentPort: port, Seed: o.Seed}
	go a.srv.serve(context.Background())
	log.Printf("pkfs agent: serving node %s (pid %d)", a.status.NodeID, a.status.PID)
	return a, nil
}

// startOptions are the network options of an agent.
func startOptions(o Options) p2p.StartOptions {
	so := p2p.StartOptions{Host: o.AgentHost, Port: o.AgentPort, Seeds: o.Seeds, LocalDiscovery: o.LocalDiscovery,
		Relay: p2p.RelayOptions{Enabled: o.Relay || o.Seed, Port: o.RelayPort, Rate: int64(o.RelayRate) << 20,
			MaxSessions: o.RelaySessions}}
	// a test hook: the relay flips a byte of every Nth packet it forwards
	fmt.Sscan(os.Getenv("PKFS_TESTONLY_RELAY_TAMPER"), &so.Relay.TestOnlyTamperEvery)
	return so
}

// Stop asks the agent to shut down.
func (a *Agent) Stop() { a.stopMu.Do(func() { close(a.stopCh) }) }

func (a *Agent) shutdown() error {
	var errs []error
	a.srv.ln.Close()
	a.svc.P2P.Stop() // no more remote commits while the mount commits what is open
	if a.fsys != nil {
		if err := a.fsys.Unmount(); err != nil {
			errs = append(errs, fmt.Errorf("unmount: %w", err))
		}
	}
	done := make(chan struct{})
	go func() { a.srv.wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		log.Printf("pkfs agent: calls still running at shutdown")
	}
	if err := a.svc.Close(); err != nil {
		errs = append(errs, err)
	}
	log.Printf("pkfs agent: stopped")
	return errors.Join(errs...)
}

func (a *Agent) agentMethods() map[string]handlerFunc {
	return map[string]handlerFunc{
		"agent.status": func(ctx context.Context, s *Service, c *Call) (any, error) {
			st := a.status
			if vs, err := s.Vaults.List(); err == nil {
				st.Vaults = len(vs)
			}
			st.ObservedAddresses = []p2p.ObservedAddress{}
			if s.P2P.Online() {
				n := s.P2P.Node
				st.ConnectionsActive = len(n.Connections())
				st.ObservedAddresses = n.ObservedAddresses()
				if rs := n.RelayStats(); rs.Enabled {
					st.Relay = &rs
				}
				if ls := n.LANStats(); ls.Enabled {
					st.LocalDiscovery = &ls
				}
			}
			return st, nil
		},
		"agent.stop": func(ctx context.Context, s *Service, c *Call) (any, error) {
			time.AfterFunc(50*time.Millisecond, a.Stop) // after the reply
			return struct{}{}, nil
		},
	}
}
