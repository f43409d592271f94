package keyring

import (
	"errors"
	"fmt"
	"strconv"
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
// The numbered grid `pkfs init` prints ("1. word  7. word ...", read by
// columns) is accepted as printed: the words are put back in number order.
func NormalizeRecoveryCode(s string) string {
	fields := strings.Fields(strings.ToLower(s))
	numbered := map[int]string{}
	for i := 0; i+1 < len(fields); i++ {
		n, err := strconv.Atoi(strings.TrimSuffix(fields[i], "."))
		if err != nil || !strings.HasSuffix(fields[i], ".") || n < 1 || n > RecoveryWords {
			continue
		}
		numbered[n] = fields[i+1]
		i++
	}
	if len(numbered) == RecoveryWords && len(fields) == 2*RecoveryWords {
		words := make([]string, RecoveryWords)
		for n, w := range numbered {
			words[n-1] = w
		}
		return strings.Join(words, " ")
	}
	return strings.Join(fields, " ")
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
