package agent

import (
	"github.com/pkfs/pkfs/internal/node"
)

// Service is an open node with everything that serves calls on it.
type Service struct {
	Node *node.Node
}

// NewService wraps an open node.
func NewService(n *node.Node) (*Service, error) {
	return &Service{Node: n}, nil
}

// Close closes everything the service opened, and the node.
func (s *Service) Close() error {
	return s.Node.Close()
}
