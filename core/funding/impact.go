package funding

import "github.com/sampan-hk/sampan/core/fixed"

// Level is one price level of book depth: price in ticks, total quantity in
// lots. The engine converts its book's depth into these, best price first.
type Level struct {
	Price fixed.Price
	Qty   fixed.Qty
}

// Side says which side of the book an impact price walks.
type Side uint8

const (
	// Bid walks the bids (best = highest): the price a seller of the impact
	// notional would get.
	Bid Side = iota
	// Ask walks the asks (best = lowest): the price a buyer would pay.
	Ask
)

// ImpactPrice returns the average fill price, in ticks, of a market order of
// impactNotional (quote minor units) walking levels from the best price.
// ok is false when the levels hold less than the notional: a thin book has
// no impact price and its side contributes no premium.
//
// The last level is filled fractionally, so the average is exact before the
// final division: with Q lots taken whole and R money left for the last level
// at price p, avg = N × p / (k·Q·p + R), where k is the spec's money per lot
// per tick. The division rounds away from the book's middle — down for the
// bid, up for the ask — so rounding can only shrink a premium, never make
// one.
func ImpactPrice(spec *fixed.Spec, levels []Level, impactNotional fixed.Amount, side Side) (fixed.Price, bool, error) {
	if impactNotional <= 0 {
		return 0, false, ErrLevels
	}
	k := spec.NotionalPerLotTick()
	if k <= 0 {
		return 0, false, ErrLevels // spec not validated
	}
	remaining := impactNotional
	var whole fixed.Qty
	for i, lv := range levels {
		if lv.Price <= 0 || lv.Qty <= 0 {
			return 0, false, ErrLevels
		}
		if i > 0 {
			prev := levels[i-1].Price
			if (side == Bid && lv.Price >= prev) || (side == Ask && lv.Price <= prev) {
				return 0, false, ErrLevels
			}
		}
		n := spec.Notional(lv.Qty, lv.Price)
		if n < remaining {
			whole += lv.Qty
			remaining -= n
			continue
		}
		d := fixed.MustAdd(fixed.MustMul(fixed.MustMul(k, int64(whole)), int64(lv.Price)), int64(remaining))
		r := fixed.Floor
		if side == Ask {
			r = fixed.Ceil
		}
		return fixed.Price(fixed.MustMulDiv(int64(impactNotional), int64(lv.Price), d, r)), true, nil
	}
	return 0, false, nil
}
