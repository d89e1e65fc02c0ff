package projector

import (
	"context"
	"testing"
	"time"
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
	var flushes []*Rows
	for i := 0; i < len(all); i += DefaultFlushEvents {
		r := newRows()
		for j := i; j < min(i+DefaultFlushEvents, len(all)); j++ {
			r.add(&all[j])
		}
		flushes = append(flushes, r)
	}
	ctx := context.Background()
	b.ResetTimer()
	for range b.N {
		b.StopTimer()
		s := sqliteCase(b).open(b)
		b.StartTimer()
		prev := uint64(0)
		for _, r := range flushes {
			if err := s.Write(ctx, prev, r); err != nil {
				b.Fatal(err)
			}
			prev = r.Last
		}
		b.StopTimer()
		s.Close()
		b.StartTimer()
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(all)), "ns/event")
}
