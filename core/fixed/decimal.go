package fixed

import (
	"errors"
	"math/bits"
)

// Decimal parsing errors. Each says what was wrong with the text so the edge
// can pass it on to the client unchanged.
var (
	ErrSyntax          = errors.New("not a plain decimal number (digits, optional '-', optional '.' and fraction; no exponent, '+', spaces or leading zeros)")
	ErrTooManyDecimals = errors.New("too many decimal places")
	ErrRange           = errors.New("value out of range")
	ErrOffStep         = errors.New("value is not a multiple of the step")
	ErrNotPositive     = errors.New("value must be greater than zero")
)

// maxIntDigits bounds the integer part so the parser never needs more than
// 18 significant digits before scaling; the scaled result is then checked.
const maxIntDigits = 18

// ParseDecimal parses s exactly into an integer count of 10^-scale units.
//
// The grammar is strict on purpose (it is the only way a number enters
// Sampan from outside): `-?(0|[1-9][0-9]*)(\.[0-9]+)?`, at most 18 integer
// digits, at most `scale` fraction digits (trailing zeros beyond scale are
// accepted only if they are zeros: "1.50" at scale 1 is 15). "-0" and
// "-0.0" are rejected as ambiguous. No exponents, no '+', no spaces, no
// NaN or Inf.
func ParseDecimal(s string, scale int) (int64, error) {
	if scale < 0 || scale > 18 {
		panic("fixed: ParseDecimal scale out of range")
	}
	i := 0
	neg := false
	if i < len(s) && s[i] == '-' {
		neg = true
		i++
	}
	start := i
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
	}
	intDigits := s[start:i]
	if len(intDigits) == 0 || (len(intDigits) > 1 && intDigits[0] == '0') {
		return 0, ErrSyntax
	}
	frac := ""
	if i < len(s) && s[i] == '.' {
		i++
		fs := i
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
		frac = s[fs:i]
		if len(frac) == 0 {
			return 0, ErrSyntax
		}
	}
	if i != len(s) {
		return 0, ErrSyntax
	}
	// The digit limit is checked only after the whole text has matched the
	// grammar, so malformed text is always ErrSyntax however long its
	// integer part ("1234567890123456789x" is a syntax error, not a range
	// error).
	if len(intDigits) > maxIntDigits {
		return 0, ErrRange
	}
	// Digits beyond the scale must all be zero.
	if len(frac) > scale {
		for _, c := range frac[scale:] {
			if c != '0' {
				return 0, ErrTooManyDecimals
			}
		}
		frac = frac[:scale]
	}
	var mag uint64
	for j := 0; j < len(intDigits); j++ {
		mag = mag*10 + uint64(intDigits[j]-'0')
	}
	// Scale up, checking overflow against 2^63 (the magnitude of MinInt64).
	const limit = uint64(1) << 63
	for j := 0; j < scale; j++ {
		d := uint64(0)
		if j < len(frac) {
			d = uint64(frac[j] - '0')
		}
		hi, lo := mulAdd10(mag, d)
		if hi != 0 || lo > limit {
			return 0, ErrRange
		}
		mag = lo
	}
	if neg {
		if mag == 0 {
			return 0, ErrSyntax // "-0" says nothing a plain "0" does not
		}
		return fromMagnitudeRange(mag, true)
	}
	return fromMagnitudeRange(mag, false)
}

func mulAdd10(v, d uint64) (hi, lo uint64) {
	hi, lo = bits.Mul64(v, 10)
	var carry uint64
	lo, carry = bits.Add64(lo, d, 0)
	return hi + carry, lo
}

func fromMagnitudeRange(mag uint64, neg bool) (int64, error) {
	v, err := fromMagnitude(mag, neg)
	if err != nil {
		return 0, ErrRange
	}
	return v, nil
}

// FormatDecimal renders v units of 10^-scale as a plain decimal string with
// exactly `scale` fraction digits (none when scale is 0).
//
// It is the inverse of ParseDecimal wherever ParseDecimal can accept the
// result: for every int64 when scale ≥ 1 (the integer part then has at most
// 18 digits), and for |v| ≤ 10^18−1 when scale is 0. At scale 0 a value of
// 19 integer digits formats fine but ParseDecimal rejects it with ErrRange
// (maxIntDigits). "-0" never appears.
func FormatDecimal(v int64, scale int) string {
	var buf [maxDecimalLen]byte
	return string(AppendDecimal(buf[:0], v, scale))
}

// maxDecimalLen bounds FormatDecimal's output for scale ≤ 18 so the buffer
// stays on the stack: a sign plus either 19 digits and a '.', or "0." and 18
// fraction digits — 21 bytes. Larger scales still work; append just grows.
const maxDecimalLen = 24

// AppendDecimal appends FormatDecimal(v, scale) to dst without allocating
// beyond dst's growth: the digits are produced in a stack array and the
// zero padding is written straight into dst.
func AppendDecimal(dst []byte, v int64, scale int) []byte {
	if scale < 0 {
		panic("fixed: AppendDecimal negative scale")
	}
	mag, neg := abs64(v)
	var digits [20]byte // 2^63 has 19 digits
	n := len(digits)
	for mag > 0 {
		n--
		digits[n] = byte('0' + mag%10)
		mag /= 10
	}
	ds := digits[n:]
	if neg {
		dst = append(dst, '-')
	}
	if len(ds) <= scale {
		// Fewer digits than scale+1: the integer part is "0" and the
		// fraction is left-padded with zeros up to scale digits.
		dst = append(dst, '0')
		if scale > 0 {
			dst = append(dst, '.')
			for pad := scale - len(ds); pad > 0; pad-- {
				dst = append(dst, '0')
			}
			dst = append(dst, ds...)
		}
		return dst
	}
	cut := len(ds) - scale
	dst = append(dst, ds[:cut]...)
	if scale > 0 {
		dst = append(dst, '.')
		dst = append(dst, ds[cut:]...)
	}
	return dst
}

// TrimDecimal removes trailing fraction zeros (and a bare '.') from a
// formatted decimal: "65000.50" → "65000.5", "3.000" → "3".
func TrimDecimal(s string) string {
	dot := -1
	for i := 0; i < len(s); i++ {
		if s[i] == '.' {
			dot = i
			break
		}
	}
	if dot < 0 {
		return s
	}
	end := len(s)
	for end > dot+1 && s[end-1] == '0' {
		end--
	}
	if end == dot+1 {
		end = dot
	}
	return s[:end]
}
