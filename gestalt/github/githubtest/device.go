package githubtest

import (
	"crypto/rand"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"time"
)

// device is a device code of the OAuth device flow.
type device struct {
	code, userCode string
	made           time.Time
	expiresIn      int
	interval       int
	login          string // who approved; "" while pending
	denied         bool
	expired        bool
	redeemed       bool
	slowDowns      int // polls still to answer slow_down
}

// ErrUnknownCode is returned for a user code the fake never issued.
var ErrUnknownCode = errors.New("githubtest: unknown user code")

// SetDeviceFlow sets the poll interval and the lifetime of the device codes
// issued from now on (GitHub: 5 s and 15 min; the fake: 1 s and 15 min).
// They are whole seconds on the wire: interval rounds down, expiry up.
func (s *Server) SetDeviceFlow(interval, expiresIn time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.interval = int(interval / time.Second)
	s.expiresIn = int((expiresIn + time.Second - 1) / time.Second)
}

// Approve approves a pending user code as login (created if need be): the
// next poll gets a token of login.
func (s *Server) Approve(userCode, login string) error {
	if !ValidLogin(login) {
		return errors.New("githubtest: not a GitHub login")
	}
	return s.withCode(userCode, func(d *device) { d.login = s.addUser(login).login })
}

// Deny makes the next poll of a user code answer access_denied.
func (s *Server) Deny(userCode string) error {
	return s.withCode(userCode, func(d *device) { d.denied = true })
}

// Expire makes a user code expire now: polls answer expired_token.
func (s *Server) Expire(userCode string) error {
	return s.withCode(userCode, func(d *device) { d.expired = true })
}

// SlowDown makes the next n polls of a user code answer slow_down, each
// adding 5 s to its interval, as GitHub does to clients that poll too fast.
func (s *Server) SlowDown(userCode string, n int) error {
	return s.withCode(userCode, func(d *device) { d.slowDowns = n })
}

// PendingUserCodes lists the user codes neither approved, denied nor
// expired, oldest first.
func (s *Server) PendingUserCodes() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var ds []*device
	for _, d := range s.codes {
		if d.login == "" && !d.denied && !d.expired && !d.timedOut() {
			ds = append(ds, d)
		}
	}
	sort.Slice(ds, func(i, j int) bool { return ds[i].made.Before(ds[j].made) })
	out := make([]string, len(ds))
	for i, d := range ds {
		out[i] = d.userCode
	}
	return out
}

func (s *Server) withCode(userCode string, f func(*device)) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, d := range s.codes {
		if d.userCode == userCode {
			f(d)
			return nil
		}
	}
	return ErrUnknownCode
}

func (d *device) timedOut() bool {
	return time.Since(d.made) > time.Duration(d.expiresIn)*time.Second
}

// userCodeAlphabet is GitHub's: no vowels, no lookalikes.
const userCodeAlphabet = "BCDFGHJKLMNPQRSTVWXZ"

func newUserCode() string {
	b := make([]byte, 8)
	rand.Read(b)
	for i := range b {
		b[i] = userCodeAlphabet[int(b[i])%len(userCodeAlphabet)]
	}
	return string(b[:4]) + "-" + string(b[4:])
}

// handleDeviceCode serves POST /login/device/code.
func (s *Server) handleDeviceCode(w http.ResponseWriter, r *http.Request) {
	if r.ParseForm() != nil || r.PostForm.Get("client_id") == "" {
		writeOAuth(w, r, http.StatusUnauthorized, map[string]any{"error": "incorrect_client_credentials",
			"error_description": "The client_id is not valid."})
		return
	}
	s.mu.Lock()
	d := &device{code: randomHex(20), userCode: newUserCode(), made: time.Now(),
		expiresIn: s.expiresIn, interval: s.interval}
	s.codes[d.code] = d
	s.mu.Unlock()
	writeOAuth(w, r, http.StatusOK, map[string]any{
		"device_code":      d.code,
		"user_code":        d.userCode,
		"verification_uri": s.WebURL() + "/login/device",
		"expires_in":       d.expiresIn,
		"interval":         d.interval,
	})
}

// handleAccessToken serves POST /login/oauth/access_token. Like GitHub, it
// answers OAuth errors with status 200.
func (s *Server) handleAccessToken(w http.ResponseWriter, r *http.Request) {
	oauthErr := func(code, desc string, extra map[string]any) {
		m := map[string]any{"error": code, "error_description": desc,
			"error_uri": "https://docs.github.com/developers/apps/authorizing-oauth-apps#error-codes-for-the-device-flow"}
		for k, v := range extra {
			m[k] = v
		}
		writeOAuth(w, r, http.StatusOK, m)
	}
	if r.ParseForm() != nil || r.PostForm.Get("client_id") == "" {
		oauthErr("incorrect_client_credentials", "The client_id is not valid.", nil)
		return
	}
	if r.PostForm.Get("grant_type") != "urn:ietf:params:oauth:grant-type:device_code" {
		oauthErr("unsupported_grant_type", "The grant type is not supported.", nil)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	d, ok := s.codes[r.PostForm.Get("device_code")]
	switch {
	case !ok || d.redeemed:
		oauthErr("incorrect_device_code", "The device_code provided is not valid.", nil)
	case d.expired || d.timedOut():
		oauthErr("expired_token", "The device_code has expired.", nil)
	case d.slowDowns > 0:
		d.slowDowns--
		d.interval += 5
		oauthErr("slow_down", "Too many requests have been made in the same timeframe.", map[string]any{"interval": d.interval})
	case d.denied:
		oauthErr("access_denied", "The authorization request was denied.", nil)
	case d.login == "":
		oauthErr("authorization_pending", "The authorization request is still pending.", nil)
	default:
		d.redeemed = true
		writeOAuth(w, r, http.StatusOK, map[string]any{"access_token": s.tokenFor(s.users[strings.ToLower(d.login)]),
			"token_type": "bearer", "scope": "gist"})
	}
}

// writeOAuth answers JSON when the client asks for it, else form-encoded
// text, as GitHub's OAuth endpoints do.
func writeOAuth(w http.ResponseWriter, r *http.Request, status int, m map[string]any) {
	if strings.Contains(r.Header.Get("Accept"), "application/json") {
		writeJSON(w, status, m)
		return
	}
	v := url.Values{}
	for k, x := range m {
		v.Set(k, fmt.Sprint(x))
	}
	w.Header().Set("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
	w.WriteHeader(status)
	w.Write([]byte(v.Encode()))
}
