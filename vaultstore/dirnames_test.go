package vaultstore

import (
	"errors"
	"testing"
)

// ReadDirNames lists what ReadDir lists, without sizes and mtimes, and
// still lists a directory in which an object is damaged.
func TestReadDirNames(t *testing.T) {
	s, db, _ := newTestStore(t)
	v, _ := s.Create("v")
	write(t, v, "d/a", "aaa")
	write(t, v, "d/b", "bbbb")
	mustUpdate(t, v, func(tx *Tx) error { return tx.Mkdir("d/sub", false) })
	snap, _ := v.Snapshot("")
	full, err := snap.ReadDir("d")
	if err != nil {
		t.Fatal(err)
	}
	names, err := snap.ReadDirNames("d")
	if err != nil {
		t.Fatal(err)
	}
	if len(names) != len(full) || len(names) != 3 {
		t.Fatalf("ReadDirNames %v, ReadDir %v", names, full)
	}
	for i, e := range names {
		f := full[i]
		if e.Name != f.Name || e.Path != f.Path || e.Type != f.Type || e.Exec != f.Exec || e.Hash != f.Hash || e.Size != 0 {
			t.Errorf("entry %d: %+v, ReadDir has %+v", i, e, f)
		}
	}
	if _, err := snap.ReadDirNames("d/a"); !errors.Is(err, ErrNotDir) {
		t.Errorf("ReadDirNames of a file: %v", err)
	}

	ea, _ := snap.Stat("d/a")
	db.TestOnlyTamper(v.objs.meta, ea.Hash[:], flip)
	v.objs.cache.remove(ea.Hash.git())
	if _, err := snap.ReadDir("d"); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("ReadDir with a damaged object: %v", err)
	}
	if names, err := snap.ReadDirNames("d"); err != nil || len(names) != 3 {
		t.Fatalf("ReadDirNames with a damaged object: %v, %v", names, err)
	}
}
