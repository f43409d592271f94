package github

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"unicode/utf8"

	"github.com/pkfs/pkfs/gestalt"
)

// Errors of bad input from the caller.
var (
	ErrBadLogin = errors.New("not a GitHub login (1-39 letters, digits and single hyphens)")
	ErrBadQuery = errors.New("bad search query")
)

// checkLogin refuses an identity that is not a GitHub login; the error
// wraps gestalt.ErrBadClaim and ErrBadLogin.
func checkLogin(s string) error {
	if ValidLogin(s) {
		return nil
	}
	if len(s) > 64 {
		s = s[:64] + "..."
	}
	return fmt.Errorf("%w: %w: %q", gestalt.ErrBadClaim, ErrBadLogin, s)
}

// WhoAmI returns the login of the token's account (GET /user).
func (p *Provider) WhoAmI(ctx context.Context, t gestalt.Token) (string, error) {
	r := request{method: http.MethodGet, u: endpoint(p.api, "/user", nil), kind: kindAPI, token: &t}
	body, err := p.do(ctx, r)
	if err != nil {
		return "", err
	}
	login, err := decodeUser(body)
	if err != nil {
		return "", &Error{Op: r.op(), Status: http.StatusOK, Err: err}
	}
	return login, nil
}

// Search returns the logins GitHub's user search finds for query (GET
// /search/users, one page of at most 100). The query uses GitHub's search
// syntax ("alice", "alice in:login").
func (p *Provider) Search(ctx context.Context, query string) ([]string, error) {
	if len(query) == 0 || len(query) > 256 || !utf8.ValidString(query) {
		return nil, fmt.Errorf("%w: want 1 to 256 bytes of UTF-8", ErrBadQuery)
	}
	for _, c := range query {
		if c < ' ' || c == 0x7f {
			return nil, fmt.Errorf("%w: control character", ErrBadQuery)
		}
	}
	q := url.Values{"q": {query}, "per_page": {"100"}}
	r := request{method: http.MethodGet, u: endpoint(p.api, "/search/users", q), kind: kindAPI}
	body, err := p.do(ctx, r)
	if err != nil {
		return nil, err
	}
	logins, err := decodeSearch(body)
	if err != nil {
		return nil, &Error{Op: r.op(), Status: http.StatusOK, Err: err}
	}
	return logins, nil
}
