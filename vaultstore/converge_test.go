package vaultstore

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/go-git/go-git/v5/plumbing"
)

// historyBlobs returns every blob reachable from any commit of v's history.
func historyBlobs(t testing.TB, v *Vault) map[plumbing.Hash]bool {
	t.Helper()
	commits, err := v.ancestry(v.headCommit())
	if err != nil {
		t.Fatal(err)
	}
	out := map[plumbing.Hash]bool{}
	seen := map[plumbing.Hash]bool{}
	var walk func(h plumbing.Hash)
	walk = func(h plumbing.Hash) {
		if seen[h] {
			return
		}
		seen[h] = true
		tr, err := v.tree(h)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range tr.entries {
			if e.isDir() {
				walk(e.hash)
			} else {
				out[e.hash] = true
			}
		}
	}
	for _, c := range commits {
		co, err := v.readCommit(c)
		if err != nil {
			t.Fatal(err)
		}
		walk(co.tree)
	}
	return out
}

func blobHash(content string) plumbing.Hash {
	return computeHash(plumbing.BlobObject, []byte(content))
}

// Two writers, partitioned, each edit one shared file and files of their
// own 100 times; then they exchange both ways. Both end on the same head,
// each writer's last version of every file is at its path or in a
// conflict copy, and every version is in the history.
func TestTwoWritersConverge(t *testing.T) {
	vs := writers(t, 2)
	var all []string
	last := map[string]map[string]string{} // writer → path → last content
	for w, v := range vs {
		last[v.Name()+fmt.Sprint(w)] = map[string]string{}
		for i := range 100 {
			path := "shared.txt"
			if i%2 == 1 {
				path = fmt.Sprintf("w%d/f%d", w, i%10)
			}
			content := fmt.Sprintf("writer %d edit %d", w, i)
			write(t, v, path, content)
			all = append(all, content)
			last[v.Name()+fmt.Sprint(w)][path] = content
		}
	}
	a, b := vs[0], vs[1]
	var events []Event
	a.s.Subscribe(func(e Event) { events = append(events, e) })
	if r := mustPull(t, b, a); r.Outcome != Merged || r.Commits != 100 {
		t.Fatalf("A: %+v", r)
	}
	if len(events) != 1 || !events[0].Remote || len(events[0].Changes) == 0 {
		t.Fatalf("the merge's event: %+v", events)
	}
	if r := mustPull(t, a, b); r.Outcome != FastForward {
		t.Fatalf("B: %+v", r)
	}
	if a.Head() != b.Head() {
		t.Fatal("heads differ")
	}
	final := dump(t, a)
	contents := map[string]bool{}
	for _, c := range final {
		contents[c] = true
	}
	for w, files := range last {
		for path, content := range files {
			if final[path] != content && !contents[content] {
				t.Errorf("writer %s: the last version of %s is lost", w, path)
			}
		}
	}
	cs, _ := a.Conflicts()
	if len(cs) != 1 || cs[0].Original != "shared.txt" {
		t.Errorf("conflicts %+v", cs)
	}
	blobs := historyBlobs(t, b)
	for _, c := range all {
		if !blobs[blobHash(c)] {
			t.Errorf("version %q is not in the history", c)
		}
	}
}

// write3 is one acknowledged write of the random test: its content is
// unique, and it was committed as commit at path.
type write3 struct {
	path, content string
	commit        plumbing.Hash
}

// Three writers make random creates, modifies, deletes, renames and
// mkdirs, with random one-way exchanges between them; then they exchange
// until quiet. All end on one head; no acknowledged write is lost: each is
// in the final tree (at a path or in a conflict copy), or a commit that
// descends from it replaced it, and every one is in the history.
func TestThreeWritersConverge(t *testing.T) {
	seeds := []uint64{1, 2, 3}
	if testing.Short() {
		seeds = seeds[:1]
	}
	for _, seed := range seeds {
		t.Run(fmt.Sprint("seed", seed), func(t *testing.T) { threeWriters(t, seed, 300) })
	}
}

func threeWriters(t *testing.T, seed uint64, nops int) {
	rng := rand.New(rand.NewPCG(seed, seed))
	vs := writers(t, 3)
	for i, v := range vs {
		setClock(v.s, clockBase.Add(time.Duration(rng.IntN(100)+i)*time.Second))
	}
	var writes []write3
	for i := range nops {
		w := rng.IntN(3)
		if rng.IntN(4) == 0 {
			to := (w + 1 + rng.IntN(2)) % 3
			if _, err := pull(t, vs[w], vs[to]); err != nil {
				t.Fatalf("op %d: pull %d→%d: %v", i, w, to, err)
			}
			continue
		}
		if wr, ok := randomOp(t, rng, vs[w], fmt.Sprintf("s%d w%d op%d", seed, w, i)); ok {
			writes = append(writes, wr)
		}
	}
	for round := 0; ; round++ {
		if round > 10 {
			t.Fatal("no convergence after 10 rounds of exchanges")
		}
		for i := range vs {
			for j := range vs {
				if i != j {
					mustPull(t, vs[i], vs[j])
				}
			}
		}
		if vs[0].Head() == vs[1].Head() && vs[1].Head() == vs[2].Head() {
			break
		}
	}
	if testing.Verbose() {
		log, _ := vs[0].ancestry(vs[0].headCommit())
		merges := 0
		for _, h := range log {
			if c, _ := vs[0].readCommit(h); len(c.parents) == 2 {
				merges++
			}
		}
		cs, _ := vs[0].Conflicts()
		t.Logf("%d writes, %d commits, %d merges, %d conflict copies, %d files", len(writes), len(log), merges, len(cs), len(dump(t, vs[0])))
	}
	checkNoWriteLost(t, vs[0], writes)
	for _, v := range vs {
		if rep, err := v.Verify(); err != nil || !rep.OK() {
			t.Fatalf("verify: %v %v", err, rep.Problems)
		}
	}
}

var names3 = []string{"a", "b", "c.txt", "d/x", "d/y.yaml", "d/e/z", "f/g"}

// randomOp makes one random change as one commit; it returns the write it
// made (false for a remove, rename or mkdir, or a change refused by the
// tree's shape, such as a file where a directory is).
func randomOp(t *testing.T, rng *rand.Rand, v *Vault, content string) (write3, bool) {
	p := names3[rng.IntN(len(names3))]
	var fn func(*Tx) error
	isWrite := false
	switch k := rng.IntN(10); {
	case k < 5:
		fn, isWrite = put(p, content), true
	case k < 7:
		parts := strings.Split(p, "/") // the file, or a directory above it
		fn = rm(strings.Join(parts[:1+rng.IntN(len(parts))], "/"))
	case k < 9:
		fn = mv(p, names3[rng.IntN(len(names3))])
	default:
		fn = mkdir(p + "dir")
	}
	h, err := v.Update(CommitOptions{}, fn)
	if err != nil {
		return write3{}, false // not applicable to this tree
	}
	return write3{path: p, content: content, commit: h.git()}, isWrite
}

func checkNoWriteLost(t *testing.T, v *Vault, writes []write3) {
	final := dump(t, v)
	present := map[string]bool{}
	for _, c := range final {
		present[c] = true
	}
	blobs := historyBlobs(t, v)
	replaced := replacedVersions(t, v)
	for _, w := range writes {
		if !blobs[blobHash(w.content)] {
			t.Errorf("%q is not in the history", w.content)
			continue
		}
		if present[w.content] {
			continue
		}
		ok := false
		for _, d := range replaced[blobHash(w.content)] {
			if anc, err := v.isAncestor(w.commit, []plumbing.Hash{d}); err == nil && anc {
				ok = true
				break
			}
		}
		if !ok {
			t.Errorf("%q (%s at %s) is gone, and no commit that saw it replaced it", w.content, w.path, w.commit)
		}
	}
}

// replacedVersions maps each blob to the parents of the non-merge commits
// that removed it from its path (changed, deleted, renamed away).
func replacedVersions(t *testing.T, v *Vault) map[plumbing.Hash][]plumbing.Hash {
	commits, err := v.ancestry(v.headCommit())
	if err != nil {
		t.Fatal(err)
	}
	out := map[plumbing.Hash][]plumbing.Hash{}
	for _, h := range commits {
		c, _ := v.readCommit(h)
		if len(c.parents) != 1 {
			continue
		}
		p, _ := v.readCommit(c.parents[0])
		var ds []diffEntry
		if err := v.diffTrees(p.tree, c.tree, "", &ds, nil); err != nil {
			t.Fatal(err)
		}
		for _, d := range ds {
			if !d.dir && !d.oldHash.IsZero() && !slices.Contains(out[d.oldHash], c.parents[0]) {
				out[d.oldHash] = append(out[d.oldHash], c.parents[0])
			}
		}
	}
	return out
}
