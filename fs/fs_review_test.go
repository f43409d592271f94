package fs

import (
	"errors"
	"os"
	"path/filepath"
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
