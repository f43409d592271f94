package integration

import (
	"bytes"
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pkfs/pkfs/internal/netlab"
	"github.com/pkfs/pkfs/keyring"
)

// How long the reachability tests wait for what should happen in about a
// second (a punch, a relayed connection, a commit crossing): generous
// bounds for a loaded 2-core machine under -race, not targets.
const reachWait = 30 * time.Second

// natPair makes the internet with a seed node S (started with args) and
// two sites of kind k, with A and B behind them, seeded by S, connected
// to it, with their observed addresses learned.
type natSetup struct {
	in      *netlab.Internet
	s, a, b *peerNode
	sa, sb  *netlab.Site
}

func natPair(t *testing.T, k netlab.NATKind, seedExtra []string, seedArgs ...string) natSetup {
	t.Helper()
	lab := newReachLab(t)
	in, err := lab.Internet()
	must(t, err)
	sa, err := in.Site("A", k)
	must(t, err)
	sb, err := in.Site("B", k)
	must(t, err)
	s, a, b := newPeerNode(t, "S", false), newPeerNode(t, "A", false), newPeerNode(t, "B", false)
	s.startIn(in.Pub, seedExtra, seedArgs...)
	a.startIn(sa.Host, []string{s.seedAt(in.PubIP)})
	b.startIn(sb.Host, []string{s.seedAt(in.PubIP)})
	for _, n := range []*peerNode{a, b} {
		waitUntil(t, reachWait, n.name+" to connect to its seed and learn where it is seen", func() bool {
			return len(n.reachStatus().ObservedAddresses) > 0 && n.connVia(s) == "direct"
		})
	}
	for _, x := range []struct {
		n    *peerNode
		site *netlab.Site
	}{{a, sa}, {b, sb}} {
		obs := x.n.reachStatus().ObservedAddresses
		if !strings.HasPrefix(obs[0].Address, x.site.PublicIP+":") || obs[0].SeenBy[0] != s.id {
			t.Fatalf("%s behind %s is observed at %+v", x.n.name, x.site.PublicIP, obs)
		}
	}
	return natSetup{in: in, s: s, a: a, b: b, sa: sa, sb: sb}
}

// shareAndClone makes vault prod on b with pw = content, shares it with
// a (which trusts b), and has a clone it: the first contact of the two.
func shareAndClone(t *testing.T, a, b *peerNode, content string) {
	t.Helper()
	a.ok("identities", "trust", b.id)
	b.ok("vaults", "create", "prod")
	b.write("prod:pw", content)
	var shared struct {
		Notified bool `json:"notified"`
	}
	b.jsonOK(&shared, "vaults", "share", "prod", a.id)
	if !shared.Notified {
		t.Fatalf("B could not reach A to tell it of the share")
	}
	a.ok("vaults", "clone", "prod", b.id)
	if got := a.cat("prod:pw"); got != content {
		t.Fatalf("A's clone reads %q", got)
	}
}

// TestReachPunchThroughNATs: A and B are each behind a MASQUERADE NAT and
// know only the seed S. B shares a vault with A and A clones it through a
// connection punched with S's signal (not relayed, though S relays);
// commits reach A live across it, also after S goes away.
func TestReachPunchThroughNATs(t *testing.T) {
	ns := natPair(t, netlab.EndpointIndependent, nil, "--seed")
	s, a, b, sb := ns.s, ns.a, ns.b, ns.sb
	if f := a.find(b); f.Host != sb.PublicIP || f.Port != reachPort {
		t.Fatalf("A found B at %+v through the seed; B's NAT is %s", f, sb.PublicIP)
	}
	shareAndClone(t, a, b, "one")
	if via, back := b.connVia(a), a.connVia(b); via != "punched" || back != "punched" {
		t.Fatalf("B's connection to A is %q, A's to B %q; want punched", via, back)
	}
	if st := s.reachStatus(); st.Relay == nil || st.Relay.Packets != 0 {
		t.Fatalf("the seed relays or relayed: %+v", st.Relay)
	}
	var conns []peerConnInfo
	a.jsonOK(&conns, "nodes", "connections")
	for _, c := range conns {
		if c.NodeID == b.id && !strings.HasPrefix(c.Address, sb.PublicIP+":") {
			t.Fatalf("A reaches B at %s, B's NAT is %s", c.Address, sb.PublicIP)
		}
	}
	b.write("prod:pw", "two")
	waitUntil(t, reachWait, "B's commit to reach A", func() bool { return a.cat("prod:pw") == "two" })

	t.Log("the seed goes away: the punched connection stays")
	s.stop()
	b.write("prod:pw", "three")
	waitUntil(t, reachWait, "B's commit to reach A without the seed", func() bool { return a.cat("prod:pw") == "three" })
	if via := a.connVia(b); via != "punched" {
		t.Fatalf("A's connection to B after the seed left: %q", via)
	}
	a.ok("vaults", "verify", "prod")
}

// TestReachRelayCarriesCiphertext: behind symmetric NATs no punch works;
// the seed relays. A clones B's vault through it and follows it; a
// sentinel secret written in the vault never crosses the public network
// in the clear (a capture on the seed's bridge), while the relayed
// packets do cross it.
func TestReachRelayCarriesCiphertext(t *testing.T) {
	sentinel := "pkfs-sentinel-" + randomHex(t, 12)
	ns := natPair(t, netlab.Symmetric, nil, "--seed")
	s, a, b := ns.s, ns.a, ns.b
	stop := capture(t, ns.in.Pub, "br0")
	// behind a symmetric NAT, the seed sees B at another port than it
	// listens on: the lookup says both
	if f := a.find(b); f.Host != ns.sb.PublicIP || len(f.Observed) != 1 || !strings.HasPrefix(f.Observed[0], ns.sb.PublicIP+":") {
		t.Fatalf("A found B at %+v through the seed; B's NAT is %s", f, ns.sb.PublicIP)
	}
	shareAndClone(t, a, b, sentinel)
	if via, back := b.connVia(a), a.connVia(b); via != "relayed" || back != "relayed" {
		t.Fatalf("B's connection to A is %q, A's to B %q; want relayed", via, back)
	}
	b.write("prod:more", sentinel+"-two")
	waitUntil(t, reachWait, "B's commit to reach A through the relay", func() bool { return a.run("secrets", "cat", "prod:more").stdout == sentinel+"-two" })
	st := s.reachStatus()
	pcap := stop()
	if st.Relay == nil || st.Relay.Packets == 0 || st.Relay.Sessions != 1 {
		t.Fatalf("relay stats: %+v", st.Relay)
	}
	relayed := 0
	for _, p := range udpPackets(t, pcap) {
		if p.src == reachRelayPort || p.dst == reachRelayPort {
			relayed++
		}
	}
	if relayed < 10 {
		ports := map[[2]int]int{}
		for _, p := range udpPackets(t, pcap) {
			ports[[2]int{p.src, p.dst}]++
		}
		t.Fatalf("the capture holds %d relayed packets (%d bytes; by ports: %v)", relayed, len(pcap), ports)
	}
	if bytes.Contains(pcap, []byte(sentinel)) || bytes.Contains(pcap, []byte("pkfs-sentinel")) {
		t.Fatal("the sentinel secret crossed the public network in the clear")
	}
	t.Logf("%d relayed packets captured, %d bytes relayed; no sentinel", relayed, st.Relay.Bytes)
}

// TestReachRelayCannotInject: the relay flips a byte of every 7th packet
// it forwards (a test hook); QUIC drops those as forged, resends, and the
// clone and the commits after it arrive intact.
func TestReachRelayCannotInject(t *testing.T) {
	ns := natPair(t, netlab.Symmetric, []string{"PKFS_TESTONLY_RELAY_TAMPER=7"}, "--relay")
	s, a, b := ns.s, ns.a, ns.b
	content := strings.Repeat("0123456789abcdef", 4096) // 64 KiB: many packets
	shareAndClone(t, a, b, content)
	for i := range 3 {
		want := content + strconv.Itoa(i)
		b.write("prod:pw", want)
		waitUntil(t, reachWait, "a commit through the tampering relay", func() bool { return a.cat("prod:pw") == want })
	}
	if st := s.reachStatus(); st.Relay == nil || st.Relay.Tampered < 10 {
		t.Fatalf("the relay tampered with too few packets to say anything: %+v", st.Relay)
	}
	a.ok("vaults", "verify", "prod")
	if a.head("prod") != b.head("prod") {
		t.Fatal("A's head is not B's")
	}
}

type foundNode struct {
	NodeID   string   `json:"nodeId"`
	Host     string   `json:"host"`
	Port     int      `json:"port"`
	Observed []string `json:"observed"`
}

// find looks other up from n (`nodes find`).
func (n *peerNode) find(other *peerNode) foundNode {
	n.t.Helper()
	var f foundNode
	n.jsonOK(&f, "nodes", "find", other.id)
	if f.NodeID != other.id {
		n.t.Fatalf("%s: find %s: %+v", n.name, other.name, f)
	}
	return f
}

func randomHex(t *testing.T, n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}

// TestReachLANDiscovery: on a bridge with no seed and no router, A and B
// (--local-discovery) find each other from their signed announcements. A
// replayed announcement and forged ones (an altered port, a node that is
// not there) are counted and ignored. D, started without the flag, sends
// nothing until `nodes local-discovery on`, which starts it at once.
func TestReachLANDiscovery(t *testing.T) {
	lab := newReachLab(t)
	hosts, ips, err := lab.LAN("A", "B", "C", "D")
	must(t, err)
	a, b, d := newPeerNode(t, "A", false), newPeerNode(t, "B", false), newPeerNode(t, "D", false)
	ghost := newPeerNode(t, "ghost", false) // never started
	a.startIn(hosts[0], nil, "--local-discovery")
	var sniff *net.UDPConn // C listens to the LAN's broadcasts
	must(t, hosts[2].Do(func() (err error) { sniff, err = net.ListenUDP("udp4", &net.UDPAddr{Port: 1315}); return err }))
	defer sniff.Close()
	d.startIn(hosts[3], nil)
	b.startIn(hosts[1], nil, "--local-discovery")

	heard := map[string][]byte{} // the first announcement heard from each address
	listen := func(from string) []byte {
		t.Helper()
		deadline := time.Now().Add(reachWait)
		for heard[from] == nil && time.Now().Before(deadline) {
			buf := make([]byte, 2048)
			sniff.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
			k, src, err := sniff.ReadFromUDP(buf)
			if err == nil && heard[src.IP.String()] == nil {
				heard[src.IP.String()] = buf[:k]
			}
		}
		return heard[from]
	}
	fromB := listen(ips[1])
	if fromB == nil {
		t.Fatal("no announcement of B on the LAN")
	}
	waitUntil(t, reachWait, "A to find B on the LAN", func() bool { return a.run("nodes", "ping", b.id).code == 0 })
	if got := a.getall()[b.id]; got.Host != ips[1] || got.Port != reachPort {
		t.Fatalf("A recorded B at %+v after reaching it", got)
	}
	if heard[ips[3]] != nil {
		t.Fatal("D announced itself without being asked")
	}
	if st := d.reachStatus(); st.LocalDiscovery != nil {
		t.Fatalf("D runs local discovery without being asked: %+v", st.LocalDiscovery)
	}

	t.Log("a replay, an altered announcement and a forged one are ignored")
	bcast := &net.UDPAddr{IP: net.ParseIP("10.9.0.255"), Port: 1315}
	altered := bytes.Clone(fromB)
	altered[len(altered)-70] ^= 1 // within the addresses
	id, err := keyring.ParseNodeID(ghost.id)
	must(t, err)
	forged := append([]byte("pkfs-lan\x01"), id[:]...)
	forged = binary.BigEndian.AppendUint64(forged, uint64(time.Now().UnixMilli()))
	forged = append(forged, bytes.Repeat([]byte{7}, 16)...)
	forged = append(forged, 0x05, 0x22, 1, 4, 10, 9, 0, 4)
	forged = append(forged, bytes.Repeat([]byte{9}, 64)...)
	before := a.reachStatus().LocalDiscovery
	for _, p := range [][]byte{fromB, altered, forged} {
		if _, err := sniff.WriteToUDP(p, bcast); err != nil {
			t.Fatal(err)
		}
	}
	waitUntil(t, reachWait, "A to count them", func() bool {
		st := a.reachStatus().LocalDiscovery
		return st.Replayed > before.Replayed && st.Forged >= before.Forged+2
	})
	if r := a.run("nodes", "ping", ghost.id); r.code != peerExitNotFound {
		t.Fatalf("A pings the node of a forged announcement: %v", r)
	}

	t.Log("turned on by the setting, D announces itself at once")
	d.ok("nodes", "local-discovery", "on")
	if listen(ips[3]) == nil {
		t.Fatal("no announcement of D after nodes local-discovery on")
	}
	waitUntil(t, reachWait, "A to find D", func() bool { return a.run("nodes", "ping", d.id).code == 0 })
	var ld struct {
		Setting bool `json:"setting"`
		Running bool `json:"running"`
	}
	d.jsonOK(&ld, "nodes", "local-discovery")
	if !ld.Setting || !ld.Running {
		t.Fatalf("D's local discovery: %+v", ld)
	}
}
