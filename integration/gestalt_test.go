package integration

import (
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"
)

// Exit codes (docs/exit-codes.md) of the gestalt tests beyond the peer ones.
const (
	peerExitNotFound    = 4
	peerExitDamaged     = 8
	peerExitUnavailable = 11
)

type peerInviteResult struct {
	NodeID       string `json:"nodeId"`
	Inviter      string `json:"inviter"`
	Delivered    bool   `json:"delivered"`
	Queued       bool   `json:"queued"`
	Notification string `json:"notification"`
}

type peerShareResult struct {
	Vault        string `json:"vault"`
	NodeID       string `json:"nodeId"`
	Notification string `json:"notification"`
}

type peerScanItem struct {
	VaultName string `json:"vaultName"`
	VaultID   string `json:"vaultId"`
}

type peerPermissions struct {
	NodeID  string   `json:"nodeId"`
	Actions []string `json:"actions"`
}

// scanNames returns the names of the vaults other shares with n.
func (n *peerNode) scanNames(other *peerNode) []string {
	n.t.Helper()
	var items []peerScanItem
	n.jsonOK(&items, "vaults", "scan", other.id)
	var out []string
	for _, it := range items {
		out = append(out, it.VaultName)
	}
	return out
}

// TestGestaltLinkedDevices links two nodes of one person (A, B) with
// invite and claim, and checks with a third (C) that they are one gestalt
// after discovery: trust and a vault share given to the gestalt reach both,
// A's own vaults shared with --gestalt self reach B, and unlinking takes
// back what B had through the gestalt.
func TestGestaltLinkedDevices(t *testing.T) {
	t.Parallel()
	a, b, c := newPeerNode(t, "A", false), newPeerNode(t, "B", false), newPeerNode(t, "C", false)
	a.start(0, nil)
	b.start(0, nil)
	c.start(0, nil)
	a.add(b)
	b.add(a)
	c.add(a) // C knows only A: it finds B through A

	t.Log("an invitation refused by a node that does not trust us stands all the same")
	var inv peerInviteResult
	a.jsonOK(&inv, "identities", "invite", b.id)
	if inv != (peerInviteResult{NodeID: b.id, Inviter: a.id, Notification: "refused"}) {
		t.Fatalf("invite of a node that does not trust A: %+v", inv)
	}
	if out := a.ok("identities", "invite", b.id); !strings.Contains(out, "pkfs nodes claim "+a.id) || !strings.Contains(out, "refused") {
		t.Fatalf("invite, human output: %q", out)
	}
	b.ok("identities", "trust", a.id)
	a.jsonOK(&inv, "identities", "invite", b.id)
	if !inv.Delivered || inv.Notification != "delivered" {
		t.Fatalf("invite of a node that trusts A: %+v", inv)
	}
	if ns := b.notifications(); len(ns) == 0 || ns[0].Type != "gestaltInvite" || ns[0].From != a.id ||
		!strings.Contains(string(ns[0].Data), a.id) {
		t.Fatalf("B's notifications: %+v", ns)
	}

	t.Log("B claims A: a link signed by both, in both sigchains")
	c.fails(peerExitPermission, "nodes", "claim", a.id) // C was not invited
	var claim struct {
		Claim string `json:"claim"`
	}
	b.jsonOK(&claim, "nodes", "claim", a.id)
	if claim.Claim != a.id {
		t.Fatalf("nodes claim: %+v", claim)
	}
	b.fails(peerExitPermission, "nodes", "claim", a.id) // an invitation is good for one link
	for _, n := range []*peerNode{a, b} {
		if g := n.gestaltOf(n.id); !g.is([]string{a.id, b.id}) {
			t.Fatalf("%s's own gestalt: %v", n.name, g)
		}
	}

	t.Log("C discovers the gestalt from A alone")
	if out := c.ok("identities", "get", b.id); !strings.Contains(out, "permissions: (none)") {
		t.Fatalf("identities get before discovery: %q", out)
	}
	if r := c.discover(a.id); !r.is([]string{a.id, b.id}) || len(r.Rejected) != 0 {
		t.Fatalf("C discovered from A: %+v", r)
	}
	if g := c.gestaltOf(b.id); !g.is([]string{a.id, b.id}) {
		t.Fatalf("C's gestalt of B: %v", g)
	}
	var list []peerGestalt
	c.jsonOK(&list, "identities", "list")
	if len(list) != 2 || !slices.ContainsFunc(list, func(g peerGestalt) bool { return g.is([]string{a.id, b.id}) }) ||
		!slices.ContainsFunc(list, func(g peerGestalt) bool { return g.is([]string{c.id}) }) {
		t.Fatalf("C's gestalts: %+v", list)
	}
	if out := c.ok("identities", "list"); !strings.Contains(out, "gestalt 1:") || !strings.Contains(out, "  node     "+b.id) {
		t.Fatalf("identities list, human output: %q", out)
	}

	t.Log("trust given to one node is the gestalt's")
	c.ok("identities", "trust", b.id)
	var perms peerPermissions
	c.jsonOK(&perms, "identities", "permissions", a.id)
	if !slices.Contains(perms.Actions, "notify") {
		t.Fatalf("C's permissions of A after trusting B: %+v", perms)
	}

	t.Log("a vault shared with the gestalt, by one of its node IDs, can be cloned by both nodes")
	c.ok("vaults", "create", "team")
	c.write("team:db/password", "hunter2")
	var sh peerShareResult
	c.jsonOK(&sh, "vaults", "share", "team", a.id)
	if sh.Vault != "team" || sh.NodeID != a.id || sh.Notification != "refused" { // A does not trust C
		t.Fatalf("share with A's gestalt: %+v", sh)
	}
	for _, n := range []*peerNode{a, b} {
		if names := n.scanNames(c); !slices.Equal(names, []string{"team"}) {
			t.Fatalf("%s scans C: %v", n.name, names)
		}
		var cl struct {
			VaultName string `json:"vaultName"`
			Head      string `json:"head"`
		}
		n.jsonOK(&cl, "vaults", "clone", "team", c.id)
		if cl.VaultName != "team" || cl.Head != c.head("team") {
			t.Fatalf("%s's clone of team: %+v, want head %s", n.name, cl, c.head("team"))
		}
		if got := n.cat("team:db/password"); got != "hunter2" {
			t.Fatalf("%s's clone of team: %q", n.name, got)
		}
	}

	t.Log("--gestalt self: B sees A's vault by scan without a share of its own, C does not")
	a.ok("vaults", "create", "mine")
	a.ok("vaults", "create", "private")
	a.write("mine:k", "mine")
	b.fails(peerExitPermission, "vaults", "clone", "mine", a.id)
	a.jsonOK(&sh, "vaults", "share", "mine", "--gestalt", "self")
	if sh.Vault != "mine" || sh.NodeID != "self" {
		t.Fatalf("share with self: %+v", sh)
	}
	if names := b.scanNames(a); !slices.Equal(names, []string{"mine"}) {
		t.Fatalf("B scans A: %v", names)
	}
	b.ok("vaults", "clone", "mine", a.id)
	if got := b.cat("mine:k"); got != "mine" {
		t.Fatalf("B's clone of mine: %q", got)
	}
	c.fails(peerExitPermission, "vaults", "scan", a.id)
	c.fails(peerExitPermission, "vaults", "clone", "mine", a.id)

	t.Log("B unlinks A: A is told at once, C learns it by discovery")
	var unlinked map[string]string
	b.jsonOK(&unlinked, "identities", "unlink", a.id)
	if unlinked["unlinked"] != a.id {
		t.Fatalf("unlink: %v", unlinked)
	}
	b.fails(peerExitNotFound, "identities", "unlink", a.id)
	if g := b.gestaltOf(b.id); !g.is([]string{b.id}) {
		t.Fatalf("B's own gestalt after the unlink: %v", g)
	}
	peerEventually(t, peerLiveWait, "A rediscovers B after the unlink", func() bool {
		return a.gestaltOf(a.id).is([]string{a.id})
	})
	b.fails(peerExitPermission, "vaults", "pull", "mine")
	if g := c.gestaltOf(b.id); !g.is([]string{a.id, b.id}) {
		t.Fatalf("C's gestalt of B before rediscovery: %v", g)
	}
	if r := c.discover(b.id); !r.is([]string{b.id}) {
		t.Fatalf("C rediscovered B: %+v", r)
	}
	if g := c.gestaltOf(a.id); !g.is([]string{a.id}) {
		t.Fatalf("C's gestalt of A after rediscovery: %v", g)
	}
	r := b.fails(peerExitPermission, "vaults", "pull", "team")
	if !strings.Contains(r.stderr, "permission denied") {
		t.Fatalf("B's pull of team after the unlink: %v", r)
	}
	a.ok("vaults", "pull", "team") // A keeps what it was given itself
	c.jsonOK(&perms, "identities", "permissions", a.id)
	if slices.Contains(perms.Actions, "notify") {
		t.Fatalf("A keeps the trust given to B: %+v", perms)
	}
}

// TestGestaltGitHubIdentity links a node to an account of the fake GitHub
// through the CLI (device flow, a claim published as a gist), discovers it
// from the identity on another node, shares a vault with the identity, and
// then breaks the gist and the provider: an edited claim drops the identity
// out of the gestalt (and its node loses the share), a provider that
// answers garbage or hangs fails that identity only, and the CLI says so.
func TestGestaltGitHubIdentity(t *testing.T) {
	t.Parallel()
	gh := startFakeGitHub(t, "alice", "mallory")
	a, c := newPeerNode(t, "A", false), newPeerNode(t, "C", false)
	a.start(0, gh.env())
	c.start(0, gh.env())
	a.add(c)
	c.add(a)

	t.Log("claiming an identity needs a token of it")
	r := a.fails(peerExitPermission, "identities", "claim", "github.com:alice")
	if !strings.Contains(r.stderr, "identities authenticate github.com") {
		t.Fatalf("claim before authenticate: %v", r)
	}
	var auths []struct {
		Provider string `json:"provider"`
		Identity string `json:"identity"`
	}
	a.jsonOK(&auths, "identities", "authenticated")
	if len(auths) != 0 {
		t.Fatalf("authenticated before authenticate: %+v", auths)
	}

	t.Log("device flow: the challenge on stderr, approved on the fake while the CLI waits")
	out, _ := a.authenticate(gh, "alice")
	if strings.TrimSpace(out) != `{"provider":"github.com","identity":"alice"}` {
		t.Fatalf("authenticate printed %q", out)
	}
	a.jsonOK(&auths, "identities", "authenticated")
	if len(auths) != 1 || auths[0].Provider != "github.com" || auths[0].Identity != "alice" {
		t.Fatalf("authenticated: %+v", auths)
	}
	if out := a.ok("identities", "authenticated"); out != "github.com:alice\n" {
		t.Fatalf("authenticated, human output: %q", out)
	}

	t.Log("claim: a signed claim in A's sigchain, published as a gist")
	a.fails(peerExitPermission, "identities", "claim", "github.com:mallory")
	a.fails(peerExitNotFound, "identities", "claim", "gitlab.com:alice")
	var claim struct {
		Claim string `json:"claim"`
		URL   string `json:"url"`
	}
	a.jsonOK(&claim, "identities", "claim", "github.com:alice")
	if claim.Claim != "github.com:alice" || !strings.HasPrefix(claim.URL, gh.WebURL+"/") {
		t.Fatalf("claim: %+v", claim)
	}
	if texts := gh.claimTexts("alice"); len(texts) != 1 || !strings.Contains(texts[0], "BEGIN PKFS IDENTITY CLAIM") {
		t.Fatalf("alice's published claims: %q", texts)
	}
	var found []string
	c.jsonOK(&found, "identities", "search", "github.com:ali")
	if !slices.Contains(found, "alice") {
		t.Fatalf("search: %v", found)
	}

	t.Log("C discovers A from github.com:alice alone, and verifies both sides")
	if res := c.discover("github.com:alice"); !res.is([]string{a.id}, "github.com:alice") || len(res.Rejected) != 0 {
		t.Fatalf("C discovered github.com:alice: %+v", res)
	}
	if g := c.gestaltOf(a.id); !g.is([]string{a.id}, "github.com:alice") {
		t.Fatalf("C's gestalt of A: %v", g)
	}
	if g := c.gestaltOf("github.com:mallory"); !g.is(nil, "github.com:mallory") {
		t.Fatalf("an identity nobody claimed: %v", g)
	}

	t.Log("a vault shared with github.com:alice can be cloned by alice's node")
	c.ok("vaults", "create", "for-alice")
	c.write("for-alice:token", "t0ken")
	var sh peerShareResult
	c.jsonOK(&sh, "vaults", "share", "for-alice", "github.com:alice")
	if sh.NodeID != "github.com:alice" {
		t.Fatalf("share with github.com:alice: %+v", sh)
	}
	a.ok("vaults", "clone", "for-alice", c.id)
	if got := a.cat("for-alice:token"); got != "t0ken" {
		t.Fatalf("A's clone: %q", got)
	}

	t.Log("a provider that answers garbage: that identity fails, discovery goes on with the rest")
	gh.fault("garbage", "user-gists")
	r = c.fails(peerExitUnavailable, "identities", "discover", "github.com:alice", "--wait")
	if !strings.Contains(r.stderr, "discovery of github.com:alice") || !strings.Contains(r.stderr, "identity provider failed") {
		t.Fatalf("discover while the provider answers garbage: %v", r)
	}
	res := c.discover(a.id) // A's chain leads to alice, whose claims cannot be read
	if !res.is([]string{a.id}, "github.com:alice") || len(res.Rejected) != 1 || !strings.HasPrefix(res.Rejected[0], "github.com:alice: ") {
		t.Fatalf("discover of A while the provider answers garbage: %+v", res)
	}
	hr := c.run("identities", "discover", a.id, "--wait") // human output: the refusal on stderr
	if hr.code != 0 || !strings.Contains(hr.stdout, "  node     "+a.id) || !strings.Contains(hr.stderr, "pkfs: discovery rejected github.com:alice: ") {
		t.Fatalf("discover of A while the provider answers garbage, human output: %v", hr)
	}

	t.Log("a provider that hangs: discovery gives up on it after its timeout")
	gh.fault("hang", "user-gists")
	start := time.Now()
	r = c.fails(peerExitUnavailable, "identities", "discover", "github.com:alice", "--wait")
	if !strings.Contains(r.stderr, "identity provider failed") {
		t.Fatalf("discover while the provider hangs: %v", r)
	}
	t.Logf("discovery gave up on the hanging provider after %v", time.Since(start).Round(time.Millisecond))
	gh.fault("none")
	if g := c.gestaltOf("github.com:alice"); !g.is([]string{a.id}, "github.com:alice") {
		t.Fatalf("a failing provider changed what C knows: %v", g)
	}

	t.Log("an edited claim: the identity drops out, and its node loses the share")
	if node := gh.editClaim("alice"); node != a.id {
		t.Fatalf("alice's claim names %q, want A", node)
	}
	r = c.fails(peerExitDamaged, "identities", "discover", "github.com:alice", "--wait")
	if !strings.Contains(r.stderr, "discovery of github.com:alice") || !strings.Contains(r.stderr, "signature") {
		t.Fatalf("discover of an edited claim: %v", r)
	}
	if g := c.gestaltOf("github.com:alice"); !g.is(nil, "github.com:alice") {
		t.Fatalf("github.com:alice after its claim was edited: %v", g)
	}
	if g := c.gestaltOf(a.id); !g.is([]string{a.id}) {
		t.Fatalf("A after alice's claim was edited: %v", g)
	}
	q := c.queue()
	if q.Active != "" || len(q.Queued) != 0 || !slices.ContainsFunc(q.Rejected, func(s string) bool {
		return strings.HasPrefix(s, "github.com:alice: ") && strings.Contains(s, "signature")
	}) {
		t.Fatalf("C's queue: %+v", q)
	}
	if out := c.ok("identities", "queue"); !strings.Contains(out, "active: (none)\nqueued: (none)\n") || !strings.Contains(out, "rejected: github.com:alice: ") {
		t.Fatalf("identities queue, human output: %q", out)
	}
	a.fails(peerExitPermission, "vaults", "pull", "for-alice")
}

// TestGestaltBadInput feeds the gestalt commands input they must refuse,
// each with its documented exit code and a message, and a provider that
// fails at each step of signing in and claiming: nothing is half done.
func TestGestaltBadInput(t *testing.T) {
	t.Parallel()
	gh := startFakeGitHub(t, "alice")
	a := newPeerNode(t, "A", false)
	stranger := newPeerNode(t, "S", false) // a node ID nobody can reach
	a.start(0, gh.env())

	for _, tc := range []struct {
		code int
		args []string
		msg  string
	}{
		{peerExitInvalid, []string{"identities", "get", "garbage"}, "neither a node ID nor PROVIDER:IDENTITY"},
		{peerExitInvalid, []string{"identities", "get", "github.com:"}, "neither a node ID nor PROVIDER:IDENTITY"},
		{peerExitInvalid, []string{"identities", "discover", "garbage"}, "neither a node ID nor PROVIDER:IDENTITY"},
		{peerExitInvalid, []string{"identities", "trust", "a/b:c"}, "neither a node ID nor PROVIDER:IDENTITY"},
		{peerExitInvalid, []string{"identities", "claim", a.id}, "want PROVIDER:IDENTITY"},
		{peerExitInvalid, []string{"identities", "allow", "github.com:alice", "bogus"}, "invalid action"},
		{peerExitInvalid, []string{"identities", "invite", a.id}, "this node"},
		{peerExitInvalid, []string{"nodes", "claim", a.id}, "this node"},
		{peerExitInvalid, []string{"identities", "invite", "vnope"}, "node ID"},
		{peerExitInvalid, []string{"identities", "discover", "github.com:-not-a-login-", "--wait"}, "discovery of github.com:-not-a-login-"},
		{2, []string{"identities", "search", "github.com"}, "PROVIDER:QUERY"},
		{2, []string{"vaults", "share", "v", "--gestalt", "others"}, "only self"},
		{2, []string{"vaults", "share", "v", stranger.id, "--gestalt", "self"}, "not both"},
		{peerExitNotFound, []string{"identities", "discover", "gitlab.com:alice", "--wait"}, "unknown identity provider"},
		{peerExitNotFound, []string{"identities", "authenticate", "gitlab.com"}, "unknown identity provider"},
		{peerExitNotFound, []string{"identities", "unlink", stranger.id}, "not linked"},
		{peerExitPermission, []string{"identities", "claim", "github.com:alice"}, "identities authenticate github.com"},
		{peerExitNotFound, []string{"nodes", "claim", stranger.id}, "no address known"},
		{peerExitNotFound, []string{"identities", "discover", stranger.id, "--wait"}, "discovery of " + stranger.id + ": no address"},
	} {
		r := a.fails(tc.code, tc.args...)
		if !strings.HasPrefix(r.stderr, "pkfs: ") || !strings.Contains(r.stderr, tc.msg) || r.stdout != "" {
			t.Errorf("pkfs %s: %v, want a message about %q", strings.Join(tc.args, " "), r, tc.msg)
		}
	}
	if q := a.queue(); !slices.ContainsFunc(q.Rejected, func(s string) bool { return strings.HasPrefix(s, stranger.id+": ") }) {
		t.Errorf("the unreachable node is not in the queue's log: %+v", q)
	}

	t.Log("the device flow: garbage from GitHub, a denial, then an approval")
	gh.fault("garbage", "device-code")
	r := a.fails(peerExitUnavailable, "identities", "authenticate", "github.com")
	if !strings.Contains(r.stderr, "identity provider failed") {
		t.Errorf("authenticate against garbage: %v", r)
	}
	gh.fault("none")
	if r := a.deviceFlow(gh, "deny", url.Values{}); r.code != peerExitPermission || !strings.Contains(r.stderr, "denied") {
		t.Errorf("a denied device flow: %v", r)
	}
	a.authenticate(gh, "alice")

	t.Log("a claim GitHub does not take is not in the sigchain")
	gh.fault("server-error", "create-gist")
	r = a.fails(peerExitUnavailable, "identities", "claim", "github.com:alice")
	if !strings.Contains(r.stderr, "identity provider failed") || !strings.Contains(r.stderr, "502") {
		t.Errorf("claim while GitHub fails: %v", r)
	}
	if g := a.gestaltOf(a.id); !g.is([]string{a.id}) {
		t.Fatalf("A's gestalt after a failed claim: %v", g)
	}
	gh.fault("wrong-shape", "search-users")
	a.fails(peerExitUnavailable, "identities", "search", "github.com:alice")
	gh.fault("none")
	a.ok("identities", "claim", "github.com:alice")
	if g := a.gestaltOf(a.id); !g.is([]string{a.id}, "github.com:alice") {
		t.Fatalf("A's gestalt after its claim: %v", g)
	}
}
