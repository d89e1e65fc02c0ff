// Package fixed holds Sampan's integer fixed-point units and the checked
// arithmetic every money path uses.
//
// Nothing in a balance, price, quantity, margin or rate is ever a float. Prices
// are counted in ticks, quantities in lots, money in an asset's minor units and
// rates in parts per million. Products go through 128-bit intermediates
// (math/bits), and every division names its rounding direction: requirements
// round up (Ceil), payouts round down (Floor), and whoever divides books the
// residue somewhere named so sums stay exact.
//
// Overflow is an error at the edge (the Checked functions) and a panic inside
// the core (the Must functions): a core computation that overflows means a
// limit was not enforced upstream, which is a bug, not a business outcome.
package fixed

import (
	"errors"
	"math"
	"math/bits"
)

// Price is a price counted in ticks of one instrument.
type Price int64

// Qty is a quantity counted in lots of one instrument.
type Qty int64

// Amount is money counted in minor units of one asset (micro-USD for USD).
type Amount int64

// Ppm is a rate in parts per million: 1% is 10_000 ppm. Rates may be
// negative (funding).
type Ppm int64

// PpmOne is a rate of 100%.
const PpmOne Ppm = 1_000_000

// Rounding names the direction of a division. There is deliberately no
// "nearest": every rounding in Sampan favours a stated party.
type Rounding uint8

const (
	// Floor rounds toward negative infinity (payouts, credited amounts).
	Floor Rounding = iota
	// Ceil rounds toward positive infinity (requirements, charged amounts).
	Ceil
)

// ErrOverflow is returned when a result does not fit in int64.
var ErrOverflow = errors.New("fixed: arithmetic overflow")

// ErrDivByZero is returned for a zero divisor.
var ErrDivByZero = errors.New("fixed: division by zero")

func abs64(v int64) (uint64, bool) {
	if v < 0 {
		return uint64(-v), true // -MinInt64 wraps to 1<<63, which is right as uint64
	}
	return uint64(v), false
}

// MulDiv returns a×b/d rounded in direction r, computed exactly through a
// 128-bit intermediate. It fails only when d is zero or the quotient does
// not fit in int64.
func MulDiv(a, b, d int64, r Rounding) (int64, error) {
	if r > Ceil {
		// An unnamed rounding would silently truncate; that is a bug in
		// the caller, not an input error.
		panic("fixed: MulDiv with invalid rounding")
	}
	if d == 0 {
		return 0, ErrDivByZero
	}
	ua, na := abs64(a)
	ub, nb := abs64(b)
	ud, nd := abs64(d)
	neg := na != nb
	if nd {
		neg = !neg
	}
	if ua == 0 || ub == 0 {
		return 0, nil
	}
	hi, lo := bits.Mul64(ua, ub)
	if hi >= ud {
		return 0, ErrOverflow
	}
	q, rem := bits.Div64(hi, lo, ud)
	// Round the magnitude: away from zero when the signed result should go
	// up (Ceil on a positive, Floor on a negative), else truncate.
	if rem != 0 && ((r == Ceil && !neg) || (r == Floor && neg)) {
		q++
		if q == 0 {
			return 0, ErrOverflow
		}
	}
	return fromMagnitude(q, neg)
}

func fromMagnitude(q uint64, neg bool) (int64, error) {
	if neg {
		if q > 1<<63 {
			return 0, ErrOverflow
		}
		return int64(-q), nil //nolint:gosec // -q as uint then int is the two's complement negation
	}
	if q > math.MaxInt64 {
		return 0, ErrOverflow
	}
	return int64(q), nil
}

// MustMulDiv is MulDiv for use inside the core, where overflow is a bug.
func MustMulDiv(a, b, d int64, r Rounding) int64 {
	v, err := MulDiv(a, b, d, r)
	if err != nil {
		panic(err)
	}
	return v
}

// Mul returns a×b or ErrOverflow.
func Mul(a, b int64) (int64, error) {
	return MulDiv(a, b, 1, Floor)
}

// MustMul is Mul that panics on overflow.
func MustMul(a, b int64) int64 {
	v, err := Mul(a, b)
	if err != nil {
		panic(err)
	}
	return v
}

// Add returns a+b or ErrOverflow.
func Add(a, b int64) (int64, error) {
	s := a + b
	// Overflow happened iff both operands have the same sign and the sum's
	// sign differs.
	if (a >= 0) == (b >= 0) && (s >= 0) != (a >= 0) {
		return 0, ErrOverflow
	}
	return s, nil
}

// MustAdd is Add that panics on overflow.
func MustAdd(a, b int64) int64 {
	v, err := Add(a, b)
	if err != nil {
		panic(err)
	}
	return v
}

// Sub returns a−b or ErrOverflow.
func Sub(a, b int64) (int64, error) {
	if b == math.MinInt64 {
		if a >= 0 {
			return 0, ErrOverflow
		}
		return a - b, nil
	}
	return Add(a, -b)
}

// MustSub is Sub that panics on overflow.
func MustSub(a, b int64) int64 {
	v, err := Sub(a, b)
	if err != nil {
		panic(err)
	}
	return v
}

// DivRound returns a/d rounded in direction r.
func DivRound(a, d int64, r Rounding) (int64, error) {
	return MulDiv(a, 1, d, r)
}

// ApplyRate returns amount × rate / 1e6 rounded in direction r: a fee, a
// margin requirement or a funding payment on an amount.
func ApplyRate(amount Amount, rate Ppm, r Rounding) (Amount, error) {
	v, err := MulDiv(int64(amount), int64(rate), int64(PpmOne), r)
	return Amount(v), err
}

// MustApplyRate is ApplyRate that panics on overflow.
func MustApplyRate(amount Amount, rate Ppm, r Rounding) Amount {
	v, err := ApplyRate(amount, rate, r)
	if err != nil {
		panic(err)
	}
	return v
}

// Pow10 returns 10^n for 0 ≤ n ≤ 18.
func Pow10(n int) int64 {
	if n < 0 || n > 18 {
		panic("fixed: Pow10 out of range")
	}
	v := int64(1)
	for i := 0; i < n; i++ {
		v *= 10
	}
	return v
}
