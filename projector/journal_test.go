package projector

import (
	"context"
	"errors"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sampan-hk/sampan/core/engine"
	"github.com/sampan-hk/sampan/exchange"
	"github.com/sampan-hk/sampan/journal"
)

// node is a one-voter journal whose sequencer clock follows the generated
// log's timestamps, so the commands mean what they meant when generated.
type node struct {
	*journal.Node
	clock *atomic.Int64
}

func openNode(t *testing.T, dir string, m *exchange.Machine, trailing uint64) node {
	t.Helper()
	clock := new(atomic.Int64)
	clock.Store(time.Now().UnixNano())
	n, err := journal.Open(journal.Config{Dir: dir, Bootstrap: true, TrailingLogs: trailing,
		Clock: func() int64 { return clock.Load() }, SnapshotInterval: time.Hour}, m)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	if err := n.WaitLeader(ctx); err != nil {
		t.Fatal(err)
	}
	if err := n.Barrier(10 * time.Second); err != nil {
		t.Fatal(err)
	}
	return node{Node: n, clock: clock}
}

func (n node) submit(t *testing.T, log []entry) {
	t.Helper()
	for _, e := range log {
		if e.now > n.clock.Load() {
			n.clock.Store(e.now)
		}
		if _, err := n.Submit(context.Background(), e.cmd); err != nil {
			t.Fatal(err)
		}
	}
}

func seqOf(m *exchange.Machine) (s uint64) {
	m.View(func(e *engine.Engine) { s = e.Seq() })
	return s
}

// journalEvents replays dir offline and returns every event of its log.
func journalEvents(t *testing.T, dir string) []engine.Event {
	t.Helper()
	var all []engine.Event
	_, err := journal.Replay(dir, newMachine(t), journal.ReplayOptions{Observe: func(_ uint64, _ int64, _, _, blob []byte) {
		evs, err := exchange.DecodeEvents(blob)
		if err != nil {
			t.Error(err)
		}
		all = append(all, evs...)
	}})
	if err != nil {
		t.Fatal(err)
	}
	return all
}

// behindSnapshot builds a journal whose latest snapshot is newer than the
// read store: a projector follows the node for the first commands and is
// stopped; the node goes on, snapshots, goes on, and shuts down.
func behindSnapshot(t *testing.T, sc sinkCase, dir string, log []entry) (storeSeq, snapSeq, endSeq uint64) {
	t.Helper()
	m := newMachine(t)
	p, err := New(context.Background(), sc.open(t), Config{FlushEvents: 100, Backfill: JournalBackfill{Dir: dir, Config: engine.DefaultConfig()}})
	if err != nil {
		t.Fatal(err)
	}
	if err := p.CatchUp(context.Background()); err != nil { // first start: no journal yet
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	p.Start(ctx, m)
	n := openNode(t, dir, m, 0)
	n.submit(t, log[:400])
	waitSeq(t, p, seqOf(m))
	cancel()
	<-p.Done()
	if p.Err() != nil {
		t.Fatal(p.Err())
	}
	storeSeq = p.LastSeq()
	p.Close()

	n.submit(t, log[400:900])
	if err := n.Snapshot(); err != nil {
		t.Fatal(err)
	}
	snapSeq = seqOf(m)
	n.submit(t, log[900:1100])
	endSeq = seqOf(m)
	if err := n.Shutdown(); err != nil {
		t.Fatal(err)
	}
	if storeSeq == 0 || storeSeq >= snapSeq || snapSeq >= endSeq {
		t.Fatalf("setup: store %d, snapshot %d, end %d", storeSeq, snapSeq, endSeq)
	}
	return storeSeq, snapSeq, endSeq
}

// How `sampan serve` starts: the projector catches up from the journal
// before the node opens (the journal is locked while a node runs), then
// subscribes and the node restores its snapshot and replays its tail; the
// projector skips what it already holds and follows new commands.
func TestCatchUpBeforeTheNodeOpens(t *testing.T) {
	log := genLog(21, 1400)
	for _, sc := range sinks(t) {
		t.Run(sc.name, func(t *testing.T) {
			dir := t.TempDir()
			storeSeq, _, endSeq := behindSnapshot(t, sc, dir, log)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()

			p, err := New(ctx, sc.open(t), Config{FlushEvents: 100, Backfill: JournalBackfill{Dir: dir, Config: engine.DefaultConfig()}})
			if err != nil {
				t.Fatal(err)
			}
			if p.LastSeq() != storeSeq {
				t.Fatalf("resume point %d, want %d", p.LastSeq(), storeSeq)
			}
			if err := p.CatchUp(ctx); err != nil {
				t.Fatal(err)
			}
			if p.LastSeq() != endSeq {
				t.Fatalf("caught up to %d, the log ends at %d", p.LastSeq(), endSeq)
			}
			m := newMachine(t)
			p.Start(ctx, m)
			n := openNode(t, dir, m, 0)
			n.submit(t, log[1100:])
			waitSeq(t, p, seqOf(m))
			cancel()
			<-p.Done()
			if p.Err() != nil {
				t.Fatal(p.Err())
			}
			if err := n.Shutdown(); err != nil {
				t.Fatal(err)
			}
			check(t, p.Store(), journalEvents(t, dir), m)
			if p.resubscribed[exchange.ErrRestored] == 0 {
				t.Error("the node did not restore its snapshot into the subscribed machine")
			}
			p.Close()

			// Up to date: the next start-up's catch-up replays only the
			// tail after the snapshot and adds nothing.
			calls := &countingBackfill{inner: JournalBackfill{Dir: dir, Config: engine.DefaultConfig()}}
			p, err = New(context.Background(), sc.open(t), Config{Backfill: calls})
			if err != nil {
				t.Fatal(err)
			}
			before := p.LastSeq()
			if err := p.CatchUp(context.Background()); err != nil || p.LastSeq() != before || calls.events != 0 {
				t.Fatalf("catch-up of an up-to-date store: %v, %d → %d, %d events", err, before, p.LastSeq(), calls.events)
			}
			p.Close()
		})
	}
}

type countingBackfill struct {
	inner  Backfill
	events int
}

func (c *countingBackfill) Events(ctx context.Context, from, to uint64, emit func([]engine.Event) error) error {
	return c.inner.Events(ctx, from, to, func(evs []engine.Event) error {
		c.events += len(evs)
		return emit(evs)
	})
}

// The gap path itself: the engine is restored from a snapshot newer than
// the store (offline here, so the journal is free to read) and then runs
// on; the projector backfills the missing range from the journal replayed
// from its start, then applies the live stream.
func TestGapBackfilledFromTheJournal(t *testing.T) {
	log := genLog(23, 1500)
	for _, sc := range sinks(t) {
		t.Run(sc.name, func(t *testing.T) {
			dir := t.TempDir()
			_, _, endSeq := behindSnapshot(t, sc, dir, log)
			m := newMachine(t)
			if _, err := journal.ReplayFromSnapshot(dir, m); err != nil {
				t.Fatal(err)
			}
			if seqOf(m) != endSeq {
				t.Fatalf("restored machine at seq %d, want %d", seqOf(m), endSeq)
			}
			prefix := journalEvents(t, dir)
			rec := m.Subscribe(len(log))

			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			p, err := New(ctx, sc.open(t), Config{FlushEvents: 64, Backfill: JournalBackfill{Dir: dir, Config: engine.DefaultConfig()}})
			if err != nil {
				t.Fatal(err)
			}
			p.Start(ctx, m)
			ml := exchange.NewMemLog(m)
			for _, e := range log[1100:] {
				ml.Clock = func() int64 { return e.now }
				if _, err := ml.Submit(ctx, e.cmd); err != nil {
					t.Fatal(err)
				}
			}
			waitSeq(t, p, seqOf(m))
			cancel()
			<-p.Done()
			if p.Err() != nil {
				t.Fatal(p.Err())
			}
			all := prefix
			for len(rec.C) > 0 {
				all = append(all, (<-rec.C).Events...)
			}
			check(t, p.Store(), all, m)
			p.Close()
		})
	}
}

// A log compacted past the events the store lacks cannot fill the gap:
// the projector stops with ErrGap and says so, rather than skip events.
func TestCompactedLogStopsWithAClearError(t *testing.T) {
	log := genLog(25, 700)
	dir := t.TempDir()
	m := newMachine(t)
	n := openNode(t, dir, m, 1) // keep one entry after a snapshot
	n.submit(t, log[:500])
	if err := n.Snapshot(); err != nil {
		t.Fatal(err)
	}
	n.submit(t, log[500:])
	if err := n.Shutdown(); err != nil {
		t.Fatal(err)
	}
	sc := sqliteCase(t)
	p, err := New(context.Background(), sc.open(t), Config{Backfill: JournalBackfill{Dir: dir, Config: engine.DefaultConfig()}})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	err = p.CatchUp(context.Background())
	if !errors.Is(err, ErrGap) {
		t.Fatalf("err = %v", err)
	}
	t.Log(err)
	if p.LastSeq() != 0 {
		t.Fatalf("wrote up to seq %d past a gap", p.LastSeq())
	}
}

// While a node runs, the journal is locked: a gap then is ErrGap (fixed by
// the next start-up's catch-up), never a hang or a skip.
func TestGapWhileTheNodeRunsStops(t *testing.T) {
	log := genLog(27, 400)
	dir := t.TempDir()
	m := newMachine(t)
	n := openNode(t, dir, m, 0)
	defer n.Shutdown()
	n.submit(t, log)
	p, err := New(context.Background(), sqliteCase(t).open(t), Config{Backfill: JournalBackfill{Dir: dir, Config: engine.DefaultConfig()}})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := p.Run(ctx, m); !errors.Is(err, ErrGap) {
		t.Fatalf("err = %v", err)
	}
}

// The helper `sampan serve` calls: first start (no journal yet), then a
// restart that catches up before the node opens.
func TestOpenForNode(t *testing.T) {
	log := genLog(29, 600)
	dir := t.TempDir()
	nc := NodeConfig{Path: filepath.Join(dir, "read.db"), JournalDir: filepath.Join(dir, "journal"), Engine: engine.DefaultConfig()}
	run := func(cmds []entry) uint64 {
		p, err := OpenForNode(context.Background(), nc)
		if err != nil {
			t.Fatal(err)
		}
		defer p.Close()
		m := newMachine(t)
		ctx, cancel := context.WithCancel(context.Background())
		p.Start(ctx, m)
		n := openNode(t, nc.JournalDir, m, 0)
		n.submit(t, cmds)
		waitSeq(t, p, seqOf(m))
		if err := n.Snapshot(); err != nil {
			t.Fatal(err)
		}
		if err := n.Shutdown(); err != nil {
			t.Fatal(err)
		}
		cancel()
		<-p.Done()
		if p.Err() != nil {
			t.Fatal(p.Err())
		}
		return seqOf(m)
	}
	run(log[:300])
	end := run(log[300:])
	s, err := OpenSQLite(context.Background(), nc.Path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	sum, err := s.Store().Summarize(context.Background())
	if err != nil || !sum.Contiguous() || sum.LastSeq != end {
		t.Fatalf("%+v %v, want 1-%d", sum, err, end)
	}
	check(t, s.Store(), journalEvents(t, nc.JournalDir), nil)
}
