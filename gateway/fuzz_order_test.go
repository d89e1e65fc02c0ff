package gateway

import (
	"testing"
)

// FuzzPostOrder sends arbitrary bodies to POST /v1/orders of a live server
// (signed, so they reach the decoder and the engine): the answer is never a
// 5xx, and every error carries a code and a message.
//
//	go test ./gateway -run '^$' -fuzz FuzzPostOrder -fuzztime 30s
func FuzzPostOrder(f *testing.F) {
	ev := newEnv(f, nil)
	ev.setMark(btc, "65000")
	k := ev.client("fuzz", "100000", true)
	for _, s := range []string{
		order(btc, "buy", "64000", "0.001", "c1"),
		order(btc, "sell", "65000.5", "1", ""),
		`{"symbol":"BTC-USD-PERP","side":"buy","type":"market","qty":"0.01"}`,
		`{"symbol":"ETH-USD-PERP","side":"sell","type":"limit","time_in_force":"FOK","post_only":true,"reduce_only":true,"price":"3000.01","qty":"0.01","stp":"expire_both"}`,
		`{"qty":"1","qty":"-5"}`, `{"QTY":"7"}`, `{"price":1e309}`, `[]`, `null`, ``,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		r := ev.with(t).do("POST", "/v1/orders", string(body), k)
		if r.status >= 500 {
			t.Fatalf("%q: %d %s", body, r.status, r.body)
		}
		if r.status != 200 && (r.str("code") == "" || r.str("message") == "") {
			t.Fatalf("%q: %d error without code/message: %s", body, r.status, r.body)
		}
	})
}
