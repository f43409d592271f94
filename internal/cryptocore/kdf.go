package cryptocore

import (
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/pbkdf2"
	"crypto/rand"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/subtle"
	"hash"
	"sync"

	"golang.org/x/crypto/argon2"
)

// RandomBytes returns n bytes from the operating system's CSPRNG.
func RandomBytes(n int) []byte {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic("cryptocore: reading random bytes: " + err.Error())
	}
	return b
}

// DeriveKey derives a sub-key from master with HKDF-SHA256 and a readable
// info string such as "pkfs vault objects v1".
func DeriveKey(master Key, info string) Key {
	out, err := hkdf.Key(sha256.New, master.b[:], nil, info, KeySize)
	if err != nil {
		panic(err) // cannot happen: the output length is fixed and small
	}
	k, _ := KeyFromBytes(out)
	clear(out)
	return k
}

// DeriveKeyFromSecret derives a key from arbitrary secret bytes (such as an
// Ed25519 seed) with HKDF-SHA256.
func DeriveKeyFromSecret(secret []byte, info string) Key {
	out, err := hkdf.Key(sha256.New, secret, nil, info, KeySize)
	if err != nil {
		panic(err)
	}
	k, _ := KeyFromBytes(out)
	clear(out)
	return k
}

// Argon2id derives a KeySize key from a password.
func Argon2id(password, salt []byte, time, memoryKiB uint32, threads uint8) Key {
	out := argon2.IDKey(password, salt, time, memoryKiB, threads, KeySize)
	k, _ := KeyFromBytes(out)
	clear(out)
	return k
}

// Argon2idRaw is Argon2id with a caller-chosen output length, for known-answer
// tests.
func Argon2idRaw(password, salt []byte, time, memoryKiB uint32, threads uint8, n uint32) []byte {
	return argon2.IDKey(password, salt, time, memoryKiB, threads, n)
}

// PBKDF2SHA512 is PBKDF2-HMAC-SHA512, as BIP39 uses it to turn a mnemonic
// into a seed.
func PBKDF2SHA512(password, salt []byte, iterations, n int) []byte {
	out, err := pbkdf2.Key(sha512.New, string(password), salt, iterations, n)
	if err != nil {
		panic(err)
	}
	return out
}

// MAC returns HMAC-SHA256(key, parts...).
func MAC(key Key, parts ...[]byte) [32]byte {
	m := hmac.New(sha256.New, key.b[:])
	for _, p := range parts {
		m.Write(p)
	}
	var out [32]byte
	m.Sum(out[:0])
	return out
}

// ConstantTimeEqual compares two byte slices in constant time.
func ConstantTimeEqual(a, b []byte) bool { return subtle.ConstantTimeCompare(a, b) == 1 }

// MACer computes HMAC-SHA256 under one key, reusing its hash states: the
// hot path of the store's key derivation.
type MACer struct{ pool sync.Pool }

// NewMACer returns a MACer for key.
func NewMACer(key Key) *MACer {
	k := key
	m := &MACer{}
	m.pool.New = func() any { return hmac.New(sha256.New, k.b[:]) }
	return m
}

// Sum returns HMAC-SHA256(key, b).
func (m *MACer) Sum(b []byte) [32]byte {
	h := m.pool.Get().(hash.Hash)
	h.Reset()
	h.Write(b)
	var out [32]byte
	h.Sum(out[:0])
	m.pool.Put(h)
	return out
}
