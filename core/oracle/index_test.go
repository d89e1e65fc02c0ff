package oracle

import (
	"math/rand/v2"
	"testing"

	"github.com/sampan-hk/sampan/core/fixed"
)

const sec = int64(1_000_000_000)

// The index examples use BTC in ticks of 0.1 USD: 650000 is 65,000.0 USD.
func sources(weights ...uint32) []Source {
	names := []string{"coinbase", "kraken", "bitstamp", "okx", "binance"}
	out := make([]Source, len(weights))
	for i, w := range weights {
		out[i] = Source{ID: SourceID(i + 1), Name: names[i], Weight: w}
	}
	return out
}

func mustIndex(t *testing.T, p Params, src []Source) *Index {
	t.Helper()
	x, err := NewIndex(p, src)
	if err != nil {
		t.Fatal(err)
	}
	return x
}

func TestWeightedMedian(t *testing.T) {
	type e = entry
	for _, tc := range []struct {
		name string
		es   []entry
		want fixed.Price
	}{
		{"one", []e{{100, 1, 1}}, 100},
		{"odd equal weights: middle", []e{{300, 1, 1}, {100, 2, 1}, {200, 3, 1}}, 200},
		{"even equal weights: lower of the middle two", []e{{100, 1, 1}, {200, 2, 1}, {300, 3, 1}, {400, 4, 1}}, 200},
		{"heavy source wins", []e{{100, 1, 1}, {200, 2, 1}, {300, 3, 3}}, 300},
		{"exact half at the lower price picks it", []e{{100, 1, 2}, {300, 2, 1}, {400, 3, 1}}, 100},
		{"just under half moves up", []e{{100, 1, 2}, {300, 2, 2}, {400, 3, 1}}, 300},
		{"equal prices, order by id does not matter to the value", []e{{200, 2, 1}, {200, 1, 1}, {900, 3, 1}}, 200},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := weightedMedian(tc.es); got != tc.want {
				t.Errorf("got %d, want %d", got, tc.want)
			}
		})
	}
}

type q struct {
	src   SourceID
	price fixed.Price
	age   int64 // seconds before now
}

func feed(t *testing.T, x *Index, now int64, qs ...q) {
	t.Helper()
	for _, v := range qs {
		if _, err := x.Update(Quote{Source: v.src, Price: v.price, Time: now - v.age*sec}, now); err != nil {
			t.Fatal(err)
		}
	}
}

func excl(r Result) []Exclusion {
	out := make([]Exclusion, len(r.Constituents))
	for i, c := range r.Constituents {
		out[i] = c.Excluded
	}
	return out
}

func eqExcl(a, b []Exclusion) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// One fresh computation from nothing (no previous index, so no bound).
func TestComputeTable(t *testing.T) {
	I, S, D, N, X := Included, Stale, Deviation, NoQuote, Disabled
	now := 1_000 * sec
	for _, tc := range []struct {
		name    string
		weights []uint32
		quotes  []q
		healthy bool
		price   fixed.Price
		ref     fixed.Price
		excl    []Exclusion
	}{
		{"five equal venues: the middle price", []uint32{1, 1, 1, 1, 1},
			[]q{{1, 650000, 1}, {2, 650100, 2}, {3, 649900, 1}, {4, 650300, 0}, {5, 650050, 3}},
			true, 650050, 650050, []Exclusion{I, I, I, I, I}},
		{"weights 3,2,2,1,1 pull toward the heavy venue", []uint32{3, 2, 2, 1, 1},
			[]q{{1, 650300, 1}, {2, 650100, 2}, {3, 649900, 1}, {4, 650000, 0}, {5, 650050, 3}},
			true, 650100, 650100, []Exclusion{I, I, I, I, I}},
		{"30 s old is fresh, 31 s is stale", []uint32{1, 1, 1, 1},
			[]q{{1, 650000, 30}, {2, 650100, 31}, {3, 650200, 0}, {4, 650300, 0}},
			true, 650200, 650200, []Exclusion{I, S, I, I}},
		{"exactly 5% away stays in; beyond 5% drops", []uint32{1, 1, 1, 1, 1},
			// ref 650000: +5% is 682500 (kept), −5% is 617500, 617499 drops.
			[]q{{1, 650000, 0}, {2, 682500, 0}, {3, 617499, 0}, {4, 650000, 0}, {5, 649000, 0}},
			true, 650000, 650000, []Exclusion{I, I, D, I, I}},
		{"two fresh of three: unhealthy", []uint32{1, 1, 1},
			[]q{{1, 650000, 0}, {2, 650100, 40}, {3, 650200, 0}},
			false, 0, 0, []Exclusion{I, S, I}},
		{"disabled and missing venues do not count", []uint32{1, 0, 1, 1, 1},
			[]q{{1, 650000, 0}, {2, 999999, 0}, {3, 650200, 0}, {4, 650100, 0}},
			true, 650100, 650100, []Exclusion{I, X, I, I, N}},
		{"three fresh but all disagree: unhealthy", []uint32{1, 1, 1},
			[]q{{1, 600000, 0}, {2, 650000, 0}, {3, 700000, 0}},
			false, 0, 650000, []Exclusion{D, I, D}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			x := mustIndex(t, DefaultParams(), sources(tc.weights...))
			feed(t, x, now, tc.quotes...)
			r := x.Compute(now)
			if r.Healthy != tc.healthy || r.ReduceOnly == tc.healthy {
				t.Fatalf("healthy=%v reduceOnly=%v, want healthy=%v", r.Healthy, r.ReduceOnly, tc.healthy)
			}
			if r.Valid != tc.healthy || r.Price != tc.price || r.Reference != tc.ref {
				t.Errorf("price=%d valid=%v ref=%d, want %d ref %d", r.Price, r.Valid, r.Reference, tc.price, tc.ref)
			}
			if got := excl(r); !eqExcl(got, tc.excl) {
				t.Errorf("exclusions %v, want %v", got, tc.excl)
			}
			for _, c := range r.Constituents {
				if (c.WeightUsed != 0) != (c.Excluded == Included && tc.healthy) {
					t.Errorf("source %d: weight used %d with exclusion %v", c.Source, c.WeightUsed, c.Excluded)
				}
			}
			// A fresh index starts reduce-only, so a healthy first
			// computation records the exit and an unhealthy one records
			// nothing new.
			if tc.healthy && (len(r.Events) != 1 || r.Events[0].Kind != ReduceOnlyExited) {
				t.Errorf("events %+v, want one reduce_only_exited", r.Events)
			}
			if !tc.healthy && len(r.Events) != 0 {
				t.Errorf("events %+v, want none", r.Events)
			}
		})
	}
}

func TestExplanationCarriesInputs(t *testing.T) {
	x := mustIndex(t, DefaultParams(), sources(1, 1, 1))
	now := 500 * sec
	feed(t, x, now, q{1, 650000, 3}, q{2, 700000, 1}, q{3, 650100, 0})
	r := x.Compute(now)
	c := r.Constituents[1]
	if c.Name != "kraken" || c.Price != 700000 || c.Age != sec || c.ObservedAt != now-sec || c.Excluded != Deviation || c.WeightUsed != 0 {
		t.Errorf("kraken explanation %+v", c)
	}
	// 700000 vs reference 650100: 49900/650100 = 76,757.4 ppm, rounded up.
	if r.Reference != 650100 || c.Deviation != 76758 {
		t.Errorf("reference %d deviation %d", r.Reference, c.Deviation)
	}
}

// Scenario from the issue: one venue spikes 20% and the index does not move.
func TestScenarioOneVenueSpikes(t *testing.T) {
	x := mustIndex(t, DefaultParams(), sources(1, 1, 1, 1))
	now := 100 * sec
	feed(t, x, now, q{1, 650000, 0}, q{2, 650100, 0}, q{3, 650200, 0}, q{4, 649900, 0})
	before := x.Compute(now)
	now += sec
	feed(t, x, now, q{2, 780120, 0}) // +20%
	after := x.Compute(now)
	if before.Price != 650000 || after.Price != before.Price {
		t.Fatalf("index %d → %d, want 650000 unchanged", before.Price, after.Price)
	}
	if after.Constituents[1].Excluded != Deviation || !after.Healthy {
		t.Errorf("spiking venue %v, healthy %v", after.Constituents[1].Excluded, after.Healthy)
	}
	for _, e := range after.Events {
		t.Errorf("unexpected event %v", e.Kind)
	}
}

// Scenario from the issue: two of three venues go stale → reduce-only (and
// therefore no liquidations) with the index frozen; they return → recovery.
func TestScenarioStaleAndRecovery(t *testing.T) {
	x := mustIndex(t, DefaultParams(), sources(1, 1, 1))
	t0 := 1_000 * sec
	feed(t, x, t0, q{1, 650000, 0}, q{2, 650100, 0}, q{3, 650200, 0})
	r := x.Compute(t0)
	if !r.Healthy || r.Price != 650100 {
		t.Fatalf("start: %+v", r)
	}
	// Only venue 1 keeps quoting for 31 s.
	t1 := t0 + 31*sec
	feed(t, x, t1, q{1, 651000, 0})
	r = x.Compute(t1)
	if r.Healthy || !r.ReduceOnly || !x.ReduceOnly() || r.Fresh != 1 {
		t.Fatalf("after outage: healthy=%v reduceOnly=%v fresh=%d", r.Healthy, r.ReduceOnly, r.Fresh)
	}
	if r.Price != 650100 || !r.Valid {
		t.Errorf("index should stay frozen at 650100, got %d valid=%v", r.Price, r.Valid)
	}
	if len(r.Events) != 1 || r.Events[0].Kind != ReduceOnlyEntered || r.Events[0].Fresh != 1 {
		t.Errorf("events %+v", r.Events)
	}
	// Still out: no repeated event.
	r = x.Compute(t1 + sec)
	if len(r.Events) != 0 || !r.ReduceOnly {
		t.Errorf("repeat: %+v", r.Events)
	}
	// The venues return.
	t2 := t1 + 5*sec
	feed(t, x, t2, q{2, 651100, 0}, q{3, 651200, 0}, q{1, 651000, 0})
	r = x.Compute(t2)
	if !r.Healthy || r.ReduceOnly || x.ReduceOnly() || r.Price != 651100 {
		t.Fatalf("recovery: %+v", r)
	}
	if len(r.Events) != 1 || r.Events[0].Kind != ReduceOnlyExited {
		t.Errorf("events %+v", r.Events)
	}
}

func TestChangeBound(t *testing.T) {
	x := mustIndex(t, DefaultParams(), sources(1, 1, 1))
	now := 10 * sec
	feed(t, x, now, q{1, 650000, 0}, q{2, 650000, 0}, q{3, 650000, 0})
	x.Compute(now)
	// All venues move +3%: 669500. The bound is 1% of 650000 = 6500 per update.
	want := []fixed.Price{656500, 663065, 669500}
	for i, w := range want {
		now += sec
		feed(t, x, now, q{1, 669500, 0}, q{2, 669500, 0}, q{3, 669500, 0})
		r := x.Compute(now)
		if r.Price != w || r.Median != 669500 {
			t.Fatalf("step %d: index %d median %d, want %d", i, r.Price, r.Median, w)
		}
		bounded := len(r.Events) == 1 && r.Events[0].Kind == ChangeBounded && r.Events[0].Wanted == 669500 && r.Events[0].To == w
		if bounded != (i < 2) {
			t.Errorf("step %d: events %+v", i, r.Events)
		}
	}
	// Downward is bounded the same way.
	now += sec
	feed(t, x, now, q{1, 600000, 0}, q{2, 600000, 0}, q{3, 600000, 0})
	if r := x.Compute(now); r.Price != 669500-6695 {
		t.Errorf("down: %d", r.Price)
	}
}

func TestUpdateRules(t *testing.T) {
	x := mustIndex(t, DefaultParams(), sources(1, 1, 1))
	now := 100 * sec
	if _, err := x.Update(Quote{Source: 9, Price: 1, Time: now}, now); err != ErrUnknownSource {
		t.Errorf("unknown source: %v", err)
	}
	if _, err := x.Update(Quote{Source: 1, Price: 0, Time: now}, now); err != ErrBadPrice {
		t.Errorf("zero price: %v", err)
	}
	if ok, _ := x.Update(Quote{Source: 1, Price: 650000, Time: now - sec}, now); !ok {
		t.Error("first quote refused")
	}
	// An older quote arriving late must not replace the newer one.
	if ok, _ := x.Update(Quote{Source: 1, Price: 1, Time: now - 2*sec}, now); ok {
		t.Error("older quote accepted")
	}
	// A quote from a venue clock 10 s ahead is dated now, so it still goes
	// stale 30 s from now, not 40.
	x.Update(Quote{Source: 2, Price: 650000, Time: now + 10*sec}, now)
	x.Update(Quote{Source: 3, Price: 650000, Time: now + 31*sec}, now+31*sec)
	x.Update(Quote{Source: 1, Price: 650000, Time: now + 31*sec}, now+31*sec)
	r := x.Compute(now + 31*sec)
	if c := r.Constituents[1]; c.Excluded != Stale || c.ObservedAt != now {
		t.Errorf("future-dated quote: %+v", c)
	}
}

func TestParamsAndSourcesValidation(t *testing.T) {
	bad := []func(*Params){
		func(p *Params) { p.StaleAfter = 0 },
		func(p *Params) { p.MaxDeviation = 0 },
		func(p *Params) { p.MaxDeviation = fixed.PpmOne },
		func(p *Params) { p.MinSources = 0 },
		func(p *Params) { p.MinIncluded = 4 },
		func(p *Params) { p.MaxChange = 0 },
	}
	for i, f := range bad {
		p := DefaultParams()
		f(&p)
		if _, err := NewIndex(p, sources(1, 1, 1)); err != ErrParams {
			t.Errorf("case %d: %v", i, err)
		}
	}
	if _, err := NewIndex(DefaultParams(), nil); err != ErrSources {
		t.Errorf("no sources: %v", err)
	}
	if _, err := NewIndex(DefaultParams(), []Source{{ID: 1, Weight: 1}, {ID: 1, Weight: 1}}); err != ErrSources {
		t.Errorf("duplicate id: %v", err)
	}
	if _, err := NewIndex(DefaultParams(), []Source{{ID: 1, Weight: MaxWeight + 1}}); err != ErrSources {
		t.Errorf("weight past the limit: %v", err)
	}
	if _, err := NewIndex(DefaultParams(), []Source{{ID: 1, Weight: MaxWeight}}); err != nil {
		t.Errorf("weight at the limit: %v", err)
	}
	many := make([]Source, MaxSources+1)
	for i := range many {
		many[i] = Source{ID: SourceID(i), Weight: 1}
	}
	if _, err := NewIndex(DefaultParams(), many[:MaxSources]); err != nil {
		t.Errorf("at the source limit: %v", err)
	}
	if _, err := NewIndex(DefaultParams(), many); err != ErrSources {
		t.Errorf("past the source limit: %v", err)
	}
}

// Constituents come out in id order whatever the configuration order.
func TestDeterministicOrder(t *testing.T) {
	src := []Source{{ID: 3, Name: "c", Weight: 1}, {ID: 1, Name: "a", Weight: 1}, {ID: 2, Name: "b", Weight: 1}}
	x := mustIndex(t, DefaultParams(), src)
	r := x.Compute(0)
	for i, c := range r.Constituents {
		if c.Source != SourceID(i+1) {
			t.Fatalf("order %v", r.Constituents)
		}
	}
}

// Property: over random quote streams, a healthy unbounded index is the
// price of one included constituent and lies between the included extremes;
// a bounded one moved exactly one step toward the median; an unhealthy one
// did not move; and the reduce-only flag follows the health counts.
func TestIndexProperties(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	p := DefaultParams()
	x := mustIndex(t, p, sources(3, 2, 2, 1, 1))
	now := int64(0)
	base := int64(650000)
	var nUnhealthy, nBounded, nHealthy int
	for i := 0; i < 20000; i++ {
		now += rng.Int64N(3 * sec)
		if rng.IntN(200) == 0 {
			base += base * (rng.Int64N(101) - 50) / 1000 // ±5% regime shift
		}
		src := SourceID(1 + rng.IntN(5))
		price := base + rng.Int64N(2001) - 1000
		if rng.IntN(30) == 0 {
			price = base * (80 + rng.Int64N(41)) / 100 // rogue print
		}
		x.Update(Quote{Source: src, Price: fixed.Price(price), Time: now - rng.Int64N(35*sec)}, now)
		prev, prevValid := x.Last()
		r := x.Compute(now)
		healthy := r.Fresh >= p.MinSources && r.Included >= p.MinIncluded
		if r.Healthy != healthy || r.ReduceOnly != !healthy || x.ReduceOnly() != !healthy {
			t.Fatalf("step %d: health %v with fresh %d included %d", i, r.Healthy, r.Fresh, r.Included)
		}
		if !healthy {
			nUnhealthy++
			if r.Price != prev || r.Valid != prevValid {
				t.Fatalf("step %d: unhealthy index moved %d → %d", i, prev, r.Price)
			}
			continue
		}
		lo, hi, member := fixed.Price(1<<62), fixed.Price(0), false
		for _, c := range r.Constituents {
			if c.WeightUsed == 0 {
				continue
			}
			lo, hi = min(lo, c.Price), max(hi, c.Price)
			member = member || c.Price == r.Median
		}
		if !member || r.Median < lo || r.Median > hi {
			t.Fatalf("step %d: median %d not an included price in [%d, %d]", i, r.Median, lo, hi)
		}
		if !r.Bounded && r.Price != r.Median {
			t.Fatalf("step %d: unbounded index %d ≠ median %d", i, r.Price, r.Median)
		}
		nHealthy++
		if r.Bounded {
			nBounded++
			step := max(int64(prev)*int64(p.MaxChange)/1_000_000, 1)
			d := int64(r.Price - prev)
			if !prevValid || (d != step && d != -step) || (d > 0) != (r.Median > prev) {
				t.Fatalf("step %d: bounded move %d → %d (median %d, step %d)", i, prev, r.Price, r.Median, step)
			}
		}
	}
	// The stream must have visited every regime for the property to mean
	// anything.
	if nUnhealthy < 100 || nBounded < 10 || nHealthy < 1000 {
		t.Errorf("weak coverage: unhealthy %d bounded %d healthy %d", nUnhealthy, nBounded, nHealthy)
	}
}
