package p2p

import (
	"fmt"
	"sync"
	"testing"

	"github.com/pkfs/pkfs/gestalt"
)

// TestConcurrentPulls: live pulls (one per commit announced) and pulls
// asked for by hand run at the same time on one replica. None of them may
// fail, in particular not as a conflict because another pull moved the
// head between its request and its fast-forward, and the replica ends at
// the origin's head.
func TestConcurrentPulls(t *testing.T) {
	a, b := newSys(t), newSys(t)
	a.meet(t, b)
	v, _ := a.Vaults.Create("prod")
	writeFile(t, v, "k", "0")
	a.ACL.SetVault(v.ID().String(), b.Keyring.NodeID(), []gestalt.Action{gestalt.Clone, gestalt.Pull})
	r, _, err := b.Clone(ctx(t), a.Keyring.NodeID(), "prod", nil)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 1000)
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 30; i++ {
				if _, err := b.Pull(ctx(t), r.Name(), nil); err != nil {
					errs <- err
				}
			}
		}()
	}
	for i := 1; i <= 60; i++ {
		writeFile(t, v, "k", fmt.Sprint(i))
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("pull: %v", err)
	}
	waitFor(t, "the replica to reach the origin's head", func() bool { return r.Head() == v.Head() })
	if rep, err := r.Verify(); err != nil || !rep.OK() {
		t.Fatalf("replica damaged: %v %v", err, rep.Problems)
	}
}
