package fs

import (
	"bytes"
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

// A file created and written through one descriptor reads back what was
// last written after each fsync, as sqlite does with its database (found
// by sqlite3 on the mount losing its first insert: after the first commit
// of a created file, reads were served from the blob of that commit).
func TestCreatedFileReadsBackAfterFsyncs(t *testing.T) {
	h := mount(t)
	v := h.vault(t, "v")
	f, err := os.OpenFile(filepath.Join(v, "db"), os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for i := byte(1); i <= 4; i++ {
		want := bytes.Repeat([]byte{i}, 8192)
		if _, err := f.WriteAt(want, 0); err != nil {
			t.Fatal(err)
		}
		if err := f.Sync(); err != nil {
			t.Fatal(err)
		}
		got := make([]byte, len(want))
		if _, err := f.ReadAt(got, 0); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Fatalf("round %d: read back %d, want %d", i, got[0], i)
		}
	}
}

// While one process writes a file in pieces, another process reads it: the
// reader sees what is written so far, and its close commits nothing; the
// writer's close commits once.
func TestReaderCloseDoesNotCommit(t *testing.T) {
	h := mount(t)
	v := h.vault(t, "v")
	p := filepath.Join(v, "log")
	w, err := os.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	before := h.commits(t, "v")
	var want []byte
	for i := 0; i < 3; i++ {
		piece := []byte("piece " + string(rune('0'+i)) + "\n")
		if _, err := w.Write(piece); err != nil {
			t.Fatal(err)
		}
		want = append(want, piece...)
		if got, err := os.ReadFile(p); err != nil || !bytes.Equal(got, want) {
			t.Fatalf("reader sees %q, %v; want %q", got, err, want)
		}
	}
	if n := h.commits(t, "v"); n != before {
		t.Fatalf("readers' closes made %d commits", n-before)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if n := h.commits(t, "v"); n != before+1 {
		t.Fatalf("the writer's close made %d commits, want 1", n-before)
	}
}

// fsync of a directory succeeds (programs that save with rename and then
// fsync the directory check it), at the root, in a vault and in history.
func TestFsyncDir(t *testing.T) {
	h := mount(t)
	v := h.vault(t, "v")
	if err := os.WriteFile(filepath.Join(v, "f"), []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(v, "d"), 0o700); err != nil {
		t.Fatal(err)
	}
	for _, d := range []string{h.mnt, v, filepath.Join(v, "d"), filepath.Join(h.mnt, ".history", "v", "HEAD")} {
		f, err := os.Open(d)
		if err != nil {
			t.Fatal(err)
		}
		if err := f.Sync(); err != nil {
			t.Errorf("fsync %s: %v", d, err)
		}
		f.Close()
	}
}

// A shell's `echo x > file` on an existing file (open with O_TRUNC, dup2,
// close, write, close) is one commit, with no empty version before it.
func TestShellRedirectOverwrite(t *testing.T) {
	h := mount(t)
	v := h.vault(t, "v")
	p := filepath.Join(v, "f")
	if err := os.WriteFile(p, []byte("old"), 0o600); err != nil {
		t.Fatal(err)
	}
	before := h.commits(t, "v")
	fd, err := syscall.Open(p, syscall.O_WRONLY|syscall.O_CREAT|syscall.O_TRUNC, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	dup, err := syscall.Dup(fd)
	if err != nil {
		t.Fatal(err)
	}
	if err := syscall.Close(fd); err != nil {
		t.Fatal(err)
	}
	if _, err := syscall.Write(dup, []byte("new\n")); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Close(dup); err != nil {
		t.Fatal(err)
	}
	if n := h.commits(t, "v"); n != before+1 {
		t.Errorf("%d commits, want 1", n-before)
	}
	if b, _ := os.ReadFile(filepath.Join(h.mnt, ".history", "v", "HEAD", "f")); string(b) != "new\n" {
		t.Errorf("HEAD: %q", b)
	}
	if b, _ := os.ReadFile(filepath.Join(h.mnt, ".history", "v", "HEAD~1", "f")); string(b) != "old" {
		t.Errorf("HEAD~1: %q, want the old content", b)
	}
}
