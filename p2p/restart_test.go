package p2p

import (
	"testing"
	"time"

	"github.com/pkfs/pkfs/gestalt"
)

// restart stops a node and starts it again on the same store and port.
func restart(t *testing.T, s *sysNode) *sysNode {
	t.Helper()
	port := s.Node.Addr().Port
	s.Stop()
	s2 := NewSystem(s.Keyring, s.DB, s.Vaults)
	if err := s2.Start(StartOptions{Host: "127.0.0.1", Port: port, FollowInterval: time.Hour}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s2.Stop) // before the store closes: cleanups run last first
	return &sysNode{System: s2, dir: s.dir}
}

// TestFollowerHearsOfCommitsAfterOriginRestarts: the origin comes back
// (no connection to its followers any more) and commits; a follower that
// is online hears of it at once, not at its next periodic check (an hour
// here).
func TestFollowerHearsOfCommitsAfterOriginRestarts(t *testing.T) {
	a, b := newSysEvery(t, time.Hour), newSysEvery(t, time.Hour)
	a.meet(t, b)
	v, _ := a.Vaults.Create("prod")
	writeFile(t, v, "k", "one")
	a.ACL.SetVault(v.ID().String(), b.Keyring.NodeID(), []gestalt.Action{gestalt.Clone, gestalt.Pull})
	r, _, err := b.Clone(ctx(t), a.Keyring.NodeID(), "prod", nil)
	if err != nil {
		t.Fatal(err)
	}
	a = restart(t, a)
	writeFile(t, v, "k", "two")
	waitFor(t, "b to hear of the commit", func() bool { return readFile(r, "k") == "two" })

}
