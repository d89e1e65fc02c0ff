package oracle

import (
	"math/rand/v2"
	"testing"

	"github.com/sampan-hk/sampan/core/fixed"
	"github.com/sampan-hk/sampan/core/funding"
)

func TestFundingPrice(t *testing.T) {
	const h = 3600 * sec
	for _, tc := range []struct {
		name  string
		index fixed.Price
		rate  funding.Rate // per 8 h
		ttf   int64
		want  fixed.Price
	}{
		{"no time left: the index", 650000, 100_000, 0, 650000},
		// 0.01% per 8 h with 8 h to go: +0.01% of 650000 = 65.
		{"full 8 h at 0.01%", 650000, 100_000, 8 * h, 650065},
		// 30 min to go at 0.01%/8 h: 650000 × 0.0001 × 1/16 = 4.0625 → 4.
		{"half an hour, truncated toward the index", 650000, 100_000, h / 2, 650004},
		{"negative rate, truncated toward the index", 650000, -100_000, h / 2, 649996},
		{"cap-sized rate 3.75% with 1 h left", 650000, 37_500_000, h, 653046},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := FundingPrice(tc.index, tc.rate, tc.ttf)
			if err != nil || got != tc.want {
				t.Errorf("got %d (%v), want %d", got, err, tc.want)
			}
		})
	}
	if _, err := FundingPrice(650000, 1, -1); err != ErrMarkInput {
		t.Errorf("negative time to funding: %v", err)
	}
}

func TestMedian3(t *testing.T) {
	for _, v := range [][4]fixed.Price{
		{1, 2, 3, 2}, {1, 3, 2, 2}, {2, 1, 3, 2}, {2, 3, 1, 2}, {3, 1, 2, 2}, {3, 2, 1, 2}, {5, 5, 1, 5}, {1, 5, 5, 5},
	} {
		if got := median3(v[0], v[1], v[2]); got != v[3] {
			t.Errorf("median3%v = %d", v[:3], got)
		}
	}
}

func mustMark(t *testing.T, p MarkParams) *Mark {
	t.Helper()
	m, err := NewMark(p)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// One mark from a fresh calculator: the basis average is this call's sample.
func TestMarkTable(t *testing.T) {
	const h = 3600 * sec
	for _, tc := range []struct {
		name             string
		in               MarkInputs
		fp, bp, last, mk fixed.Price
		clamped          bool
	}{
		{"quiet market: all three agree",
			MarkInputs{Index: 650000, FundingRate: 100_000, TimeToFunding: h / 2, Mid: 650010, HasMid: true, Last: 650020, HasLast: true},
			650004, 650010, 650020, 650010, false},
		{"a last-trade spike is outvoted",
			MarkInputs{Index: 650000, FundingRate: 100_000, TimeToFunding: h / 2, Mid: 650010, HasMid: true, Last: 700000, HasLast: true},
			650004, 650010, 700000, 650010, false},
		{"no trade yet: the index stands in for last",
			MarkInputs{Index: 650000, FundingRate: 0, TimeToFunding: h, Mid: 650500, HasMid: true},
			650000, 650500, 650000, 650000, false},
		{"book and trades far above the index: clamped to +1%",
			MarkInputs{Index: 650000, FundingRate: 37_500_000, TimeToFunding: 8 * h, Mid: 670000, HasMid: true, Last: 671000, HasLast: true},
			674375, 670000, 671000, 656500, true},
		{"no mid: no basis sample, basis price is the index",
			MarkInputs{Index: 650000, FundingRate: -200_000, TimeToFunding: 4 * h, Last: 649000, HasLast: true},
			649935, 650000, 649000, 649935, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := mustMark(t, DefaultMarkParams())
			r, err := m.Compute(tc.in)
			if err != nil {
				t.Fatal(err)
			}
			if r.FundingPrice != tc.fp || r.BasisPrice != tc.bp || r.LastPrice != tc.last || r.Mark != tc.mk || r.Clamped != tc.clamped {
				t.Errorf("got fp=%d bp=%d last=%d mark=%d clamped=%v; want %d %d %d %d %v",
					r.FundingPrice, r.BasisPrice, r.LastPrice, r.Mark, r.Clamped, tc.fp, tc.bp, tc.last, tc.mk, tc.clamped)
			}
			if r.Inputs != tc.in {
				t.Errorf("result does not carry its inputs")
			}
		})
	}
}

func TestBasisMovingAverage(t *testing.T) {
	p := DefaultMarkParams() // 5 min window, 1 s spacing
	m := mustMark(t, p)
	in := func(t int64, mid fixed.Price) MarkInputs {
		return MarkInputs{Time: t, Index: 1000, Mid: mid, HasMid: true}
	}
	steps := []struct {
		t       int64
		mid     fixed.Price
		added   bool
		samples int
		avg     fixed.Price
	}{
		{0, 1010, true, 1, 10},
		{sec / 2, 1100, false, 1, 10}, // too soon: not sampled
		{sec, 1020, true, 2, 15},
		{2 * sec, 995, true, 3, 8},    // (10+20−5)/3 = 8.33 → 8
		{300 * sec, 1000, true, 4, 6}, // t=0 is exactly 5 min old: still in; 25/4 = 6.25 → 6
		// Window [1 s, 301 s]: t=0 has left; 1 s (20), 2 s (−5), 300 s (0),
		// 301 s (0) → 15/4 = 3.75 → 3.
		{301 * sec, 1000, true, 4, 3},
	}
	for i, s := range steps {
		r, err := m.Compute(in(s.t, s.mid))
		if err != nil {
			t.Fatal(err)
		}
		if r.SampleAdded != s.added || r.BasisSamples != s.samples || r.BasisAverage != s.avg {
			t.Errorf("step %d: added=%v samples=%d avg=%d, want %v %d %d", i, r.SampleAdded, r.BasisSamples, r.BasisAverage, s.added, s.samples, s.avg)
		}
	}
	// A negative average truncates toward zero too.
	m = mustMark(t, p)
	m.Compute(in(0, 990))
	r, _ := m.Compute(in(sec, 995))
	if r.BasisAverage != -7 { // −7.5 → −7
		t.Errorf("negative average %d, want -7", r.BasisAverage)
	}
	if _, err := m.Compute(in(0, 1000)); err != ErrTimeOrder {
		t.Errorf("time going backwards: %v", err)
	}
}

// With the window at its largest (window/spacing just under the ring size),
// the ring never drops an in-window sample.
func TestBasisRingAtLimit(t *testing.T) {
	p := MarkParams{BasisWindow: (MaxBasisSamples - 1) * sec, BasisSpacing: sec, Band: 10_000}
	m := mustMark(t, p)
	var r MarkResult
	for i := int64(0); i < 2*MaxBasisSamples; i++ {
		r, _ = m.Compute(MarkInputs{Time: i * sec, Index: 1000, Mid: 1001, HasMid: true})
	}
	if r.BasisSamples != MaxBasisSamples || r.BasisAverage != 1 {
		t.Errorf("samples %d avg %d", r.BasisSamples, r.BasisAverage)
	}
	p.BasisWindow = MaxBasisSamples * sec
	if _, err := NewMark(p); err != ErrMarkParams {
		t.Errorf("window one past the ring: %v", err)
	}
}

// Property: whatever the inputs, the mark lies inside index ± band, and it is
// one of the three estimates unless it was clamped.
func TestMarkAlwaysInBand(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	m := mustMark(t, DefaultMarkParams())
	now := int64(0)
	for i := 0; i < 20000; i++ {
		now += rng.Int64N(3 * sec)
		idx := fixed.Price(1 + rng.Int64N(10_000_000))
		in := MarkInputs{
			Time: now, Index: idx,
			FundingRate:   funding.Rate(rng.Int64N(80_000_000) - 40_000_000),
			TimeToFunding: rng.Int64N(8 * 3600 * sec),
			HasMid:        rng.IntN(4) > 0, HasLast: rng.IntN(4) > 0,
		}
		if in.HasMid {
			in.Mid = fixed.Price(1 + rng.Int64N(int64(idx)*2))
		}
		if in.HasLast {
			in.Last = fixed.Price(1 + rng.Int64N(int64(idx)*2))
		}
		r, err := m.Compute(in)
		if err != nil {
			t.Fatal(err)
		}
		band := fixed.Price(int64(idx) * 10_000 / 1_000_000)
		if r.Mark < idx-band || r.Mark > idx+band || r.BandLow != idx-band || r.BandHigh != idx+band {
			t.Fatalf("mark %d outside %d ± %d (inputs %+v)", r.Mark, idx, band, in)
		}
		if !r.Clamped && r.Mark != r.FundingPrice && r.Mark != r.BasisPrice && r.Mark != r.LastPrice {
			t.Fatalf("unclamped mark %d is none of the estimates %+v", r.Mark, r)
		}
	}
}

func TestMarkInputErrors(t *testing.T) {
	m := mustMark(t, DefaultMarkParams())
	for _, in := range []MarkInputs{
		{Index: 0},
		{Index: 100, HasMid: true, Mid: 0},
		{Index: 100, HasLast: true, Last: -1},
		{Index: 100, TimeToFunding: -1},
	} {
		if _, err := m.Compute(in); err == nil {
			t.Errorf("accepted %+v", in)
		}
	}
	for _, p := range []MarkParams{
		{BasisWindow: 0, BasisSpacing: 1, Band: 1},
		{BasisWindow: 1, BasisSpacing: 0, Band: 1},
		{BasisWindow: 1, BasisSpacing: 1, Band: 0},
		{BasisWindow: 1, BasisSpacing: 1, Band: fixed.PpmOne},
	} {
		if _, err := NewMark(p); err != ErrMarkParams {
			t.Errorf("params %+v: %v", p, err)
		}
	}
}
