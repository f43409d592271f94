package integration

import (
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
	"syscall"
	"testing"
	"time"
)

// The harness of the peer tests: each peerNode is a node path of its own
// with agents started by the built pkfs (`pkfs mount DIR --background` or
// `pkfs agent start --background`) on 127.0.0.1, the UDP port picked by the
// system (--agent-port 0) and read from the status JSON. Everything it
// starts is undone in t.Cleanup, also when the test fails: the agent is
// stopped (killed by pid if it does not stop), its mount removed (lazily
// if need be), its directory deleted.

// peerCmdTimeout bounds every pkfs command of the peer tests.
const peerCmdTimeout = time.Minute

// peerNode is a node of a peer test.
type peerNode struct {
	t        *testing.T
	name     string // A, B, ... in messages
	bin      string
	dir      string
	nodePath string
	mnt      string // mount point ("" for agents without a mount)
	env      []string
	id       string // node ID

	pid  int // of the running agent, 0 when none
	port int // UDP port of the running (or last) agent
}

// peerStatus is the status JSON of `pkfs mount|agent start --background`
// and `pkfs agent status`.
type peerStatus struct {
	Status            string `json:"status"`
	PID               int    `json:"pid"`
	NodeID            string `json:"nodeId"`
	NodePath          string `json:"nodePath"`
	MountPoint        string `json:"mountPoint"`
	Socket            string `json:"socket"`
	AgentHost         string `json:"agentHost"`
	AgentPort         int    `json:"agentPort"`
	ConnectionsActive int    `json:"connectionsActive"`
	Vaults            int    `json:"vaults"`
}

// newPeerNode inits a node path (cheapest password costs) in a fresh
// directory with a short name, so that socket paths stay short. With
// mount, the node gets a mount point (mounted by start).
func newPeerNode(t *testing.T, name string, mount bool) *peerNode {
	t.Helper()
	return newPeerNodeOf(t, name, mount, filepath.Join(pkfsBinDir(t), "pkfs"))
}

// newPeerNodeOf is newPeerNode for a node run by another pkfs binary.
func newPeerNodeOf(t *testing.T, name string, mount bool, bin string) *peerNode {
	t.Helper()
	if mount {
		requireFUSEForPeers(t)
	}
	dir, err := os.MkdirTemp("", "pkp-")
	if err != nil {
		t.Fatal(err)
	}
	n := &peerNode{t: t, name: name, bin: bin, dir: dir,
		nodePath: filepath.Join(dir, "node")}
	t.Cleanup(n.cleanup)
	home, run := filepath.Join(dir, "home"), filepath.Join(dir, "run")
	for _, d := range []string{home, run} {
		if err := os.Mkdir(d, 0o700); err != nil {
			t.Fatal(err)
		}
	}
	if mount {
		n.mnt = filepath.Join(dir, "mnt")
		if err := os.Mkdir(n.mnt, 0o700); err != nil {
			t.Fatal(err)
		}
	}
	for _, e := range os.Environ() {
		k, _, _ := strings.Cut(e, "=")
		if strings.HasPrefix(k, "PK_") || strings.HasPrefix(k, "PKFS_") || k == "HOME" || k == "XDG_RUNTIME_DIR" || k == "GORACE" {
			continue
		}
		n.env = append(n.env, e)
	}
	n.env = append(n.env, "HOME="+home, "XDG_RUNTIME_DIR="+run, "PK_NODE_PATH="+n.nodePath, "PK_PASSWORD=pw",
		"PK_PASSWORD_OPS_LIMIT=min", "PK_PASSWORD_MEM_LIMIT=min", "GORACE=halt_on_error=1 atexit_sleep_ms=0", "LC_ALL=C")
	var st struct {
		NodeID string `json:"nodeId"`
	}
	n.jsonOK(&st, "init")
	if st.NodeID == "" {
		t.Fatalf("%s: init printed no node ID", name)
	}
	n.id = st.NodeID
	return n
}

func requireFUSEForPeers(t *testing.T) {
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

// peerResult is what a pkfs command did.
type peerResult struct {
	stdout, stderr string
	code           int
}

func (r peerResult) String() string {
	return fmt.Sprintf("exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
}

// runEnv runs pkfs with args (and extra environment) and returns what it did.
func (n *peerNode) runEnv(extra []string, args ...string) peerResult {
	n.t.Helper()
	return n.runIn(extra, "", args...)
}

// runIn runs pkfs with extra environment and stdin.
func (n *peerNode) runIn(extra []string, stdin string, args ...string) peerResult {
	n.t.Helper()
	return n.runPrefixed(nil, extra, stdin, args...)
}

// runPrefixed runs pkfs under prefix (as `ip netns exec NS`), with extra
// environment and stdin.
func (n *peerNode) runPrefixed(prefix, extra []string, stdin string, args ...string) peerResult {
	n.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), peerCmdTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, n.bin, args...)
	if len(prefix) > 0 {
		cmd = exec.CommandContext(ctx, prefix[0], append(append(prefix[1:len(prefix):len(prefix)], n.bin), args...)...)
	}
	cmd.Env = append(append([]string{}, n.env...), extra...)
	cmd.Dir = n.dir
	cmd.Stdin = strings.NewReader(stdin)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	err := cmd.Run()
	r := peerResult{stdout: out.String(), stderr: errb.String()}
	var ee *exec.ExitError
	switch {
	case ctx.Err() != nil:
		n.t.Fatalf("%s: pkfs %s did not finish within %v: %v", n.name, strings.Join(args, " "), peerCmdTimeout, r)
	case errors.As(err, &ee):
		r.code = ee.ExitCode()
	case err != nil:
		n.t.Fatalf("%s: pkfs %s: %v", n.name, strings.Join(args, " "), err)
	}
	return r
}

func (n *peerNode) run(args ...string) peerResult {
	n.t.Helper()
	return n.runEnv(nil, args...)
}

// ok runs pkfs, which must exit 0, and returns its stdout.
func (n *peerNode) ok(args ...string) string {
	n.t.Helper()
	r := n.run(args...)
	if r.code != 0 {
		n.t.Fatalf("%s: pkfs %s: %v", n.name, strings.Join(args, " "), r)
	}
	return r.stdout
}

// fails runs pkfs, which must exit with code want, and returns it.
func (n *peerNode) fails(want int, args ...string) peerResult {
	n.t.Helper()
	r := n.run(args...)
	if r.code != want {
		n.t.Fatalf("%s: pkfs %s: %v, want exit %d", n.name, strings.Join(args, " "), r, want)
	}
	return r
}

// jsonOK runs pkfs with --format json, which must exit 0, and decodes
// its output into v.
func (n *peerNode) jsonOK(v any, args ...string) {
	n.t.Helper()
	out := n.ok(append(args, "--format", "json")...)
	if err := json.Unmarshal([]byte(out), v); err != nil {
		n.t.Fatalf("%s: pkfs %s: output is not JSON: %v: %q", n.name, strings.Join(args, " "), err, out)
	}
}

// start starts the node's agent in the background on 127.0.0.1 (with its
// mount when it has a mount point) and returns its status. port 0 picks a
// free port; extra is added to the environment (PK_SEED_NODES), args to
// the command line.
func (n *peerNode) start(port int, extra []string, args ...string) peerStatus {
	n.t.Helper()
	return n.startUnder(nil, "127.0.0.1", port, extra, args...)
}

// startUnder is start with the agent run under prefix (`ip netns exec
// NS`) and listening on host.
func (n *peerNode) startUnder(prefix []string, host string, port int, extra []string, args ...string) peerStatus {
	n.t.Helper()
	if n.pid != 0 {
		n.t.Fatalf("%s: agent already running", n.name)
	}
	cmd := []string{"agent", "start"}
	if n.mnt != "" {
		cmd = []string{"mount", n.mnt}
	}
	cmd = append(cmd, "--background", "--agent-host", host, "--agent-port", strconv.Itoa(port), "--format", "json")
	r := n.runPrefixed(prefix, extra, "", append(cmd, args...)...)
	if r.code != 0 {
		n.t.Fatalf("%s: start: %v\nagent log:\n%s", n.name, r, n.agentLog())
	}
	var st peerStatus
	if err := json.Unmarshal([]byte(r.stdout), &st); err != nil || st.PID <= 0 || st.AgentPort <= 0 {
		n.t.Fatalf("%s: start printed %q (%v)", n.name, r.stdout, err)
	}
	n.pid, n.port = st.PID, st.AgentPort
	return st
}

// stop stops the agent (unmounting its mount) and waits until it is gone.
func (n *peerNode) stop() {
	n.t.Helper()
	if n.pid == 0 {
		return
	}
	var r peerResult
	if n.mnt != "" {
		r = n.run("umount", n.mnt)
	} else {
		r = n.run("agent", "stop")
	}
	if r.code != 0 {
		n.t.Fatalf("%s: stop: %v", n.name, r)
	}
	if !peerWaitGone(n.pid, 10*time.Second) {
		n.t.Fatalf("%s: agent pid %d still runs after stop", n.name, n.pid)
	}
	n.pid = 0
}

// cleanup stops whatever runs, by every means, and removes the directory.
func (n *peerNode) cleanup() {
	if n.t.Failed() && n.pid != 0 {
		n.t.Logf("%s (%s) agent log:\n%s", n.name, n.id, n.agentLog())
	}
	if n.pid != 0 {
		ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
		cmd := exec.CommandContext(ctx, n.bin, "agent", "stop")
		cmd.Env = n.env
		_ = cmd.Run()
		cancel()
		if !peerWaitGone(n.pid, 5*time.Second) {
			_ = syscall.Kill(n.pid, syscall.SIGKILL)
			peerWaitGone(n.pid, 5*time.Second)
		}
		n.pid = 0
	}
	if n.mnt != "" && peerIsMountPoint(n.mnt) {
		_ = syscall.Unmount(n.mnt, syscall.MNT_DETACH)
	}
	if err := os.RemoveAll(n.dir); err != nil {
		n.t.Errorf("%s: removing %s: %v", n.name, n.dir, err)
	}
}

// agentLog returns the background agent's log (for failure messages).
func (n *peerNode) agentLog() string {
	logs, _ := filepath.Glob(filepath.Join(n.dir, "run", "pkfs", "*.log"))
	var b strings.Builder
	for _, l := range logs {
		data, _ := os.ReadFile(l)
		if len(data) > 16<<10 {
			data = data[len(data)-16<<10:]
		}
		b.Write(data)
	}
	return b.String()
}

// waitGone waits until process pid has exited (or is a zombie).
func peerWaitGone(pid int, limit time.Duration) bool {
	deadline := time.Now().Add(limit)
	for {
		if errors.Is(syscall.Kill(pid, 0), syscall.ESRCH) {
			return true
		}
		stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err != nil {
			return true
		}
		if i := strings.LastIndexByte(string(stat), ')'); i > 0 && i+2 < len(stat) && stat[i+2] == 'Z' {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// isMountPoint reports whether dir is a mount point in this namespace.
func peerIsMountPoint(dir string) bool {
	data, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return false
	}
	for _, line := range strings.Split(string(data), "\n") {
		f := strings.Fields(line)
		if len(f) > 4 && f[4] == dir {
			return true
		}
	}
	return false
}

// add tells n where other listens.
func (n *peerNode) add(other *peerNode) {
	n.t.Helper()
	n.ok("nodes", "add", other.id, "127.0.0.1", strconv.Itoa(other.port))
}

// seed is other's address as a seed node.
func (other *peerNode) seed() string { return fmt.Sprintf("%s@127.0.0.1:%d", other.id, other.port) }

// eventually polls fn every 10 ms until it is true, for at most limit.
func peerEventually(t *testing.T, limit time.Duration, what string, fn func() bool) time.Duration {
	t.Helper()
	start := time.Now()
	for !fn() {
		if time.Since(start) > limit {
			t.Fatalf("%s: not within %v", what, limit)
		}
		time.Sleep(10 * time.Millisecond)
	}
	return time.Since(start)
}

// readMount returns the content of a file through a mount ("" if unreadable).
func peerReadMount(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	return string(b)
}

// writeMount writes a file through a mount (one commit on close).
func peerWriteMount(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}

// head returns the newest commit ID of a vault on n.
func (n *peerNode) head(vault string) string {
	n.t.Helper()
	var log []struct {
		CommitID string `json:"commitId"`
	}
	n.jsonOK(&log, "vaults", "log", vault, "--number", "1")
	if len(log) == 0 {
		n.t.Fatalf("%s: vault %s has no commits", n.name, vault)
	}
	return log[0].CommitID
}

// write writes content to VAULT:PATH with `secrets write`.
func (n *peerNode) write(target, content string) {
	n.t.Helper()
	if r := n.runIn(nil, content, "secrets", "write", target); r.code != 0 {
		n.t.Fatalf("%s: secrets write %s: %v", n.name, target, r)
	}
}

// cat returns the content of VAULT:PATH.
func (n *peerNode) cat(target string) string {
	n.t.Helper()
	return n.ok("secrets", "cat", target)
}
