package workload

import (
	"testing"

	"github.com/sampan-hk/sampan/core/book"
)

// The stream must have the shape the benchmark claims: the op mix, the
// resting-order and level counts, and cancels that always name a live order
// when replayed on a fresh book.
func TestDefaultStreamShape(t *testing.T) {
	p := Default()
	if testing.Short() {
		p.Warmup, p.Measured = 100_000, 200_000
	}
	st := Generate(p)
	var limit, cancel, market, marketable int
	b := NewBook()
	for i := range st.Ops {
		op := &st.Ops[i]
		evs := Apply(b, op)
		if i < p.Warmup {
			continue
		}
		switch op.Kind {
		case Limit:
			limit++
			for _, e := range evs {
				if e.Kind == book.EvTrade {
					marketable++
					break
				}
			}
		case Cancel:
			cancel++
			if evs[0].Kind != book.EvCancelled {
				t.Fatalf("op %d: cancel of %d did not cancel: %+v", i, op.ID, evs[0])
			}
		case Market:
			market++
		}
	}
	n := float64(p.Measured)
	t.Logf("limit %.1f%% (marketable %.1f%% of limits), cancel %.1f%%, market %.1f%%, resting %d, levels %d",
		100*float64(limit)/n, 100*float64(marketable)/float64(limit), 100*float64(cancel)/n, 100*float64(market)/n, b.Len(), b.LevelCount())
	within := func(name string, got, lo, hi float64) {
		if got < lo || got > hi {
			t.Errorf("%s = %.3f, want in [%.3f, %.3f]", name, got, lo, hi)
		}
	}
	within("limit share", float64(limit)/n, 0.59, 0.61)
	within("cancel share", float64(cancel)/n, 0.29, 0.31)
	within("market share", float64(market)/n, 0.09, 0.11)
	within("marketable share of limits", float64(marketable)/float64(limit), 0.03, 0.08)
	if !testing.Short() { // the short stream stops before the book reaches its steady size
		within("resting orders", float64(b.Len()), 20_000, 25_000)
		within("price levels", float64(b.LevelCount()), 3_000, 4_000)
	}
	if b.Len() != st.Resting || b.LevelCount() != st.Levels {
		t.Fatalf("replay diverged from generation: %d/%d vs %d/%d", b.Len(), b.LevelCount(), st.Resting, st.Levels)
	}
	if err := b.CheckInvariants(); err != nil {
		t.Fatal(err)
	}
}
