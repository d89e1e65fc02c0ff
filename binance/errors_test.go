package binance

import (
	"strings"
	"testing"
)

// TestErrorCodes: every rejection is Binance's {code, msg} with Binance's
// code, and nothing reaches the engine for a request that is wrong in
// itself.
func TestErrorCodes(t *testing.T) {
	ev := newEnv(t)
	ev.setMark(0, "50000")
	ev.setMark(1, "3000")
	k := ev.client("trader", 2_000, true)
	maker := ev.client("maker", 100_000, true)
	retail := ev.client("retail", 100_000, false)
	ev.must(ev.signed("POST", "/fapi/v1/order", "symbol=BTCUSDT&side=SELL&type=LIMIT&timeInForce=GTC&quantity=0.01&price=50000", maker), 200)

	order := func(extra string) string {
		base := map[string]string{"symbol": "BTCUSDT", "side": "BUY", "type": "LIMIT", "timeInForce": "GTC", "quantity": "0.001", "price": "49000"}
		var parts []string
		for _, kv := range strings.Split(extra, "&") {
			if kv == "" {
				continue
			}
			key, v, _ := strings.Cut(kv, "=")
			if _, ok := base[key]; ok {
				base[key] = v
				if v == "-" {
					delete(base, key)
				}
				continue
			}
			parts = append(parts, kv)
		}
		for _, key := range []string{"symbol", "side", "type", "timeInForce", "quantity", "price"} {
			if v, ok := base[key]; ok {
				parts = append(parts, key+"="+v)
			}
		}
		return strings.Join(parts, "&")
	}
	cases := []struct {
		name, method, path, params string
		who                        string
		code                       int
		msg                        string
	}{
		{"unknown symbol", "POST", "/fapi/v1/order", order("symbol=DOGEUSDT"), "", CodeBadSymbol, "Invalid symbol."},
		{"native symbol is not a Binance symbol", "POST", "/fapi/v1/order", order("symbol=BTC-USD-PERP"), "", CodeBadSymbol, "Invalid symbol."},
		{"lower-case symbol", "POST", "/fapi/v1/order", order("symbol=btcusdt"), "", CodeBadSymbol, "Invalid symbol."},
		{"missing symbol", "POST", "/fapi/v1/order", order("symbol=-"), "", CodeMandatoryParam, "Mandatory parameter 'symbol' was not sent, was empty/null, or malformed."},
		{"bad side", "POST", "/fapi/v1/order", order("side=buy"), "", CodeBadSide, "Invalid side."},
		{"bad type", "POST", "/fapi/v1/order", order("type=LIMIT_MAKER"), "", CodeBadType, "Invalid orderType."},
		{"stop order", "POST", "/fapi/v1/order", order("type=STOP_MARKET&price=-&timeInForce=-"), "", CodeUnsupportedOp, ""},
		{"stopPrice parameter", "POST", "/fapi/v1/order", order("stopPrice=48000"), "", CodeUnsupportedOp, ""},
		{"bad timeInForce", "POST", "/fapi/v1/order", order("timeInForce=GTD"), "", CodeBadTIF, "Invalid timeInForce."},
		{"limit without timeInForce", "POST", "/fapi/v1/order", order("timeInForce=-"), "", CodeMandatoryParam, ""},
		{"limit without price", "POST", "/fapi/v1/order", order("price=-"), "", CodeMandatoryParam, ""},
		{"market with price", "POST", "/fapi/v1/order", order("type=MARKET"), "", CodeNotRequired, "Parameter 'price' sent when not required."},
		{"missing quantity", "POST", "/fapi/v1/order", order("quantity=-"), "", CodeMandatoryParam, ""},
		{"quantity zero", "POST", "/fapi/v1/order", order("quantity=0"), "", CodeQtyLow, "Quantity less than or equal to zero."},
		{"quantity negative", "POST", "/fapi/v1/order", order("quantity=-1"), "", CodeQtyLow, "Quantity less than or equal to zero."},
		{"quantity precision", "POST", "/fapi/v1/order", order("quantity=0.0015"), "", CodePrecision, "Precision is over the maximum defined for this asset."},
		{"quantity above max", "POST", "/fapi/v1/order", order("quantity=1000000"), "", CodeQtyHigh, "Quantity greater than max quantity."},
		{"quantity with exponent", "POST", "/fapi/v1/order", order("quantity=1e-3"), "", CodeIllegalChars, ""},
		{"price precision", "POST", "/fapi/v1/order", order("price=49000.05"), "", CodePrecision, "Precision is over the maximum defined for this asset."},
		{"price zero", "POST", "/fapi/v1/order", order("price=0"), "", CodePriceLow, "Price less than or equal to zero."},
		{"price above max", "POST", "/fapi/v1/order", order("price=99999999"), "", CodePriceHigh, "Price greater than max price."},
		{"price outside the band", "POST", "/fapi/v1/order", order("price=40000"), "", CodeFilterFailure, "Filter failure: PERCENT_PRICE"},
		{"hedge-mode position side", "POST", "/fapi/v1/order", order("positionSide=LONG"), "", CodePositionSide, ""},
		{"bad reduceOnly", "POST", "/fapi/v1/order", order("reduceOnly=yes"), "", CodeInvalidParam, ""},
		{"bad newOrderRespType", "POST", "/fapi/v1/order", order("newOrderRespType=FULL"), "", CodeInvalidParam, ""},
		{"bad client order id", "POST", "/fapi/v1/order", order("newClientOrderId=has%20space"), "", CodeIllegalChars, ""},
		{"unknown parameter", "POST", "/fapi/v1/order", order("icebergQty=1"), "", CodeUnknownParam, ""},
		{"duplicate parameter", "POST", "/fapi/v1/order", order("") + "&side=SELL", "", CodeDuplicateParam, ""},
		{"insufficient margin", "POST", "/fapi/v1/order", order("quantity=1"), "", CodeMarginInsufficient, "Margin is insufficient."},
		{"reduce-only would increase", "POST", "/fapi/v1/order", order("reduceOnly=true"), "", CodeReduceOnlyRejected, "ReduceOnly Order is rejected."},
		{"post-only would cross", "POST", "/fapi/v1/order", order("timeInForce=GTX&price=50000"), "", CodePostOnlyRejected, "Due to the order could not be executed as maker, the Post Only order will be rejected."},
		{"FOK cannot fill", "POST", "/fapi/v1/order", order("timeInForce=FOK&price=50000&quantity=0.02"), "", CodeFOKRejected, ""},
		{"retail client", "POST", "/fapi/v1/order", order(""), "retail", CodeNewOrderRejected, "Perpetual contracts are offered to professional investors only; your account is classified as retail."},
		{"query unknown order", "GET", "/fapi/v1/order", "symbol=BTCUSDT&orderId=999999", "", CodeNoSuchOrder, "Order does not exist."},
		{"query without id", "GET", "/fapi/v1/order", "symbol=BTCUSDT", "", CodeMandatoryParam, ""},
		{"cancel unknown order", "DELETE", "/fapi/v1/order", "symbol=BTCUSDT&orderId=999999", "", CodeCancelRejected, "Unknown order sent."},
		{"cancel unknown client order id", "DELETE", "/fapi/v1/order", "symbol=BTCUSDT&origClientOrderId=nope", "", CodeCancelRejected, "Unknown order sent."},
		{"leverage out of range", "POST", "/fapi/v1/leverage", "symbol=BTCUSDT&leverage=50", "", CodeLeverage, "Leverage 50 is not valid"},
		{"leverage zero", "POST", "/fapi/v1/leverage", "symbol=BTCUSDT&leverage=0", "", CodeLeverage, "Leverage 0 is not valid"},
		{"isolated margin", "POST", "/fapi/v1/marginType", "symbol=BTCUSDT&marginType=ISOLATED", "", CodeUnsupportedOp, ""},
		{"cross margin already", "POST", "/fapi/v1/marginType", "symbol=BTCUSDT&marginType=CROSSED", "", CodeNoNeedMarginType, "No need to change margin type."},
		{"positionRisk bad symbol", "GET", "/fapi/v2/positionRisk", "symbol=XRPUSDT", "", CodeBadSymbol, "Invalid symbol."},
		{"batch of six", "POST", "/fapi/v1/batchOrders", "batchOrders=" + strings.Repeat("x", 3), "", CodeInvalidParam, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ev := ev.with(t)
			who := k
			if c.who == "retail" {
				who = retail
			}
			r := ev.signed(c.method, c.path, c.params, who)
			if r.status < 400 || r.status >= 500 {
				t.Fatalf("status %d: %s", r.status, r.body)
			}
			if r.code() != c.code {
				t.Fatalf("code %d, want %d: %s", r.code(), c.code, r.body)
			}
			if c.msg != "" && r.str("msg") != c.msg {
				t.Fatalf("msg %q, want %q", r.str("msg"), c.msg)
			}
		})
	}
	// Nothing was left resting by the rejected orders.
	r := ev.must(ev.signed("GET", "/fapi/v1/openOrders", "", k), 200)
	if len(r.arr) != 0 {
		t.Fatalf("rejected orders left open orders: %s", r.body)
	}
}

func TestUnmarkedMarket(t *testing.T) {
	ev := newEnv(t)
	k := ev.client("early", 10_000, true)
	r := ev.signed("POST", "/fapi/v1/order", "symbol=BTCUSDT&side=BUY&type=LIMIT&timeInForce=GTC&quantity=0.001&price=50000", k)
	if r.code() != CodeNewOrderRejected || !strings.Contains(r.str("msg"), "no mark price") {
		t.Fatalf("%s", r.body)
	}
}

// TestPublicErrors: public endpoints, unknown routes and methods answer
// Binance JSON errors.
func TestPublicErrors(t *testing.T) {
	ev := newEnv(t)
	for _, c := range []struct {
		method, target string
		status, code   int
	}{
		{"GET", "/fapi/v1/depth?symbol=NOPE", 400, CodeBadSymbol},
		{"GET", "/fapi/v1/depth", 400, CodeMandatoryParam},
		{"GET", "/fapi/v1/depth?symbol=BTCUSDT&limit=7", 400, CodeInvalidParam},
		{"GET", "/fapi/v1/depth?symbol=BTCUSDT&limit=x", 400, CodeIllegalChars},
		{"GET", "/fapi/v1/depth?symbol=BTCUSDT&symbol=ETHUSDT", 400, CodeDuplicateParam},
		{"GET", "/fapi/v1/depth?symbol=BTCUSDT&foo=1", 400, CodeUnknownParam},
		{"GET", "/fapi/v1/klines?symbol=BTCUSDT&interval=3m", 400, CodeBadInterval},
		{"GET", "/fapi/v1/klines?symbol=BTCUSDT", 400, CodeMandatoryParam},
		{"GET", "/fapi/v1/ticker/24hr?symbol=NOPE", 400, CodeBadSymbol},
		{"GET", "/fapi/v1/premiumIndex?symbol=NOPE", 400, CodeBadSymbol},
		{"GET", "/fapi/v1/fundingRate?symbol=NOPE", 400, CodeBadSymbol},
		{"GET", "/fapi/v1/aggTrades?symbol=NOPE", 400, CodeBadSymbol},
		{"GET", "/fapi/v1/aggTrades?symbol=BTCUSDT&limit=1001", 400, CodeInvalidParam},
		{"GET", "/fapi/v1/nothing", 404, CodeUnsupportedOp},
		{"GET", "/sapi/v1/nothing", 404, CodeUnsupportedOp},
		{"PATCH", "/fapi/v1/order", 405, CodeUnsupportedOp},
		{"POST", "/fapi/v1/time", 405, CodeUnsupportedOp},
		{"GET", "/fapi/v1/ws-no", 404, CodeUnsupportedOp},
		{"GET", "/ws/btcusdt@aggTrade", 400, CodeUnsupportedOp}, // not a WebSocket upgrade
		{"GET", "/private/ws?listenKey=nope", 400, -1125},
		{"POST", "/fapi/v1/listenKey", 401, CodeKeyFormat},
	} {
		r := ev.raw(c.method, c.target, "", nil)
		if r.status != c.status || r.code() != c.code {
			t.Errorf("%s %s: %d %s, want %d code %d", c.method, c.target, r.status, r.body, c.status, c.code)
		}
	}
	// A body over the limit is refused in JSON.
	r := ev.raw("POST", "/fapi/v1/order", strings.Repeat("a", 70<<10), map[string]string{HeaderAPIKey: "x"})
	if r.status != 413 || r.code() != CodeIllegalChars {
		t.Errorf("oversized body: %d %s", r.status, r.body)
	}
}

// Bad input never produces a 5xx or a non-JSON body (raw checks both).
func TestNoServerErrorOnGarbage(t *testing.T) {
	ev := newEnv(t)
	ev.setMark(0, "50000")
	k := ev.client("fuzz", 10_000, true)
	junk := []string{"", "=", "&&", "%", "%zz=1", "a=%", "symbol=", "symbol=%00", "limit=-1", "limit=99999999999999999999",
		"quantity=" + strings.Repeat("9", 40), "price=NaN", "price=Inf", "orderId=-1", "orderId=0", "leverage=999999999999",
		"batchOrders=[{}]", "batchOrders=[{\"symbol\":1}]", "batchOrders=null", "orderIdList=[1,2", "fromId=x", "startTime=1e9"}
	paths := []struct{ method, path string }{
		{"GET", "/fapi/v1/depth"}, {"GET", "/fapi/v1/klines"}, {"GET", "/fapi/v1/aggTrades"}, {"GET", "/fapi/v1/fundingRate"},
		{"POST", "/fapi/v1/order"}, {"GET", "/fapi/v1/order"}, {"DELETE", "/fapi/v1/order"}, {"POST", "/fapi/v1/batchOrders"},
		{"DELETE", "/fapi/v1/batchOrders"}, {"POST", "/fapi/v1/leverage"}, {"GET", "/fapi/v1/userTrades"}, {"GET", "/fapi/v1/allOrders"},
	}
	for _, p := range paths {
		for _, j := range junk {
			ev.raw(p.method, p.path+"?"+j, "", nil)
			ev.signed(p.method, p.path, j, k)
			ev.signed(p.method, p.path, "symbol=BTCUSDT&"+j, k)
		}
	}
}
