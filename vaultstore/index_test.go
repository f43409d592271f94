package vaultstore

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// checkIndex compares the mtime index with the head: every file and
// directory has an entry, and no entry names a path that is gone.
func checkIndex(t *testing.T, v *Vault, step string) {
	t.Helper()
	snap, err := v.Snapshot("")
	if err != nil {
		t.Fatal(err)
	}
	live := map[string]bool{"": true}
	if err := snap.Walk("", func(e Entry) error {
		live[e.Path] = true
		if _, err := v.indexedMtime(e.Path); err != nil {
			return fmt.Errorf("%s has no mtime: %v", e.Path, err)
		}
		return nil
	}); err != nil {
		t.Fatalf("%s: %v", step, err)
	}
	if err := v.mtimes.ForEach(func(k, _ []byte) error {
		if !live[string(k)] {
			return fmt.Errorf("stale mtime entry %q", k)
		}
		return nil
	}); err != nil {
		t.Fatalf("%s: %v", step, err)
	}
}

// A directory replaced by a file of the same name in one commit, with
// entries that sort between the two ("x" < "x-y" < "x/"), and the reverse:
// the index keeps the new entry and drops the old one's children.
func TestIndexTypeChange(t *testing.T) {
	v := newTestVault(t)
	write(t, v, "x/inner", "inner")
	write(t, v, "x-y", "between")
	checkIndex(t, v, "setup")
	mustUpdate(t, v, func(tx *Tx) error {
		if err := tx.Remove("x", RemoveRecursive); err != nil {
			return err
		}
		return tx.WriteSmall("x", []byte("now a file"), false, false)
	})
	checkIndex(t, v, "directory to file")
	mustUpdate(t, v, func(tx *Tx) error {
		if err := tx.Remove("x", RemoveFile); err != nil {
			return err
		}
		return tx.WriteSmall("x/again", []byte("a directory again"), false, true)
	})
	checkIndex(t, v, "file to directory")
}

// Random transactions over a small namespace keep the index equal to the
// tree (a model check of the diff that maintains it).
func TestIndexFollowsRandomCommits(t *testing.T) {
	v := newTestVault(t)
	rng := rand.New(rand.NewPCG(5, 6))
	names := []string{"a", "a-b", "a.c", "b", "c"}
	path := func() string {
		p := names[rng.IntN(len(names))]
		for rng.IntN(3) == 0 {
			p += "/" + names[rng.IntN(len(names))]
		}
		return p
	}
	for step := range 300 {
		_, err := v.Update(CommitOptions{}, func(tx *Tx) error {
			for range 1 + rng.IntN(3) {
				p := path()
				switch rng.IntN(5) {
				case 0, 1:
					_ = tx.Remove(p, RemoveRecursive)
					_ = tx.WriteSmall(p, []byte(fmt.Sprint(step)), false, true)
				case 2:
					_ = tx.Remove(p, RemoveRecursive)
					_ = tx.Mkdir(p, true)
				case 3:
					_ = tx.Remove(p, RemoveRecursive)
				case 4:
					_ = tx.Rename(p, path())
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		checkIndex(t, v, fmt.Sprintf("step %d", step))
	}
}
