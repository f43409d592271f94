package keyring

import (
	"errors"
	"fmt"
	"strings"

	"github.com/pkfs/pkfs/internal/cryptocore"
	"github.com/tyler-smith/go-bip39"
)

// ErrInvalidRecoveryCode is returned for a recovery code that is not 24 BIP39
// English words with a valid checksum.
var ErrInvalidRecoveryCode = errors.New("invalid recovery code")

// RecoveryWords is the number of words of a recovery code.
const RecoveryWords = 24

// NewRecoveryCode returns a fresh 24-word recovery code (256 bits of entropy).
func NewRecoveryCode() string {
	ent := cryptocore.RandomBytes(32)
	defer clear(ent)
	m, err := bip39.NewMnemonic(ent)
	if err != nil {
		panic(err) // cannot happen: the entropy size is valid
	}
	return m
}

// NormalizeRecoveryCode joins the words of s with single spaces, lower-cased.
func NormalizeRecoveryCode(s string) string {
	return strings.ToLower(strings.Join(strings.Fields(s), " "))
}

// SeedFromRecoveryCode checks a recovery code and returns the Ed25519 seed it
// stands for: the first 32 bytes of PBKDF2-HMAC-SHA512(code, "mnemonic", 2048).
func SeedFromRecoveryCode(code string) ([]byte, error) {
	code = NormalizeRecoveryCode(code)
	if n := len(strings.Fields(code)); n != RecoveryWords {
		return nil, fmt.Errorf("%w: %d words, want %d", ErrInvalidRecoveryCode, n, RecoveryWords)
	}
	if _, err := bip39.EntropyFromMnemonic(code); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalidRecoveryCode, err)
	}
	seed := cryptocore.PBKDF2SHA512([]byte(code), []byte("mnemonic"), 2048, 64)
	out := append([]byte(nil), seed[:32]...)
	clear(seed)
	return out, nil
}
