package main

import (
	"fmt"
	"io"
	"math"
	"os"
	"slices"
	"strings"
	"time"
)

// row is one line of the table. A goal compares pkfs with gocryptfs
// (ratio in the row's unit), or pkfs with an absolute bound.
type row struct {
	metric, label, unit string
	higher              bool    // the unit is a rate
	goal                float64 // pkfs/gocryptfs must be ≥ goal (rates) or ≤ goal (times); 0: none
	abs                 float64 // pkfs must be below this, in the row's unit; 0: none
}

func rows(p params) []row {
	kib := p.fileSize >> 10
	return []row{
		{"create", fmt.Sprintf("create+write+close %d×%d KiB", p.createFiles, kib), "files/s", true, 1.0, 0},
		{"readback", fmt.Sprintf("read back %d×%d KiB, warm", p.createFiles, kib), "files/s", true, 0, 0},
		{"readback_cold", fmt.Sprintf("read back %d×%d KiB, after mount", p.createFiles, kib), "files/s", true, 0, 0},
		{"lat_p50", "open+read+close 4 KiB, warm, p50", "µs", false, 1.0, 0},
		{"lat_p99", "open+read+close 4 KiB, warm, p99", "µs", false, 0, 5000},
		{"latm_p50", "open+read+close 4 KiB, after mount, p50", "µs", false, 0, 0},
		{"latm_p99", "open+read+close 4 KiB, after mount, p99", "µs", false, 0, 0},
		{"seqw", fmt.Sprintf("sequential write %d MiB", p.seqBytes>>20), "MB/s", true, 0.8, 0},
		{"seqr", fmt.Sprintf("sequential read %d MiB, cold", p.seqBytes>>20), "MB/s", true, 0.8, 0},
		{"ls", fmt.Sprintf("ls -lR %d files in %d dirs, after mount", p.treeDirs*p.treeFiles, p.treeDirs), "s", false, 1.0, 0},
		{"ls_warm", "ls -lR, warm", "s", false, 1.0, 0},
		{"saves", fmt.Sprintf("rename-over saves with fsync (%d)", p.saves), "saves/s", true, 0, 0},
		{"rm", fmt.Sprintf("rm -rf of the %d-file tree", p.treeDirs*p.treeFiles), "s", false, 1.0, 0},
		{"tar", fmt.Sprintf("tar x of %d files", p.tarFiles), "s", false, 1.0, 0},
		{"mount_small", "mount, 1 vault × 10 files", "ms", false, 0, 0},
		{"mount_big", fmt.Sprintf("mount, %d vaults × %d files", p.mountVaults, p.mountFiles), "ms", false, 0, 0},
	}
}

// printTable prints the medians, pkfs's ratios to the plain directory and
// to gocryptfs, and whether each target of the issue is met.
func printTable(w io.Writer, res results, targets []string, runs int, p params, gcNote string, notes []string, took time.Duration) {
	host, _ := os.Hostname()
	fmt.Fprintf(w, "\n== mount: %s (medians of %d runs, same disk, same workloads; %s, %d CPUs, %s) ==\n",
		strings.Join(targets, " vs "), runs, host, numCPU(), took.Round(time.Second))
	fmt.Fprintf(w, "%-44s %-8s %10s %10s %10s %11s %15s  %s\n", "workload", "unit", "plain", "gocryptfs", "pkfs", "pkfs/plain", "pkfs/gocryptfs", "target")
	missed := 0
	for _, r := range rows(p) {
		pl, okPl := res.median("plain", r.metric)
		gc, okGc := res.median("gocryptfs", r.metric)
		pk, okPk := res.median("pkfs", r.metric)
		if !okPl && !okGc && !okPk {
			continue
		}
		goal, status := goalText(r, pk, okPk, gc, okGc)
		if status == "MISSED" {
			missed++
		}
		fmt.Fprintf(w, "%-44s %-8s %10s %10s %10s %11s %15s  %s %s\n", r.label, r.unit,
			num(pl, okPl), num(gc, okGc), num(pk, okPk), ratio(pk, pl, okPk && okPl), ratio(pk, gc, okPk && okGc), goal, status)
	}
	small, ok1 := res.median("pkfs", "mount_small")
	big, ok2 := res.median("pkfs", "mount_big")
	if ok1 && ok2 {
		status := "ok"
		if big/small > 1.5 {
			status, missed = "MISSED", missed+1
		}
		fmt.Fprintf(w, "pkfs mount time, %d×%d files / 1×10 files: %.2fx (target: independent of vault size, ≤ 1.5x) %s\n",
			p.mountVaults, p.mountFiles, big/small, status)
	}
	fmt.Fprintf(w, "ratios are in the row's unit: for files/s, MB/s and saves/s higher is better, for s, ms and µs lower is better; %d target(s) missed\n", missed)
	if gcNote != "" {
		fmt.Fprintf(w, "gocryptfs: %s\n", gcNote)
	}
	for _, n := range notes {
		fmt.Fprintf(w, "note: %s\n", n)
	}
	fmt.Fprintf(w, "\nper-run values (in run order):\n")
	for _, r := range rows(p) {
		for _, t := range targets {
			if vs := res[t][r.metric]; len(vs) > 0 {
				fmt.Fprintf(w, "  %-14s %-10s %s\n", r.metric, t, nums(vs))
			}
		}
	}
}

func goalText(r row, pk float64, okPk bool, gc float64, okGc bool) (string, string) {
	switch {
	case r.abs > 0:
		if !okPk {
			return fmt.Sprintf("< %g %s", r.abs, r.unit), "-"
		}
		return fmt.Sprintf("< %g %s", r.abs, r.unit), okMissed(pk < r.abs)
	case r.goal > 0 && r.higher:
		if !okPk || !okGc {
			return fmt.Sprintf("≥ %.2fx", r.goal), "-"
		}
		return fmt.Sprintf("≥ %.2fx", r.goal), okMissed(pk/gc >= r.goal)
	case r.goal > 0:
		if !okPk || !okGc {
			return fmt.Sprintf("≤ %.2fx", r.goal), "-"
		}
		return fmt.Sprintf("≤ %.2fx", r.goal), okMissed(pk/gc <= r.goal)
	}
	return "", ""
}

func okMissed(ok bool) string {
	if ok {
		return "ok"
	}
	return "MISSED"
}

func num(v float64, ok bool) string {
	switch {
	case !ok:
		return "-"
	case v >= 100:
		return fmt.Sprintf("%.0f", v)
	case v >= 10:
		return fmt.Sprintf("%.1f", v)
	}
	return fmt.Sprintf("%.3f", v)
}

func nums(vs []float64) string {
	s := make([]string, len(vs))
	for i, v := range vs {
		s[i] = num(v, true)
	}
	return strings.Join(s, " ")
}

func ratio(a, b float64, ok bool) string {
	if !ok || b == 0 || math.IsNaN(a/b) {
		return "-"
	}
	return fmt.Sprintf("%.2fx", a/b)
}

// runOne runs one workload in dir (which must hold what it needs, for the
// reading ones) and prints its figure: for profiling one workload.
func runOne(name, dir string, p params) error {
	e := &benchEnv{noteSeen: map[string]bool{}}
	e.pool = newBenchEnvPool(p)
	e.work, _ = os.MkdirTemp("", "benchmount-one-")
	defer os.RemoveAll(e.work)
	e.tarball = e.work + "/tree.tar"
	if err := writeTarball(e.tarball, p.tarFiles, e.pool); err != nil {
		return err
	}
	rates := oneRates()
	if fn, ok := rates[name]; ok {
		v, err := fn(e, dir, p)
		fmt.Printf("%s %s\n", name, num(v, err == nil))
		return err
	}
	lats := map[string]func(*benchEnv, string, params) ([]float64, error){"lat": latencyWarm, "latm": latencyFirst}
	if fn, ok := lats[name]; ok {
		vs, err := fn(e, dir, p)
		if err != nil {
			return err
		}
		fmt.Printf("%s p50 %.0f µs p99 %.0f µs\n", name, percentile(vs, 0.5), percentile(vs, 0.99))
		return nil
	}
	return fmt.Errorf("no workload %q: one of %s", name, strings.Join(oneNames(), ", "))
}

func oneRates() map[string]func(*benchEnv, string, params) (float64, error) {
	setup := func(fn func(*benchEnv, string, params) error) func(*benchEnv, string, params) (float64, error) {
		return func(e *benchEnv, d string, p params) (float64, error) { return 0, fn(e, d, p) }
	}
	return map[string]func(*benchEnv, string, params) (float64, error){
		"create": createFiles, "readback": readBack, "seqw": seqWrite, "seqr": seqRead, "ls": lsTree,
		"rm": rmTree, "saves": saves, "tar": tarExtract, "latsetup": setup(latencySetup), "treesetup": setup(treeSetup),
	}
}

func oneNames() []string {
	var n []string
	for k := range oneRates() {
		n = append(n, k)
	}
	n = append(n, "lat", "latm")
	slices.Sort(n)
	return n
}
