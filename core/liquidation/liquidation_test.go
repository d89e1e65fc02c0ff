package liquidation

import (
	"testing"

	"github.com/sampan-hk/sampan/core/fixed"
	"github.com/sampan-hk/sampan/core/risk"
)

type xrng uint64

func (r *xrng) next() uint64 {
	*r += 0x9e3779b97f4a7c15
	z := uint64(*r)
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

// The index pops exactly the entries a brute-force scan finds crossed,
// under random sets, moves, removals and pops.
func TestIndexMatchesBruteForce(t *testing.T) {
	const markets, clients = 3, 200
	r := xrng(7)
	x := NewIndex(markets)
	x.Grow(clients)
	type ent struct {
		on   bool
		long bool
		trig int64
	}
	ref := make([]ent, clients*markets)
	for step := 0; step < 20000; step++ {
		c := uint32(r.next() % clients)
		m := int(r.next() % markets)
		switch k := r.next() % 10; {
		case k < 6:
			long, trig := r.next()%2 == 0, int64(r.next()%1000)
			x.Set(c, m, long, trig)
			ref[int(c)*markets+m] = ent{true, long, trig}
		case k < 8:
			x.Remove(c, m)
			ref[int(c)*markets+m] = ent{}
		default:
			mark := int64(r.next() % 1000)
			got := x.PopCrossed(m, mark, nil)
			want := map[uint32]bool{}
			for cc := 0; cc < clients; cc++ {
				e := &ref[cc*markets+m]
				if e.on && ((e.long && mark <= e.trig) || (!e.long && mark >= e.trig)) {
					want[uint32(cc)] = true
					*e = ent{}
				}
			}
			if len(got) != len(want) {
				t.Fatalf("step %d: popped %d, brute force %d", step, len(got), len(want))
			}
			for _, g := range got {
				if !want[g] {
					t.Fatalf("step %d: popped %d, not crossed", step, g)
				}
			}
		}
		n := 0
		for i, e := range ref {
			trig, long, ok := x.Get(uint32(i/markets), i%markets)
			if ok != e.on || (ok && (trig != e.trig || long != e.long)) {
				t.Fatalf("step %d: entry %d = %d/%v/%v, want %+v", step, i, trig, long, ok, e)
			}
			if e.on {
				n++
			}
		}
		if n != x.Len() {
			t.Fatalf("step %d: len %d want %d", step, x.Len(), n)
		}
	}
}

// Hand-worked prices (BTC: K = 100 micro-USD per lot per tick).
func TestPrices(t *testing.T) {
	const k = 100
	// Long 1 BTC (1000 lots) at 50,000, rest 9,975 → (50,000 − 9,975) = 40,025.0.
	if got := BankruptcyPrice(1000, 50_000_000_000, 9_975_000_000, k); got != 400_250 {
		t.Fatalf("long bankruptcy %d", got)
	}
	// Short 10 ETH (1000 lots, K 100) at 3,000, rest 9,562.2 → 3,956.22.
	if got := BankruptcyPrice(-1000, -30_000_000_000, 9_562_200_000, k); got != 395_622 {
		t.Fatalf("short bankruptcy %d", got)
	}
	// A long that no price can bankrupt.
	if got := BankruptcyPrice(1000, 50_000_000_000, 60_000_000_000, k); got != 0 {
		t.Fatalf("solvent long %d", got)
	}
	p := DefaultParams()
	// Equity 0: ABR = 1, offset 1.5 × MM 197.811 = 296.7165 over 10 ETH → 29.67.
	if got := FillablePrice(&p, 395_622, -1000, 197_811_000, 0, 197_811_000, k); got != 395_622+2_967 {
		t.Fatalf("fillable %d", got)
	}
	// Healthy (equity ≥ MM): the mark.
	if got := FillablePrice(&p, 500_000, 1000, 200_000_000, 300_000_000, 200_000_000, k); got != 500_000 {
		t.Fatalf("fillable healthy %d", got)
	}
	// Fee: 1% of 40,150 = 401.5, capped by the surplus 12.5, then by equity.
	if got := Fee(&p, 40_150_000_000, 12_500_000, 1_000_000_000); got != 12_500_000 {
		t.Fatalf("fee %d", got)
	}
	if got := Fee(&p, 40_150_000_000, 500_000_000, -5); got != 0 {
		t.Fatalf("fee at negative equity %d", got)
	}
}

func TestStepQty(t *testing.T) {
	p := DefaultParams()
	bs := risk.Brackets{
		{Cap: 50_000 * usd, MaxLeverage: 10, MMR: 4_000},
		{Cap: 250_000 * usd, MaxLeverage: 10, MMR: 5_000},
		{Cap: 3_000_000 * usd, MaxLeverage: 10, MMR: 10_000},
	}.WithContinuousAmounts()
	const k = 100
	// Tier 1, 1 BTC at 40,000: 10% = 100 lots (≥ 25 lots of 1,000 USD).
	if got := StepQty(&p, bs, 1000, 400_000, k, 100_000*usd); got != 100 {
		t.Fatalf("tier 1 step %d", got)
	}
	// Small: 30 lots → min notional 1,000 USD = 25 lots.
	if got := StepQty(&p, bs, 30, 400_000, k, 100_000*usd); got != 25 {
		t.Fatalf("small step %d", got)
	}
	// Tier 2 with the portion cap lifted: down to ⌊50,000/44.9748⌋ = 1,111 lots.
	p.PortionPpm = fixed.PpmOne
	if got := StepQty(&p, bs, 2000, 449_748, k, 100_000*usd); got != 889 {
		t.Fatalf("tier step %d", got)
	}
	// Budget: 10,000 USD at 44,974.8 → 222 lots.
	if got := StepQty(&p, bs, 2000, 449_748, k, 10_000*usd); got != 222 {
		t.Fatalf("budget step %d", got)
	}
}

// ADL score: profitable and levered first; losers by PnL% / leverage.
func TestScoreAndQuantile(t *testing.T) {
	// 30% PnL, leverage 21,000/18,994.
	if got := Score(9_000*usd, -30_000*usd, 21_000*usd, 18_994*usd); got != 331_683 {
		t.Fatalf("score %d", got)
	}
	hi := Score(1_000*usd, 10_000*usd, 11_000*usd, 1_000*usd)  // +10%, 11×
	lo := Score(1_000*usd, 10_000*usd, 11_000*usd, 11_000*usd) // +10%, 1×
	loser := Score(-1_000*usd, 10_000*usd, 9_000*usd, 1_000*usd)
	if !(hi > lo && lo > loser) {
		t.Fatalf("order %d %d %d", hi, lo, loser)
	}
	for _, c := range []struct {
		r, n int
		q    uint8
	}{{0, 1, 5}, {0, 5, 5}, {1, 5, 4}, {4, 5, 1}, {9, 10, 1}, {5, 10, 3}, {0, 0, 0}} {
		if got := Quantile(c.r, c.n); got != c.q {
			t.Errorf("Quantile(%d,%d) = %d, want %d", c.r, c.n, got, c.q)
		}
	}
}
