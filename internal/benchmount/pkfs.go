package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// pkfsTarget is a pkfs mount of a fresh node (password hashing preset
// min), run as a user would: `pkfs mount DIR --background`, `pkfs umount`.
type pkfsTarget struct {
	env     *benchEnv
	bin     string
	profDir string // write a CPU profile of every agent here
	profTag string // names those profiles: <tag>-<n>.prof

	base, node, mnt string
	pid             int // the agent
	nprof           int
}

func (t *pkfsTarget) name() string { return "pkfs" }

// environ is the environment of every pkfs command: the node path, the
// password, and runtime files inside the work directory.
func (t *pkfsTarget) environ(profile bool) []string {
	var env []string
	for _, kv := range os.Environ() {
		if k, _, _ := strings.Cut(kv, "="); strings.HasPrefix(k, "PK_") || k == "XDG_RUNTIME_DIR" || k == "PKFS_CPUPROFILE" {
			continue
		}
		env = append(env, kv)
	}
	env = append(env, "PK_NODE_PATH="+t.node, "PK_PASSWORD=bench", "XDG_RUNTIME_DIR="+t.env.runtime)
	if profile && t.profDir != "" {
		t.nprof++
		tag := t.profTag
		if tag == "" {
			tag = "workloads"
		}
		env = append(env, fmt.Sprintf("PKFS_CPUPROFILE=%s/%s-%03d.prof", t.profDir, tag, t.nprof))
	}
	return env
}

func (t *pkfsTarget) pkfs(args ...string) ([]byte, error) {
	return runCmd(t.environ(false), t.bin, args...)
}

func (t *pkfsTarget) create(base string) error {
	t.base, t.node, t.mnt = base, filepath.Join(base, "node"), filepath.Join(base, "mnt")
	if err := os.MkdirAll(t.mnt, 0o700); err != nil {
		return err
	}
	_, err := t.pkfs("init", "--password-ops-limit", "min", "--password-mem-limit", "min")
	return err
}

// startAgent runs `pkfs mount DIR --background` (or `agent start` when
// mnt is empty) and returns how long it took to be ready.
func (t *pkfsTarget) startAgent(mnt string) (time.Duration, error) {
	args := []string{"agent", "start", "--background", "--format", "json"}
	if mnt != "" {
		args = []string{"mount", mnt, "--background", "--format", "json"}
	}
	s := time.Now()
	out, err := runCmd(t.environ(true), t.bin, args...)
	d := time.Since(s)
	if err != nil {
		return d, err
	}
	var st struct {
		PID int `json:"pid"`
	}
	if err := json.Unmarshal(out, &st); err != nil || st.PID == 0 {
		return d, fmt.Errorf("pkfs %s: unexpected output %q", args[0], out)
	}
	t.pid = st.PID
	return d, nil
}

func (t *pkfsTarget) mount() (time.Duration, error) { return t.startAgent(t.mnt) }

// umount unmounts and waits until the agent has exited, so that the node
// path is free for the next mount.
func (t *pkfsTarget) umount() error {
	if _, err := t.pkfs("umount", t.mnt); err != nil {
		return err
	}
	return waitExit(t.pid, time.Minute)
}

func (t *pkfsTarget) stopAgent() error {
	if _, err := t.pkfs("agent", "stop"); err != nil {
		return err
	}
	return waitExit(t.pid, time.Minute)
}

func (t *pkfsTarget) start(run int) (string, error) {
	if err := t.create(filepath.Join(t.env.work, fmt.Sprintf("pkfs-%d", run))); err != nil {
		return "", err
	}
	_, err := t.mount()
	return t.mnt, err
}

func (t *pkfsTarget) remount() error {
	if err := t.umount(); err != nil {
		return err
	}
	t.env.dropCaches()
	_, err := t.mount()
	return err
}

func (t *pkfsTarget) stop() error {
	if err := t.umount(); err != nil {
		return err
	}
	return os.RemoveAll(t.base)
}

// populated imports the vaults through a running agent without a mount
// (`pkfs secrets dir`, one commit per vault), so that populating 100,000
// files takes seconds.
func (t *pkfsTarget) populated(name string, vaults, files int, p params) (func() (time.Duration, error), func() error, error) {
	n := &pkfsTarget{env: t.env, bin: t.bin, profDir: t.profDir, profTag: "mount-" + name}
	if err := n.create(filepath.Join(t.env.work, "pkfs-"+name)); err != nil {
		return nil, nil, err
	}
	local := filepath.Join(t.env.work, "local-"+name)
	if err := fillVaults(local, 1, files, p.mountSize, t.env); err != nil {
		return nil, nil, err
	}
	defer os.RemoveAll(local)
	if _, err := n.startAgent(""); err != nil {
		return nil, nil, err
	}
	for v := range vaults {
		name := fmt.Sprintf("v%03d", v)
		if _, err := n.pkfs("vaults", "create", name); err != nil {
			n.stopAgent()
			return nil, nil, err
		}
		if _, err := n.pkfs("secrets", "dir", filepath.Join(local, "v000"), name); err != nil {
			n.stopAgent()
			return nil, nil, err
		}
	}
	if err := n.stopAgent(); err != nil {
		return nil, nil, err
	}
	return n.mount, n.umount, nil
}
