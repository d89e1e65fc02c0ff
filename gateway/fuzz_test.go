package gateway

import (
	"encoding/json"
	"testing"
)

// FuzzDecodeStrict: arbitrary bytes never panic the decoder, and anything it
// accepts is also valid JSON that the standard decoder reads the same way.
func FuzzDecodeStrict(f *testing.F) {
	for _, s := range []string{`{"symbol":"BTC-USD-PERP","price":"1","qty":"2"}`, `{"qty":"1","qty":"2"}`, `{"QTY":"1"}`, `{}`, `[]`, `{"nested":{"tag":"x"}}`, `{"price":1e3}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		var o testOrder
		if e := DecodeStrict(body, &o); e != nil {
			if e.Status != 400 || e.Code == "" || e.Message == "" {
				t.Fatalf("bad error shape: %+v", e)
			}
			return
		}
		if !json.Valid(body) {
			t.Fatalf("accepted invalid JSON %q", body)
		}
		var std testOrder
		if err := json.Unmarshal(body, &std); err != nil {
			t.Fatalf("std rejects what strict accepted: %v", err)
		}
		if std.Symbol != o.Symbol || std.Price != o.Price || std.Qty != o.Qty || std.Side != o.Side || std.PostOnly != o.PostOnly {
			t.Fatalf("decoded differently: %+v vs %+v", o, std)
		}
	})
}
