// Package projector writes the engine's events to a read store (SQLite by
// default, PostgreSQL when a DSN is configured) for history queries and
// reports, and answers those queries.
//
// Resume point. The store keeps the engine event seq of the last row it
// holds (projector_state.last_seq), written in the same transaction as the
// rows of every flush. Seq rises by one per event for the engine's lifetime
// and is engine state (snapshots carry it), so it names the same event on
// every replica and after every restart; the raft index is coarser (one
// entry is a batch of commands) and differs between a live node and a
// snapshot restore. After a restart the projector skips events with
// seq ≤ last_seq and expects last_seq+1 next: no duplicates (a primary key
// on seq makes a duplicate fail its transaction) and no gaps (a missing
// range is backfilled from the journal, or the projector stops).
//
// Concurrency: one goroutine (Run) owns the projector; LastSeq and the Store
// queries may be called from any goroutine.
package projector

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/sampan-hk/sampan/core/engine"
	"github.com/sampan-hk/sampan/exchange"
	"github.com/sampan-hk/sampan/journal"
)

// Named limits and defaults.
const (
	// DefaultFlushEvents: a flush (one transaction) happens once this many
	// events are pending... (larger transactions amortise the commit: 8192
	// cost about a tenth less per event than 2048 in BenchmarkSQLiteWrite;
	// 16384 measured 3–5% less there but no better under `bench api`)
	DefaultFlushEvents = 8192
	// MaxFlushEvents bounds Config.FlushEvents (and so the pending buffer).
	MaxFlushEvents = 1 << 16
	// DefaultFlushInterval: ...or once this much time has passed.
	DefaultFlushInterval = 200 * time.Millisecond
	// DefaultBuffer is the subscription's room, in command batches. The
	// engine never waits for the projector: when this fills, the
	// subscription ends and the projector resubscribes and backfills.
	DefaultBuffer = 1 << 16
	// MaxBuffer bounds Config.Buffer.
	MaxBuffer = 1 << 20
	// FlushAttempts is how often one flush is tried before Run stops.
	FlushAttempts = 5
	// flushBackoff is the wait before the second attempt; it doubles.
	flushBackoff = 100 * time.Millisecond
	// stopFlushTimeout bounds the final flush on a clean stop.
	stopFlushTimeout = 10 * time.Second
)

// ErrGap means events between the store's last seq and the live stream are
// missing and could not be backfilled (no journal configured, the log was
// compacted past them, or the journal is in use by a running node that was
// not attached with AttachNode).
var ErrGap = errors.New("projector: events missing between the read store and the live stream")

// ErrStateMoved means the store's last_seq is not the one this projector
// wrote last: another projector writes to the same store.
var ErrStateMoved = errors.New("projector: read store state changed under the projector (two projectors on one store?)")

// Sink is a read store the projector writes to.
type Sink interface {
	// LastSeq returns the seq of the last event the store holds (0: none).
	LastSeq(ctx context.Context) (uint64, error)
	// Write adds rows (events prev+1 .. rows.Last) and moves last_seq from
	// prev to rows.Last, all in one transaction. If the store's last_seq
	// is not prev it writes nothing and returns ErrStateMoved.
	Write(ctx context.Context, prev uint64, rows *Rows) error
	// Store returns the query side.
	Store() *Store
	Close() error
}

// Backfill re-derives past events, for a range the live stream no longer
// carries. JournalBackfill is the real one.
type Backfill interface {
	// Events passes, in seq order, the events with from ≤ seq ≤ to (to = 0:
	// to the end of what it holds) to emit. It may pass events outside the
	// range too; the projector skips those.
	Events(ctx context.Context, from, to uint64, emit func([]engine.Event) error) error
}

// Config tunes a projector; zero values take the defaults.
type Config struct {
	FlushEvents   int
	FlushInterval time.Duration
	Buffer        int
	// Backfill fills gaps (see ErrGap); nil makes a gap fatal.
	Backfill Backfill
	Log      *slog.Logger
}

// Projector applies event batches to a Sink.
type Projector struct {
	sink Sink
	cfg  Config
	log  *slog.Logger

	// backfillBox holds cfg.Backfill; AttachNode swaps it while Run reads it.
	backfillBox atomic.Pointer[backfillBox]

	durable atomic.Uint64 // last seq committed to the store
	next    uint64        // seq expected next (pending included)
	pending []engine.Event
	rows    *Rows

	done chan struct{}
	err  error

	// Test hooks. afterCommit runs between a flush's commit and the
	// projector's own acknowledgement of it (F9); crashOnStop drops
	// pending events on cancellation instead of flushing them.
	afterCommit  func(seq uint64) error
	crashOnStop  bool
	resubscribed map[error]int // why subscriptions ended, for tests
	// Counters readable while running: subscriptions dropped because the
	// projector fell behind, and events filled from the Backfill.
	slowDrops  atomic.Uint64
	backfilled atomic.Uint64
}

// New reads the sink's resume point and returns a projector.
func New(ctx context.Context, sink Sink, cfg Config) (*Projector, error) {
	if cfg.FlushEvents <= 0 {
		cfg.FlushEvents = DefaultFlushEvents
	}
	if cfg.FlushEvents > MaxFlushEvents {
		return nil, fmt.Errorf("projector: FlushEvents %d above the limit %d", cfg.FlushEvents, MaxFlushEvents)
	}
	if cfg.FlushInterval <= 0 {
		cfg.FlushInterval = DefaultFlushInterval
	}
	if cfg.Buffer <= 0 {
		cfg.Buffer = DefaultBuffer
	}
	if cfg.Buffer > MaxBuffer {
		return nil, fmt.Errorf("projector: Buffer %d above the limit %d", cfg.Buffer, MaxBuffer)
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	last, err := sink.LastSeq(ctx)
	if err != nil {
		return nil, fmt.Errorf("projector: read resume point: %w", err)
	}
	p := &Projector{sink: sink, cfg: cfg, log: cfg.Log, next: last + 1, rows: newRows(), done: make(chan struct{})}
	p.durable.Store(last)
	p.backfillBox.Store(&backfillBox{cfg.Backfill})
	return p, nil
}

type backfillBox struct{ b Backfill }

// backfiller is the current Backfill (nil: none).
func (p *Projector) backfiller() Backfill { return p.backfillBox.Load().b }

// AttachNode tells a projector whose Backfill is a JournalBackfill that
// node now runs on that journal: from now on gaps are filled from the
// running node's committed log (live catch-up) instead of stopping the
// projector. Call it once journal.Open has returned; it is safe while the
// projector runs. Other Backfills are left alone.
func (p *Projector) AttachNode(node *journal.Node) {
	if jb, ok := p.backfiller().(JournalBackfill); ok {
		jb.Node = node
		p.backfillBox.Store(&backfillBox{jb})
	}
}

// LastSeq returns the seq of the last event committed to the store.
func (p *Projector) LastSeq() uint64 { return p.durable.Load() }

// Store returns the query side of the sink.
func (p *Projector) Store() *Store { return p.sink.Store() }

// CatchUp brings the store to the end of the journal before the node opens
// (offline replay needs the journal unlocked): it backfills from the
// store's last seq to the end of the log, and is a no-op without a Backfill.
func (p *Projector) CatchUp(ctx context.Context) error {
	bf := p.backfiller()
	if bf == nil {
		return nil
	}
	before := p.next
	if err := bf.Events(ctx, p.next, 0, func(evs []engine.Event) error { return p.add(ctx, evs, false) }); err != nil {
		if errors.Is(err, ErrGap) || errors.Is(err, ErrStateMoved) {
			return err
		}
		return fmt.Errorf("%w: catching up from seq %d: %w", ErrGap, before, err)
	}
	if err := p.flush(ctx); err != nil {
		return err
	}
	p.log.Info("projector caught up from the journal", "from", before, "last_seq", p.LastSeq())
	return nil
}

// Start subscribes to m at once (so nothing m applies from now on is
// missed, including the log the node replays when it opens) and runs the
// projector in a goroutine until ctx ends or it fails; see Done and Err.
func (p *Projector) Start(ctx context.Context, m *exchange.Machine) {
	sub, cur := p.subscribe(m)
	go func() {
		p.err = p.run(ctx, m, sub, cur)
		close(p.done)
	}()
}

// Done is closed when a Started projector stops.
func (p *Projector) Done() <-chan struct{} { return p.done }

// Err says why a Started projector stopped (nil: ctx ended and the pending
// events were flushed). Valid after Done is closed.
func (p *Projector) Err() error { return p.err }

// Run subscribes to m and projects until ctx ends (returning nil after a
// final flush) or a failure (returning it).
func (p *Projector) Run(ctx context.Context, m *exchange.Machine) error {
	sub, cur := p.subscribe(m)
	return p.run(ctx, m, sub, cur)
}

// subscribe subscribes to m and reads the engine's seq right after: every
// event past it arrives on the subscription; the store must be brought to
// it (backfill) from what m applied before. Events applied between the two
// calls arrive both ways and are skipped the second time by seq.
func (p *Projector) subscribe(m *exchange.Machine) (*exchange.Subscription, uint64) {
	sub := m.Subscribe(p.cfg.Buffer)
	var cur uint64
	m.View(func(e *engine.Engine) { cur = e.Seq() })
	return sub, cur
}

// run is loop with the stop rule: once ctx ends, whatever was interrupted,
// the pending events (always a contiguous run after the store's last seq)
// are flushed and the projector stops cleanly.
func (p *Projector) run(ctx context.Context, m *exchange.Machine, sub *exchange.Subscription, cur uint64) error {
	err := p.loop(ctx, m, sub, cur)
	if ctx.Err() == nil {
		return err
	}
	if p.crashOnStop {
		return nil
	}
	fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), stopFlushTimeout)
	defer cancel()
	return p.flush(fctx)
}

// Close closes the sink. Stop the projector first.
func (p *Projector) Close() error { return p.sink.Close() }

func (p *Projector) loop(ctx context.Context, m *exchange.Machine, sub *exchange.Subscription, cur uint64) error {
	defer func() { sub.Close() }()
	tick := time.NewTicker(p.cfg.FlushInterval)
	defer tick.Stop()
	if err := p.behind(ctx, cur); err != nil {
		return err
	}
	for {
		select {
		case <-ctx.Done():
			return nil
		case b, ok := <-sub.C:
			if !ok {
				err := sub.Err()
				if !errors.Is(err, exchange.ErrSlowConsumer) && !errors.Is(err, exchange.ErrRestored) {
					if err == nil {
						return p.flush(ctx)
					}
					return err
				}
				// The engine dropped us (it never waits) or its state was
				// replaced: resubscribe and fill what was missed.
				p.log.Warn("projector subscription ended; resubscribing", "reason", err, "next_seq", p.next)
				if p.resubscribed == nil {
					p.resubscribed = map[error]int{}
				}
				p.resubscribed[err]++
				if errors.Is(err, exchange.ErrSlowConsumer) {
					p.slowDrops.Add(1)
				}
				if err := p.flush(ctx); err != nil {
					return err
				}
				sub, cur = p.subscribe(m)
				if err := p.behind(ctx, cur); err != nil {
					return err
				}
				continue
			}
			if err := p.add(ctx, b.Events, true); err != nil {
				return err
			}
		case <-tick.C:
			if err := p.flush(ctx); err != nil {
				return err
			}
		}
	}
}

// behind backfills, right after subscribing, the events up to cur (the
// engine's seq when the subscription began) that the store lacks.
func (p *Projector) behind(ctx context.Context, cur uint64) error {
	if cur < p.next {
		return nil
	}
	return p.backfill(ctx, p.next, cur)
}

// add queues events, skipping those already applied. A live event past the
// next expected seq triggers a backfill of the range in between first.
func (p *Projector) add(ctx context.Context, evs []engine.Event, live bool) error {
	for i := range evs {
		ev := &evs[i]
		if ev.Seq < p.next {
			continue // applied before (log replay on start-up, a resubscription)
		}
		if ev.Seq > p.next {
			if !live {
				return fmt.Errorf("%w: backfill jumped from seq %d to %d", ErrGap, p.next, ev.Seq)
			}
			if err := p.backfill(ctx, p.next, ev.Seq-1); err != nil {
				return err
			}
		}
		p.pending = append(p.pending, *ev)
		p.next++
		if len(p.pending) >= p.cfg.FlushEvents {
			if err := p.flush(ctx); err != nil {
				return err
			}
		}
	}
	return nil
}

// backfill fills seq from..to from the Backfill, or fails with ErrGap.
func (p *Projector) backfill(ctx context.Context, from, to uint64) error {
	bf := p.backfiller()
	if bf == nil {
		return fmt.Errorf("%w: need seq %d-%d and no journal is configured to backfill from", ErrGap, from, to)
	}
	p.log.Info("projector backfilling from the journal", "from", from, "to", to)
	if err := p.flush(ctx); err != nil {
		return err
	}
	err := bf.Events(ctx, from, to, func(evs []engine.Event) error {
		for i := range evs {
			if evs[i].Seq > to {
				return p.add(ctx, evs[:i], false)
			}
		}
		return p.add(ctx, evs, false)
	})
	if err != nil {
		return fmt.Errorf("%w: backfilling seq %d-%d: %w", ErrGap, from, to, err)
	}
	if p.next != to+1 {
		return fmt.Errorf("%w: need seq %d-%d, the journal holds events only up to seq %d", ErrGap, from, to, p.next-1)
	}
	p.backfilled.Add(to - from + 1)
	return p.flush(ctx)
}

// flush writes the pending events in one transaction, with last_seq.
func (p *Projector) flush(ctx context.Context) error {
	if len(p.pending) == 0 {
		return nil
	}
	p.rows.reset()
	for i := range p.pending {
		p.rows.add(&p.pending[i])
	}
	prev, last := p.durable.Load(), p.rows.Last
	wait := flushBackoff
	var err error
	for attempt := 1; ; attempt++ {
		err = p.sink.Write(ctx, prev, p.rows)
		if err == nil {
			break
		}
		// The commit may have happened with its answer lost (F9 at the
		// database): the store's state says which.
		if got, serr := p.sink.LastSeq(ctx); serr == nil && got == last {
			err = nil
			break
		} else if serr == nil && got != prev {
			return fmt.Errorf("%w: store at seq %d, projector at %d", ErrStateMoved, got, prev)
		}
		if attempt == FlushAttempts || ctx.Err() != nil {
			return fmt.Errorf("projector: flush of seq %d-%d failed %d times: %w", p.rows.First, last, attempt, err)
		}
		p.log.Warn("projector flush failed; retrying", "err", err, "attempt", attempt)
		select {
		case <-ctx.Done():
		case <-time.After(wait):
		}
		wait *= 2
	}
	if p.afterCommit != nil {
		if err := p.afterCommit(last); err != nil {
			return err
		}
	}
	p.durable.Store(last)
	p.pending = p.pending[:0]
	return nil
}
