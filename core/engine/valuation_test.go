package engine

import (
	"testing"

	"github.com/sampan-hk/sampan/core/book"
	"github.com/sampan-hk/sampan/core/fixed"
	"github.com/sampan-hk/sampan/core/funding"
	"github.com/sampan-hk/sampan/core/ledger"
	"github.com/sampan-hk/sampan/core/oracle"
)

const (
	sec = int64(1e9)
	// t8 is 2026-11-20 08:00:00 UTC, an hourly funding boundary.
	t8 = int64(1795161600) * sec
)

// Venue ids of oracle.DefaultSources.
const (
	coinbase = 1
	kraken   = 2
	bitstamp = 3
	okx      = 4
	binance  = 5
)

func quote(m MarketID, src uint16, px fixed.Price, at int64) Command {
	return Command{Kind: CmdQuote, Market: m, Source: src, Price: px, Observed: at}
}

// at runs one command at time t.
func (h *harness) at(t int64, c Command) Result {
	h.t.Helper()
	h.now = t
	return h.ok(c)
}

func (h *harness) events(k EventKind) []Event {
	var out []Event
	for _, ev := range h.evs {
		if ev.Kind == k {
			out = append(out, ev)
		}
	}
	return out
}

// TestValuationWorkedScenario follows one quote stream by hand through the
// index, the mark and an hourly funding settlement with exact payments
// (the formulas are docs/methodology.md's; every number is derived below).
func TestValuationWorkedScenario(t *testing.T) {
	h := &harness{t: t, e: MustNew(testConfigWith(funding.DefaultParams())), now: t8 - 70*sec}
	a, b, c, mm := h.trader(10_000), h.trader(10_000), h.trader(10_000), h.trader(1_000_000)
	t0 := t8 - 60*sec // 07:59:00

	// The first quote switches BTC to oracle mode. One fresh venue of the
	// three required: unhealthy, so the market announces reduce-only.
	h.at(t0, quote(btc, coinbase, 650_100, t0))
	if ev := h.events(EvMarketMode); len(ev) != 1 || !ev[0].Flag || !h.e.MarketReduceOnly(btc) || !h.e.LiquidationsPaused(btc) {
		t.Fatalf("first quote: mode events %+v", ev)
	}
	h.at(t0, quote(btc, kraken, 650_000, t0))
	// Third venue: healthy. Weighted median of 650000 (w2), 650100 (w3),
	// 650300 (w1): total 6, running 2 (4 < 6) then 5 (10 ≥ 6) → 650100.
	h.at(t0, quote(btc, okx, 650_300, t0))
	if ev := h.events(EvMarketMode); len(ev) != 1 || ev[0].Flag || h.e.MarketReduceOnly(btc) {
		t.Fatalf("third quote: mode events %+v", ev)
	}
	if ix := h.last(EvIndex); ix.Price != 650_100 || !ix.Flag || ix.Detail.Fresh != 3 || ix.Detail.Included != 3 {
		t.Fatalf("index %+v %+v", ix, ix.Detail)
	}
	// Binance at 68,500.0 is 5.37% from the reference: weight 0; the index
	// stays 650100.
	h.at(t0, quote(btc, binance, 685_000, t0))
	for _, ev := range h.events(EvIndexSource) {
		d := ev.Detail
		if d.Source == binance && (d.Excluded != oracle.Deviation || d.WeightUsed != 0 || d.Deviation != 53_685) {
			t.Fatalf("binance constituent %+v", d)
		}
		if d.Source == bitstamp && d.Excluded != oracle.NoQuote {
			t.Fatalf("bitstamp constituent %+v", d)
		}
	}
	if ix := h.last(EvIndex); ix.Price != 650_100 || ix.Detail.Fresh != 4 || ix.Detail.Included != 3 {
		t.Fatalf("index with an outlier %+v %+v", ix, ix.Detail)
	}
	// Mark: rate 0, no mid, no trade → all three estimates are the index.
	if mk := h.last(EvMark); mk.Price != 650_100 || mk.Detail.TimeToFunding != 60*sec || mk.Detail.HasMid || mk.Detail.HasLast {
		t.Fatalf("first mark %+v %+v", mk, mk.Detail)
	}

	// Positions: A buys 3 lots at 65,020.0 from B (1) and C (2); MM quotes
	// 65,000.0 / 65,030.0 one BTC each side.
	h.at(t0+sec, limit(b, btc, book.Sell, 650_200, 1))
	h.at(t0+sec, limit(c, btc, book.Sell, 650_200, 2))
	h.at(t0+sec, limit(mm, btc, book.Buy, 650_000, 1000))
	h.at(t0+sec, limit(mm, btc, book.Sell, 650_300, 1000))
	h.at(t0+sec, ioc(a, btc, book.Buy, 650_200, 3))
	if p := h.position(a, btc); p.Size != 3 {
		t.Fatalf("A position %+v", p)
	}

	// 07:59:30: quotes are exactly 30 s old, still fresh. Mid = 650150, so
	// the basis sample is +50: Price 1 = 650100 (rate 0), Price 2 = 650150,
	// Price 3 = last trade 650200 → median 650150, inside 650100 ± 6501.
	h.at(t0+30*sec, Command{Kind: CmdTick})
	mk := h.last(EvMark)
	if d := mk.Detail; mk.Price != 650_150 || d.FundingPrice != 650_100 || d.BasisAverage != 50 || d.BasisSamples != 1 ||
		d.BasisPrice != 650_150 || d.LastPrice != 650_200 || d.BandLow != 643_599 || d.BandHigh != 656_601 || d.Clamped {
		t.Fatalf("mark %+v %+v", mk, d)
	}
	// Fresh quotes before the boundary so the index stays healthy.
	for _, src := range []uint16{coinbase, kraken, okx} {
		px := map[uint16]fixed.Price{coinbase: 650_100, kraken: 650_000, okx: 650_300}[src]
		h.at(t0+45*sec, quote(btc, src, px, t0+45*sec))
	}
	if h.e.Mark(btc) != 650_150 {
		t.Fatalf("mark before the boundary %d", h.e.Mark(btc))
	}
	roundingBefore := h.e.Ledger().Balance(ledger.USD, ledger.Rounding)
	balA, balB, balC := h.account(a).Collateral, h.account(b).Collateral, h.account(c).Collateral

	// 08:00:00: the tick settles first. One premium sample (07:59, empty
	// book: premium 0) → P̄ = 0, rate = 0 + clamp(0.01% − 0, ±0.05%) =
	// 100,000 per 8 h; hourly pays 1/8 of it at mark 65,015.0:
	//   A long 0.003:  195.045000 × 0.00125% = 0.0024380625 → pays 2439 (up)
	//   B short 0.001:  65.015000 × 0.00125% = 0.0008126875 → gets 812 (down)
	//   C short 0.002: 130.030000 × 0.00125% = 0.001625375  → gets 1625 (down)
	// residue 2439 − 2437 = 2 to the rounding account.
	h.at(t8, Command{Kind: CmdTick})
	fr := h.last(EvFundingRate)
	if d := fr.Detail; d.Rate != 100_000 || d.Samples != 1 || d.AvgPremium != 0 || d.Adjustment != 100_000 || d.Cap != 72_000_000 ||
		d.Paid != 2439 || d.Received != 2437 || d.Residue != 2 || d.At != t8 || d.Interval != 3600*sec || fr.Price != 650_150 {
		t.Fatalf("funding rate %+v %+v", fr, d)
	}
	pays := map[ClientID]fixed.Amount{}
	for _, ev := range h.events(EvFundingPayment) {
		pays[ev.Client] = ev.Amount
	}
	if len(pays) != 3 || pays[a] != -2439 || pays[b] != 812 || pays[c] != 1625 {
		t.Fatalf("payments %v", pays)
	}
	if h.account(a).Collateral != balA-2439 || h.account(b).Collateral != balB+812 || h.account(c).Collateral != balC+1625 ||
		h.e.Ledger().Balance(ledger.USD, ledger.Rounding) != roundingBefore+2 {
		t.Fatal("ledger does not reflect the payments")
	}
	// The tick then revalues with the settled rate: Price 1 = 650100 +
	// trunc(650100 × 100,000 × 1 h / 8 h / 1e9) = 650100 + 8 = 650108.
	if d := h.last(EvMark).Detail; d.Rate != 100_000 || d.TimeToFunding != 3600*sec || d.FundingPrice != 650_108 {
		t.Fatalf("mark after settlement %+v", d)
	}
	f, _ := h.e.Funding(btc)
	if f.Next != t8+3600*sec || f.Rate != 100_000 || len(f.History) != 1 || f.History[0].Residue != 2 {
		t.Fatalf("funding view %+v", f)
	}
	if iv, _ := h.e.Index(btc); !iv.Live || iv.Price != 650_100 || len(iv.Constituents) != 5 {
		t.Fatalf("index view %+v", iv)
	}
	if mv, _ := h.e.MarkInputs(btc); !mv.Oracle || mv.Mark != h.e.Mark(btc) {
		t.Fatalf("mark view %+v", mv)
	}
	// An operator SetMark overrides until the next oracle computation.
	h.mark(btc, 651_000)
	if mv, _ := h.e.MarkInputs(btc); mv.Oracle || mv.Mark != 651_000 {
		t.Fatalf("override %+v", mv)
	}
	h.at(t8+sec, Command{Kind: CmdTick})
	if mv, _ := h.e.MarkInputs(btc); !mv.Oracle {
		t.Fatal("tick did not restore the oracle mark")
	}
}

// A 20% spike on one of four venues moves neither the index nor the mark.
func TestValuationSpikeIgnored(t *testing.T) {
	h := newHarness(t)
	t0 := t8 + 10*sec
	for _, src := range []uint16{coinbase, kraken, bitstamp, okx} {
		h.at(t0, quote(btc, src, 650_000+fixed.Price(src)*10, t0))
	}
	ix0, mark0 := h.last(EvIndex).Price, h.e.Mark(btc)
	// OKX (weight 1 of 8) prints +20%: excluded by the deviation rule, and
	// the weighted median of the rest is the same venue as before.
	h.at(t0+sec, quote(btc, okx, 780_000, t0+sec))
	if ix := h.last(EvIndex); ix.Price != ix0 || !ix.Flag {
		t.Fatalf("index moved: %d → %d", ix0, ix.Price)
	}
	for _, ev := range h.events(EvIndexSource) {
		if ev.Detail.Source == okx && ev.Detail.Excluded != oracle.Deviation {
			t.Fatalf("spike not excluded: %+v", ev.Detail)
		}
	}
	if h.e.Mark(btc) != mark0 {
		t.Fatalf("mark moved %d → %d", mark0, h.e.Mark(btc))
	}
}

// Two of three venues go stale: the market turns reduce-only (orders that
// increase are rejected and change nothing, reducing ones pass, resting
// orders stay), liquidations pause; it recovers when they quote again.
func TestValuationStaleReduceOnly(t *testing.T) {
	h := newHarness(t)
	h.now = t8
	a, b, mm := h.trader(100_000), h.trader(100_000), h.trader(100_000)
	t0 := t8 + 5*sec
	for _, src := range []uint16{coinbase, kraken, bitstamp} {
		h.at(t0, quote(btc, src, 500_000, t0))
	}
	h.at(t0, limit(b, btc, book.Sell, 500_000, 5))
	h.at(t0, ioc(a, btc, book.Buy, 500_000, 5))
	h.at(t0, limit(mm, btc, book.Buy, 499_000, 100))
	h.at(t0+20*sec, quote(btc, coinbase, 500_000, t0+20*sec))
	h.at(t0+31*sec, Command{Kind: CmdTick})
	if ev := h.events(EvMarketMode); len(ev) != 1 || !ev[0].Flag || ev[0].Detail.Fresh != 1 {
		t.Fatalf("mode %+v", ev)
	}
	if !h.e.LiquidationsPaused(btc) {
		t.Fatal("liquidations not paused")
	}
	before := h.e.StateHash()
	h.want(CodeMarketReduceOnly, limit(a, btc, book.Buy, 499_000, 1))
	h.want(CodeMarketReduceOnly, limit(b, btc, book.Sell, 501_000, 1))
	h.want(CodeMarketReduceOnly, limit(a, btc, book.Sell, 501_000, 6)) // would flip A short
	if h.e.StateHash() != before {
		t.Fatal("rejections changed state")
	}
	// Reducing: A sells 2 into MM's resting bid (which stays), B buys 1.
	h.at(t0+32*sec, ioc(a, btc, book.Sell, 499_000, 2))
	if p := h.position(a, btc); p.Size != 3 {
		t.Fatalf("A %+v", p)
	}
	h.at(t0+32*sec, limit(b, btc, book.Buy, 499_500, 1))
	// Recovery.
	h.at(t0+40*sec, quote(btc, kraken, 500_100, t0+40*sec))
	h.at(t0+40*sec, quote(btc, bitstamp, 500_050, t0+40*sec))
	if ev := h.events(EvMarketMode); len(ev) != 1 || ev[0].Flag || h.e.MarketReduceOnly(btc) {
		t.Fatalf("recovery %+v", ev)
	}
	h.at(t0+41*sec, limit(a, btc, book.Buy, 499_000, 1))
}

// Funding is zero-sum at every settlement, whatever the positions: Σ
// payments + residue = 0, the residue is what the rounding account gained,
// payers round up (|paid| ≥ exact) and the ledger stays balanced.
func TestFundingZeroSumProperty(t *testing.T) {
	seeds := 30
	if testing.Short() {
		seeds = 8
	}
	for s := 1; s <= seeds; s++ {
		r := rng(s * 7919)
		h := newHarness(t)
		h.now = t8
		cl := make([]ClientID, 2+r.intn(8))
		for i := range cl {
			cl[i] = h.trader(1_000_000)
		}
		now := t8 + sec
		for _, src := range []uint16{coinbase, kraken, bitstamp} {
			h.at(now, quote(btc, src, 500_000, now))
		}
		for k := 0; k < 40; k++ {
			x, y := cl[r.intn(len(cl))], cl[r.intn(len(cl))]
			q := fixed.Qty(r.between(1, 3000))
			px := fixed.Price(r.between(497_000, 503_000))
			h.at(now, limit(x, btc, book.Sell, px, q))
			h.now = now
			h.do(ioc(y, btc, book.Buy, px, q))
			h.at(now, Command{Kind: CmdCancelAll, Client: x, Market: AllMarkets})
		}
		// Book depth on both sides so premium samples are taken.
		h.at(now, limit(cl[0], btc, book.Buy, fixed.Price(r.between(498_000, 500_000)), 500))
		h.at(now, limit(cl[1], btc, book.Sell, fixed.Price(r.between(500_100, 502_000)), 500))
		rounding := h.e.Ledger().Balance(ledger.USD, ledger.Rounding)
		settled := 0
		interval := h.e.cfg.Funding.Interval
		for tt := now + 10*sec; tt <= now+3*interval; tt += 10 * sec {
			for _, src := range []uint16{coinbase, kraken, bitstamp} {
				h.at(tt, quote(btc, src, 500_000+fixed.Price(r.between(-300, 300)), tt))
				for _, fr := range h.events(EvFundingRate) {
					settled++
					var sum fixed.Amount
					for _, p := range h.events(EvFundingPayment) {
						sum += p.Amount
						if p.Amount != 0 && (p.Amount < 0) != ((p.Size > 0) == (fr.Detail.Rate > 0)) {
							t.Fatalf("seed %d: payment sign %+v rate %d", s, p, fr.Detail.Rate)
						}
					}
					if sum+fr.Detail.Residue != 0 || fr.Detail.Residue < 0 {
						t.Fatalf("seed %d: Σ payments %d + residue %d ≠ 0", s, sum, fr.Detail.Residue)
					}
					now := h.e.Ledger().Balance(ledger.USD, ledger.Rounding)
					if now-rounding != fr.Detail.Residue {
						t.Fatalf("seed %d: rounding account moved %d, residue %d", s, now-rounding, fr.Detail.Residue)
					}
					rounding = now
				}
			}
		}
		if settled < 2 {
			t.Fatalf("seed %d: only %d settlements", s, settled)
		}
	}
}

// Quote validation: unknown market, unknown venue, bad price are typed
// rejections that change nothing.
func TestQuoteRejections(t *testing.T) {
	h := newHarness(t)
	// A tick in manual mode does nothing (but sets engine time).
	h.ok(Command{Kind: CmdTick})
	if len(h.evs) != 0 {
		t.Fatalf("tick in manual mode emitted %d events", len(h.evs))
	}
	before := h.e.StateHash()
	h.want(CodeUnknownMarket, quote(7, coinbase, 1, 0))
	h.want(CodeUnknownSource, quote(btc, 99, 500_000, h.now))
	h.want(CodeInvalidPrice, quote(btc, coinbase, 0, h.now))
	h.want(CodeInvalidPrice, quote(btc, coinbase, h.e.cfg.Markets[btc].Spec.MaxPrice+1, h.now))
	if h.e.StateHash() != before {
		t.Fatal("rejected quotes changed state")
	}
}

// The valuation invariants can fail: corrupt one thing at a time and
// CheckInvariants must notice.
func TestValuationInvariantsDetect(t *testing.T) {
	build := func() *Engine {
		h := newHarness(t)
		h.now = t8 + sec
		for _, src := range []uint16{coinbase, kraken, okx} {
			h.at(h.now, quote(btc, src, 500_000, h.now))
		}
		return h.e
	}
	for _, c := range []struct {
		name    string
		corrupt func(e *Engine)
	}{
		{"mark outside its band", func(e *Engine) { e.markets[btc].mark = e.markets[btc].val.markRes.BandHigh + 1 }},
		{"mode not announced", func(e *Engine) { e.markets[btc].val.reduceOnly = true }},
		{"funding boundary overdue", func(e *Engine) { e.markets[btc].val.nextFunding = e.now }},
		{"next due stale", func(e *Engine) { e.nextDue = noDue }},
		{"rounding negative", func(e *Engine) { e.led.Transfer(ledger.USD, ledger.Rounding, ledger.Fees, 1) }},
	} {
		e := build()
		if err := e.CheckInvariants(); err != nil {
			t.Fatal(err)
		}
		c.corrupt(e)
		if e.CheckInvariants() == nil {
			t.Errorf("%s: not detected", c.name)
		}
	}
}
