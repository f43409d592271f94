package main

import (
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"
)

// results holds every figure of every run: target → metric → one value per
// run.
type results map[string]map[string][]float64

func newResults() results { return results{} }

func (r results) add(target, metric string, v float64) {
	if r[target] == nil {
		r[target] = map[string][]float64{}
	}
	r[target][metric] = append(r[target][metric], v)
}

// median of the runs of a metric, and whether there is one.
func (r results) median(target, metric string) (float64, bool) {
	vs := r[target][metric]
	if len(vs) == 0 {
		return 0, false
	}
	s := slices.Clone(vs)
	sort.Float64s(s)
	if len(s)%2 == 1 {
		return s[len(s)/2], true
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2, true
}

// percentile of vs (nearest rank), q in (0, 1].
func percentile(vs []float64, q float64) float64 {
	s := slices.Clone(vs)
	sort.Float64s(s)
	i := int(q*float64(len(s))+0.999999) - 1
	return s[max(0, min(i, len(s)-1))]
}

// runWorkloads runs every workload once on a fresh target: first what
// follows a fresh mount (writes, warm reads), then after a remount with
// the caches dropped (first reads, cold reads, ls -lR, rm -rf).
func runWorkloads(e *benchEnv, t target, run int, p params, res results) (err error) {
	dir, err := t.start(run)
	if err != nil {
		return err
	}
	defer func() {
		if err2 := t.stop(); err == nil {
			err = err2
		}
	}()
	rate := func(metric string, fn func(*benchEnv, string, params) (float64, error)) error {
		v, err := fn(e, dir, p)
		if err != nil {
			return fmt.Errorf("%s: %w", metric, err)
		}
		res.add(t.name(), metric, v)
		return nil
	}
	lat := func(metric string, fn func(*benchEnv, string, params) ([]float64, error)) error {
		vs, err := fn(e, dir, p)
		if err != nil {
			return fmt.Errorf("%s: %w", metric, err)
		}
		res.add(t.name(), metric+"_p50", percentile(vs, 0.50))
		res.add(t.name(), metric+"_p99", percentile(vs, 0.99))
		return nil
	}
	steps := []func() error{
		func() error { return rate("create", createFiles) },
		func() error { return rate("readback", readBack) },
		func() error { return latencySetup(e, dir, p) },
		func() error { return treeSetup(e, dir, p) },
		func() error { return lat("lat", latencyWarm) },
		func() error { return rate("seqw", seqWrite) },
		func() error { return rate("saves", saves) },
		func() error { return rate("tar", tarExtract) },
		t.remount,
		func() error { return lat("latm", latencyFirst) },
		func() error { return rate("readback_cold", readBack) },
		func() error { return rate("ls", lsTree) },
		func() error { return rate("seqr", seqRead) },
		func() error { return rate("ls_warm", lsTree) },
		func() error { return rate("rm", rmTree) },
	}
	for _, s := range steps {
		if err := s(); err != nil {
			return err
		}
	}
	return nil
}

// measureMountTime mounts a small and a large store runs times each, in
// turn, with the caches dropped before every mount; milliseconds.
func measureMountTime(e *benchEnv, t mountTimer, runs int, p params, res results) error {
	type store struct {
		metric        string
		mount         func() (time.Duration, error)
		umount        func() error
		vaults, files int
	}
	stores := []*store{{metric: "mount_small", vaults: 1, files: 10}, {metric: "mount_big", vaults: p.mountVaults, files: p.mountFiles}}
	for _, s := range stores {
		var err error
		if s.mount, s.umount, err = t.populated(strings.TrimPrefix(s.metric, "mount_"), s.vaults, s.files, p); err != nil {
			return err
		}
	}
	for range runs {
		for _, s := range stores {
			e.dropCaches()
			d, err := s.mount()
			if err != nil {
				return err
			}
			res.add(t.name(), s.metric, float64(d.Microseconds())/1e3)
			if err := s.umount(); err != nil {
				return err
			}
		}
	}
	return nil
}
