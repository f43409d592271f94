package cryptocore

import (
	"crypto/cipher"
	"crypto/rand"
	"errors"

	"golang.org/x/crypto/chacha20poly1305"
)

// KeySize is the size of every symmetric key in pkfs.
const KeySize = 32

// NonceSize is the size of the random nonce in front of a sealed value.
const NonceSize = chacha20poly1305.NonceSizeX

// Overhead is the number of bytes sealing adds to a plaintext.
const Overhead = NonceSize + chacha20poly1305.Overhead

// ErrAuth is returned when a sealed value fails authentication: it was
// tampered with, truncated, moved to another key, or sealed under another key.
var ErrAuth = errors.New("authentication failed")

// Key is a 256-bit symmetric key. It has no String method on purpose.
type Key struct{ b [KeySize]byte }

// KeyFromBytes copies b (which must be KeySize bytes) into a Key.
func KeyFromBytes(b []byte) (Key, error) {
	var k Key
	if len(b) != KeySize {
		return k, errors.New("invalid key length")
	}
	copy(k.b[:], b)
	return k, nil
}

// NewRandomKey returns a fresh random key.
func NewRandomKey() Key {
	var k Key
	copy(k.b[:], RandomBytes(KeySize))
	return k
}

// Bytes returns the raw key. Callers must not retain or log it.
func (k *Key) Bytes() []byte { return k.b[:] }

// Wipe zeroes the key.
func (k *Key) Wipe() { clear(k.b[:]) }

// Equal reports whether two keys are equal, in constant time.
func (k *Key) Equal(o *Key) bool { return ConstantTimeEqual(k.b[:], o.b[:]) }

// AEAD seals and opens values under one key with XChaCha20-Poly1305 and a
// random nonce per value. It is safe for concurrent use.
type AEAD struct{ aead cipher.AEAD }

// NewAEAD returns an AEAD for key.
func NewAEAD(key Key) *AEAD {
	a, err := chacha20poly1305.NewX(key.b[:])
	if err != nil {
		panic(err) // cannot happen: the key size is fixed
	}
	return &AEAD{aead: a}
}

// Seal appends nonce || ciphertext || tag of plaintext, bound to ad, to dst.
func (a *AEAD) Seal(dst, plaintext, ad []byte) []byte {
	nonce := RandomBytes(NonceSize)
	dst = append(dst, nonce...)
	return a.aead.Seal(dst, nonce, plaintext, ad)
}

// SealInPlace seals buf[NonceSize:NonceSize+n], a plaintext the caller
// wrote after NonceSize free bytes; buf must have Overhead-NonceSize spare
// capacity. It returns the sealed value, in buf's memory.
func (a *AEAD) SealInPlace(buf []byte, ad []byte) []byte {
	nonce := buf[:NonceSize]
	if _, err := rand.Read(nonce); err != nil {
		panic("cryptocore: reading random bytes: " + err.Error())
	}
	pt := buf[NonceSize:]
	return buf[:NonceSize+len(a.aead.Seal(pt[:0], nonce, pt, ad))]
}

// OpenInPlace is Open that decrypts into sealed's own memory (sealed is
// destroyed). It returns ErrAuth on any failure.
func (a *AEAD) OpenInPlace(sealed, ad []byte) ([]byte, error) {
	if len(sealed) < Overhead {
		return nil, ErrAuth
	}
	ct := sealed[NonceSize:]
	out, err := a.aead.Open(ct[:0], sealed[:NonceSize], ct, ad)
	if err != nil {
		return nil, ErrAuth
	}
	return out, nil
}

// SealWithNonce is Seal with a caller-chosen nonce. It exists for known-answer
// tests; production code uses Seal.
func (a *AEAD) SealWithNonce(dst, nonce, plaintext, ad []byte) []byte {
	dst = append(dst, nonce...)
	return a.aead.Seal(dst, nonce, plaintext, ad)
}

// Open authenticates and decrypts a value made by Seal, appending the
// plaintext to dst. It returns ErrAuth on any failure.
func (a *AEAD) Open(dst, sealed, ad []byte) ([]byte, error) {
	if len(sealed) < Overhead {
		return nil, ErrAuth
	}
	out, err := a.aead.Open(dst, sealed[:NonceSize], sealed[NonceSize:], ad)
	if err != nil {
		return nil, ErrAuth
	}
	return out, nil
}

// Seal is a one-shot AEAD.Seal under key.
func Seal(key Key, plaintext, ad []byte) []byte { return NewAEAD(key).Seal(nil, plaintext, ad) }

// Open is a one-shot AEAD.Open under key.
func Open(key Key, sealed, ad []byte) ([]byte, error) { return NewAEAD(key).Open(nil, sealed, ad) }
