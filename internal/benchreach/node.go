package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/pkfs/pkfs/internal/netlab"
)

// node is a pkfs node path with its own runtime directory, its agent run
// in a network namespace, driven through the built binary as a user
// would (the control socket is a file: the CLI runs outside).
type node struct {
	name string
	bin  string
	dir  string
	env  []string
	id   string
	pid  int // running agent, 0 when none
}

func newNode(bin, work, name string) (*node, error) {
	dir := filepath.Join(work, name)
	n := &node{name: name, bin: bin, dir: dir}
	if err := os.MkdirAll(filepath.Join(dir, "run"), 0o700); err != nil {
		return nil, err
	}
	for _, kv := range os.Environ() {
		if k, _, _ := strings.Cut(kv, "="); strings.HasPrefix(k, "PK_") || k == "XDG_RUNTIME_DIR" || strings.HasPrefix(k, "PKFS_") {
			continue
		}
		n.env = append(n.env, kv)
	}
	n.env = append(n.env, "PK_NODE_PATH="+filepath.Join(dir, "node"), "PK_PASSWORD=bench",
		"XDG_RUNTIME_DIR="+filepath.Join(dir, "run"), "PK_PASSWORD_OPS_LIMIT=min", "PK_PASSWORD_MEM_LIMIT=min")
	var st struct {
		NodeID string `json:"nodeId"`
	}
	if err := n.json(&st, "init"); err != nil {
		return nil, err
	}
	n.id = st.NodeID
	return n, nil
}

// pkfs runs the binary (with stdin) and returns its stdout.
func (n *node) pkfsIn(stdin []byte, args ...string) ([]byte, error) {
	cmd := exec.Command(n.bin, args...)
	cmd.Env = n.env
	cmd.Stdin = bytes.NewReader(stdin)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("%s: pkfs %s: %v: %s", n.name, strings.Join(args, " "), err, strings.TrimSpace(errb.String()))
	}
	return out.Bytes(), nil
}

func (n *node) pkfs(args ...string) ([]byte, error) { return n.pkfsIn(nil, args...) }

func (n *node) json(v any, args ...string) error {
	out, err := n.pkfs(append(args, "--format", "json")...)
	if err != nil {
		return err
	}
	return json.Unmarshal(out, v)
}

// start runs the agent inside ns on port, with extra environment and
// arguments.
func (n *node) start(ns *netlab.NS, port int, extra []string, args ...string) error {
	cmd := ns.Command(n.bin, append([]string{"agent", "start", "--background", "--agent-host", "0.0.0.0",
		"--agent-port", strconv.Itoa(port), "--format", "json"}, args...)...)
	cmd.Env = append(append([]string{}, n.env...), extra...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("%s: agent start: %v: %s", n.name, err, strings.TrimSpace(errb.String()))
	}
	var st struct {
		PID int `json:"pid"`
	}
	if err := json.Unmarshal(out.Bytes(), &st); err != nil || st.PID <= 0 {
		return fmt.Errorf("%s: agent start printed %q", n.name, out.String())
	}
	n.pid = st.PID
	return nil
}

// stop stops the agent and waits until it is gone.
func (n *node) stop() {
	if n.pid == 0 {
		return
	}
	n.pkfs("agent", "stop")
	for i := 0; i < 200 && syscall.Kill(n.pid, 0) == nil && !zombie(n.pid); i++ {
		time.Sleep(25 * time.Millisecond)
	}
	syscall.Kill(n.pid, syscall.SIGKILL)
	n.pid = 0
}

func zombie(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return true
	}
	i := bytes.LastIndexByte(b, ')')
	return i > 0 && i+2 < len(b) && b[i+2] == 'Z'
}

// connVia returns how n is connected to other ("" if it is not).
func (n *node) connVia(other *node) string {
	var cs []struct {
		NodeID string `json:"nodeId"`
		Via    string `json:"via"`
	}
	if err := n.json(&cs, "nodes", "connections"); err != nil {
		return ""
	}
	for _, c := range cs {
		if c.NodeID == other.id {
			return c.Via
		}
	}
	return ""
}

// observed reports whether a peer told n where it sees it.
func (n *node) observed() bool {
	var st struct {
		Observed []json.RawMessage `json:"observedAddresses"`
	}
	return n.json(&st, "agent", "status") == nil && len(st.Observed) > 0
}

// waitFor polls fn every 20 ms for at most limit.
func waitFor(limit time.Duration, what string, fn func() bool) error {
	deadline := time.Now().Add(limit)
	for !fn() {
		if time.Now().After(deadline) {
			return fmt.Errorf("%s: not within %v", what, limit)
		}
		time.Sleep(20 * time.Millisecond)
	}
	return nil
}

// agentLog returns the end of the agent's log (for failure messages).
func (n *node) agentLog() string {
	logs, _ := filepath.Glob(filepath.Join(n.dir, "run", "pkfs", "*.log"))
	var b []byte
	for _, l := range logs {
		data, _ := os.ReadFile(l)
		b = append(b, data...)
	}
	if len(b) > 4096 {
		b = b[len(b)-4096:]
	}
	return string(b)
}
