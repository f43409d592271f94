package p2p

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/pkfs/pkfs/gestalt"
	"github.com/pkfs/pkfs/gestalt/github"
	"github.com/pkfs/pkfs/gestalt/github/githubtest"
)

func withGitHub(t *testing.T, gh *githubtest.Server, ns ...*sysNode) {
	for _, n := range ns {
		n.SetProviders(github.New(github.Config{WebURL: gh.WebURL(), APIURL: gh.APIURL(),
			HTTP: &http.Client{Timeout: 300 * time.Millisecond}}))
	}
}

// authenticate runs the device flow, approving it on the fake as login.
func authenticate(t *testing.T, gh *githubtest.Server, n *sysNode, login string) {
	t.Helper()
	who, err := n.Authenticate(ctx(t), "github.com", func(ch gestalt.AuthChallenge) {
		go func() {
			for i := 0; i < 100; i++ {
				if gh.Approve(ch.UserCode, login) == nil {
					return
				}
				time.Sleep(10 * time.Millisecond)
			}
		}()
	})
	if err != nil || who != login {
		t.Fatalf("authenticate: %q %v", who, err)
	}
}

func TestIdentityClaimDiscoveredAndVerified(t *testing.T) {
	gh := githubtest.NewServer()
	t.Cleanup(gh.Close)
	gh.AddUser("alice")
	gh.AddUser("mallory")
	gh.SetDeviceFlow(10*time.Millisecond, time.Minute)
	node, other := newSys(t), newSys(t)
	withGitHub(t, gh, node, other)
	other.meet(t, node)
	authenticate(t, gh, node, "alice")
	if _, err := node.ClaimIdentity(ctx(t), "github.com", "bob"); err == nil {
		t.Fatal("claimed an identity we are not signed in as")
	}
	url, err := node.ClaimIdentity(ctx(t), "github.com", "alice")
	if err != nil || url == "" {
		t.Fatalf("claim: %q %v", url, err)
	}
	// another node discovers the gestalt from the identity alone
	alice := gestalt.IdentityVertex("github.com", "alice")
	if err := other.Discover(alice); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "discovery from the identity", func() bool {
		g := other.GestaltOf(alice)
		return len(g.Nodes) == 1 && g.Nodes[0] == node.Keyring.NodeID().String()
	})
	// sharing with the identity shares with its node
	v, _ := other.Vaults.Create("for-alice")
	writeFile(t, v, "k", "v")
	if _, err := other.ShareWith(ctx(t), "for-alice", alice); err != nil {
		t.Fatal(err)
	}
	if _, _, err := node.Clone(ctx(t), other.Keyring.NodeID(), "for-alice", nil); err != nil {
		t.Fatalf("clone through the identity: %v", err)
	}
	// an edited gist no longer verifies: the identity drops out of the gestalt
	edit := func(old string) string { // change one character of the signed payload
		i := strings.Index(old, "\n") + 10
		b := []byte(old)
		if b[i] == 'x' {
			b[i] = 'y'
		} else {
			b[i] = 'x'
		}
		return string(b)
	}
	if n := gh.EditGist("alice", edit); n == 0 {
		t.Fatal("no gist edited")
	}
	other.Discover(alice)
	waitFor(t, "rediscovery", func() bool {
		return len(other.GestaltOf(alice).Nodes) == 0 && other.DiscoveryIdle()
	})
	if q := other.DiscoveryQueue(); len(q.Rejected) == 0 {
		t.Fatal("the edited claim was not logged as rejected")
	}
}

func TestDiscoveryGoesOnWhenTheProviderFails(t *testing.T) {
	gh := githubtest.NewServer()
	t.Cleanup(gh.Close)
	a, b, c := newSys(t), newSys(t), newSys(t)
	withGitHub(t, gh, a)
	a.meet(t, b)
	b.meet(t, c)
	linkNodes(t, b, c)
	for _, f := range []githubtest.Fault{githubtest.Hang, githubtest.Garbage} {
		gh.SetFault(f, githubtest.UserGists)
		a.Discover(gestalt.IdentityVertex("github.com", "ghost"))
		a.Discover(gestalt.NodeVertex(b.Keyring.NodeID()))
		waitFor(t, "discovery past a failing provider", func() bool {
			return a.DiscoveryIdle() && len(a.GestaltOf(gestalt.NodeVertex(c.Keyring.NodeID())).Nodes) == 2
		})
	}
	var _ = context.Background
}
