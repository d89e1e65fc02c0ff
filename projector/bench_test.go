package projector

import (
	"context"
	"syscall"
	"testing"
	"time"

	"github.com/sampan-hk/sampan/core/book"
	"github.com/sampan-hk/sampan/core/engine"
	"github.com/sampan-hk/sampan/core/fixed"
)

// BenchmarkProject measures end-to-end projection throughput (events per
// second from the subscription to committed rows) with the default flush
// limits, into a fresh store each time.
func BenchmarkProject(b *testing.B) {
	log := genLog(77, 20000)
	all, _, _, _ := reference(b, log, 0)
	for _, name := range []string{"sqlite", "postgres"} {
		b.Run(name, func(b *testing.B) {
			var total time.Duration
			for range b.N {
				b.StopTimer()
				var sc sinkCase
				if name == "sqlite" {
					sc = sqliteCase(b)
				} else if cs := sinks(b); len(cs) == 2 {
					sc = cs[1]
				} else {
					b.Skip("no PostgreSQL")
				}
				p, err := New(context.Background(), sc.open(b), Config{Buffer: MaxBuffer})
				if err != nil {
					b.Fatal(err)
				}
				m := newMachine(b)
				ctx, cancel := context.WithCancel(context.Background())
				b.StartTimer()
				start := time.Now()
				p.Start(ctx, m)
				applyLog(m, log)
				for p.LastSeq() < uint64(len(all)) {
					select {
					case <-p.Done():
						b.Fatal(p.Err())
					case <-time.After(time.Millisecond):
					}
				}
				total += time.Since(start)
				cancel()
				<-p.Done()
				p.Close()
			}
			b.ReportMetric(float64(len(all)*b.N)/total.Seconds(), "events/s")
		})
	}
}

// BenchmarkSQLiteWrite measures the store's own cost per event: the rows
// of a generated stream written in flushes of DefaultFlushEvents, without
// the engine or the subscription.
func BenchmarkSQLiteWrite(b *testing.B) {
	all, _, _, _ := reference(b, genLog(77, 6000), 0)
	benchWrite(b, all)
}

// benchWrite writes the events' rows into a fresh SQLite store per
// iteration, in flushes of DefaultFlushEvents, and reports ns per event.
func benchWrite(b *testing.B, all []engine.Event) {
	var flushes []*Rows
	for i := 0; i < len(all); i += DefaultFlushEvents {
		r := newRows()
		for j := i; j < min(i+DefaultFlushEvents, len(all)); j++ {
			r.add(&all[j])
		}
		flushes = append(flushes, r)
	}
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	var cpu time.Duration
	for range b.N {
		b.StopTimer()
		s := sqliteCase(b).open(b)
		b.StartTimer()
		start := cpuTime(b)
		prev := uint64(0)
		for _, r := range flushes {
			if err := s.Write(ctx, prev, r); err != nil {
				b.Fatal(err)
			}
			prev = r.Last
		}
		cpu += cpuTime(b) - start
		b.StopTimer()
		s.Close()
		b.StartTimer()
	}
	n := float64(b.N * len(all))
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/n, "ns/event")
	// Process CPU time (user + system, GC included) is steadier than the
	// wall clock on a shared machine.
	b.ReportMetric(float64(cpu.Nanoseconds())/n, "cpu-ns/event")
}

// cpuTime is the process's CPU time so far (user + system).
func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// iocStream is what `sampan bench api --only websocket_batch` makes the
// projector write: IOC orders priced away from the book, each an
// order_accepted then an order_expired of its whole quantity, from 30
// clients over two markets, order ids rising per market as the book
// assigns them (core/book: sequence<<20).
func iocStream(orders int) []engine.Event {
	out := make([]engine.Event, 0, 2*orders)
	var bookSeq [2]uint64
	t := int64(1_700_000_000_000_000_000)
	for i := range orders {
		m := i % 2
		bookSeq[m]++
		acc := engine.Event{Kind: engine.EvOrderAccepted, Time: t + int64(i)*20_000, Client: engine.ClientID(1 + i%30),
			Market: engine.MarketID(m), Order: book.OrderID(bookSeq[m] << 20), ClientOrderID: uint64(1_000_000 + i),
			Side: book.Buy, Price: fixed.Price(49_000_00 + i%500), Qty: fixed.Qty(1 + i%1000)}
		exp := acc
		exp.Kind, exp.Code = engine.EvOrderExpired, 1
		out = append(out, acc, exp)
	}
	for i := range out {
		out[i].Seq = uint64(i + 1)
	}
	return out
}

// BenchmarkSQLiteWriteIOC is BenchmarkSQLiteWrite over iocStream: the
// order-step rows that dominate the projector's cost under `bench api`.
func BenchmarkSQLiteWriteIOC(b *testing.B) {
	benchWrite(b, iocStream(20_000))
}
