package keyring

import (
	"os"
	"testing"
)

// envBenchAllPresets enables the sensitive and max presets, which need 1 and
// 4 GiB of memory per unlock.
const envBenchAllPresets = "PKFS_BENCH_ARGON2_ALL"

// BenchmarkUnlock measures opening a keyring with its password, per preset:
// reading the key files, Argon2id (which dominates), opening the sealed seed
// and the data key.
func BenchmarkUnlock(b *testing.B) {
	all := os.Getenv(envBenchAllPresets) != ""
	for _, p := range presets {
		if (p.name == "sensitive" || p.name == "max") && !all {
			b.Logf("skipping preset %s (%d MiB); set %s=1 to run it", p.name, p.memKiB>>10, envBenchAllPresets)
			continue
		}
		b.Run(p.name, func(b *testing.B) {
			dir := b.TempDir()
			params := Params{Ops: p.ops, MemKiB: p.memKiB, Parallelism: threads}
			kr, _, err := Create(dir, []byte("bench password"), params, "")
			if err != nil {
				b.Fatal(err)
			}
			kr.Close()
			for b.Loop() {
				kr, err := Unlock(dir, []byte("bench password"))
				if err != nil {
					b.Fatal(err)
				}
				kr.Close()
			}
			// After the loop: b.Loop resets the metrics reported before it.
			b.ReportMetric(float64(p.memKiB>>10), "MiB")
			b.ReportMetric(float64(p.ops), "passes")
		})
	}
}

// BenchmarkUnlockWrongPassword checks that a wrong password costs as much
// as the right one (no early exit to time).
func BenchmarkUnlockWrongPassword(b *testing.B) {
	dir := b.TempDir()
	params := Params{Ops: 1, MemKiB: MinMemKiB, Parallelism: threads}
	kr, _, err := Create(dir, []byte("right"), params, "")
	if err != nil {
		b.Fatal(err)
	}
	kr.Close()
	for b.Loop() {
		if _, err := Unlock(dir, []byte("wrong")); err != ErrWrongPassword {
			b.Fatalf("unlock with a wrong password: %v", err)
		}
	}
}
