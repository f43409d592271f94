package vaultstore

import (
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/mr-tron/base58"
	"github.com/pkfs/pkfs/internal/cryptocore"
)

// VaultIDSize is the size of a vault ID.
const VaultIDSize = 16

// VaultID identifies a vault on every node that holds a replica of it.
type VaultID [VaultIDSize]byte

// NewVaultID returns a random vault ID.
func NewVaultID() VaultID {
	var id VaultID
	copy(id[:], cryptocore.RandomBytes(VaultIDSize))
	return id
}

// String returns the multibase base58btc form, "z" followed by base58.
func (id VaultID) String() string { return "z" + base58.Encode(id[:]) }

// ParseVaultID parses the text form of a vault ID.
func ParseVaultID(s string) (VaultID, error) {
	var id VaultID
	if len(s) < 2 || s[0] != 'z' {
		return id, fmt.Errorf("%w: %q", ErrInvalidVaultID, s)
	}
	b, err := base58.Decode(s[1:])
	if err != nil || len(b) != VaultIDSize {
		return id, fmt.Errorf("%w: %q", ErrInvalidVaultID, s)
	}
	copy(id[:], b)
	return id, nil
}

// MarshalText implements encoding.TextMarshaler.
func (id VaultID) MarshalText() ([]byte, error) { return []byte(id.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler.
func (id *VaultID) UnmarshalText(b []byte) error {
	v, err := ParseVaultID(string(b))
	*id = v
	return err
}

// MaxNameLen is the longest vault name, in bytes.
const MaxNameLen = 255

// ValidateName checks a vault name: 1–255 bytes of UTF-8, no '/', ':', NUL
// or control characters, not "." or "..", not starting with '.', and not
// of the form of a vault ID (which always means the vault of that ID).
func ValidateName(name string) error {
	bad := func(why string) error { return fmt.Errorf("%w %q: %s", ErrInvalidName, truncName(name), why) }
	switch {
	case name == "":
		return bad("empty")
	case len(name) > MaxNameLen:
		return bad(fmt.Sprintf("longer than %d bytes", MaxNameLen))
	case !utf8.ValidString(name):
		return bad("not valid UTF-8")
	case name == "." || name == "..":
		return bad("reserved")
	case name[0] == '.':
		return bad("starts with '.'")
	}
	if _, err := ParseVaultID(name); err == nil {
		return bad("has the form of a vault ID")
	}
	for _, r := range name {
		switch {
		case r == '/':
			return bad("contains '/'")
		case r == ':':
			return bad("contains ':'")
		case r == 0:
			return bad("contains NUL")
		case r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0):
			return bad("contains a control character")
		}
	}
	return nil
}

func truncName(s string) string {
	if len(s) > 40 {
		return s[:40] + "…"
	}
	return s
}

// keepName is the hidden placeholder that keeps an empty directory in git.
// It is never listed, and user files cannot take its name.
const keepName = ".pkfs-keep"

// MaxPathLen bounds a path inside a vault.
const MaxPathLen = 4096

// CleanPath checks a path inside a vault and returns its components. "" and
// "/" mean the root. Leading and trailing slashes are ignored; empty
// components ("a//b"), "." and ".." components, NUL, and the reserved
// placeholder name are refused: a path can never leave its vault.
func CleanPath(p string) ([]string, error) {
	if len(p) > MaxPathLen {
		return nil, fmt.Errorf("%w: longer than %d bytes", ErrInvalidPath, MaxPathLen)
	}
	if strings.IndexByte(p, 0) >= 0 {
		return nil, fmt.Errorf("%w: contains NUL", ErrInvalidPath)
	}
	t := strings.TrimSuffix(strings.TrimPrefix(p, "/"), "/")
	if t == "" {
		return nil, nil
	}
	parts := strings.Split(t, "/")
	for _, c := range parts {
		switch {
		case c == "":
			return nil, fmt.Errorf("%w %q: empty component", ErrInvalidPath, p)
		case c == "." || c == "..":
			return nil, fmt.Errorf("%w %q: %q component", ErrInvalidPath, p, c)
		case c == keepName:
			return nil, fmt.Errorf("%w %q: %s is reserved", ErrInvalidPath, p, keepName)
		case len(c) > 255:
			return nil, fmt.Errorf("%w: a component is longer than 255 bytes", ErrInvalidPath)
		}
	}
	return parts, nil
}

// JoinPath is the inverse of CleanPath.
func JoinPath(parts []string) string { return strings.Join(parts, "/") }
