package gateway

import (
	"math"
	"net/http"
	"sync"
	"time"
)

// Limiter is a set of token buckets keyed by string (an API key id or a
// client IP). Each bucket holds up to Burst tokens and refills at Rate per
// second. Buckets idle long enough to be full again are forgotten, so memory
// is bounded by the number of recently active keys.
type Limiter struct {
	Rate  float64 // tokens per second
	Burst float64
	Now   func() time.Time

	mu      sync.Mutex
	buckets map[string]*bucket
	sweep   time.Time
}

type bucket struct {
	tokens float64
	at     time.Time
}

// NewLimiter returns a limiter refilling rate tokens per second up to burst.
func NewLimiter(rate, burst float64) *Limiter {
	return &Limiter{Rate: rate, Burst: burst, Now: time.Now, buckets: map[string]*bucket{}}
}

// Allow takes one token for key. When none is left it returns a 429 error
// whose RetryAfter says when one will be.
func (l *Limiter) Allow(key, what string) *Error {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.Now()
	l.forget(now)
	b, ok := l.buckets[key]
	if !ok {
		b = &bucket{tokens: l.Burst, at: now}
		l.buckets[key] = b
	}
	b.tokens = math.Min(l.Burst, b.tokens+now.Sub(b.at).Seconds()*l.Rate)
	b.at = now
	if b.tokens >= 1 {
		b.tokens--
		return nil
	}
	wait := (1 - b.tokens) / l.Rate
	e := Errf(http.StatusTooManyRequests, CodeRateLimited, "", "rate limit exceeded for this "+what+"; retry after the indicated delay")
	e.RetryAfter = int(math.Ceil(wait))
	if e.RetryAfter < 1 {
		e.RetryAfter = 1
	}
	return e
}

// forget drops buckets that would be full again, at most once a second.
func (l *Limiter) forget(now time.Time) {
	if now.Sub(l.sweep) < time.Second {
		return
	}
	l.sweep = now
	full := time.Duration(l.Burst / l.Rate * float64(time.Second))
	for k, b := range l.buckets {
		if now.Sub(b.at) > full {
			delete(l.buckets, k)
		}
	}
}
