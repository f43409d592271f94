//go:build linux

package integration

import (
	"bytes"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestPortabilityExFAT puts a node path on an exFAT filesystem image, as on
// a USB drive: no symlinks, no sockets, no permission bits. It creates the
// node and writes through a mount as root with the image at one path, then
// detaches the image, attaches it at another path and mounts it again as
// another user (through fusermount3), and reads everything back.
//
// It needs root, loop devices, mkfs.exfat (exfatprogs) and an exFAT driver
// (the kernel's, or mount.exfat-fuse from exfat-fuse); it skips without them.
func TestPortabilityExFAT(t *testing.T) {
	p := newPortability(t)
	img := p.makeImage()

	// The first machine: root, the drive at usb-a.
	usbA := p.attach(img, "usb-a", nil)
	rootEnv := p.env(nil, filepath.Join(usbA, "pkfs"), "run-root")
	p.pkfs(nil, rootEnv, "init")
	checkPortableTree(t, filepath.Join(usbA, "pkfs"))
	mntA := p.mkdir("vaults-a", nil)
	pidA := p.mount(nil, rootEnv, mntA)
	writePortableFixture(t, mntA)
	// The lock works on exFAT: a second agent for the node (its socket
	// elsewhere, so that only the lock can stop it) is refused.
	other := p.env(nil, filepath.Join(usbA, "pkfs"), "run-root2")
	if out, code := p.pkfsCode(nil, other, "agent", "start"); code != 7 {
		t.Errorf("a second agent on the node path: exit code %d, want 7 (in use); output:\n%s", code, out)
	}
	want := p.listing(nil, mntA)
	p.umount(nil, rootEnv, mntA, pidA)
	checkPortableTree(t, filepath.Join(usbA, "pkfs"))
	p.detach(usbA)

	// The second machine: another user, the drive at usb-b.
	u := p.newUser()
	p.openDevFuse()
	usbB := p.attach(img, "usb-b", u)
	userEnv := p.env(u, filepath.Join(usbB, "pkfs"), "run-user")
	mntB := p.mkdir("vaults-b", u)
	pidB := p.mount(u, userEnv, mntB)
	if opts := portMountOptions(mntB); !strings.Contains(opts, fmt.Sprintf("user_id=%d,", u.uid)) {
		t.Errorf("the mount of the second user has options %q, want user_id=%d (a fusermount3 mount)", opts, u.uid)
	}
	if got := p.listing(u, mntB); got != want {
		t.Errorf("read back as another user at another path:\n%s\nwant (as written):\n%s", got, want)
	}
	p.run(u, nil, "sh", "-c", `printf again > "$1/ops/second-machine" && mv "$1/ops/second-machine" "$1/ops/db/password"`, "sh", mntB)
	if got := p.run(u, nil, "cat", filepath.Join(mntB, "ops", "db", "password")); got != "again" {
		t.Errorf("a rename-over write on the second machine reads %q", got)
	}
	p.umount(u, userEnv, mntB, pidB)
	// With no agent, the CLI opens the node path on exFAT directly.
	if got := p.pkfs(u, userEnv, "secrets", "cat", "ops:db/password"); got != "again" {
		t.Errorf("pkfs secrets cat after the remount: %q", got)
	}
	p.pkfs(u, userEnv, "vaults", "verify", "ops")
	p.pkfs(u, userEnv, "vaults", "verify", "web")
	checkPortableTree(t, filepath.Join(usbB, "pkfs"))
}

// writePortableFixture writes, through the mount at mnt, what an operator
// keeps in vaults: nested secrets, a binary one, an executable, a symlink
// inside a vault, an empty directory, and an editor-style save.
func writePortableFixture(t *testing.T, mnt string) {
	t.Helper()
	for _, v := range []string{"ops", "web"} {
		if err := os.Mkdir(filepath.Join(mnt, v), 0o700); err != nil {
			t.Fatal(err)
		}
	}
	bin := make([]byte, 300<<10)
	rand.Read(bin)
	files := map[string][]byte{
		"ops/db/password":    []byte("hunter2\n"),
		"ops/db/user":        []byte("admin"),
		"ops/deploy.sh":      []byte("#!/bin/sh\necho deploy\n"),
		"web/tls/key.pem":    []byte("-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEIP\n-----END PRIVATE KEY-----\n"),
		"web/tls/cert.der":   bin,
		"web/empty-file.txt": nil,
	}
	for name, data := range files {
		p := filepath.Join(mnt, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	steps := []error{
		os.Chmod(filepath.Join(mnt, "ops/deploy.sh"), 0o700),
		os.Symlink("tls/key.pem", filepath.Join(mnt, "web/current.pem")),
		os.Mkdir(filepath.Join(mnt, "web/empty-dir"), 0o700),
		portEditorSave(filepath.Join(mnt, "ops/db/user"), []byte("root\n")),
	}
	if err := errors.Join(steps...); err != nil {
		t.Fatal(err)
	}
}

// portEditorSave writes a temporary file, fsyncs it and renames it over path.
func portEditorSave(path string, data []byte) error {
	tmp := filepath.Join(filepath.Dir(path), "."+filepath.Base(path)+".swp")
	f, err := os.Create(tmp)
	if err != nil {
		return err
	}
	_, err = f.Write(data)
	err = errors.Join(err, f.Sync(), f.Close())
	if err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// checkPortableTree fails when the node path holds anything but regular
// files and directories (exFAT stores no symlinks, sockets or FIFOs).
func checkPortableTree(t *testing.T, nodePath string) {
	t.Helper()
	n := 0
	err := filepath.WalkDir(nodePath, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		n++
		if !d.Type().IsRegular() && !d.IsDir() {
			t.Errorf("the node path holds %s, of type %v: not portable", p, d.Type())
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if n < 5 {
		t.Fatalf("the node path %s holds only %d entries", nodePath, n)
	}
}

// listing is what a user sees in the mount: every entry with its type,
// mode, size and symlink target, and the SHA-256 of every file, computed
// by find and sha256sum run as that user.
func (p *portability) listing(u *portUser, mnt string) string {
	script := `cd "$1" && find . -mindepth 1 -path ./.history -prune -o -printf '%y %m %s %p %l\n' | sort &&
find . -path ./.history -prune -o -type f -exec sha256sum {} + | sort -k2`
	out := p.run(u, nil, "sh", "-c", script, "sh", mnt)
	if !strings.Contains(out, "./web/tls/cert.der") || !strings.Contains(out, "l 777") {
		p.t.Fatalf("the listing of %s misses files:\n%s", mnt, out)
	}
	return out
}

// mount runs `pkfs mount DIR --background` and returns the agent's pid.
func (p *portability) mount(u *portUser, env []string, dir string) int {
	out := p.pkfs(u, env, "mount", dir, "--background", "--format", "json")
	var st struct {
		PID int `json:"pid"`
	}
	if err := json.Unmarshal([]byte(out), &st); err != nil || st.PID == 0 {
		p.t.Fatalf("pkfs mount: unexpected output %q", out)
	}
	p.t.Cleanup(func() { p.stopAgent(st.PID, dir) })
	return st.PID
}

// umount runs `pkfs umount DIR` and waits until the agent has exited, so
// that nothing holds the drive.
func (p *portability) umount(u *portUser, env []string, dir string, pid int) {
	p.pkfs(u, env, "umount", dir)
	if !portWaitGone(pid, 30*time.Second) {
		p.t.Fatalf("the agent (pid %d) still runs 30s after pkfs umount", pid)
	}
}

// stopAgent, for the cleanup: ends the agent and clears its mount.
func (p *portability) stopAgent(pid int, dir string) {
	if !portWaitGone(pid, 0) {
		syscall.Kill(pid, syscall.SIGTERM)
		if !portWaitGone(pid, 10*time.Second) {
			syscall.Kill(pid, syscall.SIGKILL)
			portWaitGone(pid, 5*time.Second)
		}
	}
	if portMounted(dir) {
		exec.Command("umount", "-l", dir).Run()
	}
}

// pkfs runs the built pkfs as u and returns its standard output.
func (p *portability) pkfs(u *portUser, env []string, args ...string) string {
	p.t.Helper()
	return p.run(u, env, p.bin, args...)
}

// pkfsCode runs pkfs as u and returns its output and exit code.
func (p *portability) pkfsCode(u *portUser, env []string, args ...string) (string, int) {
	cmd := p.command(u, env, p.bin, args...)
	out, err := cmd.CombinedOutput()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return string(out), ee.ExitCode()
	}
	if err != nil {
		p.t.Fatal(err)
	}
	return string(out), 0
}

// run runs a command as u (root when nil) and returns its standard output.
func (p *portability) run(u *portUser, env []string, name string, args ...string) string {
	p.t.Helper()
	cmd := p.command(u, env, name, args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		p.t.Fatalf("%s %s: %v\n%s%s", filepath.Base(name), strings.Join(args, " "), err, out, stderr.Bytes())
	}
	return string(out)
}

func (p *portability) command(u *portUser, env []string, name string, args ...string) *exec.Cmd {
	cmd := exec.Command(name, args...)
	cmd.Env = env
	if env == nil {
		cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "LC_ALL=C"}
	}
	cmd.Dir = p.base
	if u != nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: u.uid, Gid: u.gid, NoSetGroups: true}}
	}
	return cmd
}

// env is the environment of pkfs for a node path: its own runtime and home
// directories (owned by u), the cheapest password hashing.
func (p *portability) env(u *portUser, nodePath, name string) []string {
	run, home := p.mkdir(name, u), p.mkdir(name+"-home", u)
	return []string{"PATH=" + os.Getenv("PATH"), "LC_ALL=C", "HOME=" + home, "XDG_RUNTIME_DIR=" + run,
		"PK_NODE_PATH=" + nodePath, "PK_PASSWORD=correct horse", "PK_PASSWORD_OPS_LIMIT=min", "PK_PASSWORD_MEM_LIMIT=min",
		"GORACE=halt_on_error=1 atexit_sleep_ms=0"}
}
