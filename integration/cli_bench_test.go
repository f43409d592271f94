package integration

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// The CLI end to end, one process per command as a script runs it, with no
// agent: every command unlocks the node (Argon2id at the min preset), opens
// its database, and a write makes one synced commit (pkfs-vaults-list shows
// the part of a command that is not its own work). Side by side: the same
// write loop through plain git (git add + git commit per file), both on the
// /dev/shm tmpfs, so that neither pays for a disk; pkfs once more on the
// benchmark disk (PKFS_BENCH_DIR, else TMPDIR), where its fsyncs are real.
const (
	benchWrites   = 200
	benchEnvVars  = 100
	benchFileSize = 4 << 10
)

// tmpfsDir returns a fresh directory on /dev/shm, or skips the benchmark
// when that is not a tmpfs.
func tmpfsDir(b *testing.B) string {
	var st unix.Statfs_t
	if unix.Statfs("/dev/shm", &st) != nil || st.Type != unix.TMPFS_MAGIC {
		b.Skip("no tmpfs at /dev/shm")
	}
	dir, err := os.MkdirTemp("/dev/shm", "pkfs-bench-")
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { os.RemoveAll(dir) })
	return dir
}

func benchDiskDir(b *testing.B) string {
	if root := os.Getenv("PKFS_BENCH_DIR"); root != "" {
		dir, err := os.MkdirTemp(root, "pkfs-bench-")
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { os.RemoveAll(dir) })
		return dir
	}
	return b.TempDir()
}

// benchNode inits a node under dir.
func benchNode(b *testing.B, dir string) *cliNode {
	b.Setenv("TMPDIR", dir)
	n := newNode(b, pkfsBinDir(b))
	n.ok(nil, "vaults", "create", "v")
	return n
}

func secrets(n int) [][]byte {
	out := make([][]byte, n)
	for i := range out {
		out[i] = make([]byte, benchFileSize)
		rand.Read(out[i])
	}
	return out
}

// reportPerCommand adds the mean time of one command of the op.
func reportPerCommand(b *testing.B, start time.Time, commands int, unit string) {
	b.ReportMetric(float64(time.Since(start).Milliseconds())/float64(b.N*commands), unit)
}

func BenchmarkCLI(b *testing.B) {
	pkfsBinDir(b) // built before benchNode moves TMPDIR
	data := secrets(benchWrites)
	writeLoop := func(b *testing.B, dir string) {
		n := benchNode(b, dir)
		start := time.Now()
		for round := 0; b.Loop(); round++ {
			for i, d := range data {
				n.write(fmt.Sprintf("v:r%d/s%03d", round, i), d)
			}
		}
		reportPerCommand(b, start, benchWrites, "ms/write")
	}
	b.Run("pkfs-write-200x4KiB/tmpfs", func(b *testing.B) { writeLoop(b, tmpfsDir(b)) })
	b.Run("git-write-200x4KiB/tmpfs", func(b *testing.B) { gitWriteLoop(b, tmpfsDir(b), data) })
	b.Run("pkfs-write-200x4KiB/disk", func(b *testing.B) { writeLoop(b, benchDiskDir(b)) })
	// What every command pays before it does anything: unlock the node
	// (Argon2id, min preset) and open its database.
	b.Run("pkfs-vaults-list/tmpfs", func(b *testing.B) {
		n := benchNode(b, tmpfsDir(b))
		start := time.Now()
		for b.Loop() {
			n.ok(nil, "vaults", "list")
		}
		reportPerCommand(b, start, 1, "ms/command")
	})
	b.Run("pkfs-env-100/tmpfs", func(b *testing.B) {
		n := benchNode(b, tmpfsDir(b))
		local := filepath.Join(b.TempDir(), "app")
		os.MkdirAll(local, 0o700)
		for i := range benchEnvVars {
			os.WriteFile(filepath.Join(local, fmt.Sprintf("VAR_%03d", i)), []byte(hex.EncodeToString(data[i][:32])), 0o600)
		}
		n.ok(nil, "secrets", "dir", local, "v:app")
		start := time.Now()
		for b.Loop() {
			out := n.ok(nil, "secrets", "env", "v:app")
			if c := bytes.Count([]byte(out), []byte("\nexport ")); c != benchEnvVars-1 {
				b.Fatalf("%d variables", c+1)
			}
		}
		reportPerCommand(b, start, 1, "ms/env")
	})
}

// gitWriteLoop is the reference: the same files committed one by one into
// a git repository (git add, git commit).
func gitWriteLoop(b *testing.B, dir string, data [][]byte) {
	if _, err := exec.LookPath("git"); err != nil {
		b.Skip("no git")
	}
	repo := filepath.Join(dir, "repo")
	env := append(os.Environ(), "GIT_CONFIG_GLOBAL=/dev/null", "GIT_CONFIG_NOSYSTEM=1",
		"GIT_AUTHOR_NAME=bench", "GIT_AUTHOR_EMAIL=bench@example.org",
		"GIT_COMMITTER_NAME=bench", "GIT_COMMITTER_EMAIL=bench@example.org")
	git := func(args ...string) {
		cmd := exec.Command("git", append([]string{"-C", repo, "-c", "gc.auto=0"}, args...)...)
		cmd.Env = env
		if out, err := cmd.CombinedOutput(); err != nil {
			b.Fatalf("git %v: %v: %s", args, err, out)
		}
	}
	if err := os.MkdirAll(repo, 0o700); err != nil {
		b.Fatal(err)
	}
	git("init", "-q", "-b", "main")
	start := time.Now()
	for round := 0; b.Loop(); round++ {
		sub := filepath.Join(repo, fmt.Sprintf("r%d", round))
		if err := os.MkdirAll(sub, 0o700); err != nil {
			b.Fatal(err)
		}
		for i, d := range data {
			name := filepath.Join(sub, fmt.Sprintf("s%03d", i))
			if err := os.WriteFile(name, d, 0o600); err != nil {
				b.Fatal(err)
			}
			git("add", name)
			git("commit", "-q", "-m", "write "+name)
		}
	}
	reportPerCommand(b, start, benchWrites, "ms/write")
}
