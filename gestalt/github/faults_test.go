package github

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/pkfs/pkfs/gestalt"
	"github.com/pkfs/pkfs/gestalt/github/githubtest"
)

// op is one call of the provider, and the endpoint whose fault breaks it.
type op struct {
	name string
	ep   githubtest.Endpoint
	call func(ctx context.Context, p *Provider) error
}

// ops returns a call for every endpoint, on a fake with user alice (token
// tok) who has published one claim.
func ops(t *testing.T, s *githubtest.Server, p *Provider) (list []op, tok string) {
	tok = s.AddUser("alice")
	s.AddGist("alice", true, map[string]string{gestalt.ClaimFileName: strings.Repeat("claim ", 10)})
	var sl sleeps
	sl.install(p)
	finish := func(ctx context.Context, p *Provider) error {
		ch, err := p.StartAuth(ctx)
		if err != nil {
			return err
		}
		if err := s.Approve(ch.UserCode, "alice"); err != nil {
			return err
		}
		_, err = p.FinishAuth(ctx, ch)
		return err
	}
	claims := func(ctx context.Context, p *Provider) error { _, err := p.Claims(ctx, "alice"); return err }
	return []op{
		{"StartAuth", githubtest.DeviceCode, func(ctx context.Context, p *Provider) error { _, err := p.StartAuth(ctx); return err }},
		{"FinishAuth", githubtest.AccessToken, finish},
		{"WhoAmI", githubtest.User, func(ctx context.Context, p *Provider) error {
			_, err := p.WhoAmI(ctx, gestalt.NewToken(tok))
			return err
		}},
		{"Publish", githubtest.CreateGist, func(ctx context.Context, p *Provider) error {
			_, err := p.Publish(ctx, gestalt.NewToken(tok), []byte("text"))
			return err
		}},
		{"Claims/list", githubtest.UserGists, claims},
		{"Claims/gist", githubtest.Gist, claims},
		{"Claims/raw", githubtest.Raw, claims}, // with SetTruncateAt below
		{"Search", githubtest.SearchUsers, func(ctx context.Context, p *Provider) error { _, err := p.Search(ctx, "ali"); return err }},
	}, tok
}

// A provider that does not answer gives ErrProvider once the client's
// timeout or the context's deadline passes, not later.
func TestTimeouts(t *testing.T) {
	for _, how := range []string{"client timeout", "context deadline"} {
		t.Run(how, func(t *testing.T) {
			t.Parallel()
			clientTimeout := 250 * time.Millisecond
			if how == "context deadline" {
				clientTimeout = 0
			}
			s, p := fake(t, clientTimeout)
			list, _ := ops(t, s, p)
			s.SetTruncateAt(10)
			for _, o := range list {
				s.SetFault(githubtest.Hang, o.ep)
				ctx := ctxT(t)
				if how == "context deadline" {
					c, cancel := context.WithTimeout(ctx, 250*time.Millisecond)
					defer cancel()
					ctx = c
				}
				start := time.Now()
				err := o.call(ctx, p)
				if d := time.Since(start); d > 3*time.Second {
					t.Errorf("%s: gave up after %v", o.name, d)
				}
				if !errors.Is(err, gestalt.ErrProvider) || !errors.Is(err, context.DeadlineExceeded) {
					t.Errorf("%s: %v, want ErrProvider after a deadline", o.name, err)
				}
				s.SetFault(githubtest.NoFault)
			}
		})
	}
}

// Answers that are not what GitHub sends are errors (ErrProvider), never
// panics, and never hold the token.
func TestGarbageAnswers(t *testing.T) {
	s, p := fake(t, 5*time.Second)
	list, tok := ops(t, s, p)
	s.SetTruncateAt(10)
	for _, o := range list {
		if err := o.call(ctxT(t), p); err != nil {
			t.Fatalf("%s without a fault: %v", o.name, err)
		}
	}
	for _, f := range githubtest.Faults {
		if f == githubtest.Hang {
			continue
		}
		for _, o := range list {
			if o.ep == githubtest.Raw && f != githubtest.Huge && f != githubtest.ServerError {
				continue // raw text is not JSON: any text is an answer
			}
			s.SetFault(f, o.ep)
			err := o.call(ctxT(t), p)
			s.SetFault(githubtest.NoFault)
			if !errors.Is(err, gestalt.ErrProvider) {
				t.Errorf("%s, %s: %v, want ErrProvider", f, o.name, err)
				continue
			}
			if strings.Contains(err.Error(), tok) {
				t.Errorf("%s, %s: the error holds the token", f, o.name)
			}
			if f == githubtest.Huge && !strings.Contains(err.Error(), "answer over") {
				t.Errorf("%s, %s: %v, want the size limit", f, o.name, err)
			}
			if f == githubtest.ServerError && !strings.Contains(err.Error(), "502") {
				t.Errorf("%s, %s: %v, want the status", f, o.name, err)
			}
		}
	}
}

// Error answers of the API carry GitHub's message into the error, made
// printable.
func TestErrorMessages(t *testing.T) {
	api := func(status int, body string) *Provider {
		srv := newRawServer(t, status, body)
		return New(Config{WebURL: srv, APIURL: srv, HTTP: &http.Client{Timeout: 5 * time.Second}})
	}
	_, err := api(403, `{"message":"API rate limit exceeded\u001b[31m for 127.0.0.1"}`).Search(ctxT(t), "x")
	if !errors.Is(err, gestalt.ErrProvider) || !strings.Contains(err.Error(), `403 Forbidden: "API rate limit exceeded?[31m for 127.0.0.1"`) {
		t.Errorf("got %v", err)
	}
	_, err = api(200, `{"error":"device_flow_disabled","error_description":"Device Flow must be explicitly enabled for this App"}`).StartAuth(ctxT(t))
	if !errors.Is(err, gestalt.ErrProvider) || !strings.Contains(err.Error(), "device_flow_disabled") {
		t.Errorf("got %v", err)
	}
	_, err = api(200, `null`).WhoAmI(ctxT(t), gestalt.NewToken("t"))
	if !errors.Is(err, gestalt.ErrProvider) || !strings.Contains(err.Error(), "not the expected JSON") {
		t.Errorf("got %v", err)
	}
}

// newRawServer answers every request with status and body.
func newRawServer(t *testing.T, status int, body string) string {
	srv := newServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		w.Write([]byte(body))
	}))
	return srv
}
