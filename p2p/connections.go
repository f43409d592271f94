package p2p

import (
	"time"

	"github.com/pkfs/pkfs/keyring"
)

// bestLiveLocked returns the newest live connection to id, one that is
// not relayed if there is one. n.mu is held.
func (n *Node) bestLiveLocked(id keyring.NodeID) *peerConn {
	var best *peerConn
	for _, pc := range n.live[id] { // oldest first
		if pc.conn.Context().Err() == nil && (best == nil || best.via == ViaRelayed || pc.via != ViaRelayed) {
			best = pc
		}
	}
	return best
}

// ConnInfo describes a live connection.
type ConnInfo struct {
	NodeID   keyring.NodeID `json:"nodeId"`
	Address  string         `json:"address"`
	Since    time.Time      `json:"since"`
	Outbound bool           `json:"outbound"`
	// Via says how it came up: direct, punched or relayed (then Relay is
	// the relay's node ID).
	Via   Via    `json:"via"`
	Relay string `json:"relay,omitempty"`
}

// Connections lists the live connections.
func (n *Node) Connections() []ConnInfo {
	n.mu.Lock()
	defer n.mu.Unlock()
	out := make([]ConnInfo, 0, len(n.conns))
	for _, pc := range n.conns {
		if pc.conn.Context().Err() != nil {
			continue
		}
		ci := ConnInfo{NodeID: pc.id, Address: pc.conn.RemoteAddr().String(), Since: pc.since, Outbound: pc.out, Via: pc.via}
		if pc.via == ViaRelayed {
			ci.Relay = pc.relay.String()
		}
		out = append(out, ci)
	}
	return out
}

// Connected reports whether a live connection to id exists.
func (n *Node) Connected(id keyring.NodeID) bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	pc, ok := n.conns[id]
	return ok && pc.conn.Context().Err() == nil
}
