package risk

import (
	"math/bits"

	"github.com/sampan-hk/sampan/core/fixed"
)

// Params are the per-market inputs of the margin arithmetic.
type Params struct {
	K        int64 // notional of one lot at one tick, in minor units (Spec.NotionalPerLotTick)
	Brackets Brackets
	TakerFee fixed.Ppm // worst-case fee reserved on open orders
}

// Notional is |size| × price × K, always ≥ 0 (price ≥ 0). It is on the
// hot path of every margin check, so it multiplies with math/bits directly
// instead of through the general 128-bit MulDiv; overflow is a bug (limits
// keep notionals far below 2^63) and panics.
func (p *Params) Notional(size fixed.Qty, price fixed.Price) fixed.Amount {
	if size < 0 {
		size = -size
	}
	hi, lo := bits.Mul64(uint64(size), uint64(price))
	if hi == 0 && price >= 0 {
		hi, lo = bits.Mul64(lo, uint64(p.K))
		if hi == 0 && lo < 1<<63 {
			return fixed.Amount(lo)
		}
	}
	panic("risk: notional overflow")
}

// ratePpm is amount × rate / 1e6 rounded up, for amount ≥ 0 and rate ≥ 0
// (requirements and fees). The common case divides by a constant, which
// the compiler turns into a multiplication; the rest falls back to MulDiv.
func ratePpm(amount fixed.Amount, rate fixed.Ppm) fixed.Amount {
	if amount >= 0 && rate >= 0 {
		hi, lo := bits.Mul64(uint64(amount), uint64(rate))
		if hi == 0 && lo < 1<<63 {
			q := lo / 1_000_000
			if q*1_000_000 != lo {
				q++
			}
			return fixed.Amount(q)
		}
	}
	return fixed.MustApplyRate(amount, rate, fixed.Ceil)
}

// Line is one account's state in one market: its net position and the
// aggregates of its resting orders that the worst-case margin rule needs.
// Keeping these aggregates incrementally is what makes the pre-trade check
// O(markets of the account) instead of a scan of the book.
type Line struct {
	Size     fixed.Qty    // signed: > 0 long, < 0 short
	Cost     fixed.Amount // signed entry notional of Size; 0 iff Size == 0
	Realized fixed.Amount // cumulative realized PnL (fees excluded), for queries
	Leverage int64        // the client's setting for this market

	// Resting orders: quantity and Σ qty × price × K per side, plus the part
	// of the quantity flagged reduce-only.
	BuyQty, SellQty             fixed.Qty
	BuyNotional, SellNotional   fixed.Amount
	ReduceBuyQty, ReduceSellQty fixed.Qty
	Orders                      int32
}

// Side is +1 for buys and −1 for sells.
type Side int8

// AddOrder adds (sign +1) or removes (sign −1) a resting quantity at a price
// from the aggregates.
func (l *Line) AddOrder(p *Params, buy, reduceOnly bool, price fixed.Price, qty fixed.Qty, sign int) {
	n := p.Notional(qty, price)
	if sign < 0 {
		n, qty = -n, -qty
	}
	if buy {
		l.BuyQty += qty
		l.BuyNotional += n
		if reduceOnly {
			l.ReduceBuyQty += qty
		}
	} else {
		l.SellQty += qty
		l.SellNotional += n
		if reduceOnly {
			l.ReduceSellQty += qty
		}
	}
	if l.BuyQty < 0 || l.SellQty < 0 || l.BuyNotional < 0 || l.SellNotional < 0 || l.ReduceBuyQty < 0 || l.ReduceSellQty < 0 {
		panic("risk: open-order aggregates went negative")
	}
}

// Fill applies a trade of q lots (signed: > 0 bought) at price px and
// returns the realized PnL. Closing a fraction of a position removes the
// same fraction of its cost, rounded up (Ceil), which keeps realized PnL on
// the exchange's side of a rounding; a full close removes the exact cost,
// so nothing is lost over the life of a position.
func (l *Line) Fill(p *Params, q fixed.Qty, px fixed.Price) fixed.Amount {
	if q == 0 {
		return 0
	}
	var realized fixed.Amount
	if l.Size != 0 && (l.Size > 0) != (q > 0) {
		closeQ := -q
		if abs(closeQ) > abs(l.Size) {
			closeQ = l.Size
		}
		// closeQ has Size's sign and |closeQ| ≤ |Size|.
		removed := fixed.Amount(fixed.MustMulDiv(int64(l.Cost), int64(abs(closeQ)), int64(abs(l.Size)), fixed.Ceil))
		if closeQ == l.Size {
			removed = l.Cost
		}
		// Proceeds of closing closeQ at px, signed like the position.
		proceeds := p.Notional(closeQ, px)
		if closeQ < 0 {
			proceeds = -proceeds
		}
		realized = proceeds - removed
		l.Cost -= removed
		l.Size -= closeQ
		q += closeQ // what is left of the trade opens in the other direction
	}
	if q != 0 {
		n := p.Notional(q, px)
		if q < 0 {
			n = -n
		}
		l.Size += q
		l.Cost += n
	}
	l.Realized += realized
	return realized
}

// Unrealized is Size × mark × K − Cost.
func (l *Line) Unrealized(p *Params, mark fixed.Price) fixed.Amount {
	if l.Size == 0 {
		return 0
	}
	v := p.Notional(l.Size, mark)
	if l.Size < 0 {
		v = -v
	}
	return v - l.Cost
}

// Figures are one line's margin numbers at a mark price.
type Figures struct {
	Notional   fixed.Amount // |Size| × mark
	Unrealized fixed.Amount
	IM         fixed.Amount // initial margin of the position alone
	MM         fixed.Amount
	// Required is the initial margin counting every resting order at its
	// worst case (see WorstCase); Required ≥ IM.
	Required fixed.Amount
	// OverLimit is set when a worst case exceeds the last bracket's cap.
	OverLimitBuy, OverLimitSell bool
}

// Compute returns the line's figures at mark.
func (l *Line) Compute(p *Params, mark fixed.Price) Figures {
	var f Figures
	f.Notional = p.Notional(l.Size, mark)
	f.Unrealized = l.Unrealized(p, mark)
	f.IM = p.Brackets.IM(f.Notional, l.Leverage)
	f.MM = p.Brackets.MM(f.Notional)
	f.Required, f.OverLimitBuy, f.OverLimitSell = l.WorstCase(p, mark)
	return f
}

// WorstCase is the margin rule for open orders. Per market, two scenarios:
// every resting buy fills, or every resting sell fills. In each, the
// requirement is the IM of the resulting position valued at mark, plus the
// loss of filling that side at its order prices instead of mark (only if
// it is a loss, netted across the side), plus the taker fee on the side's
// order notional. The line requires the larger of the two. With no orders
// both scenarios give the position's own IM.
//
// Why this rule: it bounds the requirement of "all of one side fills", it
// depends only on sums that are kept incrementally (quantity and notional
// per side), and an order that reduces the position is charged only its
// own open loss and fee, since the resulting position is smaller. Losses
// are netted across a side (a buy below mark offsets one above), which is
// exact when the whole side fills; partial fills of only the worse orders
// are not separately bounded.
func (l *Line) WorstCase(p *Params, mark fixed.Price) (req fixed.Amount, overBuy, overSell bool) {
	long := p.Notional(l.Size+l.BuyQty, mark)
	short := p.Notional(l.Size-l.SellQty, mark)
	limit := p.Brackets.Limit()
	overBuy, overSell = long > limit, short > limit
	reqL := p.Brackets.IM(long, l.Leverage)
	if l.BuyQty > 0 {
		if loss := l.BuyNotional - p.Notional(l.BuyQty, mark); loss > 0 {
			reqL += loss
		}
		reqL += ratePpm(l.BuyNotional, p.TakerFee)
	}
	reqS := p.Brackets.IM(short, l.Leverage)
	if l.SellQty > 0 {
		if loss := p.Notional(l.SellQty, mark) - l.SellNotional; loss > 0 {
			reqS += loss
		}
		reqS += ratePpm(l.SellNotional, p.TakerFee)
	}
	if reqS > reqL {
		return reqS, overBuy, overSell
	}
	return reqL, overBuy, overSell
}

func abs(q fixed.Qty) fixed.Qty {
	if q < 0 {
		return -q
	}
	return q
}
