// Command benchmount measures the same filesystem workloads on a plain
// directory, a pkfs mount and a gocryptfs mount, in one run, and prints the
// medians side by side with ratios and the targets of the mount issue.
//
// It is run by scripts/bench_mount.sh (part of `make bench`), never by
// `make test`. Every workload is written once (workloads.go) and runs
// against a directory, so the three targets are measured identically; only
// the way a target is created, mounted and remounted differs (targets.go).
//
//	benchmount -pkfs bin/pkfs [-gocryptfs PATH] [-runs 5] [-work DIR] [-cpuprofile DIR]
//	benchmount -one WORKLOAD -dir DIR    run one workload in DIR (already mounted) and print its figure
//
// Cold figures drop the page cache (`echo 3 > /proc/sys/vm/drop_caches`,
// root only) and remount pkfs and gocryptfs; without root the table says
// that they are not cold.
package main

import (
	"flag"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"strings"
	"time"
)

func main() {
	log.SetFlags(0)
	log.SetPrefix("benchmount: ")
	var (
		pkfsBin   = flag.String("pkfs", "", "the pkfs binary to measure (required)")
		gocrypt   = flag.String("gocryptfs", "", "the gocryptfs binary; empty skips its column")
		gcNote    = flag.String("gocryptfs-note", "", "why gocryptfs is skipped, for the table")
		runs      = flag.Int("runs", 5, "runs per target; the table shows medians")
		work      = flag.String("work", "", "where to put every target (default: a new directory in TMPDIR)")
		profDir   = flag.String("cpuprofile", "", "write a CPU profile of every pkfs agent into this directory")
		quick     = flag.Bool("quick", false, "small sizes, to check that the bench itself works")
		only      = flag.String("targets", "plain,gocryptfs,pkfs", "which targets to measure")
		skipMount = flag.Bool("skip-mount-time", false, "skip the mount-time workload (it populates 100,000 files)")
		one       = flag.String("one", "", "run only this workload in -dir and print its figure: "+strings.Join(oneNames(), ", "))
		oneDir    = flag.String("dir", "", "the directory for -one")
	)
	flag.Parse()
	p := defaultParams()
	if *quick {
		p = quickParams()
	}
	if *one != "" {
		if err := runOne(*one, *oneDir, p); err != nil {
			log.Fatal(err)
		}
		return
	}
	if *pkfsBin == "" || *runs < 1 || *runs > 100 {
		flag.Usage()
		os.Exit(2)
	}
	if !strings.Contains(*only, "gocryptfs") {
		*gocrypt, *gcNote = "", "not measured (-targets)"
	}
	if err := run(*pkfsBin, *gocrypt, *gcNote, *work, *profDir, *runs, !*skipMount, *only, p); err != nil {
		log.Fatal(err)
	}
}

func run(pkfsBin, gocrypt, gcNote, work, profDir string, runs int, mountTime bool, only string, p params) error {
	bin, err := filepath.Abs(pkfsBin)
	if err != nil {
		return err
	}
	cleanup := false
	if work == "" {
		if work, err = os.MkdirTemp("", "pkfs-benchmount-"); err != nil {
			return err
		}
		cleanup = true
	}
	if work, err = filepath.Abs(work); err != nil {
		return err
	}
	if profDir != "" {
		if profDir, err = filepath.Abs(profDir); err != nil {
			return err
		}
		if err := os.MkdirAll(profDir, 0o755); err != nil {
			return err
		}
	}
	env := newBenchEnv(work, p)
	defer env.close(cleanup)
	var targets []target
	if strings.Contains(only, "plain") {
		targets = append(targets, &plainTarget{env: env})
	}
	if gocrypt != "" {
		targets = append(targets, &gocryptfsTarget{env: env, bin: gocrypt})
	} else if gcNote == "" {
		gcNote = "gocryptfs not installed"
	}
	if strings.Contains(only, "pkfs") {
		targets = append(targets, &pkfsTarget{env: env, bin: bin, profDir: profDir})
	}
	res := newResults()
	start := time.Now()
	for r := range runs {
		for i := range targets {
			// rotate the order so that no target always runs first
			t := targets[(i+r)%len(targets)]
			log.Printf("run %d/%d: %s", r+1, runs, t.name())
			if err := runWorkloads(env, t, r, p, res); err != nil {
				return fmt.Errorf("%s, run %d: %w", t.name(), r+1, err)
			}
		}
	}
	if mountTime {
		for _, t := range targets {
			mt, ok := t.(mountTimer)
			if !ok {
				continue
			}
			log.Printf("mount time: %s", t.name())
			if err := measureMountTime(env, mt, runs, p, res); err != nil {
				return fmt.Errorf("%s, mount time: %w", t.name(), err)
			}
		}
	}
	names := make([]string, len(targets))
	for i, t := range targets {
		names[i] = t.name()
	}
	printTable(os.Stdout, res, names, runs, p, gcNote, env.notes(), time.Since(start))
	if profDir != "" {
		fmt.Printf("\npkfs agent CPU profiles: %s (go tool pprof -top %s %s/*.prof)\n", profDir, bin, profDir)
	}
	return nil
}
