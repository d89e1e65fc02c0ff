package fixed_test

import (
	"errors"
	"testing"

	"github.com/sampan-hk/sampan/core/fixed"
)

func mustStep(t *testing.T, s string) fixed.Step {
	t.Helper()
	st, err := fixed.ParseStep(s)
	if err != nil {
		t.Fatalf("ParseStep(%q): %v", s, err)
	}
	return st
}

// btcPerp is BTC-USD-PERP: tick 0.1 USD, lot 0.001 BTC, linear, settled in
// micro-USD. Max price 1,000,000.0 USD; max order 1,000 BTC.
func btcPerp(t *testing.T) *fixed.Spec {
	t.Helper()
	s := &fixed.Spec{
		Tick:          mustStep(t, "0.1"),
		Lot:           mustStep(t, "0.001"),
		Multiplier:    1,
		QuoteDecimals: 6,
		BaseDecimals:  8,
		MaxPrice:      10_000_000,
		MaxQty:        1_000_000,
	}
	if err := s.Validate(); err != nil {
		t.Fatalf("BTC-USD-PERP Validate: %v", err)
	}
	return s
}

func TestParseStep(t *testing.T) {
	tests := []struct {
		in   string
		want fixed.Step
		err  error
	}{
		{"0.1", fixed.Step{Units: 1, Scale: 1}, nil},
		{"0.001", fixed.Step{Units: 1, Scale: 3}, nil},
		{"0.25", fixed.Step{Units: 25, Scale: 2}, nil},
		{"0.50", fixed.Step{Units: 50, Scale: 2}, nil}, // natural scale keeps the zero
		{"5", fixed.Step{Units: 5, Scale: 0}, nil},
		{"0.000000000000000001", fixed.Step{Units: 1, Scale: 18}, nil},
		{"0", fixed.Step{}, fixed.ErrNotPositive},
		{"0.00", fixed.Step{}, fixed.ErrNotPositive},
		{"-0.1", fixed.Step{}, fixed.ErrNotPositive},
		{"1e-3", fixed.Step{}, fixed.ErrSyntax},
		{"", fixed.Step{}, fixed.ErrSyntax},
		{".1", fixed.Step{}, fixed.ErrSyntax},
		{"0.0000000000000000001", fixed.Step{}, fixed.ErrTooManyDecimals},
	}
	for _, tc := range tests {
		got, err := fixed.ParseStep(tc.in)
		if !errors.Is(err, tc.err) || got != tc.want {
			t.Errorf("ParseStep(%q) = %+v, %v; want %+v, %v", tc.in, got, err, tc.want, tc.err)
		}
		if err == nil && got.String() != tc.in {
			t.Errorf("Step(%q).String() = %q", tc.in, got.String())
		}
	}
}

func TestSpecValidate(t *testing.T) {
	step := func(u int64, sc int) fixed.Step { return fixed.Step{Units: u, Scale: sc} }
	tests := []struct {
		name        string
		spec        fixed.Spec
		err         error
		perLotTick  int64
		baseUnitLot int64
	}{
		{
			// 0.001 BTC × 0.1 USD = 0.0001 USD = 100 µUSD; 0.001 BTC = 100,000 sat.
			name: "BTC-USD-PERP",
			spec: fixed.Spec{Tick: step(1, 1), Lot: step(1, 3), Multiplier: 1, QuoteDecimals: 6, BaseDecimals: 8,
				MaxPrice: 10_000_000, MaxQty: 1_000_000},
			perLotTick: 100, baseUnitLot: 100_000,
		},
		{
			// 0.01 ETH × 0.01 USD = 0.0001 USD = 100 µUSD; 0.01 ETH = 10^16 wei.
			name: "ETH-USD-PERP",
			spec: fixed.Spec{Tick: step(1, 2), Lot: step(1, 2), Multiplier: 1, QuoteDecimals: 6, BaseDecimals: 18,
				MaxPrice: 100_000_000, MaxQty: 10_000_000},
			perLotTick: 100, baseUnitLot: 10_000_000_000_000_000,
		},
		{
			// Tick 0.5, lot 1 contract of 10 base units, quote in cents.
			name: "multiplier and non-unit tick",
			spec: fixed.Spec{Tick: step(5, 1), Lot: step(1, 0), Multiplier: 10, QuoteDecimals: 2, BaseDecimals: 0,
				MaxPrice: 1_000, MaxQty: 1_000},
			perLotTick: 500, baseUnitLot: 10,
		},
		{
			// 0.0001 × 0.0001 = 10^-8 USD is a hundredth of a µUSD.
			name: "inexact: lot at tick below one quote minor unit",
			spec: fixed.Spec{Tick: step(1, 4), Lot: step(1, 4), Multiplier: 1, QuoteDecimals: 6, BaseDecimals: 8,
				MaxPrice: 1, MaxQty: 1},
			err: fixed.ErrSpecInexact,
		},
		{
			name: "inexact: lot below one base minor unit",
			spec: fixed.Spec{Tick: step(1, 1), Lot: step(1, 3), Multiplier: 1, QuoteDecimals: 6, BaseDecimals: 2,
				MaxPrice: 1, MaxQty: 1},
			err: fixed.ErrSpecInexact,
		},
		{
			// 10^16 × 10^4 × 100 = 10^22 overflows int64 money.
			name: "limits whose product overflows",
			spec: fixed.Spec{Tick: step(1, 1), Lot: step(1, 3), Multiplier: 1, QuoteDecimals: 6, BaseDecimals: 8,
				MaxPrice: 10_000_000_000_000_000, MaxQty: 10_000},
			err: fixed.ErrSpecLimits,
		},
		{
			name: "limits whose product overflows even before × notional",
			spec: fixed.Spec{Tick: step(1, 1), Lot: step(1, 3), Multiplier: 1, QuoteDecimals: 6, BaseDecimals: 8,
				MaxPrice: maxI, MaxQty: 2},
			err: fixed.ErrSpecLimits,
		},
		{
			// MaxPrice × MaxQty × 100 ≤ 2^62 is the headroom rule: this is
			// the largest MaxPrice with MaxQty 1 ...
			name: "limits at the 2^62 headroom",
			spec: fixed.Spec{Tick: step(1, 1), Lot: step(1, 3), Multiplier: 1, QuoteDecimals: 6, BaseDecimals: 8,
				MaxPrice: (1 << 62) / 100, MaxQty: 1},
			perLotTick: 100, baseUnitLot: 100_000,
		},
		{
			// ... and one past it.
			name: "limits one past the 2^62 headroom",
			spec: fixed.Spec{Tick: step(1, 1), Lot: step(1, 3), Multiplier: 1, QuoteDecimals: 6, BaseDecimals: 8,
				MaxPrice: (1<<62)/100 + 1, MaxQty: 1},
			err: fixed.ErrSpecLimits,
		},
		{
			name: "zero max qty",
			spec: fixed.Spec{Tick: step(1, 1), Lot: step(1, 3), Multiplier: 1, QuoteDecimals: 6, BaseDecimals: 8,
				MaxPrice: 1, MaxQty: 0},
			err: fixed.ErrSpecLimits,
		},
		{
			name: "negative max price",
			spec: fixed.Spec{Tick: step(1, 1), Lot: step(1, 3), Multiplier: 1, QuoteDecimals: 6, BaseDecimals: 8,
				MaxPrice: -1, MaxQty: 1},
			err: fixed.ErrSpecLimits,
		},
		{
			name: "zero tick",
			spec: fixed.Spec{Tick: step(0, 1), Lot: step(1, 3), Multiplier: 1, QuoteDecimals: 6, MaxPrice: 1, MaxQty: 1},
			err:  fixed.ErrNotPositive,
		},
		{
			name: "zero multiplier",
			spec: fixed.Spec{Tick: step(1, 1), Lot: step(1, 3), Multiplier: 0, QuoteDecimals: 6, MaxPrice: 1, MaxQty: 1},
			err:  fixed.ErrNotPositive,
		},
		{
			// 2^40 × 2^40 used to wrap to 0 and then divide by zero.
			name: "tick × lot units overflow",
			spec: fixed.Spec{Tick: step(1<<40, 0), Lot: step(1<<40, 0), Multiplier: 1, QuoteDecimals: 0, MaxPrice: 1, MaxQty: 1},
			err:  fixed.ErrOverflow,
		},
		{
			name: "notional factor × multiplier overflow",
			spec: fixed.Spec{Tick: step(1, 0), Lot: step(1, 0), Multiplier: maxI, QuoteDecimals: 6, MaxPrice: 1, MaxQty: 1},
			err:  fixed.ErrOverflow,
		},
		{
			// ParsePrice would panic on client input with a scale of 19.
			name: "tick scale past 18",
			spec: fixed.Spec{Tick: step(1, 19), Lot: step(1, 0), Multiplier: 1, QuoteDecimals: 18, MaxPrice: 1, MaxQty: 1},
			err:  fixed.ErrSpecScale,
		},
		{
			name: "negative quote decimals",
			spec: fixed.Spec{Tick: step(1, 0), Lot: step(1, 0), Multiplier: 1, QuoteDecimals: -1, MaxPrice: 1, MaxQty: 1},
			err:  fixed.ErrSpecScale,
		},
		{
			name: "base decimals past 18",
			spec: fixed.Spec{Tick: step(1, 0), Lot: step(1, 0), Multiplier: 1, QuoteDecimals: 0, BaseDecimals: 19, MaxPrice: 1, MaxQty: 1},
			err:  fixed.ErrSpecScale,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := tc.spec
			err := s.Validate()
			if !errors.Is(err, tc.err) {
				t.Fatalf("Validate() = %v; want %v", err, tc.err)
			}
			if err != nil {
				return
			}
			if s.NotionalPerLotTick() != tc.perLotTick || s.BaseUnitsPerLot() != tc.baseUnitLot {
				t.Fatalf("NotionalPerLotTick %d, BaseUnitsPerLot %d; want %d, %d",
					s.NotionalPerLotTick(), s.BaseUnitsPerLot(), tc.perLotTick, tc.baseUnitLot)
			}
			// Validate's promise: the largest order notional fits with
			// headroom.
			if n := s.Notional(s.MaxQty, s.MaxPrice); n <= 0 || n > 1<<62 {
				t.Fatalf("Notional(MaxQty, MaxPrice) = %d", n)
			}
			if n := s.Notional(-s.MaxQty, s.MaxPrice); n >= 0 || n < -(1<<62) {
				t.Fatalf("Notional(-MaxQty, MaxPrice) = %d", n)
			}
		})
	}
}

func TestSpecParsePrice(t *testing.T) {
	s := btcPerp(t)
	tests := []struct {
		in   string
		want fixed.Price
		err  error
	}{
		{"65000.5", 650_005, nil},
		{"65000", 650_000, nil},
		{"65000.50", 650_005, nil},
		{"0.1", 1, nil},
		{"1000000", 10_000_000, nil},      // MaxPrice
		{"1000000.0", 10_000_000, nil},    // MaxPrice
		{"1000000.1", 0, fixed.ErrRange},  // one tick past
		{"65000.05", 0, fixed.ErrOffStep}, // finer than the tick
		{"0.01", 0, fixed.ErrOffStep},
		{"0", 0, fixed.ErrNotPositive},
		{"0.0", 0, fixed.ErrNotPositive},
		{"-1", 0, fixed.ErrNotPositive},
		{"-65000.5", 0, fixed.ErrNotPositive},
		{"-0", 0, fixed.ErrSyntax},
		{"6.5e4", 0, fixed.ErrSyntax},
		{"NaN", 0, fixed.ErrSyntax},
		{"+65000", 0, fixed.ErrSyntax},
		{"99999999999999999999", 0, fixed.ErrRange},
	}
	for _, tc := range tests {
		got, err := s.ParsePrice(tc.in)
		if err != tc.err || got != tc.want { //nolint:errorlint // exact sentinel
			t.Errorf("ParsePrice(%q) = %d, %v; want %d, %v", tc.in, got, err, tc.want, tc.err)
		}
	}

	// A tick of 0.5: on-scale but between steps is off-step too.
	half := &fixed.Spec{Tick: mustStep(t, "0.5"), Lot: mustStep(t, "1"), Multiplier: 1, QuoteDecimals: 2,
		MaxPrice: 100, MaxQty: 100}
	if err := half.Validate(); err != nil {
		t.Fatal(err)
	}
	for in, want := range map[string]error{"1.5": nil, "1.3": fixed.ErrOffStep, "1.25": fixed.ErrOffStep, "50": nil, "50.5": fixed.ErrRange} {
		if _, err := half.ParsePrice(in); err != want { //nolint:errorlint // exact sentinel
			t.Errorf("tick 0.5: ParsePrice(%q) err = %v; want %v", in, err, want)
		}
	}
}

func TestSpecParseQty(t *testing.T) {
	s := btcPerp(t)
	tests := []struct {
		in   string
		want fixed.Qty
		err  error
	}{
		{"0.5", 500, nil},
		{"0.001", 1, nil},
		{"1", 1000, nil},
		{"1000", 1_000_000, nil},        // MaxQty
		{"1000.001", 0, fixed.ErrRange}, // one lot past
		{"0.0005", 0, fixed.ErrOffStep},
		{"0.0010", 1, nil},
		{"0", 0, fixed.ErrNotPositive},
		{"0.000", 0, fixed.ErrNotPositive},
		{"-0.001", 0, fixed.ErrNotPositive},
		{"1e-3", 0, fixed.ErrSyntax},
		{"", 0, fixed.ErrSyntax},
	}
	for _, tc := range tests {
		got, err := s.ParseQty(tc.in)
		if err != tc.err || got != tc.want { //nolint:errorlint // exact sentinel
			t.Errorf("ParseQty(%q) = %d, %v; want %d, %v", tc.in, got, err, tc.want, tc.err)
		}
	}

	eth := &fixed.Spec{Tick: mustStep(t, "0.01"), Lot: mustStep(t, "0.01"), Multiplier: 1, QuoteDecimals: 6,
		BaseDecimals: 18, MaxPrice: 100_000_000, MaxQty: 10_000_000}
	if err := eth.Validate(); err != nil {
		t.Fatal(err)
	}
	if _, err := eth.ParseQty("0.015"); err != fixed.ErrOffStep { //nolint:errorlint // exact sentinel
		t.Errorf("ETH ParseQty(0.015) err = %v; want ErrOffStep", err)
	}
	if q, err := eth.ParseQty("1.5"); err != nil || q != 150 {
		t.Errorf("ETH ParseQty(1.5) = %d, %v; want 150", q, err)
	}
}

func TestSpecFormat(t *testing.T) {
	s := btcPerp(t)
	for _, tc := range []struct{ got, want string }{
		{s.FormatPrice(650_005), "65000.5"},
		{s.FormatPrice(650_000), "65000"},
		{s.FormatPrice(1), "0.1"},
		{s.FormatQty(1), "0.001"},
		{s.FormatQty(500), "0.5"},
		{s.FormatQty(1000), "1"},
		{s.FormatQty(-250), "-0.25"},
		{s.FormatAmount(1_500_000), "1.5"},
		{s.FormatAmount(32_500_250_000), "32500.25"},
		{s.FormatAmount(-250), "-0.00025"},
		{s.FormatAmount(0), "0"},
	} {
		if tc.got != tc.want {
			t.Errorf("got %q; want %q", tc.got, tc.want)
		}
	}
	// Format then Parse is the identity on valid prices and quantities.
	for _, p := range []fixed.Price{1, 7, 650_005, s.MaxPrice} {
		if got, err := s.ParsePrice(s.FormatPrice(p)); err != nil || got != p {
			t.Errorf("price round trip %d: %d, %v", p, got, err)
		}
	}
	for _, q := range []fixed.Qty{1, 500, 1000, s.MaxQty} {
		if got, err := s.ParseQty(s.FormatQty(q)); err != nil || got != q {
			t.Errorf("qty round trip %d: %d, %v", q, got, err)
		}
	}
}

// TestSpecNotional is the hand-worked example: 0.5 BTC at 65000.5 USD is
// 32500.25 USD = 32,500,250,000 µUSD (500 lots × 650,005 ticks × 100).
func TestSpecNotional(t *testing.T) {
	s := btcPerp(t)
	q, err := s.ParseQty("0.5")
	if err != nil {
		t.Fatal(err)
	}
	p, err := s.ParsePrice("65000.5")
	if err != nil {
		t.Fatal(err)
	}
	if q != 500 || p != 650_005 {
		t.Fatalf("q=%d p=%d", q, p)
	}
	n := s.Notional(q, p)
	if n != 32_500_250_000 {
		t.Fatalf("Notional = %d; want 32_500_250_000", n)
	}
	if got := s.FormatAmount(n); got != "32500.25" {
		t.Fatalf("FormatAmount = %q", got)
	}
	if got := s.Notional(-q, p); got != -32_500_250_000 {
		t.Fatalf("short Notional = %d", got)
	}

	// One lot at 65000.5 is 65.0005 USD; PriceFromAmount inverts it and
	// rounds a between-ticks amount in the named direction.
	perLot := s.Notional(1, p)
	if perLot != 65_000_500 {
		t.Fatalf("per-lot notional = %d", perLot)
	}
	for _, c := range []struct {
		amt  fixed.Amount
		r    fixed.Rounding
		want fixed.Price
	}{
		{65_000_500, fixed.Floor, 650_005},
		{65_000_500, fixed.Ceil, 650_005},
		{65_000_501, fixed.Floor, 650_005},
		{65_000_501, fixed.Ceil, 650_006},
		{-1, fixed.Floor, -1},
		{-1, fixed.Ceil, 0},
	} {
		if got := s.PriceFromAmount(c.amt, c.r); got != c.want {
			t.Errorf("PriceFromAmount(%d, %s) = %d; want %d", c.amt, roundName(c.r), got, c.want)
		}
	}
}
