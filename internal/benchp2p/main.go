// Command benchp2p is the replication benchmark of make bench (issue 5). It
// runs the built pkfs as a user would: agents with real mounts on
// 127.0.0.1, each on its own node path, and measures
//
//   - the latency from a commit on A (close of a file in A's mount) to the
//     new content being readable through B's mount, over many commits;
//   - the clone time of a vault of 10,000 files and 1,000 commits;
//   - the bytes on the wire for a one-file commit in that vault, counted
//     by a UDP relay between the follower (C) and A.
//
// It prints one table with the targets of the issue. It imports nothing of
// the module.
package main

import (
	"crypto/rand"
	"encoding/hex"
	"flag"
	"fmt"
	"math"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"time"
)

type options struct {
	bin       string
	work      string
	commits   int // latency samples
	files     int // files of the big vault
	history   int // commits of the big vault
	byteRuns  int // one-file commits whose bytes are counted
	cloneRuns int
	profDir   string // CPU profiles of the agents
}

func main() {
	var o options
	flag.StringVar(&o.bin, "pkfs", "", "the built pkfs binary")
	flag.StringVar(&o.work, "work", "", "a fresh work directory (removed at the end)")
	flag.IntVar(&o.commits, "commits", 100, "commits whose latency is measured")
	flag.IntVar(&o.files, "files", 10000, "files of the big vault")
	flag.IntVar(&o.history, "history", 1000, "commits of the big vault's history")
	flag.IntVar(&o.byteRuns, "byte-runs", 10, "one-file commits whose bytes are counted")
	flag.IntVar(&o.cloneRuns, "clone-runs", 3, "clones of the big vault (median)")
	flag.StringVar(&o.profDir, "cpuprofile", "", "write a CPU profile of every agent to `DIR` (A.prof, B.prof, C.prof)")
	flag.Parse()
	if o.bin == "" || o.work == "" {
		fmt.Fprintln(os.Stderr, "usage: benchp2p -pkfs BIN -work DIR")
		os.Exit(2)
	}
	if err := run(o); err != nil {
		fmt.Fprintln(os.Stderr, "benchp2p:", err)
		os.Exit(1)
	}
}

func run(o options) (err error) {
	if err := os.MkdirAll(o.work, 0o700); err != nil {
		return err
	}
	var nodes []*node
	defer func() {
		for _, n := range nodes {
			n.kill()
			if err != nil {
				fmt.Fprintf(os.Stderr, "== %s's agent log ==\n%s\n", n.name, tail(n.agentLog(), 4096))
			}
		}
		os.RemoveAll(o.work)
	}()
	mk := func(name string) (*node, error) {
		n, err := newNode(o.bin, o.work, name)
		if err == nil {
			nodes = append(nodes, n)
			if o.profDir != "" {
				n.env = append(n.env, "PKFS_CPUPROFILE="+filepath.Join(o.profDir, name+".prof"))
			}
		}
		return n, err
	}
	a, err := mk("A")
	if err != nil {
		return err
	}
	b, err := mk("B")
	if err != nil {
		return err
	}
	c, err := mk("C")
	if err != nil {
		return err
	}
	for _, n := range nodes {
		if err := n.mount(0); err != nil {
			return err
		}
	}
	fmt.Printf("== p2p (issue 5): agents with mounts on 127.0.0.1, each on its own node path ==\n")

	lat, write, err := latency(o, a, b)
	if err != nil {
		return err
	}
	big, err := buildBig(o, a)
	if err != nil {
		return err
	}
	clone, wire, err := cloneAndBytes(o, a, c)
	if err != nil {
		return err
	}
	report(o, lat, write, big, clone, wire)
	return nil
}

// latency shares a vault with B and measures, for o.commits commits on A,
// the time from close() returning on A (the commit is written) until B's
// mount shows the new content.
func latency(o options, a, b *node) (lat, write []time.Duration, err error) {
	if _, err := a.pkfs("nodes", "add", b.id, "127.0.0.1", strconv.Itoa(b.port)); err != nil {
		return nil, nil, err
	}
	if _, err := b.pkfs("nodes", "add", a.id, "127.0.0.1", strconv.Itoa(a.port)); err != nil {
		return nil, nil, err
	}
	if _, err := b.pkfs("identities", "trust", a.id); err != nil {
		return nil, nil, err
	}
	if err := os.Mkdir(filepath.Join(a.mnt, "lat"), 0o700); err != nil {
		return nil, nil, err
	}
	src, dst := filepath.Join(a.mnt, "lat", "password"), filepath.Join(b.mnt, "lat", "password")
	if err := os.WriteFile(src, []byte("initial\n"), 0o600); err != nil {
		return nil, nil, err
	}
	if _, err := a.pkfs("vaults", "share", "lat", b.id); err != nil {
		return nil, nil, err
	}
	if _, err := b.pkfs("vaults", "clone", "lat", a.id); err != nil {
		return nil, nil, err
	}
	for i := 0; i < o.commits; i++ {
		want := fmt.Sprintf("secret %d %s\n", i, randHex(4+i%8)) // sizes vary: attributes must follow too
		s := time.Now()
		if err := os.WriteFile(src, []byte(want), 0o600); err != nil {
			return nil, nil, err
		}
		committed := time.Now()
		write = append(write, committed.Sub(s))
		d, err := waitContent(dst, want, 10*time.Second)
		if err != nil {
			return nil, nil, fmt.Errorf("commit %d: %w", i, err)
		}
		lat = append(lat, d)
	}
	return lat, write, nil
}

// waitContent polls a file until it holds want; it returns how long that took.
func waitContent(path, want string, limit time.Duration) (time.Duration, error) {
	s := time.Now()
	for {
		if b, err := os.ReadFile(path); err == nil && string(b) == want {
			return time.Since(s), nil
		}
		if time.Since(s) > limit {
			b, err := os.ReadFile(path)
			return 0, fmt.Errorf("%s still reads %q (%v) after %v, want %q", path, b, err, limit, want)
		}
		time.Sleep(200 * time.Microsecond)
	}
}

type bigVault struct {
	files, commits int
	build          time.Duration
}

// buildBig makes vault "big" on A: o.files files imported as one commit
// (`secrets dir`), then one-file commits through A's mount until the
// history holds o.history commits.
func buildBig(o options, a *node) (bigVault, error) {
	s := time.Now()
	src := filepath.Join(a.dir, "big-src")
	dirs := max(1, o.files/100)
	for i := 0; i < o.files; i++ {
		d := filepath.Join(src, fmt.Sprintf("d%03d", i%dirs))
		if i < dirs {
			if err := os.MkdirAll(d, 0o700); err != nil {
				return bigVault{}, err
			}
		}
		if err := os.WriteFile(filepath.Join(d, fmt.Sprintf("f%04d", i/dirs)), []byte(randHex(24)+"\n"), 0o600); err != nil {
			return bigVault{}, err
		}
	}
	if _, err := a.pkfs("vaults", "create", "big"); err != nil {
		return bigVault{}, err
	}
	if _, err := a.pkfs("secrets", "dir", src, "big"); err != nil {
		return bigVault{}, err
	}
	os.RemoveAll(src)
	n := 0
	for i := 0; n < o.history && i < 3*o.history; i++ {
		p := filepath.Join(a.mnt, "big", fmt.Sprintf("d%03d", i%dirs), fmt.Sprintf("f%04d", (i*7)%(o.files/dirs)))
		if err := os.WriteFile(p, []byte(randHex(24)+"\n"), 0o600); err != nil {
			return bigVault{}, err
		}
		if i%100 == 99 || i >= o.history-5 {
			var err error
			if n, err = commits(a, "big"); err != nil {
				return bigVault{}, err
			}
		}
	}
	return bigVault{files: o.files, commits: n, build: time.Since(s)}, nil
}

func commits(n *node, vault string) (int, error) {
	var log []struct {
		CommitID string `json:"commitId"`
	}
	err := n.json(&log, "vaults", "log", vault)
	return len(log), err
}

type cloneStats struct {
	took    []time.Duration
	objects int
	bytes   int64
	wire    int64 // UDP bytes of the first clone, both ways
}

type commitBytes struct {
	up, down, packets int64 // UDP payload bytes C->A, A->C, datagrams
	pack              int64 // packfile bytes (from C's agent log)
	objects           int
}

// cloneAndBytes has C reach A only through a counting UDP relay, clones
// the big vault (timed, o.cloneRuns times), then commits one file at a time
// on A and counts the bytes that replicating each commit to C takes.
func cloneAndBytes(o options, a, c *node) (cloneStats, []commitBytes, error) {
	var cs cloneStats
	proxy, err := newUDPProxy(&net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: a.port})
	if err != nil {
		return cs, nil, err
	}
	defer proxy.close()
	// C knows A only at the relay; A learns C from C's hello and answers on
	// that connection, so all their traffic crosses the relay.
	if _, err := c.pkfs("nodes", "add", a.id, "127.0.0.1", strconv.Itoa(proxy.port())); err != nil {
		return cs, nil, err
	}
	if _, err := c.pkfs("identities", "trust", a.id); err != nil {
		return cs, nil, err
	}
	if _, err := a.pkfs("vaults", "share", "big", c.id); err != nil { // the notification waits: A does not know C yet
		return cs, nil, err
	}
	for r := 0; r < o.cloneRuns; r++ {
		if r > 0 {
			if _, err := c.pkfs("vaults", "delete", "big"); err != nil {
				return cs, nil, err
			}
		}
		proxy.counts()
		var res struct {
			Objects int   `json:"objects"`
			Bytes   int64 `json:"bytes"`
		}
		s := time.Now()
		if err := c.json(&res, "vaults", "clone", "big", a.id); err != nil {
			return cs, nil, err
		}
		cs.took = append(cs.took, time.Since(s))
		up, down, _ := proxy.counts()
		if r == 0 {
			cs.objects, cs.bytes, cs.wire = res.Objects, res.Bytes, up+down
		}
	}
	if err := quiet(proxy, 300*time.Millisecond, 15*time.Second); err != nil {
		return cs, nil, err
	}
	var out []commitBytes
	pulled := regexp.MustCompile(`pulled 1 commits \((\d+) objects, (\d+) bytes\)`)
	for r := 0; r < o.byteRuns; r++ {
		proxy.counts()
		rel := filepath.Join("big", "d007", "f0003")
		want := randHex(24) + "\n"
		if err := os.WriteFile(filepath.Join(a.mnt, rel), []byte(want), 0o600); err != nil {
			return cs, nil, err
		}
		if _, err := waitContent(filepath.Join(c.mnt, rel), want, 10*time.Second); err != nil {
			return cs, nil, err
		}
		time.Sleep(300 * time.Millisecond) // the last acks
		var cb commitBytes
		cb.up, cb.down, cb.packets = proxy.counts()
		if m := pulled.FindAllStringSubmatch(c.agentLog(), -1); len(m) > 0 {
			last := m[len(m)-1]
			cb.objects, _ = strconv.Atoi(last[1])
			cb.pack, _ = strconv.ParseInt(last[2], 10, 64)
		}
		out = append(out, cb)
	}
	return cs, out, nil
}

// quiet waits until the relay has carried nothing for a window.
func quiet(p *udpProxy, window, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	p.counts()
	for time.Now().Before(deadline) {
		time.Sleep(window)
		if up, down, _ := p.counts(); up+down == 0 {
			return nil
		}
	}
	return fmt.Errorf("the connection between C and A never went quiet")
}

func report(o options, lat, write []time.Duration, big bigVault, cs cloneStats, cb []commitBytes) {
	slices.Sort(lat)
	slices.Sort(write)
	p99 := pct(lat, 0.99)
	verdict := "ok"
	if p99 > 100*time.Millisecond {
		verdict = "OVER TARGET"
	}
	fmt.Printf("%-44s p50 %7s  p99 %7s  max %7s  (n=%d; target p99 <= 100 ms: %s)\n",
		"commit on A -> readable through B's mount", ms(pct(lat, 0.5)), ms(p99), ms(lat[len(lat)-1]), len(lat), verdict)
	fmt.Printf("%-44s p50 %7s  p99 %7s  max %7s\n", "  (the commit itself: write+close on A)", ms(pct(write, 0.5)), ms(pct(write, 0.99)), ms(write[len(write)-1]))
	fmt.Printf("%-44s %d files, %d commits (built in %s)\n", "big vault", big.files, big.commits, big.build.Round(100*time.Millisecond))
	slices.Sort(cs.took)
	fmt.Printf("%-44s median %s of %d (min %s, max %s); %d objects, pack %s, %s on the wire\n",
		"clone of the big vault (C from A)", cs.took[len(cs.took)/2].Round(time.Millisecond), len(cs.took),
		cs.took[0].Round(time.Millisecond), cs.took[len(cs.took)-1].Round(time.Millisecond), cs.objects, size(cs.bytes), size(cs.wire))
	tot := make([]int64, len(cb))
	for i, x := range cb {
		tot[i] = x.up + x.down
	}
	slices.Sort(tot)
	med := cb[0]
	for _, x := range cb {
		if x.up+x.down == tot[len(tot)/2] {
			med = x
		}
	}
	verdict = "ok"
	if tot[len(tot)/2] > 16<<10 {
		verdict = "OVER TARGET"
	}
	fmt.Printf("%-44s median %s on the wire (A->C %s, C->A %s, %d datagrams; min %s, max %s, n=%d)\n",
		"one-file commit in the big vault", size(tot[len(tot)/2]), size(med.down), size(med.up), med.packets,
		size(tot[0]), size(tot[len(tot)-1]), len(tot))
	fmt.Printf("%-44s pack %s, %d objects; %.4f%% of the clone's wire bytes (target: O(change), a few KB: %s)\n",
		"", size(med.pack), med.objects, 100*float64(tot[len(tot)/2])/float64(max(cs.wire, 1)), verdict)
}

func pct(xs []time.Duration, p float64) time.Duration {
	return xs[max(0, int(math.Ceil(p*float64(len(xs))))-1)]
}

func ms(d time.Duration) string { return fmt.Sprintf("%.1fms", float64(d.Microseconds())/1000) }

func size(n int64) string {
	switch {
	case n < 10<<10:
		return fmt.Sprintf("%d B", n)
	case n < 10<<20:
		return fmt.Sprintf("%.1f KiB", float64(n)/1024)
	default:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	}
}

func randHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

func tail(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}
