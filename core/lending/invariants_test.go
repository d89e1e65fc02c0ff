package lending

import (
	"testing"

	"github.com/sampan-hk/sampan/core/fixed"
)

// CheckInvariants must be able to fail: each row corrupts one thing behind
// the API's back, as a bug would, and the checker must report it. A row
// fails if the corresponding recomputation is removed from the checker.
func TestCheckerCatchesCorruption(t *testing.T) {
	setup := func(t *testing.T) *fix {
		f := newFix(t)
		f.approved(1, 1_000_000*hkd)
		f.deposit(1, f.S700, 1000)
		must(t, f.b.Buy(f.now, 1, f.BTC, coin/10, 10_000*usd))
		must(t, f.b.Advance(f.now, 1, f.HKD, 100_000*hkd))
		f.approved(2, 1_000_000*hkd)
		f.deposit(2, f.S700, 1000)
		must(t, f.b.Advance(f.now, 2, f.HKD, 340_000*hkd))
		must(t, f.b.SetPrice(f.now, f.S700, 480*int64(hkd))) // client 2: LV 336,000 < 340,000
		f.tick(at(2028, 3, 1, 12))                           // interest posted for February
		if !f.b.CallState(2).Open || f.b.Loan(1, f.HKD).Interest == 0 {
			t.Fatal("setup did not reach a call and posted interest")
		}
		f.check()
		return f
	}
	for _, tc := range []struct {
		name    string
		corrupt func(f *fix)
	}{
		{"loan balance off by one", func(f *fix) { f.b.clients[1].loans[f.HKD].Balance++ }},
		{"drawn off by one", func(f *fix) { f.b.clients[1].loans[f.USD].Drawn++ }},
		{"holding without a posting", func(f *fix) { f.b.clients[1].hold[f.S700]++ }},
		{"unbalanced ledger", func(f *fix) { f.b.ledger[ledgerKey{ext(), f.HKD}]++ }},
		{"interest income differs", func(f *fix) { f.b.ledger[ledgerKey{income(), f.HKD}]--; f.b.ledger[ledgerKey{spot(), f.HKD}]++ }},
		{"SOL marked eligible", func(f *fix) { f.b.coll[f.SOL].Eligible = true }},
		{"BTC haircut under the floor", func(f *fix) { f.b.coll[f.BTC].Haircut = 599_999 }},
		{"SOL held", func(f *fix) {
			f.b.clients[1].hold[f.SOL] = 1
			f.b.ledger[ledgerKey{holdAcct(1), f.SOL}] = 1
			f.b.ledger[ledgerKey{ext(), f.SOL}] = -1
		}},
		{"financed above holding", func(f *fix) { f.b.clients[1].financed[f.BTC] = coin }},
		{"call closed with a shortfall", func(f *fix) { f.b.clients[2].call = Call{} }},
		{"call open without a shortfall", func(f *fix) { f.b.clients[1].call.Open = true }},
		{"accrual remainder out of range", func(f *fix) { f.b.clients[1].loans[f.HKD].AccruedFine = fineUnit }},
		{"cash and loan in one currency", func(f *fix) {
			f.b.clients[1].hold[f.HKD] = 1
			f.b.ledger[ledgerKey{holdAcct(1), f.HKD}] = 1
			f.b.ledger[ledgerKey{ext(), f.HKD}]--
		}},
		{"withdrawal under a call", func(f *fix) {
			var o Outcome
			f.b.payOut(&o, f.b.clients[2], f.now, f.S700, 1)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := setup(t)
			tc.corrupt(f)
			if err := f.b.CheckInvariants(); err == nil {
				t.Fatal("corruption not detected")
			} else {
				t.Log(err)
			}
		})
	}
}

// Limits hold at the limit and reject one unit past it.
func TestLimitsAtTheEdge(t *testing.T) {
	t.Run("credit limit", func(t *testing.T) {
		f := newFix(t)
		f.approved(1, 100_000*hkd)
		f.deposit(1, f.S700, 1000)
		must(t, f.b.Advance(f.now, 1, f.HKD, 100_000*hkd))
		if o := f.b.Advance(f.now, 1, f.HKD, 1); o.Reason != ReasonCreditLimit {
			t.Fatal(o.Reason)
		}
	})
	t.Run("lending value", func(t *testing.T) {
		f := newFix(t)
		f.approved(1, 1_000_000*hkd)
		f.deposit(1, f.S700, 1000)
		must(t, f.b.Advance(f.now, 1, f.HKD, 350_000*hkd))
		if o := f.b.Advance(f.now, 1, f.HKD, 1); o.Reason != ReasonLendingValue {
			t.Fatal(o.Reason)
		}
		if f.b.CallState(1).Open {
			t.Fatal("debit = lending value is not a call")
		}
	})
	t.Run("group 20% and warning at 15%", func(t *testing.T) {
		f := newFix(t)
		must(t, f.b.SetCapital(f.now, 1_000_000*hkd))
		for _, id := range []ClientID{1, 2} {
			must(t, f.b.OpenClient(f.now, id, 7))
			must(t, f.b.SetAssessment(f.now, id, Assessment{Grade: "A", Approver: "x", AssessedAt: f.now, NextReview: f.now + nanosPerDay, Limit: 1_000_000 * hkd, Approved: true}))
			f.deposit(id, f.S700, 1000)
		}
		o := must(t, f.b.Advance(f.now, 1, f.HKD, 149_999*hkd))
		if _, warned := find(o, EvClientGroupWarning); warned {
			t.Fatal("warned below 15%")
		}
		o = must(t, f.b.Advance(f.now, 2, f.HKD, 50_001*hkd))
		if e, warned := find(o, EvClientGroupWarning); !warned || e.Base != 200_000*hkd {
			t.Fatalf("group warning %+v", e)
		}
		if o := f.b.Advance(f.now, 2, f.HKD, 1); o.Reason != ReasonClientGroupLimit {
			t.Fatal(o.Reason)
		}
	})
	t.Run("firm 5x and warning at 4x once", func(t *testing.T) {
		f := newFix(t)
		must(t, f.b.SetCapital(f.now, 100_000*hkd))
		p := f.b.Params()
		p.ClientGroupLimit, p.ClientGroupWarn = fixed.PpmOne, fixed.PpmOne
		must(t, f.b.SetParams(f.now, p))
		warnings := 0
		for id := ClientID(1); id <= 6; id++ {
			f.approved(id, 1_000_000*hkd)
			f.deposit(id, f.S700, 1000)
			if id == 6 {
				break
			}
			o := must(t, f.b.Advance(f.now, id, f.HKD, 100_000*hkd))
			if e, ok := find(o, EvFirmLoansWarning); ok {
				warnings++
				if id != 4 || e.Ppm != 4_000_000 {
					t.Fatalf("warning at client %d: %+v", id, e)
				}
			}
		}
		if warnings != 1 {
			t.Fatalf("%d warnings", warnings)
		}
		if o := f.b.Advance(f.now, 6, f.HKD, 1); o.Reason != ReasonFirmLimit {
			t.Fatal(o.Reason)
		}
	})
	// 5000 × 0005.HK (20% haircut) and a HK$390,000 loan. At HK$75.000001
	// LV = 300,000.004 and 130% of it exceeds 390,000: a call only. At HK$75
	// LV = 300,000 and 390,000 = 130% exactly: immediate close-out.
	t.Run("hard trigger at exactly 130%", func(t *testing.T) {
		f := newFix(t)
		f.approved(1, 1_000_000*hkd)
		f.deposit(1, f.S5, 5000)
		must(t, f.b.Advance(f.now, 1, f.HKD, 390_000*hkd))
		o := must(t, f.b.SetPrice(f.now, f.S5, 75_000_001))
		if _, ok := find(o, EvMarginCallOpened); !ok {
			t.Fatal("no call")
		}
		if f.b.CallState(1).ClosingOut {
			t.Fatal("closing out below 130%")
		}
		o = must(t, f.b.SetPrice(f.now, f.S5, 75*int64(hkd)))
		if e, ok := find(o, EvCloseOutStarted); !ok || e.Trigger != TriggerHard {
			t.Fatalf("no hard close-out: %v", kinds(o))
		}
		f.check()
	})
}

// A pure state machine: the same commands give the same hash, and the
// hash differs for a different history.
func TestDeterministic(t *testing.T) {
	h := func(extra bool) [32]byte {
		f := newFix(t)
		f.approved(1, 1_000_000*hkd)
		f.approved(2, 1_000_000*hkd)
		f.deposit(1, f.S700, 1000)
		f.deposit(2, f.S700, 1000)
		must(t, f.b.Advance(f.now, 2, f.HKD, 1_000*hkd))
		if extra {
			must(t, f.b.Advance(f.now, 1, f.HKD, 1_000*hkd))
		}
		f.tick(at(2028, 3, 3, 0))
		return f.b.Hash()
	}
	if h(false) != h(false) {
		t.Fatal("same history, different hash")
	}
	if h(false) == h(true) {
		t.Fatal("different history, same hash")
	}
}
