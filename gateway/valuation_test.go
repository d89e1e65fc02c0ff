package gateway

import (
	"context"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sampan-hk/sampan/core/engine"
	"github.com/sampan-hk/sampan/core/fixed"
)

// Once feeds quote, index, mark and funding are served from the engine's
// explanations; a funding settlement reaches /v1/funding-payments and the
// funding history.
func TestValuationEndpointsAndFundingPayments(t *testing.T) {
	ev := newEnv(t, nil)
	var clock atomic.Int64 // engine time: ten seconds before an hour boundary
	clock.Store(time.Now().Truncate(time.Hour).Add(time.Hour - 10*time.Second).UnixNano())
	ev.log.Clock = clock.Load
	ev.setMark(btc, "65000")
	a, b := ev.client("va", "100000", true), ev.client("vb", "100000", true)
	ev.must(ev.do("POST", "/v1/orders", order(btc, "sell", "65000", "0.1", ""), a), 200)
	ev.must(ev.do("POST", "/v1/orders", order(btc, "buy", "65000", "0.1", ""), b), 200)

	w := ev.dialWS(0)
	w.send(`{"op":"subscribe","id":"s","channels":["index:BTC-USD-PERP","mark:BTC-USD-PERP","funding:BTC-USD-PERP"]}`)
	w.reply("s")
	quote := func(src uint16, px fixed.Price) {
		c := engine.Command{Kind: engine.CmdQuote, Market: 0, Source: src, Price: px, Observed: clock.Load()}
		if r, err := ev.x.Submit(context.Background(), &c); err != nil || r.Code != engine.OK {
			t.Fatalf("quote: %v %v", err, r.Code)
		}
	}
	for src := uint16(1); src <= 3; src++ {
		quote(src, 650_100)
	}
	ix := ev.must(ev.do("GET", "/v1/markets/"+btc+"/index", "", nil), 200)
	if ix.str("mode") != "oracle" || ix.str("healthy") != "true" || ix.str("price") != "65010" ||
		!strings.Contains(string(ix.body), `"name":"coinbase","price":"65010"`) || !strings.Contains(string(ix.body), `"status":"no quote"`) {
		t.Fatalf("index: %s", ix.body)
	}
	mk := ev.must(ev.do("GET", "/v1/markets/"+btc+"/mark", "", nil), 200)
	if mk.str("source") != "oracle" || mk.str("inputs", "index") != "65010" || mk.str("inputs", "last_trade") != "65000" {
		t.Fatalf("mark: %s", mk.body)
	}
	seen := map[string]bool{}
	for !seen["index"] || !seen["mark"] {
		m, err := w.read()
		if err != nil {
			t.Fatal(err)
		}
		seen[m["channel"].(string)] = true
	}

	clock.Add(int64(11 * time.Second)) // past the boundary: the next command settles first
	if r, err := ev.x.Submit(context.Background(), &engine.Command{Kind: engine.CmdTick}); err != nil || r.Code != engine.OK {
		t.Fatalf("tick: %v %v", err, r.Code)
	}
	ev.waitStore()
	fu := ev.must(ev.do("GET", "/v1/markets/"+btc+"/funding", "", nil), 200)
	if fu.str("mode") != "oracle" || fu.str("next_funding_time") == "" || !strings.Contains(string(fu.body), `"history":[{"time":`) {
		t.Fatalf("funding: %s", fu.body)
	}
	for _, k := range []*Key{a, b} {
		p := ev.must(ev.do("GET", "/v1/funding-payments", "", k), 200)
		if !strings.Contains(string(p.body), `"symbol":"BTC-USD-PERP"`) {
			t.Fatalf("funding payments: %s", p.body)
		}
	}
	for !seen["funding"] {
		m, err := w.read()
		if err != nil {
			t.Fatal(err)
		}
		seen[m["channel"].(string)] = true
	}
}
