package vaultstore

import (
	"crypto/ed25519"

	"github.com/pkfs/pkfs/internal/cryptocore"
	"github.com/pkfs/pkfs/keyring"
)

// Signer is the node's identity as the vault store needs it: the author of
// its commits and the signer of its commits and grants. *keyring.Keyring
// satisfies it. Sign returns an Ed25519 signature by the key whose public
// half is NodeID, or an error (a locked keyring) that fails the commit.
type Signer interface {
	NodeID() keyring.NodeID
	Sign(msg []byte) ([]byte, error)
}

var _ Signer = (*keyring.Keyring)(nil)

// ephemeralSigner holds a key made for one test run, in memory only.
type ephemeralSigner struct {
	id   keyring.NodeID
	priv ed25519.PrivateKey
}

func (s *ephemeralSigner) NodeID() keyring.NodeID { return s.id }

func (s *ephemeralSigner) Sign(msg []byte) ([]byte, error) { return cryptocore.Sign(s.priv, msg), nil }

// TestOnlySigner returns a signer with a fresh random key that lives only
// in memory, for tests and benchmarks of other packages that need a store
// without a keyring. Never used outside tests.
func TestOnlySigner() Signer {
	pub, priv, err := cryptocore.Ed25519FromSeed(cryptocore.RandomBytes(ed25519.SeedSize))
	if err != nil {
		panic(err) // a 32-byte seed always makes a key
	}
	s := &ephemeralSigner{priv: priv}
	copy(s.id[:], pub)
	return s
}
