package gestalt

import (
	"encoding/hex"
	"time"

	"github.com/pkfs/pkfs/internal/cryptocore"
	"github.com/pkfs/pkfs/keyring"
)

// SignIdentityClaim builds the claim that kr's node is the account identity
// of provider, with a fresh nonce and the current time, signed by the node.
// The claim is checked before it is returned.
func SignIdentityClaim(kr *keyring.Keyring, provider, identity string) (Claim, error) {
	c := Claim{
		Type:     ClaimIdentity,
		NodeA:    kr.NodeID(),
		Provider: provider,
		Identity: identity,
		IssuedAt: time.Now().UTC().Truncate(time.Millisecond),
		Nonce:    hex.EncodeToString(cryptocore.RandomBytes(16)),
	}
	sig, err := kr.Sign(c.signedBytes())
	if err != nil {
		return Claim{}, err
	}
	c.SigA = sig
	if err := c.Verify(); err != nil {
		return Claim{}, err
	}
	return c, nil
}
