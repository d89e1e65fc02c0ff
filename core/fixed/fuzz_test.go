package fixed_test

import (
	"errors"
	"testing"

	"github.com/sampan-hk/sampan/core/fixed"
)

// FuzzParseDecimal: ParseDecimal never panics for a valid scale; its
// answer (value or exact error) matches decimalOracle; accepted text is in
// the strict grammar and formats back to text that parses to the same value.
func FuzzParseDecimal(f *testing.F) {
	seeds := []string{
		"0", "65000.5", "0.001", "-12.34", "1.50", "", "-", ".5", "5.", "+1",
		"1e3", "1E3", "NaN", "Inf", "-0", "-0.0", "01", " 1", "1 ", "1,000",
		"0x10", "1..2", "999999999999999999", "1000000000000000000",
		"9.223372036854775807", "-9.223372036854775808", "9.223372036854775808",
		"92233720368547758.07", "1234567890123456789x", "0.0001",
	}
	for i, s := range seeds {
		f.Add(s, uint8(i%19))
	}
	f.Fuzz(func(t *testing.T, s string, sc uint8) {
		scale := int(sc % 19)
		v, err := fixed.ParseDecimal(s, scale)
		want, wantErr := decimalOracle(s, scale)
		if err != wantErr || v != want { //nolint:errorlint // exact sentinel
			t.Fatalf("ParseDecimal(%q, %d) = %d, %v; oracle %d, %v", s, scale, v, err, want, wantErr)
		}
		if err != nil {
			return
		}
		if !decimalGrammar.MatchString(s) {
			t.Fatalf("accepted %q outside the grammar", s)
		}
		out := fixed.FormatDecimal(v, scale)
		back, err := fixed.ParseDecimal(out, scale)
		if err != nil || back != v {
			t.Fatalf("%q@%d = %d formats to %q which parses to %d, %v", s, scale, v, out, back, err)
		}
	})
}

// FuzzMulDiv: MulDiv never panics and agrees with math/big for both
// roundings, including overflow and division by zero.
func FuzzMulDiv(f *testing.F) {
	f.Add(int64(7), int64(1), int64(2))
	f.Add(int64(-7), int64(1), int64(2))
	f.Add(int64(maxI), int64(maxI), int64(maxI))
	f.Add(int64(minI), int64(minI), int64(minI))
	f.Add(int64(minI), int64(1), int64(-1))
	f.Add(int64(minI), int64(-1), int64(-1))
	f.Add(int64(65535), int64(281479271743489), int64(2))
	f.Add(int64(31), int64(1190112520884487201), int64(2))
	f.Add(int64(1), int64(1), int64(0))
	f.Add(int64(0), int64(0), int64(0))
	f.Add(int64(1<<62), int64(2), int64(1))
	f.Add(int64(1_000_001), int64(-100), int64(1_000_000))
	f.Fuzz(func(t *testing.T, a, b, d int64) {
		checkMulDiv(t, a, b, d)
		if d == 1 {
			m, err := fixed.Mul(a, b)
			w, ok := bigMulDiv(a, b, 1, fixed.Floor)
			if ok != (err == nil) || m != w || (!ok && !errors.Is(err, fixed.ErrOverflow)) {
				t.Fatalf("Mul(%d, %d) = %d, %v", a, b, m, err)
			}
		}
	})
}
