package binance

import (
	"testing"

	"github.com/sampan-hk/sampan/core/engine"
)

// A real liquidation (the scenario of gateway/liquidation_test.go): lev
// buys 1 BTC at 50,000 with 6,000 USD (bankruptcy price 44,025), a bid of
// 0.5 at 44,100 rests, the mark drops to 44,100. The engine sells into the
// bid, then the insurance fund takes over the rest at 44,025. Every one of
// those is a forceOrder on both stream names, in Binance's format.
func TestForceOrderCarriesEveryLiquidation(t *testing.T) {
	ev := newEnv(t)
	ev.setMark(0, "50000")
	safe := ev.client("safe", 50_000, true)
	lev := ev.client("lev", 6_000, true)
	bid := ev.client("bid", 100_000, true)
	ev.must(ev.signed("POST", "/fapi/v1/order", "symbol=BTCUSDT&side=SELL&type=LIMIT&timeInForce=GTC&quantity=1&price=50000", safe), 200)
	ev.must(ev.signed("POST", "/fapi/v1/order", "symbol=BTCUSDT&side=BUY&type=LIMIT&timeInForce=GTC&quantity=1&price=50000", lev), 200)
	ev.setMark(0, "46000") // brings 44,100 inside the order band
	ev.must(ev.signed("POST", "/fapi/v1/order", "symbol=BTCUSDT&side=BUY&type=LIMIT&timeInForce=GTC&quantity=0.5&price=44100", bid), 200)
	raw := ev.dial(t, "/ws/btcusdt@forceOrder")
	all := ev.dial(t, "/stream?streams=!forceOrder@arr")
	ev.setMark(0, "44100")

	var lots int
	for lots < 1000 {
		m := raw.next("forceOrder", event("forceOrder"))
		o := obj(m["o"])
		if o["s"] != "BTCUSDT" || o["S"] != "SELL" || o["o"] != "LIMIT" || o["f"] != "IOC" || o["X"] != "FILLED" ||
			o["q"] != o["z"] || o["l"] != o["z"] || o["p"] != o["ap"] || (o["ap"] != "44100" && o["ap"] != "44025") {
			t.Fatalf("forceOrder %v", m)
		}
		if _, ok := o["T"].(float64); !ok {
			t.Fatalf("no trade time: %v", m)
		}
		lots += thousandths(t, o["q"].(string))
		w := all.next("!forceOrder@arr", func(m map[string]any) bool { return m["stream"] == "!forceOrder@arr" })
		if d := obj(w["data"]); obj(d["o"])["q"] != o["q"] || obj(d["o"])["ap"] != o["ap"] {
			t.Fatalf("!forceOrder@arr %v, raw %v", w, m)
		}
	}
	if lots != 1000 {
		t.Fatalf("forceOrder carried %d thousandths of the 1 BTC", lots)
	}

	// ADL quantiles: after the sequencer's tick the one short (safe) and
	// the one long (bid) are each first in their queue.
	ev.submit(&engine.Command{Kind: engine.CmdTick})
	for _, k := range []string{"v2", "v3"} {
		r := ev.must(ev.signed("GET", "/fapi/"+k+"/positionRisk", "symbol=BTCUSDT", safe), 200)
		if rows := r.arr; len(rows) != 1 || obj(rows[0])["adl"] != float64(5) {
			t.Fatalf("%s positionRisk: %s", k, r.body)
		}
	}
	r := ev.must(ev.signed("GET", "/fapi/v1/adlQuantile", "", bid), 200)
	rows := r.arr
	if len(rows) != 1 || obj(rows[0])["symbol"] != "BTCUSDT" || obj(obj(rows[0])["adlQuantile"])["BOTH"] != float64(5) {
		t.Fatalf("adlQuantile: %s", r.body)
	}
	if r := ev.must(ev.signed("GET", "/fapi/v1/adlQuantile", "", lev), 200); r.arr == nil || len(r.arr) != 0 {
		t.Fatalf("no position, no rows: %s", r.body)
	}
	if r := ev.signed("GET", "/fapi/v1/adlQuantile", "symbol=NOPE", bid); r.code() != -1121 {
		t.Fatalf("unknown symbol: %s", r.body)
	}
}

func thousandths(t *testing.T, q string) int {
	t.Helper()
	n, frac := 0, -1
	for _, c := range q {
		switch {
		case c == '.':
			frac = 0
		case c >= '0' && c <= '9' && frac < 3:
			n = n*10 + int(c-'0')
			if frac >= 0 {
				frac++
			}
		default:
			t.Fatalf("quantity %q", q)
		}
	}
	for frac = max(frac, 0); frac < 3; frac++ {
		n *= 10
	}
	return n
}
