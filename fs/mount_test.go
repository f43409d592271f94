package fs

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/pkfs/pkfs/internal/cryptocore"
	"github.com/pkfs/pkfs/internal/kvstore"
	"github.com/pkfs/pkfs/vaultstore"
)

type harness struct {
	mnt   string
	store *vaultstore.Store
	fsys  *FS
	db    *kvstore.DB
}

// mount mounts a fresh store in-process at a temp dir; cleanup unmounts.
func mount(t testing.TB) *harness {
	t.Helper()
	if _, err := os.Stat("/dev/fuse"); err != nil {
		t.Skip("no /dev/fuse")
	}
	db, err := kvstore.Open(t.TempDir(), cryptocore.NewRandomKey())
	if err != nil {
		t.Fatal(err)
	}
	s, _ := vaultstore.Open(db, vaultstore.TestOnlySigner())
	f := New(s)
	mnt := t.TempDir()
	if err := f.Mount(mnt); err != nil {
		db.Close()
		t.Fatalf("mount: %v", err)
	}
	t.Cleanup(func() {
		if err := f.Unmount(); err != nil {
			t.Errorf("unmount: %v", err)
		}
		s.Close()
		db.Close()
	})
	return &harness{mnt: mnt, store: s, fsys: f, db: db}
}

func (h *harness) vault(t testing.TB, name string) string {
	t.Helper()
	p := filepath.Join(h.mnt, name)
	if err := os.Mkdir(p, 0o700); err != nil {
		t.Fatal(err)
	}
	return p
}

func (h *harness) commits(t testing.TB, name string) int {
	v, err := h.store.Vault(name)
	if err != nil {
		t.Fatal(err)
	}
	l, _ := v.Log(0)
	return len(l)
}

func TestBasicFileLifecycle(t *testing.T) {
	h := mount(t)
	v := h.vault(t, "v")
	if _, err := h.store.Vault("v"); err != nil {
		t.Fatalf("mkdir at the root did not create a vault: %v", err)
	}
	f := filepath.Join(v, "secret")
	if err := os.WriteFile(f, []byte("hunter2"), 0o644); err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(f); err != nil || string(b) != "hunter2" {
		t.Fatalf("read back %q %v", b, err)
	}
	if n := h.commits(t, "v"); n != 2 {
		t.Fatalf("%d commits after one write, want 2", n)
	}
	fi, _ := os.Stat(f)
	if fi.Mode().Perm() != 0o600 || fi.Size() != 7 {
		t.Fatalf("mode %v size %d", fi.Mode(), fi.Size())
	}
	st := fi.Sys().(*syscall.Stat_t)
	if st.Uid != uint32(os.Getuid()) {
		t.Fatal("owner is not the mounting user")
	}
	mtime := fi.ModTime()
	time.Sleep(20 * time.Millisecond)
	os.WriteFile(filepath.Join(v, "other"), []byte("x"), 0o600)
	if fi2, _ := os.Stat(f); !fi2.ModTime().Equal(mtime) {
		t.Fatal("mtime changed without the file changing")
	}
	// append, truncate, chmod
	af, _ := os.OpenFile(f, os.O_APPEND|os.O_WRONLY, 0)
	af.Write([]byte("!!"))
	af.Close()
	if b, _ := os.ReadFile(f); string(b) != "hunter2!!" {
		t.Fatalf("append: %q", b)
	}
	os.Truncate(f, 3)
	if b, _ := os.ReadFile(f); string(b) != "hun" {
		t.Fatalf("truncate: %q", b)
	}
	os.Chmod(f, 0o755)
	if fi, _ := os.Stat(f); fi.Mode().Perm() != 0o700 {
		t.Fatalf("chmod +x: %v", fi.Mode())
	}
	// rename over, across dirs, mkdir/rmdir, symlink
	os.Mkdir(filepath.Join(v, "d"), 0o700)
	if err := os.Rename(filepath.Join(v, "other"), filepath.Join(v, "d", "moved")); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(filepath.Join(v, "d", "moved"), f); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(f); string(b) != "x" {
		t.Fatalf("rename over: %q", b)
	}
	if err := os.Symlink("secret", filepath.Join(v, "link")); err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(filepath.Join(v, "link")); err != nil || string(b) != "x" {
		t.Fatalf("through symlink: %q %v", b, err)
	}
	if err := os.Remove(filepath.Join(v, "d")); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(f); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(f); !errors.Is(err, os.ErrNotExist) {
		t.Fatal("unlinked file still there")
	}
}

func TestErrnos(t *testing.T) {
	h := mount(t)
	a, b := h.vault(t, "a"), h.vault(t, "b")
	os.WriteFile(filepath.Join(a, "f"), []byte("x"), 0o600)
	checks := []struct {
		name string
		err  error
		want syscall.Errno
	}{
		{"rename across vaults", os.Rename(filepath.Join(a, "f"), filepath.Join(b, "f")), syscall.EXDEV},
		{"hard link", os.Link(filepath.Join(a, "f"), filepath.Join(a, "g")), syscall.EPERM},
		{"mknod", syscall.Mknod(filepath.Join(a, "dev"), syscall.S_IFCHR|0o600, 0), syscall.EPERM},
		{"bad vault name", os.Mkdir(filepath.Join(h.mnt, "a:b"), 0o700), syscall.EINVAL},
		{"rmdir vault", syscall.Rmdir(a), syscall.EPERM},
		{"setxattr", syscall.Setxattr(filepath.Join(a, "f"), "user.x", []byte("y"), 0), syscall.ENOTSUP},
		{"file at root", os.WriteFile(filepath.Join(h.mnt, "file"), nil, 0o600), syscall.EPERM},
		{"rmdir non-empty", syscall.Rmdir(h.mnt + "/a"), syscall.EPERM},
	}
	buf := make([]byte, 10)
	_, err := syscall.Getxattr(filepath.Join(a, "f"), "user.x", buf)
	checks = append(checks, struct {
		name string
		err  error
		want syscall.Errno
	}{"getxattr", err, syscall.ENODATA})
	for _, c := range checks {
		if !errors.Is(c.err, c.want) {
			t.Errorf("%s: got %v, want %v", c.name, c.err, c.want)
		}
	}
	if err := os.Chown(filepath.Join(a, "f"), 12345, 12345); !errors.Is(err, syscall.EPERM) {
		t.Errorf("chown: %v", err)
	}
}

func TestHistory(t *testing.T) {
	h := mount(t)
	v := h.vault(t, "v")
	f := filepath.Join(v, "s")
	os.WriteFile(f, []byte("one"), 0o600)
	os.WriteFile(f, []byte("two"), 0o600)
	vv, _ := h.store.Vault("v")
	log, _ := vv.Log(0)
	old := filepath.Join(h.mnt, HistoryDir, "v", log[1].ID.String(), "s")
	if b, err := os.ReadFile(old); err != nil || string(b) != "one" {
		t.Fatalf("old version: %q %v", b, err)
	}
	if b, err := os.ReadFile(filepath.Join(h.mnt, HistoryDir, "v", "HEAD~1", "s")); err != nil || string(b) != "one" {
		t.Fatalf("HEAD~1: %q %v", b, err)
	}
	if b, err := os.ReadFile(filepath.Join(h.mnt, HistoryDir, "v", log[0].ID.String()[:8], "s")); err != nil || string(b) != "two" {
		t.Fatalf("short ID: %q %v", b, err)
	}
	ents, _ := os.ReadDir(filepath.Join(h.mnt, HistoryDir, "v"))
	if len(ents) != len(log) || ents[0].Name() == "" {
		t.Fatalf("history listing: %d entries", len(ents))
	}
	if err := os.WriteFile(old, []byte("x"), 0o600); !errors.Is(err, syscall.EROFS) {
		t.Fatalf("write under .history: %v", err)
	}
	if err := os.Mkdir(filepath.Join(h.mnt, HistoryDir, "v", "HEAD", "d"), 0o700); !errors.Is(err, syscall.EROFS) {
		t.Fatalf("mkdir under .history: %v", err)
	}
}

func TestExternalChangeInvalidatesCache(t *testing.T) {
	h := mount(t)
	v := h.vault(t, "v")
	f := filepath.Join(v, "s")
	os.WriteFile(f, []byte("first"), 0o600)
	os.ReadFile(f) // fill the page cache
	vv, _ := h.store.Vault("v")
	if _, err := vv.Update(vaultstore.CommitOptions{}, func(tx *vaultstore.Tx) error {
		if err := tx.WriteSmall("s", []byte("second, longer"), false, false); err != nil {
			return err
		}
		return tx.WriteSmall("new", []byte("n"), false, false)
	}); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(200 * time.Millisecond)
	for {
		b, _ := os.ReadFile(f)
		_, err := os.Stat(filepath.Join(v, "new"))
		if string(b) == "second, longer" && err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the mount still shows %q (new: %v)", b, err)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestOpenFileSharedAndUnlinked(t *testing.T) {
	h := mount(t)
	v := h.vault(t, "v")
	f := filepath.Join(v, "s")
	w, err := os.Create(f)
	if err != nil {
		t.Fatal(err)
	}
	w.Write([]byte("partial"))
	// another process sees the file while it is open
	out, err := exec.Command("cat", f).Output()
	if err != nil || string(out) != "partial" {
		t.Fatalf("reader of an open file: %q %v", out, err)
	}
	w.Close()
	if n := h.commits(t, "v"); n != 2 {
		t.Fatalf("commits %d", n)
	}
	// writes to an unlinked open file are not committed anywhere
	w2, _ := os.OpenFile(f, os.O_RDWR, 0)
	os.Remove(f)
	w2.Write([]byte("ghost"))
	w2.Close()
	if _, err := os.Stat(f); !errors.Is(err, os.ErrNotExist) {
		t.Fatal("unlinked file came back")
	}
}

func TestParallelWriters(t *testing.T) {
	h := mount(t)
	vs := []string{h.vault(t, "a"), h.vault(t, "b")}
	var wg sync.WaitGroup
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			dir := vs[w%2]
			for i := 0; i < 20; i++ {
				p := filepath.Join(dir, strings.Repeat(string(rune('a'+w)), 1+i%3)+"-"+string(rune('0'+i%10))+string(rune('a'+i/10)))
				data := bytes.Repeat([]byte{byte(w)}, 100*i+1)
				if err := os.WriteFile(p, data, 0o600); err != nil {
					t.Error(err)
					return
				}
				if b, err := os.ReadFile(p); err != nil || !bytes.Equal(b, data) {
					t.Errorf("read back %s: %v", p, err)
				}
			}
		}()
	}
	wg.Wait()
	for _, name := range []string{"a", "b"} {
		vv, _ := h.store.Vault(name)
		if r, _ := vv.Verify(); !r.OK() {
			t.Fatalf("vault %s damaged: %v", name, r.Problems)
		}
	}
	if n := h.commits(t, "a") + h.commits(t, "b"); n != 2+160 {
		t.Fatalf("%d commits for 160 writes", n)
	}
}
