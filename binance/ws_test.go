package binance

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
)

type wsClient struct {
	t    *testing.T
	conn *websocket.Conn
}

func (ev *env) dial(t *testing.T, path string) *wsClient {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(ev.url, "http")+path, nil)
	if err != nil {
		t.Fatalf("dial %s: %v", path, err)
	}
	t.Cleanup(func() { _ = c.CloseNow() })
	return &wsClient{t: t, conn: c}
}

// next reads messages until one satisfies match.
func (c *wsClient) next(what string, match func(m map[string]any) bool) map[string]any {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for {
		_, b, err := c.conn.Read(ctx)
		if err != nil {
			c.t.Fatalf("waiting for %s: %v", what, err)
		}
		var m map[string]any
		if err := json.Unmarshal(b, &m); err != nil {
			c.t.Fatalf("non-JSON frame %q", b)
		}
		if match(m) {
			return m
		}
	}
}

func (c *wsClient) send(v any) {
	c.t.Helper()
	b, _ := json.Marshal(v)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := c.conn.Write(ctx, websocket.MessageText, b); err != nil {
		c.t.Fatal(err)
	}
}

func event(name string) func(map[string]any) bool {
	return func(m map[string]any) bool { return m["e"] == name }
}

func TestMarketStreams(t *testing.T) {
	ev := newEnv(t)
	ev.setMark(0, "50000")
	a := ev.client("a", 100_000, true)
	b := ev.client("b", 100_000, true)

	depth := ev.dial(t, "/public/ws/btcusdt@depth@100ms")
	combined := ev.dial(t, "/market/stream?streams=btcusdt@aggTrade/btcusdt@markPrice")
	legacy := ev.dial(t, "/ws/btcusdt@aggTrade")
	// The mark stream starts with the current mark.
	m := combined.next("initial mark", func(m map[string]any) bool { return m["stream"] == "btcusdt@markPrice" })
	if d := obj(m["data"]); d["e"] != "markPriceUpdate" || d["p"] != "50000" || d["s"] != "BTCUSDT" {
		t.Fatalf("mark: %v", m)
	}

	ev.must(ev.signed("POST", "/fapi/v1/order", "symbol=BTCUSDT&side=SELL&type=LIMIT&timeInForce=GTC&quantity=0.5&price=50100", b), 200)
	u1 := depth.next("depth update", event("depthUpdate"))
	if u1["s"] != "BTCUSDT" || len(u1["a"].([]any)) != 1 || u1["u"].(float64) != u1["pu"].(float64)+1 || u1["U"] != u1["pu"] {
		t.Fatalf("depth update: %v", u1)
	}
	ev.must(ev.signed("POST", "/fapi/v1/order", "symbol=BTCUSDT&side=BUY&type=MARKET&quantity=0.1", a), 200)
	u2 := depth.next("second depth update", event("depthUpdate"))
	if u2["pu"] != u1["u"] {
		t.Fatalf("depth updates not chained: %v then %v", u1, u2)
	}
	tr := combined.next("aggTrade", func(m map[string]any) bool { return m["stream"] == "btcusdt@aggTrade" })
	if d := obj(tr["data"]); d["e"] != "aggTrade" || d["p"] != "50100" || d["q"] != "0.1" || d["m"] != false {
		t.Fatalf("aggTrade: %v", tr)
	}
	if m := legacy.next("legacy aggTrade", event("aggTrade")); m["p"] != "50100" {
		t.Fatalf("legacy aggTrade: %v", m)
	}
	ev.setMark(0, "50050")
	m = combined.next("mark update", func(m map[string]any) bool { return m["stream"] == "btcusdt@markPrice" })
	if obj(m["data"])["p"] != "50050" {
		t.Fatalf("mark update: %v", m)
	}
	// REST depth and the stream agree on update ids.
	d := ev.must(ev.raw("GET", "/fapi/v1/depth?symbol=BTCUSDT", "", nil), 200)
	if d.num("lastUpdateId") != u2["u"].(float64) {
		t.Fatalf("lastUpdateId %v, stream at %v", d.num("lastUpdateId"), u2["u"])
	}
}

func TestStreamSubscribe(t *testing.T) {
	ev := newEnv(t)
	ev.setMark(0, "50000")
	a := ev.client("a", 100_000, true)
	b := ev.client("b", 100_000, true)
	c := ev.dial(t, "/ws")
	c.send(map[string]any{"method": "SUBSCRIBE", "params": []string{"btcusdt@aggTrade", "!forceOrder@arr", "btcusdt@forceOrder"}, "id": 1})
	r := c.next("subscribe reply", func(m map[string]any) bool { return m["id"] == float64(1) })
	if _, has := r["result"]; !has || r["result"] != nil {
		t.Fatalf("subscribe: %v", r)
	}
	c.send(map[string]any{"method": "LIST_SUBSCRIPTIONS", "id": 2})
	r = c.next("list", func(m map[string]any) bool { return m["id"] == float64(2) })
	if len(r["result"].([]any)) != 3 {
		t.Fatalf("list: %v", r)
	}
	c.send(map[string]any{"method": "SUBSCRIBE", "params": []string{"dogeusdt@aggTrade"}, "id": 3})
	r = c.next("bad stream", func(m map[string]any) bool { return m["id"] == float64(3) })
	if r["error"] == nil {
		t.Fatalf("bad stream accepted: %v", r)
	}
	ev.must(ev.signed("POST", "/fapi/v1/order", "symbol=BTCUSDT&side=SELL&type=LIMIT&timeInForce=GTC&quantity=0.5&price=50100", b), 200)
	ev.must(ev.signed("POST", "/fapi/v1/order", "symbol=BTCUSDT&side=BUY&type=MARKET&quantity=0.1", a), 200)
	if m := c.next("raw aggTrade", event("aggTrade")); m["s"] != "BTCUSDT" {
		t.Fatalf("aggTrade: %v", m)
	}
	c.send(map[string]any{"method": "UNSUBSCRIBE", "params": []string{"btcusdt@aggTrade"}, "id": 4})
	c.next("unsubscribe", func(m map[string]any) bool { return m["id"] == float64(4) })
}

func TestUserDataStream(t *testing.T) {
	ev := newEnv(t)
	ev.setMark(0, "50000")
	a := ev.client("a", 100_000, true)
	b := ev.client("b", 100_000, true)
	hdr := map[string]string{HeaderAPIKey: a.ID}
	lk := ev.must(ev.raw("POST", "/fapi/v1/listenKey", "", hdr), 200).str("listenKey")
	if len(lk) != 64 {
		t.Fatalf("listen key %q", lk)
	}
	// Creating again while live returns the same key.
	if again := ev.must(ev.raw("POST", "/fapi/v1/listenKey", "", hdr), 200).str("listenKey"); again != lk {
		t.Fatalf("second listen key %q", again)
	}
	c := ev.dial(t, "/private/ws?listenKey="+lk)
	legacy := ev.dial(t, "/ws/"+lk)

	ev.must(ev.signed("POST", "/fapi/v1/order", "symbol=BTCUSDT&side=BUY&type=LIMIT&timeInForce=GTC&quantity=0.1&price=50000&newClientOrderId=bid-1", a), 200)
	n := obj(c.next("order NEW", event("ORDER_TRADE_UPDATE"))["o"])
	if n["x"] != "NEW" || n["X"] != "NEW" || n["c"] != "bid-1" || n["s"] != "BTCUSDT" || n["S"] != "BUY" || n["o"] != "LIMIT" || n["f"] != "GTC" {
		t.Fatalf("NEW: %v", n)
	}
	if o := obj(legacy.next("legacy NEW", event("ORDER_TRADE_UPDATE"))["o"]); o["c"] != "bid-1" {
		t.Fatalf("legacy user stream: %v", o)
	}
	ev.must(ev.signed("POST", "/fapi/v1/order", "symbol=BTCUSDT&side=SELL&type=MARKET&quantity=0.04", b), 200)
	tr := obj(c.next("order TRADE", event("ORDER_TRADE_UPDATE"))["o"])
	if tr["x"] != "TRADE" || tr["X"] != "PARTIALLY_FILLED" || tr["l"] != "0.04" || tr["L"] != "50000" || tr["z"] != "0.04" || tr["m"] != true {
		t.Fatalf("TRADE: %v", tr)
	}
	au := obj(c.next("account update", func(m map[string]any) bool { return m["e"] == "ACCOUNT_UPDATE" && len(obj(m["a"])["P"].([]any)) > 0 })["a"])
	if p := obj(au["P"].([]any)[0]); p["s"] != "BTCUSDT" || p["pa"] != "0.04" || p["ep"] != "50000" {
		t.Fatalf("ACCOUNT_UPDATE: %v", au)
	}
	ev.must(ev.signed("DELETE", "/fapi/v1/order", "symbol=BTCUSDT&origClientOrderId=bid-1", a), 200)
	cx := obj(c.next("order CANCELED", func(m map[string]any) bool {
		return m["e"] == "ORDER_TRADE_UPDATE" && obj(m["o"])["x"] == "CANCELED"
	})["o"])
	if cx["X"] != "CANCELED" || cx["z"] != "0.04" {
		t.Fatalf("CANCELED: %v", cx)
	}

	// Keepalive, close; a closed key is no stream.
	if r := ev.must(ev.raw("PUT", "/fapi/v1/listenKey", "", hdr), 200); r.str("listenKey") != lk {
		t.Fatalf("keepalive: %s", r.body)
	}
	ev.must(ev.raw("DELETE", "/fapi/v1/listenKey", "", hdr), 200)
	if r := ev.raw("PUT", "/fapi/v1/listenKey", "", hdr); r.code() != -1125 {
		t.Fatalf("keepalive after close: %s", r.body)
	}
	c.next("listenKeyExpired", event("listenKeyExpired"))
	if r := ev.raw("GET", "/private/ws?listenKey="+lk, "", nil); r.code() != -1125 {
		t.Fatalf("closed key: %d %s", r.status, r.body)
	}
}
