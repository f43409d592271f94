package gestalt

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
)

// ErrProvider wraps failures of an identity provider (unreachable, bad
// answers, timeouts); discovery goes on with other vertices.
var ErrProvider = errors.New("identity provider failed")

// ErrInvalidIdentity is returned for text that is not PROVIDER:IDENTITY
// (or, where a node also fits, not a node ID either).
var ErrInvalidIdentity = errors.New("invalid identity")

// ErrNotAuthenticated is returned when an action needs a token we lack.
var ErrNotAuthenticated = errors.New("not authenticated to the identity provider")

// AuthChallenge is the first step of an OAuth device flow: the user opens
// VerificationURI and types UserCode.
type AuthChallenge struct {
	Provider        string        `json:"provider"`
	UserCode        string        `json:"userCode"`
	VerificationURI string        `json:"verificationUri"`
	DeviceCode      string        `json:"-"`
	Interval        time.Duration `json:"-"`
	ExpiresAt       time.Time     `json:"expiresAt"`
}

// Token is an access token of a provider. It has no String method.
type Token struct{ secret string }

// NewToken wraps an access token.
func NewToken(s string) Token { return Token{secret: s} }

// Secret returns the token, for the provider's HTTP requests only.
func (t Token) Secret() string { return t.secret }

// Provider is an identity provider (GitHub first). Implementations talk to
// the provider's API, never scrape HTML, and take a configurable base URL so
// tests can run against a local server.
type Provider interface {
	// ID names the provider in PROVIDER:IDENTITY ("github.com").
	ID() string
	// StartAuth begins a device-flow authentication.
	StartAuth(ctx context.Context) (AuthChallenge, error)
	// FinishAuth polls until the user approved the challenge (or ctx ends).
	FinishAuth(ctx context.Context, ch AuthChallenge) (Token, error)
	// WhoAmI returns the identity a token belongs to.
	WhoAmI(ctx context.Context, t Token) (string, error)
	// Publish makes a claim text public on the identity's account and
	// returns where.
	Publish(ctx context.Context, t Token, text []byte) (string, error)
	// Claims returns the claim texts an identity has published.
	Claims(ctx context.Context, identity string) ([][]byte, error)
	// Search finds identities matching a query.
	Search(ctx context.Context, query string) ([]string, error)
}

// ParseIdentity splits "PROVIDER:IDENTITY".
func ParseIdentity(s string) (provider, identity string, err error) {
	p, i, ok := strings.Cut(s, ":")
	if !ok || p == "" || i == "" || len(p) > 64 || len(i) > 256 || strings.ContainsAny(s, "/\x00\n") {
		return "", "", fmt.Errorf("%w: %q: want PROVIDER:IDENTITY", ErrInvalidIdentity, s)
	}
	return p, i, nil
}
