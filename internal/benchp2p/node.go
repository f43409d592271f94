package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// node is a pkfs node path with its own runtime directory, driven through
// the built binary as a user would.
type node struct {
	name string
	bin  string
	dir  string
	path string // node path
	mnt  string
	env  []string
	id   string
	pid  int // running agent, 0 when none
	port int // its UDP port
}

func newNode(bin, work, name string) (*node, error) {
	dir := filepath.Join(work, name)
	n := &node{name: name, bin: bin, dir: dir, path: filepath.Join(dir, "node"), mnt: filepath.Join(dir, "mnt")}
	for _, d := range []string{n.mnt, filepath.Join(dir, "run")} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return nil, err
		}
	}
	for _, kv := range os.Environ() {
		if k, _, _ := strings.Cut(kv, "="); strings.HasPrefix(k, "PK_") || k == "XDG_RUNTIME_DIR" || k == "PKFS_CPUPROFILE" {
			continue
		}
		n.env = append(n.env, kv)
	}
	n.env = append(n.env, "PK_NODE_PATH="+n.path, "PK_PASSWORD=bench", "XDG_RUNTIME_DIR="+filepath.Join(dir, "run"),
		"PK_PASSWORD_OPS_LIMIT=min", "PK_PASSWORD_MEM_LIMIT=min")
	var st struct {
		NodeID string `json:"nodeId"`
	}
	if err := n.json(&st, "init"); err != nil {
		return nil, err
	}
	n.id = st.NodeID
	return n, nil
}

// pkfs runs the binary and returns its stdout.
func (n *node) pkfs(args ...string) ([]byte, error) {
	cmd := exec.Command(n.bin, args...)
	cmd.Env = n.env
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return out, fmt.Errorf("%s: pkfs %s: %w: %s", n.name, strings.Join(args, " "), err, bytes.TrimSpace(stderr.Bytes()))
	}
	return out, nil
}

func (n *node) json(v any, args ...string) error {
	out, err := n.pkfs(append(args, "--format", "json")...)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(out, v); err != nil {
		return fmt.Errorf("%s: pkfs %s: %w: %q", n.name, strings.Join(args, " "), err, out)
	}
	return nil
}

// mount starts the agent with its mount on 127.0.0.1 (port 0: any free one).
func (n *node) mount(port int) error {
	var st struct {
		PID       int `json:"pid"`
		AgentPort int `json:"agentPort"`
	}
	err := n.json(&st, "mount", n.mnt, "--background", "--agent-host", "127.0.0.1", "--agent-port", strconv.Itoa(port))
	if err != nil {
		return err
	}
	if st.PID <= 0 || st.AgentPort <= 0 {
		return fmt.Errorf("%s: mount printed %+v", n.name, st)
	}
	n.pid, n.port = st.PID, st.AgentPort
	return nil
}

// umount stops the agent and waits until it has exited.
func (n *node) umount() error {
	if n.pid == 0 {
		return nil
	}
	if _, err := n.pkfs("umount", n.mnt); err != nil {
		return err
	}
	if !waitGone(n.pid, time.Minute) {
		return fmt.Errorf("%s: agent %d did not exit", n.name, n.pid)
	}
	n.pid = 0
	return nil
}

// kill is the cleanup of last resort: stop, kill, unmount lazily.
func (n *node) kill() {
	if n.pid != 0 {
		if err := n.umount(); err != nil {
			_ = syscall.Kill(n.pid, syscall.SIGKILL)
			waitGone(n.pid, 5*time.Second)
		}
	}
	if isMounted(n.mnt) {
		_ = syscall.Unmount(n.mnt, syscall.MNT_DETACH)
	}
}

// agentLog returns the agent's log.
func (n *node) agentLog() string {
	logs, _ := filepath.Glob(filepath.Join(n.dir, "run", "pkfs", "*.log"))
	var b strings.Builder
	for _, l := range logs {
		data, _ := os.ReadFile(l)
		b.Write(data)
	}
	return b.String()
}

func waitGone(pid int, limit time.Duration) bool {
	deadline := time.Now().Add(limit)
	for time.Now().Before(deadline) {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if errors.Is(err, os.ErrNotExist) {
			return true
		}
		if i := bytes.LastIndexByte(b, ')'); i > 0 && i+2 < len(b) && b[i+2] == 'Z' {
			return true
		}
		time.Sleep(10 * time.Millisecond)
	}
	return false
}

func isMounted(dir string) bool {
	data, _ := os.ReadFile("/proc/self/mountinfo")
	for _, line := range strings.Split(string(data), "\n") {
		if f := strings.Fields(line); len(f) > 4 && f[4] == dir {
			return true
		}
	}
	return false
}
