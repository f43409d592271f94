package p2p

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"time"

	"github.com/pkfs/pkfs/keyring"
)

// helloBody is exchanged when a connection is made.
type helloBody struct {
	NodeID  keyring.NodeID `json:"nodeId"`
	Port    int            `json:"port"`
	Version int            `json:"version"`
}

// helloAnswer is the server's answer to a hello: its own hello, the
// address it sees the caller at (the caller's observed address; none
// over a relay), and whether it relays for others. Older nodes read the hello
// part only; the request stays a plain helloBody, which older servers
// decode strictly.
type helloAnswer struct {
	helloBody
	Observed string `json:"observed,omitempty"`
	Relay    bool   `json:"relay,omitempty"`
}

// hello confirms a new outgoing connection before it is used, and keeps
// what the peer says it sees of us.
func (n *Node) hello(ctx context.Context, pc *peerConn) error {
	var resp helloAnswer
	req := helloBody{NodeID: n.id, Port: n.Addr().Port, Version: WireVersion}
	if err := n.callOn(ctx, pc, "hello", req, &resp, nil); err != nil {
		return fmt.Errorf("%w: %s refused the connection: %v", ErrUnavailable, pc.id, err)
	}
	if resp.NodeID != pc.id {
		return fmt.Errorf("%w: hello from %s", ErrPeerID, resp.NodeID)
	}
	if resp.Observed != "" && pc.via != ViaRelayed {
		n.observed.add(resp.Observed, pc.id)
	}
	pc.relays = resp.Relay
	return nil
}

func (n *Node) handleHello(ctx context.Context, from Peer, body json.RawMessage, _ io.Writer) (any, error) {
	var h helloBody
	if err := decodeBody(body, &h); err != nil {
		return nil, err
	}
	if h.NodeID != from.ID {
		return nil, fmt.Errorf("%w: hello claims another node ID", ErrPermission)
	}
	if h.Version != WireVersion {
		return nil, fmt.Errorf("%w: %d", ErrVersion, h.Version)
	}
	// Remember where the peer listens: its address as seen, its port as
	// told. Anyone can make a node ID and say hello: unless the peer is
	// trusted, that is a hint in memory, which a dial back confirms.
	// Over a relay, the address is the relay's: nothing to learn.
	ua, ok := from.Addr.(*net.UDPAddr)
	if ok && from.Via != ViaRelayed && h.Port > 0 && h.Port < 65536 {
		a := NodeAddress{NodeID: from.ID, Host: ua.IP.String(), Port: h.Port, LastSeen: time.Now().UTC()}
		old, err := n.Graph.Get(from.ID)
		switch {
		case err == nil && old.Host == a.Host && old.Port == a.Port:
		case n.isTrusted(from.ID):
			_ = n.Graph.Learn(a)
		default:
			n.hints.put(a)
		}
	}
	ans := helloAnswer{helloBody: helloBody{NodeID: n.id, Port: n.Addr().Port, Version: WireVersion}, Relay: n.relay.enabled()}
	if from.Via != ViaRelayed {
		ans.Observed = udpString(from.Addr)
	}
	return ans, nil
}
