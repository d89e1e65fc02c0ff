package fixed_test

import (
	"errors"
	"fmt"
	"math/big"
	"math/rand/v2"
	"regexp"
	"strings"
	"testing"

	"github.com/sampan-hk/sampan/core/fixed"
)

// TestParseDecimalAccepts lists accepted forms and their exact unit counts.
func TestParseDecimalAccepts(t *testing.T) {
	tests := []struct {
		in    string
		scale int
		want  int64
	}{
		{"0", 0, 0},
		{"0", 6, 0},
		{"0.000", 2, 0}, // zeros beyond the scale are harmless
		{"7", 0, 7},
		{"65000.5", 1, 650005},
		{"65000.5", 2, 6500050},
		{"65000.5", 8, 6500050000000},
		{"0.001", 3, 1},
		{"0.001", 6, 1000},
		{"-12.34", 2, -1234},
		{"-12.34", 4, -123400},
		{"1.50", 1, 15}, // trailing zero past the scale
		{"1.5000000000", 1, 15},
		{"-0.5", 1, -5},
		{"10", 0, 10},
		{"100.0", 0, 100},
		{"0.000000000000000001", 18, 1},
		{"-0.000000000000000001", 18, -1},
		// Boundaries: the largest magnitudes at a few scales.
		{"999999999999999999", 0, 999_999_999_999_999_999},   // 18 integer digits
		{"-999999999999999999", 0, -999_999_999_999_999_999}, // 18 integer digits
		{"922337203685477580.7", 1, maxI},
		{"-922337203685477580.8", 1, minI},
		{"92233720368547758.07", 2, maxI},
		{"-92233720368547758.08", 2, minI},
		{"9.223372036854775807", 18, maxI},
		{"-9.223372036854775808", 18, minI},
		{"9.2233720368547758070000", 18, maxI},
	}
	for _, tc := range tests {
		t.Run(fmt.Sprintf("%s@%d", tc.in, tc.scale), func(t *testing.T) {
			got, err := fixed.ParseDecimal(tc.in, tc.scale)
			if err != nil || got != tc.want {
				t.Fatalf("ParseDecimal(%q, %d) = %d, %v; want %d", tc.in, tc.scale, got, err, tc.want)
			}
		})
	}
}

// TestParseDecimalRejects lists every rejection class with its exact error.
func TestParseDecimalRejects(t *testing.T) {
	tests := []struct {
		in    string
		scale int
		want  error
	}{
		// Not the grammar -?(0|[1-9][0-9]*)(\.[0-9]+)?
		{"", 2, fixed.ErrSyntax},
		{"-", 2, fixed.ErrSyntax},
		{".5", 2, fixed.ErrSyntax},
		{"-.5", 2, fixed.ErrSyntax},
		{"5.", 2, fixed.ErrSyntax},
		{"+1", 2, fixed.ErrSyntax},
		{"--1", 2, fixed.ErrSyntax},
		{"1-", 2, fixed.ErrSyntax},
		{"1e3", 2, fixed.ErrSyntax},
		{"1E3", 2, fixed.ErrSyntax},
		{"1.5e-3", 6, fixed.ErrSyntax},
		{"NaN", 2, fixed.ErrSyntax},
		{"nan", 2, fixed.ErrSyntax},
		{"Inf", 2, fixed.ErrSyntax},
		{"-Inf", 2, fixed.ErrSyntax},
		{"Infinity", 2, fixed.ErrSyntax},
		{"01", 2, fixed.ErrSyntax},
		{"00", 2, fixed.ErrSyntax},
		{"-01", 2, fixed.ErrSyntax},
		{"00.5", 2, fixed.ErrSyntax},
		{" 1", 2, fixed.ErrSyntax},
		{"1 ", 2, fixed.ErrSyntax},
		{"1\n", 2, fixed.ErrSyntax},
		{"1,000", 2, fixed.ErrSyntax},
		{"1_000", 2, fixed.ErrSyntax},
		{"0x10", 2, fixed.ErrSyntax},
		{"0b1", 2, fixed.ErrSyntax},
		{"1..2", 2, fixed.ErrSyntax},
		{"1.2.3", 2, fixed.ErrSyntax},
		{"١", 2, fixed.ErrSyntax}, // Arabic-Indic one: digits are ASCII only
		{"1\x00", 2, fixed.ErrSyntax},
		// Zero with a sign says nothing a plain "0" does not.
		{"-0", 2, fixed.ErrSyntax},
		{"-0.0", 2, fixed.ErrSyntax},
		{"-0.00000", 2, fixed.ErrSyntax},
		// Malformed text is a syntax error however long it is.
		{"1234567890123456789x", 0, fixed.ErrSyntax},
		{"1234567890123456789.", 0, fixed.ErrSyntax},
		{"01234567890123456789", 0, fixed.ErrSyntax},

		// Precision the scale cannot hold.
		{"0.0001", 3, fixed.ErrTooManyDecimals},
		{"-0.0001", 3, fixed.ErrTooManyDecimals},
		{"0.5", 0, fixed.ErrTooManyDecimals},
		{"65000.05", 1, fixed.ErrTooManyDecimals},
		{"1.0000000000000000001", 18, fixed.ErrTooManyDecimals},

		// Out of range: more than 18 integer digits, whatever the value.
		{"1000000000000000000", 0, fixed.ErrRange},  // 10^18: 19 digits
		{"-1000000000000000000", 0, fixed.ErrRange}, // fits int64, still 19 digits
		{"9223372036854775807", 0, fixed.ErrRange},  // MaxInt64 itself
		{"99999999999999999999999999", 0, fixed.ErrRange},
		{"1000000000000000000.0001", 3, fixed.ErrRange}, // range before decimals
		// Out of range after scaling: one past the boundaries above.
		{"922337203685477580.8", 1, fixed.ErrRange},
		{"-922337203685477580.9", 1, fixed.ErrRange},
		{"92233720368547758.08", 2, fixed.ErrRange},
		{"-92233720368547758.09", 2, fixed.ErrRange},
		{"9.223372036854775808", 18, fixed.ErrRange},
		{"-9.223372036854775809", 18, fixed.ErrRange},
		{"10", 18, fixed.ErrRange},
		{"999999999999999999", 1, fixed.ErrRange},
		{"100000000000000000", 2, fixed.ErrRange},
	}
	for _, tc := range tests {
		t.Run(fmt.Sprintf("%q@%d", tc.in, tc.scale), func(t *testing.T) {
			got, err := fixed.ParseDecimal(tc.in, tc.scale)
			if err != tc.want || got != 0 { //nolint:errorlint // the exact sentinel is the contract
				t.Fatalf("ParseDecimal(%q, %d) = %d, %v; want %v", tc.in, tc.scale, got, err, tc.want)
			}
		})
	}
}

func TestParseDecimalBadScalePanics(t *testing.T) {
	for _, scale := range []int{-1, 19} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("ParseDecimal at scale %d must panic", scale)
				}
			}()
			_, _ = fixed.ParseDecimal("1", scale)
		}()
	}
}

// TestParseDecimalMatchesOracle runs the hand tables' inputs and a large
// generated set through decimalOracle, the executable statement of the
// contract.
func TestParseDecimalMatchesOracle(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 8))
	for i := 0; i < 100_000; i++ {
		s := randomDecimalText(rng)
		scale := rng.IntN(19)
		checkParse(t, s, scale)
	}
}

func checkParse(t *testing.T, s string, scale int) {
	t.Helper()
	got, err := fixed.ParseDecimal(s, scale)
	want, wantErr := decimalOracle(s, scale)
	if err != wantErr || got != want { //nolint:errorlint // exact sentinel
		t.Fatalf("ParseDecimal(%q, %d) = %d, %v; oracle %d, %v", s, scale, got, err, want, wantErr)
	}
}

var decimalGrammar = regexp.MustCompile(`^-?(0|[1-9][0-9]*)(\.[0-9]+)?$`)

// decimalOracle restates ParseDecimal's contract with math/big, in the
// order errors are reported: text outside the grammar is ErrSyntax; more
// than 18 integer digits is ErrRange; a value that is not a whole number of
// 10^-scale units is ErrTooManyDecimals; a signed zero is ErrSyntax; a
// value outside int64 is ErrRange.
func decimalOracle(s string, scale int) (int64, error) {
	m := decimalGrammar.FindStringSubmatch(s)
	if m == nil {
		return 0, fixed.ErrSyntax
	}
	if len(m[1]) > 18 {
		return 0, fixed.ErrRange
	}
	r, ok := new(big.Rat).SetString(s)
	if !ok {
		panic("oracle: grammar text big.Rat rejects: " + s)
	}
	r.Mul(r, new(big.Rat).SetInt(new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(scale)), nil)))
	if !r.IsInt() {
		return 0, fixed.ErrTooManyDecimals
	}
	if r.Sign() == 0 && s[0] == '-' {
		return 0, fixed.ErrSyntax
	}
	if !r.Num().IsInt64() {
		return 0, fixed.ErrRange
	}
	return r.Num().Int64(), nil
}

// randomDecimalText produces mostly near-valid text: valid decimals of
// every length plus single-character mutations of them.
func randomDecimalText(rng *rand.Rand) string {
	var sb strings.Builder
	if rng.IntN(3) == 0 {
		sb.WriteByte('-')
	}
	nInt := rng.IntN(21)
	for i := 0; i < nInt; i++ {
		sb.WriteByte(byte('0' + rng.IntN(10)))
	}
	if nInt == 0 || rng.IntN(2) == 0 {
		if nInt == 0 {
			sb.WriteByte('0')
		}
		if rng.IntN(2) == 0 {
			sb.WriteByte('.')
			nFrac := rng.IntN(22)
			for i := 0; i < nFrac; i++ {
				if rng.IntN(3) == 0 {
					sb.WriteByte('0')
				} else {
					sb.WriteByte(byte('0' + rng.IntN(10)))
				}
			}
		}
	}
	b := []byte(sb.String())
	if rng.IntN(4) == 0 && len(b) > 0 {
		const junk = "-+.eE 0123456789xN_,"
		b[rng.IntN(len(b))] = junk[rng.IntN(len(junk))]
	}
	return string(b)
}

// TestFormatDecimal: exactly scale fraction digits, at least one integer
// digit, no "-0".
func TestFormatDecimal(t *testing.T) {
	tests := []struct {
		v     int64
		scale int
		want  string
	}{
		{0, 0, "0"},
		{0, 3, "0.000"},
		{5, 0, "5"},
		{5, 3, "0.005"},
		{-5, 3, "-0.005"},
		{650005, 1, "65000.5"},
		{6500050, 2, "65000.50"},
		{-1234, 2, "-12.34"},
		{100, 2, "1.00"},
		{1, 18, "0.000000000000000001"},
		{-1, 18, "-0.000000000000000001"},
		{maxI, 0, "9223372036854775807"},
		{minI, 0, "-9223372036854775808"},
		{maxI, 18, "9.223372036854775807"},
		{minI, 18, "-9.223372036854775808"},
		{minI, 19, "-0.9223372036854775808"},
		{1, 20, "0.00000000000000000001"}, // formatting has no scale cap
	}
	for _, tc := range tests {
		t.Run(tc.want, func(t *testing.T) {
			if got := fixed.FormatDecimal(tc.v, tc.scale); got != tc.want {
				t.Fatalf("FormatDecimal(%d, %d) = %q; want %q", tc.v, tc.scale, got, tc.want)
			}
			// AppendDecimal appends after existing content.
			got := string(fixed.AppendDecimal([]byte("p="), tc.v, tc.scale))
			if got != "p="+tc.want {
				t.Fatalf("AppendDecimal = %q; want %q", got, "p="+tc.want)
			}
		})
	}
}

// TestAppendDecimalDoesNotAllocate: with capacity available, AppendDecimal
// must not allocate, including when it pads with zeros.
func TestAppendDecimalDoesNotAllocate(t *testing.T) {
	buf := make([]byte, 0, 64)
	for _, c := range []struct {
		v     int64
		scale int
	}{{650005, 1}, {5, 18}, {minI, 0}, {-1, 18}, {0, 6}} {
		allocs := testing.AllocsPerRun(100, func() {
			buf = fixed.AppendDecimal(buf[:0], c.v, c.scale)
		})
		if allocs != 0 {
			t.Errorf("AppendDecimal(%d, %d) allocates %.0f times; want 0", c.v, c.scale, allocs)
		}
	}
}

func TestTrimDecimal(t *testing.T) {
	tests := []struct{ in, want string }{
		{"65000.50", "65000.5"},
		{"3.000", "3"},
		{"3.", "3"},
		{"100", "100"},
		{"100.0", "100"},
		{"0.000", "0"},
		{"-0.0010", "-0.001"},
		{"0.001", "0.001"},
		{"", ""},
	}
	for _, tc := range tests {
		if got := fixed.TrimDecimal(tc.in); got != tc.want {
			t.Errorf("TrimDecimal(%q) = %q; want %q", tc.in, got, tc.want)
		}
	}
}

// representable reports whether FormatDecimal(v, scale) parses back: the
// parser takes at most 18 integer digits, so at scale ≥ 1 every int64
// round-trips (|v|/10 < 10^18) and at scale 0 exactly |v| ≤ 10^18−1 does.
func representable(v int64, scale int) bool {
	const lim = 999_999_999_999_999_999
	return scale > 0 || (v >= -lim && v <= lim)
}

// TestFormatParseRoundTrip: ParseDecimal(FormatDecimal(v, s), s) == v
// wherever representable, and ErrRange exactly where it is not.
func TestFormatParseRoundTrip(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 9))
	edges := []int64{0, 1, -1, maxI, minI, maxI - 1, minI + 1,
		999_999_999_999_999_999, -999_999_999_999_999_999,
		1_000_000_000_000_000_000, -1_000_000_000_000_000_000}
	check := func(v int64, scale int) {
		s := fixed.FormatDecimal(v, scale)
		got, err := fixed.ParseDecimal(s, scale)
		if representable(v, scale) {
			if err != nil || got != v {
				t.Fatalf("round trip %d@%d via %q = %d, %v", v, scale, s, got, err)
			}
			if !decimalGrammar.MatchString(s) {
				t.Fatalf("FormatDecimal(%d, %d) = %q is outside the grammar", v, scale, s)
			}
		} else if !errors.Is(err, fixed.ErrRange) {
			t.Fatalf("%d@%d via %q: got %d, %v; want ErrRange (19 integer digits)", v, scale, s, got, err)
		}
		// The trimmed form parses to the same value too.
		if representable(v, scale) {
			if got, err := fixed.ParseDecimal(fixed.TrimDecimal(s), scale); err != nil || got != v {
				t.Fatalf("trimmed round trip %d@%d via %q = %d, %v", v, scale, fixed.TrimDecimal(s), got, err)
			}
		}
	}
	for scale := 0; scale <= 18; scale++ {
		for _, v := range edges {
			check(v, scale)
		}
		for i := 0; i < 20_000; i++ {
			check(interesting(rng), scale)
		}
	}
}
