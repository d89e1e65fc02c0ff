package engine

import (
	"testing"

	"github.com/sampan-hk/sampan/core/book"
	"github.com/sampan-hk/sampan/core/ledger"
)

// Prices in these scenarios: BTC ticks are 0.1 USD (500_000 = 50,000.0),
// BTC lots 0.001 BTC (1000 = 1 BTC); ETH ticks 0.01 USD (300_000 =
// 3,000.00), ETH lots 0.01 ETH (1000 = 10 ETH). Fees: maker 2 bp, taker 5 bp.

// Golden: PnL and fees on a trade, a mark move and a partial close.
func TestScenarioPnLAndFees(t *testing.T) {
	h := newHarness(t)
	a, b, c := h.trader(10_000), h.trader(10_000), h.trader(10_000)
	h.mark(btc, 500_000)

	// B rests a sell of 1 BTC at 50,000; A lifts it.
	h.ok(limit(b, btc, book.Sell, 500_000, 1000))
	h.ok(limit(a, btc, book.Buy, 500_000, 1000))
	tr := h.last(EvTrade)
	// Notional 50,000: taker 25.00, maker 10.00.
	if tr.TakerFee != 25*usd || tr.MakerFee != 10*usd || tr.Client != a || tr.MakerClient != b {
		t.Fatalf("trade %+v", tr)
	}
	if got := h.account(a).Collateral; got != 9_975*usd {
		t.Fatalf("A collateral %d", got)
	}
	if got := h.account(b).Collateral; got != 9_990*usd {
		t.Fatalf("B collateral %d", got)
	}

	// Mark to 51,000: A +1,000 unrealized, B −1,000.
	h.mark(btc, 510_000)
	if av := h.account(a); av.Unrealized != 1_000*usd || av.Equity != 10_975*usd {
		t.Fatalf("A %+v", av)
	}
	if bv := h.account(b); bv.Unrealized != -1_000*usd || bv.Equity != 8_990*usd {
		t.Fatalf("B %+v", bv)
	}
	// At 51,000 the 1 BTC position is 51,000 notional, just past tier 0's
	// 50,000 cap: tier 1, MM = 0.5% × 51,000 − 50 = 205 (continuous with
	// tier 0's 0.4% × 50,000 = 200 at the cap); IM at 10× is 5,100; nothing
	// rests, so Required = IM and Available = 10,975 − 5,100.
	if av := h.account(a); av.IM != 5_100*usd || av.MM != 205*usd || av.Required != av.IM || av.Available != 5_875*usd || av.Liquidatable {
		t.Fatalf("A margin %+v", av)
	}

	// C bids 0.4 at 51,000; A sells into it: realized 0.4 × 1,000 = 400,
	// taker fee 20,400 × 5 bp = 10.20, maker fee 20,400 × 2 bp = 4.08.
	h.ok(limit(c, btc, book.Buy, 510_000, 400))
	h.ok(ioc(a, btc, book.Sell, 510_000, 400))
	tr = h.last(EvTrade)
	if tr.TakerRealized != 400*usd || tr.MakerRealized != 0 || tr.TakerFee != 10_200_000 || tr.MakerFee != 4_080_000 {
		t.Fatalf("close trade %+v", tr)
	}
	if got := h.account(a).Collateral; got != 10_364_800_000 { // 9,975 + 400 − 10.20
		t.Fatalf("A collateral %d", got)
	}
	pa := h.position(a, btc)
	if pa.Size != 600 || pa.Cost != 30_000*usd || pa.EntryPrice != 500_000 || pa.Realized != 400*usd || pa.Unrealized != 600*usd {
		t.Fatalf("A position %+v", pa)
	}
	// Fees: 25 + 10 + 10.20 + 4.08; the settlement account paid the 400.
	led := h.e.Ledger()
	if got := led.Balance(ledger.USD, ledger.Fees); got != 49_280_000 {
		t.Fatalf("fees %d", got)
	}
	if long, short := h.e.OpenInterest(btc); long != 1000 || short != 1000 {
		t.Fatalf("OI %d/%d", long, short)
	}
}

// Golden: the initial-margin check at 10× with the taker-fee reserve.
func TestScenarioInitialMarginCheck(t *testing.T) {
	h := newHarness(t)
	a, b := h.trader(10_000), h.trader(1_000_000)
	h.mark(btc, 500_000)
	h.ok(limit(b, btc, book.Sell, 500_000, 5000))
	// 2.1 BTC at 50,000: IM 10,500 + fee 52.50 > 10,000.
	h.want(CodeInsufficientMargin, limit(a, btc, book.Buy, 500_000, 2100))
	// 1.99 BTC: IM 9,950 + fee 49.75 = 9,999.75 ≤ 10,000.
	r := h.ok(limit(a, btc, book.Buy, 500_000, 1990))
	if r.Qty != 1990 || h.count(EvTrade) != 1 {
		t.Fatalf("result %+v, %d trades", r, h.count(EvTrade))
	}
	// Now at IM (9,950 vs equity 10,000 − 49.75): one more lot is refused,
	// but a sell that reduces the position is accepted.
	h.want(CodeInsufficientMargin, limit(a, btc, book.Buy, 499_000, 100))
	h.ok(limit(a, btc, book.Sell, 510_000, 500))
	// Lowering leverage to 2× would need 24,875: refused; 10× stays.
	h.want(CodeInsufficientMargin, Command{Kind: CmdSetLeverage, Client: a, Market: btc, Leverage: 2})
	h.want(CodeLeverageOutOfRange, Command{Kind: CmdSetLeverage, Client: a, Market: btc, Leverage: 11})
	h.want(CodeLeverageOutOfRange, Command{Kind: CmdSetLeverage, Client: a, Market: btc, Leverage: 0})
}

// Golden: liquidation price with one position, then with two (cross
// margin: the other position's MM and PnL move it).
func TestScenarioLiquidationPrice(t *testing.T) {
	h := newHarness(t)
	a, mm := h.trader(10_000), h.trader(10_000_000)
	h.mark(btc, 500_000)
	h.mark(eth, 300_000)
	h.ok(limit(mm, btc, book.Sell, 500_000, 1000))
	h.ok(limit(a, btc, book.Buy, 500_000, 1000))
	// Collateral 10,000 − 25 fee = 9,975; long 1 BTC at cost 50,000, tier 0
	// (0.4%, amount 0). Equity = MM where
	//   9,975 + P − 50,000 = 0.004 P  ⇒  P = 40,025 / 0.996 = 40,185.7429…
	// rounded up to the tick: 40,185.8.
	for _, ev := range h.evs {
		if ev.Kind == EvPosition && ev.Client == a && (ev.LiqPrice != 401_858 || ev.Size != 1000) {
			t.Fatalf("position event %+v", ev)
		}
	}
	if got := h.position(a, btc).LiqPrice; got != 401_858 {
		t.Fatalf("one position: liq %d, want 401858", got)
	}
	// Check the boundary by moving the mark: 40,185.8 is safe, 40,185.7 is not.
	h.mark(btc, 401_858)
	if h.account(a).Liquidatable {
		t.Fatal("liquidatable at the liquidation price")
	}
	// One tick below, the mark update itself liquidates the account (the
	// detection index holds exactly this price; liquidation_test.go has the
	// process). Redo the setup for the two-position part.
	h.mark(btc, 401_857)
	if h.count(EvLiquidationStarted) != 1 {
		t.Fatal("not liquidated one tick below")
	}
	h = newHarness(t)
	a, mm = h.trader(10_000), h.trader(10_000_000)
	h.mark(btc, 500_000)
	h.mark(eth, 300_000)
	h.ok(limit(mm, btc, book.Sell, 500_000, 1000))
	h.ok(limit(a, btc, book.Buy, 500_000, 1000))

	// Add a short of 10 ETH at 3,000 (fee 15): collateral 9,960.
	h.ok(limit(mm, eth, book.Buy, 300_000, 1000))
	h.ok(limit(a, eth, book.Sell, 300_000, 1000))
	// BTC: the ETH position adds MM 30,000 × 0.5% = 150 and 0 PnL at mark:
	//   9,960 + P − 50,000 = 0.004 P + 150  ⇒  P = 40,190 / 0.996 = 40,351.4056…
	// → 40,351.5 (up).
	// ETH: the BTC position adds MM 50,000 × 0.4% = 200; short, cost −30,000:
	//   9,960 − n + 30,000 = 0.005 n + 200  ⇒  n = 39,760 / 1.005 = 39,562.189…
	// P = n / 10 = 3,956.2189… → 3,956.21 (down).
	if got := h.position(a, btc).LiqPrice; got != 403_515 {
		t.Fatalf("two positions: BTC liq %d, want 403515", got)
	}
	if got := h.position(a, eth).LiqPrice; got != 395_621 {
		t.Fatalf("two positions: ETH liq %d, want 395621", got)
	}
	// And the boundary holds for ETH too.
	h.mark(eth, 395_621)
	if h.account(a).Liquidatable {
		t.Fatal("liquidatable at the ETH liquidation price")
	}
	h.mark(eth, 395_622)
	if h.count(EvLiquidationStarted) != 1 {
		t.Fatal("not liquidated one tick above the ETH liquidation price")
	}
}

// The professional-investor gate, as a table: who may open, who may only
// reduce, and why a refusal happens.
func TestProfessionalInvestorGate(t *testing.T) {
	h := newHarness(t)
	mm := h.trader(10_000_000)
	h.mark(btc, 500_000)
	h.ok(limit(mm, btc, book.Sell, 505_000, 100_000))
	h.ok(limit(mm, btc, book.Buy, 495_000, 100_000))

	mk := func(class Classification, expiry int64, knowledge bool) ClientID {
		id := h.ok(Command{Kind: CmdCreateClient}).Client
		h.ok(Command{Kind: CmdDeposit, Client: id, Amount: 100_000 * usd})
		h.ok(Command{Kind: CmdSetClassification, Client: id, Class: class, Expiry: expiry})
		h.ok(Command{Kind: CmdSetKnowledge, Client: id, Flag: knowledge})
		return id
	}
	cases := []struct {
		name      string
		class     Classification
		expiry    int64
		knowledge bool
		want      Code
	}{
		{"retail", Retail, h.now + year, true, CodeNotProfessionalInvestor},
		{"individual PI, expired", IndividualPI, h.now, true, CodePIClassificationExpired},
		{"corporate PI, no knowledge", CorporatePI, h.now + year, false, CodeNoDerivativesKnowledge},
		{"institutional PI, knowledge", InstitutionalPI, h.now + year, true, OK},
		{"retail without knowledge: retail is named first", Retail, 0, false, CodeNotProfessionalInvestor},
	}
	for _, c := range cases {
		id := mk(c.class, c.expiry, c.knowledge)
		if r := h.do(limit(id, btc, book.Buy, 505_000, 10)); r.Code != c.want {
			t.Errorf("%s: %v, want %v", c.name, r.Code, c.want)
		}
	}

	// A PI opens a long, then the classification lapses with time: it may
	// still reduce (the order is made reduce-only), never increase.
	id := mk(IndividualPI, h.now+1_000, true)
	h.ok(limit(id, btc, book.Buy, 505_000, 50))
	h.now += 1_000
	h.want(CodePIClassificationExpired, limit(id, btc, book.Buy, 505_000, 1))
	h.want(CodePIClassificationExpired, limit(id, btc, book.Sell, 495_000, 51)) // would flip short
	h.ok(limit(id, btc, book.Sell, 496_000, 20))                                // rests, forced reduce-only
	if ev := h.last(EvOrderAccepted); ev.Flags&FlagReduceOnly == 0 {
		t.Fatalf("an ineligible client's order was not made reduce-only: %+v", ev)
	}
	h.ok(ioc(id, btc, book.Sell, 495_000, 30))
	if got := h.position(id, btc).Size; got != 20 {
		t.Fatalf("size %d", got)
	}
	// A command stamped earlier cannot bring the classification back.
	h.now -= 500
	h.want(CodePIClassificationExpired, limit(id, btc, book.Buy, 505_000, 1))
	if h.e.Now() != h.now+500 {
		t.Fatalf("engine time went backwards: %d", h.e.Now())
	}
}

// Reduce-only orders never increase |position|: rejected with nothing to
// reduce, trimmed to the position, and cut back when the position shrinks.
func TestReduceOnly(t *testing.T) {
	h := newHarness(t)
	a, mm := h.trader(100_000), h.trader(10_000_000)
	h.mark(btc, 500_000)
	ro := func(c Command) Command { c.Flags |= FlagReduceOnly; return c }
	h.want(CodeReduceOnlyWouldIncrease, ro(limit(a, btc, book.Sell, 510_000, 10)))

	h.ok(limit(mm, btc, book.Sell, 500_000, 1000))
	h.ok(limit(a, btc, book.Buy, 500_000, 100)) // long 0.1
	h.want(CodeReduceOnlyWouldIncrease, ro(limit(a, btc, book.Buy, 490_000, 10)))
	r := h.ok(ro(limit(a, btc, book.Sell, 510_000, 150)))
	if r.Qty != 100 {
		t.Fatalf("reduce-only not trimmed to the position: %d", r.Qty)
	}
	// The whole position is now covered by reduce-only sells.
	h.want(CodeReduceOnlyWouldIncrease, ro(limit(a, btc, book.Sell, 511_000, 1)))
	// A plain sell closes 0.06 of the position: the resting reduce-only
	// order is trimmed to 0.04 in place.
	h.ok(limit(mm, btc, book.Buy, 499_000, 60))
	h.ok(ioc(a, btc, book.Sell, 499_000, 60))
	if h.count(EvOrderAmended) != 1 {
		t.Fatalf("reduce-only order not trimmed: %+v", h.evs)
	}
	oo := h.e.OpenOrders(a, nil)
	if len(oo) != 1 || oo[0].Qty != 40 || !oo[0].ReduceOnly {
		t.Fatalf("open orders %+v", oo)
	}
	// Closing the rest cancels it.
	h.ok(limit(mm, btc, book.Buy, 499_000, 40))
	h.ok(ioc(a, btc, book.Sell, 499_000, 40))
	if c := h.last(EvOrderCancelled); c.Code != CodeCancelledEngine {
		t.Fatalf("cancel %+v", c)
	}
	if n := len(h.e.OpenOrders(a, nil)); n != 0 {
		t.Fatalf("%d orders left", n)
	}
}

// Idempotency: a retry returns the stored result and changes nothing; the
// same key with other content is refused; the window is bounded.
func TestIdempotency(t *testing.T) {
	h := newHarness(t)
	a := h.trader(100_000)
	h.mark(btc, 500_000)
	cmd := limit(a, btc, book.Buy, 490_000, 10)
	cmd.Key = 42
	first := h.ok(cmd)
	hash := h.e.StateHash()
	again := h.ok(cmd)
	if !again.Replayed || again.Order != first.Order || len(h.evs) != 0 || h.e.StateHash() != hash {
		t.Fatalf("retry: %+v, %d events", again, len(h.evs))
	}
	other := cmd
	other.Qty = 11
	h.want(CodeIdempotencyConflict, other)
	// A rejected command is not remembered: after the cause is fixed, the
	// same key is evaluated afresh.
	big := limit(a, btc, book.Buy, 490_000, 500_000)
	big.Key = 43
	h.want(CodeInsufficientMargin, big)
	h.ok(Command{Kind: CmdDeposit, Client: a, Amount: 50_000_000 * usd})
	h.ok(big)

	// Fill the window (IdemMax = 256 in tests): keys 42 and 43 plus 254
	// deposits hold it exactly; key 42 is the oldest and is forgotten by
	// the next keyed command.
	for i := 0; i < 254; i++ {
		h.ok(Command{Kind: CmdDeposit, Client: a, Amount: 1, Key: uint64(1000 + i)})
	}
	if r := h.do(cmd); !r.Replayed {
		t.Fatal("key forgotten before the window was full")
	}
	h.ok(Command{Kind: CmdDeposit, Client: a, Amount: 1, Key: 5000})
	cmd.Price = 491_000 // same key, other payload: no longer a conflict
	if r := h.do(cmd); r.Code == CodeIdempotencyConflict || r.Replayed {
		t.Fatalf("key still remembered past the window: %+v", r)
	}
}

// Withdrawals keep equity ≥ the initial requirement and never touch
// unrealized profit; transfers between a client's accounts follow the same
// rule out of derivatives.
func TestWithdrawAndTransfer(t *testing.T) {
	h := newHarness(t)
	a, mm := h.trader(10_000), h.trader(10_000_000)
	h.mark(btc, 500_000)
	h.ok(limit(mm, btc, book.Sell, 500_000, 1000))
	h.ok(limit(a, btc, book.Buy, 500_000, 1000)) // IM 5,000; collateral 9,975
	h.want(CodeInsufficientMargin, Command{Kind: CmdWithdraw, Client: a, Amount: 4_976 * usd})
	h.ok(Command{Kind: CmdWithdraw, Client: a, Amount: 4_975 * usd})
	h.want(CodeInsufficientBalance, Command{Kind: CmdTransfer, Client: a, From: Financing, To: Derivatives, Amount: 1})
	h.mark(btc, 600_000) // +10,000 unrealized: equity 15,000, collateral 5,000
	h.want(CodeInsufficientBalance, Command{Kind: CmdWithdraw, Client: a, Amount: 5_001 * usd})
	h.ok(Command{Kind: CmdTransfer, Client: a, From: Derivatives, To: Financing, Amount: 5_000 * usd})
	if v := h.account(a); v.Collateral != 0 || v.Financing != 5_000*usd {
		t.Fatalf("%+v", v)
	}
	h.ok(Command{Kind: CmdTransfer, Client: a, From: Financing, To: Derivatives, Amount: 1_000 * usd})
	h.want(CodeInvalidAccountKind, Command{Kind: CmdTransfer, Client: a, From: Financing, To: Financing, Amount: 1})
	h.want(CodeInvalidAmount, Command{Kind: CmdWithdraw, Client: a, Amount: 0})
	h.want(CodeUnknownClient, Command{Kind: CmdWithdraw, Client: 99, Amount: 1})
	if d, w := h.e.Ledger().Deposits(ledger.USD), h.e.Ledger().Withdrawals(ledger.USD); d-w != 10_010_000*usd-4_975*usd {
		t.Fatalf("deposits %d withdrawals %d", d, w)
	}
}

// Orders outside the band around mark are refused; market orders are
// bounded by it; nothing trades before a mark exists.
func TestPriceBandAndMark(t *testing.T) {
	h := newHarness(t)
	a, b := h.trader(1_000_000), h.trader(1_000_000)
	h.want(CodeMarkNotSet, limit(a, btc, book.Buy, 500_000, 1))
	h.mark(btc, 500_000) // band 5%: [475,000, 525,000]
	h.want(CodePriceOutOfBand, limit(a, btc, book.Buy, 474_999, 1))
	h.want(CodePriceOutOfBand, limit(a, btc, book.Sell, 525_001, 1))
	h.ok(limit(a, btc, book.Buy, 475_000, 1))
	h.ok(limit(b, btc, book.Sell, 525_000, 1))
	// A market buy trades up to the band edge.
	r := h.ok(Command{Kind: CmdPlaceOrder, Client: a, Market: btc, Side: book.Buy, Type: book.Market, Qty: 1})
	if tr := h.last(EvTrade); tr.Price != 525_000 || r.Order == 0 {
		t.Fatalf("market order %+v", tr)
	}
	h.want(CodeInvalidMark, Command{Kind: CmdSetMark, Market: btc, Price: 0})
	h.want(CodeUnknownMarket, Command{Kind: CmdSetMark, Market: 7, Price: 1})
	h.want(CodeInvalidQty, limit(a, btc, book.Buy, 500_000, 0))
	h.want(CodeQtyTooLarge, limit(a, btc, book.Buy, 500_000, 1_000_001))
}

// Cancel and amend keep the reserved margin equal to the book (checked by
// the harness after each step) and report unknown orders by code.
func TestCancelAndAmend(t *testing.T) {
	h := newHarness(t)
	a, b := h.trader(100_000), h.trader(100_000)
	h.mark(btc, 500_000)
	o1 := h.ok(Command{Kind: CmdPlaceOrder, Client: a, Market: btc, Side: book.Buy, Price: 490_000, Qty: 100, Key: 7}).Order
	before := h.account(a).OrderMargin
	h.ok(Command{Kind: CmdAmendOrder, Client: a, Market: btc, Order: o1, Qty: 200})
	if after := h.account(a).OrderMargin; after <= before {
		t.Fatalf("amend up did not raise reserved margin: %d → %d", before, after)
	}
	h.want(CodeUnknownOrder, Command{Kind: CmdCancelOrder, Client: b, Market: btc, Order: o1})
	h.ok(limit(b, btc, book.Sell, 495_000, 50))
	// Amend to cross: trades 50 with B, rests 150 at 495,000.
	h.ok(Command{Kind: CmdAmendOrder, Client: a, Market: btc, OrigKey: 7, Price: 495_000})
	if h.count(EvTrade) != 1 || h.position(a, btc).Size != 50 {
		t.Fatalf("amend did not trade: %+v", h.evs)
	}
	// Replaying that amend (same key, same payload) must not trade again.
	h.ok(limit(b, btc, book.Sell, 496_000, 10))
	amend := Command{Kind: CmdAmendOrder, Client: a, Market: btc, OrigKey: 7, Price: 496_000, Key: 70}
	h.ok(amend)
	if h.count(EvTrade) != 1 {
		t.Fatalf("keyed amend did not trade: %+v", h.evs)
	}
	if r := h.ok(amend); !r.Replayed || len(h.evs) != 0 || h.position(a, btc).Size != 60 {
		t.Fatalf("amend retry: %+v, %d events, size %d", r, len(h.evs), h.position(a, btc).Size)
	}
	h.ok(Command{Kind: CmdCancelOrder, Client: a, Market: btc, OrigKey: 7})
	if v := h.account(a); v.OrderMargin != 0 || v.OpenOrderCount != 0 {
		t.Fatalf("%+v", v)
	}
	h.ok(limit(a, btc, book.Buy, 480_000, 10))
	h.mark(eth, 300_000)
	h.ok(limit(a, eth, book.Buy, 299_000, 10))
	h.ok(Command{Kind: CmdCancelAll, Client: a, Market: AllMarkets})
	if h.count(EvOrderCancelled) != 2 || len(h.e.OpenOrders(a, nil)) != 0 {
		t.Fatalf("cancel all: %+v", h.evs)
	}
	h.want(CodeUnknownOrder, Command{Kind: CmdCancelOrder, Client: a, Market: btc, Order: o1})
}

// When eligibility ends, resting orders that could increase the position
// are cancelled: at once when an operator removes it, and at the first
// command at or after an expiry. Reduce-only orders stay.
func TestEligibilityLapseCancelsIncreasingOrders(t *testing.T) {
	h := newHarness(t)
	a, mm := h.trader(100_000), h.trader(10_000_000)
	h.mark(btc, 500_000)
	h.ok(limit(mm, btc, book.Sell, 500_000, 100))
	h.ok(limit(a, btc, book.Buy, 500_000, 100)) // long 0.1
	h.ok(limit(a, btc, book.Buy, 490_000, 10))  // would increase
	ro := limit(a, btc, book.Sell, 510_000, 50)
	ro.Flags = FlagReduceOnly
	h.ok(ro)

	// Knowledge cleared by the operator: the buy goes in the same command.
	h.ok(Command{Kind: CmdSetKnowledge, Client: a, Flag: false})
	if c := h.last(EvOrderCancelled); c.Code != CodeCancelledEngine || c.Side != book.Buy {
		t.Fatalf("%+v", h.evs)
	}
	if oo := h.e.OpenOrders(a, nil); len(oo) != 1 || !oo[0].ReduceOnly {
		t.Fatalf("open orders %+v", oo)
	}

	// Eligible again until now+10; a new buy rests; at now+10 the next
	// command (from anyone) first cancels it.
	h.ok(Command{Kind: CmdSetKnowledge, Client: a, Flag: true})
	h.ok(Command{Kind: CmdSetClassification, Client: a, Class: CorporatePI, Expiry: h.now + 10})
	h.ok(limit(a, btc, book.Buy, 490_000, 10))
	h.now += 9
	h.mark(btc, 500_100)
	if h.count(EvOrderCancelled) != 0 {
		t.Fatal("cancelled before the expiry")
	}
	h.now++
	h.mark(btc, 500_200)
	if h.count(EvOrderCancelled) != 1 || h.evs[0].Kind != EvOrderCancelled || h.evs[len(h.evs)-1].Kind != EvMarkSet {
		t.Fatalf("expiry cleanup must come first, then the command: %+v", h.evs)
	}
	// A renewal before expiry keeps orders: the stale heap entry is skipped.
	h.ok(Command{Kind: CmdSetClassification, Client: a, Class: CorporatePI, Expiry: h.now + 10})
	h.ok(limit(a, btc, book.Buy, 490_000, 10))
	h.ok(Command{Kind: CmdSetClassification, Client: a, Class: CorporatePI, Expiry: h.now + 1000})
	h.now += 20
	h.mark(btc, 500_300)
	if h.count(EvOrderCancelled) != 0 {
		t.Fatalf("a renewed client lost orders: %+v", h.evs)
	}
}
