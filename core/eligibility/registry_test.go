package eligibility

import (
	"slices"
	"testing"

	"github.com/sampan-hk/sampan/core/fixed"
	"github.com/sampan-hk/sampan/core/governance"
)

var now0 = hkt(2026, 6, 15, 12, 0)

const day = nsPerDay

func TestThresholdsAtTheBoundary(t *testing.T) {
	const m = 1_000_000 * HKD
	const cent fixed.Amount = 1
	ev := func(c Class, portfolio, assets fixed.Amount) Evidence {
		return Evidence{Class: c, Kind: CustodianStatement, Date: now0 - 10*day, Portfolio: portfolio, TotalAssets: assets, Assessor: "comp1"}
	}
	for _, tc := range []struct {
		name string
		ev   Evidence
		want Reason
	}{
		{"individual: exactly HK$8m passes", ev(IndividualPI, 8*m, 0), ReasonNone},
		{"individual: one cent less fails", ev(IndividualPI, 8*m-cent, 0), RejectPortfolioBelowThreshold},
		{"individual: total assets do not count", ev(IndividualPI, 8*m-cent, 100*m), RejectPortfolioBelowThreshold},
		{"corporate: HK$8m portfolio passes", ev(CorporatePI, 8*m, 0), ReasonNone},
		{"corporate: HK$40m total assets pass", ev(CorporatePI, 0, 40*m), ReasonNone},
		{"corporate: a cent short on both fails", ev(CorporatePI, 8*m-cent, 40*m-cent), RejectCorporateBelowThresholds},
		{"institutional: no asset test", ev(InstitutionalPI, 0, 0), ReasonNone},
		{"retail needs no evidence", Evidence{Class: Retail, Assessor: "comp1"}, ReasonNone},
		{"no class", ev(ClassNone, 8*m, 0), RejectInvalidClass},
		{"unknown class", ev(classEnd, 8*m, 0), RejectInvalidClass},
		{"no evidence type", Evidence{Class: IndividualPI, Date: now0, Portfolio: 8 * m, Assessor: "comp1"}, RejectMissingEvidence},
		{"negative assets", ev(CorporatePI, 8*m, -1), RejectNegativeAmount},
		{"no assessor", Evidence{Class: IndividualPI, Kind: BankStatement, Date: now0, Portfolio: 8 * m}, RejectInvalidAssessor},
		{"dated tomorrow", Evidence{Class: IndividualPI, Kind: BankStatement, Date: now0 + day, Portfolio: 8 * m, Assessor: "comp1"}, RejectEvidenceDateInFuture},
		// Evidence dated 2025-06-15 expires at the start of 2026-06-15 HKT,
		// which is before now0 (noon that day).
		{"exactly 12 months old", Evidence{Class: IndividualPI, Kind: BankStatement, Date: hkt(2025, 6, 15, 9, 0), Portfolio: 8 * m, Assessor: "comp1"}, RejectEvidenceExpired},
		{"12 months less a day", Evidence{Class: IndividualPI, Kind: BankStatement, Date: hkt(2025, 6, 16, 9, 0), Portfolio: 8 * m, Assessor: "comp1"}, ReasonNone},
	} {
		if _, got := Classify(DefaultParams, tc.ev, now0); got != tc.want {
			t.Errorf("%s: %s, want %s", tc.name, got, tc.want)
		}
	}
}

// One client's path to trading, and back out through expiry. Each step
// names the reason CanIncrease gives.
func TestCanIncreaseGate(t *testing.T) {
	g := New(DefaultParams, now0)
	const c = 7
	evidence := hkt(2026, 5, 20, 10, 0) // expires at the start of 2027-05-20 HKT
	expiry := hkt(2027, 5, 20, 0, 0)
	at := now0
	step := func(name string, do func() Reason, want Reason) {
		t.Helper()
		g.Tick(at)
		if do != nil {
			if r := do(); r != ReasonNone {
				t.Fatalf("%s: command refused: %s", name, r)
			}
		}
		if _, got := g.CanIncrease(c, at); got != want {
			t.Fatalf("%s: CanIncrease = %s, want %s", name, got, want)
		}
		if err := g.Check(); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
	}
	step("unknown client", nil, NotProfessionalInvestor)
	step("classified retail", func() Reason {
		_, r := g.Classify(at, c, Evidence{Class: Retail, Assessor: "comp1"})
		return r
	}, NotProfessionalInvestor)
	step("individual PI", func() Reason {
		_, r := g.Classify(at, c, Evidence{Class: IndividualPI, Kind: CustodianStatement, Date: evidence, Portfolio: 9_000_000 * HKD, Assessor: "comp1"})
		return r
	}, NoDerivativesKnowledge)
	step("knowledge assessed", func() Reason {
		_, r := g.RecordKnowledge(at, c, Knowledge{Basis: PriorTrades, Trades: 5, Assessor: "comp1", Reference: "trade confirmations 2024–26"})
		return r
	}, RiskDisclosureNotAccepted) // nothing published yet: fail closed
	step("disclosure v1 published", func() Reason {
		_, r := g.PublishDisclosure(at, "comp2", 1, [32]byte{1})
		return r
	}, RiskDisclosureNotAccepted)
	step("v1 accepted", func() Reason {
		_, r := g.AcceptDisclosure(at, c, 1)
		return r
	}, ReasonNone)
	at += day
	step("v2 published", func() Reason {
		_, r := g.PublishDisclosure(at, "comp2", 2, [32]byte{2})
		return r
	}, RiskDisclosureNotAccepted)
	if _, r := g.AcceptDisclosure(at, c, 1); r != RejectDisclosureVersion {
		t.Fatalf("accepting a replaced version: %s", r)
	}
	step("v2 accepted", func() Reason {
		_, r := g.AcceptDisclosure(at, c, 2)
		return r
	}, ReasonNone)

	// The reminder falls due 30 days before expiry, the expiry at its
	// instant; CanIncrease turns at exactly that nanosecond.
	remind := expiry - 30*day
	if evs := g.Tick(remind - 1); len(evs) != 0 {
		t.Fatalf("early events %+v", evs)
	}
	evs := g.Tick(remind)
	if len(evs) != 1 || evs[0].Kind != EvExpiryReminder || evs[0].Time != remind || evs[0].Client != c {
		t.Fatalf("reminder events %+v", evs)
	}
	if due := g.RenewalsDue(remind); !slices.Equal(due, []uint64{c}) {
		t.Fatalf("renewals due %v", due)
	}
	at = expiry - 1
	step("last nanosecond of validity", nil, ReasonNone)
	// Without any Tick in between, the gate already refuses at expiry.
	if _, r := g.CanIncrease(c, expiry); r != PIClassificationExpired {
		t.Fatalf("at expiry: %s", r)
	}
	evs = g.Tick(expiry + 5*day)
	if len(evs) != 1 || evs[0].Kind != EvClassificationExpired || evs[0].Time != expiry {
		t.Fatalf("expiry events %+v", evs)
	}
	at = expiry + 5*day
	step("renewed with fresh evidence", func() Reason {
		_, r := g.Classify(at, c, Evidence{Class: IndividualPI, Kind: CustodianStatement, Date: at - day, Portfolio: 8_500_000 * HKD, Assessor: "comp1"})
		return r
	}, ReasonNone)
}

// A classification renewed before expiry replaces the old deadlines: the
// old record's reminder and expiry never fire.
func TestRenewalCancelsOldDeadlines(t *testing.T) {
	g := New(DefaultParams, now0)
	ev := Evidence{Class: CorporatePI, Kind: AuditedFinancials, Date: now0 - 100*day, TotalAssets: 50_000_000 * HKD, Assessor: "comp1"}
	if _, r := g.Classify(now0, 1, ev); r != ReasonNone {
		t.Fatal(r)
	}
	old, _ := g.Client(1)
	ev.Date = now0 + 10*day
	g.Tick(now0 + 10*day)
	if _, r := g.Classify(now0+10*day, 1, ev); r != ReasonNone {
		t.Fatal(r)
	}
	cur, _ := g.Client(1)
	evs := g.Tick(old.Classification.Expiry)
	if len(evs) != 0 {
		t.Fatalf("stale deadlines fired: %+v", evs)
	}
	evs = g.Tick(cur.Classification.Expiry)
	if got := []EventKind{evs[0].Kind, evs[1].Kind}; len(evs) != 2 || got[0] != EvExpiryReminder || got[1] != EvClassificationExpired {
		t.Fatalf("events %+v", evs)
	}
	if err := g.Check(); err != nil {
		t.Fatal(err)
	}
}

func TestKnowledgeAndDisclosureRules(t *testing.T) {
	g := New(DefaultParams, now0)
	h := g.Hash()
	for _, tc := range []struct {
		name string
		do   func() Reason
		want Reason
	}{
		{"self-declaration", func() Reason {
			_, r := g.RecordKnowledge(now0, 1, Knowledge{Basis: SelfDeclaration, Assessor: "comp1"})
			return r
		}, RejectSelfDeclaration},
		{"four trades", func() Reason {
			_, r := g.RecordKnowledge(now0, 1, Knowledge{Basis: PriorTrades, Trades: 4, Assessor: "comp1"})
			return r
		}, RejectTooFewDerivativeTrades},
		{"no basis", func() Reason {
			_, r := g.RecordKnowledge(now0, 1, Knowledge{Assessor: "comp1"})
			return r
		}, RejectInvalidBasis},
		{"no assessor", func() Reason {
			_, r := g.RecordKnowledge(now0, 1, Knowledge{Basis: Training})
			return r
		}, RejectInvalidAssessor},
		{"client 0", func() Reason {
			_, r := g.RecordKnowledge(now0, 0, Knowledge{Basis: Training, Assessor: "comp1"})
			return r
		}, RejectInvalidClient},
		{"accept with nothing published", func() Reason {
			_, r := g.AcceptDisclosure(now0, 1, 1)
			return r
		}, RejectNoDisclosure},
		{"publish version 0", func() Reason {
			_, r := g.PublishDisclosure(now0, "comp1", 0, [32]byte{})
			return r
		}, RejectDisclosureVersion},
	} {
		if got := tc.do(); got != tc.want {
			t.Errorf("%s: %s, want %s", tc.name, got, tc.want)
		}
		if g.Hash() != h {
			t.Fatalf("%s: a refused command changed the state", tc.name)
		}
	}
	for _, k := range []Knowledge{{Basis: Training, Assessor: "c"}, {Basis: WorkExperience, Assessor: "c"}, {Basis: PriorTrades, Trades: 5, Assessor: "c"}} {
		if _, r := g.RecordKnowledge(now0, 2, k); r != ReasonNone {
			t.Errorf("%s refused: %s", k.Basis, r)
		}
	}
}

// The thresholds are governed parameters: compliance changes them through
// maker-checker, the engine hands the activated value to the registry, and
// from then on HK$8m no longer qualifies.
func TestThresholdsAreGoverned(t *testing.T) {
	cat := governance.NewCatalog(governance.MarketSchema, Schema)
	s, _ := governance.New(governance.DefaultConfig, cat, governance.Genesis{
		Time:      now0,
		Operators: []governance.Operator{{ID: "comp1", Role: governance.RoleComplianceOfficer}, {ID: "comp2", Role: governance.RoleComplianceOfficer}},
		Sets:      []governance.GenesisSet{{ID: SetID, Value: DefaultParams.Value()}},
	})
	cur, _ := s.Current(SetID)
	p, err := ParamsFrom(cur.Value)
	if err != nil || p != DefaultParams {
		t.Fatalf("round trip: %+v %v", p, err)
	}
	g := New(p, now0)
	stricter := DefaultParams
	stricter.IndividualPortfolioMin = 10_000_000 * HKD
	T := now0 + day
	id, _, r := s.Propose(now0, "comp1", SetID, stricter.Value(), T, "board decision")
	if r != governance.ReasonNone {
		t.Fatal(r)
	}
	if _, r := s.Approve(now0, "comp2", id); r != governance.ReasonNone {
		t.Fatal(r)
	}
	for _, e := range s.Tick(T) {
		if e.Kind == governance.EvActivated && e.Set == SetID {
			np, err := ParamsFrom(e.Value)
			if err != nil {
				t.Fatal(err)
			}
			g.SetParams(np)
		}
	}
	g.Tick(T)
	_, r2 := g.Classify(T, 1, Evidence{Class: IndividualPI, Kind: BankStatement, Date: T, Portfolio: 8_000_000 * HKD, Assessor: "comp1"})
	if r2 != RejectPortfolioBelowThreshold {
		t.Fatalf("after the change HK$8m gave %s", r2)
	}
	if _, err := ParamsFrom(governance.Value{}); err == nil {
		t.Fatal("empty value accepted as params")
	}
}
