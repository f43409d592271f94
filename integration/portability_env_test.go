//go:build linux

package integration

import (
	"bufio"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// portability is the machinery of TestPortabilityExFAT: a world-readable
// work directory, the pkfs binary where any user can run it, loop devices,
// a throwaway user. Everything it sets up is undone in t.Cleanup, in
// reverse order, also when the test fails.
type portability struct {
	t           *testing.T
	base        string
	bin         string
	exfatKernel bool // the kernel has exFAT; else mount.exfat-fuse
	attached    int
	drives      map[string]*portDrive // by mount point
}

type portUser struct {
	name     string
	uid, gid uint32
}

type portDrive struct {
	dev, dir string
}

// newPortability skips the test where it cannot run: not root, no loop
// devices, no exFAT tools.
func newPortability(t *testing.T) *portability {
	if os.Geteuid() != 0 {
		t.Skip("portability: needs root (losetup, mount, useradd)")
	}
	if _, err := os.Stat("/dev/loop-control"); err != nil {
		t.Skipf("portability: loop devices are unavailable here (%v)", err)
	}
	for _, tool := range []string{"losetup", "mkfs.exfat", "useradd", "userdel", "fusermount3", "find", "sha256sum"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("portability: %s is not installed (Debian: exfatprogs, exfat-fuse, fuse3, util-linux, passwd)", tool)
		}
	}
	p := &portability{t: t, exfatKernel: portKernelHasExFAT(), drives: map[string]*portDrive{}}
	if _, err := exec.LookPath("mount.exfat-fuse"); err != nil && !p.exfatKernel {
		t.Skip("portability: no exFAT driver (neither the kernel's nor mount.exfat-fuse of exfat-fuse)")
	}
	base, err := os.MkdirTemp("", "pkfs-portability-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		for _, m := range portMountsUnder(base) {
			exec.Command("umount", "-l", m).Run()
		}
		os.RemoveAll(base)
	})
	if err := os.Chmod(base, 0o755); err != nil { // another user goes through it
		t.Fatal(err)
	}
	p.base = base
	if err := os.Mkdir(filepath.Join(base, "bin"), 0o755); err != nil {
		t.Fatal(err)
	}
	p.bin = filepath.Join(base, "bin", "pkfs")
	portCopyExecutable(t, filepath.Join(pkfsBinDir(t), "pkfs"), p.bin)
	return p
}

// mkdir makes base/name, 0700, owned by u (root when nil).
func (p *portability) mkdir(name string, u *portUser) string {
	d := filepath.Join(p.base, name)
	if err := os.Mkdir(d, 0o700); err != nil {
		p.t.Fatal(err)
	}
	if u != nil {
		if err := os.Chown(d, int(u.uid), int(u.gid)); err != nil {
			p.t.Fatal(err)
		}
	}
	return d
}

// makeImage creates a 128 MiB exFAT image file.
func (p *portability) makeImage() string {
	img := filepath.Join(p.base, "usb.img")
	f, err := os.Create(img)
	if err != nil {
		p.t.Fatal(err)
	}
	err = f.Truncate(128 << 20)
	if err2 := f.Close(); err == nil {
		err = err2
	}
	if err != nil {
		p.t.Fatal(err)
	}
	p.run(nil, nil, "mkfs.exfat", "-L", "PKFSUSB", img)
	return img
}

// attach attaches img to a loop device and mounts it at base/name, its
// files owned by u (as a desktop mounts a USB drive for its user).
func (p *portability) attach(img, name string, u *portUser) string {
	out, err := exec.Command("losetup", "--find", "--show", img).CombinedOutput()
	if err != nil {
		if p.attached == 0 {
			p.t.Skipf("portability: loop devices are unavailable here: losetup: %v: %s", err, strings.TrimSpace(string(out)))
		}
		p.t.Fatalf("losetup: %v: %s", err, out)
	}
	p.attached++
	d := &portDrive{dev: strings.TrimSpace(string(out)), dir: filepath.Join(p.base, name)}
	p.t.Cleanup(func() { p.detachDrive(d) })
	if err := os.Mkdir(d.dir, 0o755); err != nil {
		p.t.Fatal(err)
	}
	var opts []string
	if u != nil {
		opts = []string{"-o", fmt.Sprintf("uid=%d,gid=%d", u.uid, u.gid)}
	}
	cmd := exec.Command("mount.exfat-fuse", append(opts, d.dev, d.dir)...)
	if p.exfatKernel {
		cmd = exec.Command("mount", append([]string{"-t", "exfat", d.dev, d.dir}, opts...)...)
	}
	if out, err := cmd.CombinedOutput(); err != nil {
		if p.attached == 1 {
			p.t.Skipf("portability: cannot mount exFAT here: %s: %v: %s", cmd.Path, err, strings.TrimSpace(string(out)))
		}
		p.t.Fatalf("%s: %v: %s", cmd.Path, err, out)
	}
	p.drives[d.dir] = d
	return d.dir
}

// detach unmounts the drive at dir and detaches its loop device.
func (p *portability) detach(dir string) {
	d := p.drives[dir]
	if d == nil {
		p.t.Fatalf("no drive at %s", dir)
	}
	if out, err := exec.Command("umount", d.dir).CombinedOutput(); err != nil {
		p.t.Fatalf("umount %s: %v: %s", d.dir, err, out)
	}
	p.detachDrive(d)
}

// detachDrive undoes attach; it is safe to call twice.
func (p *portability) detachDrive(d *portDrive) {
	if portMounted(d.dir) {
		if exec.Command("umount", d.dir).Run() != nil {
			exec.Command("umount", "-l", d.dir).Run()
		}
	}
	if d.dev != "" {
		// the loop device goes away once its last user (a lazy unmount) does
		exec.Command("losetup", "-d", d.dev).Run()
		d.dev = ""
	}
	delete(p.drives, d.dir)
}

// newUser creates a throwaway user, deleted at the end of the test.
func (p *portability) newUser() *portUser {
	b := make([]byte, 4)
	rand.Read(b)
	name := "pkfsport" + hex.EncodeToString(b)
	if out, err := portUserCmd("useradd", "-M", "-N", "-d", "/nonexistent", "-s", "/usr/sbin/nologin", name); err != nil {
		p.t.Fatalf("useradd: %v: %s", err, out)
	}
	p.t.Cleanup(func() {
		if out, err := portUserCmd("userdel", name); err != nil {
			p.t.Errorf("userdel %s: %v: %s", name, err, out)
		}
	})
	pw, err := user.Lookup(name)
	if err != nil {
		p.t.Fatal(err)
	}
	uid, err1 := strconv.ParseUint(pw.Uid, 10, 32)
	gid, err2 := strconv.ParseUint(pw.Gid, 10, 32)
	if err1 != nil || err2 != nil {
		p.t.Fatalf("user %s: uid %q gid %q", name, pw.Uid, pw.Gid)
	}
	return &portUser{name: name, uid: uint32(uid), gid: uint32(gid)}
}

// portUserCmd runs useradd or userdel, again while another process holds
// the lock of /etc/passwd (other tests may add users at the same time).
func portUserCmd(name string, args ...string) ([]byte, error) {
	var out []byte
	var err error
	for range 20 {
		out, err = exec.Command(name, args...).CombinedOutput()
		if err == nil || !strings.Contains(string(out), "lock") {
			break
		}
		time.Sleep(250 * time.Millisecond)
	}
	return out, err
}

// openDevFuse lets other users open /dev/fuse (fusermount3 needs it) until
// the end of the test.
func (p *portability) openDevFuse() {
	fi, err := os.Stat("/dev/fuse")
	if err != nil {
		p.t.Skipf("portability: no /dev/fuse: %v", err)
	}
	old := fi.Mode().Perm()
	if old&0o006 == 0o006 {
		return
	}
	if err := os.Chmod("/dev/fuse", 0o666); err != nil {
		p.t.Fatal(err)
	}
	p.t.Cleanup(func() {
		if err := os.Chmod("/dev/fuse", old); err != nil {
			p.t.Errorf("restore the mode of /dev/fuse: %v", err)
		}
	})
}

func portKernelHasExFAT() bool {
	b, err := os.ReadFile("/proc/filesystems")
	if err != nil {
		return false
	}
	for _, l := range strings.Split(string(b), "\n") {
		if f := strings.Fields(l); len(f) > 0 && f[len(f)-1] == "exfat" {
			return true
		}
	}
	return false
}

// portMountsUnder lists the mount points under dir, deepest first.
func portMountsUnder(dir string) []string {
	f, err := os.Open("/proc/self/mounts")
	if err != nil {
		return nil
	}
	defer f.Close()
	var ms []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fs := strings.Fields(sc.Text())
		if len(fs) > 1 && strings.HasPrefix(fs[1], dir+"/") {
			ms = append([]string{fs[1]}, ms...)
		}
	}
	return ms
}

// portMountOptions returns the options of the mount at dir.
func portMountOptions(dir string) string {
	b, _ := os.ReadFile("/proc/self/mounts")
	for _, l := range strings.Split(string(b), "\n") {
		if f := strings.Fields(l); len(f) > 3 && f[1] == dir {
			return f[3]
		}
	}
	return ""
}

func portMounted(dir string) bool {
	for _, m := range portMountsUnder(filepath.Dir(dir)) {
		if m == dir {
			return true
		}
	}
	return false
}

// portWaitGone waits until process pid has exited (or is a zombie).
func portWaitGone(pid int, timeout time.Duration) bool {
	deadline := time.Now().Add(timeout)
	for {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err != nil {
			return true
		}
		if i := strings.LastIndexByte(string(b), ')'); i > 0 && i+2 < len(b) && b[i+2] == 'Z' {
			return true
		}
		if !time.Now().Before(deadline) {
			return false
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func portCopyExecutable(t *testing.T, from, to string) {
	in, err := os.Open(from)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	out, err := os.OpenFile(to, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o755)
	if err != nil {
		t.Fatal(err)
	}
	_, err = io.Copy(out, in)
	if err2 := out.Close(); err == nil {
		err = err2
	}
	if err != nil {
		t.Fatal(err)
	}
}
