package vaultstore

import (
	"bytes"
	"fmt"
	"io"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"
)

// maxParents bounds the parents of a commit from a peer. Our commits have
// one (the first none); merges will have two.
const maxParents = 16

// decodeCommit parses a commit from a peer, accepting only what our own
// encoder writes: a tree, parents, author, committer and a message, and
// nothing else (no signature, merge tag, encoding or other header), in
// the exact bytes that encoding the decoded commit gives back.
func decodeCommit(b []byte) (*object.Commit, error) {
	mo := &plumbing.MemoryObject{}
	mo.SetType(plumbing.CommitObject)
	if _, err := mo.Write(b); err != nil {
		return nil, err
	}
	c := &object.Commit{}
	if err := c.Decode(mo); err != nil {
		return nil, fmt.Errorf("%w: commit: %v", ErrCorrupt, err)
	}
	switch {
	case c.TreeHash.IsZero():
		return nil, fmt.Errorf("%w: commit without a tree", ErrCorrupt)
	case len(c.ParentHashes) > maxParents:
		return nil, fmt.Errorf("%w: commit with %d parents", ErrCorrupt, len(c.ParentHashes))
	case c.PGPSignature != "" || c.MergeTag != "" || len(c.ExtraHeaders) > 0 ||
		(c.Encoding != "" && c.Encoding != "UTF-8"):
		return nil, fmt.Errorf("%w: commit header pkfs does not write", ErrCorrupt)
	}
	again := &plumbing.MemoryObject{}
	if err := c.Encode(again); err != nil {
		return nil, fmt.Errorf("%w: commit: %v", ErrCorrupt, err)
	}
	r, _ := again.Reader()
	enc, err := io.ReadAll(r)
	if err != nil || !bytes.Equal(enc, b) {
		return nil, fmt.Errorf("%w: commit not in canonical form", ErrCorrupt)
	}
	return c, nil
}
