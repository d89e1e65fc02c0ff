package liquidation

import (
	"errors"

	"github.com/sampan-hk/sampan/core/fixed"
	"github.com/sampan-hk/sampan/core/risk"
)

// Params are one market's liquidation parameters. Amounts are in the
// market's quote minor units; DefaultParams assumes 6 decimals (USD).
// The defaults follow dYdX v4's mainnet values (reference §1.5), with a
// 1% fee where dYdX caps at 1.5%.
type Params struct {
	// FeePpm is the liquidation fee on liquidated notional, paid to the
	// insurance fund; at most MaxFeePpm. It replaces the taker fee on
	// liquidation orders and never takes the client's equity below zero.
	FeePpm fixed.Ppm
	// PortionPpm and MinNotional bound one step on one position: at most
	// max(PortionPpm × |size|, MinNotional worth of lots) is closed per
	// call (the whole position when it is smaller).
	PortionPpm  fixed.Ppm
	MinNotional fixed.Amount
	// AccountNotional bounds the notional liquidated per account per call
	// (one engine Apply), MarketNotional per market per call.
	AccountNotional fixed.Amount
	MarketNotional  fixed.Amount
	// FundLoss bounds the insurance fund's loss (take-over below mark,
	// deficit cover) per account per call; beyond it the position goes to
	// ADL.
	FundLoss fixed.Amount
	// SpreadPpm (dYdX's SMMR) and AdjustPpm (BA) shape the fillable
	// price: how far from mark, in units of the position's MM, a
	// liquidation order may trade as the account's margin ratio worsens.
	SpreadPpm fixed.Ppm
	AdjustPpm fixed.Ppm
}

// MaxFeePpm is the ceiling on the liquidation fee (1.5%).
const MaxFeePpm fixed.Ppm = 15_000

const usd = 1_000_000

// DefaultParams are the defaults for a USD-settled market.
func DefaultParams() Params {
	return Params{FeePpm: 10_000, PortionPpm: 100_000, MinNotional: 1_000 * usd, AccountNotional: 100_000 * usd,
		MarketNotional: 1_000_000 * usd, FundLoss: 1_000_000 * usd, SpreadPpm: 1_500_000, AdjustPpm: 1_000_000}
}

// ErrParams reports invalid liquidation parameters.
var ErrParams = errors.New("liquidation: fee must be in [0, 1.5%], portion in (0, 100%], notionals and fund loss > 0, spread and adjustment ≥ 0")

// Validate checks the parameters.
func (p *Params) Validate() error {
	if p.FeePpm < 0 || p.FeePpm > MaxFeePpm || p.PortionPpm <= 0 || p.PortionPpm > fixed.PpmOne || p.MinNotional < 0 ||
		p.AccountNotional <= 0 || p.MarketNotional <= 0 || p.FundLoss <= 0 || p.SpreadPpm < 0 || p.AdjustPpm < 0 {
		return ErrParams
	}
	return nil
}

// BankruptcyPrice is the price at which closing the whole position leaves
// the account's equity at exactly zero, every other position held at its
// mark: rest + size × P × K − cost = 0, where rest is the collateral plus
// the other positions' unrealized PnL. It is rounded so that closing at it
// never leaves the client below zero (up for a long, which sells; down for
// a short, which buys). A result ≤ 0 is returned as 0: for a long, any
// price keeps the account solvent; for a short, no price does (its other
// positions and collateral are already below zero).
//
// Closing only a fraction f of the position at P leaves equity
// (1 − f) × (equity at mark), so the remaining position keeps the same
// bankruptcy price: every step of a liquidation can use it.
func BankruptcyPrice(size fixed.Qty, cost, rest fixed.Amount, k int64) fixed.Price {
	if size == 0 {
		return 0
	}
	q := int64(size)
	num := int64(cost) - int64(rest)
	r := fixed.Ceil
	if q < 0 {
		q, num, r = -q, -num, fixed.Floor
	}
	if num <= 0 {
		return 0
	}
	return fixed.Price(fixed.MustMulDiv(num, 1, fixed.MustMul(q, k), r))
}

// FillablePrice is the worst price a liquidation order may trade at, after
// dYdX's GetFillablePrice: with ABR = clamp(Adjust × (1 − equity/MM), 0, 1),
// the order may go ABR × Spread × (the position's MM) away from the mark,
// per unit of the position. A barely under-margined account is closed near
// the mark; one at zero equity may go Spread × MM away. The caller also
// bounds it by the bankruptcy price. The offset is rounded down (toward
// the mark: the client's side).
func FillablePrice(p *Params, mark fixed.Price, size fixed.Qty, posMM, equity, totalMM fixed.Amount, k int64) fixed.Price {
	if size == 0 || totalMM <= 0 {
		return mark
	}
	q := int64(size)
	if q < 0 {
		q = -q
	}
	// abr (ppm) = Adjust × (MM − equity) / MM, clamped to [0, 1e6].
	deficit := int64(totalMM) - int64(equity)
	abr := int64(0)
	if deficit > 0 {
		if deficit >= int64(totalMM) {
			abr = int64(p.AdjustPpm)
		} else {
			abr = fixed.MustMulDiv(int64(p.AdjustPpm), deficit, int64(totalMM), fixed.Floor)
		}
	}
	abr = min(abr, int64(fixed.PpmOne))
	off := fixed.MustMulDiv(int64(posMM), int64(p.SpreadPpm), int64(fixed.PpmOne), fixed.Floor)
	off = fixed.MustMulDiv(off, abr, int64(fixed.PpmOne), fixed.Floor)
	offPx := fixed.Price(fixed.MustMulDiv(off, 1, fixed.MustMul(q, k), fixed.Floor))
	if size > 0 {
		return max(mark-offPx, 1)
	}
	return mark + offPx
}

// StepQty is how many lots of a position of |size| lots to close in one
// step at mark: down to the next lower tier's cap when the position is
// above the first tier (one tier per step, as CEXs step down risk
// limits), otherwise the whole position; never more than the per-position
// cap max(Portion × |size|, MinNotional); and within budget (notional
// still allowed this call for the account and the market). At least one
// lot when anything is allowed.
func StepQty(p *Params, bs risk.Brackets, absSize fixed.Qty, mark fixed.Price, k int64, budget fixed.Amount) fixed.Qty {
	if absSize <= 0 || budget <= 0 || mark <= 0 {
		return 0
	}
	perLot := fixed.MustMul(int64(mark), k) // notional of one lot at mark
	q := absSize
	n := fixed.Amount(fixed.MustMul(int64(absSize), perLot))
	if t := bs.Tier(n); t > 0 {
		keep := fixed.Qty(int64(bs[min(t, len(bs))-1].Cap) / perLot)
		if keep < absSize {
			q = absSize - keep
		}
	}
	capQ := fixed.Qty(fixed.MustMulDiv(int64(absSize), int64(p.PortionPpm), int64(fixed.PpmOne), fixed.Ceil))
	capQ = max(capQ, fixed.Qty(fixed.MustMulDiv(int64(p.MinNotional), 1, perLot, fixed.Ceil)))
	q = min(q, capQ, max(fixed.Qty(int64(budget)/perLot), 1))
	return max(q, 1)
}

// Fee is the liquidation fee on a liquidated notional: FeePpm of it,
// rounded down, capped (as dYdX does) at the surplus of the fills over the
// bankruptcy price (what the client keeps above zero on the closed part),
// and at the client's equity after the fills, so the fee alone never takes
// an account below zero.
func Fee(p *Params, notional, surplus, equityAfter fixed.Amount) fixed.Amount {
	f := fixed.MustApplyRate(notional, p.FeePpm, fixed.Floor)
	return max(min(f, surplus, equityAfter), 0)
}

// Score is a position's ADL rank (docs/methodology.md, "ADL ranking"),
// BitMEX's formula in parts per million:
//
//	PnL%     = unrealized / |entry notional|
//	leverage = notional at mark / account equity   (cross margin)
//	score    = PnL% × leverage   when PnL% ≥ 0
//	         = PnL% / leverage   when PnL% < 0
//
// Higher scores are deleveraged first: profitable, highly leveraged
// positions lead; losing ones follow, the least leveraged losers last.
// Equity ≤ 0 counts as the smallest positive unit (the highest leverage).
// Intermediate products saturate at ±2^62 instead of overflowing.
func Score(unrealized, cost, notional, equity fixed.Amount) int64 {
	c := int64(cost)
	if c < 0 {
		c = -c
	}
	if c == 0 {
		return 0
	}
	pnl := satMulDiv(int64(unrealized), int64(fixed.PpmOne), c)
	lev := satMulDiv(int64(notional), int64(fixed.PpmOne), max(int64(equity), 1))
	if lev <= 0 {
		lev = 1
	}
	if pnl >= 0 {
		return satMulDiv(pnl, lev, int64(fixed.PpmOne))
	}
	return satMulDiv(pnl, int64(fixed.PpmOne), lev)
}

const sat = int64(1) << 62

func satMulDiv(a, b, d int64) int64 {
	v, err := fixed.MulDiv(a, b, d, fixed.Floor)
	if err != nil {
		if (a < 0) != (b < 0) {
			return -sat
		}
		return sat
	}
	return max(min(v, sat), -sat)
}

// Quantile is the ADL queue quantile (1–5) of the position ranked r
// (0 = first to be deleveraged) among n positions on its side: 5 for the
// first fifth of the queue, 1 for the last.
func Quantile(r, n int) uint8 {
	if n <= 0 || r < 0 || r >= n {
		return 0
	}
	return uint8(5 - r*5/n)
}
