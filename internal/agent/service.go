package agent

import (
	"os"

	"github.com/pkfs/pkfs/gestalt/github"
	"github.com/pkfs/pkfs/internal/node"
	"github.com/pkfs/pkfs/p2p"
	"github.com/pkfs/pkfs/vaultstore"
)

// Service is an open node with everything that serves calls on it.
type Service struct {
	Node   *node.Node
	Vaults *vaultstore.Store
	P2P    *p2p.System // offline unless an agent runs

	pwGate *passwordGate // every password check made for a caller
}

// NewService wraps an open node.
func NewService(n *node.Node) (*Service, error) {
	vs, err := vaultstore.Open(n.DB, n.Keyring)
	if err != nil {
		return nil, err
	}
	sys := p2p.NewSystem(n.Keyring, n.DB, vs)
	sys.SetProviders(github.New(githubConfig()))
	return &Service{Node: n, Vaults: vs, P2P: sys, pwGate: newPasswordGate()}, nil
}

// githubConfig reads where GitHub is: PKFS_GITHUB_URL, PKFS_GITHUB_API_URL
// and PKFS_GITHUB_CLIENT_ID override the defaults (tests point them at a
// local fake; a GitHub Enterprise server works the same way).
func githubConfig() github.Config {
	return github.Config{WebURL: os.Getenv("PKFS_GITHUB_URL"), APIURL: os.Getenv("PKFS_GITHUB_API_URL"),
		ClientID: os.Getenv("PKFS_GITHUB_CLIENT_ID")}
}

// Close closes everything the service opened, and the node.
func (s *Service) Close() error {
	s.P2P.Stop()
	s.Vaults.Close()
	return s.Node.Close()
}
