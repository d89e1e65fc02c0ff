package book_test

import (
	"sync"
	"testing"

	"github.com/sampan-hk/sampan/core/book"
	"github.com/sampan-hk/sampan/sim/workload"
)

var (
	streamOnce sync.Once
	stream     *workload.Stream
)

func benchStream() *workload.Stream {
	streamOnce.Do(func() { stream = workload.Generate(workload.Default()) })
	return stream
}

// BenchmarkBook runs the workload: b.N operations drawn cyclically
// from the 1M measured ones, on a book warmed up by the stream's first part.
// The stream is replayed from a fresh book each time it wraps, so every
// cancel names a live order.
func BenchmarkBook(b *testing.B) {
	st := benchStream()
	ops := st.Measured()
	var bk *book.Book
	fresh := func() {
		bk = workload.NewBook()
		for i := range st.Ops[:st.Params.Warmup] {
			workload.Apply(bk, &st.Ops[i])
		}
	}
	fresh()
	b.ReportAllocs()
	b.ResetTimer()
	j := 0
	for i := 0; i < b.N; i++ {
		if j == len(ops) {
			b.StopTimer()
			fresh()
			j = 0
			b.StartTimer()
		}
		workload.Apply(bk, &ops[j])
		j++
	}
}
