package lending

import (
	"testing"

	"github.com/sampan-hk/sampan/core/fixed"
)

// Bad input: each row sets up a fresh book, then runs one operation that
// must be rejected with exactly the named reason and leave the book's state
// hash unchanged. A row fails if the check is missing (the operation is
// applied), if a different check fires first (wrong reason), or if the
// operation mutates anything before rejecting.
func TestRejections(t *testing.T) {
	// base: client 1 approved for HK$1m, holding 1000 × 0700.HK (LV 350,000).
	base := func(f *fix) {
		f.approved(1, 1_000_000*hkd)
		f.deposit(1, f.S700, 1000)
	}
	unapproved := func(f *fix) {
		must(f.t, f.b.OpenClient(f.now, 1, 0))
		must(f.t, f.b.SetAssessment(f.now, 1, Assessment{Grade: "B", AssessedAt: f.now, NextReview: f.now + nanosPerDay, Limit: hkd}))
		f.deposit(1, f.S700, 1000)
	}
	cases := []struct {
		name  string
		setup func(f *fix)
		op    func(f *fix) Outcome
		want  Reason
	}{
		{"BTC haircut 59.99%", nil, func(f *fix) Outcome {
			return f.b.SetCollateral(f.now, f.BTC, Collateral{true, 599_900, fixed.PpmOne})
		}, ReasonHaircutBelowFloor},
		{"ETH haircut 0%", nil, func(f *fix) Outcome {
			return f.b.SetCollateral(f.now, f.ETH, Collateral{true, 0, fixed.PpmOne})
		}, ReasonHaircutBelowFloor},
		{"BTC ineligible row below floor", nil, func(f *fix) Outcome {
			return f.b.SetCollateral(f.now, f.BTC, Collateral{false, 100_000, fixed.PpmOne})
		}, ReasonHaircutBelowFloor},
		{"SOL made eligible even at 100%", nil, func(f *fix) Outcome {
			return f.b.SetCollateral(f.now, f.SOL, Collateral{true, fixed.PpmOne, fixed.PpmOne})
		}, ReasonVANotEligible},
		{"SOL deposited", base, func(f *fix) Outcome { return f.b.Deposit(f.now, 1, f.SOL, coin) }, ReasonVANotEligible},
		{"SOL bought", base, func(f *fix) Outcome { return f.b.Buy(f.now, 1, f.SOL, coin, 150*usd) }, ReasonVANotEligible},
		{"haircut over 100%", nil, func(f *fix) Outcome {
			return f.b.SetCollateral(f.now, f.S700, Collateral{true, fixed.PpmOne + 1, fixed.PpmOne})
		}, ReasonBadHaircut},
		{"negative haircut", nil, func(f *fix) Outcome {
			return f.b.SetCollateral(f.now, f.S700, Collateral{true, -1, fixed.PpmOne})
		}, ReasonBadHaircut},
		{"zero concentration", nil, func(f *fix) Outcome {
			return f.b.SetCollateral(f.now, f.S700, Collateral{true, 300_000, 0})
		}, ReasonBadConcentration},
		{"unknown asset: collateral", nil, func(f *fix) Outcome {
			return f.b.SetCollateral(f.now, 999, Collateral{true, 300_000, fixed.PpmOne})
		}, ReasonUnknownAsset},
		{"unknown asset: price", nil, func(f *fix) Outcome { return f.b.SetPrice(f.now, 999, 1) }, ReasonUnknownAsset},
		{"unknown asset: deposit", base, func(f *fix) Outcome { return f.b.Deposit(f.now, 1, 999, 1) }, ReasonUnknownAsset},
		{"unknown asset: withdraw", base, func(f *fix) Outcome { return f.b.Withdraw(f.now, 1, 999, 1) }, ReasonUnknownAsset},
		{"unknown quote currency", nil, func(f *fix) Outcome {
			_, o := f.b.RegisterAsset(f.now, "0001.HK", Security, 0, "XYZ", 500)
			return o
		}, ReasonUnknownAsset},
		{"duplicate asset", nil, func(f *fix) Outcome {
			_, o := f.b.RegisterAsset(f.now, "BTC", VirtualAsset, 8, "USD", 1)
			return o
		}, ReasonDuplicateAsset},
		{"lower-case asset code", nil, func(f *fix) Outcome {
			_, o := f.b.RegisterAsset(f.now, "btc2", VirtualAsset, 8, "USD", 1)
			return o
		}, ReasonBadAsset},
		{"security quoted in BTC", nil, func(f *fix) Outcome {
			_, o := f.b.RegisterAsset(f.now, "0001.HK", Security, 0, "BTC", 500)
			return o
		}, ReasonBadAsset},
		{"cash quoted in USD", nil, func(f *fix) Outcome {
			_, o := f.b.RegisterAsset(f.now, "EUR", Cash, 6, "USD", 1)
			return o
		}, ReasonBadAsset},
		{"base price", nil, func(f *fix) Outcome { return f.b.SetPrice(f.now, f.HKD, 2) }, ReasonBaseCurrency},
		{"zero price", nil, func(f *fix) Outcome { return f.b.SetPrice(f.now, f.BTC, 0) }, ReasonBadPrice},
		{"unknown client", nil, func(f *fix) Outcome { return f.b.Deposit(f.now, 42, f.HKD, hkd) }, ReasonUnknownClient},
		{"duplicate client", base, func(f *fix) Outcome { return f.b.OpenClient(f.now, 1, 0) }, ReasonDuplicateClient},
		{"zero deposit", base, func(f *fix) Outcome { return f.b.Deposit(f.now, 1, f.HKD, 0) }, ReasonBadAmount},
		{"oversized deposit", base, func(f *fix) Outcome { return f.b.Deposit(f.now, 1, f.HKD, MaxAmount+1) }, ReasonBadAmount},
		{"borrow without assessment", func(f *fix) {
			must(f.t, f.b.OpenClient(f.now, 1, 0))
			f.deposit(1, f.S700, 1000)
		}, func(f *fix) Outcome { return f.b.Advance(f.now, 1, f.HKD, hkd) }, ReasonNoAssessment},
		{"borrow with unapproved assessment", unapproved, func(f *fix) Outcome {
			return f.b.Advance(f.now, 1, f.HKD, hkd)
		}, ReasonAssessmentNotApproved},
		{"margin buy with unapproved assessment", unapproved, func(f *fix) Outcome {
			return f.b.Buy(f.now, 1, f.BTC, coin/100, 1_000*usd)
		}, ReasonAssessmentNotApproved},
		{"borrow with expired assessment", func(f *fix) {
			base(f)
			f.tick(f.now + 366*nanosPerDay)
			for _, a := range []AssetID{f.USD, f.S700} {
				p, _ := f.b.Price(a)
				must(f.t, f.b.SetPrice(f.now, a, p))
			}
		}, func(f *fix) Outcome { return f.b.Advance(f.now, 1, f.HKD, hkd) }, ReasonAssessmentExpired},
		{"approved without approver", func(f *fix) { must(f.t, f.b.OpenClient(f.now, 1, 0)) }, func(f *fix) Outcome {
			return f.b.SetAssessment(f.now, 1, Assessment{Grade: "A", AssessedAt: f.now, NextReview: f.now + 1, Approved: true})
		}, ReasonBadAssessment},
		{"review before assessment", func(f *fix) { must(f.t, f.b.OpenClient(f.now, 1, 0)) }, func(f *fix) Outcome {
			return f.b.SetAssessment(f.now, 1, Assessment{Grade: "A", Approver: "x", AssessedAt: f.now, NextReview: f.now, Approved: true})
		}, ReasonBadAssessment},
		{"VA financing without securities", func(f *fix) {
			f.approved(1, 1_000_000*hkd)
			f.deposit(1, f.HKD, 500_000*hkd)
			f.deposit(1, f.BTC, coin)
		}, func(f *fix) Outcome { return f.b.Buy(f.now, 1, f.BTC, coin/10, 10_000*usd) }, ReasonNeedsSecuritiesCollateral},
		{"credit limit", func(f *fix) {
			base(f)
			must(f.t, f.b.SetAssessment(f.now, 1, Assessment{Grade: "A", Approver: "x", AssessedAt: f.now, NextReview: f.now + nanosPerDay, Limit: 100_000 * hkd, Approved: true}))
		}, func(f *fix) Outcome { return f.b.Advance(f.now, 1, f.HKD, 100_001*hkd) }, ReasonCreditLimit},
		{"credit limit counts other accounts", func(f *fix) {
			base(f)
			must(f.t, f.b.SetOtherExposure(f.now, 1, 999_000*hkd))
		}, func(f *fix) Outcome { return f.b.Advance(f.now, 1, f.HKD, 1_001*hkd) }, ReasonCreditLimit},
		{"lending value", base, func(f *fix) Outcome { return f.b.Advance(f.now, 1, f.HKD, 350_001*hkd) }, ReasonLendingValue},
		{"withdrawal beyond lending value", func(f *fix) {
			base(f)
			must(f.t, f.b.Advance(f.now, 1, f.HKD, 300_000*hkd))
		}, func(f *fix) Outcome { return f.b.Withdraw(f.now, 1, f.S700, 200) }, ReasonLendingValue},
		{"withdraw more than held", base, func(f *fix) Outcome { return f.b.Withdraw(f.now, 1, f.S700, 1001) }, ReasonInsufficientHolding},
		{"repay more than the loan", func(f *fix) {
			base(f)
			must(f.t, f.b.Advance(f.now, 1, f.HKD, 1_000*hkd))
		}, func(f *fix) Outcome { return f.b.Repay(f.now, 1, f.HKD, 1_001*hkd) }, ReasonRepayExceedsLoan},
		{"repay in a security", base, func(f *fix) Outcome { return f.b.Repay(f.now, 1, f.S700, 1) }, ReasonNotCash},
		{"advance a security", base, func(f *fix) Outcome { return f.b.Advance(f.now, 1, f.S700, 1) }, ReasonNotCash},
		{"stale price", func(f *fix) {
			base(f)
			f.tick(f.now + 6*60*1_000_000_000)
		}, func(f *fix) Outcome { return f.b.Advance(f.now, 1, f.HKD, hkd) }, ReasonStalePrice},
		{"no capital", func(f *fix) {
			f.b.capital = 0 // as if SetCapital had never been called
			base(f)
		}, func(f *fix) Outcome { return f.b.Advance(f.now, 1, f.HKD, hkd) }, ReasonNoCapital},
		{"client limit 20% of capital", func(f *fix) {
			must(f.t, f.b.SetCapital(f.now, 1_000_000*hkd)) // 20% = 200,000
			base(f)
		}, func(f *fix) Outcome { return f.b.Advance(f.now, 1, f.HKD, 200_001*hkd) }, ReasonClientGroupLimit},
		{"group limit aggregates related clients", func(f *fix) {
			must(f.t, f.b.SetCapital(f.now, 1_000_000*hkd))
			for _, id := range []ClientID{1, 2} {
				must(f.t, f.b.OpenClient(f.now, id, 7))
				must(f.t, f.b.SetAssessment(f.now, id, Assessment{Grade: "A", Approver: "x", AssessedAt: f.now, NextReview: f.now + nanosPerDay, Limit: 1_000_000 * hkd, Approved: true}))
				f.deposit(id, f.S700, 1000)
			}
			must(f.t, f.b.Advance(f.now, 1, f.HKD, 150_000*hkd))
		}, func(f *fix) Outcome { return f.b.Advance(f.now, 2, f.HKD, 50_001*hkd) }, ReasonClientGroupLimit},
		{"firm loans 5x capital", func(f *fix) {
			must(f.t, f.b.SetCapital(f.now, 100_000*hkd)) // 5× = 500,000
			p := f.b.Params()
			p.ClientGroupLimit, p.ClientGroupWarn = fixed.PpmOne, fixed.PpmOne
			must(f.t, f.b.SetParams(f.now, p))
			for _, id := range []ClientID{1, 2, 3, 4, 5, 6} {
				f.approved(id, 1_000_000*hkd)
				f.deposit(id, f.S700, 1000)
				if id <= 5 {
					must(f.t, f.b.Advance(f.now, id, f.HKD, 100_000*hkd))
				}
			}
		}, func(f *fix) Outcome { return f.b.Advance(f.now, 6, f.HKD, hkd) }, ReasonFirmLimit},
		{"concentration", func(f *fix) {
			base(f)
			must(f.t, f.b.SetCollateral(f.now, f.S700, Collateral{true, 300_000, 500_000}))
			f.deposit(1, f.S5, 1000) // LV 80,000 next to 350,000: 0700 supplies 81%
		}, func(f *fix) Outcome { return f.b.Advance(f.now, 1, f.HKD, hkd) }, ReasonConcentration},
		{"bad params", nil, func(f *fix) Outcome {
			p := f.b.Params()
			p.PriceProtection = MinVAHaircut // a close-out sale could not cure a VA shortfall
			return f.b.SetParams(f.now, p)
		}, ReasonBadParams},
		{"bad day basis", nil, func(f *fix) Outcome {
			return f.b.SetInterestTerms(f.now, f.HKD, InterestTerms{AnnualRate: 1, DayBasis: 366})
		}, ReasonBadParams},
		{"close-out step zero", base, func(f *fix) Outcome { return f.b.ApplySale(f.now, 1, f.S700, 100, hkd, 0) }, ReasonBadParams},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := newFix(t)
			if tc.setup != nil {
				tc.setup(f)
			}
			f.check()
			before := f.b.Hash()
			o := tc.op(f)
			if o.Reason != tc.want {
				t.Fatalf("got %s, want %s", o.Reason, tc.want)
			}
			if len(o.Events) != 0 || len(o.Postings) != 0 || f.b.Hash() != before {
				t.Fatal("a rejection changed the book")
			}
			f.check()
		})
	}
}

// The hash used above must notice a change, or every "unchanged" assertion
// would pass vacuously.
func TestHashSeesChanges(t *testing.T) {
	f := newFix(t)
	f.approved(1, hkd)
	h := f.b.Hash()
	f.deposit(1, f.HKD, 1)
	if f.b.Hash() == h {
		t.Fatal("hash missed a deposit")
	}
	h = f.b.Hash()
	f.b.clients[1].call.LastNotice++
	if f.b.Hash() == h {
		t.Fatal("hash missed a call field")
	}
}

// Reason names are stable API: every code has a distinct non-empty name.
func TestReasonNames(t *testing.T) {
	seen := map[string]bool{}
	for r := Reason(0); r < reasonCount; r++ {
		n := r.String()
		if n == "" || seen[n] {
			t.Fatalf("reason %d name %q", r, n)
		}
		seen[n] = true
	}
	if ReasonHaircutBelowFloor.String() != "haircut_below_va_floor" {
		t.Fatal("a reason name changed")
	}
}
