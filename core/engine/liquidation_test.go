package engine

import (
	"bytes"
	"reflect"
	"slices"
	"testing"

	"github.com/sampan-hk/sampan/core/book"
	"github.com/sampan-hk/sampan/core/fixed"
	"github.com/sampan-hk/sampan/core/ledger"
	"github.com/sampan-hk/sampan/core/liquidation"
)

func liquidationZero() liquidation.Params { return liquidation.Params{} }

// Golden liquidation scenarios, worked by hand. BTC: tick 0.1 USD, lot
// 0.001 BTC, so one lot at one tick is K = 0.0001 USD; tier 1 ≤ 50k at
// 0.4% MM, tier 2 ≤ 250k at 0.5% (amount 50). Taker 5 bp, maker 2 bp.
// Liquidation defaults: fee 1% capped at the surplus over bankruptcy, 10%
// of a position (min 1,000 USD) per step, 100k USD per account per call.

// wholeStep is a harness whose liquidation steps are not limited by the
// per-position portion, so each step is one tier (or the whole position).
func wholeStep(t *testing.T) *harness {
	cfg := testConfig()
	for i := range cfg.Markets {
		cfg.Markets[i].Liquidation.PortionPpm = fixed.PpmOne
	}
	return &harness{t: t, e: MustNew(cfg), now: 1_000}
}

func (h *harness) fund(amount fixed.Amount) {
	h.t.Helper()
	h.ok(Command{Kind: CmdFundInsurance, Amount: amount})
}

func (h *harness) countFor(k EventKind, c ClientID) int {
	n := 0
	for _, ev := range h.evs {
		if ev.Kind == k && ev.Client == c {
			n++
		}
	}
	return n
}

func (h *harness) collateral(c ClientID) fixed.Amount { return h.account(c).Collateral }

// One position, default caps, a deep bid at the mark. a: 10,000 deposit,
// buys 1 BTC at 50,000 (fee 25) → collateral 9,975, liquidation price
// 40,185.8 (scenario_test.go). At mark 40,185.7:
//
//	equity = 9,975 + 40,185.7 − 50,000 = 160.7 < MM = 0.4% × 40,185.7 = 160.7428
//	bankruptcy = (50,000 − 9,975) / 1 = 40,025.0
//
// Steps close 10% (at least 25 lots) at the mark, each paying its whole
// surplus over bankruptcy as the fee (1% of notional is larger): the ratio
// equity/MM never improves in tier 1, so the position is closed out in
// this one call (≈ 40k notional < 100k cap). The client's 160.7 ends in
// the fund; the client ends at exactly 0, never below.
func TestLiqOnePosition(t *testing.T) {
	h := newHarness(t)
	a, mm := h.trader(10_000), h.trader(10_000_000)
	h.mark(btc, 500_000)
	h.ok(limit(mm, btc, book.Sell, 500_000, 1000))
	h.ok(limit(a, btc, book.Buy, 500_000, 1000))
	h.ok(limit(a, btc, book.Buy, 480_000, 10)) // a resting order: cancelled at the start
	h.mark(btc, 420_000)
	h.ok(limit(mm, btc, book.Buy, 401_857, 5000))
	h.mark(btc, 401_857)
	st := h.last(EvLiquidationStarted)
	if st.Client != a || st.Equity != 160_700_000 || st.Margin != 160_742_800 || st.Balance != 9_975*usd || st.Price != 401_857 {
		t.Fatalf("started %+v", st)
	}
	if h.countFor(EvOrderCancelled, a) != 1 {
		t.Fatal("open order not cancelled")
	}
	first := h.last(EvLiquidationOrder)
	for _, ev := range h.evs {
		if ev.Kind == EvLiquidationOrder {
			first = ev
			break
		}
	}
	// First step: 100 lots at limit = mark (the fillable offset rounds to
	// 0 ticks), filled at 40,185.7; surplus 0.1 × 160.7 = 16.07 = the fee.
	if first.Qty != 100 || first.Remaining != 0 || first.Price != 401_857 || first.LiqPrice != 400_250 || first.Amount != 16_070_000 || first.Cost != 4_018_570_000 {
		t.Fatalf("first step %+v", first)
	}
	fin := h.last(EvLiquidationFinished)
	if fin.Flag || h.position(a, btc).Size != 0 || h.collateral(a) != 0 {
		t.Fatalf("finished %+v, size %d, collateral %d", fin, h.position(a, btc).Size, h.collateral(a))
	}
	if f := h.e.InsuranceFund(); f.Balance != 160_700_000 {
		t.Fatalf("fund %d, want 160.7", f.Balance)
	}
	if h.count(EvInsuranceTakeover)+h.count(EvDeleveraged) != 0 {
		t.Fatal("the book absorbed everything: no take-over, no ADL")
	}
}

// Cross margin over two markets: a long 1 BTC at 50,000, short 10 ETH at
// 3,000, collateral 9,960; ETH liquidation price 3,956.21 (scenario_test).
// ETH mark 3,956.22:
//
//	equity = 9,960 + 0 − (39,562.2 − 30,000) = 397.8
//	MM     = 200 (BTC) + 0.5% × 39,562.2 = 197.811 → 397.811 > 397.8
//
// The largest MM is BTC's, so BTC goes first though ETH moved:
// bankruptcy = 50,000 − 397.8 = 49,602.2, sold at the 50,000 bid, fee =
// surplus 397.8 → collateral 9,562.2. Then ETH: equity 0 < 197.811;
// bankruptcy (9,562.2 + 30,000) / 10 = 3,956.22 = mark; bought at the
// 3,956.22 ask: realized −9,562.2 → collateral 0, fee 0 (no surplus).
func TestLiqCrossMarginTwoMarkets(t *testing.T) {
	h := wholeStep(t)
	a, mm := h.trader(10_000), h.trader(10_000_000)
	h.mark(btc, 500_000)
	h.mark(eth, 300_000)
	h.ok(limit(mm, btc, book.Sell, 500_000, 1000))
	h.ok(limit(a, btc, book.Buy, 500_000, 1000))
	h.ok(limit(mm, eth, book.Buy, 300_000, 1000))
	h.ok(limit(a, eth, book.Sell, 300_000, 1000))
	h.ok(limit(mm, btc, book.Buy, 500_000, 1000))
	h.mark(eth, 380_000)
	h.ok(limit(mm, eth, book.Sell, 395_622, 1000))
	h.mark(eth, 395_621)
	if h.count(EvLiquidationStarted) != 0 {
		t.Fatal("liquidated at the liquidation price")
	}
	h.mark(eth, 395_622)
	st := h.last(EvLiquidationStarted)
	if st.Market != btc || st.Equity != 397_800_000 || st.Margin != 397_811_000 {
		t.Fatalf("started %+v", st)
	}
	var orders []Event
	for _, ev := range h.evs {
		if ev.Kind == EvLiquidationOrder {
			orders = append(orders, ev)
		}
	}
	if len(orders) != 2 || orders[0].Market != btc || orders[0].LiqPrice != 496_022 || orders[0].Amount != 397_800_000 ||
		orders[1].Market != eth || orders[1].LiqPrice != 395_622 || orders[1].Amount != 0 || orders[1].Remaining != 0 {
		t.Fatalf("orders %+v", orders)
	}
	if h.collateral(a) != 0 || len(h.e.Positions(a, nil)) != 0 || h.e.InsuranceFund().Balance != 397_800_000 {
		t.Fatalf("collateral %d, fund %d", h.collateral(a), h.e.InsuranceFund().Balance)
	}
}

// Partial liquidation stepping down a tier. a: deposit 10,500, buys 2 BTC
// at 50,000 (100k notional, tier 2; fee 50) → collateral 10,450.
//
//	liq: n = (100,000 − 50 − 10,450) / 0.995 = 89,949.75 → P = 44,974.875 → 44,974.9
//
// At mark 44,974.8: equity 10,450 + 89,949.6 − 100,000 = 399.6 <
// MM 0.5% × 89,949.6 − 50 = 399.748. Bankruptcy (100,000 − 10,450)/2 =
// 44,775.0. One tier down: keep ⌊50,000 / 44.9748⌋ = 1,111 lots, sell 889.
// Fillable: ABR = 0.148/399.748 → 370 ppm; offset 1.5 × 399.748 × 370e-6
// = 0.22186 USD over 2 BTC → 0.1 tick → limit 44,974.7, where the bid is.
//
//	proceeds 0.889 × 44,974.7 = 39,982.5083; cost out 44,450 → realized −4,467.4917
//	surplus  39,982.5083 − 0.889 × 44,775 = 177.5333 (< 1% = 399.83) = fee
//	equity   10,450 − 4,467.4917 − 177.5333 + (1.111 × 44,974.8 − 55,550) = 221.9778
//	MM       0.4% × 49,967.0028 = 199.8680112 → 199.868012 ≤ equity: margin restored.
func TestLiqPartialStepsDownATier(t *testing.T) {
	h := wholeStep(t)
	a, mm := h.trader(10_500), h.trader(10_000_000)
	h.mark(btc, 500_000)
	h.ok(limit(mm, btc, book.Sell, 500_000, 2000))
	h.ok(limit(a, btc, book.Buy, 500_000, 2000))
	if liq := h.position(a, btc).LiqPrice; liq != 449_749 {
		t.Fatalf("liq %d", liq)
	}
	h.mark(btc, 460_000)
	h.ok(limit(mm, btc, book.Buy, 449_747, 2000))
	h.mark(btc, 449_748)
	o := h.last(EvLiquidationOrder)
	if o.Qty != 889 || o.Remaining != 0 || o.Price != 449_747 || o.LiqPrice != 447_750 || o.Cost != 39_982_508_300 || o.Amount != 177_533_300 {
		t.Fatalf("order %+v", o)
	}
	fin := h.last(EvLiquidationFinished)
	if !fin.Flag || fin.Equity != 221_977_800 || fin.Margin != 199_868_012 {
		t.Fatalf("finished %+v", fin)
	}
	if p := h.position(a, btc); p.Size != 1111 {
		t.Fatalf("size %d", p.Size)
	}
	if v := h.account(a); v.Liquidating || v.Liquidatable {
		t.Fatalf("account %+v", v)
	}
}

// Insurance take-over: the same 1 BTC long, no bids at all. Every step's
// IOCs find nothing, so the fund takes each step over at the bankruptcy
// price 40,025.0 (a gain at mark 40,185.7). The client ends at exactly 0
// (realized 1 × (40,025 − 50,000) = −9,975); the fund holds 1 BTC long
// at 40,025, worth 160.7 more than it paid.
func TestLiqInsuranceTakeover(t *testing.T) {
	h := newHarness(t)
	a, mm := h.trader(10_000), h.trader(10_000_000)
	h.fund(1_000 * usd)
	h.mark(btc, 500_000)
	h.ok(limit(mm, btc, book.Sell, 500_000, 1000))
	h.ok(limit(a, btc, book.Buy, 500_000, 1000))
	h.mark(btc, 401_857)
	if h.count(EvInsuranceTakeover) == 0 || h.count(EvDeleveraged) != 0 {
		t.Fatal("expected take-overs only")
	}
	tk := h.last(EvInsuranceTakeover)
	if tk.Price != 400_250 || tk.Side != book.Buy {
		t.Fatalf("take-over %+v", tk)
	}
	f := h.e.InsuranceFund()
	if h.collateral(a) != 0 || h.position(a, btc).Size != 0 || f.Balance != 1_000*usd || len(f.Positions) != 1 ||
		f.Positions[0].Size != 1000 || f.Positions[0].Cost != 40_025*usd || f.Equity != 1_160_700_000 {
		t.Fatalf("client %d, fund %+v", h.collateral(a), f)
	}
	if l, s := h.e.OpenInterest(btc); l != 1000 || s != 1000 {
		t.Fatalf("open interest %d/%d", l, s)
	}
}

// Negative equity covered by the fund: a −30% gap from 50,000 to 35,000.
// equity = 9,975 − 15,000 = −5,025; the fund (10,000) takes the whole
// position over at bankruptcy 40,025.0, a loss at mark of 1 × (40,025 −
// 35,000) = 5,025: the client ends at 0, not −5,025.
func TestLiqGapCoveredByFund(t *testing.T) {
	h := wholeStep(t)
	a, mm := h.trader(10_000), h.trader(10_000_000)
	h.fund(10_000 * usd)
	h.mark(btc, 500_000)
	h.ok(limit(mm, btc, book.Sell, 500_000, 1000))
	h.ok(limit(a, btc, book.Buy, 500_000, 1000))
	h.mark(btc, 350_000)
	st := h.last(EvLiquidationStarted)
	if st.Equity != -5_025*usd {
		t.Fatalf("started %+v", st)
	}
	tk := h.last(EvInsuranceTakeover)
	if tk.Qty != 1000 || tk.Price != 400_250 || tk.Amount != 5_025*usd || tk.Realized != -9_975*usd {
		t.Fatalf("take-over %+v", tk)
	}
	if f := h.e.InsuranceFund(); h.collateral(a) != 0 || f.Balance != 10_000*usd || f.Equity != 4_975*usd {
		t.Fatalf("client %d, fund %+v", h.collateral(a), f)
	}
}

// Fund exhausted → ADL ranking and fills. Same gap, the fund holds only
// 2,000 < the 5,025 loss, so the position is deleveraged at 40,025.0
// against the shorts. s1 sold 0.6 BTC with 10,000, s2 0.4 BTC with
// 100,000 (maker fees 6 and 4). At mark 35,000 both made 30%:
//
//	s1: equity 9,994 + 9,000 = 18,994; leverage 21,000/18,994 = 1.105612
//	    score = 300,000 × 1.105612 = 331,683
//	s2: equity 99,996 + 6,000 = 105,996; leverage 14,000/105,996 = 0.132080
//	    score = 300,000 × 0.132080 = 39,624
//
// s1 is first (quantile 5 of 2), then s2 (quantile 3). Each closes at the
// bankruptcy price: s1 realizes 0.6 × 9,975 = 5,985, s2 3,990; a ends at 0.
func TestLiqFundExhaustedADL(t *testing.T) {
	h := wholeStep(t)
	a, s1, s2 := h.trader(10_000), h.trader(10_000), h.trader(100_000)
	h.fund(2_000 * usd)
	h.mark(btc, 500_000)
	h.ok(limit(s1, btc, book.Sell, 500_000, 600))
	h.ok(limit(s2, btc, book.Sell, 500_000, 400))
	h.ok(limit(a, btc, book.Buy, 500_000, 1000))
	// Queue positions before the gap, as published on positions.
	h.mark(btc, 350_000)
	var adl []Event
	for _, ev := range h.evs {
		if ev.Kind == EvDeleveraged {
			adl = append(adl, ev)
		}
	}
	if len(adl) != 2 || h.count(EvInsuranceTakeover) != 0 {
		t.Fatalf("ADL events %+v", adl)
	}
	if adl[0].Client != s1 || adl[0].MakerClient != a || adl[0].Qty != 600 || adl[0].Price != 400_250 || adl[0].Amount != 331_683 ||
		adl[0].Quantile != 5 || adl[0].TakerRealized != 5_985*usd || adl[0].Side != book.Buy {
		t.Fatalf("first ADL %+v", adl[0])
	}
	if adl[1].Client != s2 || adl[1].Qty != 400 || adl[1].Amount != 39_624 || adl[1].Quantile != 3 || adl[1].TakerRealized != 3_990*usd {
		t.Fatalf("second ADL %+v", adl[1])
	}
	if h.collateral(a) != 0 || h.e.InsuranceFund().Balance != 2_000*usd || len(h.e.InsuranceFund().Positions) != 0 {
		t.Fatalf("client %d fund %+v", h.collateral(a), h.e.InsuranceFund())
	}
	if h.collateral(s1) != (9_994+5_985)*usd || h.position(s1, btc).Size != 0 {
		t.Fatalf("s1 %d", h.collateral(s1))
	}
	if h.e.Ledger().Balance(ledger.USD, ledger.Insurance) < 0 {
		t.Fatal("fund negative")
	}
}

// The ADL quantile is published per position (queries and EvAdlQuantile,
// on the Tick every AdlPublishEvery): three shorts ranked by score get
// 5 − ⌊5r/3⌋ = 5, 4, 2; the one long gets 5. Nothing changes on the next
// publication, so nothing is emitted.
func TestLiqAdlQuantileInPositions(t *testing.T) {
	h := newHarness(t)
	a, s1, s2, s3 := h.trader(1_000_000), h.trader(10_000), h.trader(100_000), h.trader(1_000_000)
	h.mark(btc, 500_000)
	h.ok(limit(s1, btc, book.Sell, 500_000, 100))
	h.ok(limit(s2, btc, book.Sell, 500_000, 100))
	h.ok(limit(s3, btc, book.Sell, 500_000, 100))
	h.ok(limit(a, btc, book.Buy, 500_000, 300))
	h.mark(btc, 450_000)
	h.ok(Command{Kind: CmdTick}) // quantiles are published on the Tick
	if h.count(EvAdlQuantile) != 4 {
		t.Fatalf("%d quantile events, want 4", h.count(EvAdlQuantile))
	}
	// All three made 10%; leverage falls with equity: s1 > s2 > s3.
	for _, c := range []struct {
		c ClientID
		q uint8
	}{{s1, 5}, {s2, 4}, {s3, 2}, {a, 5}} {
		if got := h.position(c.c, btc).AdlQuantile; got != c.q {
			t.Errorf("client %d quantile %d, want %d", c.c, got, c.q)
		}
	}
	h.now += AdlPublishEvery
	h.ok(Command{Kind: CmdTick})
	if h.count(EvAdlQuantile) != 0 {
		t.Fatal("unchanged quantiles re-published")
	}
}

// Liquidations pause while the index is unreliable: in oracle mode with
// too few fresh venues the account is queued but not touched; once the
// index is healthy again it is liquidated.
func TestLiqPausedWhileIndexUnreliable(t *testing.T) {
	h := newHarness(t)
	a, mm := h.trader(10_000), h.trader(10_000_000)
	h.mark(btc, 500_000)
	h.ok(limit(mm, btc, book.Sell, 500_000, 1000))
	h.ok(limit(a, btc, book.Buy, 500_000, 1000))
	// Three venues quote 40,000: the index and mark follow (the change
	// bound may hold it back over several quotes); then two go stale.
	quote := func(src uint16, px fixed.Price) {
		h.ok(Command{Kind: CmdQuote, Market: btc, Source: src, Price: px, Observed: h.now})
	}
	quote(1, 500_000)
	quote(2, 500_000)
	quote(3, 500_000)
	if h.e.LiquidationsPaused(btc) {
		t.Fatal("healthy index paused")
	}
	h.now += 31e9 // every quote is stale: the index is unreliable
	h.ok(Command{Kind: CmdTick})
	if !h.e.LiquidationsPaused(btc) {
		t.Fatal("stale index not paused")
	}
	// An operator override moves the mark below the liquidation price.
	h.mark(btc, 400_000)
	if h.count(EvLiquidationStarted) != 0 || !h.account(a).Liquidating {
		t.Fatal("liquidation ran while paused, or the account is not queued")
	}
	h.want(CodeAccountLiquidatable, Command{Kind: CmdWithdraw, Client: a, Amount: 1})
	// The venues come back near 50,000: the trusted mark says the account
	// is healthy, so it leaves the queue untouched (the override during
	// the outage liquidated nothing).
	for _, src := range []uint16{1, 2, 3} {
		quote(src, 495_000)
	}
	if h.account(a).Liquidating || h.position(a, btc).Size != 1000 || h.count(EvLiquidationStarted) != 0 {
		t.Fatalf("account %+v", h.account(a))
	}
	// The venues fall to 40,000; the change bound walks index and mark
	// down quote by quote until the account is liquidatable, and then it
	// is liquidated (the index is healthy).
	for i := 0; i < 200 && h.position(a, btc).Size != 0; i++ {
		h.now += 1e9
		quote(1+uint16(i%3), 400_000)
	}
	if h.position(a, btc).Size != 0 || h.account(a).Liquidating {
		t.Fatalf("not liquidated with a healthy index: %+v, mark %d", h.account(a), h.e.Mark(btc))
	}
}

// Liquidation parameters are validated with the config: the fee is at
// most 1.5%, caps are positive; zero means the defaults.
func TestLiqParamsValidated(t *testing.T) {
	cfg := testConfig()
	cfg.Markets[0].Liquidation.FeePpm = 15_001
	if _, err := New(cfg); err == nil {
		t.Fatal("a 1.5001% fee was accepted")
	}
	cfg = testConfig()
	cfg.Markets[0].Liquidation = liquidationZero()
	if err := cfg.Validate(); err != nil || cfg.Markets[0].Liquidation.FeePpm != 10_000 {
		t.Fatalf("zero params: %v %+v", err, cfg.Markets[0].Liquidation)
	}
	cfg = testConfig()
	cfg.Markets[1].Liquidation.MarketNotional = 0
	if _, err := New(cfg); err == nil {
		t.Fatal("a zero market cap was accepted")
	}
}

// ADL quantile publication cycles (liquidate.go): spread over Ticks, each
// within its work budget, and publishing the ranking defined there.

// adlRef is the brute-force reference ranking: every position of an
// account not in the queue, scored at the given marks with the account as
// it is now, sorted per market side (score descending, then client id).
type adlRef struct {
	q    []uint8 // per line: quantile (0: not ranked)
	rank []int   // per line: rank within its side
}

// adlScores scores the lines of clients [lo, hi) at marks into sides.
func adlScores(e *Engine, marks []fixed.Price, lo, hi int, sides [][]adlEntry) {
	nm := len(e.markets)
	for c := lo; c < hi; c++ {
		if e.clients[c].queued {
			continue
		}
		eq := e.led.Balance(ledger.USD, e.clients[c].deriv)
		for i := 0; i < nm; i++ {
			eq += e.line(ClientID(c), MarketID(i)).Unrealized(&e.markets[i].params, marks[i])
		}
		for i := 0; i < nm; i++ {
			l := e.line(ClientID(c), MarketID(i))
			if l.Size == 0 {
				continue
			}
			p := &e.markets[i].params
			s := liquidation.Score(l.Unrealized(p, marks[i]), l.Cost, p.Notional(l.Size, marks[i]), eq)
			side := 2 * i
			if l.Size < 0 {
				side++
			}
			sides[side] = append(sides[side], adlEntry{score: s, c: ClientID(c)})
		}
	}
}

// rankSides sorts each side with a plain sort and assigns quantiles.
func rankSides(e *Engine, sides [][]adlEntry) adlRef {
	nm := len(e.markets)
	ref := adlRef{q: make([]uint8, len(e.lines)), rank: make([]int, len(e.lines))}
	for s, list := range sides {
		slices.SortFunc(list, func(a, b adlEntry) int {
			if a.score != b.score {
				if a.score > b.score {
					return -1
				}
				return 1
			}
			return int(a.c) - int(b.c)
		})
		for r, en := range list {
			line := int(en.c)*nm + s/2
			ref.q[line], ref.rank[line] = liquidation.Quantile(r, len(list)), r
		}
	}
	return ref
}

func adlBrute(e *Engine, marks []fixed.Price) adlRef {
	sides := make([][]adlEntry, 2*len(e.markets))
	adlScores(e, marks, 1, len(e.clients), sides)
	return rankSides(e, sides)
}

// adlPopulation adds n traders (5k–50k USD) paired long/short in both
// markets at random prices near the marks (so PnL% differs), leverage
// under about 4×, then moves the marks so every score differs.
func adlPopulation(h *harness, r *rng, n int) []ClientID {
	h.mark(btc, 500_000)
	h.mark(eth, 300_000)
	ids := make([]ClientID, n)
	for i := range ids {
		ids[i] = h.trader(r.between(5_000, 50_000))
	}
	for i := 0; i+1 < n; i += 2 {
		for _, m := range []MarketID{btc, eth} {
			px := h.e.Mark(m) + fixed.Price(r.between(-5_000, 5_000))
			q := fixed.Qty(r.between(10, 120)) // BTC 50 USD a lot, ETH 30
			sell, buy := ids[i], ids[i+1]
			if r.chance(50) {
				sell, buy = buy, sell
			}
			h.ok(limit(sell, m, book.Sell, px, q))
			h.ok(limit(buy, m, book.Buy, px, q))
		}
	}
	h.mark(btc, 515_000)
	h.mark(eth, 291_000)
	return ids
}

func (h *harness) marks() []fixed.Price {
	out := make([]fixed.Price, len(h.e.markets))
	for i := range out {
		out[i] = h.e.Mark(MarketID(i))
	}
	return out
}

// adlRunCycle ticks once a second from a due time until the cycle ends,
// calling between before every Tick but the first, and checks each Tick
// stays within its budget (one client or one event of overshoot). It
// returns the cycle's quantile events and the number of Ticks.
func (h *harness) adlRunCycle(between func()) ([]Event, int) {
	h.t.Helper()
	e := h.e
	budget := e.adlc.budget
	if budget <= 0 {
		budget = AdlWorkPerTick
	}
	nm := len(e.markets)
	var evs []Event
	ticks := 0
	for ticks == 0 || e.AdlPublishing() {
		if ticks > 0 && between != nil {
			between()
		}
		next0, done0 := e.adlc.next, adlDone(e)
		if !e.AdlPublishing() {
			next0, done0 = 1, 0 // this Tick starts the cycle
		}
		h.ok(Command{Kind: CmdTick})
		ticks++
		n := 0
		for _, ev := range h.evs {
			if ev.Kind == EvAdlQuantile {
				evs = append(evs, ev)
				n++
			}
		}
		work := (e.adlc.next-next0)*nm + adlDone(e) - done0 + n*adlEventWork
		if work <= 0 && e.AdlPublishing() || work >= budget+nm+adlEventWork {
			h.t.Fatalf("tick %d: work %d (%d events), budget %d", ticks, work, n, budget)
		}
		h.now += 1e9
	}
	return evs, ticks
}

func adlDone(e *Engine) int {
	n := 0
	for _, sd := range e.adlc.sides {
		n += sd.done
	}
	return n
}

// A cycle spread over many Ticks (marks moving between them) publishes
// exactly the brute-force ranking at the marks of its first Tick: every
// quantile, an event for each changed one and no other, in rank order
// side by side; the next cycle starts AdlPublishEvery after this one did.
// With the default budget the cycle fits in one Tick.
func TestAdlCycleMatchesBruteForce(t *testing.T) {
	for _, budget := range []int{1, 7, 64, 0} {
		h := newHarness(t)
		r := rng(uint64(budget) + 1)
		adlPopulation(h, &r, 40)
		h.e.adlc.budget = budget
		minTicks := 1
		if budget > 0 {
			minTicks = 40 * 2 / budget
		}
		for cycle := 0; cycle < 3; cycle++ {
			h.now += AdlPublishEvery
			start := h.now
			want := adlBrute(h.e, h.marks())
			before := slices.Clone(h.e.adlQ)
			evs, ticks := h.adlRunCycle(func() {
				h.mark(MarketID(r.intn(2)), h.e.Mark(MarketID(r.intn(2)))+fixed.Price(r.between(-300, 300)))
			})
			if ticks < minTicks {
				t.Fatalf("budget %d: cycle in %d Ticks, want ≥ %d", budget, ticks, minTicks)
			}
			checkAdlEvents(t, h.e, evs, want, before)
			if !slices.Equal(h.e.adlQ, want.q) {
				t.Fatalf("budget %d cycle %d: published quantiles differ from the brute-force ranking", budget, cycle)
			}
			if h.e.adlNext != start+AdlPublishEvery {
				t.Fatalf("next cycle at %d, want %d", h.e.adlNext, start+AdlPublishEvery)
			}
			h.mark(btc, h.e.Mark(btc)+fixed.Price(r.between(-8_000, 8_000)))
			h.mark(eth, h.e.Mark(eth)+fixed.Price(r.between(-5_000, 5_000)))
		}
	}
}

// checkAdlEvents: one event per line whose quantile changed from before,
// carrying the reference quantile and side, in (side, rank) order.
func checkAdlEvents(t *testing.T, e *Engine, evs []Event, want adlRef, before []uint8) {
	t.Helper()
	nm := len(e.markets)
	changed := 0
	for line, q := range want.q {
		if q != 0 && before[line] != q {
			changed++
		}
	}
	if len(evs) != changed {
		t.Fatalf("%d quantile events, %d quantiles changed", len(evs), changed)
	}
	prev := -1
	for _, ev := range evs {
		line := int(ev.Client)*nm + int(ev.Market)
		side := 2 * int(ev.Market)
		if ev.Side == book.Sell {
			side++
		}
		if ev.Quantile != want.q[line] || before[line] == ev.Quantile || (ev.Size > 0) != (ev.Side == book.Buy) {
			t.Fatalf("event %+v, reference quantile %d, before %d", ev, want.q[line], before[line])
		}
		key := side<<32 | want.rank[line]
		if key <= prev {
			t.Fatalf("events out of rank order at %+v", ev)
		}
		prev = key
	}
}

// adlChurn is a random account change: a crossing trade between two of
// ids near the mark (opening, growing, closing or flipping positions), a
// deposit or a withdrawal; rejections are fine.
func (h *harness) adlChurn(r *rng, ids []ClientID) {
	h.t.Helper()
	a, b := ids[r.intn(len(ids))], ids[r.intn(len(ids))]
	m := MarketID(r.intn(2))
	switch r.intn(4) {
	case 0:
		h.do(Command{Kind: CmdDeposit, Client: a, Amount: fixed.Amount(r.between(1, 5_000) * usd)})
	case 1:
		h.do(Command{Kind: CmdWithdraw, Client: a, Amount: fixed.Amount(r.between(1, 3_000) * usd)})
	default:
		px := h.e.Mark(m) + fixed.Price(r.between(-2_000, 2_000))
		q := fixed.Qty(r.between(1, 150))
		h.do(limit(a, m, book.Sell, px, q))
		h.do(ioc(b, m, book.Buy, px, q))
		h.do(Command{Kind: CmdCancelAll, Client: a, Market: AllMarkets})
	}
}

// Accounts that trade, deposit or withdraw while a cycle is scoring are
// ranked as they stood on the Tick that scored them: the reference scores
// each Tick's clients (the cursor's advance) from the state just before
// that Tick, at the marks of the cycle's first Tick. A position closed or
// flipped after it was scored, or whose account is in liquidation, ends
// at 0; every other ranked position at its reference quantile, and every
// event carries it.
func TestAdlCycleAccountsChangeWhileScoring(t *testing.T) {
	for seed := uint64(1); seed <= 6; seed++ {
		h := newHarness(t)
		r := rng(seed)
		ids := adlPopulation(h, &r, 30)
		h.e.adlc.budget = 5
		h.now += AdlPublishEvery
		frozen := h.marks()
		sides := make([][]adlEntry, 2*len(h.e.markets))
		var evs []Event
		for ticks := 0; ticks == 0 || h.e.AdlPublishing(); ticks++ {
			scoring := ticks == 0 || h.e.adlc.phase == adlScoring
			if scoring && ticks > 0 {
				for k := r.intn(4); k > 0; k-- {
					h.adlChurn(&r, ids)
				}
				h.mark(MarketID(r.intn(2)), h.e.Mark(MarketID(r.intn(2)))+fixed.Price(r.between(-300, 300)))
			}
			lo := h.e.adlc.next
			if ticks == 0 {
				lo = 1
			}
			pre := make([][]adlEntry, len(sides))
			if scoring {
				adlScores(h.e, frozen, 1, len(h.e.clients), pre)
			}
			h.ok(Command{Kind: CmdTick})
			h.now += 1e9
			for s := range pre {
				for _, en := range pre[s] {
					if int(en.c) >= lo && int(en.c) < h.e.adlc.next {
						sides[s] = append(sides[s], en)
					}
				}
			}
			for _, ev := range h.evs {
				if ev.Kind == EvAdlQuantile {
					evs = append(evs, ev)
				}
			}
		}
		want := rankSides(h.e, sides)
		nm := len(h.e.markets)
		for _, ev := range evs {
			if line := int(ev.Client)*nm + int(ev.Market); ev.Quantile != want.q[line] {
				t.Fatalf("seed %d: event %+v, reference %d", seed, ev, want.q[line])
			}
		}
		for line, q := range want.q {
			if q == 0 {
				continue
			}
			l, s := &h.e.lines[line], 0
			if l.Size < 0 {
				s = 1
			}
			same := l.Size != 0 && sides[2*(line%nm)+s] != nil && slices.ContainsFunc(sides[2*(line%nm)+s], func(en adlEntry) bool { return int(en.c) == line/nm })
			if same && !h.e.clients[line/nm].queued {
				if h.e.adlQ[line] != q {
					t.Fatalf("seed %d: line %d published %d, reference %d", seed, line, h.e.adlQ[line], q)
				}
			} else if h.e.adlQ[line] != 0 {
				t.Fatalf("seed %d: line %d closed or flipped since scored, still %d", seed, line, h.e.adlQ[line])
			}
		}
	}
}

// A liquidation while a cycle runs deleverages against the exact current
// ranking, not the cycle's. TestLiqFundExhaustedADL's accounts, but s2 is
// created first: at the cycle's marks (50,000: no PnL, every score 0) s2
// ranks first; at 35,000, where the ADL happens, s1 (more leverage) does,
// and the fills go s1 then s2 with the current quantiles 5 and 3.
func TestAdlMidCycleDeleveragesCurrentRanking(t *testing.T) {
	h := wholeStep(t)
	s2, a, s1 := h.trader(100_000), h.trader(10_000), h.trader(10_000)
	h.fund(2_000 * usd)
	h.mark(btc, 500_000)
	h.ok(limit(s1, btc, book.Sell, 500_000, 600))
	h.ok(limit(s2, btc, book.Sell, 500_000, 400))
	h.ok(limit(a, btc, book.Buy, 500_000, 1000))
	h.e.adlc.budget = 2 // one client a Tick
	h.now += AdlPublishEvery
	h.ok(Command{Kind: CmdTick})
	if !h.e.AdlPublishing() || h.e.adlc.next != 2 {
		t.Fatalf("cycle not under way: %+v", h.e.adlc)
	}
	nm := len(h.e.markets)
	cycle := adlBrute(h.e, h.marks())
	now := h.marks()
	now[btc] = 350_000
	cur := adlBrute(h.e, now)
	l1, l2 := int(s1)*nm, int(s2)*nm
	if cycle.rank[l2] != 0 || cur.rank[l1] != 0 || cur.q[l1] != 5 || cur.q[l2] != 3 {
		t.Fatalf("scenario: cycle ranks %d %d, current %d %d", cycle.rank[l1], cycle.rank[l2], cur.rank[l1], cur.rank[l2])
	}
	h.mark(btc, 350_000)
	var adl []Event
	for _, ev := range h.evs {
		if ev.Kind == EvDeleveraged {
			adl = append(adl, ev)
		}
	}
	if len(adl) != 2 || adl[0].Client != s1 || adl[0].Qty != 600 || adl[0].Price != 400_250 || adl[0].Quantile != cur.q[l1] ||
		adl[1].Client != s2 || adl[1].Qty != 400 || adl[1].Quantile != cur.q[l2] || h.collateral(a) != 0 {
		t.Fatalf("ADL mid-cycle %+v", adl)
	}
	// The cycle goes on; every position it ranked is closed: nothing to publish.
	evs, _ := h.adlRunCycle(nil)
	if len(evs) != 0 || slices.ContainsFunc(h.e.adlQ, func(q uint8) bool { return q != 0 }) {
		t.Fatalf("closed positions published: %+v", evs)
	}
}

// A snapshot taken mid-cycle (scoring or publishing) restores to the same
// state hash and bytes, and the twin then emits the same events and
// reaches the same hashes under the same commands (ticks, trades, marks);
// a byte flipped anywhere in the cycle's encoding is refused or restores
// without panicking.
func TestAdlCycleSnapshotMidCycle(t *testing.T) {
	phases := map[uint8]bool{}
	for _, stop := range []int{1, 7, 19, 24, 35} {
		h := newHarness(t)
		r := rng(uint64(stop))
		ids := adlPopulation(h, &r, 30)
		h.e.adlc.budget = 3
		h.now += AdlPublishEvery
		for i := 0; i < stop; i++ {
			h.ok(Command{Kind: CmdTick})
			h.now += 1e9
		}
		if !h.e.AdlPublishing() {
			t.Fatalf("stop %d: cycle over", stop)
		}
		phases[h.e.adlc.phase] = true
		snap := h.e.AppendSnapshot(nil)
		cyc := h.e.appendAdlCycle(nil)
		at := bytes.LastIndex(snap, cyc)
		tw, err := Restore(testConfig(), snap)
		if err != nil {
			t.Fatalf("stop %d: %v", stop, err)
		}
		tw.adlc.budget = 3
		if tw.StateHash() != h.e.StateHash() || !bytes.Equal(tw.AppendSnapshot(nil), snap) {
			t.Fatalf("stop %d: restored state differs", stop)
		}
		for k := 0; k < 150; k++ {
			var cmd Command
			switch x := r.intn(10); {
			case x < 6:
				cmd = Command{Kind: CmdTick}
				h.now += r.between(1e9, 5e9)
			case x < 8:
				m := MarketID(r.intn(2))
				cmd = Command{Kind: CmdSetMark, Market: m, Price: h.e.Mark(m) + fixed.Price(r.between(-500, 500))}
			default:
				m := MarketID(r.intn(2))
				cmd = Command{Kind: CmdPlaceOrder, Client: ids[r.intn(len(ids))], Market: m, Side: book.Side(r.intn(2)),
					Type: book.Market, Qty: fixed.Qty(r.between(1, 50))}
			}
			r1, ev1 := h.e.Apply(&cmd, h.now)
			ev1 = slices.Clone(ev1)
			r2, ev2 := tw.Apply(&cmd, h.now)
			if r1 != r2 || !reflect.DeepEqual(ev1, ev2) {
				t.Fatalf("stop %d cmd %d %v: twin diverged", stop, k, cmd.Kind)
			}
		}
		if tw.StateHash() != h.e.StateHash() {
			t.Fatalf("stop %d: twin hash diverged", stop)
		}
		if at < 0 {
			t.Fatalf("stop %d: no cycle state in the snapshot", stop)
		}
		if stop%2 == 0 {
			continue
		}
		for i := at - 8 - len(h.e.adlQ); i < at+len(cyc); i += 1 + i%3 {
			if bad, err := Restore(testConfig(), reseal(snap, i, 0xa5)); err == nil && bad.CheckInvariants() != nil {
				t.Fatalf("byte %d: restored an invalid state", i)
			}
		}
	}
	if !phases[adlScoring] || !phases[adlPublishing] {
		t.Fatalf("snapshots did not cover both phases: %v", phases)
	}
}
