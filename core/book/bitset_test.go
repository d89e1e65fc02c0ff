package book

import (
	"math/rand/v2"
	"sort"
	"testing"
)

// The ladder is checked against a plain bool slice: next(i) is the first
// true index ≥ i, prev(i) the last true index ≤ i, -1 when none.

type bruteSet []bool

func (b bruteSet) next(i int) int {
	for i = max(i, 0); i < len(b); i++ {
		if b[i] {
			return i
		}
	}
	return -1
}

func (b bruteSet) prev(i int) int {
	for i = min(i, len(b)-1); i >= 0; i-- {
		if b[i] {
			return i
		}
	}
	return -1
}

func ladderSizes() []int {
	return []int{1, 2, 63, 64, 65, 127, 128, 129, 4095, 4096, 4097, 4160, 64*4096 - 1, 64 * 4096, 64*4096 + 1}
}

// boundaries are the interesting indexes of a ladder of n bits.
func boundaries(n int) []int {
	var out []int
	for _, i := range []int{-100, -1, 0, 1, 62, 63, 64, 65, 127, 128, 4031, 4032, 4095, 4096, 4097, 64*4096 - 1, 64 * 4096, n - 65, n - 64, n - 63, n - 2, n - 1, n, n + 1, n + 63, n + 64, n + 5000} {
		if i < n+100_000 {
			out = append(out, i)
		}
	}
	return out
}

func checkLadder(t *testing.T, l *ladder, b bruteSet, queries []int) {
	t.Helper()
	for _, q := range queries {
		if got, want := l.next(q), b.next(q); got != want {
			t.Fatalf("n=%d next(%d) = %d, want %d", len(b), q, got, want)
		}
		if got, want := l.prev(q), b.prev(q); got != want {
			t.Fatalf("n=%d prev(%d) = %d, want %d", len(b), q, got, want)
		}
	}
}

func TestLadderBoundaries(t *testing.T) {
	for _, n := range ladderSizes() {
		l := newLadder(n)
		b := make(bruteSet, n)
		qs := boundaries(n)
		checkLadder(t, &l, b, qs)
		// Each boundary alone, then all together, then cleared one by one.
		var in []int
		for _, i := range qs {
			if i >= 0 && i < n && !b[i] {
				in = append(in, i)
				l.set(i)
				b[i] = true
				checkLadder(t, &l, b, qs)
				l.clear(i)
				b[i] = false
				checkLadder(t, &l, b, qs)
			}
		}
		for _, i := range in {
			l.set(i)
			b[i] = true
		}
		checkLadder(t, &l, b, qs)
		for _, i := range in {
			l.clear(i)
			b[i] = false
			checkLadder(t, &l, b, qs)
		}
		for k, layer := range l.layers {
			for w, v := range layer {
				if v != 0 {
					t.Fatalf("n=%d: layer %d word %d not cleared: %#x", n, k, w, v)
				}
			}
		}
	}
}

func TestLadderRandom(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	rounds := 300
	if testing.Short() {
		rounds = 40
	}
	for _, n := range ladderSizes() {
		rs := rounds
		if n > 10_000 {
			rs = 10 // the brute force scans are linear
		}
		for range rs {
			l := newLadder(n)
			b := make(bruteSet, n)
			// Dense around a random spot or sparse over everything.
			span, base := n, 0
			if r.IntN(2) == 0 {
				span = min(n, 1+r.IntN(300))
				base = r.IntN(n - span + 1)
			}
			qs := boundaries(n)
			for range 10 {
				qs = append(qs, r.IntN(n+2)-1, base+r.IntN(span))
			}
			for range 1 + r.IntN(60) {
				i := base + r.IntN(span)
				if r.IntN(3) == 0 {
					l.clear(i) // also clearing a clear bit
					b[i] = false
				} else {
					l.set(i) // also setting a set bit
					b[i] = true
				}
				q := []int{i - 1, i, i + 1, r.IntN(n)}
				checkLadder(t, &l, b, q)
			}
			checkLadder(t, &l, b, qs)
		}
	}
}

// TestLadderFullRange uses the book's largest ladder (2^24+1 ticks, five
// layers) against a sorted list of set indexes.
func TestLadderFullRange(t *testing.T) {
	n := 1<<24 + 1
	l := newLadder(n)
	r := rand.New(rand.NewPCG(3, 4))
	set := map[int]bool{}
	for _, i := range []int{0, 63, 64, 4095, 4096, 1 << 18, 1<<18 - 1, n - 1, n - 2} {
		set[i] = true
	}
	for range 200 {
		set[r.IntN(n)] = true
	}
	var sorted []int
	for i := range set {
		sorted = append(sorted, i)
		l.set(i)
	}
	sort.Ints(sorted)
	check := func() {
		t.Helper()
		qs := boundaries(n)
		for _, s := range sorted {
			qs = append(qs, s-1, s, s+1)
		}
		for range 500 {
			qs = append(qs, r.IntN(n))
		}
		for _, q := range qs {
			j := sort.SearchInts(sorted, max(q, 0)) // first ≥ q
			want := -1
			if j < len(sorted) {
				want = sorted[j]
			}
			if got := l.next(q); got != want {
				t.Fatalf("next(%d) = %d, want %d", q, got, want)
			}
			j = sort.SearchInts(sorted, q+1) - 1 // last ≤ q
			want = -1
			if j >= 0 {
				want = sorted[j]
			}
			if got := l.prev(q); got != want {
				t.Fatalf("prev(%d) = %d, want %d", q, got, want)
			}
		}
	}
	check()
	// Remove all but the extremes, in random order.
	r.Shuffle(len(sorted), func(i, j int) { sorted[i], sorted[j] = sorted[j], sorted[i] })
	keep := sorted[:0]
	for _, i := range sorted {
		if i == 0 || i == n-1 {
			keep = append(keep, i)
			continue
		}
		l.clear(i)
	}
	sorted = keep
	sort.Ints(sorted)
	check()
	l.clear(0)
	l.clear(n - 1)
	sorted = nil
	check()
}
