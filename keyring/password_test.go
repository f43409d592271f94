package keyring

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// Changing the password needs the current one: a missing or wrong one
// writes nothing; the right one re-seals, after which only the new one
// proves anything.
func TestChangePasswordNeedsTheCurrentPassword(t *testing.T) {
	dir := t.TempDir()
	kr, _, err := Create(dir, []byte("current"), testParams, "")
	if err != nil {
		t.Fatal(err)
	}
	defer kr.Close()
	file := filepath.Join(dir, PrivateKeyFile)
	orig, _ := os.ReadFile(file)
	for _, tc := range []struct {
		current string
		want    error
	}{
		{"", ErrEmptyPassword},
		{"wrong", ErrWrongPassword},
		{"Current", ErrWrongPassword},
		{"current ", ErrWrongPassword},
	} {
		if err := kr.ChangePassword([]byte(tc.current), []byte("attacker"), testParams); !errors.Is(err, tc.want) {
			t.Errorf("current %q: %v, want %v", tc.current, err, tc.want)
		}
		if b, _ := os.ReadFile(file); !bytes.Equal(b, orig) {
			t.Fatalf("current %q: private.key was rewritten", tc.current)
		}
	}
	if err := kr.ChangePassword([]byte("current"), nil, testParams); !errors.Is(err, ErrEmptyPassword) {
		t.Errorf("empty new password: %v", err)
	}
	if err := kr.ChangePassword([]byte("current"), []byte("x"), Params{Ops: 1, MemKiB: 8, Parallelism: 1}); !errors.Is(err, ErrInvalidParams) {
		t.Errorf("costs under the floor: %v", err)
	}
	// Higher costs, then lower ones again: both are the owner's choice.
	higher := Params{Ops: 2, MemKiB: MinMemKiB, Parallelism: 1}
	if err := kr.ChangePassword([]byte("current"), []byte("second"), higher); err != nil {
		t.Fatal(err)
	}
	if err := kr.CheckPassword([]byte("current")); !errors.Is(err, ErrWrongPassword) {
		t.Errorf("the old password still proves: %v", err)
	}
	if err := kr.CheckPassword([]byte("second")); err != nil {
		t.Errorf("the new password: %v", err)
	}
	if err := kr.ChangePassword([]byte("second"), []byte("third"), testParams); err != nil {
		t.Fatal(err)
	}
	kr2, err := Unlock(dir, []byte("third"))
	if err != nil {
		t.Fatalf("unlock with the new password: %v", err)
	}
	kr2.Close()
}

// A key file swapped in on disk (another seed, under a password the
// swapper knows) proves nothing: the check is against the key file the
// keyring holds, and the seed must be its own.
func TestCheckPasswordIgnoresAKeyFileSwappedOnDisk(t *testing.T) {
	dir, other := t.TempDir(), t.TempDir()
	kr, _, err := Create(dir, []byte("owner"), testParams, "")
	if err != nil {
		t.Fatal(err)
	}
	defer kr.Close()
	kr2, _, err := Create(other, []byte("attacker"), testParams, "")
	if err != nil {
		t.Fatal(err)
	}
	kr2.Close()
	fake, _ := os.ReadFile(filepath.Join(other, PrivateKeyFile))
	if err := os.WriteFile(filepath.Join(dir, PrivateKeyFile), fake, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := kr.CheckPassword([]byte("attacker")); !errors.Is(err, ErrWrongPassword) {
		t.Fatalf("the swapped file's password proves: %v", err)
	}
	if err := kr.ChangePassword([]byte("attacker"), []byte("x"), testParams); !errors.Is(err, ErrWrongPassword) {
		t.Fatalf("change with the swapped file's password: %v", err)
	}
	if err := kr.CheckPassword([]byte("owner")); err != nil {
		t.Fatalf("the owner's password: %v", err)
	}
	// Even a keyring whose held key file is another seed's refuses.
	kr.sealed = fake
	if err := kr.CheckPassword([]byte("attacker")); !errors.Is(err, ErrWrongPassword) {
		t.Fatalf("another seed under a known password proves: %v", err)
	}
}

// A closed keyring checks nothing.
func TestCheckPasswordAfterClose(t *testing.T) {
	kr, _, err := Create(t.TempDir(), []byte("pw"), testParams, "")
	if err != nil {
		t.Fatal(err)
	}
	kr.Close()
	if err := kr.CheckPassword([]byte("pw")); !errors.Is(err, ErrLocked) {
		t.Fatalf("after close: %v", err)
	}
	if err := kr.ChangePassword([]byte("pw"), []byte("new"), testParams); !errors.Is(err, ErrLocked) {
		t.Fatalf("change after close: %v", err)
	}
}
