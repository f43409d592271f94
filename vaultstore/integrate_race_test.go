package vaultstore

import (
	"fmt"
	"sync"
	"testing"
)

// Local commits racing merges of a peer's heads: every local commit stays
// in the history and the merges keep the peer's changes (the commit lock
// orders them; run under -race).
func TestIntegrateRacesLocalCommits(t *testing.T) {
	vs := writers(t, 2)
	a, b := vs[0], vs[1]
	const n = 40
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		for i := range n {
			if _, err := b.Update(CommitOptions{}, put(fmt.Sprintf("b/%d", i), "b")); err != nil {
				t.Error(err)
				return
			}
		}
	}()
	go func() {
		defer wg.Done()
		for i := range n {
			write(t, a, fmt.Sprintf("a/%d", i), "a")
			if _, err := pull(t, a, b); err != nil {
				t.Error(err)
				return
			}
		}
	}()
	wg.Wait()
	mustPull(t, b, a)
	mustPull(t, a, b)
	if a.Head() != b.Head() {
		t.Fatal("no convergence")
	}
	got := dump(t, a)
	for i := range n {
		if got[fmt.Sprintf("a/%d", i)] != "a" || got[fmt.Sprintf("b/%d", i)] != "b" {
			t.Fatalf("a write is missing: %v", got)
		}
	}
}
