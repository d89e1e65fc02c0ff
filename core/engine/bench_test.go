package engine_test

import (
	"flag"
	"testing"
	"time"

	"github.com/sampan-hk/sampan/core/book"
	"github.com/sampan-hk/sampan/core/engine"
	"github.com/sampan-hk/sampan/core/fixed"
	"github.com/sampan-hk/sampan/sim/engineload"
	"github.com/sampan-hk/sampan/sim/workload"
)

var benchKeys = flag.Bool("bench.keys", false, "give every benchmark order a client order id")

// BenchmarkEngine runs the book workload through the engine (see
// sim/engineload): 1,000 funded PI clients, margin checks and position
// updates on every order. One op is one workload command.
func BenchmarkEngine(b *testing.B) {
	p := workload.Default()
	p.Warmup = 100_000
	p.Measured = 400_000
	load := engineload.New(p, *benchKeys)
	setup := load.Setup()
	e := engine.MustNew(engineload.Config())
	now := int64(1)
	for i := range setup {
		e.Apply(&setup[i], now)
	}
	var c engine.Command
	step := func(i int) {
		load.Command(i, &c)
		now++
		if r, _ := e.Apply(&c, now); r.Code != engine.OK {
			b.Fatalf("op %d: %v", i, r.Code)
		}
		if m, ok := load.Mark(i); ok {
			e.Apply(&m, now)
		}
	}
	for i := 0; i < p.Warmup; i++ {
		step(i)
	}
	b.ReportAllocs()
	b.ResetTimer()
	n := len(load.Stream.Ops)
	for i := 0; i < b.N; i++ {
		j := p.Warmup + i%(n-p.Warmup)
		if j == p.Warmup && i > 0 {
			// The stream is exhausted: start over on a fresh engine (not
			// timed), since replaying it would cancel ids that no longer exist.
			b.StopTimer()
			e = engine.MustNew(engineload.Config())
			for k := range setup {
				e.Apply(&setup[k], now)
			}
			for k := 0; k < p.Warmup; k++ {
				step(k)
			}
			b.StartTimer()
		}
		step(j)
	}
}

// BenchmarkAdlCycle runs ADL quantile publication cycles over 100,000
// clients, each long or short in both markets (200,000 positions), one
// Tick a second until each cycle ends; a small BTC move between cycles
// changes some quantiles. One op is one cycle; worst-tick-ns is the
// largest single Tick (bounded by engine.AdlWorkPerTick whatever the
// population), ticks/op how many Ticks a cycle took.
func BenchmarkAdlCycle(b *testing.B) {
	const clients = 100_000
	cfg := engine.DefaultConfig()
	e := engine.MustNew(cfg)
	now := int64(1)
	apply := func(c engine.Command) {
		now++
		if r, _ := e.Apply(&c, now); r.Code != engine.OK {
			b.Fatalf("setup %v: %v", c.Kind, r.Code)
		}
	}
	apply(engine.Command{Kind: engine.CmdSetMark, Market: 0, Price: 500_000})
	apply(engine.Command{Kind: engine.CmdSetMark, Market: 1, Price: 300_000})
	ids := make([]engine.ClientID, clients)
	for i := range ids {
		now++
		r, _ := e.Apply(&engine.Command{Kind: engine.CmdCreateClient}, now)
		ids[i] = r.Client
		apply(engine.Command{Kind: engine.CmdSetClassification, Client: r.Client, Class: engine.InstitutionalPI, Expiry: 1 << 62})
		apply(engine.Command{Kind: engine.CmdSetKnowledge, Client: r.Client, Flag: true})
		apply(engine.Command{Kind: engine.CmdDeposit, Client: r.Client, Amount: fixed.Amount(2_000+i%8_000) * 1_000_000})
	}
	for i := 0; i+1 < clients; i += 2 {
		for m, px := range []fixed.Price{500_000 + fixed.Price(i%997), 300_000 + fixed.Price(i%991)} {
			q := fixed.Qty(20 + i%80)
			apply(engine.Command{Kind: engine.CmdPlaceOrder, Client: ids[i+m], Market: engine.MarketID(m), Side: book.Sell, Price: px, Qty: q})
			apply(engine.Command{Kind: engine.CmdPlaceOrder, Client: ids[i+1-m], Market: engine.MarketID(m), Side: book.Buy, Price: px, Qty: q})
		}
	}
	tick := engine.Command{Kind: engine.CmdTick}
	var worst time.Duration
	ticks := 0
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		apply(engine.Command{Kind: engine.CmdSetMark, Market: 0, Price: 500_000 + fixed.Price(i%7*20)})
		now += engine.AdlPublishEvery
		b.StartTimer()
		for first := true; first || e.AdlPublishing(); first = false {
			t0 := time.Now()
			e.Apply(&tick, now)
			worst = max(worst, time.Since(t0))
			ticks++
			now += 1e9
		}
	}
	b.ReportMetric(float64(worst.Nanoseconds()), "worst-tick-ns")
	b.ReportMetric(float64(ticks)/float64(b.N), "ticks/op")
}
