// Command benchreach is the reachability benchmark of make bench (issue
// 11). In network namespaces (internal/netlab) it runs the built pkfs: a
// seed node on a "public" bridge, hosts behind MASQUERADE NATs (where
// punches work) and behind --random-fully NATs (where only the seed's
// relay does), and measures
//
//   - the time to the first connection through a punch: `nodes ping` of a
//     node that is not connected, on fresh agents, many times (target p50
//     <= 1 s);
//   - the clone time of a vault of 20 MiB over the punched connection and
//     over the relay, and their ratio (target: relay >= 50 % of direct);
//   - the bytes on the wire for a one-file commit, direct and relayed: the
//     UDP payload between A's NAT router and B (direct) or the relay's
//     socket (relayed), counted by iptables (target: the same, O(change)).
//
// It needs root; without it (or without ip and iptables) it says why and
// does nothing.
package main

import (
	"bytes"
	"crypto/rand"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"time"

	"github.com/pkfs/pkfs/internal/netlab"
)

type options struct {
	bin        string
	work       string
	punchRuns  int
	vaultMiB   int
	cloneRuns  int
	byteRuns   int
	relayRate  int // MiB/s of the seed's relay
	profDir    string
	seedPort   int
	firstPort  int
	punchLimit time.Duration
}

func main() {
	var o options
	flag.StringVar(&o.bin, "pkfs", "", "the built pkfs binary")
	flag.StringVar(&o.work, "work", "", "a fresh work directory (removed at the end)")
	flag.IntVar(&o.punchRuns, "punch-runs", 10, "punched connections timed")
	flag.IntVar(&o.vaultMiB, "vault-mib", 20, "size of the cloned vault, MiB")
	flag.IntVar(&o.cloneRuns, "clone-runs", 3, "clones of each kind (median)")
	flag.IntVar(&o.byteRuns, "byte-runs", 5, "one-file commits whose bytes are counted")
	flag.IntVar(&o.relayRate, "relay-rate", 1024, "the relay's cap, MiB/s (the default of pkfs is 32)")
	flag.StringVar(&o.profDir, "cpuprofile", "", "write a CPU profile of every agent of the transfers to `DIR`")
	flag.Parse()
	o.seedPort, o.firstPort, o.punchLimit = 1314, 2000, 30*time.Second
	if o.bin == "" || o.work == "" {
		fmt.Fprintln(os.Stderr, "usage: benchreach -pkfs BIN -work DIR")
		os.Exit(2)
	}
	if err := netlab.Check(); err != nil {
		fmt.Printf("bench_reach: skipped: %v\n", err)
		return
	}
	if err := run(o); err != nil {
		fmt.Fprintln(os.Stderr, "benchreach:", err)
		os.Exit(1)
	}
}

// world is the lab: the seed and two pairs of sites.
type world struct {
	in         *netlab.Internet
	s          *node
	seedEnv    []string
	eiA, eiB   *netlab.Site // endpoint-independent NATs
	symA, symB *netlab.Site // symmetric NATs
	nodes      []*node
	bin, work  string
}

func run(o options) (err error) {
	if err := os.MkdirAll(o.work, 0o700); err != nil {
		return err
	}
	lab, err := netlab.New()
	if err != nil {
		return err
	}
	w := &world{bin: o.bin, work: o.work}
	defer func() {
		for _, n := range w.nodes {
			if err != nil {
				fmt.Fprintf(os.Stderr, "== %s's agent log ==\n%s\n", n.name, n.agentLog())
			}
			n.stop()
		}
		lab.Close()
		os.RemoveAll(o.work)
	}()
	if w.in, err = lab.Internet(); err != nil {
		return err
	}
	for _, s := range []struct {
		p    **netlab.Site
		name string
		k    netlab.NATKind
	}{{&w.eiA, "A", netlab.EndpointIndependent}, {&w.eiB, "B", netlab.EndpointIndependent},
		{&w.symA, "C", netlab.Symmetric}, {&w.symB, "D", netlab.Symmetric}} {
		if *s.p, err = w.in.Site(s.name, s.k); err != nil {
			return err
		}
	}
	if w.s, err = w.node("S"); err != nil {
		return err
	}
	if o.profDir != "" {
		w.s.env = append(w.s.env, "PKFS_CPUPROFILE="+filepath.Join(o.profDir, "seed.prof"))
	}
	if err := w.s.start(w.in.Pub, o.seedPort, nil, "--seed", "--relay-rate", strconv.Itoa(o.relayRate)); err != nil {
		return err
	}
	w.seedEnv = []string{fmt.Sprintf("PK_SEED_NODES=%s@%s:%d", w.s.id, w.in.PubIP, o.seedPort)}
	fmt.Printf("== reach (issue 11): agents in network namespaces; a seed on the public bridge, hosts behind NAT routers ==\n")

	punch, err := punchTimes(o, w)
	if err != nil {
		return fmt.Errorf("punch times: %w", err)
	}
	direct, err := transfer(o, w, w.eiA, w.eiB, "punched")
	if err != nil {
		return fmt.Errorf("direct: %w", err)
	}
	relayed, err := transfer(o, w, w.symA, w.symB, "relayed")
	if err != nil {
		return fmt.Errorf("relayed: %w", err)
	}
	report(o, punch, direct, relayed)
	return nil
}

func (w *world) node(name string) (*node, error) {
	n, err := newNode(w.bin, w.work, name)
	if err == nil {
		w.nodes = append(w.nodes, n)
	}
	return n, err
}

// up starts n in site's host on port and waits until it is connected to
// the seed and knows where it is seen.
func (w *world) up(n *node, site *netlab.Site, port int) error {
	if err := n.start(site.Host, port, w.seedEnv); err != nil {
		return err
	}
	return waitFor(30*time.Second, n.name+" to reach its seed", func() bool { return n.connVia(w.s) != "" && n.observed() })
}

// punchTimes times o.punchRuns first connections through a punch, each
// between agents just started on fresh ports (so that no NAT mapping of
// an earlier run helps).
func punchTimes(o options, w *world) ([]time.Duration, error) {
	a, err := w.node("PA")
	if err != nil {
		return nil, err
	}
	b, err := w.node("PB")
	if err != nil {
		return nil, err
	}
	var took []time.Duration
	for r := 0; r < o.punchRuns; r++ {
		port := o.firstPort + r
		if err := w.up(a, w.eiA, port); err != nil {
			return nil, err
		}
		if err := w.up(b, w.eiB, port); err != nil {
			return nil, err
		}
		s := time.Now()
		if _, err := a.pkfs("nodes", "ping", b.id); err != nil {
			return nil, err
		}
		took = append(took, time.Since(s))
		if via := a.connVia(b); via != "punched" {
			return nil, fmt.Errorf("run %d: the connection is %q, not punched", r, via)
		}
		a.stop()
		b.stop()
	}
	return took, nil
}

type transferStats struct {
	kind  string
	clone []time.Duration
	bytes []int64 // on the wire, per one-file commit
}

// transfer measures the clone of a vault of o.vaultMiB on B by A, and the
// bytes of one-file commits after it, between hosts of the two sites.
func transfer(o options, w *world, sa, sb *netlab.Site, want string) (transferStats, error) {
	st := transferStats{kind: want}
	a, err := w.node("X" + want)
	if err != nil {
		return st, err
	}
	b, err := w.node("Y" + want)
	if err != nil {
		return st, err
	}
	if o.profDir != "" {
		a.env = append(a.env, "PKFS_CPUPROFILE="+filepath.Join(o.profDir, want+"-A.prof"))
		b.env = append(b.env, "PKFS_CPUPROFILE="+filepath.Join(o.profDir, want+"-B.prof"))
	}
	if err := w.up(a, sa, o.seedPort); err != nil {
		return st, err
	}
	if err := w.up(b, sb, o.seedPort); err != nil {
		return st, err
	}
	if err := bigVault(b, o.vaultMiB); err != nil {
		return st, err
	}
	if _, err := a.pkfs("identities", "trust", b.id); err != nil {
		return st, err
	}
	if _, err := b.pkfs("vaults", "share", "big", a.id); err != nil {
		return st, err
	}
	if _, err := a.pkfs("nodes", "ping", b.id); err != nil {
		return st, err
	}
	if via := a.connVia(b); via != want {
		return st, fmt.Errorf("the connection is %q, want %q", via, want)
	}
	for r := 0; r < o.cloneRuns; r++ {
		if r > 0 {
			if _, err := a.pkfs("vaults", "delete", "big"); err != nil {
				return st, err
			}
		}
		s := time.Now()
		if _, err := a.pkfs("vaults", "clone", "big", b.id); err != nil {
			return st, err
		}
		st.clone = append(st.clone, time.Since(s))
	}
	time.Sleep(500 * time.Millisecond) // the last acks of the clone
	peerIP, peerPort := sb.PublicIP, 0
	if want == "relayed" {
		peerIP, peerPort = w.in.PubIP, relayPort
	}
	flow, err := countFlow(sa.Router, peerIP, peerPort)
	if err != nil {
		return st, err
	}
	for r := 0; r < o.byteRuns; r++ {
		before, err := flow()
		if err != nil {
			return st, err
		}
		want := fmt.Sprintf("note %d %x\n", r, randBytes(8))
		if _, err := b.pkfsIn([]byte(want), "secrets", "write", "big:note"); err != nil {
			return st, err
		}
		if err := waitFor(30*time.Second, "the commit to reach A", func() bool {
			out, err := a.pkfs("secrets", "cat", "big:note")
			return err == nil && string(out) == want
		}); err != nil {
			return st, err
		}
		time.Sleep(300 * time.Millisecond) // the last acks
		after, err := flow()
		if err != nil {
			return st, err
		}
		st.bytes = append(st.bytes, after-before)
	}
	a.stop()
	b.stop()
	return st, nil
}

// bigVault makes vault "big" on n: files of 1 MiB of random bytes, one
// commit.
func bigVault(n *node, mib int) error {
	src := filepath.Join(n.dir, "big-src")
	if err := os.MkdirAll(src, 0o700); err != nil {
		return err
	}
	for i := 0; i < mib; i++ {
		if err := os.WriteFile(filepath.Join(src, fmt.Sprintf("f%02d", i)), randBytes(1<<20), 0o600); err != nil {
			return err
		}
	}
	if _, err := n.pkfs("vaults", "create", "big"); err != nil {
		return err
	}
	_, err := n.pkfs("secrets", "dir", src, "big:data")
	return err
}

func randBytes(k int) []byte {
	b := make([]byte, k)
	rand.Read(b)
	return b
}

// relayPort is where the seed's relay listens (pkfs's default).
const relayPort = 1316

// countFlow makes router r count the UDP packets between its host and ip
// (port: 0 for any) and returns a reader of their payload bytes so far.
func countFlow(r *netlab.NS, ip string, port int) (func() (int64, error), error) {
	out := []string{"-I", "FORWARD", "1", "-o", "wan", "-p", "udp", "-d", ip}
	in := []string{"-I", "FORWARD", "1", "-i", "wan", "-p", "udp", "-s", ip}
	if port != 0 {
		out = append(out, "--dport", strconv.Itoa(port))
		in = append(in, "--sport", strconv.Itoa(port))
	}
	for _, rule := range [][]string{out, in} {
		if err := r.Run("iptables", rule...); err != nil {
			return nil, err
		}
	}
	return func() (int64, error) {
		var total int64
		for _, rule := range []string{"1", "2"} {
			var b bytes.Buffer
			cmd := r.Command("iptables", "-nvxL", "FORWARD", rule)
			cmd.Stdout = &b
			if err := cmd.Run(); err != nil {
				return 0, err
			}
			var pkts, n int64
			if _, err := fmt.Sscan(b.String(), &pkts, &n); err != nil {
				return 0, fmt.Errorf("iptables counters %q: %w", b.String(), err)
			}
			total += n - 28*pkts // IPv4 and UDP headers
		}
		return total, nil
	}, nil
}

func median[T int64 | time.Duration](xs []T) T {
	s := slices.Clone(xs)
	slices.Sort(s)
	return s[len(s)/2]
}

func report(o options, punch []time.Duration, direct, relayed transferStats) {
	ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
	p := slices.Clone(punch)
	slices.Sort(p)
	verdict := func(ok bool) string {
		if ok {
			return "ok"
		}
		return "MISSED"
	}
	fmt.Printf("\n%-58s %s\n", "figure", "value")
	fmt.Printf("%-58s p50 %.0f ms, p90 %.0f ms, max %.0f ms over %d  (target p50 <= 1000 ms: %s)\n",
		"first connection through a punch (nodes ping)", ms(p[len(p)/2]), ms(p[len(p)*9/10]), ms(p[len(p)-1]), len(p),
		verdict(p[len(p)/2] <= time.Second))
	size := float64(o.vaultMiB)
	dc, rc := median(direct.clone), median(relayed.clone)
	fmt.Printf("%-58s %.0f ms, %.1f MiB/s\n", fmt.Sprintf("clone of %d MiB, punched (direct)", o.vaultMiB), ms(dc), size/dc.Seconds())
	fmt.Printf("%-58s %.0f ms, %.1f MiB/s\n", fmt.Sprintf("clone of %d MiB, relayed (relay cap %d MiB/s)", o.vaultMiB, o.relayRate), ms(rc), size/rc.Seconds())
	ratio := dc.Seconds() / rc.Seconds()
	fmt.Printf("%-58s %.0f %%  (target >= 50 %%: %s)\n", "relay throughput / direct", 100*ratio, verdict(ratio >= 0.5))
	db, rb := median(direct.bytes), median(relayed.bytes)
	fmt.Printf("%-58s %d bytes direct, %d relayed: %.2fx  (target: the same, O(change))\n",
		"UDP payload of a one-file commit (median)", db, rb, float64(rb)/float64(db))
	fmt.Printf("%-58s direct %v, relayed %v\n", "  every run", direct.bytes, relayed.bytes)
}
