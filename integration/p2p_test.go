package integration

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Exit codes (docs/exit-codes.md) the peer tests expect.
const (
	peerExitInvalid    = 3
	peerExitPermission = 10
	peerExitReadOnly   = 12
	peerExitConflict   = 14
)

// How long the peer tests wait for something that should happen at once
// (a commit reaching a follower) and for a catch-up after a restart. Both
// are generous bounds for a loaded 2-core machine under -race, not targets:
// the benchmark measures the latency.
const (
	peerLiveWait    = 10 * time.Second
	peerCatchUpWait = 30 * time.Second
)

type peerVaultListItem struct {
	VaultName string `json:"vaultName"`
	VaultID   string `json:"vaultId"`
	Origin    string `json:"origin"`
	Behind    *int   `json:"behind"`
}

type peerNodeAddr struct {
	NodeID string `json:"nodeId"`
	Host   string `json:"host"`
	Port   int    `json:"port"`
	Seed   bool   `json:"seed"`
}

type peerConnInfo struct {
	NodeID   string `json:"nodeId"`
	Address  string `json:"address"`
	Outbound bool   `json:"outbound"`
}

type peerNotification struct {
	Type string          `json:"type"`
	From string          `json:"from"`
	Data json.RawMessage `json:"data"`
}

func (n *peerNode) getall() map[string]peerNodeAddr {
	n.t.Helper()
	var all []peerNodeAddr
	n.jsonOK(&all, "nodes", "getall")
	m := map[string]peerNodeAddr{}
	for _, a := range all {
		m[a.NodeID] = a
	}
	return m
}

func (n *peerNode) connections() map[string]peerConnInfo {
	n.t.Helper()
	var cs []peerConnInfo
	n.jsonOK(&cs, "nodes", "connections")
	m := map[string]peerConnInfo{}
	for _, c := range cs {
		m[c.NodeID] = c
	}
	return m
}

func (n *peerNode) notifications() []peerNotification {
	n.t.Helper()
	var ns []peerNotification
	n.jsonOK(&ns, "notifications", "read")
	return ns
}

func (n *peerNode) vaultList() map[string]peerVaultListItem {
	n.t.Helper()
	var vs []peerVaultListItem
	n.jsonOK(&vs, "vaults", "list")
	m := map[string]peerVaultListItem{}
	for _, v := range vs {
		m[v.VaultName] = v
	}
	return m
}

// TestP2PThreeAgents drives three agents on loopback through sharing,
// refusals, live replication, catching up after a restart, unsharing and
// notifications, with the built binary and real mounts (A and B).
func TestP2PThreeAgents(t *testing.T) {
	a, b := newPeerNode(t, "A", true), newPeerNode(t, "B", true)
	c := newPeerNode(t, "C", false)
	stA := a.start(0, nil)
	b.start(0, nil)
	c.start(0, nil)

	t.Log("agent status: the network fields")
	var st peerStatus
	a.jsonOK(&st, "agent", "status")
	if st.Status != "LIVE" || st.PID != stA.PID || st.NodeID != a.id || st.AgentHost != "127.0.0.1" ||
		st.AgentPort != a.port || st.MountPoint != a.mnt || st.ConnectionsActive != 0 {
		t.Fatalf("A's status: %+v", st)
	}

	t.Log("a node whose key is not the node ID it was added under is refused")
	// A has never connected to B: it is told that B lives at C's address
	a.ok("nodes", "add", b.id, "127.0.0.1", strconv.Itoa(c.port))
	r := a.fails(peerExitPermission, "nodes", "ping", b.id)
	if !strings.Contains(r.stderr, "another node's key") {
		t.Fatalf("impostor refusal says %q", r.stderr)
	}
	if _, ok := a.connections()[b.id]; ok {
		t.Fatal("A keeps a connection to the impostor as B")
	}

	t.Log("add each other, ping, getall, connections")
	for _, n := range []*peerNode{a, b, c} {
		for _, o := range []*peerNode{a, b, c} {
			if n != o {
				n.add(o)
			}
		}
	}
	a.ok("nodes", "ping", b.id)
	all := a.getall()
	if len(all) != 2 || all[b.id].Port != b.port || all[c.id].Port != c.port || all[b.id].Host != "127.0.0.1" {
		t.Fatalf("A's getall: %+v", all)
	}
	if ci, ok := a.connections()[b.id]; !ok || !ci.Outbound || ci.Address != "127.0.0.1:"+strconv.Itoa(b.port) {
		t.Fatalf("A's connections: %+v", a.connections())
	}
	if ci, ok := b.connections()[a.id]; !ok || ci.Outbound {
		t.Fatalf("B's connections: %+v", b.connections())
	}
	a.jsonOK(&st, "agent", "status")
	if n := len(a.connections()); st.ConnectionsActive < 1 || st.ConnectionsActive != n {
		t.Fatalf("A's status after a ping: %+v; %d connections listed", st, n)
	}
	c.fails(3, "nodes", "ping", "vnotanode")

	t.Log("A shares prod with B (B trusts A), not with C")
	b.ok("identities", "trust", a.id)
	if err := os.Mkdir(filepath.Join(a.mnt, "prod"), 0o700); err != nil {
		t.Fatal(err)
	}
	peerWriteMount(t, filepath.Join(a.mnt, "prod", "pw"), "one")
	var shared struct {
		Notified bool `json:"notified"`
	}
	a.jsonOK(&shared, "vaults", "share", "prod", b.id)
	if !shared.Notified {
		t.Fatal("B trusts A, but the share notification was not delivered")
	}
	ns := b.notifications()
	if len(ns) != 1 || ns[0].Type != "vaultShare" || ns[0].From != a.id || !strings.Contains(string(ns[0].Data), `"prod"`) {
		t.Fatalf("B's notifications: %+v", ns)
	}
	var scan []struct {
		VaultName string `json:"vaultName"`
		VaultID   string `json:"vaultId"`
	}
	b.jsonOK(&scan, "vaults", "scan", a.id)
	if len(scan) != 1 || scan[0].VaultName != "prod" {
		t.Fatalf("B's scan of A: %+v", scan)
	}
	vaultID := scan[0].VaultID

	t.Log("C's scan and clone are refused; so are clones of missing vaults")
	c.fails(peerExitPermission, "vaults", "scan", a.id)
	c.fails(peerExitPermission, "vaults", "clone", "prod", a.id)
	c.fails(peerExitPermission, "vaults", "clone", vaultID, a.id)
	b.fails(peerExitPermission, "vaults", "clone", "nope", a.id)
	b.fails(peerExitPermission, "vaults", "clone", "zBogusVaultID1234567", a.id)
	if vs := c.vaultList(); len(vs) != 0 {
		t.Fatalf("C has vaults after refused clones: %+v", vs)
	}

	t.Log("B clones prod and reads it through its mount")
	var cl struct {
		VaultName string `json:"vaultName"`
		VaultID   string `json:"vaultId"`
		Commits   int    `json:"commits"`
	}
	b.jsonOK(&cl, "vaults", "clone", "prod", a.id)
	if cl.VaultName != "prod" || cl.VaultID != vaultID || cl.Commits < 2 {
		t.Fatalf("clone: %+v", cl)
	}
	bpw := filepath.Join(b.mnt, "prod", "pw")
	if got := peerReadMount(bpw); got != "one" {
		t.Fatalf("B reads %q", got)
	}
	b.fails(5, "vaults", "clone", "prod", a.id) // already cloned
	vs := b.vaultList()
	if v := vs["prod"]; v.Origin != a.id || v.VaultID != vaultID || v.Behind == nil || *v.Behind != 0 {
		t.Fatalf("B's vaults list: %+v", vs)
	}
	if v := a.vaultList()["prod"]; v.Origin != "" || v.Behind != nil {
		t.Fatalf("A's own vault listed as a replica: %+v", v)
	}
	out := b.ok("vaults", "list")
	if !strings.Contains(out, "replica of "+a.id) || !strings.Contains(out, "behind: 0") {
		t.Fatalf("B's vaults list: %q", out)
	}

	t.Log("the replica is read-only")
	err := os.WriteFile(bpw, []byte("mine"), 0o600)
	if !errors.Is(err, syscall.EROFS) {
		t.Fatalf("write into B's replica through the mount: %v", err)
	}
	r = b.runEnv(nil, "secrets", "write", "prod:x")
	if r.code != peerExitReadOnly {
		t.Fatalf("secrets write into the replica: %v", r)
	}

	t.Log("A writes through its mount, B reads the new content through its mount")
	for i := 0; i < 3; i++ {
		want := fmt.Sprintf("two-%d", i)
		peerWriteMount(t, filepath.Join(a.mnt, "prod", "pw"), want)
		took := peerEventually(t, peerLiveWait, "A's commit to show in B's mount", func() bool { return peerReadMount(bpw) == want })
		t.Logf("commit %d visible on B after %v", i, took)
	}

	t.Log("a notification from untrusted C is dropped")
	b.ok("notifications", "clear")
	r = c.run("notifications", "send", b.id, "let me in")
	if r.code != peerExitPermission || !strings.Contains(r.stderr, "refused") {
		t.Fatalf("C's send to B, who does not trust C: %v", r)
	}
	if ns := b.notifications(); len(ns) != 0 {
		t.Fatalf("B stored %+v", ns)
	}
	// and a trusted one arrives
	b.ok("identities", "trust", c.id)
	out = c.ok("notifications", "send", b.id, "hello B")
	if !strings.Contains(out, "delivered") {
		t.Fatalf("trusted send says %q", out)
	}
	if ns := b.notifications(); len(ns) != 1 || ns[0].From != c.id || !strings.Contains(string(ns[0].Data), "hello B") {
		t.Fatalf("B's notifications: %+v", ns)
	}

	t.Log("B goes down, A commits 50 times, B comes back and catches up")
	var log []struct{}
	a.jsonOK(&log, "vaults", "log", "prod")
	before := len(log)
	bPort := b.port
	b.stop()
	if peerIsMountPoint(b.mnt) {
		t.Fatal("B's mount is still there after umount")
	}
	for i := 0; i < 50; i++ {
		peerWriteMount(t, filepath.Join(a.mnt, "prod", "f"+strconv.Itoa(i%7)), "v"+strconv.Itoa(i))
		peerWriteMount(t, filepath.Join(a.mnt, "prod", "pw"), "away-"+strconv.Itoa(i))
	}
	a.jsonOK(&log, "vaults", "log", "prod")
	if len(log)-before < 50 {
		t.Fatalf("A made %d commits while B was away, want at least 50", len(log)-before)
	}
	aHead := a.head("prod")
	b.start(bPort, nil)
	took := peerEventually(t, peerCatchUpWait, "B to catch up", func() bool { return peerReadMount(bpw) == "away-49" })
	t.Logf("B caught up %v after it came back", took)
	if h := b.head("prod"); h != aHead {
		t.Fatalf("B's head %s, A's %s", h, aHead)
	}
	if got := peerReadMount(filepath.Join(b.mnt, "prod", "f6")); got != "v48" {
		t.Fatalf("B's f6: %q", got)
	}
	b.ok("vaults", "verify", "prod")
	if v := b.vaultList()["prod"]; v.Behind == nil || *v.Behind != 0 {
		t.Fatalf("B's replica after catching up: %+v", v)
	}
	// live replication works again
	peerWriteMount(t, filepath.Join(a.mnt, "prod", "pw"), "back")
	peerEventually(t, peerLiveWait, "a commit after B came back", func() bool { return peerReadMount(bpw) == "back" })

	t.Log("unshare stops further pulls")
	a.ok("vaults", "unshare", "prod", b.id)
	peerWriteMount(t, filepath.Join(a.mnt, "prod", "pw"), "secret after unshare")
	b.fails(peerExitPermission, "vaults", "pull", "prod")
	time.Sleep(500 * time.Millisecond) // time for a live pull, were one to happen
	if got := peerReadMount(bpw); got != "back" {
		t.Fatalf("B reads %q after the unshare", got)
	}
	c.fails(peerExitPermission, "vaults", "clone", "prod", a.id)

	t.Log("a share with a node that does not trust A: the notification is refused, the share stands")
	if err := os.Mkdir(filepath.Join(a.mnt, "other"), 0o700); err != nil {
		t.Fatal(err)
	}
	peerWriteMount(t, filepath.Join(a.mnt, "other", "k"), "for C")
	var sh struct {
		Notified     bool   `json:"notified"`
		Notification string `json:"notification"`
	}
	a.jsonOK(&sh, "vaults", "share", "other", c.id)
	if sh.Notified || sh.Notification != "refused" {
		t.Fatalf("share with C, who does not trust A: %+v", sh)
	}
	if out := a.ok("vaults", "share", "other", c.id); !strings.Contains(out, "refused the notification") {
		t.Fatalf("share with C says %q", out)
	}
	if ns := c.notifications(); len(ns) != 0 {
		t.Fatalf("C stored %+v", ns)
	}
	c.ok("vaults", "clone", "other", a.id)
	if got := c.ok("secrets", "cat", "other:k"); got != "for C" {
		t.Fatalf("C's clone reads %q", got)
	}
}

// TestP2PFindAndSeeds: nodes find through a chain, and seed nodes from the
// flag and from PK_SEED_NODES.
func TestP2PFindAndSeeds(t *testing.T) {
	a, c, d, e := newPeerNode(t, "A", false), newPeerNode(t, "C", false), newPeerNode(t, "D", false), newPeerNode(t, "E", false)
	a.start(0, nil)
	c.start(0, nil)
	c.add(a) // the chain: E -> D -> C -> A

	d.fails(peerExitInvalid, "agent", "start", "--background", "--agent-host", "127.0.0.1", "--agent-port", "0", "--seed-nodes", "garbage")
	d.start(0, nil, "--seed-nodes", c.seed())
	all := d.getall()
	if s, ok := all[c.id]; !ok || !s.Seed || s.Port != c.port {
		t.Fatalf("D's seed node: %+v", all)
	}
	// D is a stranger to the seed: its hello is a hint in C's memory, not
	// an entry of C's node graph (anyone can make node IDs), and C can
	// still call it
	c.ok("nodes", "ping", d.id)
	if got, ok := c.getall()[d.id]; ok {
		t.Fatalf("the seed recorded a stranger's hello: %+v", got)
	}

	e.start(0, []string{"PK_SEED_NODES=" + d.seed()})
	if s, ok := e.getall()[d.id]; !ok || !s.Seed {
		t.Fatalf("E's seed node from PK_SEED_NODES: %+v", e.getall())
	}
	var found peerNodeAddr
	e.jsonOK(&found, "nodes", "find", a.id)
	if found.NodeID != a.id || found.Port != a.port || found.Host != "127.0.0.1" {
		t.Fatalf("E found A at %+v, A is on port %d", found, a.port)
	}
	if got := e.getall()[a.id]; got.Port != a.port {
		t.Fatalf("E did not keep A's address: %+v", got)
	}
	e.ok("nodes", "ping", a.id)
	e.fails(peerExitInvalid, "nodes", "find", e.id) // that is this node
	// a node nobody knows is not found, and the lookup ends
	ghost := newPeerNode(t, "ghost", false)
	r := e.run("nodes", "find", ghost.id)
	if r.code != 4 {
		t.Fatalf("find of an unknown node: %v", r)
	}
}

// TestP2PPullOfDivergedHistory: A is restored from a copy of its node path
// taken before a commit that B pulled, and commits again. B's pull is
// refused with a conflict (exit 14) and a clear message; B's replica keeps
// what it had.
func TestP2PPullOfDivergedHistory(t *testing.T) {
	a, b := newPeerNode(t, "A", false), newPeerNode(t, "B", false)
	a.ok("vaults", "create", "fork")
	a.write("fork:k", "one")
	a.start(0, nil)
	b.start(0, nil)
	a.add(b)
	b.add(a)
	a.ok("vaults", "share", "fork", b.id)
	b.ok("vaults", "clone", "fork", a.id)

	// a copy of A as it is now, then a commit that B pulls
	aPort := a.port
	a.stop()
	backup := filepath.Join(a.dir, "node-backup")
	peerCopyDir(t, a.nodePath, backup)
	a.start(aPort, nil)
	a.write("fork:k", "two")
	b.ok("vaults", "pull", "fork")
	if got := b.cat("fork:k"); got != "two" {
		t.Fatalf("B's k after the pull: %q", got)
	}
	pulled := b.head("fork")

	// A comes back from the copy and commits something else
	a.stop()
	if err := os.RemoveAll(a.nodePath); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(backup, a.nodePath); err != nil {
		t.Fatal(err)
	}
	a.start(aPort, nil)
	a.write("fork:k", "forked")
	r := b.fails(peerExitConflict, "vaults", "pull", "fork")
	if !strings.Contains(r.stderr, "does not contain this replica's head") || !strings.Contains(r.stderr, "fork") {
		t.Fatalf("the conflict says %q", r.stderr)
	}
	if got, h := b.cat("fork:k"), b.head("fork"); got != "two" || h != pulled {
		t.Fatalf("B's replica moved: %q at %s", got, h)
	}
	b.ok("vaults", "verify", "fork")
	// a pull into a node's own vault is refused as invalid, not as a conflict
	if r := a.fails(peerExitInvalid, "vaults", "pull", "fork", b.id); !strings.Contains(r.stderr, "own vault") {
		t.Fatalf("pull into A's own vault says %q", r.stderr)
	}
}

// copyDir copies a directory tree of regular files.
func peerCopyDir(t *testing.T, from, to string) {
	t.Helper()
	err := filepath.Walk(from, func(p string, fi os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(from, p)
		dst := filepath.Join(to, rel)
		if fi.IsDir() {
			return os.MkdirAll(dst, 0o700)
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(dst, data, 0o600)
	})
	if err != nil {
		t.Fatal(err)
	}
}
