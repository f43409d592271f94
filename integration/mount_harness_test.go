package integration

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// The harness of the mount tests: a node path initialised by the built
// pkfs, agents started with `pkfs mount --background`, programs run on the
// mount. Everything a test starts is undone in t.Cleanup, also when the
// test fails: mounts unmounted (lazily if need be), agents killed by pid,
// temporary directories removed.

// cmdTimeout bounds every command a mount test runs, so that a hung mount
// fails the test instead of the whole suite.
const cmdTimeout = 2 * time.Minute

// mountNode is one node path and what its tests started.
type mountNode struct {
	t        *testing.T
	bin      string // the built pkfs
	dir      string // holds home, node path, runtime dir and mount points
	home     string
	nodePath string
	runtime  string // XDG_RUNTIME_DIR of the agents
	env      []string

	mu     sync.Mutex
	agents []int    // pids of agents started
	mounts []string // mount points used
	seq    int
}

// requireFUSE skips a test where FUSE mounts cannot work.
func requireFUSE(t *testing.T) {
	t.Helper()
	if _, err := os.Stat("/dev/fuse"); err != nil {
		t.Skip("no /dev/fuse: FUSE mounts are not possible here")
	}
	if os.Geteuid() != 0 {
		if _, err := exec.LookPath("fusermount3"); err != nil {
			t.Skip("not root and no fusermount3 (Debian package fuse3)")
		}
	}
}

// newMountNode creates a node path with `pkfs init` (cheapest password
// costs) in a fresh directory. The directory has a short name under
// os.TempDir(), so that control socket paths stay within their limit.
func newMountNode(t *testing.T) *mountNode {
	t.Helper()
	requireFUSE(t)
	bin := filepath.Join(pkfsBinDir(t), "pkfs")
	dir, err := os.MkdirTemp("", "pkm-")
	if err != nil {
		t.Fatal(err)
	}
	n := &mountNode{t: t, bin: bin, dir: dir, home: filepath.Join(dir, "home"),
		nodePath: filepath.Join(dir, "node"), runtime: filepath.Join(dir, "run")}
	t.Cleanup(n.cleanup)
	for _, d := range []string{n.home, n.runtime} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			t.Fatal(err)
		}
	}
	n.env = append(envWithoutPK(), "HOME="+n.home, "PK_NODE_PATH="+n.nodePath, "PK_PASSWORD=pw",
		"XDG_RUNTIME_DIR="+n.runtime, "PK_PASSWORD_OPS_LIMIT=min", "PK_PASSWORD_MEM_LIMIT=min",
		"GORACE=halt_on_error=1 atexit_sleep_ms=0", "LC_ALL=C",
		// agents listen for peers on a free loopback port: tests run in parallel
		"PK_AGENT_HOST=127.0.0.1", "PK_AGENT_PORT=0")
	n.mustPkfs("init")
	return n
}

// cleanEnv is this process's environment without what the harness sets.
func envWithoutPK() []string {
	var out []string
	for _, e := range os.Environ() {
		k, _, _ := strings.Cut(e, "=")
		if strings.HasPrefix(k, "PK_") || strings.HasPrefix(k, "PKFS_") || k == "HOME" ||
			k == "XDG_RUNTIME_DIR" || k == "GORACE" || k == "LC_ALL" || k == "EDITOR" || k == "VISUAL" {
			continue
		}
		out = append(out, e)
	}
	return out
}

// cmdResult is what a command did.
type cmdResult struct {
	stdout, stderr string
	code           int
}

func (r cmdResult) String() string {
	return fmt.Sprintf("exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
}

// runIn runs a program in dir (the node's environment, no terminal) with
// stdin as its input and returns what it did. A program that does not end
// within cmdTimeout is killed and fails the test.
func (n *mountNode) runIn(dir, stdin string, name string, args ...string) cmdResult {
	n.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), cmdTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir, cmd.Env = dir, n.env
	cmd.Stdin = strings.NewReader(stdin)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	err := cmd.Run()
	r := cmdResult{stdout: stdout.String(), stderr: stderr.String()}
	var ee *exec.ExitError
	switch {
	case ctx.Err() != nil:
		n.t.Fatalf("%s %q did not finish within %v (stderr %q)", name, args, cmdTimeout, r.stderr)
	case errors.As(err, &ee):
		r.code = ee.ExitCode()
	case err != nil:
		n.t.Fatalf("%s: %v", name, err)
	}
	return r
}

// run runs a program in the node's directory.
func (n *mountNode) run(name string, args ...string) cmdResult {
	n.t.Helper()
	return n.runIn(n.dir, "", name, args...)
}

// mustRun runs a program that must succeed and returns its stdout.
func (n *mountNode) mustRun(name string, args ...string) string {
	n.t.Helper()
	r := n.run(name, args...)
	if r.code != 0 {
		n.t.Fatalf("%s %q: %v", name, args, r)
	}
	return r.stdout
}

// pkfs runs the built pkfs.
func (n *mountNode) pkfs(args ...string) cmdResult {
	n.t.Helper()
	return n.run(n.bin, args...)
}

// pkfsIn runs the built pkfs with stdin.
func (n *mountNode) pkfsIn(stdin string, args ...string) cmdResult {
	n.t.Helper()
	return n.runIn(n.dir, stdin, n.bin, args...)
}

// mustPkfs runs pkfs, which must succeed, and returns its stdout.
func (n *mountNode) mustPkfs(args ...string) string {
	n.t.Helper()
	r := n.pkfs(args...)
	if r.code != 0 {
		n.t.Fatalf("pkfs %s: %v", strings.Join(args, " "), r)
	}
	return r.stdout
}

// agentStatus is the JSON that `pkfs mount --background` and `agent status`
// print.
type agentStatus struct {
	Status     string `json:"status"`
	PID        int    `json:"pid"`
	NodeID     string `json:"nodeId"`
	MountPoint string `json:"mountPoint"`
	Socket     string `json:"socket"`
}

// mkdir creates a mount point under the node's directory.
func (n *mountNode) mkdir() string {
	n.t.Helper()
	n.mu.Lock()
	n.seq++
	d := filepath.Join(n.dir, "mnt"+strconv.Itoa(n.seq))
	n.mu.Unlock()
	if err := os.Mkdir(d, 0o700); err != nil {
		n.t.Fatal(err)
	}
	return d
}

// mount mounts the node at dir in the background and returns the agent's
// status (its pid included).
func (n *mountNode) mount(dir string) agentStatus {
	n.t.Helper()
	n.mu.Lock()
	n.mounts = append(n.mounts, dir)
	n.mu.Unlock()
	out := n.mustPkfs("mount", dir, "--background", "--format", "json")
	var st agentStatus
	if err := json.Unmarshal([]byte(out), &st); err != nil || st.PID == 0 {
		n.t.Fatalf("mount printed %q: %v", out, err)
	}
	n.mu.Lock()
	n.agents = append(n.agents, st.PID)
	n.mu.Unlock()
	if st.MountPoint != dir || !isMounted(dir) {
		n.t.Fatalf("mount reported %+v, but %s is mounted: %v", st, dir, isMounted(dir))
	}
	return st
}

// newMount mounts the node at a fresh directory and returns it.
func (n *mountNode) newMount() string {
	n.t.Helper()
	d := n.mkdir()
	n.mount(d)
	return d
}

// umount runs `pkfs umount dir`: when it returns, dir is no longer a mount
// point and the agent has exited.
func (n *mountNode) umount(dir string, pid int) {
	n.t.Helper()
	n.mustPkfs("umount", dir)
	if isMounted(dir) {
		n.t.Fatalf("%s is still mounted after pkfs umount returned", dir)
	}
	if pid != 0 && !waitGone(pid, 10*time.Second) {
		n.t.Fatalf("agent %d still runs 10s after pkfs umount returned", pid)
	}
}

// status returns `agent status --format json`, or a zero status when no
// agent runs.
func (n *mountNode) status() agentStatus {
	n.t.Helper()
	r := n.pkfs("agent", "status", "--format", "json")
	var st agentStatus
	if err := json.Unmarshal([]byte(r.stdout), &st); err != nil {
		n.t.Fatalf("agent status: %v (%v)", err, r)
	}
	return st
}

// commits returns the number of commits of a vault.
func (n *mountNode) commits(vault string) int {
	n.t.Helper()
	var log []json.RawMessage
	out := n.mustPkfs("vaults", "log", vault, "--format", "json")
	if err := json.Unmarshal([]byte(out), &log); err != nil {
		n.t.Fatalf("vaults log: %v", err)
	}
	return len(log)
}

// verify runs `vaults verify`, which must find no damage.
func (n *mountNode) verify(vault string) {
	n.t.Helper()
	out := n.mustPkfs("vaults", "verify", vault, "--format", "json")
	var rep struct {
		OK      bool `json:"ok"`
		Objects int  `json:"objects"`
	}
	if err := json.Unmarshal([]byte(out), &rep); err != nil || !rep.OK || rep.Objects == 0 {
		n.t.Fatalf("vaults verify %s: %s", vault, out)
	}
}

// agentLogs returns the logs of the node's background agents.
func (n *mountNode) agentLogs() string {
	logs, _ := filepath.Glob(filepath.Join(n.runtime, "pkfs", "*.log"))
	var b strings.Builder
	for _, l := range logs {
		c, _ := os.ReadFile(l)
		b.Write(c)
	}
	return b.String()
}

// cleanup undoes what the test started: `pkfs umount` of every mount still
// there, SIGKILL to every agent still alive, a lazy unmount of what is
// left, a check of the agents' logs for data races and panics, and the
// removal of the directory (only when nothing is mounted under it).
func (n *mountNode) cleanup() {
	t := n.t
	n.mu.Lock()
	mounts, agents := append([]string(nil), n.mounts...), append([]int(nil), n.agents...)
	n.mu.Unlock()
	for _, m := range mounts {
		if isMounted(m) {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			cmd := exec.CommandContext(ctx, n.bin, "umount", m)
			cmd.Env = n.env
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Logf("cleanup: pkfs umount %s: %v: %s", m, err, out)
			}
			cancel()
		}
	}
	for _, pid := range agents {
		if ourAgent(pid, n.nodePath) {
			syscall.Kill(pid, syscall.SIGKILL)
			waitGone(pid, 5*time.Second)
		}
	}
	for _, m := range mountsUnder(n.dir) {
		if err := syscall.Unmount(m, syscall.MNT_DETACH); err != nil {
			t.Errorf("cleanup: umount -l %s: %v", m, err)
		}
	}
	if logs := n.agentLogs(); strings.Contains(logs, "DATA RACE") || strings.Contains(logs, "panic:") {
		t.Errorf("an agent reported a data race or a panic:\n%s", logs)
	}
	if left := mountsUnder(n.dir); len(left) > 0 {
		t.Errorf("cleanup: %v still mounted; %s is left in place", left, n.dir)
		return
	}
	if err := os.RemoveAll(n.dir); err != nil {
		t.Errorf("cleanup: %v", err)
	}
}

// ourAgent reports whether pid is a live pkfs process of nodePath (not a
// recycled pid).
func ourAgent(pid int, nodePath string) bool {
	cmdline, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	return err == nil && bytes.Contains(cmdline, []byte(nodePath)) && !isZombie(pid)
}

// zombie reports whether pid has exited and waits for its parent.
func isZombie(pid int) bool {
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	i := bytes.LastIndexByte(stat, ')')
	return i > 0 && i+2 < len(stat) && stat[i+2] == 'Z'
}

// waitGone waits until process pid has exited (or is a zombie).
func waitGone(pid int, timeout time.Duration) bool {
	deadline := time.Now().Add(timeout)
	for {
		if err := syscall.Kill(pid, 0); errors.Is(err, syscall.ESRCH) || isZombie(pid) {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// mountPoints returns the mount points of this process's mount namespace.
func mountPoints() []string {
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return nil
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) > 4 {
			out = append(out, unescapeMountPath(fields[4]))
		}
	}
	return out
}

func unescapeMountPath(s string) string {
	return strings.NewReplacer(`\040`, " ", `\011`, "\t", `\012`, "\n", `\134`, `\`).Replace(s)
}

// isMounted reports whether dir is a mount point.
func isMounted(dir string) bool {
	for _, m := range mountPoints() {
		if m == dir {
			return true
		}
	}
	return false
}

// mountsUnder returns the mount points at or under dir, deepest first.
func mountsUnder(dir string) []string {
	var out []string
	for _, m := range mountPoints() {
		if m == dir || strings.HasPrefix(m, dir+"/") {
			out = append([]string{m}, out...)
		}
	}
	return out
}

// need skips the test when a program is not installed (.ci/run installs
// all of them).
func needPrograms(t *testing.T, programs ...string) {
	t.Helper()
	for _, p := range programs {
		if _, err := exec.LookPath(p); err != nil {
			t.Skipf("%s is not installed (.ci/run installs it with apt)", p)
		}
	}
}

// writeTree creates files (path → content) under root.
func writeFiles(t *testing.T, root string, files map[string]string) {
	t.Helper()
	for p, c := range files {
		full := filepath.Join(root, p)
		if err := os.MkdirAll(filepath.Dir(full), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(c), 0o600); err != nil {
			t.Fatal(err)
		}
	}
}

// readFile reads a file that must exist.
func fileContent(t *testing.T, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
