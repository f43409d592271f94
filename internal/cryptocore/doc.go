// Package cryptocore holds every cryptographic primitive pkfs uses: AEAD
// sealing, key derivation (HKDF, Argon2id, PBKDF2), MACs, randomness and the
// Ed25519/X25519 helpers.
//
// It is the only package of pkfs that imports golang.org/x/crypto or
// crypto/cipher; every other package asks it. Keys are held in [Key], an
// opaque fixed-size type without a String method, so that a key cannot be
// printed or logged by accident.
//
// # Formats
//
// A sealed value is nonce(24) || XChaCha20-Poly1305 ciphertext || tag(16).
// The associated data binds a value to where it belongs (its logical key),
// so a value moved elsewhere fails to open.
package cryptocore
