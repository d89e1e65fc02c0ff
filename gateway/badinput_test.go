package gateway

import (
	"math/rand/v2"
	"net/http"
	"strings"
	"testing"
	"time"
)

// Every bad-input class of the reliability reference (§2.3 B1–B9, B11,
// B13) gets a precise 4xx with a stable code, and nothing changes: the
// account still has no open order afterwards.
func TestBadInputClasses(t *testing.T) {
	ev := newEnv(t, func(c *ServerConfig) { c.BodyLimit = 4096 })
	ev.setMark(btc, "65000")
	k := ev.client("bad", "100000", true)
	big := `{"symbol":"BTC-USD-PERP","side":"buy","type":"limit","price":"65000","qty":"0.001","client_order_id":"` + strings.Repeat("a", 5000) + `"}`
	items := make([]string, BatchMax+1)
	for i := range items {
		items[i] = order(btc, "buy", "64000", "0.001", "")
	}
	batch := func(n int) string { return `{"orders":[` + strings.Join(items[:n], ",") + `]}` }
	// Evidence dates (Hong Kong calendar days): one just past 12 months
	// old, one two days ahead.
	past := time.Now().In(hk).AddDate(-1, 0, -2).Format(time.DateOnly)
	far := time.Now().In(hk).AddDate(0, 0, 2).Format(time.DateOnly)
	for _, c := range []struct {
		class, name, method, path, body string
		status                          int
		code, field                     string
	}{
		{"B1", "empty body", "POST", "/v1/orders", "", 400, "MALFORMED_JSON", ""},
		{"B1", "truncated", "POST", "/v1/orders", `{"symbol":"BTC-USD-PERP"`, 400, "MALFORMED_JSON", ""},
		{"B1", "trailing garbage", "POST", "/v1/orders", order(btc, "buy", "64000", "0.001", "") + "x", 400, "MALFORMED_JSON", ""},
		{"B2", "duplicate key", "POST", "/v1/orders", `{"symbol":"BTC-USD-PERP","side":"buy","type":"limit","price":"64000","qty":"1","qty":"-5"}`, 400, "DUPLICATE_FIELD", "qty"},
		{"B3", "wrong-case key", "POST", "/v1/orders", `{"symbol":"BTC-USD-PERP","side":"buy","type":"limit","price":"64000","QTY":"7"}`, 400, "UNKNOWN_FIELD", "QTY"},
		{"B4", "unknown key", "POST", "/v1/orders", `{"symbol":"BTC-USD-PERP","side":"buy","type":"limit","price":"64000","qty":"1","x":1}`, 400, "UNKNOWN_FIELD", "x"},
		{"B4", "unknown query parameter", "GET", "/v1/orders?symbl=BTC-USD-PERP", "", 400, "UNKNOWN_FIELD", "symbl"},
		{"B5", "body over the limit", "POST", "/v1/orders", big, 413, "BODY_TOO_LARGE", ""},
		{"B5", "batch one past the limit", "POST", "/v1/orders/batch", batch(BatchMax + 1), 413, "TOO_MANY_ITEMS", "orders"},
		{"B6", "number instead of string", "POST", "/v1/orders", `{"symbol":"BTC-USD-PERP","side":"buy","type":"limit","price":65000,"qty":"1"}`, 400, "INVALID_FIELD", "price"},
		{"B6", "exponent", "POST", "/v1/orders", order(btc, "buy", "6.5e4", "0.001", ""), 400, "INVALID_FIELD", "price"},
		{"B6", "NaN", "POST", "/v1/orders", order(btc, "buy", "NaN", "0.001", ""), 400, "INVALID_FIELD", "price"},
		{"B6", "Infinity", "POST", "/v1/orders", order(btc, "buy", "64000", "Infinity", ""), 400, "INVALID_FIELD", "qty"},
		{"B6", "bare NaN literal", "POST", "/v1/orders", `{"symbol":"BTC-USD-PERP","price":NaN}`, 400, "MALFORMED_JSON", ""},
		{"B6", "leading plus", "POST", "/v1/orders", order(btc, "buy", "+64000", "0.001", ""), 400, "INVALID_FIELD", "price"},
		{"B6", "leading zero", "POST", "/v1/orders", order(btc, "buy", "064000", "0.001", ""), 400, "INVALID_FIELD", "price"},
		{"B7", "price off tick", "POST", "/v1/orders", order(btc, "buy", "64000.05", "0.001", ""), 400, "INVALID_PRICE_STEP", "price"},
		{"B7", "qty off lot", "POST", "/v1/orders", order(btc, "buy", "64000", "0.0015", ""), 400, "INVALID_QTY_STEP", "qty"},
		{"B8", "zero qty", "POST", "/v1/orders", order(btc, "buy", "64000", "0", ""), 400, "INVALID_FIELD", "qty"},
		{"B8", "negative qty", "POST", "/v1/orders", order(btc, "buy", "64000", "-1", ""), 400, "INVALID_FIELD", "qty"},
		{"B8", "negative zero", "POST", "/v1/orders", order(btc, "buy", "64000", "-0", ""), 400, "INVALID_FIELD", "qty"},
		{"B8", "fraction for an integer", "POST", "/v1/admin/clients/1/knowledge", `{"basis":"prior_trades","trades":5.5}`, 400, "INVALID_FIELD", "trades"},
		{"B8", "fractional leverage", "POST", "/v1/leverage", `{"symbol":"BTC-USD-PERP","leverage":"2.5"}`, 400, "OUT_OF_RANGE", "leverage"},
		{"B9", "huge qty", "POST", "/v1/orders", order(btc, "buy", "64000", "99999999999999999999", ""), 400, "OUT_OF_RANGE", "qty"},
		{"B9", "qty above market max", "POST", "/v1/orders", order(btc, "buy", "64000", "1000.001", ""), 400, "OUT_OF_RANGE", "qty"},
		{"B9", "price above market max", "POST", "/v1/orders", order(btc, "buy", "1000000.1", "0.001", ""), 400, "OUT_OF_RANGE", "price"},
		{"B9", "int64 overflow", "POST", "/v1/admin/clients/1/knowledge", `{"basis":"prior_trades","trades":99999999999999999999}`, 400, "OUT_OF_RANGE", "trades"},
		{"B9", "limit out of range", "GET", "/v1/markets/BTC-USD-PERP/depth?limit=1001", "", 400, "INVALID_FIELD", "limit"},
		{"B12", "unknown market", "POST", "/v1/orders", order("DOGE-USD-PERP", "buy", "1", "1", ""), 404, "unknown_market", "symbol"},
		{"B12", "out of band", "POST", "/v1/orders", order(btc, "buy", "60000", "0.001", ""), 422, "price_out_of_band", ""},
		{"B12", "reduce-only with no position", "POST", "/v1/orders", `{"symbol":"BTC-USD-PERP","side":"buy","type":"limit","price":"64000","qty":"0.001","reduce_only":true}`, 422, "reduce_only_would_increase", ""},
		{"B12", "bad enum", "POST", "/v1/orders", `{"symbol":"BTC-USD-PERP","side":"BUY","type":"limit","price":"64000","qty":"0.001"}`, 400, "INVALID_FIELD", "side"},
		{"B12", "limit without price", "POST", "/v1/orders", `{"symbol":"BTC-USD-PERP","side":"buy","type":"limit","qty":"0.001"}`, 400, "MISSING_FIELD", "price"},
		{"B12", "client order id too long", "POST", "/v1/orders", order(btc, "buy", "64000", "0.001", strings.Repeat("x", ClientOrderIDMax+1)), 400, "INVALID_FIELD", "client_order_id"},
		{"B12", "post-only IOC", "POST", "/v1/orders", `{"symbol":"BTC-USD-PERP","side":"buy","type":"limit","time_in_force":"IOC","post_only":true,"price":"64000","qty":"0.001"}`, 400, "invalid_order", ""},
		{"B13", "evidence dated in the future", "POST", "/v1/admin/clients/1/classification", `{"class":"individual_pi","evidence":"bank_statement","evidence_date":"` + far + `","portfolio_hkd":"9000000"}`, 422, "evidence_date_in_future", ""},
		{"B13", "evidence older than 12 months", "POST", "/v1/admin/clients/1/classification", `{"class":"individual_pi","evidence":"bank_statement","evidence_date":"` + past + `","portfolio_hkd":"9000000"}`, 422, "evidence_expired", ""},
		{"B13", "client timestamp field", "POST", "/v1/orders", `{"symbol":"BTC-USD-PERP","side":"buy","type":"limit","price":"64000","qty":"0.001","expires_at":1}`, 400, "UNKNOWN_FIELD", "expires_at"},
	} {
		t.Run(c.class+" "+c.name, func(t *testing.T) {
			key := k
			if strings.HasPrefix(c.path, "/v1/admin") {
				key = ev.ops[RoleCompliance]
			}
			r := ev.do(c.method, c.path, c.body, key)
			if r.status != c.status || r.str("code") != c.code || r.str("field") != c.field || r.str("message") == "" {
				t.Fatalf("got %d %s", r.status, r.body)
			}
		})
	}
	// Batch at the limit is accepted, item by item.
	r := ev.must(ev.do("POST", "/v1/orders/batch", batch(BatchMax), k), 200)
	if strings.Count(string(r.body), `"status":200`) != BatchMax {
		t.Fatalf("batch at the limit: %s", r.body)
	}
	ev.must(ev.do("DELETE", "/v1/orders", "", k), 200)
	// Nothing the bad requests sent left an order behind.
	if o := ev.must(ev.do("GET", "/v1/orders", "", k), 200); o.str("orders") != "[]" {
		t.Fatalf("open orders: %s", o.body)
	}
}

// Random mutations of valid bodies against every mutating route: never a
// 5xx, every error has a code and a message.
func TestHandlersNeverAnswer5xx(t *testing.T) {
	ev := newEnv(t, nil)
	ev.setMark(btc, "65000")
	k := ev.client("fz", "100000", true)
	seeds := []struct{ method, path, body string }{
		{"POST", "/v1/orders", order(btc, "buy", "64000", "0.001", "f1")},
		{"POST", "/v1/orders/batch", `{"orders":[` + order(btc, "sell", "66000", "0.001", "") + `]}`},
		{"POST", "/v1/orders/1/amend", `{"symbol":"BTC-USD-PERP","price":"64000"}`},
		{"POST", "/v1/leverage", `{"symbol":"BTC-USD-PERP","leverage":"3"}`},
		{"POST", "/v1/withdrawals", `{"amount":"1","idempotency_key":"w"}`},
		{"DELETE", "/v1/orders/1?symbol=BTC-USD-PERP", ""},
		{"GET", "/v1/markets/BTC-USD-PERP/klines?interval=1m&limit=5", ""},
	}
	rng := rand.New(rand.NewPCG(1, 2))
	alphabet := []byte(`{}[]",:0123456789.-eE+ abcnulltrue\` + "\x00\xff")
	for i := 0; i < 1500; i++ {
		s := seeds[rng.IntN(len(seeds))]
		b := []byte(s.body)
		for n := rng.IntN(4); n >= 0 && len(b) > 0; n-- {
			p := rng.IntN(len(b))
			switch rng.IntN(3) {
			case 0:
				b[p] = alphabet[rng.IntN(len(alphabet))]
			case 1:
				b = append(b[:p], b[p+1:]...)
			default:
				b = append(b[:p], append([]byte{alphabet[rng.IntN(len(alphabet))]}, b[p:]...)...)
			}
		}
		r := ev.do(s.method, s.path, string(b), k)
		if r.status >= 500 || (r.status >= 400 && (r.str("code") == "" || r.str("message") == "")) {
			t.Fatalf("%s %s %q: %d %s", s.method, s.path, b, r.status, r.body)
		}
	}
	_ = http.StatusOK
}
