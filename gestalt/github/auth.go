package github

import (
	"context"
	"net/http"
	"net/url"
	"time"

	"github.com/pkfs/pkfs/gestalt"
)

// Bounds of the device flow.
const (
	defaultInterval = 5 * time.Second // RFC 8628, when GitHub names none
	slowDownStep    = 5 * time.Second
	maxInterval     = 2 * time.Minute
	maxPolls        = 1000
)

// StartAuth asks GitHub for a device code with the gist scope.
func (p *Provider) StartAuth(ctx context.Context) (gestalt.AuthChallenge, error) {
	r := request{method: http.MethodPost, u: endpoint(p.web, "/login/device/code", nil), kind: kindWeb,
		form: url.Values{"client_id": {p.clientID}, "scope": {"gist"}}}
	body, err := p.do(ctx, r)
	if err != nil {
		return gestalt.AuthChallenge{}, err
	}
	a, err := decodeDeviceCode(body)
	if err != nil {
		return gestalt.AuthChallenge{}, &Error{Op: r.op(), Status: http.StatusOK, Err: err}
	}
	if a.Error != "" {
		return gestalt.AuthChallenge{}, &Error{Op: r.op(), Status: http.StatusOK, Message: sanitize(a.Error + " " + a.Description)}
	}
	interval := time.Duration(a.Interval) * time.Second
	if interval <= 0 {
		interval = defaultInterval
	}
	return gestalt.AuthChallenge{
		Provider:        ProviderID,
		UserCode:        a.UserCode,
		VerificationURI: a.VerificationURI,
		DeviceCode:      a.DeviceCode,
		Interval:        interval,
		ExpiresAt:       time.Now().Add(time.Duration(a.ExpiresIn) * time.Second),
	}, nil
}

// FinishAuth polls GitHub, waiting the challenge's interval before each
// poll, until the user approves (a token), denies (ErrAuthDenied), the code
// expires (ErrAuthExpired) or ctx ends. slow_down answers lengthen the
// interval by 5 seconds, as GitHub asks.
func (p *Provider) FinishAuth(ctx context.Context, ch gestalt.AuthChallenge) (gestalt.Token, error) {
	const op = "POST /login/oauth/access_token"
	if !printable(ch.DeviceCode, 512) {
		return gestalt.Token{}, &Error{Op: op, Message: "no device code: start the authentication first"}
	}
	interval := min(max(ch.Interval, time.Second), maxInterval)
	if ch.Interval <= 0 {
		interval = defaultInterval
	}
	for range maxPolls {
		if !ch.ExpiresAt.IsZero() && time.Now().After(ch.ExpiresAt) {
			return gestalt.Token{}, &Error{Op: op, Err: ErrAuthExpired}
		}
		if err := p.sleep(ctx, interval); err != nil {
			return gestalt.Token{}, &Error{Op: op, Message: "waiting for approval", Err: err}
		}
		a, err := p.pollToken(ctx, ch.DeviceCode)
		if err != nil {
			return gestalt.Token{}, err
		}
		switch a.Error {
		case "":
			return gestalt.NewToken(a.AccessToken), nil
		case "authorization_pending":
		case "slow_down":
			interval = min(max(interval+slowDownStep, time.Duration(a.Interval)*time.Second), maxInterval)
		case "expired_token":
			return gestalt.Token{}, &Error{Op: op, Status: http.StatusOK, Err: ErrAuthExpired}
		case "access_denied":
			return gestalt.Token{}, &Error{Op: op, Status: http.StatusOK, Err: ErrAuthDenied}
		default:
			return gestalt.Token{}, &Error{Op: op, Status: http.StatusOK, Message: sanitize(a.Error + " " + a.Description)}
		}
	}
	return gestalt.Token{}, &Error{Op: op, Message: "no approval after the maximum number of polls"}
}

// pollToken asks once for the token of a device code.
func (p *Provider) pollToken(ctx context.Context, deviceCode string) (tokenAnswer, error) {
	r := request{method: http.MethodPost, u: endpoint(p.web, "/login/oauth/access_token", nil), kind: kindWeb,
		form: url.Values{
			"client_id":   {p.clientID},
			"device_code": {deviceCode},
			"grant_type":  {"urn:ietf:params:oauth:grant-type:device_code"},
		}}
	body, err := p.do(ctx, r)
	if err != nil {
		return tokenAnswer{}, err
	}
	a, err := decodeToken(body)
	if err != nil {
		return tokenAnswer{}, &Error{Op: r.op(), Status: http.StatusOK, Err: err}
	}
	return a, nil
}
