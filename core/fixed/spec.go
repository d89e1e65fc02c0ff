package fixed

import "errors"

// Step is a decimal step size such as a tick ("0.1") or a lot ("0.001"):
// Units × 10^-Scale.
type Step struct {
	Units int64
	Scale int
}

// ParseStep parses a positive step such as "0.1" at its natural scale.
func ParseStep(s string) (Step, error) {
	scale := 0
	for i := 0; i < len(s); i++ {
		if s[i] == '.' {
			scale = len(s) - i - 1
		}
	}
	if scale > 18 {
		return Step{}, ErrTooManyDecimals
	}
	u, err := ParseDecimal(s, scale)
	if err != nil {
		return Step{}, err
	}
	if u <= 0 {
		return Step{}, ErrNotPositive
	}
	return Step{Units: u, Scale: scale}, nil
}

// String renders the step as a plain decimal.
func (s Step) String() string { return FormatDecimal(s.Units, s.Scale) }

// Spec describes how an instrument's integer units map to decimal prices,
// quantities and money. It is data (a governed parameter), never a constant
// in code.
//
// Invariant (checked by Validate): one lot at one tick is a whole number of
// quote minor units, so notional = qty × price × NotionalPerLotTick is exact.
type Spec struct {
	Tick          Step  // price step, e.g. 0.1 USD
	Lot           Step  // quantity step, e.g. 0.001 BTC
	Multiplier    int64 // contract multiplier in base units per contract (1 for linear BTC/ETH)
	QuoteDecimals int   // minor units of the settlement asset, e.g. 6 for micro-USD
	BaseDecimals  int   // minor units of the base asset for spot settlement, e.g. 8 for satoshi
	MaxPrice      Price // highest price in ticks an order may carry
	MaxQty        Qty   // largest order quantity in lots

	notionalPerLotTick int64
	baseUnitsPerLot    int64
}

// Spec validation errors.
var (
	ErrSpecInexact = errors.New("spec: one lot at one tick is not a whole number of quote minor units")
	ErrSpecLimits  = errors.New("spec: max price and max quantity must be positive and their product must fit in int64 money")
	ErrSpecScale   = errors.New("spec: tick, lot, quote and base decimals must each be between 0 and 18")
)

// Validate checks the spec and precomputes its conversion factors. A spec
// must be validated before use.
func (s *Spec) Validate() error {
	if s.Tick.Units <= 0 || s.Lot.Units <= 0 || s.Multiplier <= 0 {
		return ErrNotPositive
	}
	// Every scale feeds ParseDecimal/FormatDecimal, whose scale is 0..18;
	// an unchecked scale here would panic later on client input.
	for _, sc := range [...]int{s.Tick.Scale, s.Lot.Scale, s.QuoteDecimals, s.BaseDecimals} {
		if sc < 0 || sc > 18 {
			return ErrSpecScale
		}
	}
	exp := s.QuoteDecimals - s.Tick.Scale - s.Lot.Scale
	// tick × lot in units is checked: huge step units would otherwise wrap
	// silently into a wrong (even negative) notional factor.
	tl, err := Mul(s.Tick.Units, s.Lot.Units)
	if err != nil {
		return err
	}
	k, err := scaled(tl, exp)
	if err != nil {
		return err
	}
	k, err = Mul(k, s.Multiplier)
	if err != nil {
		return err
	}
	b, err := scaled(s.Lot.Units, s.BaseDecimals-s.Lot.Scale)
	if err != nil {
		return err
	}
	b, err = Mul(b, s.Multiplier)
	if err != nil {
		return err
	}
	if s.MaxPrice <= 0 || s.MaxQty <= 0 {
		return ErrSpecLimits
	}
	// Leave headroom (2^62) so sums of a few notionals cannot overflow either.
	if v, err := MulDiv(int64(s.MaxPrice), int64(s.MaxQty), 1, Floor); err != nil || v > (1<<62)/k {
		return ErrSpecLimits
	}
	s.notionalPerLotTick = k
	s.baseUnitsPerLot = b
	return nil
}

// scaled returns v × 10^exp, requiring an exact integer result.
func scaled(v int64, exp int) (int64, error) {
	if exp >= 0 {
		if exp > 18 {
			return 0, ErrOverflow
		}
		return Mul(v, Pow10(exp))
	}
	if -exp > 18 {
		return 0, ErrSpecInexact
	}
	d := Pow10(-exp)
	if v%d != 0 {
		return 0, ErrSpecInexact
	}
	return v / d, nil
}

// NotionalPerLotTick is the value, in quote minor units, of one lot at a
// price of one tick.
func (s *Spec) NotionalPerLotTick() int64 { return s.notionalPerLotTick }

// BaseUnitsPerLot is the base asset's minor units in one lot.
func (s *Spec) BaseUnitsPerLot() int64 { return s.baseUnitsPerLot }

// Notional returns qty × price in quote minor units. Validate guarantees
// that it cannot overflow for in-range prices and quantities, so overflow
// here is a bug and panics.
func (s *Spec) Notional(q Qty, p Price) Amount {
	v := MustMul(MustMul(int64(q), int64(p)), s.notionalPerLotTick)
	return Amount(v)
}

// PriceFromAmount converts a per-lot quote amount to ticks, rounding r.
// It is used to turn money thresholds (bankruptcy, liquidation) into prices.
func (s *Spec) PriceFromAmount(perLot Amount, r Rounding) Price {
	return Price(MustMulDiv(int64(perLot), 1, s.notionalPerLotTick, r))
}

// ParsePrice parses a decimal price that must lie on the tick and within
// (0, MaxPrice]. Errors: ErrSyntax, ErrOffStep (including more decimals
// than the tick has), ErrNotPositive, ErrRange.
func (s *Spec) ParsePrice(txt string) (Price, error) {
	v, err := parseSteps(txt, s.Tick, int64(s.MaxPrice))
	return Price(v), err
}

// ParseQty parses a decimal quantity that must lie on the lot and within
// (0, MaxQty]. Errors as for ParsePrice.
func (s *Spec) ParseQty(txt string) (Qty, error) {
	v, err := parseSteps(txt, s.Lot, int64(s.MaxQty))
	return Qty(v), err
}

// parseSteps parses txt as a whole, positive number of steps, at most max.
func parseSteps(txt string, step Step, max int64) (int64, error) {
	v, err := ParseDecimal(txt, step.Scale)
	if errors.Is(err, ErrTooManyDecimals) {
		// More decimals than the step has cannot be a multiple of it:
		// report it as off-step, like any other value between steps.
		return 0, ErrOffStep
	}
	if err != nil {
		return 0, err
	}
	if v <= 0 {
		return 0, ErrNotPositive
	}
	if v%step.Units != 0 {
		return 0, ErrOffStep
	}
	if n := v / step.Units; n <= max {
		return n, nil
	}
	return 0, ErrRange
}

// FormatPrice renders a price in ticks as a decimal string ("65000.5"),
// trailing zeros trimmed.
func (s *Spec) FormatPrice(p Price) string {
	return TrimDecimal(FormatDecimal(MustMul(int64(p), s.Tick.Units), s.Tick.Scale))
}

// FormatQty renders a quantity in lots as a decimal string.
func (s *Spec) FormatQty(q Qty) string {
	return TrimDecimal(FormatDecimal(MustMul(int64(q), s.Lot.Units), s.Lot.Scale))
}

// FormatAmount renders quote minor units as a decimal string.
func (s *Spec) FormatAmount(a Amount) string {
	return TrimDecimal(FormatDecimal(int64(a), s.QuoteDecimals))
}
