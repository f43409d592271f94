package vaultstore

import (
	"fmt"
	"testing"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/pkfs/pkfs/internal/kvstore"
)

var fuzzPaths = []string{"a", "b.txt", "d/a", "d/e/b.txt", "d/e", "f", "f/g", ".h"}

// buildTree applies the operations coded in ops to tree base and returns
// the new tree, stored in v (operations that do not apply are skipped).
func buildTree(t testing.TB, v *Vault, base plumbing.Hash, ops []byte) plumbing.Hash {
	tx := &Tx{v: v}
	root, err := tx.load(base)
	if err != nil {
		t.Fatal(err)
	}
	tx.root = root
	for i := 0; i+2 < len(ops); i += 3 {
		p := fuzzPaths[int(ops[i+1])%len(fuzzPaths)]
		switch ops[i] % 5 {
		case 0, 1:
			tx.WriteSmall(p, []byte(fmt.Sprint("content ", ops[i+2]%5)), ops[i+2]%7 == 0, true)
		case 2:
			tx.Remove(p, RemoveRecursive)
		case 3:
			tx.Mkdir(p, true)
		case 4:
			tx.Rename(p, fuzzPaths[int(ops[i+2])%len(fuzzPaths)])
		}
	}
	var bt kvstore.Batch
	for _, p := range tx.pending {
		p.addTo(v.objs, &bt)
	}
	h, err := tx.serialize(tx.root, true, &bt)
	if err != nil {
		t.Fatal(err)
	}
	if err := v.s.db.Write(&bt, false); err != nil {
		t.Fatal(err)
	}
	for th, tr := range tx.trees {
		v.trees.put(th, tr)
	}
	return h
}

// files lists the files of a tree (merged ones from the overlay) as
// "mode hash" → count.
func files(t testing.TB, v *Vault, ov overlay, h plumbing.Hash, out map[string]int) {
	tr, ok := ov[h]
	if !ok {
		var err error
		if tr, err = v.tree(h); err != nil {
			t.Fatal(err)
		}
	}
	for _, e := range tr.entries {
		switch {
		case e.isDir():
			files(t, v, ov, e.hash, out)
		case e.name != keepName:
			out[fmt.Sprint(e.mode, e.hash)]++
		}
	}
}

// changedFiles lists the files of side that differ from base at their
// path: the changes a merge must keep somewhere.
func changedFiles(t testing.TB, v *Vault, base, side plumbing.Hash) []string {
	var ds []diffEntry
	if err := v.diffTrees(base, side, "", &ds, nil); err != nil {
		t.Fatal(err)
	}
	var out []string
	snap := &Snapshot{v: v, root: side}
	for _, d := range ds {
		if d.dir || d.newHash.IsZero() {
			continue
		}
		parts, _ := CleanPath(d.path)
		e, err := snap.find(parts)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, fmt.Sprint(e.mode, e.hash))
	}
	return out
}

// The tree merge is deterministic, symmetric in its two sides (the
// winner follows its side), and keeps every change of each side: at its
// path or in a conflict copy.
func FuzzMerge(f *testing.F) {
	v := newTestVault(f)
	f.Add([]byte{0, 0, 1, 0, 2, 2}, []byte{0, 0, 2}, []byte{0, 0, 3}, true)
	f.Add([]byte{0, 2, 1, 0, 3, 1}, []byte{2, 4, 0, 0, 4, 1}, []byte{0, 2, 2, 3, 1, 0}, false)
	f.Add([]byte{0, 5, 1}, []byte{2, 5, 0, 0, 6, 1}, []byte{0, 5, 2}, true)
	f.Add([]byte{0, 1, 1, 0, 3, 2}, []byte{4, 1, 7}, []byte{0, 1, 3, 2, 3, 0}, false)
	f.Fuzz(func(t *testing.T, opsB, opsX, opsY []byte, xWins bool) {
		if len(opsB)+len(opsX)+len(opsY) > 300 {
			return
		}
		b := buildTree(t, v, emptyTreeHash, opsB)
		x := buildTree(t, v, b, opsX)
		y := buildTree(t, v, b, opsY)
		merge := func(b, x, y plumbing.Hash, xWins bool, xTag, yTag string) (*treeMerger, plumbing.Hash) {
			m := &treeMerger{v: v, xWins: xWins, xTag: xTag, yTag: yTag, made: map[plumbing.Hash][]byte{}, decoded: overlay{}}
			h, err := m.merge(b, x, y, 0)
			if err != nil {
				t.Fatal(err)
			}
			return m, h
		}
		m, h := merge(b, x, y, xWins, "20261203-141522-vxxxxxx", "20261203-141523-vyyyyyy")
		if _, again := merge(b, x, y, xWins, "20261203-141522-vxxxxxx", "20261203-141523-vyyyyyy"); again != h {
			t.Fatal("the merge is not deterministic")
		}
		if _, swapped := merge(b, y, x, !xWins, "20261203-141523-vyyyyyy", "20261203-141522-vxxxxxx"); swapped != h {
			t.Fatal("the merge depends on the order of its sides")
		}
		have := map[string]int{}
		files(t, v, m.decoded, h, have)
		for _, side := range []plumbing.Hash{x, y} {
			for _, f := range changedFiles(t, v, b, side) {
				if have[f] == 0 {
					t.Fatalf("a change of one side (%s) is lost", f)
				}
			}
		}
		for th, content := range m.made {
			if computeHash(plumbing.TreeObject, content) != th {
				t.Fatal("a made tree does not match its hash")
			}
			if _, err := decodeTree(content); err != nil {
				t.Fatalf("the merge made an invalid tree: %v", err)
			}
		}
	})
}
