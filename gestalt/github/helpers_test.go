package github

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/pkfs/pkfs/gestalt/github/githubtest"
)

// fake starts a fake GitHub and a provider pointed at it, with a client
// timeout of timeout; both are cleaned up with the test.
func fake(t *testing.T, timeout time.Duration) (*githubtest.Server, *Provider) {
	t.Helper()
	s := githubtest.NewServer()
	t.Cleanup(s.Close)
	tr := &http.Transport{}
	t.Cleanup(tr.CloseIdleConnections) // runs before s.Close
	p := New(Config{WebURL: s.WebURL(), APIURL: s.APIURL(), ClientID: "Ov23-test-client",
		HTTP: &http.Client{Transport: tr, Timeout: timeout}})
	return s, p
}

// sleeps records the waits of the device flow instead of waiting, and
// calls each hook (if any) before returning from the matching wait.
type sleeps struct {
	mu    sync.Mutex
	waits []time.Duration
	hook  func(n int) // n: 1 for the first wait
}

func (s *sleeps) install(p *Provider) {
	p.sleep = func(ctx context.Context, d time.Duration) error {
		s.mu.Lock()
		s.waits = append(s.waits, d)
		n, hook := len(s.waits), s.hook
		s.mu.Unlock()
		if hook != nil {
			hook(n)
		}
		return ctx.Err()
	}
}

func (s *sleeps) got() []time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]time.Duration(nil), s.waits...)
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// newServer starts an httptest server on 127.0.0.1, closed with the test.
func newServer(t *testing.T, h http.Handler) string {
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv.URL
}
