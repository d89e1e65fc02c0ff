package oracle

import (
	"errors"

	"github.com/sampan-hk/sampan/core/fixed"
	"github.com/sampan-hk/sampan/core/funding"
)

// MaxBasisSamples is the capacity of the basis ring buffer (named limit).
// MarkParams.Validate requires BasisWindow / BasisSpacing < this, so a full
// window always fits and the moving average never silently loses samples.
const MaxBasisSamples = 3600

// MarkParams are the mark-price rules. Every field is a governed parameter.
type MarkParams struct {
	// BasisWindow is the moving-average window of (mid − index), ns.
	BasisWindow int64
	// BasisSpacing is the minimum time between two basis samples, ns. A
	// sample arriving sooner is not added, so a burst of updates cannot
	// outweigh a quiet minute.
	BasisSpacing int64
	// Band: the mark is clamped to index ± Band (ppm of index).
	Band fixed.Ppm
}

// DefaultMarkParams: Binance's 5-minute basis sampled each second, and a
// ±1% band around the index.
func DefaultMarkParams() MarkParams {
	return MarkParams{
		BasisWindow:  300_000_000_000, // 5 min
		BasisSpacing: 1_000_000_000,   // 1 s
		Band:         10_000,          // 1%
	}
}

// Mark errors.
var (
	ErrMarkParams = errors.New("oracle: invalid mark parameters")
	ErrNoIndex    = errors.New("oracle: mark needs a positive index")
	ErrTimeOrder  = errors.New("oracle: mark time went backwards")
	ErrMarkInput  = errors.New("oracle: mark inputs out of range")
)

// Validate checks the mark parameters.
func (p MarkParams) Validate() error {
	if p.BasisWindow <= 0 || p.BasisSpacing <= 0 || p.BasisWindow/p.BasisSpacing >= MaxBasisSamples ||
		p.Band <= 0 || p.Band >= fixed.PpmOne {
		return ErrMarkParams
	}
	return nil
}

// MarkInputs is everything one mark computation uses. It is recorded in the
// mark event, so the mark can be recomputed from the event alone plus the
// basis samples of earlier events.
type MarkInputs struct {
	Time  int64       // engine time, unix ns
	Index fixed.Price // the published index
	// FundingRate is the funding rate per 8 h (funding.Rate units, 1e-9)
	// that the next settlement is expected to pay: normally the rate fixed
	// at the last settlement (Binance's "last funding rate").
	FundingRate funding.Rate
	// TimeToFunding is the time until the next settlement, ns.
	TimeToFunding int64
	// Mid is (best bid + best ask) / 2 of our own book, in price units;
	// HasMid is false when either side is empty (no basis sample is taken).
	Mid    fixed.Price
	HasMid bool
	// Last is our book's last trade price; HasLast is false before the
	// first trade (the index stands in for it).
	Last    fixed.Price
	HasLast bool
}

// MarkResult explains one mark price.
type MarkResult struct {
	Inputs MarkInputs
	// FundingPrice = Index × (1 + FundingRate × TimeToFunding / 8 h).
	FundingPrice fixed.Price
	// BasisAverage is the mean of (mid − index) over the window, truncated
	// toward zero; BasisSamples how many samples it averages (0: the
	// average is 0). SampleAdded says whether this call's mid was sampled.
	BasisAverage fixed.Price
	BasisSamples int
	SampleAdded  bool
	// BasisPrice = Index + BasisAverage.
	BasisPrice fixed.Price
	// LastPrice is Inputs.Last, or the index when there was no trade.
	LastPrice fixed.Price
	// Median of FundingPrice, BasisPrice and LastPrice.
	Median fixed.Price
	// The band, Index ∓ floor(Index × Band / 1e6), and whether the median
	// was clamped to it.
	BandLow, BandHigh fixed.Price
	Clamped           bool
	Mark              fixed.Price
}

// BasisSample is one (mid − index) observation, in price units.
type BasisSample struct {
	Time  int64
	Basis int64
}

// Mark computes the mark price of one perpetual. It keeps the basis samples
// in a fixed-size ring buffer.
type Mark struct {
	params MarkParams
	ring   [MaxBasisSamples]BasisSample
	head   int // index of the oldest sample
	n      int
	last   int64 // time of the last call (monotonic check)
	seen   bool
}

// NewMark returns a mark calculator with no basis history.
func NewMark(p MarkParams) (*Mark, error) {
	if err := p.Validate(); err != nil {
		return nil, err
	}
	return &Mark{params: p}, nil
}

// Params returns the mark rules.
func (m *Mark) Params() MarkParams { return m.params }

// SetParams replaces the rules; basis samples are kept (a shorter window
// simply ignores the older ones).
func (m *Mark) SetParams(p MarkParams) error {
	if err := p.Validate(); err != nil {
		return err
	}
	m.params = p
	return nil
}

// truncDiv returns a×b/d rounded toward zero (d > 0): the rounding that pulls
// an estimate toward the index, never away from it.
func truncDiv(a, b, d int64) (int64, error) {
	r := fixed.Floor
	if (a < 0) != (b < 0) && a != 0 && b != 0 {
		r = fixed.Ceil
	}
	return fixed.MulDiv(a, b, d, r)
}

func median3(a, b, c fixed.Price) fixed.Price {
	if a > b {
		a, b = b, a
	}
	if b > c {
		b = c
	}
	if a > b {
		return a
	}
	return b
}

// FundingPrice returns index × (1 + rate8h × ttf / 8 h), with the funding
// adjustment truncated toward zero. It is Binance's Price 1 written with the
// 8-hour rate: rate-per-interval × ttf / interval is the same number for any
// interval.
func FundingPrice(index fixed.Price, rate8h funding.Rate, ttf int64) (fixed.Price, error) {
	if ttf < 0 {
		return 0, ErrMarkInput
	}
	part, err := truncDiv(int64(rate8h), ttf, funding.EightHours)
	if err != nil {
		return 0, ErrMarkInput
	}
	adj, err := truncDiv(int64(index), part, int64(funding.RateOne))
	if err != nil {
		return 0, ErrMarkInput
	}
	v, err := fixed.Add(int64(index), adj)
	if err != nil {
		return 0, ErrMarkInput
	}
	return fixed.Price(v), nil
}

// Compute adds this call's basis sample (if it has a mid and BasisSpacing has
// passed since the last sample), then returns the mark with its explanation.
// Engine time must not go backwards between calls.
func (m *Mark) Compute(in MarkInputs) (MarkResult, error) {
	if in.Index <= 0 {
		return MarkResult{}, ErrNoIndex
	}
	if (in.HasMid && in.Mid <= 0) || (in.HasLast && in.Last <= 0) || in.TimeToFunding < 0 {
		return MarkResult{}, ErrMarkInput
	}
	if m.seen && in.Time < m.last {
		return MarkResult{}, ErrTimeOrder
	}
	r := MarkResult{Inputs: in}
	fp, err := FundingPrice(in.Index, in.FundingRate, in.TimeToFunding)
	if err != nil {
		return MarkResult{}, err
	}
	r.FundingPrice = fp
	m.seen, m.last = true, in.Time

	p := m.params
	if in.HasMid {
		ok := true
		if m.n > 0 {
			prev := m.ring[(m.head+m.n-1)%MaxBasisSamples]
			ok = in.Time-prev.Time >= p.BasisSpacing
		}
		if ok {
			s := BasisSample{Time: in.Time, Basis: int64(in.Mid - in.Index)}
			if m.n == MaxBasisSamples {
				m.ring[m.head] = s
				m.head = (m.head + 1) % MaxBasisSamples
			} else {
				m.ring[(m.head+m.n)%MaxBasisSamples] = s
				m.n++
			}
			r.SampleAdded = true
		}
	}
	// Drop samples that left the window: a sample at exactly now − window
	// still counts.
	for m.n > 0 && m.ring[m.head].Time < in.Time-p.BasisWindow {
		m.head = (m.head + 1) % MaxBasisSamples
		m.n--
	}
	var sum int64
	for i := 0; i < m.n; i++ {
		sum = fixed.MustAdd(sum, m.ring[(m.head+i)%MaxBasisSamples].Basis)
	}
	r.BasisSamples = m.n
	if m.n > 0 {
		avg, err := truncDiv(sum, 1, int64(m.n))
		if err != nil {
			return MarkResult{}, err
		}
		r.BasisAverage = fixed.Price(avg)
	}
	r.BasisPrice = in.Index + r.BasisAverage
	r.LastPrice = in.Index
	if in.HasLast {
		r.LastPrice = in.Last
	}
	r.Median = median3(r.FundingPrice, r.BasisPrice, r.LastPrice)
	band := fixed.Price(fixed.MustMulDiv(int64(in.Index), int64(p.Band), int64(fixed.PpmOne), fixed.Floor))
	r.BandLow, r.BandHigh = in.Index-band, in.Index+band
	r.Mark = r.Median
	if r.Mark < r.BandLow {
		r.Mark, r.Clamped = r.BandLow, true
	} else if r.Mark > r.BandHigh {
		r.Mark, r.Clamped = r.BandHigh, true
	}
	return r, nil
}

// MarkState is the mark calculator's mutable state, for engine snapshots:
// the basis samples oldest first and the time of the last call.
type MarkState struct {
	Samples  []BasisSample
	LastTime int64
	Seen     bool
}

// State returns a copy of the mutable state.
func (m *Mark) State() MarkState {
	s := MarkState{LastTime: m.last, Seen: m.seen, Samples: make([]BasisSample, m.n)}
	for i := 0; i < m.n; i++ {
		s.Samples[i] = m.ring[(m.head+i)%MaxBasisSamples]
	}
	return s
}

// Restore replaces the mutable state with s. Samples must be in time order
// and fit the ring.
func (m *Mark) Restore(s MarkState) error {
	if len(s.Samples) > MaxBasisSamples {
		return ErrMarkInput
	}
	for i := 1; i < len(s.Samples); i++ {
		if s.Samples[i].Time < s.Samples[i-1].Time {
			return ErrTimeOrder
		}
	}
	m.head, m.n = 0, copy(m.ring[:], s.Samples)
	m.last, m.seen = s.LastTime, s.Seen
	return nil
}
