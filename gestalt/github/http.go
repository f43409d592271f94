package github

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/pkfs/pkfs/gestalt"
)

// MaxAnswer bounds the body of any answer read from GitHub.
const MaxAnswer = 1 << 20

// Errors of the device flow; both come wrapped in an *Error.
var (
	ErrAuthExpired = errors.New("the device code expired before it was approved")
	ErrAuthDenied  = errors.New("the user denied the authorization")
)

// Error is a failed request to GitHub. It wraps gestalt.ErrProvider, its
// cause, and gestalt.ErrNotAuthenticated when GitHub refused the token. It
// never holds the token.
type Error struct {
	Op      string // method and path, without the query: "GET /users/alice/gists"
	Status  int    // HTTP status; 0 when no answer came
	Message string // what went wrong, or GitHub's message, sanitised
	Err     error  // the cause, or nil
}

func (e *Error) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%v: github: %s", gestalt.ErrProvider, e.Op)
	if e.Status != 0 {
		fmt.Fprintf(&b, ": %d %s", e.Status, http.StatusText(e.Status))
	}
	if e.Message != "" {
		b.WriteString(": " + e.Message)
	}
	if e.Err != nil {
		b.WriteString(": " + e.Err.Error())
	}
	return b.String()
}

// Unwrap lets errors.Is see gestalt.ErrProvider, the cause, and
// gestalt.ErrNotAuthenticated for a 401.
func (e *Error) Unwrap() []error {
	errs := []error{gestalt.ErrProvider}
	if e.Status == http.StatusUnauthorized {
		errs = append(errs, gestalt.ErrNotAuthenticated)
	}
	if e.Err != nil {
		errs = append(errs, e.Err)
	}
	return errs
}

// answer kinds: what a request accepts.
const (
	kindAPI = iota // REST API JSON
	kindWeb        // OAuth endpoints on the web host, JSON on request
	kindRaw        // raw file content
)

// request is one call to GitHub.
type request struct {
	method string
	u      *url.URL
	kind   int
	form   url.Values // sent form-encoded when not nil
	json   []byte     // sent as JSON when not nil
	token  *gestalt.Token
}

// op names a request in errors: method and escaped path, no query.
func (r request) op() string { return r.method + " " + r.u.EscapedPath() }

// do sends r and returns the body of a 2xx answer of at most MaxAnswer
// bytes. Anything else is an *Error.
func (p *Provider) do(ctx context.Context, r request) ([]byte, error) {
	if p.cfgErr != nil {
		return nil, p.cfgErr
	}
	if !p.allowed(r.u) {
		return nil, &Error{Op: r.op(), Message: "refused: not a configured GitHub host"}
	}
	ctx, cancel := context.WithTimeout(ctx, p.timeout)
	defer cancel()
	req, err := p.newRequest(ctx, r)
	if err != nil {
		return nil, err
	}
	resp, err := p.hc.Do(req)
	if err != nil {
		return nil, &Error{Op: r.op(), Err: err}
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, MaxAnswer+1))
	if err != nil {
		return nil, &Error{Op: r.op(), Status: resp.StatusCode, Message: "reading the answer", Err: err}
	}
	if len(body) > MaxAnswer {
		return nil, &Error{Op: r.op(), Status: resp.StatusCode, Message: fmt.Sprintf("answer over %d bytes", MaxAnswer)}
	}
	if resp.StatusCode/100 != 2 {
		return nil, &Error{Op: r.op(), Status: resp.StatusCode, Message: providerMessage(body)}
	}
	return body, nil
}

func (p *Provider) newRequest(ctx context.Context, r request) (*http.Request, error) {
	var body io.Reader
	switch {
	case r.form != nil:
		body = strings.NewReader(r.form.Encode())
	case r.json != nil:
		body = bytes.NewReader(r.json)
	}
	req, err := http.NewRequestWithContext(ctx, r.method, r.u.String(), body)
	if err != nil {
		return nil, &Error{Op: r.op(), Err: err}
	}
	req.Header.Set("User-Agent", "pkfs")
	switch r.kind {
	case kindAPI:
		req.Header.Set("Accept", "application/vnd.github+json")
		req.Header.Set("X-GitHub-Api-Version", "2022-11-28")
	case kindWeb:
		req.Header.Set("Accept", "application/json")
	case kindRaw:
		req.Header.Set("Accept", "text/plain")
	}
	switch {
	case r.form != nil:
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	case r.json != nil:
		req.Header.Set("Content-Type", "application/json")
	}
	if r.token != nil {
		if !validToken(r.token.Secret()) {
			return nil, fmt.Errorf("%w: github: no usable token", gestalt.ErrNotAuthenticated)
		}
		req.Header.Set("Authorization", "Bearer "+r.token.Secret())
	}
	return req, nil
}

// validToken reports whether s can be sent as a bearer token: 1 to 512
// printable ASCII characters without spaces.
func validToken(s string) bool {
	if len(s) == 0 || len(s) > 512 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] <= ' ' || s[i] > '~' {
			return false
		}
	}
	return true
}

// providerMessage extracts GitHub's explanation from an error answer
// ({"message": ...} of the API, {"error": ...} of OAuth), sanitised.
func providerMessage(body []byte) string {
	var m struct {
		Message     string `json:"message"`
		Error       string `json:"error"`
		Description string `json:"error_description"`
	}
	if json.Unmarshal(body, &m) != nil {
		return "the answer is not JSON"
	}
	s := strings.TrimSpace(strings.Join([]string{m.Message, m.Error, m.Description}, " "))
	return sanitize(s)
}

// sanitize makes provider text safe to print: printable ASCII, at most 200
// bytes, quoted; "" stays "".
func sanitize(s string) string {
	if s == "" {
		return ""
	}
	b := []byte(s)
	for i, c := range b {
		if c < ' ' || c > '~' {
			b[i] = '?'
		}
	}
	if len(b) > 200 {
		b = append(b[:200], "..."...)
	}
	return fmt.Sprintf("%q", b)
}
