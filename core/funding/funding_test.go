package funding

import (
	"math/rand/v2"
	"testing"

	"github.com/sampan-hk/sampan/core/fixed"
)

const sec = int64(1_000_000_000)
const hour = 3600 * sec

// BTC-USD perpetual: tick 0.1 USD, lot 0.001 BTC, micro-USD money, so one
// lot at one tick is 100 micro-USD and 1 lot at 650000 ticks (65,000 USD)
// is 65 USD.
func btc(t testing.TB) *fixed.Spec {
	t.Helper()
	s := &fixed.Spec{
		Tick: fixed.Step{Units: 1, Scale: 1}, Lot: fixed.Step{Units: 1, Scale: 3},
		Multiplier: 1, QuoteDecimals: 6, BaseDecimals: 8, MaxPrice: 100_000_000, MaxQty: 10_000_000,
	}
	if err := s.Validate(); err != nil {
		t.Fatal(err)
	}
	return s
}

func TestPremium(t *testing.T) {
	for _, tc := range []struct {
		name   string
		bid    fixed.Price
		hasBid bool
		ask    fixed.Price
		hasAsk bool
		index  fixed.Price
		want   Rate
	}{
		{"index inside the impact spread: 0", 649900, true, 650100, true, 650000, 0},
		// (650650 − 650000) / 650000 = 0.1% = 1,000,000.
		{"impact bid above index", 650650, true, 650800, true, 650000, 1_000_000},
		{"impact ask below index", 649000, true, 649350, true, 650000, -1_000_000},
		// 1 tick over 650000 = 1538.46… → 1538 (toward zero).
		{"one tick above: truncated toward zero", 650001, true, 650100, true, 650000, 1538},
		{"one tick below: truncated toward zero", 649800, true, 649999, true, 650000, -1538},
		{"thin bid side contributes nothing", 0, false, 649350, true, 650000, -1_000_000},
		{"both sides thin: 0", 0, false, 0, false, 650000, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Premium(tc.bid, tc.hasBid, tc.ask, tc.hasAsk, tc.index)
			if err != nil || got != tc.want {
				t.Errorf("got %d (%v), want %d", got, err, tc.want)
			}
		})
	}
	if _, err := Premium(1, true, 2, true, 0); err != ErrIndex {
		t.Errorf("zero index: %v", err)
	}
}

func TestCap(t *testing.T) {
	for _, tc := range []struct {
		imr, mmr, factor fixed.Ppm
		want             Rate
	}{
		{100_000, 50_000, 750_000, 37_500_000}, // 10% / 5% → 3.75% per 8 h
		{10_000, 5_000, 750_000, 3_750_000},    // BitMEX example: 1% / 0.5% → 0.375%
		{20_000, 12_000, 750_000, 6_000_000},   // dYdX large-cap 2% / 1.2% → 0.6%
		{13_000, 6_500, 750_000, 4_875_000},    // Binance ADAUSDT FAQ: 1.3% / 0.65%
		{100_000, 100_000, 750_000, 0},
	} {
		got, err := Cap(tc.imr, tc.mmr, tc.factor)
		if err != nil || got != tc.want {
			t.Errorf("Cap(%d,%d,%d) = %d (%v), want %d", tc.imr, tc.mmr, tc.factor, got, err, tc.want)
		}
	}
	if _, err := Cap(50_000, 60_000, 750_000); err != ErrMargin {
		t.Errorf("mmr above imr: %v", err)
	}
}

// The rate formula, per 8 h: P̄ + clamp(I − P̄, ±0.05%), then ±cap.
func TestComputeRate(t *testing.T) {
	p := DefaultParams()
	const cap = 37_500_000 // 3.75%
	for _, tc := range []struct {
		name     string
		sum      Rate
		n        int
		adj, out Rate
		capped   bool
	}{
		{"no samples: the interest rate 0.01%", 0, 0, 100_000, 100_000, false},
		{"flat premium: the interest rate", 0, 60, 100_000, 100_000, false},
		{"premium 0.03%: the clamp brings it back to 0.01%", 60 * 300_000, 60, -200_000, 100_000, false},
		{"premium 0.08%: clamp at −0.05% → 0.03%", 60 * 800_000, 60, -500_000, 300_000, false},
		{"premium −0.1%: clamp at +0.05% → −0.05%", 60 * -1_000_000, 60, 500_000, -500_000, false},
		{"premium −0.04%: I − P̄ = 0.05% exactly → 0.01%", 60 * -400_000, 60, 500_000, 100_000, false},
		{"premium 5%: capped at 3.75%", 60 * 50_000_000, 60, -500_000, cap, true},
		{"premium −5%: capped at −3.75%", 60 * -50_000_000, 60, 500_000, -cap, true},
		// 7 samples summing to 1,000,000: 142,857.14 → 142,857.
		{"average truncated toward zero", 1_000_000, 7, -42_857, 100_000, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := ComputeRate(p, tc.sum, tc.n, cap)
			if r.Adjustment != tc.adj || r.Rate != tc.out || r.Capped != tc.capped {
				t.Errorf("adj=%d rate=%d capped=%v, want %d %d %v", r.Adjustment, r.Rate, r.Capped, tc.adj, tc.out, tc.capped)
			}
			if r.Uncapped != r.AvgPremium+r.Adjustment {
				t.Errorf("uncapped %d ≠ avg %d + adj %d", r.Uncapped, r.AvgPremium, r.Adjustment)
			}
		})
	}
}

func TestSamplerOnePerMinute(t *testing.T) {
	s, err := NewSampler(DefaultParams())
	if err != nil {
		t.Fatal(err)
	}
	base := 100 * hour
	take := func(at int64, bid fixed.Price) bool {
		_, ok, err := s.Sample(at, bid, true, 660000, true, 650000)
		if err != nil {
			t.Fatal(err)
		}
		return ok
	}
	if !take(base, 650650) { // +0.1%
		t.Fatal("first sample refused")
	}
	if take(base+59*sec, 700000) { // same minute: ignored
		t.Fatal("second sample in the same minute counted")
	}
	if !take(base+60*sec, 650000) { // 0
		t.Fatal("next minute refused")
	}
	if !take(base+125*sec, 651300) { // +0.2%
		t.Fatal("minute after a gap refused")
	}
	if s.Count() != 3 {
		t.Fatalf("count %d", s.Count())
	}
	// Average 0.1%: adjustment clamp(0.01% − 0.1%) = −0.05% → 0.05%.
	pred := s.Predicted(37_500_000)
	if pred.AvgPremium != 1_000_000 || pred.Rate != 500_000 || s.Count() != 3 {
		t.Errorf("predicted %+v", pred)
	}
	r := s.Close(37_500_000)
	if r != pred || s.Count() != 0 {
		t.Errorf("close %+v, count after %d", r, s.Count())
	}
	if r2 := s.Close(37_500_000); r2.Samples != 0 || r2.Rate != 100_000 {
		t.Errorf("empty interval %+v", r2)
	}
}

func TestNextSettlement(t *testing.T) {
	for _, tc := range []struct{ now, interval, want int64 }{
		{0, hour, hour},
		{hour - 1, hour, hour},
		{hour, hour, 2 * hour}, // strictly after now
		{5*hour + 1, 8 * hour, 8 * hour},
		{-1, hour, 0},
	} {
		if got := NextSettlement(tc.now, tc.interval); got != tc.want {
			t.Errorf("NextSettlement(%d, %d) = %d, want %d", tc.now, tc.interval, got, tc.want)
		}
	}
}

func TestParamsValidate(t *testing.T) {
	bad := []func(*Params){
		func(p *Params) { p.Interval = 0 },
		func(p *Params) { p.Interval = MaxInterval + sec },
		func(p *Params) { p.Interval = hour + 1 }, // not whole seconds
		func(p *Params) { p.SamplePeriod = 0 },
		func(p *Params) { p.SamplePeriod = 2 * hour },
		func(p *Params) { p.InterestClamp = -1 },
		func(p *Params) { p.CapFactor = 0 },
	}
	for i, f := range bad {
		p := DefaultParams()
		f(&p)
		if p.Validate() != ErrParams {
			t.Errorf("case %d accepted", i)
		}
	}
	p := DefaultParams()
	p.Interval = MaxInterval
	if p.Validate() != nil {
		t.Error("interval at the limit refused")
	}
}

func TestImpactPrice(t *testing.T) {
	spec := btc(t)
	// Notional of q lots at p ticks is q × p × 100 micro-USD.
	bids := []Level{{650000, 100}, {649000, 200}, {640000, 1000}}
	asks := []Level{{650100, 100}, {651000, 200}, {660000, 1000}}
	for _, tc := range []struct {
		name     string
		levels   []Level
		side     Side
		notional fixed.Amount
		want     fixed.Price
		ok       bool
	}{
		{"fits in the best bid", bids, Bid, 6_500_000_000, 650000, true},
		// 100 lots at 650000 (6,500 USD) + 3,500 USD at 649000:
		// 10,000e6 × 649000 / (100 × 100 × 649000 + 3,500e6) = 649,649.6… → down.
		{"walks two bid levels, rounded down", bids, Bid, 10_000_000_000, 649649, true},
		// 100 lots at 650100 (6,501 USD) + 3,499 USD at 651000:
		// 10,000e6 × 651000 / (100 × 100 × 651000 + 3,499e6) = 650,414.6… → up.
		{"walks two ask levels, rounded up", asks, Ask, 10_000_000_000, 650415, true},
		{"exactly the whole first level", bids, Bid, 6_500_000_000, 650000, true},
		{"book too thin", bids[:1], Bid, 6_500_000_001, 0, false},
		{"empty book", nil, Ask, 1, 0, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, ok, err := ImpactPrice(spec, tc.levels, tc.notional, tc.side)
			if err != nil || got != tc.want || ok != tc.ok {
				t.Errorf("got %d ok=%v (%v), want %d ok=%v", got, ok, err, tc.want, tc.ok)
			}
		})
	}
	for _, lv := range [][]Level{
		{{650000, 1}, {650000, 1}}, // not strictly worse
		{{649000, 1}, {650000, 1}}, // wrong order for bids
		{{650000, 0}},
	} {
		if _, _, err := ImpactPrice(spec, lv, 1e12, Bid); err != ErrLevels {
			t.Errorf("levels %v: %v", lv, err)
		}
	}
}

func TestSettleTable(t *testing.T) {
	spec := btc(t)
	// Mark 65,000.0 USD. Long 1 BTC (1000 lots) = 65,000 USD notional.
	pos := []Position{{Account: 10, Size: 1000}, {Account: 11, Size: -600}, {Account: 12, Size: -400}, {Account: 13, Size: 0}}
	for _, tc := range []struct {
		name     string
		rate     Rate
		interval int64
		amounts  []fixed.Amount
		residue  fixed.Amount
	}{
		// 0.01%/8 h hourly: 65,000 × 0.0000125 = 0.8125 USD.
		{"positive rate: longs pay shorts", 100_000, hour, []fixed.Amount{-812_500, 487_500, 325_000, 0}, 0},
		{"negative rate: shorts pay longs", -100_000, hour, []fixed.Amount{812_500, -487_500, -325_000, 0}, 0},
		{"8 h interval pays the full 8 h rate", 100_000, 8 * hour, []fixed.Amount{-6_500_000, 3_900_000, 2_600_000, 0}, 0},
		{"zero rate: nothing moves", 0, hour, []fixed.Amount{0, 0, 0, 0}, 0},
		// rate 1 (10^-9 per 8 h) over 1 h: long owes 65e9 × 1 / 8e9 = 8.125 → 9;
		// shorts get 4.875 → 4 and 3.25 → 3; residue 2 to rounding.
		{"rounding: payers up, receivers down, residue to rounding", 1, hour, []fixed.Amount{-9, 4, 3, 0}, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := Settle(spec, pos, 650000, tc.rate, tc.interval)
			if err != nil {
				t.Fatal(err)
			}
			for i, p := range s.Payments {
				if p.Amount != tc.amounts[i] || p.Account != pos[i].Account {
					t.Errorf("payment %d: %+v, want amount %d", i, p, tc.amounts[i])
				}
			}
			if s.Residue != tc.residue || s.Paid-s.Received != s.Residue {
				t.Errorf("residue %d (paid %d received %d), want %d", s.Residue, s.Paid, s.Received, tc.residue)
			}
		})
	}
	if _, err := Settle(spec, []Position{{1, 10}, {2, -9}}, 650000, 1, hour); err != ErrUnbalanced {
		t.Errorf("unbalanced open interest: %v", err)
	}
	if _, err := Settle(spec, pos, 0, 1, hour); err != ErrIndex {
		t.Errorf("zero mark: %v", err)
	}
	if _, err := Settle(spec, pos, 650000, 1, hour+1); err != ErrParams {
		t.Errorf("fractional-second interval: %v", err)
	}
}

// Property: over random balanced position sets, rates, marks and intervals,
// funding is zero-sum (payments plus residue), the residue is between 0 and
// one minor unit per position, and every amount is the exact value rounded
// against its holder (payers' ceiling, receivers' floor) with its sign set by
// side and rate.
func TestSettleZeroSumProperty(t *testing.T) {
	spec := btc(t)
	rng := rand.New(rand.NewPCG(7, 11))
	intervals := []int64{hour, 2 * hour, 8 * hour, 20 * 60 * sec, 7 * sec, 24 * hour}
	for iter := 0; iter < 3000; iter++ {
		n := 2 + rng.IntN(30)
		pos := make([]Position, n)
		var net int64
		for i := 0; i < n-1; i++ {
			pos[i] = Position{Account: uint32(i), Size: fixed.Qty(rng.Int64N(200_001) - 100_000)}
			net += int64(pos[i].Size)
		}
		pos[n-1] = Position{Account: uint32(n - 1), Size: fixed.Qty(-net)}
		mark := fixed.Price(1 + rng.Int64N(2_000_000))
		rate := Rate(rng.Int64N(100_000_001) - 50_000_000)
		iv := intervals[rng.IntN(len(intervals))]
		s, err := Settle(spec, pos, mark, rate, iv)
		if err != nil {
			t.Fatal(err)
		}
		var sum fixed.Amount
		for i, p := range s.Payments {
			sum += p.Amount
			q := int64(pos[i].Size)
			if q < 0 {
				q = -q
			}
			// The exact amount is notional × |rate| × seconds / (28,800 s × 10^9);
			// a payer owes its ceiling, a receiver gets its floor.
			ar := int64(rate)
			if ar < 0 {
				ar = -ar
			}
			num := fixed.MustMul(ar, iv/sec)
			notional := int64(spec.Notional(fixed.Qty(q), mark))
			floor := fixed.MustMulDiv(notional, num, 28_800*1_000_000_000, fixed.Floor)
			ceil := fixed.MustMulDiv(notional, num, 28_800*1_000_000_000, fixed.Ceil)
			mag := int64(p.Amount)
			if mag < 0 {
				mag = -mag
			}
			payer := (pos[i].Size > 0) == (rate > 0)
			if p.Amount != 0 && (p.Amount < 0) != payer {
				t.Fatalf("payment %d has the wrong sign: %+v rate %d", i, p, rate)
			}
			want := floor
			if payer {
				want = ceil
			}
			if q != 0 && mag != want {
				t.Fatalf("payment %d: %d, want magnitude %d (payer %v)", i, p.Amount, want, payer)
			}
		}
		if sum+s.Residue != 0 || s.Residue < 0 || s.Residue > fixed.Amount(n) {
			t.Fatalf("not zero-sum: Σ=%d residue=%d n=%d", sum, s.Residue, n)
		}
	}
}
