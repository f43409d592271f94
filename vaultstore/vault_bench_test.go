package vaultstore

import (
	"fmt"
	"os"
	"syscall"
	"testing"
	"time"

	"github.com/pkfs/pkfs/internal/cryptocore"
	"github.com/pkfs/pkfs/internal/kvstore"
)

// The layout of the benchmark vaults: files of 64 bytes, at most 100 per
// directory (d000/f00 … d099/f99 for 10,000 files; d000/f0 … d000/f9 for
// 10), which is how secrets are usually grouped and keeps every tree at
// most 100 entries.
const benchPerDir = 100

func benchPath(i int) string { return fmt.Sprintf("d%03d/f%02d", i/benchPerDir, i%benchPerDir) }

// benchStore opens a store on PKFS_BENCH_DIR (else TMPDIR), and returns a
// function that closes and reopens it (empty caches, same data).
func benchStore(b *testing.B) (*Store, func() *Store) {
	dir := b.TempDir()
	if root := os.Getenv("PKFS_BENCH_DIR"); root != "" {
		var err error
		if dir, err = os.MkdirTemp(root, "pkfs-vaultbench-"); err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { os.RemoveAll(dir) })
	}
	key := cryptocore.NewRandomKey()
	signer := TestOnlySigner()
	var db *kvstore.DB
	var s *Store
	open := func() *Store {
		var err error
		if db, err = kvstore.Open(dir, key); err != nil {
			b.Fatal(err)
		}
		if s, err = Open(db, signer); err != nil {
			b.Fatal(err)
		}
		return s
	}
	reopen := func() *Store {
		s.Close()
		db.Close()
		return open()
	}
	open()
	b.Cleanup(func() { s.Close(); db.Close() })
	return s, reopen
}

// cpuTime is the CPU time this process has used (all threads: the
// benchmark, the garbage collector, the database's compactions).
func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// reportCPU adds the CPU time per operation since start to the results: on
// a machine shared with other work it moves less than the wall time.
func reportCPU(b *testing.B, start time.Duration) {
	b.ReportMetric(float64(cpuTime()-start)/float64(b.N), "cpu-ns/op")
}

// fillVault makes a vault of n files in one commit.
func fillVault(b *testing.B, s *Store, n int) *Vault {
	v, err := s.Create("bench")
	if err != nil {
		b.Fatal(err)
	}
	if _, err := v.Update(CommitOptions{Sync: true}, func(tx *Tx) error {
		for i := range n {
			if err := tx.WriteSmall(benchPath(i), cryptocore.RandomBytes(64), false, true); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		b.Fatal(err)
	}
	return v
}

// One commit that changes one file, in vaults of 10, 1,000 and 10,000
// files: its cost should follow the depth of the path, not the size of the
// vault (the 10,000/10 ratio is printed by make bench; target ≤ 2×). Not
// synced, so that the figure is pkfs's work and not the disk's; CommitSync
// adds the fsync that every CLI write pays.
func BenchmarkCommit(b *testing.B) {
	for _, files := range []int{10, 1_000, 10_000} {
		b.Run(fmt.Sprintf("files=%d", files), func(b *testing.B) { benchCommit(b, files, false) })
	}
}

func BenchmarkCommitSync(b *testing.B) {
	b.Run("files=1000", func(b *testing.B) { benchCommit(b, 1_000, true) })
}

func benchCommit(b *testing.B, files int, sync bool) {
	s, _ := benchStore(b)
	v := fillVault(b, s, files)
	content := make([]byte, 64)
	b.ResetTimer()
	cpu := cpuTime()
	defer reportCPU(b, cpu)
	for i := 0; b.Loop(); i++ {
		p := benchPath((i * 7919) % files) // spread over the directories
		copy(content, fmt.Sprintf("%d", i))
		if _, err := v.Update(CommitOptions{Sync: sync}, func(tx *Tx) error {
			return tx.WriteSmall(p, content, false, false)
		}); err != nil {
			b.Fatal(err)
		}
	}
}

// Reading one 64-byte file by path at HEAD in a 10,000-file vault: warm
// (trees and object metadata cached), cold-store (the vault store freshly
// reopened, so its caches are empty; the database stays open), cold-db (the
// database reopened too: goleveldb's block cache is empty as well; the
// reopen itself is not timed, opening the vault is).
func BenchmarkReadHead(b *testing.B) {
	const files = 10_000
	read := func(b *testing.B, v *Vault, i int) {
		snap, err := v.Snapshot("")
		if err != nil {
			b.Fatal(err)
		}
		if _, err := snap.ReadFile(benchPath((i * 7919) % files)); err != nil {
			b.Fatal(err)
		}
	}
	b.Run("warm", func(b *testing.B) {
		s, _ := benchStore(b)
		v := fillVault(b, s, files)
		for i := range files {
			read(b, v, i)
		}
		b.ResetTimer()
		cpu := cpuTime()
		for i := 0; b.Loop(); i++ {
			read(b, v, i)
		}
		reportCPU(b, cpu)
	})
	for _, mode := range []string{"cold-store", "cold-db"} {
		b.Run(mode, func(b *testing.B) {
			s, reopen := benchStore(b)
			fillVault(b, s, files)
			b.ResetTimer()
			for i := 0; b.Loop(); i++ {
				b.StopTimer()
				if mode == "cold-db" {
					s = reopen()
				} else {
					s.Close()
					db := s.db
					var err error
					if s, err = Open(db, s.signer); err != nil {
						b.Fatal(err)
					}
				}
				b.StartTimer()
				v, err := s.Vault("bench")
				if err != nil {
					b.Fatal(err)
				}
				read(b, v, i)
			}
		})
	}
}
