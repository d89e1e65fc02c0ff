package feed

import (
	"testing"
	"time"

	"github.com/sampan-hk/sampan/core/fixed"
	"github.com/sampan-hk/sampan/core/oracle"
)

func TestSimDeterministic(t *testing.T) {
	a, b := NewSim(DefaultSim(42)), NewSim(DefaultSim(42))
	c := NewSim(DefaultSim(43))
	differs := false
	for i := 0; i < 1000; i++ {
		ta, qa := a.Next()
		tb, qb := b.Next()
		_, qc := c.Next()
		if !ta.Equal(tb) || len(qa) != len(qb) {
			t.Fatal("same seed diverged")
		}
		for j := range qa {
			if qa[j] != qb[j] {
				t.Fatalf("step %d venue %d: %+v vs %+v", i, j, qa[j], qb[j])
			}
			if qa[j].Price != qc[j].Price {
				differs = true
			}
			if !validPrice(qa[j].Price) {
				t.Fatalf("invalid price %q", qa[j].Price)
			}
		}
	}
	if !differs {
		t.Error("another seed gave the same prices")
	}
}

func TestSimOutageAndRogue(t *testing.T) {
	cfg := DefaultSim(1)
	cfg.JumpOdds = 0
	cfg.Outages = []Window{{Venue: "kraken", From: 10 * time.Second, To: 20 * time.Second}}
	cfg.Rogue = Window{Venue: "okx", From: 5 * time.Second, To: 8 * time.Second, Offset: 200_000}
	base := DefaultSim(1)
	base.JumpOdds = 0
	s, ref := NewSim(cfg), NewSim(base)
	for step := 1; step <= 30; step++ {
		_, qs := s.Next()
		_, rq := ref.Next()
		at := time.Duration(step) * time.Second
		out := at >= 10*time.Second && at < 20*time.Second
		if (len(qs) == 4) != out {
			t.Fatalf("step %d: %d venues quoting", step, len(qs))
		}
		// Venues not affected quote exactly what the undisturbed run does.
		byVenue := map[string]string{}
		for _, q := range qs {
			byVenue[q.Venue] = q.Price
		}
		for _, q := range rq {
			p, ok := byVenue[q.Venue]
			switch {
			case q.Venue == "kraken" && out:
				if ok {
					t.Fatalf("kraken quoted during its outage")
				}
			case q.Venue == "okx" && at >= 5*time.Second && at < 8*time.Second:
				rv, _ := Quote{Price: p}.Units(2)
				bv, _ := q.Units(2)
				// +20% of the undisturbed price, floored.
				if rv != bv+bv/5 {
					t.Fatalf("rogue okx %d, undisturbed %d", rv, bv)
				}
			default:
				if p != q.Price {
					t.Fatalf("step %d %s: %s vs %s", step, q.Venue, p, q.Price)
				}
			}
		}
	}
}

// End to end through the oracle, as the engine will use it: the simulated
// venues feed an index through OracleQuote. A rogue venue 20% off leaves the
// index where the honest venues put it; two of three venues going silent
// makes the market reduce-only; their return restores it.
func TestSimThroughIndex(t *testing.T) {
	spec := &fixed.Spec{Tick: fixed.Step{Units: 1, Scale: 1}, Lot: fixed.Step{Units: 1, Scale: 3}, Multiplier: 1,
		QuoteDecimals: 6, BaseDecimals: 8, MaxPrice: 100_000_000, MaxQty: 10_000_000}
	if err := spec.Validate(); err != nil {
		t.Fatal(err)
	}
	run := func(cfg SimConfig, steps int, check func(step int, r oracle.Result, fair fixed.Price)) {
		ids := map[string]oracle.SourceID{}
		var src []oracle.Source
		for i, v := range cfg.Venues {
			ids[v] = oracle.SourceID(i + 1)
			src = append(src, oracle.Source{ID: oracle.SourceID(i + 1), Name: v, Weight: 1})
		}
		x, err := oracle.NewIndex(oracle.DefaultParams(), src)
		if err != nil {
			t.Fatal(err)
		}
		s := NewSim(cfg)
		for step := 1; step <= steps; step++ {
			now, qs := s.Next()
			for _, q := range qs {
				oq, err := q.OracleQuote(ids[q.Venue], spec)
				if err != nil {
					t.Fatal(err)
				}
				if _, err := x.Update(oq, now.UnixNano()); err != nil {
					t.Fatal(err)
				}
			}
			fair := fixed.Price(s.Fair() / 10) // cents → 0.1 USD ticks
			check(step, x.Compute(now.UnixNano()), fair)
		}
	}

	rogue := DefaultSim(9)
	rogue.Rogue = Window{Venue: "binance", From: 0, To: time.Hour, Offset: 200_000}
	run(rogue, 600, func(step int, r oracle.Result, fair fixed.Price) {
		if !r.Healthy || r.Constituents[4].Excluded != oracle.Deviation {
			t.Fatalf("step %d: healthy %v, rogue %v", step, r.Healthy, r.Constituents[4].Excluded)
		}
		// Honest venues quote within ±100 ppm of fair; so must the index.
		if d := r.Price - fair; d*10_000 > fair || -d*10_000 > fair {
			t.Fatalf("step %d: index %d strays from fair %d", step, r.Price, fair)
		}
	})

	three := DefaultSim(5)
	three.Venues = []string{"coinbase", "kraken", "bitstamp"}
	three.JumpOdds = 0
	// kraken and bitstamp go silent from 60 s to 180 s; the index notices
	// when their last quotes (59 s) are more than 30 s old, at 90 s.
	three.Outages = []Window{
		{Venue: "kraken", From: 60 * time.Second, To: 180 * time.Second},
		{Venue: "bitstamp", From: 60 * time.Second, To: 180 * time.Second},
	}
	entered, exited := 0, 0
	var frozen fixed.Price
	run(three, 240, func(step int, r oracle.Result, fair fixed.Price) {
		for _, e := range r.Events {
			switch e.Kind {
			case oracle.ReduceOnlyEntered:
				entered++
				if step != 90 {
					t.Errorf("reduce-only entered at %d s, want 90 s", step)
				}
				frozen = r.Price
			case oracle.ReduceOnlyExited:
				exited++
				if step != 1 && step != 180 {
					t.Errorf("reduce-only exited at %d s", step)
				}
			}
		}
		if step >= 90 && step < 180 && (!r.ReduceOnly || r.Price != frozen || r.Fresh != 1) {
			t.Fatalf("step %d: reduce-only %v, index %d (frozen %d), fresh %d", step, r.ReduceOnly, r.Price, frozen, r.Fresh)
		}
		if (step < 90 || step >= 180) && r.ReduceOnly {
			t.Fatalf("step %d: reduce-only outside the outage", step)
		}
	})
	if entered != 1 || exited != 2 { // exited once at start-up, once on recovery
		t.Errorf("entered %d exited %d", entered, exited)
	}
}

// Shift moves the fair price by exactly the ppm asked (rounded down), and
// the next step's quotes are around the shifted price.
func TestSimShift(t *testing.T) {
	cfg := DefaultSim(7)
	cfg.Vol, cfg.JumpOdds, cfg.Spread = 0, 0, 0
	s := NewSim(cfg)
	s.Shift(-25_000) // −2.5% of 65,000.00
	if s.Fair() != 6_337_500 {
		t.Fatalf("fair after −2.5%%: %d", s.Fair())
	}
	_, qs := s.Next()
	for _, q := range qs {
		if q.Price != "63375" {
			t.Fatalf("quote %+v", q)
		}
	}
	s.Shift(-2_000_000) // never below one unit
	if s.Fair() != 1 {
		t.Fatalf("floor: %d", s.Fair())
	}
}
