package gateway

import (
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"
)

func discardLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

const btc = "BTC-USD-PERP"

// A maker rests, a taker crosses, both see the trade in fills, positions,
// history and the public tape; the maker cancels the rest.
func TestRESTTradeLifecycle(t *testing.T) {
	ev := newEnv(t, nil)
	ev.setMark(btc, "65000")
	a, b := ev.client("alice", "100000", true), ev.client("bob", "1000", true)

	r := ev.must(ev.do("POST", "/v1/orders", order(btc, "sell", "65000", "0.1", "a-1"), a), 200)
	if r.str("status") != "open" || r.str("client_order_id") != "a-1" || r.str("remaining") != "0.1" || r.str("replayed") != "false" {
		t.Fatalf("maker order: %s", r.body)
	}
	makerID := r.str("order_id")
	depth := ev.must(ev.do("GET", "/v1/markets/"+btc+"/depth?limit=5", "", nil), 200)
	if depth.str("asks") != `[["65000","0.1"]]` || depth.str("bids") != `[]` {
		t.Fatalf("depth: %s", depth.body)
	}

	r = ev.must(ev.do("POST", "/v1/orders", `{"symbol":"BTC-USD-PERP","side":"buy","type":"limit","time_in_force":"IOC","price":"65000","qty":"0.04","client_order_id":"b-1"}`, b), 200)
	if r.str("status") != "filled" || r.str("filled") != "0.04" {
		t.Fatalf("taker order: %s", r.body)
	}

	pos := ev.must(ev.do("GET", "/v1/positions", "", b), 200)
	if !strings.Contains(string(pos.body), `"side":"long","size":"0.04","entry_price":"65000"`) || !strings.Contains(string(pos.body), `"liquidation_price"`) {
		t.Fatalf("positions: %s", pos.body)
	}
	fills := ev.must(ev.do("GET", "/v1/fills", "", a), 200)
	if !strings.Contains(string(fills.body), `"client_order_id":"a-1","side":"sell","price":"65000","qty":"0.04","fee":"0.52"`) ||
		!strings.Contains(string(fills.body), `"liquidity":"maker"`) {
		t.Fatalf("maker fills: %s", fills.body)
	}
	trades := ev.must(ev.do("GET", "/v1/markets/"+btc+"/trades", "", nil), 200)
	if !strings.Contains(string(trades.body), `"price":"65000","qty":"0.04","side":"buy"`) {
		t.Fatalf("trades: %s", trades.body)
	}
	tick := ev.must(ev.do("GET", "/v1/markets/"+btc+"/ticker", "", nil), 200)
	if tick.str("last") != "65000" || tick.str("mark") != "65000" || tick.str("volume_24h") != "0.04" || tick.str("best_ask") != "65000" || tick.str("best_ask_qty") != "0.06" {
		t.Fatalf("ticker: %s", tick.body)
	}
	kl := ev.must(ev.do("GET", "/v1/markets/"+btc+"/klines?interval=1m", "", nil), 200)
	if !strings.Contains(string(kl.body), `"open":"65000","high":"65000","low":"65000","close":"65000","volume":"0.04","trades":1`) {
		t.Fatalf("klines: %s", kl.body)
	}
	acct := ev.must(ev.do("GET", "/v1/account", "", b), 200)
	if acct.str("eligible") != "true" || acct.str("initial_margin") != "260" || acct.str("classification") != "individual_pi" {
		t.Fatalf("account: %s", acct.body)
	}

	open := ev.must(ev.do("GET", "/v1/orders?symbol="+btc, "", a), 200)
	if !strings.Contains(string(open.body), `"order_id":"`+makerID+`"`) || !strings.Contains(string(open.body), `"status":"partially_filled"`) {
		t.Fatalf("open orders: %s", open.body)
	}
	c := ev.must(ev.do("DELETE", "/v1/orders/"+makerID+"?symbol="+btc, "", a), 200)
	if c.str("status") != "cancelled" || c.str("reason") != "cancelled_by_owner" || c.str("filled") != "0.04" {
		t.Fatalf("cancel: %s", c.body)
	}
	ev.must(ev.do("DELETE", "/v1/orders/"+makerID+"?symbol="+btc, "", a), 404)
	hist := ev.must(ev.do("GET", "/v1/orders/history?limit=10", "", a), 200)
	if !strings.Contains(string(hist.body), `"status":"cancelled"`) {
		t.Fatalf("history: %s", hist.body)
	}
	if d := ev.must(ev.do("GET", "/v1/markets/"+btc+"/depth", "", nil), 200); d.str("asks") != "[]" {
		t.Fatalf("depth after cancel: %s", d.body)
	}
}

func TestAmendCancelByClientIDCancelAllLeverageWithdraw(t *testing.T) {
	ev := newEnv(t, nil)
	ev.setMark(btc, "65000")
	a := ev.client("amy", "100000", true)
	r := ev.must(ev.do("POST", "/v1/orders", order(btc, "buy", "64000", "0.1", "x1"), a), 200)
	id := r.str("order_id")
	am := ev.must(ev.do("POST", "/v1/orders/"+id+"/amend", `{"symbol":"BTC-USD-PERP","price":"64100.5","qty":"0.2"}`, a), 200)
	if am.str("price") != "64100.5" || am.str("remaining") != "0.2" {
		t.Fatalf("amend: %s", am.body)
	}
	ev.must(ev.do("DELETE", "/v1/orders/by-client-id/x1?symbol="+btc, "", a), 200)
	ev.must(ev.do("POST", "/v1/orders", order(btc, "buy", "64000", "0.1", "x2"), a), 200)
	ev.must(ev.do("POST", "/v1/orders", order(btc, "buy", "64000", "0.1", "x3"), a), 200)
	ev.must(ev.do("DELETE", "/v1/orders", "", a), 200)
	if o := ev.must(ev.do("GET", "/v1/orders", "", a), 200); o.str("orders") != "[]" {
		t.Fatalf("after cancel all: %s", o.body)
	}
	ev.must(ev.do("POST", "/v1/leverage", `{"symbol":"BTC-USD-PERP","leverage":"5"}`, a), 200)
	if r := ev.do("POST", "/v1/leverage", `{"symbol":"BTC-USD-PERP","leverage":"11"}`, a); r.status != 400 || r.str("code") != "leverage_out_of_range" {
		t.Fatalf("leverage 11: %d %s", r.status, r.body)
	}
	w := ev.must(ev.do("POST", "/v1/withdrawals", `{"amount":"100.5","idempotency_key":"w1"}`, a), 200)
	if w.str("replayed") != "false" {
		t.Fatal(string(w.body))
	}
	if w := ev.must(ev.do("POST", "/v1/withdrawals", `{"amount":"100.5","idempotency_key":"w1"}`, a), 200); w.str("replayed") != "true" {
		t.Fatalf("withdrawal retry: %s", w.body)
	}
	ev.must(ev.do("POST", "/v1/withdrawals", `{"amount":"100.6","idempotency_key":"w1"}`, a), 409)
	ev.must(ev.do("POST", "/v1/withdrawals", `{"amount":"1"}`, a), 400)
	if acct := ev.must(ev.do("GET", "/v1/account", "", a), 200); acct.str("collateral") != "99899.5" {
		t.Fatalf("collateral after one withdrawal: %s", acct.body)
	}
}

// The professional-investor gate reaches the client as a 403 with the
// engine's code and a plain-language reason, and the account says why.
func TestRetailClientIsRefusedWithPlainReason(t *testing.T) {
	ev := newEnv(t, nil)
	ev.setMark(btc, "65000")
	k := ev.client("rita", "100000", false)
	r := ev.do("POST", "/v1/orders", order(btc, "buy", "65000", "0.01", ""), k)
	if r.status != 403 || r.str("code") != "not_professional_investor" ||
		r.str("message") != "Perpetual contracts are offered to professional investors only; your account is classified as retail." {
		t.Fatalf("%d %s", r.status, r.body)
	}
	a := ev.must(ev.do("GET", "/v1/account", "", k), 200)
	if a.str("eligible") != "false" || a.str("ineligible_reason", "code") != "not_professional_investor" {
		t.Fatalf("account: %s", a.body)
	}
}

// B10/B11: the same client_order_id with the same payload returns the
// original result marked replayed; with another payload it is a 409.
func TestOrderIdempotency(t *testing.T) {
	ev := newEnv(t, nil)
	ev.setMark(btc, "65000")
	k := ev.client("ida", "100000", true)
	first := ev.must(ev.do("POST", "/v1/orders", order(btc, "buy", "64000", "0.01", "idem-1"), k), 200)
	again := ev.must(ev.do("POST", "/v1/orders", order(btc, "buy", "64000", "0.01", "idem-1"), k), 200)
	if again.str("replayed") != "true" || again.str("order_id") != first.str("order_id") {
		t.Fatalf("retry: %s vs %s", again.body, first.body)
	}
	c := ev.do("POST", "/v1/orders", order(btc, "buy", "64000", "0.02", "idem-1"), k)
	if c.status != 409 || c.str("code") != "IDEMPOTENCY_CONFLICT" {
		t.Fatalf("conflict: %d %s", c.status, c.body)
	}
	if o := ev.must(ev.do("GET", "/v1/orders", "", k), 200); strings.Count(string(o.body), `"order_id"`) != 1 {
		t.Fatalf("open orders after retries: %s", o.body)
	}
}

func TestAuthFailures(t *testing.T) {
	ev := newEnv(t, nil)
	k := ev.client("al", "1000", true)
	sign := func(method, target, body string, ms int64, secret []byte) *http.Request {
		req, _ := http.NewRequest(method, ev.hs.URL+target, strings.NewReader(body))
		req.Header.Set(HeaderKey, k.ID)
		req.Header.Set(HeaderTimestamp, strconv.FormatInt(ms, 10))
		req.Header.Set(HeaderSignature, Sign(secret, ms, method, req.URL.RequestURI(), []byte(body)))
		return req
	}
	now := ev.stamp()
	good := sign("GET", "/v1/account", "", now, k.Secret)
	ev.must(ev.send(good), 200)
	for _, c := range []struct {
		name string
		req  *http.Request
	}{
		{"replay", sign("GET", "/v1/account", "", now, k.Secret)},
		{"bad signature", sign("GET", "/v1/account", "", ev.stamp(), []byte("wrong"))},
		{"stale timestamp", sign("GET", "/v1/account", "", ev.stamp()-int64(RecvWindow/time.Millisecond)-1000, k.Secret)},
		{"future timestamp", sign("GET", "/v1/account", "", ev.stamp()+int64(RecvWindow/time.Millisecond)+1000, k.Secret)},
		{"missing key", func() *http.Request { r, _ := http.NewRequest("GET", ev.hs.URL+"/v1/account", nil); return r }()},
	} {
		if r := ev.send(c.req); r.status != 401 || r.str("code") != "UNAUTHORIZED" {
			t.Errorf("%s: %d %s", c.name, r.status, r.body)
		}
	}
	// Keys act only within their kind and permissions.
	ro := &Key{ID: "ro", Secret: []byte("ro"), Account: k.Account, Perms: PermRead}
	ev.keys.Put(ro)
	ev.must(ev.do("POST", "/v1/orders", order(btc, "buy", "1", "0.001", ""), ro), 403)
	ev.must(ev.do("GET", "/v1/account", "", ev.ops[RoleAdmin]), 403)
	ev.must(ev.do("POST", "/v1/admin/marks", `{"symbol":"BTC-USD-PERP","price":"1"}`, k), 403)
	ev.must(ev.do("POST", "/v1/admin/marks", `{"symbol":"BTC-USD-PERP","price":"1"}`, ev.ops[RoleAuditor]), 403)
	ev.must(ev.do("POST", "/v1/admin/clients/1/classification", `{"classification":"retail","idempotency_key":"x"}`, ev.ops[RoleAdmin]), 403)
	ev.must(ev.do("GET", "/v1/admin/clients/1", "", ev.ops[RoleAuditor]), 200)
}

// The permission matrix is total: every action has at least one role, the
// auditor can only read, and no role but compliance can classify.
func TestPermissionMatrix(t *testing.T) {
	for a, roles := range Permissions {
		if len(roles) == 0 {
			t.Errorf("%s: no role may do it", a)
		}
		if a != ActViewClient && a != ActViewRisk && Allowed(RoleAuditor, a) {
			t.Errorf("auditor may %s", a)
		}
		if a == ActClassify && (len(roles) != 1 || roles[0] != RoleCompliance) {
			t.Errorf("classification roles: %v", roles)
		}
		if Allowed(RoleNone, a) {
			t.Errorf("client key may %s", a)
		}
	}
}

func TestRateLimits(t *testing.T) {
	ev := newEnv(t, func(c *ServerConfig) { c.KeyRate, c.KeyBurst = 1, 3 })
	k := ev.client("rl", "1000", false) // a PI would spend a token accepting the disclosure
	for i := 0; i < 3; i++ {
		ev.must(ev.do("GET", "/v1/account", "", k), 200)
	}
	r := ev.do("GET", "/v1/account", "", k)
	if r.status != 429 || r.header.Get("Retry-After") == "" || r.str("code") != "RATE_LIMITED" {
		t.Fatalf("%d %v %s", r.status, r.header, r.body)
	}
	ip := newEnv(t, func(c *ServerConfig) { c.IPRate, c.IPBurst = 1, 2 })
	ip.must(ip.do("GET", "/v1/markets", "", nil), 200)
	ip.must(ip.do("GET", "/v1/markets", "", nil), 200)
	if r := ip.do("GET", "/v1/markets", "", nil); r.status != 429 || r.header.Get("Retry-After") != "1" {
		t.Fatalf("per-IP: %d %v %s", r.status, r.header, r.body)
	}
}

func TestUnknownRoutesAndMethodsAnswerJSON(t *testing.T) {
	ev := newEnv(t, nil)
	if r := ev.do("GET", "/v1/nope", "", nil); r.status != 404 || r.str("code") != "NOT_FOUND" {
		t.Fatalf("%d %s", r.status, r.body)
	}
	if r := ev.do("PUT", "/v1/markets", "", nil); r.status != 405 || r.str("code") != "METHOD_NOT_ALLOWED" || r.header.Get("Allow") == "" {
		t.Fatalf("%d %v %s", r.status, r.header, r.body)
	}
	for _, p := range []string{"index", "funding", "mark"} { // manual mode: no feeds have quoted
		if r := ev.do("GET", "/v1/markets/"+btc+"/"+p, "", nil); r.status != 200 || (p != "mark" && r.str("mode") != "manual") {
			t.Fatalf("%s: %d %s", p, r.status, r.body)
		}
	}
	if r := ev.do("GET", "/v1/markets/DOGE-USD-PERP/depth", "", nil); r.status != 404 || r.str("code") != "unknown_market" {
		t.Fatalf("%d %s", r.status, r.body)
	}
	m := ev.must(ev.do("GET", "/v1/markets", "", nil), 200)
	if !strings.Contains(string(m.body), `"symbol":"BTC-USD-PERP","kind":"perpetual","settlement_asset":"USD","tick":"0.1","lot":"0.001"`) ||
		!strings.Contains(string(m.body), `"max_leverage":10`) || !strings.Contains(string(m.body), `"taker_fee":"0.0005"`) {
		t.Fatalf("markets: %s", m.body)
	}
}

// A handler panic is answered with a JSON 500 and logged, and the server
// keeps serving.
func TestPanicIsRecoveredAndLogged(t *testing.T) {
	var logged strings.Builder
	ev := newEnv(t, func(c *ServerConfig) { c.Logger = slog.New(slog.NewTextHandler(&logged, nil)) })
	ev.srv.mux.HandleFunc("GET /v1/test-panic", func(http.ResponseWriter, *http.Request) { panic("boom") })
	req, _ := http.NewRequest("GET", ev.hs.URL+"/v1/test-panic", nil)
	hr, err := ev.hs.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(hr.Body)
	hr.Body.Close()
	if hr.StatusCode != 500 || !strings.Contains(string(b), `"code":"INTERNAL"`) || !strings.Contains(logged.String(), "boom") {
		t.Fatalf("%d %s / log %q", hr.StatusCode, b, logged.String())
	}
	ev.must(ev.do("GET", "/v1/markets", "", nil), 200)
}
