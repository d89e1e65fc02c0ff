package projector

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sampan-hk/sampan/core/engine"
)

// memSink is an in-memory fake read store: it keeps the events table's rows
// by seq and enforces the Sink contract (prev must be the stored last seq,
// rows must continue it, no seq twice) so a projector bug shows as an error.
type memSink struct {
	mu     sync.Mutex
	last   uint64
	events map[uint64][]any
}

func newMemSink() *memSink { return &memSink{events: map[uint64][]any{}} }

func (s *memSink) LastSeq(context.Context) (uint64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.last, nil
}

func (s *memSink) Write(_ context.Context, prev uint64, rows *Rows) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if prev != s.last {
		return ErrStateMoved
	}
	all := viewRows(rows)
	if rows.First != prev+1 || int(rows.Last-rows.First+1) != len(all) {
		return fmt.Errorf("memSink: flush of seq %d-%d with %d events after %d", rows.First, rows.Last, len(all), prev)
	}
	for _, r := range all {
		seq := uint64(r[0].(int64))
		if _, dup := s.events[seq]; dup {
			return fmt.Errorf("memSink: seq %d written twice", seq)
		}
		s.events[seq] = append([]any(nil), r...)
	}
	s.last = rows.Last
	return nil
}

// viewRows is what the events view shows of one flush: events_other's
// rows plus those derived from orders, trades and positions, written here
// column by column as eventsView does in SQL.
func viewRows(r *Rows) [][]any {
	nz := func(v any) any { return nullable(v.(int64)) }
	out := append([][]any(nil), r.Events.rows...)
	for _, o := range r.Orders.rows {
		k := engine.EventKind(0)
		for _, st := range orderSteps {
			if st.step == o[6] {
				k = st.kind
			}
		}
		out = append(out, []any{o[0], o[1], k.String(), int64(k), nz(o[2]), o[3], nz(o[4]), nz(o[7]), nz(o[8]), nz(o[9]),
			nil, nil, nil, nz(o[11]), false})
	}
	for _, tr := range r.Trades.rows {
		out = append(out, []any{tr[0], tr[1], engine.EvTrade.String(), int64(engine.EvTrade), nz(tr[5]), tr[2], nz(tr[6]), nz(tr[7]),
			nz(tr[3]), nz(tr[4]), nil, nil, nil, nil, false})
	}
	for _, p := range r.Positions.rows {
		out = append(out, []any{p[0], p[1], engine.EvPosition.String(), int64(engine.EvPosition), nz(p[2]), p[3], nil, nil,
			nz(p[7]), nil, nil, nil, nz(p[4]), nil, false})
	}
	return out
}

func (s *memSink) Store() *Store { return nil }
func (s *memSink) Close() error  { return nil }

// slowSink delays every flush of the store under it: a slow database.
type slowSink struct {
	Sink
	delay atomic.Int64 // ns per Write
}

func (s *slowSink) Write(ctx context.Context, prev uint64, rows *Rows) error {
	time.Sleep(time.Duration(s.delay.Load()))
	return s.Sink.Write(ctx, prev, rows)
}

// eventRows is the events view the engine's events must produce: every
// event's own values, mapped independently of which table stores it.
func eventRows(evs []engine.Event) [][]any {
	out := make([][]any, len(evs))
	for i := range evs {
		out[i] = eventRow(&evs[i])
	}
	return out
}

// norm makes a stored value comparable with a mapped one (drivers return
// BOOLEAN as int64 or bool, integers as int64).
func norm(v any) string {
	switch x := v.(type) {
	case bool:
		if x {
			return "1"
		}
		return "0"
	case []byte:
		return string(x)
	}
	return fmt.Sprint(v)
}

// sameRows compares stored event rows with the expected ones, by seq and
// every column.
func sameRows(t *testing.T, got map[uint64][]any, want [][]any) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("store holds %d events, the engine emitted %d", len(got), len(want))
	}
	for i, w := range want {
		seq := uint64(i + 1)
		if w[0].(int64) != int64(seq) {
			t.Fatalf("engine event %d has seq %v", i, w[0])
		}
		g, ok := got[seq]
		if !ok {
			t.Fatalf("seq %d missing from the store", seq)
		}
		for c := range w {
			if norm(g[c]) != norm(w[c]) {
				t.Fatalf("seq %d column %d: stored %v, engine %v", seq, c, g[c], w[c])
			}
		}
	}
}

// sqlEvents reads the events table of a SQL store.
func sqlEvents(t *testing.T, s *Store) map[uint64][]any {
	t.Helper()
	cols := newRows().Events.cols
	rows, err := s.db.Query(`SELECT * FROM events ORDER BY seq`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	out := map[uint64][]any{}
	for rows.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			t.Fatal(err)
		}
		out[uint64(vals[0].(int64))] = vals
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// A projector whose store is too slow for a burst falls behind, is dropped
// by the engine as a slow consumer, catches up from the running node's
// journal (no restart), rejoins the live stream and ends holding exactly the
// events the engine emitted: same seqs, same content, none twice. The node
// runs throughout, and the projector never stops.
func TestLiveCatchUpWhileTheNodeRuns(t *testing.T) {
	log := genLog(31, 2400)
	burst := 1600
	cases := []struct {
		name string
		open func(t *testing.T) (Sink, func() map[uint64][]any)
	}{
		{"memory", func(t *testing.T) (Sink, func() map[uint64][]any) {
			s := newMemSink()
			return s, func() map[uint64][]any {
				s.mu.Lock()
				defer s.mu.Unlock()
				return s.events
			}
		}},
		{"sqlite", func(t *testing.T) (Sink, func() map[uint64][]any) {
			s := sqliteCase(t).open(t)
			return s, func() map[uint64][]any { return sqlEvents(t, s.Store()) }
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			m := newMachine(t)
			// The reference: every event the engine emits, in order.
			ref := m.Subscribe(4 * len(log))
			inner, stored := tc.open(t)
			sink := &slowSink{Sink: inner}
			sink.delay.Store(int64(40 * time.Millisecond))
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			// A tiny subscription buffer and a slow store: the burst
			// overflows it within a flush or two.
			p, err := New(ctx, sink, Config{FlushEvents: 256, Buffer: 4, Backfill: JournalBackfill{Dir: dir, Config: engine.DefaultConfig()}})
			if err != nil {
				t.Fatal(err)
			}
			defer p.Close()
			p.Start(ctx, m)
			n := openNode(t, dir, m, 0)
			defer n.Shutdown()
			p.AttachNode(n.Node)

			n.submit(t, log[:burst])
			waitSeq(t, p, seqOf(m))
			if p.slowDrops.Load() == 0 || p.backfilled.Load() == 0 {
				t.Fatalf("the projector never fell behind (drops %d, backfilled %d): the test proves nothing",
					p.slowDrops.Load(), p.backfilled.Load())
			}
			// The store is fast again: the rest arrives on the live stream.
			sink.delay.Store(0)
			n.submit(t, log[burst:])
			end := seqOf(m)
			waitSeq(t, p, end)
			select {
			case <-p.Done():
				t.Fatalf("projector stopped: %v", p.Err())
			case <-n.Dead():
				t.Fatalf("node died: %v", n.Err())
			default:
			}
			t.Logf("events %d, slow-consumer drops %d, backfilled %d", end, p.slowDrops.Load(), p.backfilled.Load())
			if p.backfilled.Load() >= end {
				t.Fatalf("backfilled %d of %d events: nothing came live", p.backfilled.Load(), end)
			}
			var all []engine.Event
			for len(ref.C) > 0 {
				all = append(all, (<-ref.C).Events...)
			}
			if uint64(len(all)) != end {
				t.Fatalf("reference subscription holds %d events, engine at seq %d (dropped: %v)", len(all), end, ref.Err())
			}
			sameRows(t, stored(), eventRows(all))
			if s := inner.Store(); s != nil {
				check(t, s, all, m)
			}
		})
	}
}
