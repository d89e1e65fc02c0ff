package governance

import (
	"slices"
	"testing"
)

func TestMakerCannotApproveOwnProposal(t *testing.T) {
	s := newStore(t)
	s.Tick(t0 + sec)
	id, _, r := s.Propose(t0+sec, "risk1", btc, market(map[string]int64{"taker_fee_ppm": 400}), t0+100*sec, "fee cut")
	mustOK(t, r)
	before := s.Hash()
	// The maker hears the maker-checker rule on approve and on reject, and
	// nothing changes; a second risk officer can then approve.
	if _, r := s.Approve(t0+sec, "risk1", id); r != RejectSelfApproval {
		t.Fatalf("self-approval: %s", r)
	}
	if _, r := s.Reject(t0+sec, "risk1", id, "changed my mind"); r != RejectSelfApproval {
		t.Fatalf("self-rejection: %s", r)
	}
	if s.Hash() != before {
		t.Fatal("a refused command changed the state")
	}
	if p, _ := s.Proposal(id); p.State != Pending {
		t.Fatalf("state %s", p.State)
	}
	evs, r := s.Approve(t0+sec, "risk2", id)
	mustOK(t, r)
	if len(evs) != 1 || evs[0].Kind != EvApproved || evs[0].Operator != "risk2" || evs[0].Subject != "risk1" {
		t.Fatalf("events %+v", evs)
	}
	if err := s.Check(); err != nil {
		t.Fatal(err)
	}
}

func TestPermissionRefusals(t *testing.T) {
	eligSchema := Schema{Kind: "eligibility", Singleton: true, Domain: DomainCompliance,
		Fields: []Spec{{"pi_individual_portfolio_min_hkd_cents", HigherStricter, 0, 1 << 50}}}
	eligValue, _ := NewValue([]Field{{"pi_individual_portfolio_min_hkd_cents", 800_000_000}}, nil)
	eligValue2, _ := NewValue([]Field{{"pi_individual_portfolio_min_hkd_cents", 900_000_000}}, nil)
	tighter := market(map[string]int64{"max_leverage": 5})
	for _, tc := range []struct {
		name string
		do   func(s *Store) Reason
		want Reason
	}{
		{"auditor cannot propose", func(s *Store) Reason {
			_, _, r := s.Propose(t0, "aud1", btc, tighter, t0+sec, "")
			return r
		}, RejectPermissionDenied},
		{"admin cannot propose risk parameters", func(s *Store) Reason {
			_, _, r := s.Propose(t0, "admin", btc, tighter, t0+sec, "")
			return r
		}, RejectPermissionDenied},
		{"compliance cannot propose market parameters", func(s *Store) Reason {
			_, _, r := s.Propose(t0, "comp1", btc, tighter, t0+sec, "")
			return r
		}, RejectPermissionDenied},
		{"risk cannot propose eligibility thresholds", func(s *Store) Reason {
			_, _, r := s.Propose(t0, "risk1", "eligibility", eligValue2, t0+sec, "")
			return r
		}, RejectPermissionDenied},
		{"operations may propose but not approve", func(s *Store) Reason {
			id, _, r := s.Propose(t0, "risk1", btc, tighter, t0+sec, "")
			mustOK(t, r)
			_, r = s.Approve(t0, "ops1", id)
			return r
		}, RejectPermissionDenied},
		{"compliance cannot approve market parameters", func(s *Store) Reason {
			id, _, r := s.Propose(t0, "ops1", btc, tighter, t0+sec, "")
			mustOK(t, r)
			_, r = s.Approve(t0, "comp1", id)
			return r
		}, RejectPermissionDenied},
		{"risk cannot approve eligibility thresholds", func(s *Store) Reason {
			id, _, r := s.Propose(t0, "comp1", "eligibility", eligValue2, t0+sec, "")
			mustOK(t, r)
			_, r = s.Approve(t0, "risk1", id)
			return r
		}, RejectPermissionDenied},
		{"operations cannot apply an emergency change", func(s *Store) Reason {
			_, _, r := s.EmergencyTighten(t0, "ops1", btc, tighter, "gap risk")
			return r
		}, RejectPermissionDenied},
		{"no emergency path for eligibility", func(s *Store) Reason {
			_, _, r := s.EmergencyTighten(t0, "comp1", "eligibility", eligValue2, "urgent")
			return r
		}, RejectEmergencyNotAllowed},
		{"only admins add operators", func(s *Store) Reason {
			_, r := s.AddOperator(t0, "risk1", "risk3", RoleRiskOfficer)
			return r
		}, RejectPermissionDenied},
		{"unknown operator", func(s *Store) Reason {
			_, _, r := s.Propose(t0, "mallory", btc, tighter, t0+sec, "")
			return r
		}, RejectUnknownOperator},
		{"disabled operator", func(s *Store) Reason {
			_, r := s.DisableOperator(t0, "admin", "risk2")
			mustOK(t, r)
			id, _, r := s.Propose(t0, "risk1", btc, tighter, t0+sec, "")
			mustOK(t, r)
			_, r = s.Approve(t0, "risk2", id)
			return r
		}, RejectOperatorDisabled},
		{"admin cannot disable itself", func(s *Store) Reason {
			_, r := s.DisableOperator(t0, "admin", "admin")
			return r
		}, RejectCannotDisableSelf},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, _ := New(DefaultConfig, NewCatalog(MarketSchema, CollateralSchema, FirmSchema, eligSchema), Genesis{
				Time: t0,
				Operators: []Operator{{ID: "admin", Role: RoleAdmin}, {ID: "risk1", Role: RoleRiskOfficer},
					{ID: "risk2", Role: RoleRiskOfficer}, {ID: "comp1", Role: RoleComplianceOfficer},
					{ID: "ops1", Role: RoleOperations}, {ID: "aud1", Role: RoleAuditor}},
				Sets: []GenesisSet{{btc, market(nil)}, {"eligibility", eligValue}},
			})
			if got := tc.do(s); got != tc.want {
				t.Fatalf("got %s, want %s", got, tc.want)
			}
			if err := s.Check(); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestRefusedCommandsChangeNothing(t *testing.T) {
	s := newStore(t)
	h := s.Hash()
	for _, tc := range []struct {
		name string
		do   func() Reason
		want Reason
	}{
		{"effective now", func() Reason {
			_, _, r := s.Propose(t0, "risk1", btc, market(nil), t0, "")
			return r
		}, RejectEffectiveTimeNotInFuture},
		{"bad set id case", func() Reason {
			_, _, r := s.Propose(t0, "risk1", "market:btc-usd-perp", market(nil), t0+sec, "")
			return r
		}, RejectInvalidSetID},
		{"unknown kind", func() Reason {
			_, _, r := s.Propose(t0, "risk1", "venue:X", market(nil), t0+sec, "")
			return r
		}, RejectUnknownSetKind},
		{"singleton with a name", func() Reason {
			_, _, r := s.Propose(t0, "risk1", "firm:X", market(nil), t0+sec, "")
			return r
		}, RejectInvalidSetID},
		{"unknown field", func() Reason {
			v := market(nil)
			v.Fields = append(v.Fields, Field{"zzz", 1})
			_, _, r := s.Propose(t0, "risk1", btc, v, t0+sec, "")
			return r
		}, RejectUnknownField},
		{"missing field", func() Reason {
			_, _, r := s.Propose(t0, "risk1", "collateral:ETH", Value{Fields: []Field{{"eligible", 1}}}, t0+sec, "")
			return r
		}, RejectMissingField},
		{"leverage out of range", func() Reason {
			_, _, r := s.Propose(t0, "risk1", btc, market(map[string]int64{"max_leverage": 0}), t0+sec, "")
			return r
		}, RejectFieldOutOfRange},
		{"BTC haircut one ppm under the 60% floor", func() Reason {
			_, _, r := s.Propose(t0, "risk1", "collateral:BTC", collateral(1, 599_999, 500_000), t0+sec, "")
			return r
		}, RejectValueRuleViolated},
		{"discontinuous brackets", func() Reason {
			v := market(nil)
			v.Tables[0].Rows[1][3]++
			_, _, r := s.Propose(t0, "risk1", btc, v, t0+sec, "")
			return r
		}, RejectValueRuleViolated},
		{"selectable leverage above first tier", func() Reason {
			_, _, r := s.Propose(t0, "risk1", btc, market(map[string]int64{"max_leverage": 20}), t0+sec, "")
			return r
		}, RejectValueRuleViolated},
		{"duplicate field", func() Reason {
			_, _, r := s.Propose(t0, "risk1", "collateral:ETH", Value{Fields: []Field{{"eligible", 1}, {"eligible", 1}}}, t0+sec, "")
			return r
		}, RejectInvalidValue},
		{"unknown proposal", func() Reason {
			_, r := s.Approve(t0, "risk2", 99)
			return r
		}, RejectUnknownProposal},
		{"review of a genesis version", func() Reason {
			_, r := s.ReviewEmergency(t0, "risk2", btc, 1, "")
			return r
		}, RejectNotAnEmergency},
		{"emergency without a note", func() Reason {
			_, _, r := s.EmergencyTighten(t0, "risk1", btc, market(map[string]int64{"max_leverage": 5}), "")
			return r
		}, RejectNoteRequired},
	} {
		if got := tc.do(); got != tc.want {
			t.Errorf("%s: got %s, want %s", tc.name, got, tc.want)
		}
		if s.Hash() != h {
			t.Fatalf("%s: a refused command changed the state", tc.name)
		}
	}
}

// An approved change takes effect at its effective time T: not at T−1ns,
// and at T whether or not anyone ticked in between.
func TestActivationExactlyAtEffectiveTime(t *testing.T) {
	s := newStore(t)
	T := t0 + 3600*sec
	next := market(map[string]int64{"taker_fee_ppm": 450})
	s.Tick(t0 + sec)
	id, _, r := s.Propose(t0+sec, "ops1", btc, next, T, "fee change")
	mustOK(t, r)
	s.Tick(t0 + 2*sec)
	_, r = s.Approve(t0+2*sec, "risk1", id)
	mustOK(t, r)
	if at, ok := s.NextDeadline(); !ok || at != T {
		t.Fatalf("next deadline %d %v", at, ok)
	}

	if evs := s.Tick(T - 1); len(evs) != 0 {
		t.Fatalf("activated early: %+v", evs)
	}
	if v, _ := s.Current(btc); v.Number != 1 {
		t.Fatalf("current version %d at T−1", v.Number)
	}
	// A command at T before the tick is an engine bug.
	func() {
		defer func() {
			if recover() == nil {
				t.Fatal("command at T without Tick(T) did not panic")
			}
		}()
		s.Propose(T, "ops1", btc, next, T+sec, "")
	}()
	evs := s.Tick(T)
	if len(evs) != 1 || evs[0].Kind != EvActivated || evs[0].Time != T || evs[0].Version != 2 || evs[0].Operator != "risk1" {
		t.Fatalf("activation events %+v", evs)
	}
	cur, _ := s.Current(btc)
	if !cur.Value.Equal(next) || cur.EffectiveAt != T || cur.Origin != OriginApproved || cur.Approver != "risk1" || cur.Proposer != "ops1" {
		t.Fatalf("current %+v", cur)
	}
	if v, _ := s.At(btc, T-1); v.Number != 1 {
		t.Fatalf("At(T−1) = v%d", v.Number)
	}
	if v, _ := s.At(btc, T); v.Number != 2 {
		t.Fatalf("At(T) = v%d", v.Number)
	}
	if _, ok := s.At(btc, t0-1); ok {
		t.Fatal("a version before genesis")
	}
	if err := s.Check(); err != nil {
		t.Fatal(err)
	}
}

// A proposal nobody approved before its effective time lapses at that time;
// approving it later is refused.
func TestUnapprovedProposalLapses(t *testing.T) {
	s := newStore(t)
	T := t0 + 60*sec
	id, _, r := s.Propose(t0, "risk1", btc, market(map[string]int64{"oi_cap_lots": 10}), T, "")
	mustOK(t, r)
	if evs := s.Tick(T - 1); len(evs) != 0 {
		t.Fatal("lapsed early")
	}
	evs := s.Tick(T)
	if len(evs) != 1 || evs[0].Kind != EvLapsed || evs[0].Time != T {
		t.Fatalf("events %+v", evs)
	}
	if _, r := s.Approve(T, "risk2", id); r != RejectProposalNotPending {
		t.Fatalf("late approval: %s", r)
	}
}

func TestSameInstantConflict(t *testing.T) {
	s := newStore(t)
	T := t0 + 60*sec
	a, _, _ := s.Propose(t0, "risk1", btc, market(map[string]int64{"oi_cap_lots": 10}), T, "")
	b, _, _ := s.Propose(t0, "ops1", btc, market(map[string]int64{"oi_cap_lots": 20}), T, "")
	_, r := s.Approve(t0, "risk2", a)
	mustOK(t, r)
	if _, r := s.Approve(t0, "risk2", b); r != RejectEffectiveTimeConflict {
		t.Fatalf("second approval at the same instant: %s", r)
	}
}

func TestEmergencyTightening(t *testing.T) {
	s := newStore(t)
	now := t0 + 10*sec
	s.Tick(now)
	// An open proposal written against the old value...
	stale, _, r := s.Propose(now, "ops1", btc, market(map[string]int64{"taker_fee_ppm": 450}), now+3600*sec, "")
	mustOK(t, r)
	_, r = s.Approve(now, "risk2", stale)
	mustOK(t, r)

	for _, tc := range []struct {
		name string
		v    Value
		want Reason
	}{
		{"loosening (higher leverage needs a higher first-tier leverage too)", market(nil, [3]int64{1_000_000_000_000, 20, 5_000}, defaultBrackets[1], defaultBrackets[2]), RejectNotATightening},
		{"lower MM rate", market(nil, [3]int64{1_000_000_000_000, 10, 4_000}, defaultBrackets[1], defaultBrackets[2]), RejectNotATightening},
		{"neutral field (fee)", market(map[string]int64{"taker_fee_ppm": 600}), RejectNotATightening},
		{"mixed: tighter band, higher OI cap", market(map[string]int64{"price_band_ppm": 20_000, "oi_cap_lots": 2_000_000}), RejectNotATightening},
		{"adding a tier", market(nil, append(slices.Clone(defaultBrackets), [3]int64{40_000_000_000_000, 1, 50_000})...), RejectNotATightening},
		{"unchanged", market(nil), RejectUnchanged},
	} {
		if _, _, r := s.EmergencyTighten(now, "risk1", btc, tc.v, "gap risk"); r != tc.want {
			t.Errorf("%s: got %s, want %s", tc.name, r, tc.want)
		}
	}

	tight := market(map[string]int64{"max_leverage": 5, "price_band_ppm": 20_000},
		[3]int64{1_000_000_000_000, 5, 10_000}, [3]int64{5_000_000_000_000, 5, 20_000}, [3]int64{20_000_000_000_000, 2, 50_000})
	n, evs, r := s.EmergencyTighten(now, "risk1", btc, tight, "exchange outage upstream")
	mustOK(t, r)
	// Applied at once, and the stale scheduled proposal is superseded.
	if cur, _ := s.Current(btc); cur.Number != n || !cur.Value.Equal(tight) || cur.EffectiveAt != now {
		t.Fatalf("not applied at once: %+v", cur)
	}
	if got := kinds(evs); !slices.Equal(got, []EventKind{EvEmergencyApplied, EvSuperseded}) {
		t.Fatalf("events %v", got)
	}
	if p, _ := s.Proposal(stale); p.State != Superseded || p.Version != n {
		t.Fatalf("stale proposal %+v", p)
	}
	due := now + 24*Hour
	if evs[0].Due != due {
		t.Fatalf("due %d", evs[0].Due)
	}
	if _, r := s.ReviewEmergency(now, "risk1", btc, n, ""); r != RejectSelfReview {
		t.Fatalf("self review: %s", r)
	}
	if evs := s.Tick(due); len(evs) != 0 {
		t.Fatalf("flagged at exactly 24h: %+v", evs)
	}
	evs = s.Tick(due + 1)
	if len(evs) != 1 || evs[0].Kind != EvReviewOverdue || evs[0].Time != due+1 || evs[0].Version != n {
		t.Fatalf("overdue events %+v", evs)
	}
	if evs := s.Tick(due + 2); len(evs) != 0 {
		t.Fatal("flagged twice")
	}
	if u := s.UnreviewedEmergencies(); len(u) != 1 || !u[0].Flagged {
		t.Fatalf("unreviewed %+v", u)
	}
	evs, r = s.ReviewEmergency(due+5, "risk2", btc, n, "confirmed; upstream back")
	mustOK(t, r)
	if len(evs) != 1 || !evs[0].Overdue {
		t.Fatalf("review events %+v", evs)
	}
	if _, r := s.ReviewEmergency(due+5, "risk2", btc, n, ""); r != RejectAlreadyReviewed {
		t.Fatalf("second review: %s", r)
	}
	if err := s.Check(); err != nil {
		t.Fatal(err)
	}
}

func TestReviewOnTimeIsNotFlagged(t *testing.T) {
	s := newStore(t)
	n, _, r := s.EmergencyTighten(t0, "risk1", "collateral:BTC", collateral(1, 700_000, 500_000), "vol spike")
	mustOK(t, r)
	due := t0 + 24*Hour
	s.Tick(due)
	evs, r := s.ReviewEmergency(due, "risk2", "collateral:BTC", n, "")
	mustOK(t, r)
	if evs[0].Overdue {
		t.Fatal("a review at exactly 24h is on time")
	}
	if evs := s.Tick(due + 1); len(evs) != 0 {
		t.Fatal("reviewed change flagged")
	}
	if err := s.Check(); err != nil {
		t.Fatal(err)
	}
}

// Compare, field by field, is the emergency rule; the table is its
// specification.
func TestCompareDirections(t *testing.T) {
	base := collateral(1, 600_000, 500_000)
	for _, tc := range []struct {
		name string
		next Value
		want Change
	}{
		{"same", collateral(1, 600_000, 500_000), Unchanged},
		{"higher haircut", collateral(1, 650_000, 500_000), Tighter},
		{"lower haircut", collateral(1, 599_999, 500_000), NotTighter},
		{"ineligible", collateral(0, 600_000, 500_000), Tighter},
		{"lower concentration limit", collateral(1, 600_000, 400_000), Tighter},
		{"higher haircut, higher concentration", collateral(1, 700_000, 600_000), NotTighter},
		{"all stricter", collateral(0, 1_000_000, 0), Tighter},
	} {
		if got, _ := CollateralSchema.Compare(base, tc.next); got != tc.want {
			t.Errorf("collateral %s: %s, want %s", tc.name, got, tc.want)
		}
	}
	mb := market(nil)
	for _, tc := range []struct {
		name string
		next Value
		want Change
	}{
		{"lower max leverage", market(map[string]int64{"max_leverage": 9}), Tighter},
		{"narrower band", market(map[string]int64{"price_band_ppm": 49_999}), Tighter},
		{"wider band", market(map[string]int64{"price_band_ppm": 50_001}), NotTighter},
		{"tick size (neutral)", market(map[string]int64{"tick_size": 50}), NotTighter},
		{"higher MM rate in tier 2 (amounts follow)", market(nil, defaultBrackets[0], [3]int64{5_000_000_000_000, 5, 12_000}, [3]int64{20_000_000_000_000, 2, 25_000}), Tighter},
		{"lower cap of tier 1", market(nil, [3]int64{500_000_000_000, 10, 5_000}, defaultBrackets[1], defaultBrackets[2]), Tighter},
		{"higher cap of tier 1", market(nil, [3]int64{2_000_000_000_000, 10, 5_000}, defaultBrackets[1], defaultBrackets[2]), NotTighter},
		{"lower tier leverage", market(nil, defaultBrackets[0], [3]int64{5_000_000_000_000, 4, 10_000}, defaultBrackets[2]), Tighter},
		{"one tier fewer", market(nil, defaultBrackets[0], defaultBrackets[1]), NotTighter},
	} {
		if got, _ := MarketSchema.Compare(mb, tc.next); got != tc.want {
			t.Errorf("market %s: %s, want %s", tc.name, got, tc.want)
		}
	}
}

func TestValueCanonical(t *testing.T) {
	a, _ := NewValue([]Field{{"b", 2}, {"a", 1}}, nil)
	b, _ := NewValue([]Field{{"a", 1}, {"b", 2}}, nil)
	if a.Hash() != b.Hash() {
		t.Fatal("field order changed the hash")
	}
	c, _ := NewValue([]Field{{"a", 1}, {"b", 3}}, nil)
	if a.Hash() == c.Hash() {
		t.Fatal("different values, same hash")
	}
	for _, bad := range [][]Field{{{"A", 1}}, {{"1a", 1}}, {{"", 1}}, {{"a-b", 1}}, {{"a", 1}, {"a", 2}}} {
		if _, r := NewValue(bad, nil); r != RejectInvalidValue {
			t.Errorf("%v accepted", bad)
		}
	}
	// NewValue copies: changing the caller's slices later cannot reach a
	// stored value.
	rows := [][]int64{{1, 2}}
	v, _ := NewValue(nil, []Table{{Name: "t", Columns: []string{"x", "y"}, Rows: rows}})
	rows[0][0] = 99
	if tb, _ := v.Table("t"); tb.Rows[0][0] != 1 {
		t.Fatal("value aliases the caller's rows")
	}
}

func TestDecodeValueRoundTrip(t *testing.T) {
	v := market(nil)
	enc := v.Encode(nil)
	back, r := DecodeValue(enc)
	if r != ReasonNone || !back.Equal(v) {
		t.Fatalf("round trip: %v", r)
	}
	for n := 0; n < len(enc); n++ {
		if _, r := DecodeValue(enc[:n]); r != RejectInvalidValue {
			t.Fatalf("truncated to %d: %v", n, r)
		}
	}
	if _, r := DecodeValue(append(append([]byte{}, enc...), 0)); r != RejectInvalidValue {
		t.Fatal("trailing byte accepted")
	}
	// Fields out of order are not canonical.
	bad := Value{Fields: []Field{{"b", 1}, {"a", 2}}}
	if _, r := DecodeValue(bad.Encode(nil)); r != RejectInvalidValue {
		t.Fatal("non-canonical value accepted")
	}
}
