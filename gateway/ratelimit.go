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

	// The buckets are split over shards by a hash of the key, each with
	// its own lock, so concurrent requests of different keys (every
	// request takes a per-IP and a per-key token) rarely wait for each
	// other, and the idle sweep walks one shard at a time.
	shards [limiterShards]limiterShard
}

const limiterShards = 16

type limiterShard struct {
	mu      sync.Mutex
	buckets map[string]*bucket
	sweep   time.Time
	_       [40]byte // keep shards on separate cache lines
}

type bucket struct {
	tokens float64
	at     time.Time
}

// NewLimiter returns a limiter refilling rate tokens per second up to burst.
func NewLimiter(rate, burst float64) *Limiter {
	l := &Limiter{Rate: rate, Burst: burst, Now: time.Now}
	for i := range l.shards {
		l.shards[i].buckets = map[string]*bucket{}
	}
	return l
}

// shard picks key's shard (FNV-1a, no allocation).
func (l *Limiter) shard(key string) *limiterShard {
	h := uint32(2166136261)
	for i := 0; i < len(key); i++ {
		h = (h ^ uint32(key[i])) * 16777619
	}
	return &l.shards[h%limiterShards]
}

// Allow takes one token for key. When none is left it returns a 429 error
// whose RetryAfter says when one will be.
func (l *Limiter) Allow(key, what string) *Error {
	sh := l.shard(key)
	sh.mu.Lock()
	now := l.Now()
	l.forget(sh, now)
	b, ok := sh.buckets[key]
	if !ok {
		b = &bucket{tokens: l.Burst, at: now}
		sh.buckets[key] = b
	}
	b.tokens = math.Min(l.Burst, b.tokens+now.Sub(b.at).Seconds()*l.Rate)
	b.at = now
	if b.tokens >= 1 {
		b.tokens--
		sh.mu.Unlock()
		return nil
	}
	wait := (1 - b.tokens) / l.Rate
	sh.mu.Unlock()
	e := Errf(http.StatusTooManyRequests, CodeRateLimited, "", "rate limit exceeded for this "+what+"; retry after the indicated delay")
	e.RetryAfter = int(math.Ceil(wait))
	if e.RetryAfter < 1 {
		e.RetryAfter = 1
	}
	return e
}

// forget drops a shard's buckets that would be full again, at most once a
// second per shard.
func (l *Limiter) forget(sh *limiterShard, now time.Time) {
	if now.Sub(sh.sweep) < time.Second {
		return
	}
	sh.sweep = now
	full := time.Duration(l.Burst / l.Rate * float64(time.Second))
	for k, b := range sh.buckets {
		if now.Sub(b.at) > full {
			delete(sh.buckets, k)
		}
	}
}
