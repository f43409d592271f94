package fs

import (
	"os"
	"path/filepath"
	"testing"
)

func TestScratchNames(t *testing.T) {
	for name, want := range map[string]bool{
		".secret.swp": true, ".secret.swo": true, ".secret.swx": true, ".secret.swpx": true, "4913": true, ".#notes": true, "#notes#": true,
		"secret.swp": false, ".swp": false, "notes": false, "4914": false, "#": false, ".secret.swz": false, "backup~": false,
	} {
		if got := scratchName(name); got != want {
			t.Errorf("scratchName(%q) = %v", name, got)
		}
	}
}

// An editor's swap file is usable through the mount but never a version.
func TestScratchFilesAreNotCommitted(t *testing.T) {
	h := mount(t)
	v := h.vault(t, "v")
	before := h.commits(t, "v")
	swp := filepath.Join(v, ".secret.swp")
	f, err := os.Create(swp)
	if err != nil {
		t.Fatal(err)
	}
	f.Write([]byte("the plaintext being edited"))
	if err := f.Sync(); err != nil {
		t.Fatal(err)
	}
	f.Close()
	if b, err := os.ReadFile(swp); err != nil || string(b) != "the plaintext being edited" {
		t.Fatalf("swap file read back: %q %v", b, err)
	}
	if ents, _ := os.ReadDir(v); len(ents) != 1 {
		t.Fatalf("listing: %v", ents)
	}
	if n := h.commits(t, "v"); n != before {
		t.Fatalf("%d commits for a swap file", n-before)
	}
	if err := os.Remove(swp); err != nil {
		t.Fatal(err)
	}
	if n := h.commits(t, "v"); n != before {
		t.Fatal("removing a swap file made a commit")
	}
	// renamed to an ordinary name, a scratch file is kept
	os.WriteFile(filepath.Join(v, "4913"), []byte("kept"), 0o600)
	if err := os.Rename(filepath.Join(v, "4913"), filepath.Join(v, "kept")); err != nil {
		t.Fatal(err)
	}
	vv, _ := h.store.Vault("v")
	snap, _ := vv.Snapshot("")
	if b, err := snap.ReadFile("kept"); err != nil || string(b) != "kept" {
		t.Fatalf("renamed scratch file: %q %v", b, err)
	}
}

// A rename over a file that lives in memory only (created, still open)
// replaces it: its later close does not commit it over the file moved there.
func TestRenameOverPendingFile(t *testing.T) {
	h := mount(t)
	v := h.vault(t, "v")
	f, err := os.Create(filepath.Join(v, "target"))
	if err != nil {
		t.Fatal(err)
	}
	f.Write([]byte("pending, replaced"))
	os.WriteFile(filepath.Join(v, "source"), []byte("moved"), 0o600)
	if err := os.Rename(filepath.Join(v, "source"), filepath.Join(v, "target")); err != nil {
		t.Fatal(err)
	}
	f.Write([]byte(" more"))
	f.Close()
	if b, err := os.ReadFile(filepath.Join(v, "target")); err != nil || string(b) != "moved" {
		t.Fatalf("target after the close of the replaced file: %q %v", b, err)
	}
	vv, _ := h.store.Vault("v")
	snap, _ := vv.Snapshot("")
	if b, _ := snap.ReadFile("target"); string(b) != "moved" {
		t.Fatalf("committed target: %q", b)
	}
}
