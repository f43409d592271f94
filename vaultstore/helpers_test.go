package vaultstore

import (
	"testing"

	"github.com/pkfs/pkfs/internal/cryptocore"
	"github.com/pkfs/pkfs/internal/kvstore"
)

func newTestStore(t testing.TB) (*Store, *kvstore.DB, string) {
	t.Helper()
	dir := t.TempDir()
	db, err := kvstore.Open(dir, cryptocore.NewRandomKey())
	if err != nil {
		t.Fatal(err)
	}
	s, err := Open(db, TestOnlySigner())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close(); db.Close() })
	return s, db, dir
}

func newTestVault(t testing.TB) *Vault {
	t.Helper()
	s, _, _ := newTestStore(t)
	v, err := s.Create("test")
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func write(t testing.TB, v *Vault, path, content string) {
	t.Helper()
	if _, err := v.Update(CommitOptions{}, func(tx *Tx) error {
		return tx.WriteSmall(path, []byte(content), false, true)
	}); err != nil {
		t.Fatalf("write %s: %v", path, err)
	}
}

func read(t testing.TB, v *Vault, path string) string {
	t.Helper()
	s, err := v.Snapshot("")
	if err != nil {
		t.Fatal(err)
	}
	b, err := s.ReadFile(path)
	if err != nil {
		t.Fatalf("read %s: %v", path, err)
	}
	return string(b)
}
