package vaultstore

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"

	"github.com/go-git/go-git/v5/plumbing"
)

// commitObj is a commit in the one form pkfs writes and accepts (see
// docs/multi-writer.md): git's format, an author and committer that are
// node IDs with an empty email and UTC times, and for signed commits a
// pkfs-grants header and the author's signature in a gpgsig header.
// Commits written before signatures (by go-git's encoder) have the same
// form without the two headers.
type commitObj struct {
	tree        plumbing.Hash
	parents     []plumbing.Hash
	author      string // node ID text
	authorAt    int64  // unix seconds
	committer   string
	committerAt int64
	grants      int64  // pkfs-grants: the author's grants log length; -1 when absent
	sig         []byte // Ed25519 signature; nil when unsigned
	message     string
}

// maxParents is the most parents a pkfs commit has: a merge has two.
const maxParents = 2

// ErrBadCommit is wrapped by decodeCommit's errors: a commit that is not
// in the form pkfs writes.
var ErrBadCommit = errors.New("malformed commit")

const (
	sigBegin   = "-----BEGIN PKFS SIGNATURE-----"
	sigEnd     = "-----END PKFS SIGNATURE-----"
	sigB64Len  = 88 // base64 of 64 bytes, padded
	timeZone   = "+0000"
	grantsHdr  = "pkfs-grants "
	gpgsigHdr  = "gpgsig "
	maxSeqText = 19 // digits of the largest int64
)

func (c *commitObj) signed() bool        { return c.sig != nil }
func (c *commitObj) hash() plumbing.Hash { return computeHash(plumbing.CommitObject, c.encode()) }

// encode returns the commit's bytes, signature included.
func (c *commitObj) encode() []byte { return c.appendTo(nil, true) }

// signedBytes returns what the signature covers, after its prefix: the
// commit without its gpgsig header (as git signs commits).
func (c *commitObj) signedBytes() []byte { return c.appendTo(nil, false) }

func (c *commitObj) appendTo(b []byte, withSig bool) []byte {
	b = append(b, "tree "...)
	b = hex.AppendEncode(b, c.tree[:])
	b = append(b, '\n')
	for _, p := range c.parents {
		b = append(b, "parent "...)
		b = hex.AppendEncode(b, p[:])
		b = append(b, '\n')
	}
	b = appendIdent(b, "author ", c.author, c.authorAt)
	b = appendIdent(b, "committer ", c.committer, c.committerAt)
	if c.grants >= 0 {
		b = append(b, grantsHdr...)
		b = strconv.AppendInt(b, c.grants, 10)
		b = append(b, '\n')
	}
	if withSig && c.sig != nil {
		b = append(b, gpgsigHdr+sigBegin+"\n "...)
		b = base64.StdEncoding.AppendEncode(b, c.sig)
		b = append(b, "\n "+sigEnd+"\n"...)
	}
	b = append(b, '\n')
	return append(b, c.message...)
}

func appendIdent(b []byte, hdr, node string, at int64) []byte {
	b = append(b, hdr...)
	b = append(b, node...)
	b = append(b, " <> "...)
	b = strconv.AppendInt(b, at, 10)
	return append(b, " "+timeZone+"\n"...)
}

// decodeCommit parses a commit strictly: any input it accepts encodes back
// to exactly the same bytes, so two holders never read one commit two ways.
func decodeCommit(b []byte) (*commitObj, error) {
	c, err := parseCommit(b)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadCommit, err)
	}
	if !bytes.Equal(c.encode(), b) {
		return nil, fmt.Errorf("%w: not in canonical form", ErrBadCommit)
	}
	return c, nil
}

// commitReader walks the header lines of a commit.
type commitReader struct{ b []byte }

// line returns the next line if it starts with prefix, without both.
func (r *commitReader) line(prefix string) (string, bool) {
	if !bytes.HasPrefix(r.b, []byte(prefix)) {
		return "", false
	}
	i := bytes.IndexByte(r.b, '\n')
	if i < 0 {
		return "", false
	}
	s := string(r.b[len(prefix):i])
	r.b = r.b[i+1:]
	return s, true
}

func parseCommit(b []byte) (*commitObj, error) {
	r := &commitReader{b: b}
	c := &commitObj{grants: -1}
	var err error
	s, ok := r.line("tree ")
	if !ok {
		return nil, errors.New("no tree")
	}
	if c.tree, err = parseHex(s); err != nil {
		return nil, fmt.Errorf("tree: %w", err)
	}
	for s, ok = r.line("parent "); ok; s, ok = r.line("parent ") {
		if len(c.parents) == maxParents {
			return nil, errors.New("too many parents")
		}
		p, err := parseHex(s)
		if err != nil {
			return nil, fmt.Errorf("parent: %w", err)
		}
		c.parents = append(c.parents, p)
	}
	if c.author, c.authorAt, err = parseIdent(r, "author "); err != nil {
		return nil, err
	}
	if c.committer, c.committerAt, err = parseIdent(r, "committer "); err != nil {
		return nil, err
	}
	if s, ok := r.line(grantsHdr); ok {
		if c.grants, err = parseCount(s); err != nil {
			return nil, fmt.Errorf("pkfs-grants: %w", err)
		}
	}
	if err := parseSig(r, c); err != nil {
		return nil, err
	}
	if (c.grants >= 0) != (c.sig != nil) {
		return nil, errors.New("a signed commit has both pkfs-grants and a signature")
	}
	if len(r.b) == 0 || r.b[0] != '\n' {
		return nil, errors.New("unknown header")
	}
	c.message = string(r.b[1:])
	return c, nil
}

func parseSig(r *commitReader, c *commitObj) error {
	if s, ok := r.line(gpgsigHdr); !ok {
		return nil
	} else if s != sigBegin {
		return errors.New("signature header")
	}
	s, ok := r.line(" ")
	if !ok || len(s) != sigB64Len {
		return errors.New("signature")
	}
	sig, err := base64.StdEncoding.Strict().DecodeString(s)
	if err != nil || len(sig) != signatureSize {
		return errors.New("signature")
	}
	if s, ok := r.line(" "); !ok || s != sigEnd {
		return errors.New("signature end")
	}
	c.sig = sig
	return nil
}

// parseIdent parses "<hdr><node ID> <> <unix seconds> +0000".
func parseIdent(r *commitReader, hdr string) (string, int64, error) {
	s, ok := r.line(hdr)
	if !ok {
		return "", 0, fmt.Errorf("no %sline", hdr)
	}
	node, rest, ok := bytes.Cut([]byte(s), []byte(" <> "))
	if !ok || !validNodeIDText(string(node)) {
		return "", 0, fmt.Errorf("%snode ID", hdr)
	}
	secs, tz, ok := bytes.Cut(rest, []byte(" "))
	if !ok || string(tz) != timeZone {
		return "", 0, fmt.Errorf("%stime zone", hdr)
	}
	at, err := parseCount(string(secs))
	if err != nil {
		return "", 0, fmt.Errorf("%stime: %w", hdr, err)
	}
	return string(node), at, nil
}

// parseCount parses a non-negative decimal without sign or leading zeros.
func parseCount(s string) (int64, error) {
	if s == "" || len(s) > maxSeqText || (len(s) > 1 && s[0] == '0') {
		return 0, errors.New("not a canonical number")
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 0 {
		return 0, errors.New("not a canonical number")
	}
	return n, nil
}

// parseHex parses 40 lowercase hex digits.
func parseHex(s string) (plumbing.Hash, error) {
	var h plumbing.Hash
	if len(s) != 2*HashSize {
		return h, errors.New("not a hash")
	}
	if _, err := hex.Decode(h[:], []byte(s)); err != nil || hex.EncodeToString(h[:]) != s {
		return h, errors.New("not a lowercase hash")
	}
	return h, nil
}
