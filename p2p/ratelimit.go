package p2p

import (
	"sync"
	"time"
)

// tokenBucket allows rate units per second on average, burst at once.
type tokenBucket struct {
	mu     sync.Mutex
	rate   float64
	burst  float64
	tokens float64
	last   time.Time
}

func newBucket(rate, burst float64) *tokenBucket {
	return &tokenBucket{rate: rate, burst: burst, tokens: burst, last: time.Now()}
}

// take spends n units if there are that many; otherwise it spends none.
func (b *tokenBucket) take(n float64) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	now := time.Now()
	b.tokens = min(b.burst, b.tokens+now.Sub(b.last).Seconds()*b.rate)
	b.last = now
	if b.tokens < n {
		return false
	}
	b.tokens -= n
	return true
}

// rateLimiter keeps a token bucket per key (a node ID), at most maxKeys
// of them: when full, the buckets that have refilled are dropped (they
// would allow a burst anyway), and if none has, the key is refused, so
// that new keys cannot push out the state of busy ones.
type rateLimiter[K comparable] struct {
	mu      sync.Mutex
	per     time.Duration // one unit per per
	burst   int
	maxKeys int
	m       map[K]*tokenBucket
}

func newRateLimiter[K comparable](per time.Duration, burst, maxKeys int) *rateLimiter[K] {
	return &rateLimiter[K]{per: per, burst: burst, maxKeys: maxKeys, m: map[K]*tokenBucket{}}
}

// allow reports whether key may do one more thing now (and counts it).
func (l *rateLimiter[K]) allow(key K) bool {
	l.mu.Lock()
	b, ok := l.m[key]
	if !ok {
		if len(l.m) >= l.maxKeys {
			l.pruneLocked()
		}
		if len(l.m) >= l.maxKeys {
			l.mu.Unlock()
			return false
		}
		b = newBucket(float64(time.Second)/float64(l.per), float64(l.burst))
		l.m[key] = b
	}
	l.mu.Unlock()
	return b.take(1)
}

// pruneLocked drops the buckets that are full again.
func (l *rateLimiter[K]) pruneLocked() {
	for k, b := range l.m {
		b.mu.Lock()
		refilled := b.tokens+time.Since(b.last).Seconds()*b.rate >= b.burst
		b.mu.Unlock()
		if refilled {
			delete(l.m, k)
		}
	}
}
