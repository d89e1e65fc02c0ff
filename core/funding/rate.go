// Package funding computes perpetual funding: the premium of the book over
// the index (from impact prices), the funding rate with its interest
// component and caps, and the zero-sum settlement of one interval between
// longs and shorts.
//
// The package is pure and only computes. The engine owns the positions and
// the ledger: it passes engine time (unix ns), prices in the perpetual's
// ticks and positions in lots, and posts the returned payments and residue.
//
// Rates are funding.Rate: an integer count of 10^-9 (parts per billion),
// always quoted per 8 hours whatever the settlement interval. Parts per
// million would be too coarse: the default interest of 0.01% per 8 h is
// 0.00125% per hour, 12.5 ppm, which ppm cannot hold; in 10^-9 it is 12,500.
package funding

import (
	"errors"

	"github.com/sampan-hk/sampan/core/fixed"
)

// Rate is a rate in parts per 10^9 (1 = 0.0000001%). Funding rates are
// always per 8 hours; a positive rate means longs pay shorts.
type Rate int64

// RateOne is 100%.
const RateOne Rate = 1_000_000_000

// RateFromPpm converts a ppm rate (as margin rates are stored) to a Rate.
func RateFromPpm(p fixed.Ppm) Rate { return Rate(fixed.MustMul(int64(p), 1000)) }

// EightHours is the period funding rates are quoted for, in ns.
const EightHours int64 = 8 * 3600 * 1_000_000_000

const second int64 = 1_000_000_000

// MaxInterval bounds the settlement interval (named limit): one day.
const MaxInterval int64 = 24 * 3600 * second

// Params are the funding rules. Every field is a governed parameter.
type Params struct {
	// Interval between settlements, ns; a whole number of seconds, at most
	// MaxInterval. Each settlement pays rate × Interval / 8 h.
	Interval int64
	// SamplePeriod: at most one premium sample per period, ns.
	SamplePeriod int64
	// Interest is the interest component I, per 8 h.
	Interest Rate
	// InterestClamp bounds the interest adjustment: rate = P̄ +
	// clamp(I − P̄, −InterestClamp, +InterestClamp).
	InterestClamp Rate
	// CapFactor: |rate| ≤ CapFactor × (IMR − MMR) of the first margin tier.
	CapFactor fixed.Ppm
}

// DefaultParams: hourly settlement, minute samples, I = 0.01%, clamp ±0.05%,
// cap 75% of (IMR − MMR).
func DefaultParams() Params {
	return Params{
		Interval:      3600 * second,
		SamplePeriod:  60 * second,
		Interest:      100_000, // 0.01% per 8 h
		InterestClamp: 500_000, // 0.05%
		CapFactor:     750_000, // 75%
	}
}

// Errors.
var (
	ErrParams     = errors.New("funding: invalid parameters")
	ErrIndex      = errors.New("funding: index must be positive")
	ErrUnbalanced = errors.New("funding: long and short open interest differ")
	ErrLevels     = errors.New("funding: depth levels must be positive and sorted best first")
	ErrMargin     = errors.New("funding: need 0 ≤ maintenance rate ≤ initial rate ≤ 100%")
)

// Validate checks the parameters.
func (p Params) Validate() error {
	if p.Interval <= 0 || p.Interval > MaxInterval || p.Interval%second != 0 ||
		p.SamplePeriod <= 0 || p.SamplePeriod > p.Interval ||
		p.Interest < -RateOne || p.Interest > RateOne ||
		p.InterestClamp < 0 || p.InterestClamp > RateOne ||
		p.CapFactor <= 0 || p.CapFactor > 10*fixed.PpmOne {
		return ErrParams
	}
	return nil
}

// truncDiv returns a×b/d rounded toward zero (d > 0).
func truncDiv(a, b, d int64) int64 {
	r := fixed.Floor
	if (a < 0) != (b < 0) && a != 0 && b != 0 {
		r = fixed.Ceil
	}
	return fixed.MustMulDiv(a, b, d, r)
}

func clamp(v, lo, hi Rate) Rate {
	if v < lo {
		return lo
	}
	if v > hi {
		return hi
	}
	return v
}

// Premium returns [max(0, impactBid − index) − max(0, index − impactAsk)] /
// index, truncated toward zero. A side whose impact price is unavailable
// (book too thin for the impact notional) contributes 0: an empty book
// must not create a premium. Both terms are never positive at once while
// the book is uncrossed (impact bid ≤ best bid < best ask ≤ impact ask).
func Premium(impactBid fixed.Price, hasBid bool, impactAsk fixed.Price, hasAsk bool, index fixed.Price) (Rate, error) {
	if index <= 0 {
		return 0, ErrIndex
	}
	var diff int64
	if hasBid && impactBid > index {
		diff += int64(impactBid - index)
	}
	if hasAsk && impactAsk < index {
		diff -= int64(index - impactAsk)
	}
	return Rate(truncDiv(diff, int64(RateOne), int64(index))), nil
}

// Cap returns the funding cap per 8 h: factor × (imr − mmr), rounded down
// (a cap never loosens by rounding). imr and mmr are the first margin
// tier's initial and maintenance rates.
func Cap(imr, mmr, factor fixed.Ppm) (Rate, error) {
	if mmr < 0 || imr < mmr || imr > fixed.PpmOne {
		return 0, ErrMargin
	}
	// (imr − mmr) ppm × 1000 → 10^-9, × factor / 10^6: one division.
	return Rate(fixed.MustMulDiv(int64(imr-mmr), int64(factor), 1000, fixed.Floor)), nil
}

// RateResult explains one funding rate.
type RateResult struct {
	Samples    int
	PremiumSum Rate // sum of the samples
	// AvgPremium = PremiumSum / Samples truncated toward zero (0 with no
	// samples: no evidence of a premium means none is charged).
	AvgPremium Rate
	Interest   Rate
	// Adjustment = clamp(Interest − AvgPremium, ±InterestClamp).
	Adjustment Rate
	// Uncapped = AvgPremium + Adjustment.
	Uncapped Rate
	Cap      Rate
	Capped   bool
	Rate     Rate // per 8 h, within ±Cap
}

// ComputeRate applies the funding formula to a premium sum over n samples.
func ComputeRate(p Params, premiumSum Rate, n int, capRate Rate) RateResult {
	r := RateResult{Samples: n, PremiumSum: premiumSum, Interest: p.Interest, Cap: capRate}
	if n > 0 {
		r.AvgPremium = Rate(truncDiv(int64(premiumSum), 1, int64(n)))
	}
	r.Adjustment = clamp(p.Interest-r.AvgPremium, -p.InterestClamp, p.InterestClamp)
	r.Uncapped = r.AvgPremium + r.Adjustment
	r.Rate = clamp(r.Uncapped, -capRate, capRate)
	r.Capped = r.Rate != r.Uncapped
	return r
}

// Sample is one premium sample with its inputs.
type Sample struct {
	Time      int64
	Index     fixed.Price
	ImpactBid fixed.Price
	HasBid    bool
	ImpactAsk fixed.Price
	HasAsk    bool
	Premium   Rate
}

// Sampler accumulates the premium samples of the current interval.
type Sampler struct {
	params     Params
	sum        Rate
	n          int
	lastPeriod int64
	has        bool
}

// NewSampler returns an empty sampler.
func NewSampler(p Params) (*Sampler, error) {
	if err := p.Validate(); err != nil {
		return nil, err
	}
	return &Sampler{params: p}, nil
}

// Params returns the funding rules.
func (s *Sampler) Params() Params { return s.params }

// SetParams replaces the rules; samples already taken are kept.
func (s *Sampler) SetParams(p Params) error {
	if err := p.Validate(); err != nil {
		return err
	}
	s.params = p
	return nil
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && (a < 0) != (b < 0) {
		q--
	}
	return q
}

// Sample takes one premium sample. At most one sample counts per
// SamplePeriod bucket (floor(now / SamplePeriod)): a second call in the same
// minute returns ok = false and changes nothing, so extra commands cannot
// weight a minute twice.
func (s *Sampler) Sample(now int64, impactBid fixed.Price, hasBid bool, impactAsk fixed.Price, hasAsk bool, index fixed.Price) (Sample, bool, error) {
	prem, err := Premium(impactBid, hasBid, impactAsk, hasAsk, index)
	if err != nil {
		return Sample{}, false, err
	}
	period := floorDiv(now, s.params.SamplePeriod)
	if s.has && period <= s.lastPeriod {
		return Sample{}, false, nil
	}
	s.lastPeriod, s.has = period, true
	s.sum += prem
	s.n++
	return Sample{Time: now, Index: index, ImpactBid: impactBid, HasBid: hasBid, ImpactAsk: impactAsk, HasAsk: hasAsk, Premium: prem}, true, nil
}

// Count returns the number of samples in the current interval.
func (s *Sampler) Count() int { return s.n }

// Predicted returns the rate the current samples would give now, without
// closing the interval (for display and the mark price).
func (s *Sampler) Predicted(capRate Rate) RateResult {
	return ComputeRate(s.params, s.sum, s.n, capRate)
}

// Close fixes the rate of the interval that ends now and starts a new one.
func (s *Sampler) Close(capRate Rate) RateResult {
	r := ComputeRate(s.params, s.sum, s.n, capRate)
	s.sum, s.n = 0, 0
	return r
}

// NextSettlement returns the first settlement time strictly after now.
// Settlements fall on multiples of the interval since the unix epoch, so an
// hourly interval settles on the UTC hour.
func NextSettlement(now, interval int64) int64 {
	return (floorDiv(now, interval) + 1) * interval
}

// SamplerState is the sampler's mutable state, for engine snapshots.
type SamplerState struct {
	Sum        Rate
	Samples    int
	LastPeriod int64
	HasPeriod  bool
}

// State returns the mutable state.
func (s *Sampler) State() SamplerState {
	return SamplerState{Sum: s.sum, Samples: s.n, LastPeriod: s.lastPeriod, HasPeriod: s.has}
}

// Restore replaces the mutable state.
func (s *Sampler) Restore(st SamplerState) error {
	if st.Samples < 0 {
		return ErrParams
	}
	s.sum, s.n, s.lastPeriod, s.has = st.Sum, st.Samples, st.LastPeriod, st.HasPeriod
	return nil
}
