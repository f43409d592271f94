package kvstore

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

// Older journals are synced before a synced write; the newest is left to
// the write itself; a rotation during the write syncs what came before the
// new journal.
func TestJournalSyncRules(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) {
		f, err := os.OpenFile(filepath.Join(dir, name), os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
		if err != nil {
			t.Fatal(err)
		}
		f.WriteString(content)
		f.Close()
	}
	j := &journals{dir: dir}
	write("000001.log", "old journal")
	write("000002.log", "current")
	write("LOG", "goleveldb's info log, not a journal")
	if err := j.before(); err != nil {
		t.Fatal(err)
	}
	if j.synced["000001.log"] != int64(len("old journal")) {
		t.Fatalf("the older journal was not synced: %v", j.synced)
	}
	if _, ok := j.synced["000002.log"]; ok {
		t.Fatal("the newest journal is the write's own to sync")
	}
	if _, ok := j.synced["LOG"]; ok {
		t.Fatal("LOG is not a journal")
	}
	write("000001.log", ", grown")
	j.before()
	if j.synced["000001.log"] != int64(len("old journal, grown")) {
		t.Fatal("a grown older journal was not synced again")
	}
	// the write rotated: 000003 appears; 000002 must now be synced
	write("000003.log", "new")
	if err := j.after(); err != nil {
		t.Fatal(err)
	}
	if j.synced["000002.log"] != int64(len("current")) {
		t.Fatalf("the journal rotated away from was not synced: %v", j.synced)
	}
	if newestJournal(map[string]int64{"000009.log": 0, "000010.log": 0}) != "000010.log" {
		t.Fatal("newest journal by number")
	}
}

// A smoke test on a real store: writes past the write buffer (so goleveldb
// rotates its journal) then a synced write succeed, and the value is there.
func TestSyncedWriteAfterRotation(t *testing.T) {
	d, _ := openTest(t)
	b := d.Bucket("big")
	v := bytes.Repeat([]byte("x"), 1<<20)
	for i := 0; i < 40; i++ {
		if err := b.Put([]byte(fmt.Sprint(i)), v, false); err != nil {
			t.Fatal(err)
		}
	}
	if err := b.Put([]byte("ref"), []byte("head"), true); err != nil {
		t.Fatal(err)
	}
	if got, err := b.Get([]byte("ref")); err != nil || string(got) != "head" {
		t.Fatalf("%q %v", got, err)
	}
}
