package vaultstore

import (
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// Verify ran loadHead without the commit lock: a commit landing between its
// read of the ref and its store of the head put the old head back in
// memory, and the next commit was made on top of it, dropping the commit in
// between from the branch (its change lost from HEAD).
func TestReviewVerifyDoesNotRegressHead(t *testing.T) {
	s, _, _ := newTestStore(t)
	for round := 0; round < 40; round++ {
		v, err := s.Create(fmt.Sprintf("v%d", round))
		if err != nil {
			t.Fatal(err)
		}
		var stop atomic.Bool
		var wg sync.WaitGroup
		wg.Add(1)
		go func() {
			defer wg.Done()
			for !stop.Load() {
				if _, err := v.Verify(); err != nil {
					t.Error(err)
					return
				}
			}
		}()
		const n = 60
		for i := 0; i < n; i++ {
			write(t, v, fmt.Sprintf("f%03d", i), "content")
		}
		stop.Store(true)
		wg.Wait()
		snap, err := v.Snapshot("")
		if err != nil {
			t.Fatal(err)
		}
		missing := 0
		for i := 0; i < n; i++ {
			if _, err := snap.Stat(fmt.Sprintf("f%03d", i)); err != nil {
				missing++
			}
		}
		if missing > 0 {
			t.Fatalf("round %d: %d of %d committed files are gone from HEAD after a concurrent verify", round, missing, n)
		}
		if l, _ := v.Log(0); len(l) != n+1 { // the initial commit and n writes
			t.Fatalf("round %d: %d commits on the branch, want %d", round, len(l), n+1)
		}
	}
}

// Touch wrote the mtime index outside the commit lock, after checking the
// path at a snapshot: an unlink committed in between left an mtime entry
// for a path that no longer exists.
func TestReviewTouchRacingRemoveLeavesNoIndexEntry(t *testing.T) {
	v := newTestVault(t)
	for round := 0; round < 200; round++ {
		p := fmt.Sprintf("f%d", round)
		write(t, v, p, "x")
		var wg sync.WaitGroup
		wg.Add(2)
		go func() {
			defer wg.Done()
			_ = v.Touch(p, time.Unix(1, 0))
		}()
		go func() {
			defer wg.Done()
			if _, err := v.Update(CommitOptions{}, func(tx *Tx) error { return tx.Remove(p, RemoveFile) }); err != nil {
				t.Error(err)
			}
		}()
		wg.Wait()
		if _, err := v.mtimes.Get([]byte(p)); err == nil {
			t.Fatalf("round %d: the mtime index has an entry for %s, which HEAD does not have", round, p)
		}
	}
}

// A synced update that changes nothing made no commit and did not sync
// either: an fsync (or a CLI write) of content equal to the head returned
// success while the commit that made that head, written unsynced by an
// earlier close, could still be lost to a power cut.
func TestReviewSyncedNoOpUpdateSyncs(t *testing.T) {
	s, db, _ := newTestStore(t)
	v, err := s.Create("v")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := v.Update(CommitOptions{}, func(tx *Tx) error { return tx.WriteSmall("f", []byte("x"), false, false) }); err != nil {
		t.Fatal(err)
	}
	if !db.TestOnlyUnsynced() {
		t.Skip("the store synced on its own meanwhile")
	}
	if _, err := v.Update(CommitOptions{Sync: true}, func(tx *Tx) error { return tx.WriteSmall("f", []byte("x"), false, false) }); err != nil {
		t.Fatal(err)
	}
	if db.TestOnlyUnsynced() {
		t.Fatal("a synced update returned with the head's commit still unsynced")
	}
}
