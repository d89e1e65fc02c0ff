package eligibility

import (
	"encoding/hex"
	"testing"
)

// Names are part of the API and the audit trail: every value has one, and
// no two share it.
func TestNamesStableAndUnique(t *testing.T) {
	seen := map[string]bool{}
	for r := ReasonNone; r < reasonEnd; r++ {
		if n := r.String(); n == "" || n == "unknown" || seen[n] {
			t.Errorf("reason %d name %q", r, n)
		} else {
			seen[n] = true
		}
	}
	for k := EvClassified; k < evKindEnd; k++ {
		if k.String() == "?" {
			t.Errorf("event kind %d has no name", k)
		}
	}
	for _, tc := range []struct{ got, want string }{
		{NotProfessionalInvestor.String(), "not_professional_investor"},
		{PIClassificationExpired.String(), "pi_classification_expired"},
		{NoDerivativesKnowledge.String(), "no_derivatives_knowledge"},
		{RiskDisclosureNotAccepted.String(), "risk_disclosure_not_accepted"},
		{reasonEnd.String(), "unknown"},
	} {
		if tc.got != tc.want {
			t.Errorf("%q, want %q", tc.got, tc.want)
		}
	}
}

// Golden vector of the audit payload: changing the layout must be a
// deliberate, versioned act.
func TestEventEncodingGolden(t *testing.T) {
	e := Event{Seq: 1, Time: 2, Kind: EvClassified, Class: IndividualPI, Evidence: BankStatement, Client: 7,
		EvidenceDate: 3, Portfolio: 800_000_000, Expiry: 4, Operator: "comp1", Reference: "r"}
	const want = "0101020200" +
		"0000000000000001" + "0000000000000002" + "0000000000000007" + "0000000000000003" +
		"000000002faf0800" + "0000000000000000" + "0000000000000004" + "0000000000000000" +
		"00000000" + "0000000000000000000000000000000000000000000000000000000000000000" +
		"0005636f6d7031" + "000172"
	if got := hex.EncodeToString(e.Encode(nil)); got != want {
		t.Fatalf("encoding\n got %s\nwant %s", got, want)
	}
}
