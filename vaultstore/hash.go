package vaultstore

import (
	"encoding/hex"
	"fmt"

	"github.com/go-git/go-git/v5/plumbing"
)

// HashSize is the size of an object hash (git's SHA-1).
const HashSize = 20

// Hash identifies an object of a vault (a commit, tree or blob) by its git
// hash. It is vaultstore's own type so that go-git stays inside this
// package: callers see hashes, never go-git's plumbing.
type Hash [HashSize]byte

// ZeroHash is the zero hash: no commit (an empty replica's head).
var ZeroHash Hash

// ErrObjectNotFound is returned when an object is missing from a vault.
var ErrObjectNotFound = plumbing.ErrObjectNotFound

// ParseHash parses the 40 lowercase or uppercase hex digits of a hash.
func ParseHash(s string) (Hash, error) {
	var h Hash
	if len(s) != 2*HashSize {
		return h, fmt.Errorf("%w: a hash has %d hex digits", ErrInvalidHash, 2*HashSize)
	}
	if _, err := hex.Decode(h[:], []byte(s)); err != nil {
		return h, fmt.Errorf("%w: not hexadecimal", ErrInvalidHash)
	}
	return h, nil
}

// String returns the 40 lowercase hex digits of h.
func (h Hash) String() string { return hex.EncodeToString(h[:]) }

// IsZero reports whether h is the zero hash.
func (h Hash) IsZero() bool { return h == ZeroHash }

// MarshalText encodes h as its hex digits.
func (h Hash) MarshalText() ([]byte, error) { return []byte(h.String()), nil }

// UnmarshalText decodes hex digits written by MarshalText.
func (h *Hash) UnmarshalText(b []byte) error {
	p, err := ParseHash(string(b))
	if err != nil {
		return err
	}
	*h = p
	return nil
}

func (h Hash) git() plumbing.Hash { return plumbing.Hash(h) }

func hashes(in []plumbing.Hash) []Hash {
	out := make([]Hash, len(in))
	for i, h := range in {
		out[i] = Hash(h)
	}
	return out
}

// ObjectType is the kind of a vault object.
type ObjectType int8

// Object types, numbered as git numbers them.
const (
	CommitObject = ObjectType(plumbing.CommitObject)
	TreeObject   = ObjectType(plumbing.TreeObject)
	BlobObject   = ObjectType(plumbing.BlobObject)
)

func (t ObjectType) String() string { return plumbing.ObjectType(t).String() }

// ObjectType returns the type of a stored object, or ErrObjectNotFound.
func (v *Vault) ObjectType(h Hash) (ObjectType, error) {
	m, err := v.objs.getMeta(h.git())
	if err != nil {
		return 0, wrapObjErr(h.git(), err)
	}
	return ObjectType(m.typ), nil
}
