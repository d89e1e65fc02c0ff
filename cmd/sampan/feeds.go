package main

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/sampan-hk/sampan/core/engine"
	"github.com/sampan-hk/sampan/feed"
)

// Prices enter the engine only as commands through the log, so valuation
// replays exactly: each venue quote becomes a CmdQuote, and a CmdTick every
// second lets the engine sample premiums and settle funding on time even
// when nothing trades. Only the leader submits; a follower's submissions
// are refused by the journal and simply dropped here.

// quoteSink turns venue quotes into engine commands.
type quoteSink struct {
	s   *service
	log *slog.Logger
	cfg engine.Config

	mu      sync.Mutex
	dropped map[string]int // venue → quotes that could not be used
}

func newQuoteSink(s *service, log *slog.Logger) *quoteSink {
	cfg := engine.DefaultConfig()
	if err := cfg.Validate(); err != nil { // fills in the default index sources
		panic(err)
	}
	return &quoteSink{s: s, log: log, cfg: cfg, dropped: map[string]int{}}
}

// market returns the first market valued on an underlying.
func (q *quoteSink) market(underlying string) (engine.MarketID, bool) {
	for i, m := range q.cfg.Markets {
		if m.Underlying == underlying {
			return engine.MarketID(i), true
		}
	}
	return 0, false
}

func (q *quoteSink) submit(ctx context.Context, qt feed.Quote) {
	src, ok := feed.SourceFor(q.cfg.Sources, qt.Venue)
	m, okm := q.market(qt.Underlying)
	if !ok || !okm {
		q.drop(qt.Venue)
		return
	}
	p, err := qt.Ticks(&q.cfg.Markets[m].Spec)
	if err != nil {
		q.drop(qt.Venue)
		return
	}
	c := engine.Command{Kind: engine.CmdQuote, Market: m, Source: uint16(src), Price: p, Observed: qt.Time.UnixNano()}
	if _, err := q.s.x.Submit(ctx, &c); err != nil && ctx.Err() == nil {
		q.log.Debug("quote not submitted", "venue", qt.Venue, "err", err)
	}
}

func (q *quoteSink) drop(venue string) {
	q.mu.Lock()
	q.dropped[venue]++
	n := q.dropped[venue]
	q.mu.Unlock()
	if n == 1 || n%1000 == 0 {
		q.log.Warn("venue quote not usable (unknown venue, underlying or price)", "venue", venue, "count", n)
	}
}

// runTicks submits a CmdTick every second until ctx ends.
func runTicks(ctx context.Context, s *service, log *slog.Logger) {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if !s.node.IsLeader() {
				continue
			}
			c := engine.Command{Kind: engine.CmdTick}
			if _, err := s.x.Submit(ctx, &c); err != nil && ctx.Err() == nil {
				log.Debug("tick not submitted", "err", err)
			}
		}
	}
}

// runVenueFeeds connects to the named real venues (coinbase, kraken,
// bitstamp, okx, binance) and submits their quotes until ctx ends. A venue
// that cannot be reached is retried with backoff by feed.Run and reported
// stale; the index drops it and, below the minimum number of sources, the
// engine puts the market into reduce-only mode.
func runVenueFeeds(ctx context.Context, s *service, names []string, log *slog.Logger) {
	sink := newQuoteSink(s, log)
	var wg sync.WaitGroup
	for _, v := range feed.Venues() {
		want := false
		for _, n := range names {
			want = want || n == v.Name()
		}
		if !want {
			continue
		}
		wg.Add(1)
		go func(v feed.Venue) {
			defer wg.Done()
			_ = feed.Run(ctx, feed.ClientConfig{Venue: v},
				func(q feed.Quote) {
					if s.node.IsLeader() {
						sink.submit(ctx, q)
					}
				},
				func(st feed.Status) { log.Info("feed status", "venue", st.Venue, "state", st.State, "err", st.Err) })
		}(v)
	}
	wg.Wait()
}

// simFeeds simulates five venues for BTC and ETH (a random walk with jumps),
// for the demo. Quotes are stamped with the wall clock when produced, as a
// live adapter stamps what it receives.
type simFeeds struct {
	mu   sync.Mutex
	sims map[string]*feed.Sim // underlying → simulator
	sink *quoteSink
}

func newSimFeeds(s *service, log *slog.Logger, seed uint64) *simFeeds {
	f := &simFeeds{sims: map[string]*feed.Sim{}, sink: newQuoteSink(s, log)}
	for i, u := range []string{"BTC", "ETH"} {
		cfg := feed.DefaultSim(seed + uint64(i))
		cfg.Underlying = u
		if u == "ETH" {
			cfg.Price = 320_000
		}
		cfg.Vol = 400 // livelier than the default, so the demo visibly moves
		f.sims[u] = feed.NewSim(cfg)
	}
	return f
}

// step advances every simulator one step and submits its quotes.
func (f *simFeeds) step(ctx context.Context) {
	for _, u := range []string{"BTC", "ETH"} {
		f.mu.Lock()
		_, quotes := f.sims[u].Next()
		f.mu.Unlock()
		now := time.Now()
		for _, q := range quotes {
			q.Time = now
			f.sink.submit(ctx, q)
		}
	}
}

// fair is the simulated fair price of an underlying, in 10^-2 USD.
func (f *simFeeds) fair(u string) int64 {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.sims[u].Fair()
}

// shift moves an underlying's simulated fair price by ppm (scripted moves).
func (f *simFeeds) shift(u string, ppm int64) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.sims[u].Shift(ppm)
}

func (f *simFeeds) run(ctx context.Context) {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			f.step(ctx)
		}
	}
}
