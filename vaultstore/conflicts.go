package vaultstore

import (
	"fmt"
	"regexp"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/go-git/go-git/v5/plumbing"
)

// Conflict is a conflict copy in the head: the version of a file that lost
// a merge, kept beside the winner.
type Conflict struct {
	Path     string    // the copy
	Original string    // the path it was a version of
	Time     time.Time // committer time of the commit whose version it is
	Node     string    // the first 7 characters of that commit's author
}

const (
	conflictInfix      = ".sync-conflict-"
	conflictTimeLayout = "20060102-150405"
	maxNameLen         = 255
)

var conflictRE = regexp.MustCompile(`^(.*)\.sync-conflict-([0-9]{8}-[0-9]{6})-(v[0-9a-v]{6})(?:-[0-9]+)?(\.[^.]*)?$`)

// conflictTag is what a conflict copy's name says of where it came from:
// the UTC committer time and the short author of its commit.
func conflictTag(c *commitObj) string {
	return time.Unix(c.committerAt, 0).UTC().Format(conflictTimeLayout) + "-" + shortNode(c.author)
}

// splitExt splits a name before its extension: the part from the last dot,
// unless that dot starts the name (".env" has none).
func splitExt(name string) (string, string) {
	i := strings.LastIndexByte(name, '.')
	if i <= 0 {
		return name, ""
	}
	return name[:i], name[i:]
}

// conflictName is the name of a conflict copy of name:
// <stem>.sync-conflict-<tag>[-n]<ext>, shortened to a valid length.
func conflictName(name, tag string, n int) string {
	suffix := conflictInfix + tag
	if n > 1 {
		suffix += fmt.Sprintf("-%d", n)
	}
	stem, ext := splitExt(name)
	if len(suffix)+len(ext) >= maxNameLen/2 {
		stem, ext = name, ""
	}
	if room := maxNameLen - len(suffix) - len(ext); len(stem) > room {
		stem = stem[:room]
		for len(stem) > 0 && !utf8.ValidString(stem) {
			stem = stem[:len(stem)-1]
		}
	}
	return stem + suffix + ext
}

// freeConflictName returns the first conflict name for name not taken in
// the directory: the plain one, then -2, -3, …
func freeConflictName(name, tag string, taken map[string]treeEntry) string {
	for n := 1; ; n++ {
		c := conflictName(name, tag, n)
		if _, ok := taken[c]; !ok {
			return c
		}
	}
}

// Conflicts lists the conflict copies of the head, in path order.
// Deleting a copy resolves it.
func (v *Vault) Conflicts() ([]Conflict, error) {
	if err := v.checkUsable(); err != nil {
		return nil, err
	}
	var out []Conflict
	err := v.walkConflicts(v.head.Load().root, "", 0, &out)
	return out, err
}

func (v *Vault) walkConflicts(h plumbing.Hash, prefix string, depth int, out *[]Conflict) error {
	if depth > MaxTreeDepth {
		return fmt.Errorf("%w: trees nested deeper than %d", ErrCorrupt, MaxTreeDepth)
	}
	t, err := v.tree(h)
	if err != nil {
		return err
	}
	for _, e := range t.entries {
		p := e.name
		if prefix != "" {
			p = prefix + "/" + e.name
		}
		if e.isDir() {
			if err := v.walkConflicts(e.hash, p, depth+1, out); err != nil {
				return err
			}
			continue
		}
		m := conflictRE.FindStringSubmatch(e.name)
		if m == nil {
			continue
		}
		when, err := time.Parse(conflictTimeLayout, m[2])
		if err != nil {
			continue // looks like a copy, but is not one of ours
		}
		orig := m[1] + m[4]
		if prefix != "" {
			orig = prefix + "/" + orig
		}
		*out = append(*out, Conflict{Path: p, Original: orig, Time: when.UTC(), Node: m[3]})
	}
	return nil
}
