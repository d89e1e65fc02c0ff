// Package oracle computes Sampan's reference prices: the index of each
// underlying (a weighted median of external spot venues) and the mark price
// of each perpetual (a median of three estimates, clamped to a band around
// the index).
//
// The package is pure. Time arrives as engine time (unix nanoseconds stamped
// by the sequencer on each command); prices are integers in one price unit
// per underlying, chosen by the engine (normally the perpetual's tick), so
// every comparison and median here is exact. Each computation returns an
// explanation that carries every input and every decision, so any index or
// mark the engine publishes can be re-derived by hand.
package oracle

import (
	"errors"
	"math/bits"
	"sort"

	"github.com/sampan-hk/sampan/core/fixed"
)

// SourceID identifies one external venue within one index. The engine
// assigns ids; ordering by id is the deterministic tie-break everywhere.
type SourceID uint16

// MaxSources bounds the constituents of one index (named limit).
const MaxSources = 32

// MaxWeight bounds one constituent's weight so that sums of weights fit
// comfortably in 64 bits.
const MaxWeight = 1_000_000

// Source is one configured constituent of an index.
type Source struct {
	ID     SourceID
	Name   string // venue name for explanations, e.g. "coinbase"
	Weight uint32 // relative weight in the weighted median; 0 disables the source
}

// DefaultSources is the default constituent set of the BTC and ETH indexes
// (docs/methodology.md, "Constituents and weights"): the USD venues carry 7
// of 9 weight units. Ids are stable; the feed maps venue names to them.
func DefaultSources() []Source {
	return []Source{
		{ID: 1, Name: "coinbase", Weight: 3},
		{ID: 2, Name: "kraken", Weight: 2},
		{ID: 3, Name: "bitstamp", Weight: 2},
		{ID: 4, Name: "okx", Weight: 1},
		{ID: 5, Name: "binance", Weight: 1},
	}
}

// Params are the index rules. Every field is a governed parameter.
type Params struct {
	// StaleAfter: a quote observed more than this many nanoseconds before
	// engine time is dropped.
	StaleAfter int64
	// MaxDeviation: a fresh quote further than this from the reference
	// median (in ppm of the median) gets weight 0. Exactly at the limit is
	// still included.
	MaxDeviation fixed.Ppm
	// MinSources: fewer fresh sources than this makes the index unhealthy
	// (the market goes reduce-only and liquidations pause).
	MinSources int
	// MinIncluded: fewer sources left after the deviation filter than this
	// is also unhealthy: the fresh sources disagree too much to trust any
	// of them.
	MinIncluded int
	// MaxChange bounds how far one Compute may move the published index
	// from the previous one, in ppm of the previous value.
	MaxChange fixed.Ppm
}

// DefaultParams are the defaults named in the design guide.
func DefaultParams() Params {
	return Params{
		StaleAfter:   30_000_000_000, // 30 s
		MaxDeviation: 50_000,         // 5%
		MinSources:   3,
		MinIncluded:  2,
		MaxChange:    10_000, // 1% per update
	}
}

// Parameter and input errors.
var (
	ErrParams        = errors.New("oracle: invalid parameters")
	ErrSources       = errors.New("oracle: sources must be 1..MaxSources, ids unique, weights ≤ MaxWeight")
	ErrUnknownSource = errors.New("oracle: quote from a source that is not a constituent")
	ErrBadPrice      = errors.New("oracle: quote price must be positive")
)

// Validate checks the parameters.
func (p Params) Validate() error {
	if p.StaleAfter <= 0 || p.MaxDeviation <= 0 || p.MaxDeviation >= fixed.PpmOne ||
		p.MinSources < 1 || p.MinIncluded < 1 || p.MinIncluded > p.MinSources ||
		p.MaxChange <= 0 || p.MaxChange >= fixed.PpmOne {
		return ErrParams
	}
	return nil
}

// Quote is one observation from one venue: its price and the time the venue
// says it was observed (unix ns).
type Quote struct {
	Source SourceID
	Price  fixed.Price
	Time   int64
}

// Exclusion says why a constituent did not count.
type Exclusion uint8

const (
	Included  Exclusion = iota
	NoQuote             // never quoted
	Stale               // last quote older than StaleAfter
	Deviation           // further than MaxDeviation from the reference median
	Disabled            // configured weight 0
)

func (e Exclusion) String() string {
	return [...]string{"included", "no quote", "stale", "deviation", "disabled"}[e]
}

// Constituent explains one source's part in one index computation.
type Constituent struct {
	Source     SourceID
	Name       string
	Price      fixed.Price // last quote (0 if none)
	ObservedAt int64       // the quote's time (clamped to engine time)
	Age        int64       // engine time − ObservedAt
	Weight     uint32      // configured weight
	WeightUsed uint32      // weight in the final median (0 when excluded)
	Deviation  fixed.Ppm   // |price − reference| / reference, ppm, rounded up (fresh sources only)
	Excluded   Exclusion
}

// EventKind names something an index computation wants recorded.
type EventKind uint8

const (
	// ReduceOnlyEntered: the index became unhealthy; the market is
	// reduce-only and liquidations pause until it recovers.
	ReduceOnlyEntered EventKind = iota + 1
	// ReduceOnlyExited: the index is healthy again.
	ReduceOnlyExited
	// ChangeBounded: the weighted median moved further than MaxChange and
	// the published index was held at the bound.
	ChangeBounded
)

func (k EventKind) String() string {
	switch k {
	case ReduceOnlyEntered:
		return "reduce_only_entered"
	case ReduceOnlyExited:
		return "reduce_only_exited"
	case ChangeBounded:
		return "change_bounded"
	}
	return "unknown"
}

// Event is one recorded decision. Fresh and Included are the counts that
// drove a reduce-only change; From/To/Wanted describe a bounded change.
type Event struct {
	Kind     EventKind
	Fresh    int
	Included int
	From     fixed.Price // previous published index
	To       fixed.Price // published index after the bound
	Wanted   fixed.Price // the weighted median the bound held back
}

// Result is one index computation with its full explanation.
type Result struct {
	Time int64
	// Price is the published index. While unhealthy it is the last healthy
	// value (frozen), and Valid says whether there ever was one.
	Price fixed.Price
	Valid bool
	// Healthy is false when too few fresh sources (or too few agreeing
	// sources) exist. ReduceOnly mirrors !Healthy: the engine must then
	// reject position-increasing orders and pause liquidations.
	Healthy    bool
	ReduceOnly bool
	// Reference is the weighted median of the fresh sources that the
	// deviation rule measures against; Median is the weighted median of the
	// included sources, before the change bound.
	Reference fixed.Price
	Median    fixed.Price
	Fresh     int
	Included  int
	// Bounded is true when the change bound held the index back this
	// update (a ChangeBounded event is in Events): the published index then
	// lags the venues, which the engine may want to weigh before acting on it.
	Bounded      bool
	Constituents []Constituent // sorted by source id
	Events       []Event
}

type slot struct {
	src   Source
	quote Quote
	has   bool
}

// Index holds the latest quote of each constituent of one underlying and the
// last published value. It is not safe for concurrent use (the engine is
// single-threaded).
type Index struct {
	params     Params
	slots      []slot // sorted by source id; never a map, so iteration is ordered
	last       fixed.Price
	valid      bool
	reduceOnly bool
}

// NewIndex builds an index over the given sources. It starts reduce-only:
// there is no price until enough sources have quoted.
func NewIndex(p Params, sources []Source) (*Index, error) {
	if err := p.Validate(); err != nil {
		return nil, err
	}
	if len(sources) == 0 || len(sources) > MaxSources {
		return nil, ErrSources
	}
	x := &Index{params: p, reduceOnly: true}
	for _, s := range sources {
		if s.Weight > MaxWeight {
			return nil, ErrSources
		}
		x.slots = append(x.slots, slot{src: s})
	}
	sort.Slice(x.slots, func(i, j int) bool { return x.slots[i].src.ID < x.slots[j].src.ID })
	for i := 1; i < len(x.slots); i++ {
		if x.slots[i].src.ID == x.slots[i-1].src.ID {
			return nil, ErrSources
		}
	}
	return x, nil
}

// Params returns the index rules.
func (x *Index) Params() Params { return x.params }

// SetParams replaces the rules (a governed parameter change). Quotes and the
// last published value are kept.
func (x *Index) SetParams(p Params) error {
	if err := p.Validate(); err != nil {
		return err
	}
	x.params = p
	return nil
}

// Last returns the last published index and whether one exists.
func (x *Index) Last() (fixed.Price, bool) { return x.last, x.valid }

// ReduceOnly reports whether the market is in reduce-only mode because of
// this index.
func (x *Index) ReduceOnly() bool { return x.reduceOnly }

func (x *Index) find(id SourceID) int {
	i := sort.Search(len(x.slots), func(i int) bool { return x.slots[i].src.ID >= id })
	if i < len(x.slots) && x.slots[i].src.ID == id {
		return i
	}
	return -1
}

// Update records a quote. A quote dated after engine time is clamped to now:
// a venue clock running ahead must not extend its quote's life. A quote older
// than the one already held is ignored (returns false): feeds can deliver out
// of order after a reconnect, and an older price must not replace a newer one.
func (x *Index) Update(q Quote, now int64) (bool, error) {
	i := x.find(q.Source)
	if i < 0 {
		return false, ErrUnknownSource
	}
	if q.Price <= 0 {
		return false, ErrBadPrice
	}
	if q.Time > now {
		q.Time = now
	}
	s := &x.slots[i]
	if s.has && q.Time < s.quote.Time {
		return false, nil
	}
	s.quote, s.has = q, true
	return true, nil
}

// entry is one price with its weight, for the weighted median.
type entry struct {
	price  fixed.Price
	id     SourceID
	weight uint64
}

// weightedMedian returns the lower weighted median: entries sorted by price
// then source id, the first whose cumulative weight reaches half the total
// (2·cum ≥ total). The result is always one constituent's price (nothing is
// averaged, so nothing is rounded), and an exact 50/50 split picks the lower
// price. es must be non-empty with a positive total weight; it is sorted in
// place.
func weightedMedian(es []entry) fixed.Price {
	sort.Slice(es, func(i, j int) bool {
		if es[i].price != es[j].price {
			return es[i].price < es[j].price
		}
		return es[i].id < es[j].id
	})
	var total uint64
	for _, e := range es {
		total += e.weight
	}
	var cum uint64
	for _, e := range es {
		cum += e.weight
		if 2*cum >= total {
			return e.price
		}
	}
	panic("oracle: weighted median of zero total weight")
}

// deviationPpm returns |p − ref| × 1e6 / ref rounded up, saturating at
// PpmOne×1000 so absurd prices still compare as "too far".
func deviationPpm(p, ref fixed.Price) fixed.Ppm {
	d := int64(p - ref)
	if d < 0 {
		d = -d
	}
	v, err := fixed.MulDiv(d, int64(fixed.PpmOne), int64(ref), fixed.Ceil)
	if err != nil || v > 1000*int64(fixed.PpmOne) {
		return 1000 * fixed.PpmOne
	}
	return fixed.Ppm(v)
}

// beyond reports whether |p − ref| > limit × ref / 1e6 exactly (no rounding),
// comparing the 128-bit products |p − ref|·1e6 and limit·ref.
func beyond(p, ref fixed.Price, limit fixed.Ppm) bool {
	d := uint64(p - ref)
	if p < ref {
		d = uint64(ref - p)
	}
	ah, al := bits.Mul64(d, uint64(fixed.PpmOne))
	bh, bl := bits.Mul64(uint64(limit), uint64(ref))
	return ah > bh || (ah == bh && al > bl)
}

// Compute evaluates the index at engine time now and publishes it. The
// engine calls it once per price update (the change bound is per call).
//
// Steps, in order (docs/methodology.md states them with a worked example):
//  1. drop disabled sources, sources without a quote and quotes older than
//     StaleAfter;
//  2. fewer than MinSources fresh → unhealthy;
//  3. Reference = weighted median of the fresh quotes;
//  4. a fresh quote further than MaxDeviation from Reference gets weight 0;
//  5. fewer than MinIncluded left → unhealthy;
//  6. Median = weighted median of the included quotes;
//  7. the published index moves from the previous one by at most
//     MaxChange (the first healthy value is published as is).
//
// While unhealthy the published index stays at its last healthy value.
func (x *Index) Compute(now int64) Result {
	p := x.params
	r := Result{Time: now, Constituents: make([]Constituent, len(x.slots))}
	fresh := make([]entry, 0, len(x.slots))
	for i := range x.slots {
		s := &x.slots[i]
		c := Constituent{Source: s.src.ID, Name: s.src.Name, Weight: s.src.Weight}
		switch {
		case s.src.Weight == 0:
			c.Excluded = Disabled
		case !s.has:
			c.Excluded = NoQuote
		}
		if s.has {
			c.Price, c.ObservedAt, c.Age = s.quote.Price, s.quote.Time, now-s.quote.Time
			if c.Excluded == Included && c.Age > p.StaleAfter {
				c.Excluded = Stale
			}
		}
		if c.Excluded == Included {
			fresh = append(fresh, entry{price: c.Price, id: c.Source, weight: uint64(c.Weight)})
		}
		r.Constituents[i] = c
	}
	r.Fresh = len(fresh)

	healthy := r.Fresh >= p.MinSources
	if healthy {
		r.Reference = weightedMedian(append([]entry(nil), fresh...))
		incl := fresh[:0]
		for i := range r.Constituents {
			c := &r.Constituents[i]
			if c.Excluded != Included {
				continue
			}
			c.Deviation = deviationPpm(c.Price, r.Reference)
			if beyond(c.Price, r.Reference, p.MaxDeviation) {
				c.Excluded = Deviation
				continue
			}
			c.WeightUsed = c.Weight
			incl = append(incl, entry{price: c.Price, id: c.Source, weight: uint64(c.Weight)})
		}
		r.Included = len(incl)
		healthy = r.Included >= p.MinIncluded
		if healthy {
			r.Median = weightedMedian(incl)
		}
	}
	if !healthy {
		// Nothing counts while unhealthy: report weight 0 everywhere so the
		// explanation never suggests a source moved the index.
		for i := range r.Constituents {
			r.Constituents[i].WeightUsed = 0
		}
	}

	if healthy {
		next := r.Median
		if x.valid {
			step := fixed.MustMulDiv(int64(x.last), int64(p.MaxChange), int64(fixed.PpmOne), fixed.Floor)
			if step < 1 {
				step = 1 // a tiny index must still be able to move
			}
			lo, hi := x.last-fixed.Price(step), x.last+fixed.Price(step)
			if next > hi || next < lo {
				to := hi
				if next < lo {
					to = lo
				}
				r.Bounded = true
				r.Events = append(r.Events, Event{Kind: ChangeBounded, Fresh: r.Fresh, Included: r.Included, From: x.last, To: to, Wanted: next})
				next = to
			}
		}
		x.last, x.valid = next, true
	}
	if healthy == x.reduceOnly { // state changes
		k := ReduceOnlyEntered
		if healthy {
			k = ReduceOnlyExited
		}
		r.Events = append(r.Events, Event{Kind: k, Fresh: r.Fresh, Included: r.Included})
		x.reduceOnly = !healthy
	}
	r.Price, r.Valid, r.Healthy, r.ReduceOnly = x.last, x.valid, healthy, x.reduceOnly
	return r
}

// IndexState is the index's mutable state, for engine snapshots and state
// hashes. Quotes are in source-id order, so equal states encode equally.
type IndexState struct {
	Quotes     []Quote
	Last       fixed.Price
	Valid      bool
	ReduceOnly bool
}

// State returns a copy of the mutable state.
func (x *Index) State() IndexState {
	s := IndexState{Last: x.last, Valid: x.valid, ReduceOnly: x.reduceOnly}
	for _, sl := range x.slots {
		if sl.has {
			s.Quotes = append(s.Quotes, sl.quote)
		}
	}
	return s
}

// Restore replaces the mutable state with s (from State on an index with the
// same sources). Quotes for unknown sources are an error and change nothing.
func (x *Index) Restore(s IndexState) error {
	for _, q := range s.Quotes {
		if x.find(q.Source) < 0 {
			return ErrUnknownSource
		}
	}
	for i := range x.slots {
		x.slots[i].has, x.slots[i].quote = false, Quote{}
	}
	for _, q := range s.Quotes {
		i := x.find(q.Source)
		x.slots[i].quote, x.slots[i].has = q, true
	}
	x.last, x.valid, x.reduceOnly = s.Last, s.Valid, s.ReduceOnly
	return nil
}
