package integration

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/pkfs/pkfs/internal/cryptocore"
	"github.com/pkfs/pkfs/vaultstore"
)

// The writers of TestMountKillAgent are child processes (this test binary
// run again with killWriterEnv set), not goroutines: a process that forks
// while it writes a file lets its child close the inherited descriptor at
// exec (close-on-exec), and that close is a close to FUSE, so pkfs commits
// what was written so far, as the design says. The other tests of this
// binary fork all the time; the writers must not.
const killWriterEnv = "PKFS_TEST_KILL_WRITER"

func init() {
	if spec := os.Getenv(killWriterEnv); spec != "" {
		var dir string
		var w int
		var seed uint64
		if _, err := fmt.Sscan(spec, &dir, &w, &seed); err != nil {
			fmt.Fprintln(os.Stderr, "bad", killWriterEnv, err)
			os.Exit(2)
		}
		say := func(what, p, c string) {
			sum := sha256.Sum256([]byte(c))
			os.Stdout.WriteString(fmt.Sprintf("%s %s %x %d\n", what, p, sum, len(c)))
		}
		killWriter(dir, w, rand.New(rand.NewPCG(seed, uint64(w))), say)
		os.Exit(0)
	}
}

// killWriter writes versions of its files until an operation fails (the
// agent is gone), saying "start" before it writes a version and "ack" once
// the close, fsync or rename that makes it durable has returned: plain
// rewrites, fsync'd rewrites, and editor-style saves (temp file, rename
// over). Sizes run from a few bytes to several chunks; big contents are
// written in pieces.
func killWriter(dir string, w int, rng *rand.Rand, say func(what, p, c string)) {
	for i := 0; ; i++ {
		p := filepath.Join(dir, fmt.Sprintf("w%d-f%d", w, rng.IntN(4)))
		size := rng.IntN(5000)
		if rng.IntN(10) == 0 {
			size = vaultstore.ChunkSize + rng.IntN(2*vaultstore.ChunkSize)
		}
		head := fmt.Sprintf("writer %d version %d|", w, i)
		c := head + strings.Repeat(string(rune('a'+i%26)), size)
		say("start", p, c)
		switch mode := (w + i) % 3; mode {
		case 0, 1: // rewrite in place; mode 1 fsyncs before closing
			f, err := os.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
			if err != nil {
				return
			}
			for off := 0; off < len(c); off += 64 << 10 {
				if _, err := f.WriteString(c[off:min(off+64<<10, len(c))]); err != nil {
					f.Close()
					return
				}
			}
			if mode == 1 {
				if f.Sync() != nil {
					f.Close()
					return
				}
				say("ack", p, c)
				say("start", p, c)
			}
			if f.Close() != nil {
				return
			}
		case 2: // editor-style save
			tmp := filepath.Join(dir, fmt.Sprintf(".w%d.tmp", w))
			if os.WriteFile(tmp, []byte(c), 0o600) != nil || os.Rename(tmp, p) != nil {
				return
			}
		}
		say("ack", p, c)
	}
}

// version is a content by its hash and length.
type version struct {
	sum  string
	size int
}

// fileLedger records, for each file, the last version whose close (or
// fsync, or rename) returned, and the version being written when the agent
// was killed.
type fileLedger struct {
	acked    map[string]version
	inflight map[string]version
	acks     int // acknowledged versions, all rounds
	landed   int // versions in flight at a kill that were committed
}

// read applies a writer's lines to the ledger.
func (l *fileLedger) read(t *testing.T, out string) {
	t.Helper()
	for _, line := range strings.SplitAfter(out, "\n") {
		if !strings.HasSuffix(line, "\n") {
			continue
		}
		var what, p string
		var v version
		if _, err := fmt.Sscan(line, &what, &p, &v.sum, &v.size); err != nil {
			t.Fatalf("a writer said %q: %v", line, err)
		}
		switch what {
		case "start":
			l.inflight[p] = v
		case "ack":
			l.acked[p] = v
			l.acks++
			delete(l.inflight, p)
		}
	}
}

// startKillWriter starts writer w as a child process.
func startKillWriter(t *testing.T, dir string, w int, seed uint64) (*exec.Cmd, *lockedBuffer) {
	t.Helper()
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), fmt.Sprintf("%s=%s %d %d", killWriterEnv, dir, w, seed))
	out := &lockedBuffer{}
	cmd.Stdout, cmd.Stderr = out, os.Stderr
	noErr(t, cmd.Start())
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	return cmd, out
}

// lockedBuffer is a writer's output, read while it is written.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// waitAcks waits until every writer has acknowledged a first version (a
// loaded machine can take seconds to start them), at most limit.
func waitAcks(outs []*lockedBuffer, limit time.Duration) {
	deadline := time.Now().Add(limit)
	for time.Now().Before(deadline) {
		all := true
		for _, o := range outs {
			if !strings.Contains(o.String(), "\n") {
				all = false
			}
		}
		if all {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// The agent is killed with SIGKILL while files are written through the
// mount, at random moments, a few times: the stale mount is detected (by
// the next pkfs mount, or pkfs umount) and cleared, and after remounting
// every file whose close, fsync or rename returned holds that version or
// the one being written then, never anything torn; verify passes.
func TestMountKillAgent(t *testing.T) {
	t.Parallel()
	n := newMountNode(t)
	mnt := n.mkdir()
	st := n.mount(mnt)
	dir := filepath.Join(mnt, "v", "d")
	noErr(t, os.MkdirAll(dir, 0o700))
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 1000))
	l := &fileLedger{acked: map[string]version{}, inflight: map[string]version{}}
	const rounds = 4
	deadline := time.Now().Add(90 * time.Second)
	for round := 0; round < rounds && time.Now().Before(deadline); round++ {
		type writer struct {
			cmd *exec.Cmd
			out *lockedBuffer
		}
		var ws []writer
		var outs []*lockedBuffer
		for w := 0; w < 3; w++ {
			cmd, out := startKillWriter(t, dir, w, seed+uint64(round)*1000)
			ws = append(ws, writer{cmd, out})
			outs = append(outs, out)
		}
		waitAcks(outs, 20*time.Second)
		time.Sleep(time.Duration(200+rng.IntN(700)) * time.Millisecond)
		noErr(t, syscall.Kill(st.PID, syscall.SIGKILL))
		if !waitGone(st.PID, 10*time.Second) {
			t.Fatalf("round %d: the agent survived SIGKILL", round)
		}
		for _, w := range ws {
			done := make(chan error, 1)
			go func() { done <- w.cmd.Wait() }()
			select {
			case err := <-done:
				if err != nil {
					t.Fatalf("round %d: a writer failed: %v", round, err)
				}
			case <-time.After(30 * time.Second):
				t.Fatalf("round %d: a writer did not stop within 30s of the kill", round)
			}
			l.read(t, w.out.String())
		}

		// a stale mount: the directory answers ENOTCONN; no agent
		if _, err := os.Stat(mnt); !errors.Is(err, syscall.ENOTCONN) {
			t.Fatalf("round %d: stat of the dead mount: %v, want ENOTCONN", round, err)
		}
		n.noAgent()
		if round%2 == 1 {
			if out := n.mustPkfs("umount", mnt); !strings.Contains(out, "stale") {
				t.Errorf("pkfs umount of a stale mount said %q", out)
			}
			if isMounted(mnt) {
				t.Fatalf("round %d: pkfs umount left the stale mount", round)
			}
		}
		st = n.mount(mnt)
		if c := countMounts(mnt); c != 1 {
			t.Fatalf("round %d: %d mounts at %s", round, c, mnt)
		}
		checked := checkLedger(t, round, l)
		n.verify("v")
		t.Logf("round %d: %d files checked", round, checked)
	}
	// the kills came while writes went on
	if l.acks < 10 || len(l.acked) == 0 {
		t.Errorf("only %d versions acknowledged in all rounds: the writers did not run", l.acks)
	}
	t.Logf("%d versions acknowledged; %d versions in flight at a kill were committed", l.acks, l.landed)
}

// checkLedger checks every file against the ledger and returns how many
// had an acknowledged version.
func checkLedger(t *testing.T, round int, l *fileLedger) int {
	t.Helper()
	paths := map[string]bool{}
	for p := range l.acked {
		paths[p] = true
	}
	for p := range l.inflight {
		paths[p] = true
	}
	checked := 0
	for p := range paths {
		acked, wasAcked := l.acked[p]
		inflight, inFlight := l.inflight[p]
		b, err := os.ReadFile(p)
		sum := sha256.Sum256(b)
		got := version{hex.EncodeToString(sum[:]), len(b)}
		switch {
		case err != nil && os.IsNotExist(err) && !wasAcked:
			// never acknowledged: absent is fine
		case err != nil:
			t.Errorf("round %d: %s: %v", round, filepath.Base(p), err)
		case wasAcked && got == acked, inFlight && got == inflight:
			checked++
		default:
			t.Errorf("round %d: %s holds %d bytes (%.30q), want the acknowledged version (%d bytes) or the one in flight (%d bytes)",
				round, filepath.Base(p), len(b), b, acked.size, inflight.size)
		}
		if inFlight && got == inflight && got != acked {
			l.acked[p] = inflight // it is the version now
			l.landed++
		}
	}
	clear(l.inflight)
	return checked
}

// countMounts counts the mounts at dir (stacked mounts count each).
func countMounts(dir string) int {
	c := 0
	for _, m := range mountPoints() {
		if m == dir {
			c++
		}
	}
	return c
}

// Sentinel secrets written through the mount (file contents, a large
// chunked file, a file name, a vault name, an editor-style save) and
// through the CLI are found nowhere in plaintext once the agent is stopped:
// not under the node path, not in /tmp, not in /dev/shm (raw, hex or
// base64).
//
// What is searched: every regular file under the node path; every regular
// file under /tmp and /dev/shm changed (ctime) since the test began, as
// no older file can hold a sentinel made now. What is not: other mounts
// under them (other tests' FUSE mounts and loop devices: what a mount
// shows is not what is on disk here), and non-regular files.
func TestMountSentinels(t *testing.T) {
	t.Parallel()
	began := time.Now().Add(-time.Second)
	n := newMountNode(t)
	mnt := n.mkdir()
	st := n.mount(mnt)
	token := func() string { return "PKSENTINEL" + hex.EncodeToString(cryptocore.RandomBytes(12)) }
	content, cli, name, vault, saved, big := token(), token(), token(), token(), token(), token()
	v := filepath.Join(mnt, "v")
	noErr(t, os.Mkdir(v, 0o700))
	noErr(t, os.WriteFile(filepath.Join(v, "secret"), []byte("password="+content+"\n"), 0o600))
	// paths that hold a sentinel are made by a child process: go test
	// records the paths its test process opens (testlog.txt in its work
	// directory under /tmp), which would be a leak of the test, not of pkfs
	n.mustRun("sh", "-c", `mkdir "$1" && echo in a secret vault >"$1/f" && echo x >"$2"`,
		"sh", filepath.Join(mnt, vault), filepath.Join(v, name))
	noErr(t, os.WriteFile(filepath.Join(v, "big"), bytes.Repeat([]byte(big+"\n"), 3*vaultstore.ChunkSize/len(big)), 0o600))
	tmp := filepath.Join(v, ".conf.tmp")
	noErr(t, os.WriteFile(tmp, []byte("key: "+saved+"\n"), 0o600))
	noErr(t, os.Rename(tmp, filepath.Join(v, "conf")))
	if r := n.pkfsIn(cli+"\n", "secrets", "write", "v:from-cli"); r.code != 0 {
		t.Fatalf("secrets write: exit %d", r.code)
	}
	// read them back (through the mount and the CLI) so that reads leave
	// their traces too, if they leave any
	if !strings.Contains(fileContent(t, filepath.Join(v, "secret")), content) ||
		!strings.Contains(n.mustPkfs("secrets", "cat", "v:from-cli"), cli) {
		t.Fatal("the sentinels do not read back")
	}
	if !strings.Contains(n.mustRun("ls", "-lR", mnt), name) || !strings.Contains(n.vaultNames(), vault) {
		t.Fatal("the sentinel file or vault is missing")
	}
	n.umount(mnt, st.PID)

	var needles [][]byte
	for _, s := range []string{content, cli, name, vault, saved, big} {
		needles = append(needles, []byte(s), []byte(hex.EncodeToString([]byte(s))),
			[]byte(base64.StdEncoding.EncodeToString([]byte(s))))
	}
	skip := map[string]bool{}
	for _, m := range mountPoints() {
		skip[m] = true
	}
	nodeFiles := scanForSentinels(t, n.nodePath, time.Time{}, skip, needles)
	if nodeFiles < 4 {
		t.Fatalf("only %d files under the node path: wrong directory?", nodeFiles)
	}
	tmpFiles := scanForSentinels(t, os.TempDir(), began, skip, needles)
	shmFiles := 0
	if fi, err := os.Stat("/dev/shm"); err == nil && fi.IsDir() {
		shmFiles = scanForSentinels(t, "/dev/shm", began, skip, needles)
	}
	t.Logf("searched %d files under the node path, %d changed files in %s, %d in /dev/shm",
		nodeFiles, tmpFiles, os.TempDir(), shmFiles)
}

// scanForSentinels searches the regular files under root changed since
// (all when since is zero), not entering the mount points in skip, and
// fails the test on a file holding a needle. It returns how many files it
// read.
func scanForSentinels(t *testing.T, root string, since time.Time, skip map[string]bool, needles [][]byte) int {
	t.Helper()
	files := 0
	longest := 0
	for _, nd := range needles {
		longest = max(longest, len(nd))
	}
	buf := make([]byte, 1<<20)
	filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return nil // gone, or not ours to read: other tests come and go
		}
		if d.IsDir() {
			if p != root && skip[p] {
				return fs.SkipDir
			}
			return nil
		}
		if !d.Type().IsRegular() {
			return nil
		}
		if !since.IsZero() {
			var st syscall.Stat_t
			if syscall.Lstat(p, &st) != nil || time.Unix(st.Ctim.Unix()).Before(since) {
				return nil
			}
		}
		f, err := os.Open(p)
		if err != nil {
			return nil
		}
		defer f.Close()
		files++
		// read in blocks, keeping the tail of the last one so that a needle
		// across two blocks is found
		carry := 0
		for {
			k, err := io.ReadFull(f, buf[carry:])
			chunk := buf[:carry+k]
			for _, nd := range needles {
				if bytes.Contains(chunk, nd) {
					t.Errorf("%s holds a sentinel in plaintext (%d bytes)", p, len(nd))
					return nil
				}
			}
			if err != nil {
				return nil
			}
			carry = min(longest, len(chunk))
			copy(buf, chunk[len(chunk)-carry:])
		}
	})
	return files
}
