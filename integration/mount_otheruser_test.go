package integration

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
)

// freeUID returns a uid and gid that no account uses, for a throwaway
// "other user" (no useradd needed: the kernel checks numbers).
func freeUID(t *testing.T) uint32 {
	t.Helper()
	for id := 61000 + os.Getpid()%1000; id < 65000; id++ {
		s := strconv.Itoa(id)
		_, uerr := user.LookupId(s)
		_, gerr := user.LookupGroupId(s)
		var ue user.UnknownUserIdError
		var ge user.UnknownGroupIdError
		if errors.As(uerr, &ue) && errors.As(gerr, &ge) {
			return uint32(id)
		}
	}
	t.Skip("no free uid between 61000 and 65000")
	return 0
}

// runAs runs a program as uid (gid the same, no supplementary groups)
// with env.
func runAs(t *testing.T, uid uint32, env []string, stdin string, name string, args ...string) cmdResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), cmdTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Env, cmd.Dir = env, "/"
	cmd.Stdin = strings.NewReader(stdin)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true,
		Credential: &syscall.Credential{Uid: uid, Gid: uid, Groups: []uint32{}}}
	err := cmd.Run()
	r := cmdResult{stdout: stdout.String(), stderr: stderr.String()}
	var ee *exec.ExitError
	switch {
	case ctx.Err() != nil:
		t.Fatalf("%s as uid %d did not finish", name, uid)
	case errors.As(err, &ee):
		r.code = ee.ExitCode()
	case err != nil:
		t.Fatalf("%s as uid %d: %v", name, uid, err)
	}
	return r
}

// copyBinary copies the built pkfs where another user can run it. The
// copy is made by cp, not by this process: a child forked by a parallel
// test while this process held the new file open for writing would keep
// it open, and exec of the copy would fail with ETXTBSY.
func copyBinary(t *testing.T, n *mountNode, dir string) string {
	t.Helper()
	noErr(t, os.MkdirAll(dir, 0o755))
	noErr(t, os.Chmod(dir, 0o755))
	to := filepath.Join(dir, "pkfs")
	n.mustRun("cp", n.bin, to)
	noErr(t, os.Chmod(to, 0o755))
	return to
}

// A CLI call from another uid that reaches the control socket is refused
// by the agent (SO_PEERCRED): exit 10, "permission denied", for reads,
// writes and stop alike, and nothing changes. The socket is 0600 in a 0700
// directory; for the test only, both are opened up so that the other
// user's call reaches the agent's own check, then closed again. That user
// cannot use the mount either (no allow_other).
func TestMountOtherUserRefused(t *testing.T) {
	t.Parallel()
	if os.Geteuid() != 0 {
		t.Skip("needs root to run a command as another uid")
	}
	n := newMountNode(t)
	mnt := n.mkdir()
	st := n.mount(mnt)
	noErr(t, os.Mkdir(filepath.Join(mnt, "v"), 0o700))
	noErr(t, os.WriteFile(filepath.Join(mnt, "v", "s"), []byte("mine"), 0o600))
	commits := n.commits("v")
	uid := freeUID(t)

	// the other user's side: a copy of pkfs, a home and a runtime dir of
	// its own whose socket entry for this node path leads to the agent's
	// socket
	other := filepath.Join(n.dir, "other")
	bin := copyBinary(t, n, filepath.Join(other, "bin"))
	home, rt := filepath.Join(other, "home"), filepath.Join(other, "run")
	for _, d := range []string{home, rt, filepath.Join(rt, "pkfs")} {
		noErr(t, os.MkdirAll(d, 0o700))
		noErr(t, os.Chown(d, int(uid), int(uid)))
	}
	noErr(t, os.Symlink(st.Socket, filepath.Join(rt, "pkfs", filepath.Base(st.Socket))))
	env := append(envWithoutPK(), "HOME="+home, "XDG_RUNTIME_DIR="+rt, "PK_NODE_PATH="+n.nodePath)

	// open the way to the socket: the directories on its path searchable,
	// the socket writable by all; closed again at the end
	opened := []string{n.dir, other, n.runtime, filepath.Dir(st.Socket)}
	for _, d := range opened {
		noErr(t, os.Chmod(d, 0o711))
	}
	noErr(t, os.Chmod(st.Socket, 0o666))
	closeUp := func() {
		os.Chmod(st.Socket, 0o600)
		for _, d := range opened {
			os.Chmod(d, 0o700)
		}
	}
	t.Cleanup(closeUp)

	for _, c := range []struct {
		stdin string
		args  []string
	}{
		{"", []string{"agent", "status"}},
		{"", []string{"vaults", "list"}},
		{"", []string{"secrets", "cat", "v:s"}},
		{"stolen", []string{"secrets", "write", "v:s"}},
		{"", []string{"vaults", "create", "theirs"}},
		{"", []string{"agent", "stop"}},
	} {
		r := runAs(t, uid, env, c.stdin, bin, c.args...)
		if r.code != 10 || r.stdout != "" || !strings.HasPrefix(r.stderr, "pkfs: ") || !strings.Contains(r.stderr, "permission denied") {
			t.Errorf("pkfs %s as uid %d: %v; want exit 10, permission denied", strings.Join(c.args, " "), uid, r)
		}
	}
	// the mount is this user's alone
	if r := runAs(t, uid, env, "", "ls", mnt); r.code == 0 || !strings.Contains(r.stderr, "Permission denied") {
		t.Errorf("ls of the mount as uid %d: %v", uid, r)
	}

	// (our own CLI refuses a runtime dir that others can enter: close it
	// before asking the agent)
	closeUp()
	if got := n.status(); got.PID != st.PID || got.Status != "LIVE" {
		t.Errorf("the agent after the refusals: %+v, want pid %d", got, st.PID)
	}
	if got := fileContent(t, filepath.Join(mnt, "v", "s")); got != "mine" {
		t.Errorf("v/s: %q", got)
	}
	if got := n.commits("v"); got != commits {
		t.Errorf("%d commits, was %d", got, commits)
	}
	if got := strings.TrimSpace(n.vaultNames()); !strings.HasPrefix(got, "v") || strings.Contains(got, "theirs") {
		t.Errorf("vaults: %q", got)
	}
}
