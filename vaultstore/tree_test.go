package vaultstore

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/go-git/go-git/v5/plumbing/filemode"
)

// gitCompare agrees with git's rule (a directory's name compared as if it
// ended with '/') on names that are prefixes of each other and on bytes
// around '/'.
func TestGitCompare(t *testing.T) {
	alphabet := []string{"a", "b", "-", ".", "0", "\xff", "z"}
	rng := rand.New(rand.NewPCG(1, 2))
	name := func() string {
		var b strings.Builder
		for range 1 + rng.IntN(3) {
			b.WriteString(alphabet[rng.IntN(len(alphabet))])
		}
		return b.String()
	}
	for range 20000 {
		a := treeEntry{name: name(), mode: filemode.Regular}
		b := treeEntry{name: name(), mode: filemode.Regular}
		if rng.IntN(2) == 0 {
			a.mode = filemode.Dir
		}
		if rng.IntN(2) == 0 {
			b.mode = filemode.Dir
		}
		key := func(e treeEntry) string {
			if e.isDir() {
				return e.name + "/"
			}
			return e.name
		}
		want := strings.Compare(key(a), key(b))
		if got := gitCompare(&a, &b); got != want {
			t.Fatalf("gitCompare(%q dir=%v, %q dir=%v) = %d, want %d", a.name, a.isDir(), b.name, b.isDir(), got, want)
		}
	}
}

// A tree that holds a file and a directory of the same name is refused,
// even when other entries sort between them.
func TestDecodeTreeRefusesFileAndDirOfOneName(t *testing.T) {
	var h [20]byte
	for _, n := range []int{0, 20} { // linear and binary search sizes
		es := []treeEntry{{name: "x", mode: filemode.Regular, hash: h}, {name: "x-y", mode: filemode.Regular, hash: h}, {name: "x", mode: filemode.Dir, hash: h}}
		for i := range n {
			es = append(es, treeEntry{name: fmt.Sprintf("z%02d", i), mode: filemode.Regular, hash: h})
		}
		if _, err := decodeTree(encodeTree(es)); !errors.Is(err, ErrCorrupt) {
			t.Fatalf("%d entries: %v", len(es), err)
		}
	}
}

// find returns every entry by name, files and directories, and nothing for
// names the tree does not hold, at every tree size.
func TestTreeFind(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for size := 0; size < 60; size++ {
		var es []treeEntry
		names := map[string]bool{}
		for len(es) < size {
			n := fmt.Sprintf("%c%d", 'a'+rng.IntN(5), rng.IntN(50))
			if names[n] {
				continue
			}
			names[n] = true
			m := filemode.Regular
			switch rng.IntN(3) {
			case 0:
				m = filemode.Dir
			case 1:
				m = filemode.Executable
			}
			es = append(es, treeEntry{name: n, mode: m})
		}
		tr, err := decodeTree(encodeTree(es))
		if err != nil {
			t.Fatal(err)
		}
		for n := range names {
			if e, ok := tr.find(n); !ok || e.name != n {
				t.Fatalf("size %d: %q not found", size, n)
			}
		}
		for _, n := range []string{"", "a", "zz", "a1/", "b999"} {
			if _, ok := tr.find(n); ok != names[n] {
				t.Fatalf("size %d: find(%q) = %v", size, n, ok)
			}
		}
	}
}
