package engine_test

import (
	"flag"
	"testing"

	"github.com/sampan-hk/sampan/core/engine"
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
