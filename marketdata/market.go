package marketdata

import (
	"sort"

	"github.com/sampan-hk/sampan/core/book"
	"github.com/sampan-hk/sampan/core/engine"
	"github.com/sampan-hk/sampan/core/fixed"
)

// Interval is a candle width.
type Interval uint8

const (
	I1m Interval = iota
	I5m
	I1h
	I1d
	intervalEnd
)

var intervalNames = [...]string{"1m", "5m", "1h", "1d"}
var intervalNanos = [...]int64{60e9, 300e9, 3600e9, 86400e9}

func (i Interval) String() string { return intervalNames[i] }

// ParseInterval reads "1m", "5m", "1h" or "1d".
func ParseInterval(s string) (Interval, bool) {
	for i, n := range intervalNames {
		if n == s {
			return Interval(i), true
		}
	}
	return 0, false
}

// window24h is the ticker's rolling window, summed from 1m candles (so the
// window has minute granularity).
const window24h = int64(86400e9)

type level struct {
	price fixed.Price
	qty   fixed.Qty
}

type trade struct {
	id    uint64 // the engine event sequence: unique and increasing
	time  int64
	price fixed.Price
	qty   fixed.Qty
	side  book.Side // the taker's side
}

type candle struct {
	start      int64
	o, h, l, c fixed.Price
	volume     fixed.Qty
	trades     int64
}

// ring is a bounded FIFO; the oldest element is overwritten when full.
type ring[T any] struct {
	buf  []T
	head int // index of the oldest element
	n    int
}

func newRing[T any](max int) ring[T] { return ring[T]{buf: make([]T, max)} }

func (r *ring[T]) push(v T) (evicted T, was bool) {
	if r.n < len(r.buf) {
		r.buf[(r.head+r.n)%len(r.buf)] = v
		r.n++
		return evicted, false
	}
	evicted = r.buf[r.head]
	r.buf[r.head] = v
	r.head = (r.head + 1) % len(r.buf)
	return evicted, true
}

// at returns the i-th newest element (0: newest).
func (r *ring[T]) at(i int) *T { return &r.buf[(r.head+r.n-1-i)%len(r.buf)] }

type market struct {
	id         engine.MarketID
	spec       *engine.MarketSpec
	bids       []level // best (highest) first
	asks       []level // best (lowest) first
	depthSeq   uint64
	pending    []levelChange // changes of the batch being applied
	trades     ring[trade]
	candles    [intervalEnd]ring[candle]
	last       fixed.Price
	mark       fixed.Price
	markSource string                       // "operator" (SetMark) or "oracle"
	index      fixed.Price                  // last published index (0: none yet)
	vals       [intervalEnd]ring[valSample] // mark and index history (markhistory.go)
	liqs       ring[liqRec]
}

type levelChange struct {
	side  book.Side
	price fixed.Price
	qty   fixed.Qty
}

func newMarket(id engine.MarketID, spec *engine.MarketSpec, cfg Config) *market {
	m := &market{id: id, spec: spec, trades: newRing[trade](cfg.TradesMax), liqs: newRing[liqRec](cfg.LiquidationsMax)}
	for i := range m.candles {
		n := cfg.KlinesMax
		if Interval(i) == I1m && n < 24*60+1 {
			n = 24*60 + 1 // the ticker's 24h window needs a day of minutes
		}
		m.candles[i] = newRing[candle](n)
		m.vals[i] = newRing[valSample](n)
	}
	return m
}

func (m *market) resetDepth(bids, asks []book.Level) {
	m.bids, m.asks = m.bids[:0], m.asks[:0]
	for _, l := range bids {
		m.bids = append(m.bids, level{l.Price, l.Qty})
	}
	for _, l := range asks {
		m.asks = append(m.asks, level{l.Price, l.Qty})
	}
	m.pending = m.pending[:0]
	m.depthSeq++
}

// levelChanged applies one book_level event: the total at Side/Price is now
// Qty (0: the level is gone).
func (m *market) levelChanged(ev *engine.Event) {
	side := &m.bids
	better := func(a, b fixed.Price) bool { return a > b }
	if ev.Side == book.Sell {
		side = &m.asks
		better = func(a, b fixed.Price) bool { return a < b }
	}
	ls := *side
	i := sort.Search(len(ls), func(i int) bool { return !better(ls[i].price, ev.Price) })
	switch {
	case i < len(ls) && ls[i].price == ev.Price && ev.Qty == 0:
		ls = append(ls[:i], ls[i+1:]...)
	case i < len(ls) && ls[i].price == ev.Price:
		ls[i].qty = ev.Qty
	case ev.Qty != 0:
		ls = append(ls, level{})
		copy(ls[i+1:], ls[i:])
		ls[i] = level{ev.Price, ev.Qty}
	}
	*side = ls
	m.pending = append(m.pending, levelChange{ev.Side, ev.Price, ev.Qty})
}

func (m *market) addTrade(t trade) {
	m.trades.push(t)
	m.last = t.price
	for i := range m.candles {
		w := intervalNanos[i]
		start := t.time - t.time%w
		r := &m.candles[i]
		if r.n > 0 && r.at(0).start == start {
			c := r.at(0)
			c.h, c.l, c.c = max(c.h, t.price), min(c.l, t.price), t.price
			c.volume += t.qty
			c.trades++
			continue
		}
		r.push(candle{start: start, o: t.price, h: t.price, l: t.price, c: t.price, volume: t.qty, trades: 1})
	}
}

func priceOf(v int64) fixed.Price { return fixed.Price(v) }
