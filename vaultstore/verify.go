package vaultstore

import (
	"fmt"
	"io"

	"github.com/go-git/go-git/v5/plumbing"
)

// VerifyReport is the result of Verify.
type VerifyReport struct {
	Objects  int      // stored objects checked
	Commits  int      // commits reachable from the head
	Refs     int      // references checked
	Problems []string // empty when the vault is sound
}

// OK reports whether no problem was found.
func (r *VerifyReport) OK() bool { return len(r.Problems) == 0 }

// Verify checks every stored object (authentication, decoding, git hash),
// every reference, and that everything reachable from the head exists.
// Damage is reported in the report, not as an error; the error is for
// failures to run the check at all.
func (v *Vault) Verify() (*VerifyReport, error) {
	if err := v.checkUsable(); err != nil {
		return nil, err
	}
	r := &VerifyReport{}
	bad := func(format string, a ...any) { r.Problems = append(r.Problems, fmt.Sprintf(format, a...)) }
	var hashes []plumbing.Hash
	err := v.objs.meta.Scan(func(k, _ []byte, err error) error {
		if err != nil {
			r.Objects++
			bad("object entry: %v", err)
			return nil
		}
		var h plumbing.Hash
		copy(h[:], k)
		hashes = append(hashes, h)
		return nil
	})
	if err != nil {
		bad("object index: %v", err)
	}
	for _, h := range hashes {
		r.Objects++
		v.objs.cache.remove(h)
		m, err := v.objs.getMeta(h)
		if err != nil {
			bad("object %s: %v", h, err)
			continue
		}
		if m.chunked() {
			if err := v.objs.streamChunks(h, m, io.Discard); err != nil {
				bad("object %s: %v", h, err)
			}
		}
	}
	if err := v.refs.Scan(func(k, val []byte, err error) error {
		r.Refs++
		if err != nil {
			bad("reference entry: %v", err)
			return nil
		}
		if _, err := decodeRef(string(k), val); err != nil {
			bad("reference %s: %v", k, err)
		}
		return nil
	}); err != nil {
		bad("references: %v", err)
	}
	// under the commit lock: a commit between loadHead's read of the ref
	// and its store of the head would otherwise put the old head back in
	// memory, and the next commit would drop that commit from the branch
	v.wmu.Lock()
	err = v.loadHead()
	v.wmu.Unlock()
	if err != nil {
		bad("head: %v", err)
		return r, nil
	}
	v.checkReachable(r, bad)
	return r, nil
}

func (v *Vault) checkReachable(r *VerifyReport, bad func(string, ...any)) {
	seenTrees := map[plumbing.Hash]bool{}
	err := v.walkCommits(func(h plumbing.Hash) bool {
		r.Commits++
		c, err := v.commit(h)
		if err != nil {
			bad("commit %s: %v", h, err)
			return true
		}
		v.checkTree(c.TreeHash, seenTrees, bad, 0)
		return true
	})
	if err != nil {
		bad("history: %v", err)
	}
}

func (v *Vault) checkTree(h plumbing.Hash, seen map[plumbing.Hash]bool, bad func(string, ...any), depth int) {
	if depth > MaxTreeDepth {
		bad("tree %s: nested deeper than %d", h, MaxTreeDepth)
		return
	}
	if seen[h] {
		return
	}
	seen[h] = true
	t, err := v.tree(h)
	if err != nil {
		bad("tree %s: %v", h, err)
		return
	}
	for _, e := range t.entries {
		if e.isDir() {
			v.checkTree(e.hash, seen, bad, depth+1)
			continue
		}
		if ok, err := v.objs.has(e.hash); err != nil || !ok {
			bad("blob %s (in tree %s) is missing", e.hash, h)
		}
	}
}
