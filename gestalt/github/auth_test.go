package github

import (
	"context"
	"errors"
	"regexp"
	"slices"
	"testing"
	"time"

	"github.com/pkfs/pkfs/gestalt"
	"github.com/pkfs/pkfs/gestalt/github/githubtest"
)

func TestDeviceFlowPendingThenApproved(t *testing.T) {
	s, p := fake(t, 5*time.Second)
	var sl sleeps
	sl.install(p)
	ctx := ctxT(t)
	ch, err := p.StartAuth(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if ch.Provider != "github.com" || !regexp.MustCompile(`^[A-Z]{4}-[A-Z]{4}$`).MatchString(ch.UserCode) ||
		ch.VerificationURI != s.WebURL()+"/login/device" || ch.DeviceCode == "" || ch.Interval != time.Second {
		t.Fatalf("challenge %+v", ch)
	}
	if d := time.Until(ch.ExpiresAt); d < 14*time.Minute || d > 15*time.Minute {
		t.Errorf("expires in %v, want 15 min", d)
	}
	sl.hook = func(n int) {
		if n == 3 { // two polls were pending: the user approves now
			if err := s.Approve(ch.UserCode, "alice"); err != nil {
				t.Error(err)
			}
		}
	}
	tok, err := p.FinishAuth(ctx, ch)
	if err != nil {
		t.Fatal(err)
	}
	if n := s.Requests(githubtest.AccessToken); n != 3 {
		t.Errorf("%d polls, want 3 (2 pending, 1 approved)", n)
	}
	if w := sl.got(); !slices.Equal(w, []time.Duration{time.Second, time.Second, time.Second}) {
		t.Errorf("waits %v, want the interval before each poll", w)
	}
	if login, err := p.WhoAmI(ctx, tok); err != nil || login != "alice" {
		t.Fatalf("WhoAmI = %q, %v", login, err)
	}
	// A device code gives one token only.
	if _, err := p.FinishAuth(ctx, ch); !errors.Is(err, gestalt.ErrProvider) {
		t.Errorf("second FinishAuth: %v", err)
	}
}

func TestDeviceFlowSlowDown(t *testing.T) {
	s, p := fake(t, 5*time.Second)
	var sl sleeps
	sl.install(p)
	ctx := ctxT(t)
	ch, err := p.StartAuth(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.SlowDown(ch.UserCode, 2); err != nil {
		t.Fatal(err)
	}
	if err := s.Approve(ch.UserCode, "alice"); err != nil {
		t.Fatal(err)
	}
	if _, err := p.FinishAuth(ctx, ch); err != nil {
		t.Fatal(err)
	}
	want := []time.Duration{time.Second, 6 * time.Second, 11 * time.Second}
	if w := sl.got(); !slices.Equal(w, want) {
		t.Errorf("waits %v, want %v (5 s more after each slow_down)", w, want)
	}
}

func TestDeviceFlowEnds(t *testing.T) {
	for _, tc := range []struct {
		name string
		act  func(s *githubtest.Server, code string) error
		want error
	}{
		{"expired", (*githubtest.Server).Expire, ErrAuthExpired},
		{"denied", (*githubtest.Server).Deny, ErrAuthDenied},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, p := fake(t, 5*time.Second)
			var sl sleeps
			sl.install(p)
			ctx := ctxT(t)
			ch, err := p.StartAuth(ctx)
			if err != nil {
				t.Fatal(err)
			}
			sl.hook = func(n int) {
				if n == 2 {
					tc.act(s, ch.UserCode)
				}
			}
			_, err = p.FinishAuth(ctx, ch)
			if !errors.Is(err, tc.want) || !errors.Is(err, gestalt.ErrProvider) {
				t.Fatalf("got %v, want %v wrapping ErrProvider", err, tc.want)
			}
			if n := s.Requests(githubtest.AccessToken); n != 2 {
				t.Errorf("%d polls, want 2", n)
			}
		})
	}
}

// The device code's lifetime runs out on the real clock.
func TestDeviceFlowTimesOut(t *testing.T) {
	t.Parallel()
	s, p := fake(t, 5*time.Second)
	s.SetDeviceFlow(time.Second, time.Second)
	p.sleep = func(ctx context.Context, d time.Duration) error { return sleepCtx(ctx, 400*time.Millisecond) }
	ctx := ctxT(t)
	ch, err := p.StartAuth(ctx)
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	_, err = p.FinishAuth(ctx, ch)
	if !errors.Is(err, ErrAuthExpired) || !errors.Is(err, gestalt.ErrProvider) {
		t.Fatalf("got %v, want ErrAuthExpired", err)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("gave up after %v", d)
	}
	// A challenge already past its expiry is not polled.
	n := s.Requests(githubtest.AccessToken)
	if _, err := p.FinishAuth(ctx, ch); !errors.Is(err, ErrAuthExpired) {
		t.Fatalf("got %v", err)
	}
	if s.Requests(githubtest.AccessToken) != n {
		t.Error("an expired challenge was polled")
	}
}

func TestDeviceFlowCancelled(t *testing.T) {
	_, p := fake(t, 5*time.Second)
	ctx, cancel := context.WithCancel(ctxT(t))
	ch, err := p.StartAuth(ctx)
	if err != nil {
		t.Fatal(err)
	}
	ch.Interval = time.Hour
	time.AfterFunc(100*time.Millisecond, cancel)
	start := time.Now()
	_, err = p.FinishAuth(ctx, ch)
	if !errors.Is(err, context.Canceled) || !errors.Is(err, gestalt.ErrProvider) {
		t.Fatalf("got %v", err)
	}
	if time.Since(start) > 5*time.Second {
		t.Error("cancellation did not stop the wait")
	}
}

// A code nobody approves is polled a bounded number of times.
func TestDeviceFlowBounded(t *testing.T) {
	s, p := fake(t, 5*time.Second)
	var sl sleeps
	sl.install(p)
	ctx := ctxT(t)
	ch, err := p.StartAuth(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.FinishAuth(ctx, ch); !errors.Is(err, gestalt.ErrProvider) {
		t.Fatalf("got %v", err)
	}
	if n := s.Requests(githubtest.AccessToken); n != maxPolls {
		t.Errorf("%d polls, want %d", n, maxPolls)
	}
}

func TestFinishAuthWithoutChallenge(t *testing.T) {
	s, p := fake(t, 5*time.Second)
	if _, err := p.FinishAuth(ctxT(t), gestalt.AuthChallenge{}); !errors.Is(err, gestalt.ErrProvider) {
		t.Fatalf("got %v", err)
	}
	if s.Requests(githubtest.AccessToken) != 0 {
		t.Error("polled without a device code")
	}
}
