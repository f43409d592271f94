package github

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"regexp"
)

// The answers of GitHub this package reads, and their decoders. A decoder
// accepts only the expected JSON shape with the fields it needs, valid.

// errShape is the cause of every decoding failure.
var errShape = errors.New("the answer is not the expected JSON")

func shapeErr(format string, a ...any) error {
	return fmt.Errorf("%w: %s", errShape, fmt.Sprintf(format, a...))
}

// unmarshal decodes b into v after checking that b is a JSON object (open
// '{') or array ('['), as v expects: json.Unmarshal takes null for anything.
func unmarshal(b []byte, open byte, v any) error {
	if t := bytes.TrimLeft(b, " \t\r\n"); len(t) == 0 || t[0] != open {
		return shapeErr("want a JSON %s", map[byte]string{'{': "object", '[': "array"}[open])
	}
	if err := json.Unmarshal(b, v); err != nil {
		return shapeErr("%v", err)
	}
	return nil
}

// printable reports whether s is 1 to max printable ASCII characters.
func printable(s string, max int) bool {
	if len(s) == 0 || len(s) > max {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < ' ' || s[i] > '~' {
			return false
		}
	}
	return true
}

// webURL reports whether s is an absolute http or https URL.
func webURL(s string) bool {
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "https" || u.Scheme == "http") && u.Host != "" && len(s) <= 2048
}

// deviceCodeAnswer is the answer of POST /login/device/code.
type deviceCodeAnswer struct {
	DeviceCode      string `json:"device_code"`
	UserCode        string `json:"user_code"`
	VerificationURI string `json:"verification_uri"`
	ExpiresIn       int    `json:"expires_in"`
	Interval        int    `json:"interval"`
	Error           string `json:"error,omitempty"`
	Description     string `json:"error_description,omitempty"`
}

func decodeDeviceCode(b []byte) (deviceCodeAnswer, error) {
	var a deviceCodeAnswer
	if err := unmarshal(b, '{', &a); err != nil {
		return a, err
	}
	switch {
	case a.Error != "":
		return a, nil
	case !printable(a.DeviceCode, 512) || !printable(a.UserCode, 64):
		return a, shapeErr("bad device_code or user_code")
	case !webURL(a.VerificationURI):
		return a, shapeErr("bad verification_uri")
	case a.ExpiresIn <= 0 || a.ExpiresIn > 24*3600 || a.Interval < 0 || a.Interval > 3600:
		return a, shapeErr("bad expires_in or interval")
	}
	return a, nil
}

// tokenAnswer is the answer of POST /login/oauth/access_token: a token or
// an OAuth error code (with HTTP status 200, as GitHub does).
type tokenAnswer struct {
	AccessToken string `json:"access_token,omitempty"`
	TokenType   string `json:"token_type,omitempty"`
	Scope       string `json:"scope,omitempty"`
	Error       string `json:"error,omitempty"`
	Description string `json:"error_description,omitempty"`
	Interval    int    `json:"interval,omitempty"`
}

func decodeToken(b []byte) (tokenAnswer, error) {
	var a tokenAnswer
	if err := unmarshal(b, '{', &a); err != nil {
		return a, err
	}
	switch {
	case a.Error != "":
		if !printable(a.Error, 100) || a.Interval < 0 || a.Interval > 3600 {
			return a, shapeErr("bad error or interval")
		}
	case !validToken(a.AccessToken):
		return a, shapeErr("no access_token")
	}
	return a, nil
}

// userAnswer is a user of GET /user and of search results.
type userAnswer struct {
	Login string `json:"login"`
}

func decodeUser(b []byte) (string, error) {
	var a userAnswer
	if err := unmarshal(b, '{', &a); err != nil {
		return "", err
	}
	if !ValidLogin(a.Login) {
		return "", shapeErr("bad login")
	}
	return a.Login, nil
}

// searchAnswer is the answer of GET /search/users.
type searchAnswer struct {
	TotalCount int          `json:"total_count"`
	Items      []userAnswer `json:"items"`
}

func decodeSearch(b []byte) ([]string, error) {
	var a searchAnswer
	if err := unmarshal(b, '{', &a); err != nil {
		return nil, err
	}
	if a.Items == nil || len(a.Items) > 100 {
		return nil, shapeErr("bad items")
	}
	out := make([]string, 0, len(a.Items))
	for _, it := range a.Items {
		if !ValidLogin(it.Login) {
			return nil, shapeErr("bad login in items")
		}
		out = append(out, it.Login)
	}
	return out, nil
}

// gistFile is a file of a gist; Content is set only in GET /gists/{id}.
type gistFile struct {
	Filename  string  `json:"filename"`
	RawURL    string  `json:"raw_url"`
	Size      int64   `json:"size"`
	Truncated bool    `json:"truncated,omitempty"`
	Content   *string `json:"content,omitempty"`
}

// gist is a gist of GET /users/{login}/gists, GET /gists/{id} and
// POST /gists.
type gist struct {
	ID      string              `json:"id"`
	HTMLURL string              `json:"html_url"`
	Public  bool                `json:"public"`
	Owner   *userAnswer         `json:"owner,omitempty"`
	Files   map[string]gistFile `json:"files"`
}

var gistIDRE = regexp.MustCompile(`^[A-Za-z0-9]{1,64}$`)

func (g gist) check() error {
	if !gistIDRE.MatchString(g.ID) {
		return shapeErr("bad gist id")
	}
	if g.Files == nil {
		return shapeErr("gist %s has no files", g.ID)
	}
	return nil
}

func decodeGistList(b []byte) ([]gist, error) {
	var gs []gist
	if err := unmarshal(b, '[', &gs); err != nil {
		return nil, err
	}
	if len(gs) > perPage {
		return nil, shapeErr("over %d gists in a page", perPage)
	}
	for _, g := range gs {
		if err := g.check(); err != nil {
			return nil, err
		}
	}
	return gs, nil
}

func decodeGist(b []byte) (gist, error) {
	var g gist
	if err := unmarshal(b, '{', &g); err != nil {
		return g, err
	}
	return g, g.check()
}
