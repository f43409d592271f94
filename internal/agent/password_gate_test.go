package agent

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/pkfs/pkfs/keyring"
)

// The delay before a check doubles with each wrong password in a row, up
// to the cap, and a right password clears it; other errors count nothing.
func TestPasswordGateDelaysAfterWrongPasswords(t *testing.T) {
	clock := time.Unix(1000, 0)
	var slept []time.Duration
	g := newPasswordGate()
	g.now = func() time.Time { return clock }
	g.sleep = func(_ context.Context, d time.Duration) error {
		slept = append(slept, d)
		clock = clock.Add(d)
		return nil
	}
	wrong := func() error { return keyring.ErrWrongPassword }
	right := func() error { return nil }
	other := func() error { return keyring.ErrEmptyPassword }
	steps := []struct {
		f    func() error
		wait time.Duration // the sleep before this check
	}{
		{wrong, 0},
		{wrong, time.Second},
		{other, 2 * time.Second},
		{wrong, 0},               // the empty one waited its turn; it did not clear the count
		{wrong, 4 * time.Second}, // the third wrong one in a row
		{right, 8 * time.Second},
		{wrong, 0},
		{right, time.Second},
		{right, 0},
	}
	for i, s := range steps {
		slept = nil
		err := g.check(context.Background(), s.f)
		if want := s.f(); !errors.Is(err, want) && err != want {
			t.Fatalf("step %d: %v, want %v", i, err, want)
		}
		var got time.Duration
		for _, d := range slept {
			got += d
		}
		if got != s.wait {
			t.Fatalf("step %d: waited %v, want %v", i, got, s.wait)
		}
	}
	for n, want := range map[int]time.Duration{0: 0, 1: time.Second, 2: 2 * time.Second, 6: 32 * time.Second,
		7: maxPasswordDelay, 100: maxPasswordDelay, 1 << 30: maxPasswordDelay} {
		if got := passwordDelay(n); got != want {
			t.Errorf("passwordDelay(%d) = %v, want %v", n, got, want)
		}
	}
}

// Checks run one at a time, and a caller that gives up while waiting
// runs nothing.
func TestPasswordGateSerialisesChecks(t *testing.T) {
	g := newPasswordGate()
	var mu sync.Mutex
	running, most := 0, 0
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_ = g.check(context.Background(), func() error {
				mu.Lock()
				running++
				most = max(most, running)
				mu.Unlock()
				time.Sleep(time.Millisecond)
				mu.Lock()
				running--
				mu.Unlock()
				return nil
			})
		}()
	}
	wg.Wait()
	if most != 1 {
		t.Fatalf("%d checks ran at once", most)
	}
	g.failures, g.next = 3, time.Now().Add(time.Hour)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	ran := false
	if err := g.check(ctx, func() error { ran = true; return nil }); !errors.Is(err, context.Canceled) || ran {
		t.Fatalf("a cancelled wait: %v, ran %v", err, ran)
	}
}
