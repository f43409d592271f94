package vaultstore

import (
	"crypto/ed25519"
	"encoding/base32"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/pkfs/pkfs/keyring"
)

const (
	signatureSize = ed25519.SignatureSize
	// commitSigContext and grantsSigContext separate the two things a
	// node's key signs for vaults from each other and from anything else
	// it signs (claims, notifications).
	commitSigContext = "pkfs commit v1\x00"
)

var nodeIDText = base32.NewEncoding("0123456789abcdefghijklmnopqrstuv").WithPadding(base32.NoPadding)

// parseNodeIDText returns the node ID of its canonical text form ("v" and
// 52 lowercase base32hex digits). Whether it is a valid key is left to the
// signature check.
func parseNodeIDText(s string) (keyring.NodeID, bool) {
	var id keyring.NodeID
	if len(s) != 53 || s[0] != 'v' {
		return id, false
	}
	b, err := nodeIDText.DecodeString(s[1:])
	if err != nil || len(b) != keyring.NodeIDSize {
		return id, false
	}
	copy(id[:], b)
	return id, id.String() == s
}

func validNodeIDText(s string) bool { _, ok := parseNodeIDText(s); return ok }

// newSignedCommit builds and signs a commit by this node. grants is the
// length of the grants log it commits under.
func (s *Store) newSignedCommit(root plumbing.Hash, parents []plumbing.Hash, msg string, when time.Time, grants int) (*commitObj, error) {
	at := when.UTC().Unix()
	if at < 0 {
		at = 0
	}
	me := s.nodeID.String()
	c := &commitObj{tree: root, parents: parents, author: me, authorAt: at, committer: me, committerAt: at,
		grants: int64(grants), message: msg}
	sig, err := s.signer.Sign(append([]byte(commitSigContext), c.signedBytes()...))
	if err != nil {
		return nil, fmt.Errorf("signing the commit: %w", err)
	}
	if len(sig) != signatureSize {
		return nil, errors.New("signing the commit: the signer returned no Ed25519 signature")
	}
	c.sig = sig
	return c, nil
}

// checkSignature verifies a signed commit against its author's key.
func (c *commitObj) checkSignature() error {
	id, ok := parseNodeIDText(c.author)
	if !ok {
		return errors.New("the author is not a node ID")
	}
	if c.committer != c.author {
		return errors.New("the committer is not the author")
	}
	if err := keyring.Verify(id, append([]byte(commitSigContext), c.signedBytes()...), c.sig); err != nil {
		return errors.New("the signature does not verify against the author's key")
	}
	return nil
}

// authorID returns the author's node ID.
func (c *commitObj) authorID() keyring.NodeID { id, _ := parseNodeIDText(c.author); return id }

// committerTime returns the committer time.
func (c *commitObj) committerTime() time.Time { return time.Unix(c.committerAt, 0).UTC() }

// readCommit returns the strictly decoded commit h, through the cache.
func (v *Vault) readCommit(h plumbing.Hash) (*commitObj, error) {
	if c, ok := v.mw.commits.get(h); ok {
		return c, nil
	}
	m, b, err := v.objs.readAll(h)
	if errors.Is(err, plumbing.ErrObjectNotFound) {
		// damage in our history; a commit a peer has not sent in theirs
		return nil, fmt.Errorf("%w: commit %s is missing: %w", ErrCorrupt, h, ErrObjectNotFound)
	}
	if err != nil {
		return nil, err
	}
	if m.typ != plumbing.CommitObject {
		return nil, &badCommitError{h: h, err: fmt.Errorf("%w: object %s is not a commit", ErrBadCommit, h)}
	}
	c, err := decodeCommit(b)
	if err != nil {
		return nil, &badCommitError{h: h, err: err}
	}
	v.mw.commits.put(h, c)
	return c, nil
}

// shortNode is the first 7 characters of a node ID's text, as conflict
// copies name their node.
func shortNode(s string) string {
	if len(s) > 7 {
		s = s[:7]
	}
	return strings.ToLower(s)
}

// badCommitError is a commit that does not decode: damage in our history,
// a refusal in a peer's.
type badCommitError struct {
	h   plumbing.Hash
	err error
}

func (e *badCommitError) Error() string { return fmt.Sprintf("commit %s: %v", e.h, e.err) }
func (e *badCommitError) Unwrap() error { return e.err }
