package cryptocore

import (
	"crypto/ed25519"
	"crypto/sha512"
	"errors"

	"filippo.io/edwards25519"
	"golang.org/x/crypto/nacl/box"
)

// ErrInvalidPublicKey is returned for a public key that is not a valid
// Ed25519 point.
var ErrInvalidPublicKey = errors.New("invalid public key")

// Ed25519FromSeed returns the key pair for a 32-byte seed.
func Ed25519FromSeed(seed []byte) (ed25519.PublicKey, ed25519.PrivateKey, error) {
	if len(seed) != ed25519.SeedSize {
		return nil, nil, errors.New("invalid seed length")
	}
	priv := ed25519.NewKeyFromSeed(seed)
	return priv.Public().(ed25519.PublicKey), priv, nil
}

// Sign signs msg with priv.
func Sign(priv ed25519.PrivateKey, msg []byte) []byte { return ed25519.Sign(priv, msg) }

// Verify checks an Ed25519 signature.
func Verify(pub ed25519.PublicKey, msg, sig []byte) bool {
	if len(pub) != ed25519.PublicKeySize || len(sig) != ed25519.SignatureSize {
		return false
	}
	return ed25519.Verify(pub, msg, sig)
}

// X25519Public converts an Ed25519 public key to its X25519 (Montgomery)
// form, as libsodium's crypto_sign_ed25519_pk_to_curve25519 does.
func X25519Public(pub ed25519.PublicKey) (*[32]byte, error) {
	if len(pub) != ed25519.PublicKeySize {
		return nil, ErrInvalidPublicKey
	}
	p, err := new(edwards25519.Point).SetBytes(pub)
	if err != nil {
		return nil, ErrInvalidPublicKey
	}
	var out [32]byte
	copy(out[:], p.BytesMontgomery())
	return &out, nil
}

// X25519Private converts an Ed25519 private key to its X25519 form, as
// libsodium's crypto_sign_ed25519_sk_to_curve25519 does.
func X25519Private(priv ed25519.PrivateKey) *[32]byte {
	h := sha512.Sum512(priv.Seed())
	var out [32]byte
	copy(out[:], h[:32])
	clear(h[:])
	out[0] &= 248
	out[31] &= 127
	out[31] |= 64
	return &out
}

// SealTo encrypts msg to the holder of the Ed25519 public key pub, as
// libsodium's crypto_box_seal does with the converted key.
func SealTo(pub ed25519.PublicKey, msg []byte) ([]byte, error) {
	xpub, err := X25519Public(pub)
	if err != nil {
		return nil, err
	}
	return box.SealAnonymous(nil, msg, xpub, randReader{})
}

// OpenSealed decrypts a message made by SealTo for priv.
func OpenSealed(priv ed25519.PrivateKey, sealed []byte) ([]byte, error) {
	xpub, err := X25519Public(priv.Public().(ed25519.PublicKey))
	if err != nil {
		return nil, err
	}
	xpriv := X25519Private(priv)
	defer clear(xpriv[:])
	out, ok := box.OpenAnonymous(nil, sealed, xpub, xpriv)
	if !ok {
		return nil, ErrAuth
	}
	return out, nil
}

type randReader struct{}

func (randReader) Read(p []byte) (int, error) { copy(p, RandomBytes(len(p))); return len(p), nil }
