package feed

import (
	"context"
	"math/rand/v2"
	"time"

	"github.com/sampan-hk/sampan/core/fixed"
)

// SimConfig describes a simulated set of venues quoting one underlying.
// Everything is integer arithmetic on a seeded generator, so a config gives
// the same quotes on every machine.
type SimConfig struct {
	Seed       uint64
	Underlying string   // "BTC"
	Venues     []string // venue names, quoted in this order every step
	Start      time.Time
	Step       time.Duration // time between steps
	// Price is the starting fair price in units of 10^-Decimals.
	Price    int64
	Decimals int
	// Vol: each step the fair price moves by a uniform draw in ±Vol ppm.
	Vol int64
	// JumpOdds: a jump happens on a step with probability 1/JumpOdds (0:
	// never); its size is a uniform draw in ±Jump ppm.
	JumpOdds int
	Jump     int64
	// Spread: each venue quotes the fair price plus its own uniform draw in
	// ±Spread ppm.
	Spread int64
	// Outages silence venues during [From, To) (offsets from Start).
	Outages []Window
	// Rogue offsets one venue's quotes by Offset ppm during [From, To).
	Rogue Window
}

// Window is a venue-specific interval, as offsets from SimConfig.Start.
type Window struct {
	Venue    string
	From, To time.Duration
	Offset   int64 // ppm, for Rogue
}

func (w Window) active(venue string, at time.Duration) bool {
	return w.Venue == venue && at >= w.From && at < w.To
}

// DefaultSim: BTC around 65,000 USD on five venues, one step a second,
// 2 bp moves, a 1% jump about every ten minutes, no outage, no rogue.
func DefaultSim(seed uint64) SimConfig {
	return SimConfig{
		Seed: seed, Underlying: "BTC",
		Venues: []string{"coinbase", "kraken", "bitstamp", "okx", "binance"},
		Start:  time.Unix(1_790_000_000, 0).UTC(), Step: time.Second,
		Price: 6_500_000, Decimals: 2,
		Vol: 200, JumpOdds: 600, Jump: 10_000, Spread: 100,
	}
}

// Sim produces the quotes of a SimConfig step by step.
type Sim struct {
	cfg  SimConfig
	rng  *rand.Rand
	fair int64
	n    int64
}

// NewSim starts a simulation.
func NewSim(cfg SimConfig) *Sim {
	if cfg.Step <= 0 {
		cfg.Step = time.Second
	}
	return &Sim{cfg: cfg, rng: rand.New(rand.NewPCG(cfg.Seed, cfg.Seed^0x5a4d50414e)), fair: cfg.Price}
}

// Fair returns the current fair price (units of 10^-Decimals).
func (s *Sim) Fair() int64 { return s.fair }

// Shift moves the fair price by ppm at once (a scripted move on top of the
// random walk; the next step's quotes carry it).
func (s *Sim) Shift(ppm int64) {
	s.fair = max(s.fair+ppmOf(s.fair, ppm), 1)
}

func (s *Sim) draw(ppm int64) int64 {
	if ppm <= 0 {
		return 0
	}
	return s.rng.Int64N(2*ppm+1) - ppm
}

func ppmOf(v, ppm int64) int64 {
	return fixed.MustMulDiv(v, ppm, int64(fixed.PpmOne), fixed.Floor)
}

func (s *Sim) out(venue string, at time.Duration) bool {
	for _, w := range s.cfg.Outages {
		if w.active(venue, at) {
			return true
		}
	}
	return false
}

// Next advances one step and returns its time and the venues' quotes
// (venues in outage are missing). Draws happen for every venue every step,
// outage or not, so turning an outage on does not change other venues'
// prices.
func (s *Sim) Next() (time.Time, []Quote) {
	c := &s.cfg
	s.n++
	at := time.Duration(s.n) * c.Step
	now := c.Start.Add(at)
	s.fair += ppmOf(s.fair, s.draw(c.Vol))
	if c.JumpOdds > 0 && s.rng.IntN(c.JumpOdds) == 0 {
		s.fair += ppmOf(s.fair, s.draw(c.Jump))
	}
	if s.fair < 1 {
		s.fair = 1
	}
	out := make([]Quote, 0, len(c.Venues))
	for _, v := range c.Venues {
		p := s.fair + ppmOf(s.fair, s.draw(c.Spread))
		if c.Rogue.active(v, at) {
			p += ppmOf(p, c.Rogue.Offset)
		}
		if s.out(v, at) {
			continue
		}
		if p < 1 {
			p = 1
		}
		out = append(out, Quote{
			Venue: v, Underlying: c.Underlying, Symbol: c.Underlying + "-USD", Currency: "USD",
			Price: fixed.TrimDecimal(fixed.FormatDecimal(p, c.Decimals)), Time: now, Received: now,
		})
	}
	return now, out
}

// Play runs the simulation in real time (one step per Step divided by speed)
// until ctx ends, handing each quote to fn. Quote times are simulated times.
func (s *Sim) Play(ctx context.Context, speed int, fn func(Quote)) error {
	if speed < 1 {
		speed = 1
	}
	t := time.NewTicker(s.cfg.Step / time.Duration(speed))
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
			_, qs := s.Next()
			for _, q := range qs {
				fn(q)
			}
		}
	}
}
