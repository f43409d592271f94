package vaultstore

import (
	"bytes"
	"container/heap"
	"fmt"
	"sync"

	"github.com/go-git/go-git/v5/plumbing"
)

// generations memoises commit generation numbers: 1 for a commit without
// parents, else one more than its highest parent. A commit's ancestors all
// have lower numbers, which makes the walks below exact whatever the
// commits' clocks say. The map grows with the history walked (tens of
// bytes a commit).
type generations struct {
	mu sync.Mutex
	m  map[plumbing.Hash]uint32
}

// generation returns the generation number of commit h, computing those of
// its ancestors not yet known (iteratively: histories are deep).
func (v *Vault) generation(h plumbing.Hash) (uint32, error) {
	g := &v.mw.gens
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.m == nil {
		g.m = map[plumbing.Hash]uint32{}
	}
	if n, ok := g.m[h]; ok {
		return n, nil
	}
	stack := []plumbing.Hash{h}
	for steps := 0; len(stack) > 0; steps++ {
		if steps > 4*maxRevWalk {
			return 0, fmt.Errorf("history longer than %d commits", maxRevWalk)
		}
		top := stack[len(stack)-1]
		if _, ok := g.m[top]; ok {
			stack = stack[:len(stack)-1]
			continue
		}
		c, err := v.readCommit(top)
		if err != nil {
			return 0, err
		}
		gen, ready := uint32(1), true
		for _, p := range c.parents {
			if pg, ok := g.m[p]; ok {
				gen = max(gen, pg+1)
			} else {
				ready = false
				stack = append(stack, p)
			}
		}
		if ready {
			g.m[top] = gen
			stack = stack[:len(stack)-1]
		}
	}
	return g.m[h], nil
}

// Flags of the paint walk.
const (
	fromA uint8 = 1 << iota
	fromB
	stale
)

// genQueue is a max-heap of commits by generation (ties: greater hash
// first, so that walks are deterministic).
type genQueue []genItem

type genItem struct {
	h   plumbing.Hash
	gen uint32
}

func (q genQueue) Len() int { return len(q) }
func (q genQueue) Less(i, j int) bool {
	if q[i].gen != q[j].gen {
		return q[i].gen > q[j].gen
	}
	return bytes.Compare(q[i].h[:], q[j].h[:]) > 0
}
func (q genQueue) Swap(i, j int) { q[i], q[j] = q[j], q[i] }
func (q *genQueue) Push(x any)   { *q = append(*q, x.(genItem)) }
func (q *genQueue) Pop() any {
	old := *q
	it := old[len(old)-1]
	*q = old[:len(old)-1]
	return it
}

// paintResult is what one walk from two commits finds.
type paintResult struct {
	bases []plumbing.Hash // best common ancestors: none is an ancestor of another
	onlyB []plumbing.Hash // commits reachable from b but not from a, children first
}

// paint walks down from a and b in generation order, marking each commit
// with the sides it is reachable from, until only commits reachable from
// both (and below a common ancestor) are left. A commit's flags are final
// when it is taken from the queue: all its children have higher
// generations and were taken before it.
func (v *Vault) paint(a, b plumbing.Hash) (*paintResult, error) {
	flags := map[plumbing.Hash]uint8{}
	var q genQueue
	live := 0 // queued commits not marked stale
	mark := func(h plumbing.Hash, f uint8) error {
		old, seen := flags[h]
		if seen && old|f == old {
			return nil
		}
		flags[h] = old | f
		if !seen {
			gen, err := v.generation(h)
			if err != nil {
				return err
			}
			heap.Push(&q, genItem{h: h, gen: gen})
			if f&stale == 0 {
				live++
			}
		} else if old&stale == 0 && f&stale != 0 {
			live--
		}
		return nil
	}
	if err := mark(a, fromA); err != nil {
		return nil, err
	}
	if err := mark(b, fromB); err != nil {
		return nil, err
	}
	res := &paintResult{}
	for live > 0 {
		it := heap.Pop(&q).(genItem)
		f := flags[it.h]
		if f&stale == 0 {
			live--
			switch f & (fromA | fromB) {
			case fromA | fromB:
				res.bases = append(res.bases, it.h)
				f |= stale
			case fromB:
				res.onlyB = append(res.onlyB, it.h)
			}
		}
		c, err := v.readCommit(it.h)
		if err != nil {
			return nil, err
		}
		for _, p := range c.parents {
			if err := mark(p, f); err != nil {
				return nil, err
			}
		}
	}
	return res, nil
}

// isAncestor reports whether commit x is reachable from any of tips (a
// commit reaches itself). The walk stops below x's generation.
func (v *Vault) isAncestor(x plumbing.Hash, tips []plumbing.Hash) (bool, error) {
	gx, err := v.generation(x)
	if err != nil {
		return false, err
	}
	seen := map[plumbing.Hash]bool{}
	stack := append([]plumbing.Hash{}, tips...)
	for len(stack) > 0 {
		h := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if h == x {
			return true, nil
		}
		if seen[h] {
			continue
		}
		seen[h] = true
		g, err := v.generation(h)
		if err != nil {
			return false, err
		}
		if g <= gx {
			continue
		}
		c, err := v.readCommit(h)
		if err != nil {
			return false, err
		}
		stack = append(stack, c.parents...)
	}
	return false, nil
}

// mergeBase picks the base of a merge of a and b: of the best common
// ancestors, the one with the latest committer time (ties: the greater
// hash). Zero when the histories share no commit.
func (v *Vault) mergeBase(bases []plumbing.Hash) (plumbing.Hash, error) {
	var best plumbing.Hash
	var bestAt int64
	for _, h := range bases {
		c, err := v.readCommit(h)
		if err != nil {
			return plumbing.ZeroHash, err
		}
		if best.IsZero() || c.committerAt > bestAt || (c.committerAt == bestAt && bytes.Compare(h[:], best[:]) > 0) {
			best, bestAt = h, c.committerAt
		}
	}
	return best, nil
}
