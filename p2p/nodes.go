package p2p

import (
	"context"
	"encoding/json"
	"io"
	"sync"
	"time"

	"github.com/pkfs/pkfs/keyring"
)

// RegisterNodeMethods adds the node graph methods: ping and closest.
func (n *Node) RegisterNodeMethods() {
	n.Handle("nodes.ping", func(ctx context.Context, from Peer, body json.RawMessage, _ io.Writer) (any, error) {
		if err := decodeBody(body, &struct{}{}); err != nil {
			return nil, err
		}
		return struct{}{}, nil
	})
	n.Handle("nodes.closest", func(ctx context.Context, from Peer, body json.RawMessage, _ io.Writer) (any, error) {
		var req struct {
			Target keyring.NodeID `json:"target"`
		}
		if err := decodeBody(body, &req); err != nil {
			return nil, err
		}
		as, err := n.Graph.Closest(req.Target, K)
		if err != nil {
			return nil, err
		}
		for i := range as {
			as[i].Learned = false // how we know of a node is ours to know
		}
		return as, nil
	})
}

// Ping checks that a node answers; it returns the round-trip time.
func (n *Node) Ping(ctx context.Context, id keyring.NodeID) (time.Duration, error) {
	start := time.Now()
	if err := n.Call(ctx, id, "nodes.ping", struct{}{}, nil, nil); err != nil {
		return 0, err
	}
	rtt := time.Since(start)
	_ = n.Graph.Seen(id)
	return rtt, nil
}

// Find looks a node up, Kademlia style: it asks the Alpha closest known
// nodes for the K closest they know, and repeats with what it learns until
// no closer node turns up. Addresses it learns are hints (in memory) until
// a connection confirms them (a dial pins the node ID), unless a trusted
// peer gave them. It returns the node's address.
func (n *Node) Find(ctx context.Context, target keyring.NodeID) (NodeAddress, error) {
	if a, err := n.Graph.Get(target); err == nil {
		if _, err := n.Ping(ctx, target); err == nil {
			return a, nil
		}
	}
	known, err := n.Graph.Closest(target, K)
	if err != nil {
		return NodeAddress{}, err
	}
	queried := map[keyring.NodeID]bool{n.id: true}
	found := map[keyring.NodeID]NodeAddress{}
	for _, a := range known {
		found[a.NodeID] = a
	}
	for round := 0; round < 16; round++ {
		batch := n.nextBatch(found, queried, target)
		if len(batch) == 0 {
			break
		}
		var mu sync.Mutex
		var wg sync.WaitGroup
		for _, a := range batch {
			queried[a.NodeID] = true
			wg.Add(1)
			go func() {
				defer wg.Done()
				var got []NodeAddress
				if err := n.Call(ctx, a.NodeID, "nodes.closest", map[string]keyring.NodeID{"target": target}, &got, nil); err != nil {
					return
				}
				trusted := n.isTrusted(a.NodeID)
				mu.Lock()
				defer mu.Unlock()
				for i, g := range got {
					if i >= K || ValidateAddress(g.Host, g.Port) != nil {
						break
					}
					if _, ok := found[g.NodeID]; !ok && g.NodeID != n.id {
						g = NodeAddress{NodeID: g.NodeID, Host: g.Host, Port: g.Port}
						found[g.NodeID] = g
						n.hint(g, trusted)
					}
				}
			}()
		}
		wg.Wait()
		if _, ok := found[target]; ok {
			if _, err := n.Ping(ctx, target); err == nil { // the dial confirms and records it
				return n.Graph.Get(target)
			}
		}
	}
	return NodeAddress{}, ErrUnknownNode
}

func (n *Node) nextBatch(found map[keyring.NodeID]NodeAddress, queried map[keyring.NodeID]bool, target keyring.NodeID) []NodeAddress {
	var cand []NodeAddress
	for id, a := range found {
		if !queried[id] && id != target {
			cand = append(cand, a)
		}
	}
	sortByDistance(cand, target)
	if len(cand) > Alpha {
		cand = cand[:Alpha]
	}
	return cand
}

// hint keeps an address a peer told of: in the graph when the peer is
// trusted, as a hint in memory otherwise (a dial then confirms it).
func (n *Node) hint(a NodeAddress, trusted bool) {
	if _, err := n.Graph.Get(a.NodeID); err == nil {
		return // what we know stands; a dial confirms a move
	}
	if trusted {
		_ = n.Graph.Learn(a)
		return
	}
	n.hints.put(a)
}
