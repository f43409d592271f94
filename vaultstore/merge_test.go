package vaultstore

import (
	"fmt"
	"maps"
	"slices"
	"sort"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

var clockBase = time.Date(2026, 12, 3, 14, 15, 22, 0, time.UTC)

// setClock makes the store's commits carry start, then one second later
// at each commit.
func setClock(s *Store, start time.Time) {
	var n atomic.Int64
	s.now = func() time.Time { return start.Add(time.Duration(n.Add(1)-1) * time.Second) }
}

// dump returns every entry of v's head: files by content, directories as
// "<dir>" (the placeholder of empty ones is never listed).
func dump(t testing.TB, v *Vault) map[string]string {
	t.Helper()
	snap, err := v.Snapshot("")
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	err = snap.Walk("", func(e Entry) error {
		if e.Type == TypeDir {
			out[e.Path] = "<dir>"
			return nil
		}
		b, err := snap.ReadFile(e.Path)
		out[e.Path] = string(b)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func update(t testing.TB, v *Vault, fn func(*Tx) error) {
	t.Helper()
	if _, err := v.Update(CommitOptions{}, fn); err != nil {
		t.Fatal(err)
	}
}

// diverge makes a two-writer vault with base content, lets A (clock at
// clockBase) and B (an hour later: B wins same-file conflicts) change it
// apart, then exchanges both ways. Both must end on one head.
func diverge(t *testing.T, base, onA, onB func(*Tx) error) (a, b *Vault) {
	t.Helper()
	vs := writers(t, 2)
	a, b = vs[0], vs[1]
	setClock(a.s, clockBase)
	setClock(b.s, clockBase.Add(time.Hour))
	if base != nil {
		update(t, a, base)
		mustPull(t, a, b)
	}
	update(t, a, onA)
	update(t, b, onB)
	if r := mustPull(t, b, a); r.Outcome != Merged {
		t.Fatalf("A: %v, not a merge", r.Outcome)
	}
	if r := mustPull(t, a, b); r.Outcome != FastForward {
		t.Fatalf("B: %v, not a fast-forward to A's merge", r.Outcome)
	}
	if a.Head() != b.Head() {
		t.Fatal("the writers did not converge")
	}
	return a, b
}

func put(path, content string) func(*Tx) error {
	return func(tx *Tx) error { return tx.WriteSmall(path, []byte(content), false, true) }
}

func ops(fns ...func(*Tx) error) func(*Tx) error {
	return func(tx *Tx) error {
		for _, f := range fns {
			if err := f(tx); err != nil {
				return err
			}
		}
		return nil
	}
}

func rm(path string) func(*Tx) error {
	return func(tx *Tx) error { return tx.Remove(path, RemoveRecursive) }
}

func mv(from, to string) func(*Tx) error {
	return func(tx *Tx) error { return tx.Rename(from, to) }
}

func mkdir(path string) func(*Tx) error {
	return func(tx *Tx) error { return tx.Mkdir(path, true) }
}

// The merge rules of docs/multi-writer.md, one case each. A's commit is at
// 14:15:2x, B's an hour later: B wins, A's version becomes the copy.
func TestMergeRules(t *testing.T) {
	aTag := func(v *Vault, sec int) string {
		return fmt.Sprintf("20261203-1415%02d-%s", sec, shortNode(v.s.nodeID.String()))
	}
	cases := []struct {
		name           string
		base, onA, onB func(*Tx) error
		want           func(a *Vault) map[string]string
	}{
		{"different paths combine", put("x", "0"), put("a", "A"), put("b", "B"),
			func(*Vault) map[string]string { return map[string]string{"x": "0", "a": "A", "b": "B"} }},
		{"same change once", put("x", "0"), put("x", "1"), put("x", "1"),
			func(*Vault) map[string]string { return map[string]string{"x": "1"} }},
		{"same file: winner keeps the path, loser is a copy", put("config.yaml", "0"), put("config.yaml", "A"), put("config.yaml", "B"),
			func(a *Vault) map[string]string {
				return map[string]string{"config.yaml": "B", "config.sync-conflict-" + aTag(a, 23) + ".yaml": "A"}
			}},
		{"no extension: the suffix goes last", put(".env", "0"), put(".env", "A"), put(".env", "B"),
			func(a *Vault) map[string]string {
				return map[string]string{".env": "B", ".env.sync-conflict-" + aTag(a, 23): "A"}
			}},
		{"edit against delete: the edit survives", put("x", "0"), put("x", "A"), rm("x"),
			func(*Vault) map[string]string { return map[string]string{"x": "A"} }},
		{"delete against edit: the edit survives", put("x", "0"), rm("x"), put("x", "B"),
			func(*Vault) map[string]string { return map[string]string{"x": "B"} }},
		{"both delete", ops(put("x", "0"), put("y", "0")), rm("x"), rm("x"),
			func(*Vault) map[string]string { return map[string]string{"y": "0"} }},
		{"file against directory: the directory keeps the name", nil, put("n", "A"), put("n/f", "B"),
			func(a *Vault) map[string]string {
				return map[string]string{"n": "<dir>", "n/f": "B", "n.sync-conflict-" + aTag(a, 22): "A"}
			}},
		{"rename against edit keeps both", put("old", "0"), mv("old", "new"), put("old", "B"),
			func(*Vault) map[string]string { return map[string]string{"old": "B", "new": "0"} }},
		{"removed directory against an added file in it", ops(put("d/a", "0"), put("d/b", "0")), rm("d"), put("d/c", "B"),
			func(*Vault) map[string]string { return map[string]string{"d": "<dir>", "d/c": "B"} }},
		{"removed directory against an edit in it", ops(put("d/a", "0"), put("d/b", "0")), rm("d"), put("d/a", "B"),
			func(*Vault) map[string]string { return map[string]string{"d": "<dir>", "d/a": "B"} }},
		{"removed directory against a removal in it", ops(put("d/a", "0"), put("d/b", "0")), rm("d"), rm("d/a"),
			func(*Vault) map[string]string { return map[string]string{} }},
		{"directories merge recursively", put("d/x", "0"), put("d/e/a", "A"), put("d/e/b", "B"),
			func(*Vault) map[string]string {
				return map[string]string{"d": "<dir>", "d/x": "0", "d/e": "<dir>", "d/e/a": "A", "d/e/b": "B"}
			}},
		{"empty directories survive", nil, mkdir("ea"), mkdir("eb/c"),
			func(*Vault) map[string]string {
				return map[string]string{"ea": "<dir>", "eb": "<dir>", "eb/c": "<dir>"}
			}},
		{"emptied against mkdir", put("d/a", "0"), rm("d/a"), mkdir("d/e"),
			func(*Vault) map[string]string { return map[string]string{"d": "<dir>", "d/e": "<dir>"} }},
		{"exec bit against content", put("x", "0"), func(tx *Tx) error { return tx.Chmod("x", true) }, put("x", "B"), nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			a, _ := diverge(t, c.base, c.onA, c.onB)
			got := dump(t, a)
			if c.want != nil {
				if want := c.want(a); !maps.Equal(got, want) {
					t.Fatalf("merged\n%v\nwant\n%v", got, want)
				}
			}
			if conflicts, _ := a.Conflicts(); len(conflicts) != strings.Count(fmt.Sprint(slices.Sorted(maps.Keys(got))), "sync-conflict") {
				t.Fatalf("Conflicts() = %v for %v", conflicts, got)
			}
		})
	}
}

// A name already taken by another copy gets -2.
func TestMergeConflictNameTaken(t *testing.T) {
	name := func(v *Vault) string { return "k.sync-conflict-20261203-141523-" + shortNode(v.s.nodeID.String()) }
	vs := writers(t, 2)
	a, b := vs[0], vs[1]
	setClock(a.s, clockBase)
	setClock(b.s, clockBase.Add(time.Hour))
	update(t, a, ops(put("k", "0"), put(name(a), "taken")))
	mustPull(t, a, b)
	update(t, a, put("k", "A"))
	update(t, b, put("k", "B"))
	mustPull(t, b, a)
	got := dump(t, a)
	if got[name(a)] != "taken" || got[name(a)+"-2"] != "A" || got["k"] != "B" {
		t.Fatalf("merged %v", got)
	}
	cs, err := a.Conflicts()
	if err != nil || len(cs) != 2 {
		t.Fatalf("conflicts %v %v", cs, err)
	}
	for _, c := range cs {
		if c.Original != "k" || c.Node != shortNode(a.s.nodeID.String()) || !c.Time.Equal(clockBase.Add(time.Second)) {
			t.Errorf("conflict %+v", c)
		}
	}
}

// Two nodes that merge the same two heads each on their own write the
// same merge commit, byte for byte: no ping-pong.
func TestMergeIdenticalOnBothSides(t *testing.T) {
	vs := writers(t, 2)
	a, b := vs[0], vs[1]
	update(t, a, put("x", "A"))
	update(t, b, put("x", "B"))
	ha, hb := a.Head(), b.Head()
	movePack(t, a, b)
	movePack(t, b, a)
	ra, err := a.Integrate(hb, false)
	if err != nil {
		t.Fatal(err)
	}
	rb, err := b.Integrate(ha, false)
	if err != nil {
		t.Fatal(err)
	}
	if ra.Outcome != Merged || rb.Outcome != Merged || a.Head() != b.Head() {
		t.Fatalf("%v %v: heads %s %s", ra, rb, a.Head(), b.Head())
	}
	if r := mustPull(t, a, b); r.Outcome != Contained {
		t.Fatalf("exchange after the merge: %v", r.Outcome)
	}
	log, _ := a.Log(1)
	if !log[0].Merge || !strings.HasPrefix(log[0].Message, "Merge ") {
		t.Fatalf("log of the merge: %+v", log[0])
	}
	keys := slices.Sorted(maps.Keys(dump(t, a)))
	sort.Strings(keys)
	if len(keys) != 2 {
		t.Fatalf("merged %v", keys)
	}
}
