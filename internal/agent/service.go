package agent

import (
	"github.com/pkfs/pkfs/internal/node"
	"github.com/pkfs/pkfs/p2p"
	"github.com/pkfs/pkfs/vaultstore"
)

// Service is an open node with everything that serves calls on it.
type Service struct {
	Node   *node.Node
	Vaults *vaultstore.Store
	P2P    *p2p.System // offline unless an agent runs
}

// NewService wraps an open node.
func NewService(n *node.Node) (*Service, error) {
	vs, err := vaultstore.Open(n.DB, n.Keyring.NodeID())
	if err != nil {
		return nil, err
	}
	return &Service{Node: n, Vaults: vs, P2P: p2p.NewSystem(n.Keyring, n.DB, vs)}, nil
}

// Close closes everything the service opened, and the node.
func (s *Service) Close() error {
	s.P2P.Stop()
	s.Vaults.Close()
	return s.Node.Close()
}
