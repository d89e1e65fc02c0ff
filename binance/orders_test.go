package binance

import (
	"encoding/json"
	"net/url"
	"strings"
	"testing"
)

func (r *resp) num(k string) float64 {
	v, _ := r.obj[k].(float64)
	return v
}

func obj(v any) map[string]any { m, _ := v.(map[string]any); return m }

// TestOrderSemantics: time in force, post-only, reduce-only, client order
// ids and response types behave as Binance documents them.
func TestOrderSemantics(t *testing.T) {
	ev := newEnv(t)
	ev.setMark(0, "50000")
	a := ev.client("a", 100_000, true)
	b := ev.client("b", 100_000, true)
	// GTC rests: NEW, with Binance's fields.
	r := ev.must(ev.signed("POST", "/fapi/v1/order", "symbol=BTCUSDT&side=SELL&type=LIMIT&timeInForce=GTC&quantity=0.010&price=50000.0&newClientOrderId=ask-1", b), 200)
	for k, want := range map[string]string{"status": "NEW", "type": "LIMIT", "timeInForce": "GTC", "side": "SELL", "price": "50000",
		"origQty": "0.01", "executedQty": "0", "clientOrderId": "ask-1", "symbol": "BTCUSDT", "positionSide": "BOTH", "reduceOnly": "false"} {
		if got := r.str(k); got != want {
			t.Errorf("GTC %s = %q, want %q", k, got, want)
		}
	}
	askID := r.str("orderId")

	// The same newClientOrderId and payload again: the stored result, no
	// second order (Sampan's idempotency; see docs).
	r2 := ev.must(ev.signed("POST", "/fapi/v1/order", "symbol=BTCUSDT&side=SELL&type=LIMIT&timeInForce=GTC&quantity=0.010&price=50000.0&newClientOrderId=ask-1", b), 200)
	if r2.str("orderId") != askID {
		t.Fatalf("retry gave order %s, want %s", r2.str("orderId"), askID)
	}
	// Same id, other payload: duplicated.
	if r := ev.signed("POST", "/fapi/v1/order", "symbol=BTCUSDT&side=SELL&type=LIMIT&timeInForce=GTC&quantity=0.02&price=50000&newClientOrderId=ask-1", b); r.code() != CodeDuplicateClientID {
		t.Fatalf("reused client order id: %s", r.body)
	}

	// IOC larger than the book: fills 0.01, the rest expires.
	r = ev.must(ev.signed("POST", "/fapi/v1/order", "symbol=BTCUSDT&side=BUY&type=LIMIT&timeInForce=IOC&quantity=0.03&price=50000&newOrderRespType=RESULT", a), 200)
	if r.str("status") != "EXPIRED" || r.str("executedQty") != "0.01" || r.str("avgPrice") != "50000" || r.str("cumQuote") != "500" || r.str("timeInForce") != "IOC" {
		t.Fatalf("IOC: %s", r.body)
	}
	// GET order by orderId and by origClientOrderId.
	r = ev.must(ev.signed("GET", "/fapi/v1/order", "symbol=BTCUSDT&orderId="+askID, b), 200)
	if r.str("status") != "FILLED" || r.str("clientOrderId") != "ask-1" || r.str("executedQty") != "0.01" {
		t.Fatalf("filled ask: %s", r.body)
	}
	ev.must(ev.signed("GET", "/fapi/v1/order", "symbol=BTCUSDT&origClientOrderId=ask-1", b), 200)
	if r := ev.signed("GET", "/fapi/v1/openOrder", "symbol=BTCUSDT&orderId="+askID, b); r.code() != CodeNoSuchOrder {
		t.Fatalf("openOrder of a filled order: %s", r.body)
	}

	// FOK that can fill completely.
	ev.must(ev.signed("POST", "/fapi/v1/order", "symbol=BTCUSDT&side=SELL&type=LIMIT&timeInForce=GTC&quantity=0.02&price=50010", b), 200)
	r = ev.must(ev.signed("POST", "/fapi/v1/order", "symbol=BTCUSDT&side=BUY&type=LIMIT&timeInForce=FOK&quantity=0.02&price=50010", a), 200)
	if r.str("status") != "FILLED" || r.str("timeInForce") != "FOK" {
		t.Fatalf("FOK: %s", r.body)
	}

	// GTX (post-only) that does not cross rests and reports GTX.
	r = ev.must(ev.signed("POST", "/fapi/v1/order", "symbol=BTCUSDT&side=BUY&type=LIMIT&timeInForce=GTX&quantity=0.01&price=49000&newClientOrderId=maker%3A1", a), 200)
	if r.str("status") != "NEW" || r.str("timeInForce") != "GTX" || r.str("clientOrderId") != "maker:1" {
		t.Fatalf("GTX: %s", r.body)
	}
	// Open orders list it; cancel by client order id.
	r = ev.must(ev.signed("GET", "/fapi/v1/openOrders", "symbol=BTCUSDT", a), 200)
	if len(r.arr) != 1 || obj(r.arr[0])["clientOrderId"] != "maker:1" {
		t.Fatalf("openOrders: %s", r.body)
	}
	r = ev.must(ev.signed("DELETE", "/fapi/v1/order", "symbol=BTCUSDT&origClientOrderId=maker%3A1", a), 200)
	if r.str("status") != "CANCELED" {
		t.Fatalf("cancel: %s", r.body)
	}

	// Reduce-only larger than the position is trimmed to it (a is long 0.03).
	ev.must(ev.signed("POST", "/fapi/v1/order", "symbol=BTCUSDT&side=BUY&type=LIMIT&timeInForce=GTC&quantity=0.1&price=49990", b), 200)
	r = ev.must(ev.signed("POST", "/fapi/v1/order", "symbol=BTCUSDT&side=SELL&type=MARKET&quantity=0.05&reduceOnly=true", a), 200)
	if r.str("status") != "FILLED" || r.str("executedQty") != "0.03" || r.str("origQty") != "0.03" || r.str("reduceOnly") != "true" || r.str("type") != "MARKET" {
		t.Fatalf("reduce-only close: %s", r.body)
	}
	pr := ev.must(ev.signed("GET", "/fapi/v3/positionRisk", "symbol=BTCUSDT", a), 200)
	if len(pr.arr) != 0 {
		t.Fatalf("position should be closed: %s", pr.body)
	}

	// Without newClientOrderId an id is generated.
	r = ev.must(ev.signed("POST", "/fapi/v1/order", "symbol=BTCUSDT&side=BUY&type=LIMIT&timeInForce=GTC&quantity=0.001&price=49000", a), 200)
	if !strings.HasPrefix(r.str("clientOrderId"), "sampan_") {
		t.Fatalf("generated client order id: %s", r.body)
	}
	// allOpenOrders cancels everything of the symbol.
	r = ev.must(ev.signed("DELETE", "/fapi/v1/allOpenOrders", "symbol=BTCUSDT", a), 200)
	if r.num("code") != 200 {
		t.Fatalf("allOpenOrders: %s", r.body)
	}
	if r := ev.must(ev.signed("GET", "/fapi/v1/openOrders", "", a), 200); len(r.arr) != 0 {
		t.Fatalf("open orders after allOpenOrders: %s", r.body)
	}
	// allOrders keeps the history.
	if r := ev.must(ev.signed("GET", "/fapi/v1/allOrders", "symbol=BTCUSDT", a), 200); len(r.arr) != 5 {
		t.Fatalf("allOrders: %d orders: %s", len(r.arr), r.body)
	}
}

// TestBatchOrders: each item succeeds or fails on its own, in order.
func TestBatchOrders(t *testing.T) {
	ev := newEnv(t)
	ev.setMark(0, "50000")
	ev.setMark(1, "3000")
	a := ev.client("a", 100_000, true)
	items := []map[string]string{
		{"symbol": "BTCUSDT", "side": "BUY", "type": "LIMIT", "timeInForce": "GTC", "quantity": "0.001", "price": "49000", "newClientOrderId": "b1"},
		{"symbol": "NOPE", "side": "BUY", "type": "LIMIT", "timeInForce": "GTC", "quantity": "0.001", "price": "49000"},
		{"symbol": "ETHUSDT", "side": "SELL", "type": "LIMIT", "timeInForce": "GTC", "quantity": "0.01", "price": "3050"},
	}
	js, _ := json.Marshal(items)
	r := ev.must(ev.signed("POST", "/fapi/v1/batchOrders", "batchOrders="+url.QueryEscape(string(js)), a), 200)
	if len(r.arr) != 3 || obj(r.arr[0])["clientOrderId"] != "b1" || obj(r.arr[1])["code"] != float64(CodeBadSymbol) || obj(r.arr[2])["status"] != "NEW" {
		t.Fatalf("batch: %s", r.body)
	}
	six, _ := json.Marshal(append(append(items, items...), items[0]))
	if r := ev.signed("POST", "/fapi/v1/batchOrders", "batchOrders="+url.QueryEscape(string(six)), a); r.code() != CodeInvalidParam {
		t.Fatalf("batch of 7: %s", r.body)
	}
	id := obj(r.arr[2])["orderId"].(float64)
	r = ev.must(ev.signed("DELETE", "/fapi/v1/batchOrders", "symbol=ETHUSDT&orderIdList="+url.QueryEscape("["+jsonNum(id)+",424242]"), a), 200)
	if len(r.arr) != 2 || obj(r.arr[0])["status"] != "CANCELED" || obj(r.arr[1])["code"] != float64(CodeCancelRejected) {
		t.Fatalf("batch cancel: %s", r.body)
	}
}

func jsonNum(f float64) string { b, _ := json.Marshal(f); return string(b) }

// TestPositionsAndAccount: position fields (signed amount and notional,
// entry, mark, unrealized PnL, liquidation price, leverage, margin type),
// account figures and own trades.
func TestPositionsAndAccount(t *testing.T) {
	ev := newEnv(t)
	ev.setMark(0, "50000")
	long := ev.client("long", 2_000, true)
	short := ev.client("short", 100_000, true)
	ev.must(ev.signed("POST", "/fapi/v1/leverage", "symbol=BTCUSDT&leverage=5", long), 200)
	ev.must(ev.signed("POST", "/fapi/v1/order", "symbol=BTCUSDT&side=SELL&type=LIMIT&timeInForce=GTC&quantity=0.1&price=50000", short), 200)
	ev.must(ev.signed("POST", "/fapi/v1/order", "symbol=BTCUSDT&side=BUY&type=MARKET&quantity=0.1", long), 200)
	ev.setMark(0, "51000")

	r := ev.must(ev.signed("GET", "/fapi/v2/positionRisk", "symbol=BTCUSDT", long), 200)
	p := obj(r.arr[0])
	for k, want := range map[string]any{"symbol": "BTCUSDT", "positionAmt": "0.1", "entryPrice": "50000", "markPrice": "51000",
		"unRealizedProfit": "100", "notional": "5100", "leverage": "5", "marginType": "cross", "positionSide": "BOTH", "marginAsset": "USDT"} {
		if p[k] != want {
			t.Errorf("long %s = %v, want %v", k, p[k], want)
		}
	}
	if liq := p["liquidationPrice"].(string); liq == "0" || liq >= "50000" {
		t.Errorf("long liquidation price %s", liq)
	}
	r = ev.must(ev.signed("GET", "/fapi/v3/positionRisk", "", short), 200)
	if len(r.arr) != 1 || obj(r.arr[0])["positionAmt"] != "-0.1" || obj(r.arr[0])["notional"] != "-5100" || obj(r.arr[0])["unRealizedProfit"] != "-100" {
		t.Fatalf("short v3: %s", r.body)
	}
	if r := ev.must(ev.signed("GET", "/fapi/v2/positionRisk", "", short), 200); len(r.arr) != 2 {
		t.Fatalf("v2 lists every market: %s", r.body)
	}

	acc := ev.must(ev.signed("GET", "/fapi/v3/account", "", long), 200)
	if acc.str("totalWalletBalance") == "" || acc.str("totalUnrealizedProfit") != "100" || len(acc.obj["assets"].([]any)) != 1 ||
		obj(acc.obj["assets"].([]any)[0])["asset"] != "USDT" || len(acc.obj["positions"].([]any)) != 1 {
		t.Fatalf("account v3: %s", acc.body)
	}
	acc2 := ev.must(ev.signed("GET", "/fapi/v2/account", "", long), 200)
	if acc2.obj["canTrade"] != true || len(acc2.obj["positions"].([]any)) != 2 {
		t.Fatalf("account v2: %s", acc2.body)
	}
	bal := ev.must(ev.signed("GET", "/fapi/v2/balance", "", long), 200)
	if len(bal.arr) != 1 || obj(bal.arr[0])["asset"] != "USDT" {
		t.Fatalf("balance: %s", bal.body)
	}

	tr := ev.must(ev.signed("GET", "/fapi/v1/userTrades", "symbol=BTCUSDT", long), 200)
	if len(tr.arr) != 1 {
		t.Fatalf("userTrades: %s", tr.body)
	}
	f := obj(tr.arr[0])
	for k, want := range map[string]any{"side": "BUY", "price": "50000", "qty": "0.1", "quoteQty": "5000", "buyer": true, "maker": false,
		"commissionAsset": "USDT", "commission": "2.5", "positionSide": "BOTH"} {
		if f[k] != want {
			t.Errorf("trade %s = %v, want %v", k, f[k], want)
		}
	}
	mt := ev.must(ev.signed("GET", "/fapi/v1/userTrades", "symbol=BTCUSDT", short), 200)
	if obj(mt.arr[0])["maker"] != true || obj(mt.arr[0])["side"] != "SELL" {
		t.Fatalf("maker trade: %s", mt.body)
	}
	lb := ev.must(ev.signed("GET", "/fapi/v1/leverageBracket", "symbol=BTCUSDT", long), 200)
	if len(lb.arr) != 1 || len(obj(lb.arr[0])["brackets"].([]any)) != 10 {
		t.Fatalf("leverageBracket: %s", lb.body)
	}
}

// TestMarketData: Binance symbols and public shapes.
func TestMarketData(t *testing.T) {
	ev := newEnv(t)
	ev.setMark(0, "50000")
	a := ev.client("a", 100_000, true)
	b := ev.client("b", 100_000, true)
	ev.must(ev.signed("POST", "/fapi/v1/order", "symbol=BTCUSDT&side=SELL&type=LIMIT&timeInForce=GTC&quantity=0.5&price=50100", b), 200)
	ev.must(ev.signed("POST", "/fapi/v1/order", "symbol=BTCUSDT&side=BUY&type=LIMIT&timeInForce=GTC&quantity=0.2&price=49900", b), 200)
	ev.must(ev.signed("POST", "/fapi/v1/order", "symbol=BTCUSDT&side=BUY&type=MARKET&quantity=0.1", a), 200)

	info := ev.must(ev.raw("GET", "/fapi/v1/exchangeInfo", "", nil), 200)
	syms := info.obj["symbols"].([]any)
	if len(syms) != 2 || obj(syms[0])["symbol"] != "BTCUSDT" || obj(syms[1])["symbol"] != "ETHUSDT" ||
		obj(syms[0])["marginAsset"] != "USDT" || obj(syms[0])["contractType"] != "PERPETUAL" ||
		obj(syms[0])["maintMarginPercent"] != "0.4000" || obj(syms[0])["requiredMarginPercent"] != "10.0000" {
		t.Fatalf("exchangeInfo: %s", info.body)
	}
	d := ev.must(ev.raw("GET", "/fapi/v1/depth?symbol=BTCUSDT&limit=5", "", nil), 200)
	if d.str("lastUpdateId") == "" || len(d.obj["bids"].([]any)) != 1 || len(d.obj["asks"].([]any)) != 1 {
		t.Fatalf("depth: %s", d.body)
	}
	tk := ev.must(ev.raw("GET", "/fapi/v1/ticker/24hr?symbol=BTCUSDT", "", nil), 200)
	if tk.str("lastPrice") != "50100" || tk.str("volume") != "0.1" || tk.str("count") != "1" {
		t.Fatalf("ticker: %s", tk.body)
	}
	if all := ev.must(ev.raw("GET", "/fapi/v1/ticker/24hr", "", nil), 200); len(all.arr) != 2 {
		t.Fatalf("tickers: %s", all.body)
	}
	ag := ev.must(ev.raw("GET", "/fapi/v1/aggTrades?symbol=BTCUSDT", "", nil), 200)
	if len(ag.arr) != 1 || obj(ag.arr[0])["p"] != "50100" || obj(ag.arr[0])["m"] != false {
		t.Fatalf("aggTrades: %s", ag.body)
	}
	kl := ev.must(ev.raw("GET", "/fapi/v1/klines?symbol=BTCUSDT&interval=1m", "", nil), 200)
	if len(kl.arr) != 1 || kl.arr[0].([]any)[4] != "50100" {
		t.Fatalf("klines: %s", kl.body)
	}
	pi := ev.must(ev.raw("GET", "/fapi/v1/premiumIndex?symbol=BTCUSDT", "", nil), 200)
	if pi.str("markPrice") != "50000" || pi.str("lastFundingRate") == "" {
		t.Fatalf("premiumIndex: %s", pi.body)
	}
	ev.must(ev.raw("GET", "/fapi/v1/fundingRate?symbol=BTCUSDT", "", nil), 200)
	ev.must(ev.raw("GET", "/fapi/v1/time", "", nil), 200)
	bt := ev.must(ev.raw("GET", "/fapi/v1/ticker/bookTicker?symbol=BTCUSDT", "", nil), 200)
	if bt.str("bidPrice") != "49900" || bt.str("askPrice") != "50100" {
		t.Fatalf("bookTicker: %s", bt.body)
	}
}

// TestSymbolMapping: default names and an operator's override.
func TestSymbolMapping(t *testing.T) {
	ev := newEnv(t)
	if ev.bn.Symbol(0) != "BTCUSDT" || ev.bn.Symbol(1) != "ETHUSDT" {
		t.Fatalf("default symbols %s %s", ev.bn.Symbol(0), ev.bn.Symbol(1))
	}
	cfg := DefaultConfig()
	cfg.SettleAsset = "USD"
	cfg.Symbols = map[string]string{"ETH-USD-PERP": "ETHUSD_PERP"}
	h := NewHandler(ev.x, ev.keys, ev.srv.MarketData(), cfg)
	if h.Symbol(0) != "BTCUSD" || h.Symbol(1) != "ETHUSD_PERP" {
		t.Fatalf("configured symbols %s %s", h.Symbol(0), h.Symbol(1))
	}
	if _, e := h.market("ETHUSDT"); e == nil || e.Code != CodeBadSymbol {
		t.Fatalf("old name still resolves")
	}
}
