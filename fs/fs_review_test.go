package fs

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"
)

// A directory that holds a file living only in memory (created and still
// open, not yet committed) is not empty: rmdir removed it, and the file's
// close then "committed" nowhere and returned success, losing its content.
func TestReviewRmdirKeepsDirectoryWithPendingFile(t *testing.T) {
	h := mount(t)
	v := h.vault(t, "v")
	d := filepath.Join(v, "d")
	if err := os.Mkdir(d, 0o700); err != nil {
		t.Fatal(err)
	}
	f, err := os.Create(filepath.Join(d, "new"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Write([]byte("not committed yet")); err != nil {
		t.Fatal(err)
	}
	err = os.Remove(d)
	if cerr := f.Close(); cerr != nil {
		t.Fatalf("close: %v", cerr)
	}
	if !errors.Is(err, syscall.ENOTEMPTY) {
		t.Errorf("rmdir of a directory holding an open new file: %v, want ENOTEMPTY", err)
	}
	if b, err := os.ReadFile(filepath.Join(d, "new")); err != nil || string(b) != "not committed yet" {
		t.Fatalf("the file closed after the rmdir: %q %v", b, err)
	}
	// the same with an editor's swap file, which is never committed
	swp := filepath.Join(d, ".new.swp")
	if err := os.WriteFile(swp, []byte("swap"), 0o600); err != nil {
		t.Fatal(err)
	}
	os.Remove(filepath.Join(d, "new"))
	if err := os.Remove(d); !errors.Is(err, syscall.ENOTEMPTY) {
		t.Errorf("rmdir of a directory holding a swap file: %v, want ENOTEMPTY", err)
	}
}

// A file living only in memory is kept by path: when its directory was
// renamed, the entry stayed under the old path, so a new directory of the
// old name listed a file that was not there (and the new one did not list
// it until it was committed).
func TestReviewRenamedDirectoryTakesPendingFiles(t *testing.T) {
	h := mount(t)
	v := h.vault(t, "v")
	d, e := filepath.Join(v, "d"), filepath.Join(v, "e")
	if err := os.Mkdir(d, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(d, ".x.swp"), []byte("swap"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(d, e); err != nil {
		t.Fatal(err)
	}
	if ents, err := os.ReadDir(e); err != nil || len(ents) != 1 || ents[0].Name() != ".x.swp" {
		t.Errorf("the renamed directory lists %v (%v), want its swap file", ents, err)
	}
	if err := os.Mkdir(d, 0o700); err != nil {
		t.Fatal(err)
	}
	if ents, err := os.ReadDir(d); err != nil || len(ents) != 0 {
		t.Errorf("a new directory of the old name lists %v (%v), want nothing", ents, err)
	}
}

// A file emptied by O_TRUNC and closed without a write commits at release
// (a shell redirection closes a dup before it writes). Release committed
// only when the last handle went, so while any reader kept the file open
// the truncation stayed in the mount's memory: not in the vault, not seen
// by the CLI or peers, and lost if the agent was killed.
func TestReviewTruncationCommitsWhileAReaderHoldsTheFile(t *testing.T) {
	h := mount(t)
	v := h.vault(t, "v")
	p := filepath.Join(v, "secret")
	if err := os.WriteFile(p, []byte("old secret"), 0o600); err != nil {
		t.Fatal(err)
	}
	r, err := os.Open(p) // a reader that stays
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	w, err := os.OpenFile(p, os.O_WRONLY|os.O_TRUNC, 0) // `: > secret`
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	vv, _ := h.store.Vault("v")
	deadline := time.Now().Add(2 * time.Second) // release is asynchronous
	for {
		snap, _ := vv.Snapshot("")
		b, err := snap.ReadFile("secret")
		if err == nil && len(b) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the vault still holds %q after the truncation was closed (%v)", b, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Unlink committed the removal and returned; go-fuse dropped the name from
// its tree only then. A flush of the file (open for writing elsewhere) in
// between found the old path and committed the file back: unlink succeeded
// and the file was there again. Likewise a rename: the moved file was
// committed back at its old name, or the file it replaced was committed
// over it (the rename lost).
func TestReviewUnlinkRacingClose(t *testing.T) {
	h := mount(t)
	v := h.vault(t, "v")
	vv, _ := h.store.Vault("v")
	bad := 0
	for i := 0; i < 300; i++ {
		p := filepath.Join(v, fmt.Sprintf("f%d", i))
		os.WriteFile(p, []byte("a"), 0o600)
		f, err := os.OpenFile(p, os.O_WRONLY, 0)
		if err != nil {
			t.Fatal(err)
		}
		f.Write([]byte("bb"))
		var wg sync.WaitGroup
		var uerr error
		wg.Add(2)
		go func() { defer wg.Done(); f.Close() }()
		go func() { defer wg.Done(); uerr = os.Remove(p) }()
		wg.Wait()
		snap, _ := vv.Snapshot("")
		if _, err := snap.Stat(fmt.Sprintf("f%d", i)); err == nil && uerr == nil {
			bad++
		}
	}
	if bad > 0 {
		t.Fatalf("%d files came back after a successful unlink", bad)
	}
}

func TestReviewRenameOverRacingClose(t *testing.T) {
	h := mount(t)
	v := h.vault(t, "v")
	vv, _ := h.store.Vault("v")
	bad := 0
	for i := 0; i < 300; i++ {
		dst := filepath.Join(v, fmt.Sprintf("d%d", i))
		src := filepath.Join(v, fmt.Sprintf("s%d", i))
		os.WriteFile(dst, []byte("a"), 0o600)
		os.WriteFile(src, []byte("new"), 0o600)
		f, err := os.OpenFile(dst, os.O_WRONLY, 0)
		if err != nil {
			t.Fatal(err)
		}
		f.Write([]byte("old writer"))
		var wg sync.WaitGroup
		var rerr error
		wg.Add(2)
		go func() { defer wg.Done(); f.Close() }()
		go func() { defer wg.Done(); rerr = os.Rename(src, dst) }()
		wg.Wait()
		snap, _ := vv.Snapshot("")
		if b, err := snap.ReadFile(fmt.Sprintf("d%d", i)); rerr == nil && (err != nil || string(b) != "new") {
			bad++
		}
	}
	if bad > 0 {
		t.Fatalf("%d renames lost to a concurrent close of the file they replaced", bad)
	}
}

func TestReviewRenameRacingCloseOfSource(t *testing.T) {
	h := mount(t)
	v := h.vault(t, "v")
	vv, _ := h.store.Vault("v")
	bad := 0
	for i := 0; i < 300; i++ {
		src := filepath.Join(v, fmt.Sprintf("s%d", i))
		dst := filepath.Join(v, fmt.Sprintf("d%d", i))
		os.WriteFile(src, []byte("a"), 0o600)
		f, err := os.OpenFile(src, os.O_WRONLY, 0)
		if err != nil {
			t.Fatal(err)
		}
		f.Write([]byte("written"))
		var wg sync.WaitGroup
		var rerr error
		wg.Add(2)
		go func() { defer wg.Done(); f.Close() }()
		go func() { defer wg.Done(); rerr = os.Rename(src, dst) }()
		wg.Wait()
		snap, _ := vv.Snapshot("")
		_, serr := snap.Stat(fmt.Sprintf("s%d", i))
		b, derr := snap.ReadFile(fmt.Sprintf("d%d", i))
		if rerr == nil && (serr == nil || derr != nil || string(b) != "written") {
			bad++
		}
	}
	if bad > 0 {
		t.Fatalf("%d renames undone or lost by a concurrent close of the file moved", bad)
	}
}

// A file open for writing in a directory that is renamed commits at its new
// path when closed, and the old directory does not come back.
func TestRenameDirWithFileOpenForWriting(t *testing.T) {
	h := mount(t)
	v := h.vault(t, "v")
	vv, _ := h.store.Vault("v")
	if err := os.MkdirAll(filepath.Join(v, "a", "b"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(v, "a", "b", "old"), []byte("old"), 0o600); err != nil {
		t.Fatal(err)
	}
	f, err := os.OpenFile(filepath.Join(v, "a", "b", "old"), os.O_WRONLY|os.O_TRUNC, 0)
	if err != nil {
		t.Fatal(err)
	}
	g, err := os.Create(filepath.Join(v, "a", "b", "new"))
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString("changed")
	g.WriteString("created")
	if err := os.Rename(filepath.Join(v, "a"), filepath.Join(v, "z")); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatalf("close of a file in a renamed directory: %v", err)
	}
	if err := g.Close(); err != nil {
		t.Fatalf("close of a file created in a renamed directory: %v", err)
	}
	snap, _ := vv.Snapshot("")
	for name, want := range map[string]string{"z/b/old": "changed", "z/b/new": "created"} {
		b, err := snap.ReadFile(name)
		if err != nil || string(b) != want {
			t.Errorf("%s = %q, %v; want %q", name, b, err, want)
		}
	}
	if _, err := snap.Stat("a"); err == nil {
		t.Error("the directory renamed came back at its old name")
	}
	if b, err := os.ReadFile(filepath.Join(v, "z", "b", "old")); err != nil || string(b) != "changed" {
		t.Errorf("read back through the mount: %q, %v", b, err)
	}
}

// A close racing a rename of the directory above the file: the commit lands
// at the new path, never back at the old one.
func TestRenameDirRacingCloseOfFileInIt(t *testing.T) {
	h := mount(t)
	v := h.vault(t, "v")
	vv, _ := h.store.Vault("v")
	bad := 0
	for i := 0; i < 150; i++ {
		src := filepath.Join(v, fmt.Sprintf("s%d", i))
		dst := filepath.Join(v, fmt.Sprintf("d%d", i))
		if err := os.Mkdir(src, 0o700); err != nil {
			t.Fatal(err)
		}
		os.WriteFile(filepath.Join(src, "f"), []byte("a"), 0o600)
		f, err := os.OpenFile(filepath.Join(src, "f"), os.O_WRONLY, 0)
		if err != nil {
			t.Fatal(err)
		}
		f.Write([]byte("written"))
		var wg sync.WaitGroup
		var rerr, cerr error
		wg.Add(2)
		go func() { defer wg.Done(); cerr = f.Close() }()
		go func() { defer wg.Done(); rerr = os.Rename(src, dst) }()
		wg.Wait()
		if rerr != nil || cerr != nil {
			t.Fatalf("rename: %v, close: %v", rerr, cerr)
		}
		snap, _ := vv.Snapshot("")
		_, serr := snap.Stat(fmt.Sprintf("s%d", i))
		b, derr := snap.ReadFile(fmt.Sprintf("d%d/f", i))
		if serr == nil || derr != nil || string(b) != "written" {
			bad++
			t.Logf("%d: old dir there: %v, new file %q, %v", i, serr == nil, b, derr)
		}
	}
	if bad > 0 {
		t.Fatalf("%d of 150 closes went back to the directory's old name or were lost", bad)
	}
}
