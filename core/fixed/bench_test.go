package fixed_test

import (
	"testing"

	"github.com/sampan-hk/sampan/core/fixed"
)

var (
	sinkI int64
	sinkB []byte
)

func BenchmarkMulDiv(b *testing.B) {
	b.ReportAllocs()
	// A notional-sized product over a ppm divisor: the common fee/margin shape.
	a, m, d := int64(32_500_250_000), int64(1), int64(1_000_000)
	for i := 0; i < b.N; i++ {
		v, _ := fixed.MulDiv(a, m+int64(i&1023), d, fixed.Ceil)
		sinkI += v
	}
}

func BenchmarkParseDecimal(b *testing.B) {
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		v, _ := fixed.ParseDecimal("65000.5", 1)
		sinkI += v
	}
}

func BenchmarkAppendDecimal(b *testing.B) {
	b.ReportAllocs()
	buf := make([]byte, 0, 64)
	for i := 0; i < b.N; i++ {
		// Scale 6 of a small value exercises the zero-padding path.
		buf = fixed.AppendDecimal(buf[:0], int64(i&1023), 6)
	}
	sinkB = buf
}
