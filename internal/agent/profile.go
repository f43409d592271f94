package agent

import (
	"log"
	"os"
	"runtime/pprof"
)

// EnvCPUProfile names a file: when it is set, the agent writes a CPU profile
// of its whole run there (for `make bench` and performance work; see
// scripts/bench_mount.sh). It is not a user-facing setting.
const EnvCPUProfile = "PKFS_CPUPROFILE"

// startCPUProfile starts the CPU profile EnvCPUProfile asks for and returns
// the function that stops it; a no-op without the variable.
func startCPUProfile() (stop func()) {
	p := os.Getenv(EnvCPUProfile)
	if p == "" {
		return func() {}
	}
	f, err := os.Create(p)
	if err != nil {
		log.Printf("pkfs agent: cpu profile: %v", err)
		return func() {}
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		log.Printf("pkfs agent: cpu profile: %v", err)
		f.Close()
		return func() {}
	}
	return func() {
		pprof.StopCPUProfile()
		f.Close()
	}
}
