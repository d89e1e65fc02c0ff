package eligibility

import (
	"testing"

	"github.com/sampan-hk/sampan/core/fixed"
)

// DecodeEvent reads back every field Encode writes, and refuses a payload
// that is cut short, carries trailing bytes or another format.
func TestDecodeEventRoundTrip(t *testing.T) {
	in := Event{Seq: 9, Time: -5, Kind: EvClassified, Class: IndividualPI, Evidence: 2, Basis: 1, Client: 77,
		EvidenceDate: 1_700_000_000_000_000_000, Portfolio: fixed.Amount(800_000_000), TotalAssets: 3, Expiry: 42,
		Trades: 40, Version: 3, Operator: "compliance-1", Reference: "DOC-7"}
	in.Digest[0], in.Digest[31] = 0xab, 0xcd
	b := in.Encode(nil)
	out, err := DecodeEvent(b)
	if err != nil || out != in {
		t.Fatalf("round trip: %v\n in %+v\nout %+v", err, in, out)
	}
	for _, bad := range [][]byte{b[:len(b)-1], append(append([]byte{}, b...), 0), append([]byte{2}, b[1:]...), b[:10], nil} {
		if _, err := DecodeEvent(bad); err == nil {
			t.Errorf("accepted a malformed payload of %d bytes", len(bad))
		}
	}
}
