package vaultstore

import (
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/go-git/go-git/v5/plumbing"
)

// LogEntry is one commit of a vault's history.
type LogEntry struct {
	ID        Hash
	Committer string // node ID of the committer
	Time      time.Time
	Message   string
	Merge     bool // a merge of two diverged histories (docs/multi-writer.md)
}

// maxRevWalk bounds the commits a short-ID lookup examines.
const maxRevWalk = 1 << 20

// Resolve turns a revision into a commit hash. Accepted: "HEAD", "main",
// a full or short (4+ hex digits) commit ID, each optionally followed by
// "~N" or "^" steps along first parents.
func (v *Vault) Resolve(rev string) (Hash, error) {
	h, err := v.resolve(rev)
	return Hash(h), err
}

func (v *Vault) resolve(rev string) (plumbing.Hash, error) {
	base, steps, err := splitRev(rev)
	if err != nil {
		return plumbing.ZeroHash, err
	}
	h, err := v.resolveBase(base)
	if err != nil {
		return plumbing.ZeroHash, err
	}
	for i := 0; i < steps; i++ {
		c, err := v.commit(h)
		if err != nil {
			return plumbing.ZeroHash, err
		}
		if len(c.ParentHashes) == 0 {
			return plumbing.ZeroHash, fmt.Errorf("%w: %q goes past the first commit", ErrRevision, rev)
		}
		h = c.ParentHashes[0]
	}
	return h, nil
}

func splitRev(rev string) (string, int, error) {
	i := strings.IndexAny(rev, "~^")
	if i < 0 {
		return rev, 0, nil
	}
	base, rest, steps := rev[:i], rev[i:], 0
	for rest != "" {
		op := rest[0]
		if op != '~' && op != '^' {
			return "", 0, fmt.Errorf("%w: %q", ErrRevision, rev)
		}
		rest = rest[1:]
		j := 0
		for j < len(rest) && rest[j] >= '0' && rest[j] <= '9' {
			j++
		}
		n := 1
		if j > 0 {
			var err error
			if n, err = strconv.Atoi(rest[:j]); err != nil || n > maxRevWalk {
				return "", 0, fmt.Errorf("%w: %q", ErrRevision, rev)
			}
		}
		if op == '^' && j > 0 && n != 1 {
			return "", 0, fmt.Errorf("%w: %q: only first parents are supported", ErrRevision, rev)
		}
		steps += n
		rest = rest[j:]
	}
	return base, steps, nil
}

func (v *Vault) resolveBase(base string) (plumbing.Hash, error) {
	switch base {
	case "", "HEAD", "main", string(Branch):
		h := v.headCommit()
		if h.IsZero() {
			return h, fmt.Errorf("%w: the vault has no commits yet", ErrRevision)
		}
		return h, nil
	}
	if len(base) < 4 || len(base) > 40 {
		return plumbing.ZeroHash, fmt.Errorf("%w: %q", ErrRevision, base)
	}
	base = strings.ToLower(base)
	if _, err := hex.DecodeString(base + strings.Repeat("0", len(base)%2)); err != nil {
		return plumbing.ZeroHash, fmt.Errorf("%w: %q", ErrRevision, base)
	}
	if len(base) == 40 {
		h := plumbing.NewHash(base)
		if m, err := v.objs.getMeta(h); err != nil || m.typ != plumbing.CommitObject {
			return plumbing.ZeroHash, fmt.Errorf("%w: %q", ErrRevision, base)
		}
		return h, nil
	}
	var found []plumbing.Hash
	err := v.walkCommits(func(h plumbing.Hash) bool {
		if strings.HasPrefix(h.String(), base) {
			found = append(found, h)
		}
		return len(found) < 2
	})
	if err != nil {
		return plumbing.ZeroHash, err
	}
	switch len(found) {
	case 0:
		return plumbing.ZeroHash, fmt.Errorf("%w: %q", ErrRevision, base)
	case 1:
		return found[0], nil
	}
	return plumbing.ZeroHash, fmt.Errorf("%w: %q", ErrAmbiguous, base)
}

// walkCommits visits every commit reachable from the head once, until fn
// returns false.
func (v *Vault) walkCommits(fn func(plumbing.Hash) bool) error {
	head := v.headCommit()
	if head.IsZero() {
		return nil
	}
	seen := map[plumbing.Hash]bool{head: true}
	queue := []plumbing.Hash{head}
	for len(queue) > 0 && len(seen) <= maxRevWalk {
		h := queue[0]
		queue = queue[1:]
		if !fn(h) {
			return nil
		}
		c, err := v.commit(h)
		if err != nil {
			return err
		}
		for _, p := range c.ParentHashes {
			if !seen[p] {
				seen[p] = true
				queue = append(queue, p)
			}
		}
	}
	return nil
}

// Log returns up to n commits (all when n <= 0) along first parents from
// the head, newest first.
func (v *Vault) Log(n int) ([]LogEntry, error) {
	if err := v.checkUsable(); err != nil {
		return nil, err
	}
	var out []LogEntry
	h := v.headCommit()
	for !h.IsZero() && (n <= 0 || len(out) < n) {
		c, err := v.commit(h)
		if err != nil {
			return out, err
		}
		out = append(out, LogEntry{ID: Hash(h), Committer: c.Committer.Name, Time: c.Committer.When, Message: strings.TrimRight(c.Message, "\n"), Merge: len(c.ParentHashes) > 1})
		h = plumbing.ZeroHash
		if len(c.ParentHashes) > 0 {
			h = c.ParentHashes[0]
		}
	}
	return out, nil
}

// Version makes the vault's content equal to rev's with a new commit on top
// of the head: history is never rewritten, and the old head stays
// reachable. It returns the new head (the head itself when the content is
// already equal).
func (v *Vault) Version(rev string, o CommitOptions) (Hash, error) {
	h, err := v.resolve(rev)
	if err != nil {
		return ZeroHash, err
	}
	c, err := v.commit(h)
	if err != nil {
		return ZeroHash, err
	}
	if o.Message == "" {
		o.Message = "Revert to " + h.String()[:12]
	}
	return v.Update(o, func(tx *Tx) error {
		root, err := tx.load(c.TreeHash)
		if err != nil {
			return err
		}
		tx.root = root
		return nil
	})
}
