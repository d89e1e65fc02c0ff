package marketdata

import (
	"github.com/sampan-hk/sampan/core/engine"
	"github.com/sampan-hk/sampan/core/fixed"
)

// Mark and index history: per market and candle interval, one sample per
// bucket holding the mark and index as they stood after the bucket's last
// change (mark_set, mark or index event). A bucket without a change has no
// sample: both prices held their previous value, which a reader carries
// forward (the console draws them as step lines). Rings are bounded by
// KlinesMax (the 1-minute ring keeps at least a day, like the candles).
//
// The history starts when the store does: its first rebuild seeds one sample
// from the engine's current mark and index; earlier values are in the
// journal and the read store, not here.

type valSample struct {
	start   int64 // bucket start, engine ns
	updated int64 // engine time of the last change in the bucket
	mark    fixed.Price
	index   fixed.Price
}

// MarkSampleView is one bucket of mark and index history. Time is the
// bucket's start; Updated when the values last changed inside it. Mark or
// Index is omitted while the market has none (no mark set yet; manual mode
// has no index).
type MarkSampleView struct {
	Time    int64  `json:"time"`
	Updated int64  `json:"updated"`
	Mark    string `json:"mark,omitempty"`
	Index   string `json:"index,omitempty"`
}

// sampleValuation records the market's current mark and index into the
// bucket of every interval that contains t.
func (m *market) sampleValuation(t int64) {
	for i := range m.vals {
		start := t - t%intervalNanos[i]
		r := &m.vals[i]
		if r.n > 0 && r.at(0).start == start {
			v := r.at(0)
			v.updated, v.mark, v.index = t, m.mark, m.index
			continue
		}
		if r.n > 0 && r.at(0).start > start {
			continue // engine time never goes back; a restored engine might
		}
		r.push(valSample{start: start, updated: t, mark: m.mark, index: m.index})
	}
}

// MarkHistory returns the newest samples of an interval, oldest first.
func (s *Store) MarkHistory(m engine.MarketID, iv Interval, limit int) []MarkSampleView {
	s.mu.RLock()
	defer s.mu.RUnlock()
	mk := s.markets[m]
	r := &mk.vals[iv]
	n := clamp(limit, r.n)
	sp := &mk.spec.Spec
	out := make([]MarkSampleView, 0, n)
	for i := n - 1; i >= 0; i-- {
		v := r.at(i)
		out = append(out, MarkSampleView{Time: ms(v.start), Updated: ms(v.updated), Mark: px(sp, v.mark), Index: px(sp, v.index)})
	}
	return out
}

// MarkHistoryMax is how many samples an interval keeps (the ?limit= bound).
func (s *Store) MarkHistoryMax(iv Interval) int {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return len(s.markets[0].vals[iv].buf)
}
