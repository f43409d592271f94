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
		as = n.withConnected(as, req.Target)
		for i := range as {
			as[i].Learned = false // how we know of a node is ours to know
		}
		return as, nil
	})
}

// withConnected completes the answer of a lookup with what our
// connections tell: the target itself when we are connected to it (a
// seed is how nodes behind NATs find each other: none of them is in its
// graph, all are connected to it), and, for every node of the answer we
// are connected to, the address we see it at as an observed address. It
// never lists the other nodes connected to us: they are not the
// asker's business. The K closest to target are kept.
func (n *Node) withConnected(as []NodeAddress, target keyring.NodeID) []NodeAddress {
	idx := map[keyring.NodeID]int{}
	for i, a := range as {
		idx[a.NodeID] = i
	}
	for _, pc := range n.outerConns(n.id) {
		seen := udpString(pc.conn.RemoteAddr())
		i, ok := idx[pc.id]
		if seen == "" || !ok && pc.id != target {
			continue
		}
		if !ok {
			ap, _ := parseAddrPort(seen)
			a := NodeAddress{NodeID: pc.id, Host: ap.Addr().String(), Port: int(ap.Port())}
			if h, _, ok := n.hints.get(pc.id); ok && h.Host == a.Host {
				a.Port = h.Port // where it listens, as it said hello
			}
			as = append(as, a)
			i = len(as) - 1
		}
		if seen != as[i].Addr() {
			as[i].Observed = []string{seen}
		}
	}
	sortByDistance(as, target)
	if len(as) > K {
		as = as[:K]
	}
	return as
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
	a, _, err := n.lookup(ctx, target)
	return a, err
}

// lookup is Find's search; it also returns how many rounds it took.
func (n *Node) lookup(ctx context.Context, target keyring.NodeID) (NodeAddress, int, error) {
	known, err := n.Graph.Closest(target, K)
	if err != nil {
		return NodeAddress{}, 0, err
	}
	queried := map[keyring.NodeID]bool{n.id: true}
	found := map[keyring.NodeID]NodeAddress{}
	for _, a := range known {
		found[a.NodeID] = a
	}
	for round := 1; round <= 16; round++ {
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
						g = NodeAddress{NodeID: g.NodeID, Host: g.Host, Port: g.Port, Observed: cleanAddrs(g.Observed)}
						found[g.NodeID] = g
						n.hint(g, trusted)
					}
				}
			}()
		}
		wg.Wait()
		if f, ok := found[target]; ok {
			if _, err := n.Ping(ctx, target); err == nil { // the dial confirms and records it
				a, err := n.Graph.Get(target)
				if err != nil { // reached through a punch or a relay: what the lookup found
					a, err = f, nil
				}
				return a, round, err
			}
		}
	}
	return NodeAddress{}, 0, ErrUnknownNode
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
	if trusted && len(a.Observed) == 0 { // an observed address is a NAT's mapping: a hint
		_ = n.Graph.Learn(a)
		return
	}
	n.hints.put(a)
}
