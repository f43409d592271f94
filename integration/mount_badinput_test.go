package integration

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/pkfs/pkfs/vaultstore"
)

// Bad input around the mount (issue 4, "Bad input"): each case fails with
// a clear error and changes nothing.

// expectFail runs pkfs, which must exit with code and say want on stderr.
func (n *mountNode) expectFail(code int, want string, args ...string) {
	n.t.Helper()
	r := n.pkfs(args...)
	if r.code != code || !strings.HasPrefix(r.stderr, "pkfs: ") || !strings.Contains(r.stderr, want) {
		n.t.Errorf("pkfs %s: %v; want exit %d and %q", strings.Join(args, " "), r, code, want)
	}
}

// noAgent checks that no agent serves the node.
func (n *mountNode) noAgent() {
	n.t.Helper()
	if r := n.pkfs("agent", "status", "--format", "json"); r.code != 11 || !strings.Contains(r.stdout, "DEAD") {
		n.t.Errorf("an agent runs: %v", r)
	}
}

// Mounting on a missing directory, a file, a non-empty directory: exit 3
// with the reason, no agent left running, nothing mounted, the directory
// untouched.
func TestMountBadMountPoints(t *testing.T) {
	t.Parallel()
	n := newMountNode(t)
	missing := filepath.Join(n.dir, "missing")
	nonEmpty := n.mkdir()
	keep := filepath.Join(nonEmpty, "keep.txt")
	noErr(t, os.WriteFile(keep, []byte("mine"), 0o600))
	file := filepath.Join(n.dir, "file")
	noErr(t, os.WriteFile(file, []byte("a file"), 0o600))
	for _, bg := range []bool{true, false} {
		args := func(dir string) []string {
			if bg {
				return []string{"mount", dir, "--background"}
			}
			return []string{"mount", dir}
		}
		n.expectFail(3, missing+" does not exist", args(missing)...)
		n.expectFail(3, nonEmpty+" is not empty", args(nonEmpty)...)
		n.expectFail(3, "invalid mount point", args(file)...)
		n.noAgent()
	}
	if _, err := os.Stat(missing); !os.IsNotExist(err) {
		t.Errorf("the missing directory was created: %v", err)
	}
	for _, d := range []string{nonEmpty, file} {
		if isMounted(d) {
			t.Errorf("%s is mounted", d)
		}
	}
	if got := fileContent(t, keep); got != "mine" {
		t.Errorf("the non-empty directory's file: %q", got)
	}
	if got := fileContent(t, file); got != "a file" {
		t.Errorf("the file: %q", got)
	}
}

// A directory that is already mounted (by another node) is refused (7),
// and the mount there keeps serving. A second agent on the same node path
// is refused (7) in every form, whether it finds the first agent's
// socket or only the node path's lock.
func TestMountAlreadyMountedAndSecondAgent(t *testing.T) {
	t.Parallel()
	a := newMountNode(t)
	mnt := a.mkdir()
	st := a.mount(mnt)
	noErr(t, os.Mkdir(filepath.Join(mnt, "v"), 0o700))
	noErr(t, os.WriteFile(filepath.Join(mnt, "v", "s"), []byte("served"), 0o600))

	b := newMountNode(t)
	b.expectFail(7, mnt+" is already a FUSE mount", "mount", mnt, "--background")
	b.noAgent()

	other := a.mkdir()
	for _, args := range [][]string{
		{"mount", other, "--background"},
		{"mount", other},
		{"agent", "start", "--background"},
		{"agent", "start"},
	} {
		a.expectFail(7, "an agent already serves this node", args...)
	}
	// an agent that cannot see the first one's socket (another runtime
	// directory) still cannot open the node path
	rt := filepath.Join(a.dir, "run2")
	noErr(t, os.Mkdir(rt, 0o700))
	saved := a.env
	a.env = append(append([]string(nil), saved...), "XDG_RUNTIME_DIR="+rt)
	a.expectFail(7, "node path is in use by pid "+fmt.Sprint(st.PID), "mount", other, "--background")
	a.expectFail(7, "node path is in use by pid "+fmt.Sprint(st.PID), "agent", "start")
	a.env = saved
	if isMounted(other) {
		t.Errorf("%s was mounted by a second agent", other)
	}
	if got := a.status(); got.PID != st.PID || got.MountPoint != mnt {
		t.Errorf("status after the refusals: %+v, want pid %d at %s", got, st.PID, mnt)
	}
	if got := fileContent(t, filepath.Join(mnt, "v", "s")); got != "served" {
		t.Errorf("the first mount serves %q", got)
	}
}

// errnoOf returns the errno inside err, or 0.
func errnoOf(err error) syscall.Errno {
	var e syscall.Errno
	if errors.As(err, &e) {
		return e
	}
	return 0
}

// expectErrno checks that err carries errno want.
func expectErrno(t *testing.T, what string, err error, want syscall.Errno) {
	t.Helper()
	if got := errnoOf(err); got != want {
		t.Errorf("%s: %v (errno %d), want %v", what, err, got, want)
	}
}

// vaultNames lists the vaults through the CLI.
func (n *mountNode) vaultNames() string {
	n.t.Helper()
	return n.mustPkfs("vaults", "list")
}

// mkdir of an invalid vault name at the root: EINVAL, no vault created.
// (An existing name: EEXIST; rmdir of a vault: EPERM.)
func TestMountInvalidVaultNames(t *testing.T) {
	t.Parallel()
	n := newMountNode(t)
	mnt := n.newMount()
	noErr(t, os.Mkdir(filepath.Join(mnt, "v"), 0o700))
	before, commits := n.vaultNames(), n.commits("v")
	for _, name := range []string{".hidden", "a:b", "tab\there", "bell\x07", "new\nline"} {
		expectErrno(t, "mkdir "+name, os.Mkdir(filepath.Join(mnt, name), 0o700), syscall.EINVAL)
	}
	expectErrno(t, "mkdir of an existing vault", os.Mkdir(filepath.Join(mnt, "v"), 0o700), syscall.EEXIST)
	expectErrno(t, "rmdir of a vault", syscall.Rmdir(filepath.Join(mnt, "v")), syscall.EPERM)
	expectErrno(t, "a file at the root", os.WriteFile(filepath.Join(mnt, "f"), nil, 0o600), syscall.EPERM)
	expectErrno(t, "rename to an invalid name", os.Rename(filepath.Join(mnt, "v"), filepath.Join(mnt, "x:y")), syscall.EINVAL)
	if after := n.vaultNames(); after != before {
		t.Errorf("vaults: %q, was %q", after, before)
	}
	if got := n.commits("v"); got != commits {
		t.Errorf("%d commits, was %d", got, commits)
	}
	ents, err := os.ReadDir(mnt)
	noErr(t, err)
	if len(ents) != 2 {
		t.Errorf("the root lists %v", ents)
	}
}

// Every kind of write under .history fails with EROFS, at every level,
// and changes nothing.
func TestMountHistoryReadOnly(t *testing.T) {
	t.Parallel()
	n := newMountNode(t)
	mnt := n.newMount()
	noErr(t, os.MkdirAll(filepath.Join(mnt, "v", "d"), 0o700))
	noErr(t, os.WriteFile(filepath.Join(mnt, "v", "d", "f"), []byte("one"), 0o600))
	noErr(t, os.WriteFile(filepath.Join(mnt, "v", "d", "f"), []byte("two"), 0o600))
	commits := n.commits("v")
	hist := filepath.Join(mnt, ".history")
	rev := filepath.Join(hist, "v", "HEAD~1")
	f := filepath.Join(rev, "d", "f")
	if got := fileContent(t, f); got != "one" {
		t.Fatalf("%s: %q", f, got)
	}
	for _, dir := range []string{hist, filepath.Join(hist, "v"), rev, filepath.Join(rev, "d")} {
		expectErrno(t, "create in "+dir, os.WriteFile(filepath.Join(dir, "new"), []byte("x"), 0o600), syscall.EROFS)
		expectErrno(t, "mkdir in "+dir, os.Mkdir(filepath.Join(dir, "newdir"), 0o700), syscall.EROFS)
		expectErrno(t, "symlink in "+dir, os.Symlink("t", filepath.Join(dir, "link")), syscall.EROFS)
	}
	_, err := os.OpenFile(f, os.O_WRONLY, 0)
	expectErrno(t, "open for writing", err, syscall.EROFS)
	_, err = os.OpenFile(f, os.O_RDONLY|os.O_TRUNC, 0)
	expectErrno(t, "open with O_TRUNC", err, syscall.EROFS)
	expectErrno(t, "truncate", os.Truncate(f, 0), syscall.EROFS)
	expectErrno(t, "chmod", os.Chmod(f, 0o700), syscall.EROFS)
	expectErrno(t, "unlink", os.Remove(f), syscall.EROFS)
	expectErrno(t, "rmdir", syscall.Rmdir(filepath.Join(rev, "d")), syscall.EROFS)
	expectErrno(t, "rename", os.Rename(f, filepath.Join(rev, "d", "g")), syscall.EROFS)
	expectErrno(t, "link", os.Link(f, filepath.Join(rev, "d", "h")), syscall.EROFS)
	expectErrno(t, "rename of .history", os.Rename(hist, filepath.Join(mnt, "h")), syscall.EPERM)
	// a rename out of history into the vault is across filesystems' worth
	// of trees: refused too
	if err := os.Rename(f, filepath.Join(mnt, "v", "stolen")); err == nil {
		t.Error("rename out of .history succeeded")
	}
	if got := fileContent(t, f); got != "one" {
		t.Errorf("%s: %q after the refused writes", f, got)
	}
	if got := fileContent(t, filepath.Join(mnt, "v", "d", "f")); got != "two" {
		t.Errorf("HEAD: %q", got)
	}
	if got := n.commits("v"); got != commits {
		t.Errorf("%d commits, was %d", got, commits)
	}
}

// rename(2) across vaults: EXDEV for files and directories, nothing moved;
// mv then copies and removes, as across filesystems.
func TestMountRenameAcrossVaults(t *testing.T) {
	t.Parallel()
	n := newMountNode(t)
	mnt := n.newMount()
	v, w := filepath.Join(mnt, "v"), filepath.Join(mnt, "w")
	noErr(t, os.MkdirAll(filepath.Join(v, "d"), 0o700))
	noErr(t, os.Mkdir(w, 0o700))
	noErr(t, os.WriteFile(filepath.Join(v, "f"), []byte("file"), 0o600))
	noErr(t, os.WriteFile(filepath.Join(v, "d", "g"), []byte("in d"), 0o600))
	cv, cw := n.commits("v"), n.commits("w")
	expectErrno(t, "rename of a file", os.Rename(filepath.Join(v, "f"), filepath.Join(w, "f")), syscall.EXDEV)
	expectErrno(t, "rename of a directory", os.Rename(filepath.Join(v, "d"), filepath.Join(w, "d")), syscall.EXDEV)
	expectErrno(t, "rename of a vault into another", os.Rename(v, filepath.Join(w, "v")), syscall.EXDEV)
	expectErrno(t, "rename of a file to the root", os.Rename(filepath.Join(v, "f"), filepath.Join(mnt, "f")), syscall.EXDEV)
	if got := n.commits("v"); got != cv {
		t.Errorf("v: %d commits, was %d", got, cv)
	}
	if got := n.commits("w"); got != cw {
		t.Errorf("w: %d commits, was %d", got, cw)
	}
	if ents, _ := os.ReadDir(w); len(ents) != 0 {
		t.Errorf("w holds %v", ents)
	}
	if fileContent(t, filepath.Join(v, "f")) != "file" || fileContent(t, filepath.Join(v, "d", "g")) != "in d" {
		t.Error("v changed")
	}
	needPrograms(t, "mv")
	n.mustRun("mv", filepath.Join(v, "d"), filepath.Join(w, "d"))
	if fileContent(t, filepath.Join(w, "d", "g")) != "in d" {
		t.Error("mv across vaults: content")
	}
	if _, err := os.Stat(filepath.Join(v, "d")); !os.IsNotExist(err) {
		t.Errorf("mv across vaults left the source: %v", err)
	}
}

// A file over vaultstore.MaxFileSize: EFBIG from truncate (the program and
// the syscall), pwrite past the limit and fallocate, without writing a GiB;
// the file and the log do not change.
func TestMountFileTooLarge(t *testing.T) {
	t.Parallel()
	n := newMountNode(t)
	mnt := n.newMount()
	noErr(t, os.Mkdir(filepath.Join(mnt, "v"), 0o700))
	p := filepath.Join(mnt, "v", "f")
	noErr(t, os.WriteFile(p, []byte("small"), 0o600))
	commits := n.commits("v")
	const max = vaultstore.MaxFileSize

	expectErrno(t, "truncate(2)", os.Truncate(p, max+1), syscall.EFBIG)
	needPrograms(t, "truncate")
	if r := n.run("truncate", "-s", "1073741825", p); r.code == 0 || !strings.Contains(r.stderr, "File too large") {
		t.Errorf("truncate -s 1G+1: %v", r)
	}
	f, err := os.OpenFile(p, os.O_RDWR, 0)
	noErr(t, err)
	_, err = f.WriteAt([]byte("x"), max)
	expectErrno(t, "pwrite at the limit", err, syscall.EFBIG)
	_, err = f.WriteAt([]byte("x"), max+4096)
	expectErrno(t, "pwrite past the limit", err, syscall.EFBIG)
	// (a write across the limit is a short write up to it, as POSIX says:
	// it would make a GiB file, so it is not tried here)
	expectErrno(t, "ftruncate", f.Truncate(max+1), syscall.EFBIG)
	expectErrno(t, "fallocate", syscall.Fallocate(int(f.Fd()), 0, max, 1), syscall.EFBIG)
	noErr(t, f.Close())
	if got := fileContent(t, p); got != "small" {
		t.Errorf("after the refused writes: %.40q (%d bytes)", got, len(got))
	}
	if got := n.commits("v"); got != commits {
		t.Errorf("%d commits, was %d", got, commits)
	}
}
