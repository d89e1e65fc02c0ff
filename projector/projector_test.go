package projector

import (
	"bytes"
	"context"
	"errors"
	"testing"
	"time"

	"github.com/sampan-hk/sampan/core/engine"
	"github.com/sampan-hk/sampan/exchange"
)

func newMachine(t testing.TB) *exchange.Machine {
	t.Helper()
	m, err := exchange.NewMachine(engine.DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// The stream generator must reach what the read store is for: trades,
// fees, funding payments, cash moves, positions, index and mark.
func TestGeneratedStreamCoversTheTables(t *testing.T) {
	all, _, _, _ := reference(t, genLog(1, 3000), 0)
	x := expect(all)
	for _, k := range []string{"trade", "funding_payment", "funding_rate", "deposited", "withdrawn", "transferred", "position",
		"index", "mark", "order_accepted", "order_cancelled"} {
		if x.byKind[k] == 0 {
			t.Errorf("no %s events in the generated stream: %v", k, x.byKind)
		}
	}
}

// A randomized command stream projected by a projector that is killed
// between flushes again and again (context cancelled, in-memory state
// dropped, store reopened), with each restart replaying the log like a node
// does (from the start, or from a snapshot newer than the store, before or
// after subscribing), small subscription buffers (slow consumer) and
// random flush limits. The store ends exactly equal to a recomputation
// from the full stream: no duplicate, no gap.
func TestProjectCrashResume(t *testing.T) {
	log := genLog(7, 3000)
	all, ref, snaps, cum := reference(t, log, 350)
	for _, sc := range sinks(t) {
		t.Run(sc.name, func(t *testing.T) {
			r := rng(42)
			const rounds = 12
			var backfills int
			resubs := map[error]int{}
			for round := 0; round <= rounds; round++ {
				final := round == rounds
				target := len(log)
				if !final {
					target = (round + 1) * len(log) / (rounds + 1)
				}
				sink := sc.open(t)
				cfg := Config{FlushEvents: 1 + r.intn(300), FlushInterval: time.Duration(1+r.intn(20)) * time.Millisecond,
					Buffer: []int{4, 64, DefaultBuffer}[r.intn(3)], Backfill: memBackfill{log: log[:target], calls: &backfills}}
				if final {
					cfg.Buffer = DefaultBuffer
				}
				p, err := New(context.Background(), sink, cfg)
				if err != nil {
					t.Fatal(err)
				}
				p.crashOnStop = !final
				resumed := p.LastSeq()
				m := newMachine(t)
				// How this "node" comes back: log from the start, or a
				// snapshot restored before or after the projector subscribes.
				mode, start := r.intn(3), 0
				var sp *snap
				for i := range snaps {
					if snaps[i].pos <= target && r.chance(50) {
						sp = &snaps[i]
					}
				}
				if sp == nil {
					mode = 0
				}
				restore := func() {
					if err := m.Restore(bytes.NewReader(sp.data)); err != nil {
						t.Fatal(err)
					}
					start = sp.pos
				}
				if mode == 1 {
					restore()
				}
				ctx, cancel := context.WithCancel(context.Background())
				p.Start(ctx, m)
				if mode == 2 {
					restore()
				}
				applyLog(m, log[start:target])
				if final {
					waitSeq(t, p, cum[target])
				} else if r.chance(50) {
					time.Sleep(time.Duration(r.intn(20)) * time.Millisecond)
				} else {
					waitSeq(t, p, resumed+uint64(r.intn(int(cum[target]-resumed)+1)))
				}
				cancel()
				<-p.Done()
				if err := p.Err(); err != nil {
					t.Fatalf("round %d: %v", round, err)
				}
				for k, v := range p.resubscribed {
					resubs[k] += v
				}
				sum, err := p.Store().Summarize(context.Background())
				if err != nil {
					t.Fatal(err)
				}
				if !sum.Contiguous() || sum.LastSeq < resumed {
					t.Fatalf("round %d: store not contiguous after a crash: %+v", round, sum)
				}
				if final {
					check(t, p.Store(), all, ref)
				}
				if err := p.Close(); err != nil {
					t.Fatal(err)
				}
			}
			if backfills == 0 || resubs[exchange.ErrSlowConsumer] == 0 || resubs[exchange.ErrRestored] == 0 {
				t.Errorf("not every path was exercised: %d backfills, resubscriptions %v", backfills, resubs)
			}
			t.Logf("%d events, %d backfills, resubscriptions %v", len(all), backfills, resubs)
		})
	}
}

// F9: the projector dies after the database committed a flush but before
// it acknowledged the flush in memory. On restart it resumes from the
// committed last_seq and the replayed events before it are skipped.
func TestCrashBetweenCommitAndAck(t *testing.T) {
	log := genLog(3, 800)
	all, ref, _, _ := reference(t, log, 0)
	errCrash := errors.New("crash after commit")
	for _, sc := range sinks(t) {
		t.Run(sc.name, func(t *testing.T) {
			sink := sc.open(t)
			p, err := New(context.Background(), sink, Config{FlushEvents: 97})
			if err != nil {
				t.Fatal(err)
			}
			var flushes int
			var committed uint64
			p.afterCommit = func(seq uint64) error {
				if flushes++; flushes == 5 {
					committed = seq
					return errCrash
				}
				return nil
			}
			m := newMachine(t)
			p.Start(context.Background(), m)
			applyLog(m, log)
			<-p.Done()
			if !errors.Is(p.Err(), errCrash) {
				t.Fatalf("err = %v", p.Err())
			}
			if p.LastSeq() >= committed {
				t.Fatalf("the crashed projector acknowledged seq %d", p.LastSeq())
			}
			p.Close()

			sink = sc.open(t)
			p, err = New(context.Background(), sink, Config{FlushEvents: 64})
			if err != nil {
				t.Fatal(err)
			}
			if p.LastSeq() != committed {
				t.Fatalf("resumed at %d, committed %d", p.LastSeq(), committed)
			}
			m = newMachine(t)
			ctx, cancel := context.WithCancel(context.Background())
			p.Start(ctx, m)
			applyLog(m, log) // the node replays its log from the start
			waitSeq(t, p, uint64(len(all)))
			cancel()
			<-p.Done()
			check(t, p.Store(), all, ref)
			p.Close()
		})
	}
}

// lossySink commits but reports a failure once: the answer to COMMIT was
// lost. The projector must find its rows committed and not write them again.
type lossySink struct {
	Sink
	fails int
}

func (s *lossySink) Write(ctx context.Context, prev uint64, rows *Rows) error {
	if err := s.Sink.Write(ctx, prev, rows); err != nil {
		return err
	}
	if s.fails > 0 {
		s.fails--
		return errors.New("connection reset after COMMIT")
	}
	return nil
}

func TestLostCommitAnswerIsNotRewritten(t *testing.T) {
	log := genLog(5, 400)
	all, ref, _, _ := reference(t, log, 0)
	for _, sc := range sinks(t) {
		t.Run(sc.name, func(t *testing.T) {
			sink := &lossySink{Sink: sc.open(t), fails: 3}
			p, err := New(context.Background(), sink, Config{FlushEvents: 50})
			if err != nil {
				t.Fatal(err)
			}
			m := newMachine(t)
			ctx, cancel := context.WithCancel(context.Background())
			p.Start(ctx, m)
			applyLog(m, log)
			waitSeq(t, p, uint64(len(all)))
			cancel()
			<-p.Done()
			if p.Err() != nil || sink.fails != 0 {
				t.Fatalf("err %v, fails left %d", p.Err(), sink.fails)
			}
			check(t, p.Store(), all, ref)
			p.Close()
		})
	}
}

// The primary key on seq makes a duplicate fail its whole transaction
// (rows and last_seq), and a writer with a stale resume point is refused.
func TestDuplicateSeqIsRefused(t *testing.T) {
	log := genLog(9, 200)
	all, _, _, _ := reference(t, log, 0)
	for _, sc := range sinks(t) {
		t.Run(sc.name, func(t *testing.T) {
			ctx := context.Background()
			sink := sc.open(t)
			defer sink.Close()
			half := len(all) / 2
			rows, rest := newRows(), newRows()
			for i := range all {
				if i < half {
					rows.add(&all[i])
				} else {
					rest.add(&all[i])
				}
			}
			if err := sink.Write(ctx, 0, rows); err != nil {
				t.Fatal(err)
			}
			before, err := sink.Store().Summarize(ctx)
			if err != nil {
				t.Fatal(err)
			}
			// Same rows again with the right resume point: the key refuses.
			if err := sink.Write(ctx, uint64(half), rows); err == nil {
				t.Fatal("duplicate seq written")
			}
			// Same rows with a stale resume point: refused before any row.
			if err := sink.Write(ctx, 0, rows); !errors.Is(err, ErrStateMoved) {
				t.Fatalf("stale writer: %v", err)
			}
			after, err := sink.Store().Summarize(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if after.Events != before.Events || after.LastSeq != before.LastSeq || !after.Contiguous() {
				t.Fatalf("store changed: %+v → %+v", before, after)
			}
			// The failed writes left the sink able to write the next rows
			// (SQLite drops its writer connection on a failure).
			if err := sink.Write(ctx, uint64(half), rest); err != nil {
				t.Fatal(err)
			}
			if sum, err := sink.Store().Summarize(ctx); err != nil || sum.LastSeq != uint64(len(all)) || !sum.Contiguous() {
				t.Fatalf("after the next write: %+v, %v", sum, err)
			}
		})
	}
}

// A live event past the next expected seq is preceded by a backfill of the
// range in between; without a backfill source it stops with ErrGap.
func TestLiveGapIsBackfilled(t *testing.T) {
	log := genLog(11, 300)
	all, _, _, _ := reference(t, log, 0)
	sc := sqliteCase(t)
	ctx := context.Background()

	p, err := New(ctx, sc.open(t), Config{FlushEvents: 10})
	if err != nil {
		t.Fatal(err)
	}
	if err := p.add(ctx, all[:55], true); err != nil {
		t.Fatal(err)
	}
	if err := p.add(ctx, all[80:], true); !errors.Is(err, ErrGap) {
		t.Fatalf("gap without a backfill: %v", err)
	}
	p.Close()

	p, err = New(ctx, sc.open(t), Config{FlushEvents: 10, Backfill: memBackfill{log: log}})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	if p.LastSeq() != 50 { // the 5 pending events died with the projector
		t.Fatalf("resume point %d", p.LastSeq())
	}
	if err := p.add(ctx, all[80:], true); err != nil {
		t.Fatal(err)
	}
	if err := p.flush(ctx); err != nil {
		t.Fatal(err)
	}
	check(t, p.Store(), all, nil)
}

// Backfill ending short of the live stream (the journal does not hold the
// events) is a gap, not a silent skip.
func TestShortBackfillIsAGap(t *testing.T) {
	log := genLog(13, 300)
	all, _, _, _ := reference(t, log, 0)
	ctx := context.Background()
	p, err := New(ctx, sqliteCase(t).open(t), Config{Backfill: memBackfill{log: log[:100]}})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	if err := p.add(ctx, all[len(all)-5:], true); !errors.Is(err, ErrGap) {
		t.Fatalf("err = %v", err)
	}
}

func TestConfigLimits(t *testing.T) {
	s := sqliteCase(t).open(t)
	defer s.Close()
	if _, err := New(context.Background(), s, Config{FlushEvents: MaxFlushEvents + 1}); err == nil {
		t.Fatal("FlushEvents past its limit accepted")
	}
	if _, err := New(context.Background(), s, Config{FlushEvents: MaxFlushEvents, Buffer: MaxBuffer}); err != nil {
		t.Fatalf("limits themselves refused: %v", err)
	}
	if _, err := New(context.Background(), s, Config{Buffer: MaxBuffer + 1}); err == nil {
		t.Fatal("Buffer past its limit accepted")
	}
}
