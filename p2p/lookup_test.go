package p2p

import (
	"context"
	"fmt"
	"math"
	"math/bits"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/pkfs/pkfs/keyring"
)

// The lookup figure of issue 11: with N nodes, any node is found within
// ⌈log₂ N⌉ + 2 rounds. The nodes run in one process on loopback, each
// with the routing table of a Kademlia node that has seen every other:
// at most perBucket nodes for each length of the prefix its ID shares
// with theirs (Kademlia's k, small here so that lookups need rounds).
const perBucket = 2

// commonPrefix is how many leading bits a and b share.
func commonPrefix(a, b keyring.NodeID) int {
	for i := range a {
		if x := a[i] ^ b[i]; x != 0 {
			return i*8 + bits.LeadingZeros8(x)
		}
	}
	return len(a) * 8
}

// lookupNet starts n nodes that know each other as Kademlia tables would,
// each on an address of its own (127.0.1.x), as nodes of a network are.
func lookupNet(tb testing.TB, n int) []*testNode {
	tb.Helper()
	nodes := make([]*testNode, n)
	for i := range nodes {
		nodes[i] = newTestNodeAt(tb, fmt.Sprintf("127.0.1.%d", i+1), RelayOptions{})
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for _, a := range nodes {
		filled := map[int]int{}
		for _, i := range rng.Perm(n) {
			b := nodes[i]
			if k := commonPrefix(a.ID(), b.ID()); b != a && filled[k] < perBucket {
				filled[k]++
				a.know(tb, b)
			}
		}
	}
	return nodes
}

// lookupRounds looks every node up from one that does not know it, and
// returns the rounds each lookup took.
func lookupRounds(tb testing.TB, nodes []*testNode) []int {
	tb.Helper()
	var rounds []int
	for i, target := range nodes {
		var src *testNode
		for j := 1; j < len(nodes) && src == nil; j++ {
			s := nodes[(i+7*j)%len(nodes)]
			if _, err := s.Graph.Get(target.ID()); err != nil && s != target {
				src = s
			}
		}
		if src == nil {
			continue // every node knows it: nothing to look up
		}
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		_, r, err := src.lookup(ctx, target.ID())
		cancel()
		if err != nil {
			tb.Fatalf("lookup of node %d: %v", i, err)
		}
		rounds = append(rounds, r)
	}
	return rounds
}

func roundBound(n int) int { return int(math.Ceil(math.Log2(float64(n)))) + 2 }

// TestLookupRounds: with 32 nodes every lookup ends within ⌈log₂ 32⌉ + 2
// rounds (make bench measures 100).
func TestLookupRounds(t *testing.T) {
	nodes := lookupNet(t, 32)
	rounds := lookupRounds(t, nodes)
	if len(rounds) < 16 {
		t.Fatalf("only %d lookups had something to find", len(rounds))
	}
	if m := slices.Max(rounds); m > roundBound(len(nodes)) {
		t.Fatalf("a lookup took %d rounds, the bound is %d (rounds: %v)", m, roundBound(len(nodes)), rounds)
	}
}

// BenchmarkLookup looks up each of 100 nodes once per iteration and
// reports the rounds: the largest, the median, and the bound.
func BenchmarkLookup(b *testing.B) {
	b.Run("nodes=100", func(b *testing.B) {
		nodes := lookupNet(b, 100)
		b.ResetTimer()
		var all []int
		for range b.N {
			all = append(all, lookupRounds(b, nodes)...)
		}
		b.StopTimer()
		slices.Sort(all)
		b.ReportMetric(float64(all[len(all)-1]), "rounds-max")
		b.ReportMetric(float64(all[len(all)/2]), "rounds-p50")
		b.ReportMetric(float64(roundBound(len(nodes))), "rounds-bound")
		b.ReportMetric(float64(len(all))/float64(b.N), "lookups/op")
	})
}
