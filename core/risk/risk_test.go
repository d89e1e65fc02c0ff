package risk

import (
	"testing"

	"github.com/sampan-hk/sampan/core/fixed"
)

const usd = 1_000_000 // micro-USD per dollar

// btc is the BTC-USD-PERP ladder of DefaultConfig: Binance's notional tiers
// and MM rates, leverage capped at 10×.
func btc() Brackets {
	return Brackets{
		{Cap: 50_000 * usd, MaxLeverage: 10, MMR: 4_000},
		{Cap: 250_000 * usd, MaxLeverage: 10, MMR: 5_000},
		{Cap: 3_000_000 * usd, MaxLeverage: 10, MMR: 10_000},
		{Cap: 15_000_000 * usd, MaxLeverage: 10, MMR: 25_000},
		{Cap: 30_000_000 * usd, MaxLeverage: 10, MMR: 50_000},
		{Cap: 80_000_000 * usd, MaxLeverage: 5, MMR: 100_000},
		{Cap: 100_000_000 * usd, MaxLeverage: 4, MMR: 125_000},
		{Cap: 200_000_000 * usd, MaxLeverage: 3, MMR: 150_000},
		{Cap: 300_000_000 * usd, MaxLeverage: 2, MMR: 250_000},
		{Cap: 500_000_000 * usd, MaxLeverage: 1, MMR: 500_000},
	}.WithContinuousAmounts()
}

// BTC: tick 0.1 USD, lot 0.001 BTC → one lot at one tick is 0.0001 USD = 100 micro-USD.
func btcParams() *Params { return &Params{K: 100, Brackets: btc(), TakerFee: 500} }

// Maintenance amounts follow Binance's published "cum" column for these
// tiers: 0, 50, 1,300, 46,300, 421,300, ...
func TestMaintenanceAmountsAreContinuous(t *testing.T) {
	want := []fixed.Amount{0, 50, 1_300, 46_300, 421_300, 1_921_300, 3_921_300, 6_421_300, 26_421_300, 101_421_300}
	bs := btc()
	for i, b := range bs {
		if b.MaintAmount != want[i]*usd {
			t.Errorf("tier %d: amount %d, want %d USD", i, b.MaintAmount, want[i])
		}
	}
	if err := bs.Validate(); err != nil {
		t.Fatal(err)
	}
	broken := btc()
	broken[3].MaintAmount += 1
	if err := broken.Validate(); err != ErrBracketsDiscontinu {
		t.Fatalf("a discontinuous ladder validated: %v", err)
	}
	tooHigh := btc()
	tooHigh[9].MaxLeverage = 3 // IM 33% < MM 50%
	if err := tooHigh.Validate(); err != ErrBracketsLeverage {
		t.Fatalf("IM below MM validated: %v", err)
	}
}

// Margin per tier, worked by hand: MM = notional × rate − amount; IM =
// notional / min(setting, tier max).
func TestMarginPerTier(t *testing.T) {
	bs := btc()
	cases := []struct {
		notional fixed.Amount
		tier     int
		mm, im   fixed.Amount // at a 10× setting
	}{
		{10_000 * usd, 0, 40 * usd, 1_000 * usd},                      // 0.4%
		{50_000 * usd, 0, 200 * usd, 5_000 * usd},                     // cap of tier 0, inclusive
		{50_000*usd + 1, 1, 200*usd + 1, 5_000*usd + 1},               // 250.000005 rounds up to 250.000001, minus 50
		{100_000 * usd, 1, 450 * usd, 10_000 * usd},                   // 500 − 50
		{1_000_000 * usd, 2, 8_700 * usd, 100_000 * usd},              // 10,000 − 1,300
		{20_000_000 * usd, 4, 578_700 * usd, 2_000_000 * usd},         // 1,000,000 − 421,300
		{40_000_000 * usd, 5, 2_078_700 * usd, 8_000_000 * usd},       // 4,000,000 − 1,921,300; 5× max
		{150_000_000 * usd, 7, 16_078_700 * usd, 50_000_000 * usd},    // 22.5M − 6,421,300; 3× max
		{600_000_000 * usd, 10, 198_578_700 * usd, 600_000_000 * usd}, // beyond the limit: last tier's line
	}
	for _, c := range cases {
		if got := bs.Tier(c.notional); got != c.tier {
			t.Errorf("Tier(%d) = %d, want %d", c.notional, got, c.tier)
		}
		if got := bs.MM(c.notional); got != c.mm {
			t.Errorf("MM(%d) = %d, want %d", c.notional, got, c.mm)
		}
		if got := bs.IM(c.notional, 10); got != c.im {
			t.Errorf("IM(%d) = %d, want %d", c.notional, got, c.im)
		}
	}
	// A lower setting wins in every tier where it is below the tier max.
	if got := bs.IM(100_000*usd, 2); got != 50_000*usd {
		t.Errorf("IM at 2× = %d", got)
	}
}

// PnL with average entry: costs are exact notionals, a partial close takes
// a proportional share of cost, a flip opens the remainder at the trade price.
func TestFillRealizesPnL(t *testing.T) {
	p := btcParams()
	var l Line
	steps := []struct {
		q        fixed.Qty
		px       fixed.Price
		realized fixed.Amount
		size     fixed.Qty
		cost     fixed.Amount
	}{
		{1000, 500_000, 0, 1000, 50_000 * usd},              // buy 1 BTC @ 50,000
		{1000, 520_000, 0, 2000, 102_000 * usd},             // buy 1 @ 52,000: entry 51,000
		{-500, 530_000, 1_000 * usd, 1500, 76_500 * usd},    // sell 0.5 @ 53,000: (53,000 − 51,000) × 0.5
		{-2000, 500_000, -1_500 * usd, -500, -25_000 * usd}, // sell 2 @ 50,000: close 1.5 at −1,000, open 0.5 short
		{500, 490_000, 500 * usd, 0, 0},                     // buy 0.5 @ 49,000 closes the short: +500
		{-3, 500_001, 0, -3, -150_000_300},                  // short 0.003 @ 50,000.1
		{1, 400_000, 10_000_100, -2, -100_000_200},          // buy back 0.001 @ 40,000: +10.0001 USD
	}
	for i, s := range steps {
		r := l.Fill(p, s.q, s.px)
		if r != s.realized || l.Size != s.size || l.Cost != s.cost {
			t.Fatalf("step %d: realized %d size %d cost %d; want %d %d %d", i, r, l.Size, l.Cost, s.realized, s.size, s.cost)
		}
	}
}

// A partial close whose cost share is not whole rounds the removed cost up
// (against the trader), and the full close removes exactly what is left,
// so the position's lifetime realized PnL is exact.
func TestFillRoundingIsExactOverALifetime(t *testing.T) {
	p := &Params{K: 1, Brackets: btc()}
	var l Line
	l.Fill(p, 3, 7) // cost 21
	l.Fill(p, 1, 8) // cost 29, size 4
	total := l.Fill(p, -1, 9) + l.Fill(p, -1, 9) + l.Fill(p, -2, 9)
	if want := fixed.Amount(4*9 - 29); total != want || l.Cost != 0 || l.Size != 0 {
		t.Fatalf("lifetime realized %d, want %d (cost left %d)", total, want, l.Cost)
	}
}

// Worst case for resting orders: each side's scenario is IM of the
// resulting position plus the open loss versus mark plus the taker fee.
func TestWorstCaseOfOpenOrders(t *testing.T) {
	p := btcParams()
	mark := fixed.Price(500_000) // 50,000
	l := Line{Leverage: 10}
	// Buy 1 BTC at 51,000 (1,000 above mark): IM 5,000 + loss 1,000 + fee 25.5.
	l.AddOrder(p, true, false, 510_000, 1000, +1)
	req, _, _ := l.WorstCase(p, mark)
	if want := fixed.Amount(5_000*usd + 1_000*usd + 25_500_000); req != want {
		t.Fatalf("buy worst case %d, want %d", req, want)
	}
	// A sell of 0.4 at 50,500 does not add: the short scenario (0.4 short)
	// needs 2,000 + 0 loss + 10.1 fee, less than the buy scenario.
	l.AddOrder(p, false, false, 505_000, 400, +1)
	if r2, _, _ := l.WorstCase(p, mark); r2 != req {
		t.Fatalf("the smaller side changed the requirement: %d", r2)
	}
	// With a 1 BTC long, the resting sell reduces it: long scenario 2 BTC.
	l.Size, l.Cost = 1000, 50_000*usd
	r3, _, _ := l.WorstCase(p, mark)
	if want := fixed.Amount(10_000*usd + 1_000*usd + 25_500_000); r3 != want {
		t.Fatalf("with a position: %d, want %d", r3, want)
	}
	// Removing everything gives back the position's own IM.
	l.AddOrder(p, true, false, 510_000, 1000, -1)
	l.AddOrder(p, false, false, 505_000, 400, -1)
	if r4, _, _ := l.WorstCase(p, mark); r4 != 5_000*usd {
		t.Fatalf("no orders: %d", r4)
	}
}

// liquidatable is the engine's rule, with the real (rounded) MM function.
func liquidatable(p *Params, l *Line, rest, restMM fixed.Amount, mark fixed.Price) bool {
	eq := rest + l.Unrealized(p, mark)
	return eq < restMM+p.Brackets.MM(p.Notional(l.Size, mark))
}

// The liquidation price separates safe from liquidatable marks: one tick
// past it toward the position's loss is liquidatable, one tick on the
// other side is not. Checked across tiers, sides and other-market terms.
func TestLiquidationPriceIsTheBoundary(t *testing.T) {
	p := btcParams()
	type tc struct {
		size         fixed.Qty
		entry        fixed.Price
		rest, restMM fixed.Amount
	}
	var cases []tc
	for _, size := range []fixed.Qty{1, 1000, 37_123, 400_000, -1, -1000, -37_123, -400_000} {
		for _, lev := range []int64{2, 5, 10, 20} {
			entry := fixed.Price(500_000)
			n := p.Notional(size, entry)
			for _, restMM := range []fixed.Amount{0, 150 * usd} {
				cases = append(cases, tc{size, entry, n / fixed.Amount(lev), restMM})
			}
		}
	}
	for _, c := range cases {
		l := Line{Leverage: 10}
		l.Fill(p, c.size, c.entry)
		px, ok := LiquidationPrice(p, &l, c.rest, c.restMM)
		if !ok {
			// No price: a long that survives even a mark of one tick, or a
			// short already liquidatable there (and so everywhere above).
			if (c.size > 0) == liquidatable(p, &l, c.rest, c.restMM, 1) {
				t.Errorf("%+v: no liquidation price", c)
			}
			continue
		}
		safe, bad := px+1, px-1
		if c.size < 0 {
			safe, bad = px-1, px+1
		}
		if liquidatable(p, &l, c.rest, c.restMM, safe) || !liquidatable(p, &l, c.rest, c.restMM, bad) {
			t.Errorf("%+v: price %d is not the boundary", c, px)
		}
	}
}
