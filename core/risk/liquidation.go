package risk

import (
	"math/bits"

	"github.com/sampan-hk/sampan/core/fixed"
)

// LiquidationPrice is the mark price of one market at which a cross-margin
// account's equity equals its maintenance margin, with every other market
// held at its current mark. An account is liquidatable when equity < MM, so
// a long is liquidated at marks below the returned price and a short above.
//
// Inputs: the line (size, cost); rest = collateral + unrealized PnL of the
// account's other positions; restMM = their maintenance margin.
//
// Derivation (n = |size| × P × K is the position's notional at price P;
// tier t has rate r and amount A; rates are per million):
//
//	long:  rest + n − cost = restMM + n·r − A  ⇒  n = (restMM − A + cost − rest) / (1 − r)
//	short: rest − n − cost = restMM + n·r − A  ⇒  n = (rest − cost + A − restMM) / (1 + r)
//
// MM is the maximum of the tiers' lines (rates rise, amounts keep it
// continuous), so each tier's line lies on or below MM; it follows that the
// tier holding the solution is the first whose candidate n is within its
// cap (the last tier past the limit). The price is rounded toward the
// current side of the mark (up for a long, down for a short) so the warning
// is never late. ok is false when no positive price solves it: a long that
// survives any price, or a short already liquidatable at every price.
func LiquidationPrice(p *Params, l *Line, rest, restMM fixed.Amount) (price fixed.Price, ok bool) {
	if l.Size == 0 {
		return 0, false
	}
	q := int64(abs(l.Size))
	bs := p.Brackets
	for t := range bs {
		b := &bs[t]
		var num, den int64
		if l.Size > 0 {
			num = int64(restMM) - int64(b.MaintAmount) + int64(l.Cost) - int64(rest)
			den = int64(fixed.PpmOne - b.MMR)
		} else {
			num = int64(rest) - int64(l.Cost) + int64(b.MaintAmount) - int64(restMM)
			den = int64(fixed.PpmOne + b.MMR)
		}
		if num <= 0 {
			return 0, false
		}
		// price = num × 1e6 / (den × q × K), computed in 128 bits.
		r := fixed.Ceil
		if l.Size < 0 {
			r = fixed.Floor
		}
		n := fixed.MustMulDiv(num, int64(fixed.PpmOne), den, fixed.Floor)
		if fixed.Amount(n) <= b.Cap || t == len(bs)-1 {
			px, overflow := divRound128(num, int64(fixed.PpmOne), den, q, p.K, r)
			if overflow || px <= 0 {
				return 0, false
			}
			return fixed.Price(px), true
		}
	}
	return 0, false
}

// divRound128 returns a×b / (c×d×e) rounded r, all operands positive, with
// 128-bit numerator and denominator. overflow reports a quotient ≥ 2^63.
func divRound128(a, b, c, d, e int64, r fixed.Rounding) (int64, bool) {
	nh, nl := bits.Mul64(uint64(a), uint64(b))
	dh, dl := bits.Mul64(uint64(c), uint64(d))
	if dh != 0 {
		// Denominator beyond 64 bits cannot happen for valid specs
		// (|size| × K × 1e6 < 2^64); report no price rather than guess.
		return 0, true
	}
	dh, dl = bits.Mul64(dl, uint64(e))
	if dh != 0 {
		return 0, true
	}
	if nh >= dl {
		return 0, true
	}
	qt, rem := bits.Div64(nh, nl, dl)
	if rem != 0 && r == fixed.Ceil {
		qt++
	}
	if qt >= 1<<63 {
		return 0, true
	}
	return int64(qt), false
}
