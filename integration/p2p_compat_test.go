package integration

import (
	"os"
	"testing"
)

// TestP2PWithAnotherVersion: a node run by another pkfs binary (say, the
// last release, or main) and a node of this tree share, clone, follow and
// pull each other's vaults: the packs and the RPC stay compatible. It
// runs only when PKFS_COMPAT_BIN names that other binary:
//
//	mkdir /tmp/old && git archive main | tar -x -C /tmp/old && (cd /tmp/old && go build -o /tmp/pkfs-old ./cmd/pkfs)
//	PKFS_COMPAT_BIN=/tmp/pkfs-old go test ./integration -run TestP2PWithAnotherVersion
func TestP2PWithAnotherVersion(t *testing.T) {
	other := os.Getenv("PKFS_COMPAT_BIN")
	if other == "" {
		t.Skip("PKFS_COMPAT_BIN is not set")
	}
	old, cur := newPeerNodeOf(t, "old", false, other), newPeerNode(t, "new", false)
	old.start(0, nil)
	cur.start(0, nil)
	old.add(cur)
	cur.add(old)
	for _, dir := range []struct{ from, to *peerNode }{{old, cur}, {cur, old}} {
		from, to := dir.from, dir.to
		vault := "v-" + from.name
		from.ok("vaults", "create", vault)
		from.write(vault+":db/password", "one")
		from.write(vault+":big", string(make([]byte, 3<<20+7))) // chunked
		from.ok("vaults", "share", vault, to.id)
		to.ok("vaults", "clone", vault, from.id)
		if got := to.cat(vault + ":db/password"); got != "one" {
			t.Fatalf("%s's clone of %s's vault reads %q", to.name, from.name, got)
		}
		from.write(vault+":db/password", "two")
		peerEventually(t, peerLiveWait, to.name+" to follow "+from.name, func() bool {
			return to.cat(vault+":db/password") == "two"
		})
		from.write(vault+":other", "three")
		to.ok("vaults", "pull", vault)
		if got := to.cat(vault + ":other"); got != "three" || to.head(vault) != from.head(vault) {
			t.Fatalf("%s's pull from %s: %q, heads %s and %s", to.name, from.name, got, to.head(vault), from.head(vault))
		}
		to.ok("vaults", "verify", vault)
	}
}
