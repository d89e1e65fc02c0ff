// Package risk holds the margin arithmetic of linear perpetuals: tiered
// brackets, one net position per account and market, the worst-case margin
// of open orders, and the exact cross-margin liquidation price.
//
// Money is in minor units of the settlement asset (micro-USD), prices in
// ticks and sizes in lots; the instrument's NotionalPerLotTick (k) turns
// lots × ticks into money exactly. Requirements round up (Ceil), so the
// exchange never under-reserves.
//
// Invariants:
//   - brackets have strictly increasing caps and non-decreasing MM rates, and
//     the maintenance amounts make MM continuous at every cap
//     (Brackets.Validate);
//   - in every tier the initial-margin rate 1/MaxLeverage is at least the
//     MM rate, so IM ≥ MM for every position;
//   - a Line's Cost is the exact signed entry notional of its Size: it is
//     zero iff Size is zero, and the realized PnL summed over a position's
//     life is exact (rounding only moves value between the realized part and
//     the remaining cost, never out of the system).
package risk

import (
	"errors"

	"github.com/sampan-hk/sampan/core/fixed"
)

// Bracket is one tier of position notional. A position whose notional is at
// most Cap (and above the previous tier's Cap) uses this tier's rates.
type Bracket struct {
	Cap         fixed.Amount // upper bound of notional, inclusive
	MaxLeverage int64        // whole multiples; IM rate is 1/leverage
	MMR         fixed.Ppm    // maintenance margin rate
	MaintAmount fixed.Amount // subtracted from notional × MMR (Binance "cum")
}

// Brackets are a market's tiers, lowest notional first.
type Brackets []Bracket

// Bracket validation errors.
var (
	ErrBracketsEmpty      = errors.New("risk: no brackets")
	ErrBracketsOrder      = errors.New("risk: bracket caps must increase and MM rates must not decrease")
	ErrBracketsLeverage   = errors.New("risk: bracket max leverage must be positive, not increase, and keep 1/leverage ≥ MM rate")
	ErrBracketsDiscontinu = errors.New("risk: maintenance amounts do not make MM continuous")
)

// WithContinuousAmounts returns a copy with every MaintAmount set so that MM
// is continuous at each cap: amount[i] = amount[i−1] + cap[i−1] × (rate[i] −
// rate[i−1]). Caps are expected to be whole enough that the products are
// exact; Validate rejects them otherwise.
func (bs Brackets) WithContinuousAmounts() Brackets {
	out := append(Brackets(nil), bs...)
	for i := range out {
		if i == 0 {
			out[i].MaintAmount = 0
			continue
		}
		step := fixed.MustMulDiv(int64(out[i-1].Cap), int64(out[i].MMR-out[i-1].MMR), int64(fixed.PpmOne), fixed.Floor)
		out[i].MaintAmount = out[i-1].MaintAmount + fixed.Amount(step)
	}
	return out
}

// Validate checks the invariants listed in the package doc.
func (bs Brackets) Validate() error {
	if len(bs) == 0 {
		return ErrBracketsEmpty
	}
	for i, b := range bs {
		if b.Cap <= 0 || b.MMR < 0 || b.MMR >= fixed.PpmOne || b.MaintAmount < 0 {
			return ErrBracketsOrder
		}
		if b.MaxLeverage <= 0 || int64(fixed.PpmOne)/b.MaxLeverage < int64(b.MMR) {
			return ErrBracketsLeverage
		}
		if i == 0 {
			if b.MaintAmount != 0 {
				return ErrBracketsDiscontinu
			}
			continue
		}
		p := bs[i-1]
		if b.Cap <= p.Cap || b.MMR < p.MMR {
			return ErrBracketsOrder
		}
		if b.MaxLeverage > p.MaxLeverage {
			return ErrBracketsLeverage
		}
		// Continuity at the previous cap: both tiers give the same MM there,
		// exactly (no rounding allowed).
		lo, err1 := fixed.MulDiv(int64(p.Cap), int64(b.MMR-p.MMR), int64(fixed.PpmOne), fixed.Floor)
		hi, err2 := fixed.MulDiv(int64(p.Cap), int64(b.MMR-p.MMR), int64(fixed.PpmOne), fixed.Ceil)
		if err1 != nil || err2 != nil || lo != hi || fixed.Amount(lo) != b.MaintAmount-p.MaintAmount {
			return ErrBracketsDiscontinu
		}
	}
	return nil
}

// Tier returns the index of the bracket holding notional n (n ≥ 0). A
// notional above the last cap returns len(bs): over the position limit.
func (bs Brackets) Tier(n fixed.Amount) int {
	for i := range bs {
		if n <= bs[i].Cap {
			return i
		}
	}
	return len(bs)
}

// Limit is the largest notional any position may reach (the last cap).
func (bs Brackets) Limit() fixed.Amount { return bs[len(bs)-1].Cap }

// MM is the maintenance margin of a position of notional n ≥ 0:
// ceil(n × MMR) − MaintAmount of its tier (the last tier beyond the limit).
func (bs Brackets) MM(n fixed.Amount) fixed.Amount {
	if n <= 0 {
		return 0
	}
	t := bs.Tier(n)
	if t == len(bs) {
		t--
	}
	b := &bs[t]
	mm := ratePpm(n, b.MMR) - b.MaintAmount
	if mm < 0 {
		return 0 // cannot happen with continuous amounts; kept as a floor
	}
	return mm
}

// EffectiveLeverage is min(setting, the tier's MaxLeverage) for notional n.
// The per-market leverage setting is an upper bound chosen by the client;
// larger positions fall into tiers that allow less.
func (bs Brackets) EffectiveLeverage(n fixed.Amount, setting int64) int64 {
	t := bs.Tier(n)
	if t == len(bs) {
		t--
	}
	if l := bs[t].MaxLeverage; l < setting {
		return l
	}
	return setting
}

// IM is the initial margin of notional n ≥ 0 at a leverage setting:
// ceil(n / effective leverage).
func (bs Brackets) IM(n fixed.Amount, setting int64) fixed.Amount {
	if n <= 0 {
		return 0
	}
	lev := fixed.Amount(bs.EffectiveLeverage(n, setting))
	q := n / lev
	if q*lev != n {
		q++ // requirements round up
	}
	return q
}
