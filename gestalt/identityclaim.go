package gestalt

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
)

// The text an identity publishes on its provider to claim a node: the
// signed identity claim, base64 JSON between two marker lines, so it can
// sit in a gist or a profile among other text.
const (
	claimBegin = "-----BEGIN PKFS IDENTITY CLAIM-----"
	claimEnd   = "-----END PKFS IDENTITY CLAIM-----"
	// ClaimFileName is the name providers give the published file.
	ClaimFileName = "pkfs-identity-claim.txt"
	maxClaimText  = 16 << 10
)

// EncodeIdentityClaim returns the text to publish for an identity claim.
func EncodeIdentityClaim(c Claim) []byte {
	b, _ := json.Marshal(c)
	var out bytes.Buffer
	fmt.Fprintf(&out, "%s\n%s\n%s\n", claimBegin, base64.StdEncoding.EncodeToString(b), claimEnd)
	return out.Bytes()
}

// DecodeIdentityClaims finds and checks every identity claim in a published
// text: shape, type, and the node's signature. An edited claim fails.
func DecodeIdentityClaims(text []byte) ([]Claim, error) {
	if len(text) > maxClaimText {
		return nil, fmt.Errorf("%w: claim text over %d bytes", ErrBadClaim, maxClaimText)
	}
	var out []Claim
	rest := text
	for {
		i := bytes.Index(rest, []byte(claimBegin))
		if i < 0 {
			break
		}
		rest = rest[i+len(claimBegin):]
		j := bytes.Index(rest, []byte(claimEnd))
		if j < 0 {
			return out, fmt.Errorf("%w: unterminated claim", ErrBadClaim)
		}
		raw, err := base64.StdEncoding.DecodeString(string(bytes.TrimSpace(rest[:j])))
		rest = rest[j+len(claimEnd):]
		if err != nil {
			return out, fmt.Errorf("%w: not base64", ErrBadClaim)
		}
		var c Claim
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&c); err != nil {
			return out, fmt.Errorf("%w: %v", ErrBadClaim, err)
		}
		if c.Type != ClaimIdentity {
			return out, fmt.Errorf("%w: not an identity claim", ErrBadClaim)
		}
		if err := c.Verify(); err != nil {
			return out, err
		}
		out = append(out, c)
	}
	return out, nil
}
