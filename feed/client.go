package feed

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/coder/websocket"
)

// ClientConfig configures one venue connection.
type ClientConfig struct {
	Venue Venue
	// URL overrides Venue.URL() (tests point it at a local server).
	URL string
	// StaleAfter: no quote for this long and the venue is reported Stale and
	// the connection is replaced (a silent socket is usually a dead one).
	StaleAfter time.Duration
	// Reconnect backoff: MinBackoff doubling up to MaxBackoff, each wait
	// drawn uniformly from [d/2, d] so many clients do not reconnect in step.
	// It resets after a connection that delivered a quote.
	MinBackoff time.Duration
	MaxBackoff time.Duration
	// DialTimeout bounds connecting and subscribing.
	DialTimeout time.Duration
	// ReadLimit bounds one message, bytes (named limit).
	ReadLimit int64
}

// Client defaults.
const (
	DefaultStaleAfter  = 60 * time.Second
	DefaultMinBackoff  = 500 * time.Millisecond
	DefaultMaxBackoff  = 30 * time.Second
	DefaultDialTimeout = 10 * time.Second
	DefaultReadLimit   = 1 << 20
)

func (c *ClientConfig) defaults() {
	if c.URL == "" {
		c.URL = c.Venue.URL()
	}
	if c.StaleAfter <= 0 {
		c.StaleAfter = DefaultStaleAfter
	}
	if c.MinBackoff <= 0 {
		c.MinBackoff = DefaultMinBackoff
	}
	if c.MaxBackoff < c.MinBackoff {
		c.MaxBackoff = max(DefaultMaxBackoff, c.MinBackoff)
	}
	if c.DialTimeout <= 0 {
		c.DialTimeout = DefaultDialTimeout
	}
	if c.ReadLimit <= 0 {
		c.ReadLimit = DefaultReadLimit
	}
}

// State is a venue connection's state, as reported to operations.
type State uint8

const (
	Connecting   State = iota // dialling
	Connected                 // socket up, subscriptions sent
	Live                      // first quote received on this connection
	Stale                     // no quote for StaleAfter; reconnecting
	Rejected                  // one message could not be parsed (connection kept)
	Disconnected              // connection lost; waiting Backoff before redialling
)

func (s State) String() string {
	return [...]string{"connecting", "connected", "live", "stale", "rejected", "disconnected"}[s]
}

// Status is one state report.
type Status struct {
	Venue   string
	State   State
	At      time.Time
	Attempt int           // consecutive failed connections so far
	Backoff time.Duration // for Disconnected: the wait before the next dial
	Err     error
}

// errStale ends a session whose venue went silent.
var errStale = errors.New("feed: no quote within the staleness limit")

// Run connects to the venue and delivers its quotes until ctx ends,
// reconnecting with backoff. quotes and status are called from Run's
// goroutine only. It returns ctx's error.
func Run(ctx context.Context, cfg ClientConfig, quotes func(Quote), status func(Status)) error {
	cfg.defaults()
	name := cfg.Venue.Name()
	report := func(s State, attempt int, backoff time.Duration, err error) {
		if status != nil {
			status(Status{Venue: name, State: s, At: time.Now(), Attempt: attempt, Backoff: backoff, Err: err})
		}
	}
	attempt := 0
	for {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		report(Connecting, attempt, 0, nil)
		got, err := session(ctx, &cfg, quotes, func(s State, err error) { report(s, attempt, 0, err) })
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if got {
			attempt = 0
		}
		wait := Backoff(cfg.MinBackoff, cfg.MaxBackoff, attempt, rand.Int64N)
		attempt++
		report(Disconnected, attempt, wait, err)
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
	}
}

// Backoff returns the wait before reconnect attempt n (0-based): min × 2^n
// capped at max, then drawn from [d/2, d] with randN (rand.Int64N in
// production; tests pass a fixed function).
func Backoff(min, max time.Duration, n int, randN func(int64) int64) time.Duration {
	d := min
	for i := 0; i < n && d < max; i++ {
		d *= 2
	}
	if d > max {
		d = max
	}
	half := d / 2
	if half <= 0 {
		return d
	}
	return half + time.Duration(randN(int64(d-half)+1))
}

// session runs one connection. got says whether any quote arrived.
func session(ctx context.Context, cfg *ClientConfig, quotes func(Quote), report func(State, error)) (got bool, err error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	dctx, dcancel := context.WithTimeout(ctx, cfg.DialTimeout)
	defer dcancel()
	conn, _, err := websocket.Dial(dctx, cfg.URL, nil)
	if err != nil {
		return false, fmt.Errorf("dial %s: %w", cfg.URL, err)
	}
	defer conn.CloseNow()
	conn.SetReadLimit(cfg.ReadLimit)
	for _, m := range cfg.Venue.Subscribe() {
		if err := conn.Write(dctx, websocket.MessageText, m); err != nil {
			return false, fmt.Errorf("subscribe: %w", err)
		}
	}
	report(Connected, nil)
	if p, ok := cfg.Venue.(Pinger); ok {
		msg, every := p.Ping()
		go func() {
			t := time.NewTicker(every)
			defer t.Stop()
			for {
				select {
				case <-ctx.Done():
					return
				case <-t.C:
					if conn.Write(ctx, websocket.MessageText, msg) != nil {
						return
					}
				}
			}
		}()
	}
	deadline := time.Now().Add(cfg.StaleAfter)
	for {
		rctx, rcancel := context.WithDeadline(ctx, deadline)
		_, msg, err := conn.Read(rctx)
		stale := rctx.Err() == context.DeadlineExceeded
		rcancel()
		if err != nil {
			if stale && ctx.Err() == nil {
				report(Stale, errStale)
				return got, errStale
			}
			return got, err
		}
		qs, err := cfg.Venue.Parse(msg, time.Now())
		switch {
		case errors.Is(err, ErrReconnect), errors.Is(err, ErrVenue):
			return got, err
		case err != nil:
			report(Rejected, err)
			continue
		}
		if len(qs) == 0 {
			continue
		}
		if !got {
			report(Live, nil)
		}
		got = true
		deadline = time.Now().Add(cfg.StaleAfter)
		for _, q := range qs {
			quotes(q)
		}
	}
}
