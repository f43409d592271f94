package fs

import (
	"bytes"
	"os"
	"path/filepath"
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
