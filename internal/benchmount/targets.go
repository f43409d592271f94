package main

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// target is a place the workloads run: fresh and mounted after start, cold
// after remount.
type target interface {
	name() string
	// start makes a fresh, empty, mounted target and returns its directory.
	start(run int) (string, error)
	// remount unmounts, drops the caches and mounts again: what follows
	// runs as right after a mount.
	remount() error
	// stop unmounts and removes everything.
	stop() error
}

// mountTimer is a target whose mount time can be measured.
type mountTimer interface {
	target
	// populated creates a store named name with vaults top-level
	// directories of files files each, unmounted, and returns how to mount
	// it (timed) and unmount it.
	populated(name string, vaults, files int, p params) (mount func() (time.Duration, error), umount func() error, err error)
}

// plainTarget is a directory on the same disk: the baseline.
type plainTarget struct {
	env *benchEnv
	dir string
}

func (t *plainTarget) name() string { return "plain" }

func (t *plainTarget) start(run int) (string, error) {
	t.dir = filepath.Join(t.env.work, fmt.Sprintf("plain-%d", run))
	return t.dir, os.Mkdir(t.dir, 0o700)
}

func (t *plainTarget) remount() error { t.env.dropCaches(); return nil }
func (t *plainTarget) stop() error    { return os.RemoveAll(t.dir) }

// gocryptfsTarget is a gocryptfs mount with its default options; its
// scrypt cost is the lowest (-scryptn 10), like pkfs's min preset.
type gocryptfsTarget struct {
	env                    *benchEnv
	bin                    string
	base, cipher, mnt, pwf string
}

func (t *gocryptfsTarget) name() string { return "gocryptfs" }

func (t *gocryptfsTarget) setPaths(base string) {
	t.base, t.cipher, t.mnt, t.pwf = base, filepath.Join(base, "cipher"), filepath.Join(base, "mnt"), filepath.Join(base, "pass")
}

func (t *gocryptfsTarget) create(base string) error {
	t.setPaths(base)
	for _, d := range []string{t.cipher, t.mnt} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return err
		}
	}
	if err := os.WriteFile(t.pwf, []byte("bench\n"), 0o600); err != nil {
		return err
	}
	_, err := runCmd(nil, t.bin, "-init", "-q", "-scryptn", "10", "-passfile", t.pwf, t.cipher)
	return err
}

func (t *gocryptfsTarget) mount() (time.Duration, error) {
	s := time.Now()
	_, err := runCmd(nil, t.bin, "-q", "-passfile", t.pwf, t.cipher, t.mnt)
	return time.Since(s), err
}

func (t *gocryptfsTarget) umount() error {
	_, err := runCmd(nil, "fusermount3", "-u", t.mnt)
	return err
}

func (t *gocryptfsTarget) start(run int) (string, error) {
	if err := t.create(filepath.Join(t.env.work, fmt.Sprintf("gocryptfs-%d", run))); err != nil {
		return "", err
	}
	_, err := t.mount()
	return t.mnt, err
}

func (t *gocryptfsTarget) remount() error {
	if err := t.umount(); err != nil {
		return err
	}
	t.env.dropCaches()
	_, err := t.mount()
	return err
}

func (t *gocryptfsTarget) stop() error {
	if err := t.umount(); err != nil {
		return err
	}
	return os.RemoveAll(t.base)
}

func (t *gocryptfsTarget) populated(name string, vaults, files int, p params) (func() (time.Duration, error), func() error, error) {
	g := &gocryptfsTarget{env: t.env, bin: t.bin}
	if err := g.create(filepath.Join(t.env.work, "gocryptfs-"+name)); err != nil {
		return nil, nil, err
	}
	if _, err := g.mount(); err != nil {
		return nil, nil, err
	}
	err := fillVaults(g.mnt, vaults, files, p.mountSize, t.env)
	if err2 := g.umount(); err == nil {
		err = err2
	}
	return g.mount, g.umount, err
}

// runCmd runs a command; its error carries the command's output.
func runCmd(env []string, name string, args ...string) ([]byte, error) {
	cmd := exec.Command(name, args...)
	cmd.Env = env
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return out, fmt.Errorf("%s %s: %w: %s%s", filepath.Base(name), strings.Join(args, " "), err,
			bytes.TrimSpace(out), bytes.TrimSpace(stderr.Bytes()))
	}
	return out, nil
}

// waitExit waits until process pid is gone (or a zombie nobody reaps).
func waitExit(pid int, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if errors.Is(err, os.ErrNotExist) {
			return nil
		}
		if i := bytes.LastIndexByte(b, ')'); i > 0 && i+2 < len(b) && b[i+2] == 'Z' {
			return nil
		}
		time.Sleep(10 * time.Millisecond)
	}
	return fmt.Errorf("process %d still runs after %v", pid, timeout)
}
