package vaultstore

import (
	"errors"
	"testing"
)

// Text of the form of a vault ID means that ID: no vault may take such a
// name, and one that has it from an older version does not shadow the
// vault of that ID. It stays reachable by its own ID and by VaultByName,
// and a rename gives it a valid name.
func TestVaultIDFormMeansTheID(t *testing.T) {
	s, _, _ := newTestStore(t)
	prod, _ := s.Create("prod")
	other, _ := s.Create("other")
	pid := prod.ID().String()
	if _, err := s.Create(pid); !errors.Is(err, ErrInvalidName) {
		t.Fatalf("create named like an ID: %v", err)
	}
	if err := s.Rename("other", pid); !errors.Is(err, ErrInvalidName) {
		t.Fatalf("rename to an ID: %v", err)
	}
	if err := s.TestOnlyForceName(other.ID(), pid); err != nil { // as an older version could
		t.Fatal(err)
	}
	if v, err := s.Vault(pid); err != nil || v.ID() != prod.ID() {
		t.Fatalf("%s resolves to %v, %v", pid, v, err)
	}
	if v, err := s.VaultByName(pid); err != nil || v.ID() != other.ID() {
		t.Fatalf("by name: %v, %v", v, err)
	}
	if v, err := s.Vault(other.ID().String()); err != nil || v.ID() != other.ID() {
		t.Fatalf("by its own ID: %v, %v", v, err)
	}
	if err := s.Rename(other.ID().String(), "renamed"); err != nil {
		t.Fatal(err)
	}
	if v, err := s.Vault("renamed"); err != nil || v.ID() != other.ID() {
		t.Fatalf("after the rename: %v, %v", v, err)
	}
	if _, err := s.VaultByName(pid); !errors.Is(err, ErrVaultNotFound) {
		t.Fatalf("the old name: %v", err)
	}
}
