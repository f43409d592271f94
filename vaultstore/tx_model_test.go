package vaultstore

import (
	"fmt"
	"maps"
	"math/rand/v2"
	"strings"
	"testing"
)

// txModel is what a vault should hold: path → file content, or isDir for
// a directory.
type txModel map[string]string

const isDir = "\x00dir"

func (m txModel) parentOK(p string, create bool) bool {
	parts := strings.Split(p, "/")
	for i := 1; i < len(parts); i++ {
		q := strings.Join(parts[:i], "/")
		c, ok := m[q]
		switch {
		case ok && c != isDir:
			return false
		case !ok && !create:
			return false
		case !ok:
			m[q] = isDir
		}
	}
	return true
}

func (m txModel) hasChildren(p string) bool {
	for q := range m {
		if strings.HasPrefix(q, p+"/") {
			return true
		}
	}
	return false
}

func (m txModel) removeTree(p string) {
	for q := range m {
		if q == p || strings.HasPrefix(q, p+"/") {
			delete(m, q)
		}
	}
}

func (m txModel) write(p, c string) bool {
	if !m.parentOK(p, true) || m[p] == isDir {
		return false
	}
	m[p] = c
	return true
}

func (m txModel) mkdirAll(p string) bool {
	if !m.parentOK(p, true) {
		return false
	}
	if c, ok := m[p]; ok {
		return c == isDir
	}
	m[p] = isDir
	return true
}

func (m txModel) rename(f, t string) bool {
	src, ok := m[f]
	switch {
	case f == t:
		return ok
	case strings.HasPrefix(t, f+"/"), !ok, !m.parentOK(t, false):
		return false
	}
	if dst, ok := m[t]; ok {
		if (src == isDir) != (dst == isDir) || (dst == isDir && m.hasChildren(t)) {
			return false
		}
	}
	moved := txModel{}
	for q, c := range m {
		if q == f || strings.HasPrefix(q, f+"/") {
			moved[t+q[len(f):]] = c
		}
	}
	m.removeTree(f)
	m.removeTree(t)
	maps.Copy(m, moved)
	return true
}

// Random transactions of writes, removals, mkdirs and renames, over a small
// namespace where names collide across kinds, end up exactly as a model of
// their semantics says; a transaction with a failing step changes nothing.
func TestTxMatchesModel(t *testing.T) {
	v := newTestVault(t)
	model := txModel{}
	rng := rand.New(rand.NewPCG(7, 8))
	names := []string{"a", "a-b", "a.c", "b", "c"}
	path := func() string {
		p := names[rng.IntN(len(names))]
		for rng.IntN(3) == 0 {
			p += "/" + names[rng.IntN(len(names))]
		}
		return p
	}
	for step := range 400 {
		next := maps.Clone(model)
		ok := true
		_, err := v.Update(CommitOptions{}, func(tx *Tx) error {
			for range 1 + rng.IntN(4) {
				p, q := path(), path()
				c := fmt.Sprint(step, rng.IntN(3))
				var err error
				var want bool
				switch rng.IntN(6) {
				case 0, 1:
					err, want = tx.WriteSmall(p, []byte(c), false, true), next.write(p, c)
				case 2:
					_, exists := next[p]
					err, want = tx.Remove(p, RemoveRecursive), exists
					next.removeTree(p)
				case 3:
					err, want = tx.Mkdir(p, true), next.mkdirAll(p)
				case 4, 5:
					err, want = tx.Rename(p, q), next.rename(p, q)
				}
				if (err == nil) != want {
					return fmt.Errorf("model says %v, the transaction %v", want, err)
				}
				if err != nil {
					ok = false
					return err
				}
			}
			return nil
		})
		if ok && err != nil {
			t.Fatalf("step %d: %v", step, err)
		}
		if ok {
			model = next
		}
		got := txModel{}
		snap, _ := v.Snapshot("")
		if err := snap.Walk("", func(e Entry) error {
			if e.Type == TypeDir {
				got[e.Path] = isDir
				return nil
			}
			b, err := snap.ReadFile(e.Path)
			got[e.Path] = string(b)
			return err
		}); err != nil {
			t.Fatal(err)
		}
		if !maps.Equal(got, model) {
			t.Fatalf("step %d: vault %v, model %v", step, got, model)
		}
		checkIndex(t, v, fmt.Sprintf("step %d", step))
	}
}

// A transaction of many changes gets a message of at most maxMessageLines
// lines and a count of the others.
func TestGeneratedMessageIsBounded(t *testing.T) {
	v := newTestVault(t)
	mustUpdate(t, v, func(tx *Tx) error {
		for i := range maxMessageLines + 50 {
			if err := tx.WriteSmall(fmt.Sprintf("f%03d", i), []byte("x"), false, false); err != nil {
				return err
			}
		}
		return nil
	})
	log, err := v.Log(1)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(log[0].Message, "\n")
	if len(lines) != maxMessageLines+1 || lines[0] != "f000 added" || lines[maxMessageLines] != "… and 50 more changes" {
		t.Fatalf("%d lines, first %q, last %q", len(lines), lines[0], lines[len(lines)-1])
	}
}
