package gateway

import (
	"context"
	"encoding/json"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sampan-hk/sampan/core/engine"
	"github.com/sampan-hk/sampan/core/fixed"
	"github.com/sampan-hk/sampan/core/lending"
)

const spotBTC = "BTC-USD"

// finEnv is the financing-enabled env with fresh prices: USD at HK$7.80,
// 0700.HK at HK$500 (over the API, risk officer), and the BTC index at
// US$100,000 from three venues.
//
// Engine time is held still (tests step it with ev.log.Clock), so a refused
// command leaves the state hash, which includes the engine's time, as it was.
func finEnv(t *testing.T) *env {
	ev := newEnv(t, nil)
	var clock atomic.Int64
	clock.Store(time.Now().UnixNano())
	ev.log.Clock = clock.Load
	ev.indexTo(1_000_000) // 100,000.0 in ticks of 0.1
	ev.assetPrice("USD", "7.80")
	ev.assetPrice("0700.HK", "500")
	return ev
}

func (ev *env) assetPrice(asset, price string) {
	ev.t.Helper()
	ev.must(ev.do("POST", "/v1/admin/asset-prices", `{"asset":"`+asset+`","price":"`+price+`"}`, ev.ops[RoleRisk]), 200)
}

// indexTo quotes the BTC index from three venues until it reaches px
// (ticks): one update moves the index at most 1% (oracle MaxChange).
func (ev *env) indexTo(px fixed.Price) {
	ev.t.Helper()
	for i := 0; i < 200; i++ {
		for src := uint16(1); src <= 3; src++ {
			c := engine.Command{Kind: engine.CmdQuote, Market: 0, Source: src, Price: px, Observed: ev.log.Clock()}
			if r, err := ev.x.Submit(context.Background(), &c); err != nil || r.Code != engine.OK {
				ev.t.Fatalf("quote: %v %v", err, r.Code)
			}
		}
		var ix engine.IndexView
		ev.x.View(func(e *engine.Engine) { ix, _ = e.Index(0) })
		if ix.Valid && ix.Price == px {
			return
		}
	}
	ev.t.Fatal("index did not reach the target")
}

// marginClient creates a client with an approved HK$1m assessment (risk
// officer) and deposits shares of 0700.HK (operations).
func (ev *env) marginClient(name string, shares string, assess bool) (*Key, string) {
	ev.t.Helper()
	k := ev.client(name, "10000", false)
	id := ev.idOf(k)
	if assess {
		ev.must(ev.do("POST", "/v1/admin/clients/"+id+"/credit-assessment", `{"approved":true,"grade":"A","credit_limit_hkd":"1000000",`+
			`"net_assets_hkd":"20000000","income_hkd":"3000000","experience":8,"next_review":"2099-01-01","note":"annual review"}`, ev.ops[RoleRisk]), 200)
	}
	if shares != "" {
		ev.finDeposit(id, "0700.HK", shares, "dep-"+name)
	}
	return k, id
}

func (ev *env) idOf(k *Key) string { return strconv.FormatUint(k.Account, 10) }

func (ev *env) finDeposit(id, asset, qty, key string) *resp {
	ev.t.Helper()
	return ev.must(ev.do("POST", "/v1/admin/financing/deposits", `{"client_id":"`+id+`","asset":"`+asset+`","qty":"`+qty+`","idempotency_key":"`+key+`"}`,
		ev.ops[RoleOperations]), 200)
}

func (ev *env) hash() [32]byte {
	var h [32]byte
	ev.x.View(func(e *engine.Engine) { h = e.StateHash() })
	return h
}

// unchanged runs f and fails if the engine's state hash moved.
func (ev *env) unchanged(name string, f func()) {
	ev.t.Helper()
	before := ev.hash()
	f()
	if ev.hash() != before {
		ev.t.Errorf("%s changed the engine state", name)
	}
}

func ioc(sym, side, price, qty string) string {
	return `{"symbol":"` + sym + `","side":"` + side + `","type":"limit","time_in_force":"IOC","price":"` + price + `","qty":"` + qty + `"}`
}

// The margin-financing story over the API, worked by hand:
//
// carol holds 100 × 0700.HK at HK$500 (30% haircut): L = 35,000. She buys
// 0.07 BTC at US$100,000 with no USD, IOC against mm's resting sell: a loan
// of US$7,000 = HK$54,600 at 7.80; the BTC adds 0.07 × 100,000 × 7.8 × 40%
// = 21,840, so L = 56,840 and market value 50,000 + 54,600 = 104,600. erin
// (1,000 shares, L 350,000) buys 0.01 BTC: loan US$1,000 = HK$7,800.
//
// The BTC index falls to US$88,000: carol's BTC lends 0.07 × 88,000 × 7.8 ×
// 40% = 19,219.2, L = 54,219.2 < 54,600: a call for 380.8 (not hard: 130% ×
// L > debit). Withdrawals are refused (409 margin_call_open) until 20 more
// shares (+7,000) cure it.
func TestFinancingMarginBuyCallCure(t *testing.T) {
	ev := finEnv(t)
	ev.setMark(spotBTC, "100000") // the spot band before the oracle mark exists
	carol, carolID := ev.marginClient("carol", "100", true)
	erin, erinID := ev.marginClient("erin", "1000", true)
	mm, mmID := ev.marginClient("mm", "", false)
	ev.finDeposit(mmID, "BTC", "1", "dep-mm-btc")
	ev.must(ev.do("POST", "/v1/orders", order(spotBTC, "sell", "100000", "0.08", "mm-1"), mm), 200)

	ev.must(ev.do("POST", "/v1/orders", ioc(spotBTC, "buy", "100000", "0.07"), carol), 200)
	ev.must(ev.do("POST", "/v1/orders", ioc(spotBTC, "buy", "100000", "0.01"), erin), 200)
	f := ev.must(ev.do("GET", "/v1/financing", "", carol), 200)
	if f.str("debit_hkd") != "54600" || f.str("lending_value_hkd") != "56840" || f.str("market_value_hkd") != "104600" ||
		f.str("shortfall_hkd") != "0" || f.str("call", "state") != "none" || f.str("credit", "approved") != "true" ||
		f.str("credit", "approver") != "op-risk_officer" || f.str("credit", "next_review") != "2099-01-01T00:00:00Z" ||
		f.str("capital_view_lending_value_hkd") != "35000" || f.str("borrowable_hkd") != "2240" {
		t.Fatalf("after the margin buy: %s", f.body)
	}
	if !strings.Contains(string(f.body), `"loans":[{"currency":"USD","balance":"7000","accrued_interest":"0","debit_hkd":"54600"}]`) ||
		!strings.Contains(string(f.body), `{"asset":"BTC","kind":"virtual_asset","qty":"0.07","financed":"0.07","reserved":"0","price":"100000","price_ccy":"USD","eligible":true,"haircut_ppm":600000,"lending_value_hkd":"21840"}`) {
		t.Fatalf("loans/holdings: %s", f.body)
	}
	// What remains after a withdrawal must still cover the debit: 90 shares
	// lend 31,500 + 21,840 = 53,340 < 54,600.
	ev.unchanged("withdrawal past lending value", func() {
		r := ev.do("POST", "/v1/financing/withdrawals", `{"asset":"0700.HK","qty":"10","idempotency_key":"w1"}`, carol)
		if r.status != 422 || r.str("code") != "lending_value_exceeded" {
			t.Fatalf("withdrawal: %d %s", r.status, r.body)
		}
	})

	ev.indexTo(880_000)
	f = ev.must(ev.do("GET", "/v1/financing", "", carol), 200)
	if f.str("call", "state") != "open" || f.str("call", "shortfall_hkd") != "380.8" || f.str("shortfall_hkd") != "380.8" ||
		f.str("lending_value_hkd") != "54219.2" || f.str("borrowable_hkd") != "0" || f.str("call", "deadline") == "" {
		t.Fatalf("after the fall: %s", f.body)
	}
	if left := f.str("call", "seconds_left"); left != "86400" && left != "86399" {
		t.Fatalf("seconds_left %s", left)
	}
	cl := ev.must(ev.do("GET", "/v1/admin/financing/clients", "", ev.ops[RoleRisk]), 200)
	var book struct {
		Clients []struct {
			ID    string `json:"client_id"`
			Ref   string `json:"ref"`
			Short string `json:"shortfall_hkd"`
			Debit string `json:"debit_hkd"`
			State string `json:"call_state"`
		}
	}
	json.Unmarshal(cl.body, &book)
	if len(book.Clients) != 2 || book.Clients[0].ID != carolID || book.Clients[0].State != "open" || book.Clients[0].Short != "380.8" ||
		book.Clients[0].Ref != "carol" || book.Clients[1].ID != erinID || book.Clients[1].Debit != "7800" || book.Clients[1].State != "none" {
		t.Fatalf("margin book: %s", cl.body)
	}
	ev.unchanged("withdrawal under a call", func() {
		r := ev.do("POST", "/v1/financing/withdrawals", `{"asset":"0700.HK","qty":"1","idempotency_key":"w2"}`, carol)
		if r.status != 409 || r.str("code") != "margin_call_open" {
			t.Fatalf("withdrawal under call: %d %s", r.status, r.body)
		}
	})
	ev.finDeposit(carolID, "0700.HK", "20", "cure-carol")
	f = ev.must(ev.do("GET", "/v1/financing", "", carol), 200)
	if f.str("call", "state") != "none" || f.str("lending_value_hkd") != "61219.2" {
		t.Fatalf("after the cure: %s", f.body)
	}
	ev.waitStore()
	st := ev.must(ev.do("GET", "/v1/financing/statement?limit=5", "", carol), 200)
	kinds := []string{}
	var stmt struct {
		Entries []struct{ Kind, Text, Qty, Asset string }
	}
	json.Unmarshal(st.body, &stmt)
	for _, e := range stmt.Entries {
		kinds = append(kinds, e.Kind)
	}
	if got := strings.Join(kinds, ","); !strings.HasPrefix(got, "margin_call_cured,deposited,margin_call_opened") ||
		stmt.Entries[1].Qty != "20" || !strings.HasPrefix(stmt.Entries[2].Text, "Margin call: shortfall ") {
		t.Fatalf("statement: %s", st.body)
	}
	all := ev.must(ev.do("GET", "/v1/financing/statement", "", carol), 200)
	if !strings.Contains(string(all.body), `"kind":"advanced","asset":"USD","amount":"7000","currency":"USD"`) ||
		!strings.Contains(string(all.body), `"kind":"bought","asset":"BTC","qty":"0.07","amount":"7000","currency":"USD"`) {
		t.Fatalf("statement lacks the loan or purchase: %s", all.body)
	}
}

// Refusals: each has its precise status and engine code and leaves the
// engine's state hash unchanged.
func TestFinancingRejectsLeaveStateUnchanged(t *testing.T) {
	ev := finEnv(t)
	ev.setMark(spotBTC, "100000")
	bob, bobID := ev.marginClient("bob", "100", false) // no credit assessment
	mm, mmID := ev.marginClient("mm", "", false)
	ev.finDeposit(mmID, "BTC", "1", "dep-mm-btc")
	ev.must(ev.do("POST", "/v1/orders", order(spotBTC, "sell", "100000", "0.5", "mm-1"), mm), 200)
	risk := ev.ops[RoleRisk]
	ev.must(ev.do("POST", "/v1/admin/assets", `{"code":"SOL","kind":"virtual_asset","decimals":8,"quote":"USD","lot":"1"}`, risk), 200)
	ops := ev.ops[RoleOperations]
	cases := []struct {
		name, method, path, body string
		key                      *Key
		status                   int
		code                     string
	}{
		{"unknown asset", "POST", "/v1/admin/financing/deposits", `{"client_id":"` + bobID + `","asset":"XYZ","qty":"1","idempotency_key":"k1"}`, ops, 404, "unknown_asset"},
		{"SOL is not eligible VA", "POST", "/v1/admin/financing/deposits", `{"client_id":"` + bobID + `","asset":"SOL","qty":"1","idempotency_key":"k2"}`, ops, 422, "virtual_asset_not_eligible"},
		{"margin buy without assessment", "POST", "/v1/orders", ioc(spotBTC, "buy", "100000", "0.01"), bob, 422, "no_credit_assessment"},
		{"resting buy without cash", "POST", "/v1/orders", order(spotBTC, "buy", "99000", "0.01", "b1"), bob, 422, "spot_resting_buy_needs_cash"},
		{"sell more than held", "POST", "/v1/financing/withdrawals", `{"asset":"BTC","qty":"0.1","idempotency_key":"k3"}`, bob, 422, "insufficient_holding"},
		{"withdraw what resting sells reserve", "POST", "/v1/financing/withdrawals", `{"asset":"BTC","qty":"0.6","idempotency_key":"k4"}`, mm, 409, "reserved_for_open_orders"},
		{"too many decimals", "POST", "/v1/admin/financing/deposits", `{"client_id":"` + bobID + `","asset":"BTC","qty":"0.000000001","idempotency_key":"k5"}`, ops, 400, "INVALID_FIELD"},
		{"exponent", "POST", "/v1/admin/financing/deposits", `{"client_id":"` + bobID + `","asset":"BTC","qty":"1e3","idempotency_key":"k6"}`, ops, 400, "INVALID_FIELD"},
		{"unknown field", "POST", "/v1/admin/financing/deposits", `{"client_id":"` + bobID + `","asset":"BTC","qty":"1","idempotency_key":"k7","x":1}`, ops, 400, "UNKNOWN_FIELD"},
		{"missing key", "POST", "/v1/admin/financing/deposits", `{"client_id":"` + bobID + `","asset":"BTC","qty":"1"}`, ops, 400, "MISSING_FIELD"},
		{"deposit by risk", "POST", "/v1/admin/financing/deposits", `{"client_id":"` + bobID + `","asset":"BTC","qty":"1","idempotency_key":"k8"}`, risk, 403, "FORBIDDEN"},
		{"assessment by compliance", "POST", "/v1/admin/clients/" + bobID + "/credit-assessment", `{"approved":true,"grade":"A","credit_limit_hkd":"1","experience":1,"next_review":"2099-01-01"}`, ev.ops[RoleCompliance], 403, "FORBIDDEN"},
		{"bad review date", "POST", "/v1/admin/clients/" + bobID + "/credit-assessment", `{"approved":true,"grade":"A","credit_limit_hkd":"1","experience":1,"next_review":"2099-13-01"}`, risk, 400, "INVALID_FIELD"},
		{"approved with zero limit", "POST", "/v1/admin/clients/" + bobID + "/credit-assessment", `{"approved":true,"grade":"A","credit_limit_hkd":"0","experience":1,"next_review":"2099-01-01"}`, risk, 400, "INVALID_FIELD"},
		{"BTC follows its index", "POST", "/v1/admin/asset-prices", `{"asset":"BTC","price":"1"}`, risk, 409, "price_follows_index"},
		{"HKD is the base", "POST", "/v1/admin/asset-prices", `{"asset":"HKD","price":"2"}`, risk, 400, "base_currency_price_is_fixed"},
		{"repay without a loan", "POST", "/v1/admin/financing/repayments", `{"client_id":"` + bobID + `","currency":"USD","amount":"1","idempotency_key":"k9"}`, ops, 422, "repayment_exceeds_loan"},
		{"repay in a security", "POST", "/v1/admin/financing/repayments", `{"client_id":"` + bobID + `","currency":"0700.HK","amount":"1","idempotency_key":"k10"}`, ops, 400, "not_a_cash_asset"},
		{"no sale instruction", "POST", "/v1/admin/financing/security-sales", `{"client_id":"` + bobID + `","asset":"0700.HK","qty":"100","proceeds":"50000","idempotency_key":"k11"}`, ops, 409, "no_sale_instruction"},
		{"transfer to itself", "POST", "/v1/transfers", `{"from":"financing","to":"financing","amount":"1","idempotency_key":"k12"}`, bob, 400, "INVALID_FIELD"},
		{"transfer more than held", "POST", "/v1/transfers", `{"from":"financing","to":"derivatives","amount":"1","idempotency_key":"k13"}`, bob, 422, "insufficient_holding"},
		{"duplicate asset", "POST", "/v1/admin/assets", `{"code":"SOL","kind":"virtual_asset","decimals":8,"quote":"USD","lot":"1"}`, risk, 409, "duplicate_asset"},
		{"spot has no mark", "GET", "/v1/markets/BTC-USD/mark", "", nil, 404, "NOT_A_PERPETUAL"},
		{"spot has no funding", "GET", "/v1/markets/BTC-USD/funding", "", nil, 404, "NOT_A_PERPETUAL"},
		{"stress format", "GET", "/v1/admin/financing/stress?format=xml", "", risk, 400, "INVALID_FIELD"},
		{"clients need view_risk", "GET", "/v1/admin/financing/clients", "", ops, 403, "FORBIDDEN"},
	}
	for _, c := range cases {
		ev.unchanged(c.name, func() {
			r := ev.do(c.method, c.path, c.body, c.key)
			if r.status != c.status || r.str("code") != c.code {
				t.Errorf("%s: %d %s, want %d %s", c.name, r.status, r.body, c.status, c.code)
			}
		})
	}
	// Idempotency: the same key and payload replays; another payload conflicts.
	first := ev.finDeposit(bobID, "0700.HK", "5", "same")
	again := ev.finDeposit(bobID, "0700.HK", "5", "same")
	if first.str("replayed") != "false" || again.str("replayed") != "true" {
		t.Fatalf("replay: %s / %s", first.body, again.body)
	}
	ev.unchanged("idempotency conflict", func() {
		r := ev.do("POST", "/v1/admin/financing/deposits", `{"client_id":"`+bobID+`","asset":"0700.HK","qty":"6","idempotency_key":"same"}`, ops)
		if r.status != 409 || r.str("code") != string(CodeIdempotencyConflict) {
			t.Fatalf("conflict: %d %s", r.status, r.body)
		}
	})
	if f := ev.must(ev.do("GET", "/v1/financing", "", bob), 200); !strings.Contains(string(f.body), `"asset":"0700.HK","kind":"security","qty":"105"`) ||
		f.str("credit", "assessed") != "false" {
		t.Fatalf("bob: %s", f.body)
	}
}

// Stress, firm, collateral and a transfer that repays a loan.
func TestFinancingRiskViews(t *testing.T) {
	ev := finEnv(t)
	ev.setMark(spotBTC, "100000")
	carol, _ := ev.marginClient("carol", "100", true)
	mm, mmID := ev.marginClient("mm", "", false)
	ev.finDeposit(mmID, "BTC", "1", "dep-mm-btc")
	ev.must(ev.do("POST", "/v1/orders", order(spotBTC, "sell", "100000", "0.05", "mm-1"), mm), 200)
	ev.must(ev.do("POST", "/v1/orders", ioc(spotBTC, "buy", "100000", "0.05"), carol), 200)
	risk := ev.ops[RoleRisk]

	var want []lending.StressRecord
	ev.x.View(func(e *engine.Engine) { want = e.Stress(nil) })
	if len(want) == 0 {
		t.Fatal("no stress records")
	}
	js := ev.must(ev.do("GET", "/v1/admin/financing/stress", "", risk), 200)
	var got struct {
		Capital string                 `json:"capital_hkd"`
		Records []lending.StressRecord `json:"records"`
	}
	json.Unmarshal(js.body, &got)
	wb, _ := json.Marshal(want)
	gb, _ := json.Marshal(got.Records)
	if string(wb) != string(gb) || got.Capital != "100000000" {
		t.Fatalf("stress JSON:\n%s\nwant %s", js.body, wb)
	}
	csv := ev.must(ev.do("GET", "/v1/admin/financing/stress?format=csv", "", ev.ops[RoleAuditor]), 200)
	if string(csv.body) != string(StressCSV(want)) || !strings.HasPrefix(csv.header.Get("Content-Type"), "text/csv") ||
		!strings.HasPrefix(string(csv.body), "scenario,client,debit,") {
		t.Fatalf("stress CSV:\n%s", csv.body)
	}

	// Debit: US$5,000 × 7.8 = 39,000 against HK$100m capital: 0.00039×
	// (390 ppm). Lending value: carol 35,000 + 15,600, mm 296,400 + 39,000
	// = 386,000; the capital view drops the BTC: 35,000 + 39,000, and
	// carol's 39,000 debit is 4,000 short of her 35,000.
	fm := ev.must(ev.do("GET", "/v1/admin/financing/firm", "", risk), 200)
	if fm.str("total_debit_hkd") != "39000" || fm.str("loans_to_capital") != "0.00039" || fm.str("limit_multiple") != "5" ||
		fm.str("warn_multiple") != "4" || fm.str("lending_value_hkd") != "386000" || fm.str("capital_view_lending_value_hkd") != "74000" ||
		fm.str("capital_view_shortfall_hkd") != "4000" || fm.str("under_call") != "0" {
		t.Fatalf("firm: %s", fm.body)
	}
	co := ev.must(ev.do("GET", "/v1/admin/financing/collateral", "", risk), 200)
	// Lending value: carol 35,000 (0700.HK) + 15,600 (BTC); mm's 0.95 BTC
	// lends 0.95 × 100,000 × 7.8 × 40% = 296,400 and its US$5,000 39,000:
	// of 386,000, BTC 312,000 is 808,290 ppm (rounded down).
	if !strings.Contains(string(co.body), `{"asset":"BTC","kind":"virtual_asset","eligible":true,"haircut_ppm":600000,"concentration_ppm":1000000,"price":"100000","price_ccy":"USD"`) ||
		!strings.Contains(string(co.body), `"set_id":"collateral:0700-HK"`) ||
		!strings.Contains(string(co.body), `"concentration":[{"asset":"BTC","lending_value_hkd":"312000","share_ppm":808290},{"asset":"USD","lending_value_hkd":"39000","share_ppm":101036},{"asset":"0700.HK","lending_value_hkd":"35000","share_ppm":90673}]`) {
		t.Fatalf("collateral: %s", co.body)
	}

	// A transfer from derivatives repays carol's USD loan first (cash
	// netting): US$5,000 in, loan gone.
	tr := ev.must(ev.do("POST", "/v1/transfers", `{"from":"derivatives","to":"financing","amount":"5000","idempotency_key":"t1"}`, carol), 200)
	if tr.str("status") != "transferred" {
		t.Fatalf("transfer: %s", tr.body)
	}
	f := ev.must(ev.do("GET", "/v1/financing", "", carol), 200)
	if f.str("debit_hkd") != "0" || !strings.Contains(string(f.body), `"loans":[{"currency":"USD","balance":"0","accrued_interest":"0","debit_hkd":"0"}]`) {
		t.Fatalf("after transfer: %s", f.body)
	}
}

// A perpetual-only engine answers every financing endpoint with 404
// financing_disabled, and lists no spot market.
func TestFinancingDisabled(t *testing.T) {
	ev := newPerpEnv(t, nil)
	k := ev.client("p", "100", false)
	for _, r := range []*resp{
		ev.do("GET", "/v1/financing", "", k),
		ev.do("GET", "/v1/financing/statement", "", k),
		ev.do("GET", "/v1/admin/financing/firm", "", ev.ops[RoleRisk]),
		ev.do("GET", "/v1/admin/financing/stress", "", ev.ops[RoleRisk]),
		ev.do("POST", "/v1/admin/asset-prices", `{"asset":"USD","price":"7.8"}`, ev.ops[RoleRisk]),
	} {
		if r.status != 404 || r.str("code") != "financing_disabled" {
			t.Errorf("%d %s", r.status, r.body)
		}
	}
	if m := ev.must(ev.do("GET", "/v1/markets", "", nil), 200); strings.Contains(string(m.body), `"kind":"spot"`) {
		t.Fatalf("markets: %s", m.body)
	}
}

// The market list tells spot from perpetual.
func TestMarketsListSpot(t *testing.T) {
	ev := newEnv(t, nil)
	m := ev.must(ev.do("GET", "/v1/markets", "", nil), 200)
	var out struct {
		Markets []struct {
			Symbol, Kind string
			Base         string `json:"base_asset"`
			Quote        string `json:"quote_asset"`
			Brackets     []any
		}
	}
	json.Unmarshal(m.body, &out)
	if len(out.Markets) != 4 || out.Markets[0].Kind != "perpetual" || len(out.Markets[0].Brackets) == 0 ||
		out.Markets[2].Symbol != "BTC-USD" || out.Markets[2].Kind != "spot" || out.Markets[2].Base != "BTC" ||
		out.Markets[2].Quote != "USD" || len(out.Markets[2].Brackets) != 0 {
		t.Fatalf("markets: %s", m.body)
	}
	ix := ev.must(ev.do("GET", "/v1/markets/BTC-USD/index", "", nil), 200)
	if ix.str("underlying") != "BTC" {
		t.Fatalf("spot index: %s", ix.body)
	}
	// Everything that only a perpetual has answers 404 NOT_A_PERPETUAL on
	// a spot market, and works on the perpetual.
	for _, path := range []string{"mark", "funding", "mark/history", "open-interest", "liquidations"} {
		spot := ev.do("GET", "/v1/markets/BTC-USD/"+path, "", nil)
		if spot.status != 404 || spot.str("code") != "NOT_A_PERPETUAL" {
			t.Errorf("%s on spot: %d %s", path, spot.status, spot.body)
		}
		if perp := ev.do("GET", "/v1/markets/BTC-USD-PERP/"+path, "", nil); perp.status != 200 {
			t.Errorf("%s on the perpetual: %d %s", path, perp.status, perp.body)
		}
	}
}
