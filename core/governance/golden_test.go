package governance

import (
	"encoding/hex"
	"testing"
)

func TestNamesStableAndUnique(t *testing.T) {
	seen := map[string]bool{}
	for r := ReasonNone; r < reasonEnd; r++ {
		if n := r.String(); n == "" || n == "unknown" || seen[n] {
			t.Errorf("reason %d name %q", r, n)
		} else {
			seen[n] = true
		}
	}
	for k := EvOperatorAdded; k < evKindEnd; k++ {
		if k.String() == "?" {
			t.Errorf("event kind %d has no name", k)
		}
	}
	if RejectSelfApproval.String() != "maker_cannot_approve_own_proposal" || reasonEnd.String() != "unknown" {
		t.Error("reason names moved")
	}
}

// Golden vectors: the value encoding (what approvers sign off by hash) and
// the event payload (what the audit chain holds) are formats; a change must
// be deliberate.
func TestEncodingGolden(t *testing.T) {
	v, _ := NewValue([]Field{{"b", -1}, {"a", 2}}, []Table{{Name: "t", Columns: []string{"x"}, Rows: [][]int64{{3}}}})
	const wantValue = "53505631" + "02" + "0161" + "0000000000000002" + "0162" + "ffffffffffffffff" +
		"01" + "0174" + "01" + "0178" + "01" + "0000000000000003"
	if got := hex.EncodeToString(v.Encode(nil)); got != wantValue {
		t.Fatalf("value\n got %s\nwant %s", got, wantValue)
	}
	e := Event{Seq: 1, Time: 2, Kind: EvApproved, Operator: "r2", Subject: "r1", Set: "firm", Proposal: 3, EffectiveAt: 4}
	const wantEvent = "0105" + "0000000000000001" + "0000000000000002" + "0000" +
		"00027232" + "00027231" + "00046669726d" +
		"0000000000000003" + "0000000000000000" + "0000000000000004" + "0000000000000000" +
		"0000000000000000000000000000000000000000000000000000000000000000" + "00000000" + "0000"
	if got := hex.EncodeToString(e.Encode(nil)); got != wantEvent {
		t.Fatalf("event\n got %s\nwant %s", got, wantEvent)
	}
}
