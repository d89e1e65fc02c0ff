package lending

import (
	"slices"
	"testing"

	"github.com/sampan-hk/sampan/core/fixed"
)

// Haircuts and lending value, worked by hand (HK$ figures; base micro-HKD).
//
//	1 BTC  × US$100,000 × 7.8 = 780,000  × (1 − 60%) = 312,000
//	10 ETH × US$4,000   × 7.8 = 312,000  × (1 − 65%) = 109,200
//	1000 × 0700.HK × HK$500   = 500,000  × (1 − 30%) = 350,000
//	HK$100,000 cash           = 100,000  × (1 − 0%)  = 100,000
//	1000 × 8888.HK × HK$10    =  10,000  not eligible =      0
//	market value 1,702,000; lending value 871,200;
//	capital view (VA at 100% haircut) 450,000.
//
// The test fails if a haircut is applied the wrong way round, if the FX
// step is skipped (BTC would count 100,000 not 780,000), or if an
// ineligible security or a VA leaks into the capital view.
func TestGoldenLendingValue(t *testing.T) {
	f := newFix(t)
	f.approved(1, 0)
	f.deposit(1, f.BTC, coin)
	f.deposit(1, f.ETH, 10*coin)
	f.deposit(1, f.S700, 1000)
	f.deposit(1, f.HKD, 100_000*hkd)
	f.deposit(1, f.S8888, 1000)
	v := f.val(1)
	if v.MarketValue != 1_702_000*hkd || v.Lending != 871_200*hkd || v.CapitalLending != 450_000*hkd || v.Debit != 0 {
		t.Fatalf("valuation %+v", v)
	}
	want := []fixed.Amount{100_000 * hkd, 0, 312_000 * hkd, 109_200 * hkd, 0, 350_000 * hkd, 0, 0}
	if !slices.Equal(v.PerAsset, want) {
		t.Fatalf("per asset %v, want %v", v.PerAsset, want)
	}
	f.check()
}

// Rounding is down on collateral: 0.12345678 BTC at US$100,000 is
// US$12,345.678000 exactly; at an FX rate of 7.7999 that is
// HK$96,295.0538322 → 96,295,053,832 micro-HKD (the 0.2 micro is dropped),
// and 40% of it is 38,518,021,532.8 → 38,518,021,532.
func TestGoldenLendingValueRoundsDown(t *testing.T) {
	f := newFix(t)
	must(t, f.b.SetPrice(f.now, f.USD, 7_799_900))
	f.approved(1, 0)
	f.deposit(1, f.BTC, 12_345_678)
	v := f.val(1)
	if v.MarketValue != 96_295_053_832 || v.Lending != 38_518_021_532 {
		t.Fatalf("valuation %+v", v)
	}
}

// Margin call and cure.
//
// Client 2 holds 1000 × 0700.HK (LV HK$350,000) and buys 0.5 BTC for
// US$50,000 entirely on margin: USD loan 50,000 → debit HK$390,000; LV after
// the trade 350,000 + 0.5 × 780,000 × 40% = 506,000 ≥ 390,000, accepted.
// Buying a whole BTC instead (debit 780,000 vs LV 662,000) is refused.
//
// 0700.HK falls to HK$300: LV = 1000 × 300 × 70% + 156,000 = 366,000 <
// 390,000 → margin call for HK$24,000, deadline 24 h later. 130% of LV is
// 475,800 > 390,000, so no immediate close-out. While the call is open,
// advances, withdrawals and purchases are refused. Depositing HK$24,000 cash
// brings LV to exactly 390,000: cured.
//
// Then 0700.HK falls to HK$280 (LV 376,000, new call for 14,000); at +23 h
// the call is still only a call (a reminder-free tick); at +24 h the
// deadline has passed and close-out starts with the deadline trigger.
func TestGoldenMarginCallCure(t *testing.T) {
	f := newFix(t)
	f.approved(2, 1_000_000*hkd)
	f.deposit(2, f.S700, 1000)

	h := f.b.Hash()
	if r := f.b.CheckBuy(f.now, 2, f.BTC, coin, 100_000*usd); r != ReasonLendingValue || f.b.Hash() != h {
		t.Fatalf("pre-trade check of 1 BTC: %s", r)
	}
	if r := f.b.CheckBuy(f.now, 2, f.BTC, coin/2, 50_000*usd); r != ReasonOK || f.b.Hash() != h {
		t.Fatalf("pre-trade check of 0.5 BTC: %s", r)
	}
	if o := f.b.Buy(f.now, 2, f.BTC, coin, 100_000*usd); o.Reason != ReasonLendingValue {
		t.Fatalf("1 BTC on margin: %s", o.Reason)
	}
	o := must(t, f.b.Buy(f.now, 2, f.BTC, coin/2, 50_000*usd))
	if !slices.Equal(kinds(o), []EventKind{EvAdvanced, EvBought}) {
		t.Fatalf("events %v", kinds(o))
	}
	if l := f.b.Loan(2, f.USD); l.Balance != 50_000*usd || l.Drawn != 50_000*usd {
		t.Fatalf("loan %+v", l)
	}
	if f.b.Financed(2, f.BTC) != coin/2 {
		t.Fatalf("financed %d", f.b.Financed(2, f.BTC))
	}
	if v := f.val(2); v.Debit != 390_000*hkd || v.Lending != 506_000*hkd {
		t.Fatalf("after buy %+v", v)
	}

	o = must(t, f.b.SetPrice(f.now, f.S700, 300*int64(hkd)))
	e, ok := find(o, EvMarginCallOpened)
	if !ok || e.Client != 2 || e.Short != 24_000*hkd || e.Lending != 366_000*hkd || e.Deadline != f.now+24*nanosPerHour {
		t.Fatalf("call event %+v (found %v)", e, ok)
	}
	if _, hard := find(o, EvCloseOutStarted); hard {
		t.Fatal("close-out below the 130% trigger")
	}
	for name, op := range map[string]func() Outcome{
		"advance":  func() Outcome { return f.b.Advance(f.now, 2, f.HKD, hkd) },
		"withdraw": func() Outcome { return f.b.Withdraw(f.now, 2, f.S700, 100) },
		"buy":      func() Outcome { return f.b.Buy(f.now, 2, f.S5, 400, 40_000*hkd) },
	} {
		h := f.b.Hash()
		if o := op(); o.Reason != ReasonMarginCallOpen || f.b.Hash() != h {
			t.Fatalf("%s during a call: %s", name, o.Reason)
		}
	}
	o = must(t, f.b.Deposit(f.now, 2, f.HKD, 24_000*hkd))
	if e, ok := find(o, EvMarginCallCured); !ok || e.Debit != 390_000*hkd || e.Lending != 390_000*hkd {
		t.Fatalf("cure %+v %v", e, ok)
	}
	if f.b.CallState(2).Open {
		t.Fatal("call still open")
	}
	f.check()

	o = must(t, f.b.SetPrice(f.now, f.S700, 280*int64(hkd)))
	if e, ok := find(o, EvMarginCallOpened); !ok || e.Short != 14_000*hkd {
		t.Fatalf("second call %+v", e)
	}
	start := f.now
	o = f.tick(start + 23*nanosPerHour)
	if _, ok := find(o, EvCloseOutStarted); ok || f.b.CallState(2).ClosingOut {
		t.Fatal("close-out before the deadline")
	}
	o = f.tick(start + 24*nanosPerHour)
	if e, ok := find(o, EvCloseOutStarted); !ok || e.Trigger != TriggerDeadline {
		t.Fatalf("no deadline close-out: %v", kinds(o))
	}
	f.check()
}

// Close-out order, worked by hand.
//
// Client 3 deposits 200 × 0700.HK, 800 × 0005.HK, 0.1 ETH and 0.01 BTC, then
// buys on margin 1 ETH for US$4,000 and 0.1 BTC for US$10,000: USD loan
// 14,000 = HK$109,200; financed 1 ETH and 0.1 BTC.
//
// Crash: BTC US$50,000, ETH US$2,000, 0700.HK HK$300, 0005.HK HK$20.
//
//	LV = 0700 200×300×70% 42,000 + 0005 800×20×80% 12,800
//	   + ETH 1.1×2,000×7.8×35% 6,006 + BTC 0.11×50,000×7.8×40% 17,160 = 77,966
//	130% × 77,966 = 101,355.8 ≤ 109,200 → immediate close-out (hard trigger).
//	need = shortfall 31,234 + buffer 5% × 109,200 = 5,460 → 36,694.
//
// Each sale at the worst price (index − 5%) repays the USD loan and gives up
// the asset's lending value:
//
//	1 financed ETH:  1×1,900×7.8 = 14,820 − 1×2,000×7.8×35% = 5,460 →  9,360 (need 27,334)
//	0.1 financed BTC: 4,750×7.8 = 37,050 − 39,000×40% = 15,600      → 21,450 (need  5,884)
//	0.1 ETH (rest):   190×7.8 = 1,482 − 1,560×35% = 546             →    936 (need  4,948)
//	0.01 BTC (rest):  475×7.8 = 3,705 − 3,900×40% = 1,560           →  2,145 (need  2,803)
//	0700.HK (30% haircut, riskier than 0005.HK at 20%): each share gives
//	HK$285 cash and loses 300×70% = 210 of LV → 75/share, 7,500 per
//	board lot of 100 → one lot covers the 2,803 left. 0005.HK is not sold.
//
// After the fills the USD loan is 14,000 − 7,315 = 6,685 (HK$52,143) and LV is
// 0700 21,000 + 0005 12,800 + HK$28,500 cash = 62,300: the call is cured.
// The test fails if the order changes (e.g. BTC before ETH, securities
// before VA, 0005 before 0700), if a step oversells, or if the sizing
// forgets that a sale also removes lending value.
func TestGoldenCloseOutOrder(t *testing.T) {
	f := newFix(t)
	f.approved(3, 1_000_000*hkd)
	f.deposit(3, f.S700, 200)
	f.deposit(3, f.S5, 800)
	f.deposit(3, f.ETH, coin/10)
	f.deposit(3, f.BTC, coin/100)
	must(t, f.b.Buy(f.now, 3, f.ETH, coin, 4_000*usd))
	must(t, f.b.Buy(f.now, 3, f.BTC, coin/10, 10_000*usd))
	must(t, f.b.SetPrice(f.now, f.BTC, 50_000*int64(usd)))
	must(t, f.b.SetPrice(f.now, f.ETH, 2_000*int64(usd)))
	must(t, f.b.SetPrice(f.now, f.S700, 300*int64(hkd)))
	if _, ok := f.b.CloseOutPlan(3); ok != ReasonNoCloseOut {
		t.Fatalf("plan before close-out: %s", ok)
	}
	o := must(t, f.b.SetPrice(f.now, f.S5, 20*int64(hkd)))
	e, ok := find(o, EvCloseOutStarted)
	if !ok || e.Trigger != TriggerHard || e.Short != 31_234*hkd || e.Lending != 77_966*hkd {
		t.Fatalf("close-out %+v %v", e, ok)
	}
	if ids := f.b.ClosingOut(); !slices.Equal(ids, []ClientID{3}) {
		t.Fatalf("closing out %v", ids)
	}
	// Capital view: VA at 100% → LV 42,000 + 12,800 = 54,800; short 54,400.
	if fv := f.b.Firm(); fv.UnderCall != 1 || fv.ClosingOut != 1 || fv.TotalDebit != 109_200*hkd ||
		fv.CapitalLending != 54_800*hkd || fv.CapitalShort != 54_400*hkd || fv.Multiple != 1_092 {
		t.Fatalf("firm %+v", fv)
	}
	plan, r := f.b.CloseOutPlan(3)
	if r != ReasonOK {
		t.Fatal(r)
	}
	type row struct {
		step  CloseOutStep
		asset AssetID
		qty   fixed.Amount
		worst int64
		cure  fixed.Amount
	}
	want := []row{
		{StepFinancedVA, f.ETH, coin, 1_900 * int64(usd), 9_360 * hkd},
		{StepFinancedVA, f.BTC, coin / 10, 47_500 * int64(usd), 21_450 * hkd},
		{StepETH, f.ETH, coin / 10, 1_900 * int64(usd), 936 * hkd},
		{StepBTC, f.BTC, coin / 100, 47_500 * int64(usd), 2_145 * hkd},
		{StepSecurity, f.S700, 100, 285 * int64(hkd), 7_500 * hkd},
	}
	var got []row
	for _, s := range plan {
		got = append(got, row{s.Step, s.Asset, s.Qty, s.WorstPrice, s.Cure})
	}
	if !slices.Equal(got, want) {
		t.Fatalf("plan\n got %+v\nwant %+v", got, want)
	}
	for i, s := range plan {
		proceeds := fixed.Amount(fixed.MustMulDiv(int64(s.Qty), s.WorstPrice, fixed.Pow10(f.b.Asset(s.Asset).Decimals), fixed.Floor))
		o := must(t, f.b.ApplySale(f.now, 3, s.Asset, s.Qty, proceeds, s.Step))
		if e, _ := find(o, EvSold); e.Step != s.Step {
			t.Fatalf("sale event step %v", e.Step)
		}
		f.check()
		// Cumulative cure 9,360 and 30,810 leave part of the 31,234
		// shortfall; the third sale (31,746) cures the call, and the last
		// two sales build the 5% buffer.
		if open := f.b.CallState(3).Open; open != (i < 2) {
			t.Fatalf("after sale %d call open = %v", i, open)
		}
	}
	if l := f.b.Loan(3, f.USD); l.Balance != 6_685*usd || l.Repaid != 7_315*usd {
		t.Fatalf("loan %+v", l)
	}
	if v := f.val(3); v.Debit != 52_143*hkd || v.Lending != 62_300*hkd {
		t.Fatalf("after close-out %+v", v)
	}
	if f.b.Holding(3, f.S5) != 800 {
		t.Fatal("0005.HK should not have been sold")
	}
}

// Interest across a month end and across 29 Feb 2028, worked by hand.
//
// HK$1,000,000 advanced on Tue 27 Feb 2028 at 8% actual/365. Interest
// accrues on each day's closing balance, in millionths of a micro-HKD,
// rounded up per day:
//
//	daily = ⌈10^12 × 80,000 / 365⌉ = 219,178,082,191,781 fine (HK$219.178082…)
//
// Days 27, 28 and 29 Feb accrue (a leap year: 3 days, not 2), so on 1 Mar
// 3 × daily = 657,534,246,575,343 fine is posted as 657,534,246 micro-HKD
// (HK$657.534246) and 575,343 fine carries. 1 Mar then accrues on the new
// balance 1,000,657,534,246: ⌈…× 80,000 / 365⌉ = 219,322,199,286,795, plus
// the carry = 219,322,199,862,138 → 219,322,199 micro + 862,138 fine.
//
// The same loan in 2027 (no 29 Feb) posts 2 days = 438,356,164 on 1 Mar.
// Ticking day by day and jumping over the month end in one Tick must give
// the same state. The test fails if 29 Feb is skipped, if the day count
// uses 366 in a leap year, if interest posts before the last day of
// February accrues, or if the sub-unit remainder is dropped.
func TestGoldenInterestLeapDay(t *testing.T) {
	run := func(year int64, daily bool) (*fix, Outcome) {
		f := newFixAt(t, at(year, 2, 27, 10))
		f.approved(5, 2_000_000*hkd)
		f.deposit(5, f.S700, 10_000) // LV HK$3,500,000
		must(t, f.b.Advance(f.now, 5, f.HKD, 1_000_000*hkd))
		var post Outcome
		if daily {
			for now := f.now + nanosPerDay; now <= at(year, 3, 1, 10); now += nanosPerDay {
				o := f.tick(now)
				if _, ok := find(o, EvInterestPosted); ok {
					post = o
				}
			}
		} else {
			post = f.tick(at(year, 3, 1, 10))
		}
		f.check()
		return f, post
	}
	for _, daily := range []bool{false, true} {
		f, post := run(2028, daily)
		e, ok := find(post, EvInterestPosted)
		if !ok || e.Amount != 657_534_246 {
			t.Fatalf("daily=%v posted %+v", daily, e)
		}
		if l := f.b.Loan(5, f.HKD); l.Balance != 1_000_657_534_246 || l.Interest != 657_534_246 || l.AccruedFine != 575_343 || l.AccruedMinor != 0 {
			t.Fatalf("daily=%v loan %+v", daily, l)
		}
		if f.b.LedgerBalance(Account{Kind: AcctInterestIncome}, f.HKD) != 657_534_246 {
			t.Fatal("interest income not posted")
		}
		f.tick(at(2028, 3, 2, 10))
		if f.b.Loan(5, f.HKD).Balance != 1_000_657_534_246 {
			t.Fatal("balance moved before the month end")
		}
		if l := f.b.Loan(5, f.HKD); l.AccruedMinor != 219_322_199 || l.AccruedFine != 862_138 {
			t.Fatalf("daily=%v March accrual %+v", daily, l)
		}
	}
	f, _ := run(2028, false)
	g, _ := run(2028, true)
	if f.b.Loan(5, f.HKD) != g.b.Loan(5, f.HKD) {
		t.Fatal("day-by-day and one-jump accrual differ")
	}
	_, post := run(2027, false)
	if e, _ := find(post, EvInterestPosted); e.Amount != 438_356_164 {
		t.Fatalf("2027 posted %d", e.Amount)
	}
}

// USD uses actual/360: US$100,000 at 7% for one day is
// ⌈10^11 × 70,000 / 360⌉ = 19,444,444,444,445 fine = 19.444444 USD + carry.
func TestGoldenInterestActual360(t *testing.T) {
	f := newFix(t)
	f.approved(6, 2_000_000*hkd)
	f.deposit(6, f.S700, 10_000)
	must(t, f.b.Advance(f.now, 6, f.USD, 100_000*usd))
	f.tick(f.now + nanosPerDay)
	if l := f.b.Loan(6, f.USD); l.AccruedMinor != 19_444_444 || l.AccruedFine != 444_445 {
		t.Fatalf("loan %+v", l)
	}
	f.check()
}
