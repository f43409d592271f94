package keyring

import (
	"crypto/ed25519"
	"encoding/base32"
	"errors"
	"fmt"
	"strings"

	"github.com/pkfs/pkfs/internal/cryptocore"
)

// NodeIDSize is the size of a node ID: the raw Ed25519 public key.
const NodeIDSize = ed25519.PublicKeySize

// NodeID identifies a node: its Ed25519 public key.
type NodeID [NodeIDSize]byte

// ErrInvalidNodeID is returned by ParseNodeID for malformed text.
var ErrInvalidNodeID = errors.New("invalid node ID")

var base32hex = base32.NewEncoding("0123456789abcdefghijklmnopqrstuv").WithPadding(base32.NoPadding)

// String returns the multibase base32hex form ("v" followed by 52 lower-case
// characters), as Polykey writes node IDs.
func (id NodeID) String() string { return "v" + base32hex.EncodeToString(id[:]) }

// PublicKey returns the node's Ed25519 public key.
func (id NodeID) PublicKey() ed25519.PublicKey { return ed25519.PublicKey(id[:]) }

// IsZero reports whether id is the zero value.
func (id NodeID) IsZero() bool { return id == NodeID{} }

// ParseNodeID parses the text form of a node ID. Upper-case input is
// accepted; the public key must be a valid Ed25519 point.
func ParseNodeID(s string) (NodeID, error) {
	var id NodeID
	if len(s) != 53 || (s[0] != 'v' && s[0] != 'V') {
		return id, fmt.Errorf("%w: %q", ErrInvalidNodeID, truncate(s))
	}
	b, err := base32hex.DecodeString(strings.ToLower(s[1:]))
	if err != nil || len(b) != NodeIDSize || base32hex.EncodeToString(b) != strings.ToLower(s[1:]) {
		return id, fmt.Errorf("%w: %q", ErrInvalidNodeID, truncate(s))
	}
	copy(id[:], b)
	if _, err := cryptocore.X25519Public(id.PublicKey()); err != nil {
		return NodeID{}, fmt.Errorf("%w: not a valid public key", ErrInvalidNodeID)
	}
	return id, nil
}

// NodeIDFromBytes returns the node ID of a raw public key.
func NodeIDFromBytes(b []byte) (NodeID, error) {
	var id NodeID
	if len(b) != NodeIDSize {
		return id, ErrInvalidNodeID
	}
	copy(id[:], b)
	return id, nil
}

// MarshalText implements encoding.TextMarshaler.
func (id NodeID) MarshalText() ([]byte, error) { return []byte(id.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler.
func (id *NodeID) UnmarshalText(b []byte) error {
	v, err := ParseNodeID(string(b))
	if err != nil {
		return err
	}
	*id = v
	return nil
}

func truncate(s string) string {
	if len(s) > 64 {
		return s[:64] + "…"
	}
	return s
}
