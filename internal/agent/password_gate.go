package agent

import (
	"context"
	"errors"
	"time"

	"github.com/pkfs/pkfs/keyring"
)

// maxPasswordDelay bounds the wait before a password check after wrong
// ones.
const maxPasswordDelay = time.Minute

// passwordGate guards the checks of the node's password made for callers
// of the agent (keys.password). Any process of the user can call the
// agent, so without it the socket would be a password oracle as fast as
// the agent's cores. The gate lets one check run at a time and, after a
// wrong password, makes the next check wait: 1 s after one failure,
// doubling with each further one up to maxPasswordDelay, until a right
// password clears it. With the KDF's cost that is slower than guessing
// offline against a copy of private.key, which the same process could
// read anyway. The failures are counted for the agent's lifetime.
type passwordGate struct {
	slot     chan struct{} // one check at a time; holds the fields below
	failures int
	next     time.Time // no check before this
	now      func() time.Time
	sleep    func(context.Context, time.Duration) error
}

func newPasswordGate() *passwordGate {
	return &passwordGate{slot: make(chan struct{}, 1), now: time.Now, sleep: sleepCtx}
}

// check waits for its turn and for the delay that wrong passwords have
// earned, then runs f, which checks a password. A keyring.ErrWrongPassword
// from f is a failure; success clears the failures; any other error
// changes nothing.
func (g *passwordGate) check(ctx context.Context, f func() error) error {
	select {
	case g.slot <- struct{}{}:
	case <-ctx.Done():
		return ctx.Err()
	}
	defer func() { <-g.slot }()
	if d := g.next.Sub(g.now()); d > 0 {
		if err := g.sleep(ctx, d); err != nil {
			return err
		}
	}
	err := f()
	switch {
	case errors.Is(err, keyring.ErrWrongPassword):
		g.failures++
		g.next = g.now().Add(passwordDelay(g.failures))
	case err == nil:
		g.failures, g.next = 0, time.Time{}
	}
	return err
}

// passwordDelay is the wait before the next check after n wrong passwords
// in a row.
func passwordDelay(n int) time.Duration {
	if n <= 0 {
		return 0
	}
	d := time.Second
	for i := 1; i < n && d < maxPasswordDelay; i++ {
		d *= 2
	}
	return min(d, maxPasswordDelay)
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
