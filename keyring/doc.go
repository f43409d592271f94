// Package keyring holds a node's root identity: the Ed25519 root key pair
// sealed under a password, the recovery code it comes from, the node ID, and
// the data key that unlocks the node's encrypted store.
//
// # Files
//
// The keyring owns <node path>/keys:
//
//	public.key   the public key as a JWK (plain)
//	private.key  the 32-byte Ed25519 seed sealed with XChaCha20-Poly1305 under
//	             Argon2id(password); JSON with the KDF parameters and salt
//	db.key       the data key sealed under a key derived from the root key
//
// Every file is written to a temporary file, synced and renamed, so a crash
// leaves the old or the new file. Changing the password rewrites private.key
// only; the root key and the data key never change with it.
//
// # Password proofs
//
// Changing the password needs the current one (ChangePassword). It is
// checked (CheckPassword) against private.key as the keyring unlocked or
// last wrote it, held in memory, so a key file swapped in on disk proves
// nothing, and the seed it opens must be the keyring's own.
//
// # Recovery codes
//
// A recovery code is a 24-word BIP39 mnemonic. The Ed25519 seed is the first
// 32 bytes of PBKDF2-HMAC-SHA512(mnemonic, "mnemonic", 2048), as in Polykey,
// so the same code gives the same node ID in both. The code is never stored.
package keyring
