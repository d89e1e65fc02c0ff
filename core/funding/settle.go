package funding

import "github.com/sampan-hk/sampan/core/fixed"

// Position is one account's position in the perpetual: Size in lots,
// positive long, negative short. Account is the engine's account id,
// carried through unchanged.
type Position struct {
	Account uint32
	Size    fixed.Qty
}

// Payment is one account's funding for an interval. Amount is signed from
// the account's view: negative pays, positive receives.
type Payment struct {
	Account  uint32
	Size     fixed.Qty
	Notional fixed.Amount // |Size| at the mark, quote minor units
	Amount   fixed.Amount
}

// Settlement is the result of one funding settlement. Invariant (checked
// before returning): Σ Payment.Amount + Residue = 0, with Residue ≥ 0.
type Settlement struct {
	Mark     fixed.Price
	Rate     Rate  // per 8 h
	Interval int64 // ns
	Payments []Payment
	Paid     fixed.Amount // total paid by payers (≥ 0)
	Received fixed.Amount // total received by receivers (≥ 0)
	// Residue = Paid − Received, credited to the rounding account.
	Residue fixed.Amount
}

func gcd(a, b int64) int64 {
	for b != 0 {
		a, b = b, a%b
	}
	return a
}

// Settle computes the payments of one interval: each position pays or
// receives |size| × mark × rate × interval / 8 h. A positive rate makes longs
// pay and shorts receive; a negative rate the reverse.
//
// Rounding keeps it zero-sum without inventing money: payers' amounts round
// up, receivers' round down, and the difference (never negative, at most one
// minor unit per position) is the Residue for the rounding account.
// Positions of size 0 get a zero payment. Long and short open interest must
// be equal (an engine invariant); otherwise ErrUnbalanced and nothing is
// computed, because receivers could then be owed more than payers pay.
func Settle(spec *fixed.Spec, positions []Position, mark fixed.Price, rate Rate, interval int64) (Settlement, error) {
	if mark <= 0 {
		return Settlement{}, ErrIndex
	}
	if interval <= 0 || interval > MaxInterval || interval%second != 0 {
		return Settlement{}, ErrParams
	}
	var long, short fixed.Qty
	for _, p := range positions {
		if p.Size > 0 {
			long = fixed.Qty(fixed.MustAdd(int64(long), int64(p.Size)))
		} else {
			short = fixed.Qty(fixed.MustSub(int64(short), int64(p.Size)))
		}
	}
	if long != short {
		return Settlement{}, ErrUnbalanced
	}
	// amount = notional × rate × interval / (8 h × 10^9). Reduce
	// interval / 8 h first so the divisor fits in int64: both are whole
	// seconds, so den ≤ 28,800 and den × 10^9 < 2^63.
	g := gcd(interval/second, EightHours/second)
	num, den := interval/second/g, EightHours/second/g
	scaled := fixed.MustMul(int64(rate), num)
	div := fixed.MustMul(den, int64(RateOne))

	s := Settlement{Mark: mark, Rate: rate, Interval: interval, Payments: make([]Payment, len(positions))}
	for i, p := range positions {
		q := p.Size
		if q < 0 {
			q = -q
		}
		n := spec.Notional(q, mark)
		pay := Payment{Account: p.Account, Size: p.Size, Notional: n}
		// A long with a positive rate (or a short with a negative one) pays.
		payer := (p.Size > 0) == (rate > 0)
		mag := scaled
		if mag < 0 {
			mag = -mag
		}
		if p.Size != 0 && rate != 0 {
			if payer {
				a := fixed.Amount(fixed.MustMulDiv(int64(n), mag, div, fixed.Ceil))
				pay.Amount = -a
				s.Paid += a
			} else {
				a := fixed.Amount(fixed.MustMulDiv(int64(n), mag, div, fixed.Floor))
				pay.Amount = a
				s.Received += a
			}
		}
		s.Payments[i] = pay
	}
	s.Residue = s.Paid - s.Received
	var sum fixed.Amount
	for _, p := range s.Payments {
		sum += p.Amount
	}
	if s.Residue < 0 || sum+s.Residue != 0 {
		// Equal open interest makes Σ ceil(payer) ≥ Σ floor(receiver); a
		// failure here is a bug in this function, not an input problem.
		panic("funding: settlement is not zero-sum")
	}
	return s, nil
}
