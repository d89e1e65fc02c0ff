package gateway

import (
	"context"
	"encoding/json"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sampan-hk/sampan/core/engine"
)

// liquidate drives one real liquidation through the engine (default BTC
// market, as in risk_test.go):
//
//	lev buys 1 BTC at 50,000 from safe with 6,000 USD: collateral 5,975,
//	liquidation price 44,201.9, bankruptcy price 50,000 − 5,975 = 44,025.
//	bid bids 0.5 at 44,100. The mark drops to 44,100: equity 75 < MM 176.4.
//
// Each step sells 10% of what is left (at least 1,000 USD) at limit 44,025
// (the fillable price is below the bankruptcy price), filled at the 44,100
// bid: fee = surplus over bankruptcy = 75 per BTC (7.5 on the first 0.1).
// Once the bid is empty the rest (0.5 in all) is taken over by the
// insurance fund at 44,025 (its loss at mark is negative: a gain, so it
// needs no balance). The account is closed out; fees total 37.5.
func liquidate(t *testing.T, ev *env, before func()) (lev, safe, bid *Key) {
	t.Helper()
	ev.setMark(btc, "50000")
	safe, lev, bid = ev.client("safe", "50000", true), ev.client("lev", "6000", true), ev.client("bid", "100000", true)
	ev.must(ev.do("POST", "/v1/orders", order(btc, "sell", "50000", "1", "s1"), safe), 200)
	ev.must(ev.do("POST", "/v1/orders", order(btc, "buy", "50000", "1", "l1"), lev), 200)
	ev.setMark(btc, "46000") // brings 44,100 inside the order band
	ev.must(ev.do("POST", "/v1/orders", order(btc, "buy", "44100", "0.5", "b1"), bid), 200)
	if before != nil {
		before()
	}
	ev.setMark(btc, "44100")
	ev.waitStore()
	return lev, safe, bid
}

// tick submits the sequencer's tick, which publishes ADL quantiles.
func (ev *env) tick() {
	ev.t.Helper()
	if _, err := ev.x.Submit(context.Background(), &engine.Command{Kind: engine.CmdTick}); err != nil {
		ev.t.Fatal(err)
	}
	ev.waitStore()
}

type tapeEntry struct {
	ID, Symbol, Side, Price, Qty string
	Time                         int64
}

func TestLiquidationVisibleEverywhere(t *testing.T) {
	ev := newEnv(t, nil)
	var w *wsClient
	lev, safe, bid := liquidate(t, ev, func() {
		w = ev.dialWS(0)
		w.send(`{"op":"subscribe","id":"s","channels":["liquidations:` + btc + `"]}`)
		if r := w.reply("s"); r["status"].(float64) != 200 {
			t.Fatalf("subscribe: %v", r)
		}
	})

	// Public REST tape: five book fills at 44,100, then five take-overs at
	// 44,025, newest first; no client ids.
	r := ev.must(ev.do("GET", "/v1/markets/"+btc+"/liquidations", "", nil), 200)
	if strings.Contains(string(r.body), "client") {
		t.Fatalf("the public tape names a client: %s", r.body)
	}
	var tape struct {
		Symbol       string
		Liquidations []tapeEntry
	}
	if err := json.Unmarshal(r.body, &tape); err != nil {
		t.Fatal(err)
	}
	// Each step is 10% of what is left (at least 1,000 USD: 0.023 BTC).
	var got []string
	var nBook, nTake, qBook, qTake int
	for i, e := range tape.Liquidations {
		if e.Symbol != btc || e.Side != "sell" || e.Time <= 0 {
			t.Fatalf("entry %+v", e)
		}
		got = append(got, e.Price+"x"+e.Qty)
		switch e.Price {
		case "44100":
			nBook, qBook = nBook+1, qBook+thousandths(t, e.Qty)
		case "44025":
			if nBook > 0 {
				t.Fatalf("not newest first: %v", got)
			}
			nTake, qTake = nTake+1, qTake+thousandths(t, e.Qty)
		default:
			t.Fatalf("entry %d: %+v", i, e)
		}
	}
	if qBook != 500 || qTake != 500 || got[len(got)-1] != "44100x0.1" {
		t.Fatalf("tape %v: %d lots on the book, %d taken over", got, qBook, qTake)
	}
	if r := ev.must(ev.do("GET", "/v1/markets/"+btc+"/liquidations?limit=2", "", nil), 200); strings.Count(string(r.body), `"id"`) != 2 {
		t.Fatalf("limit=2: %s", r.body)
	}

	// The WebSocket channel carried every one, oldest first, unthrottled.
	var streamed []string
	for len(streamed) < len(got) {
		m, err := w.read()
		if err != nil {
			t.Fatal(err)
		}
		if m["channel"] != "liquidations" {
			continue
		}
		d := m["data"].(map[string]any)
		if m["symbol"] != btc || d["client_id"] != nil {
			t.Fatalf("message %v", m)
		}
		streamed = append([]string{d["price"].(string) + "x" + d["qty"].(string)}, streamed...)
	}
	if strings.Join(streamed, " ") != strings.Join(got, " ") {
		t.Fatalf("streamed %v\n    rest %v", streamed, got)
	}

	// The operator sees the chain with the client id.
	for _, role := range []Role{RoleRisk, RoleAdmin, RoleAuditor} {
		r := ev.must(ev.do("GET", "/v1/admin/risk/liquidations", "", ev.ops[role]), 200)
		var ch struct{ Liquidations []map[string]any }
		if err := json.Unmarshal(r.body, &ch); err != nil || len(ch.Liquidations) != 1 {
			t.Fatalf("%s: %s", role, r.body)
		}
		c := ch.Liquidations[0]
		have := []any{c["client_id"], c["status"], c["symbol"], c["trigger_mark"], c["equity"], c["maintenance_margin"], c["collateral"],
			c["fees"], c["filled_notional"], len(c["orders"].([]any)), len(c["takeovers"].([]any)), len(c["deleveraged"].([]any))}
		wantC := []any{itoa(int64(lev.Account)), "closed_out", btc, "44100", "75", "176.4", "5975", "37.5", "22050", len(c["orders"].([]any)), nTake, 0}
		if b1, b2 := jsonOf(have), jsonOf(wantC); b1 != b2 {
			t.Fatalf("%s: chain\n got %s\nwant %s", role, b1, b2)
		}
		o := c["orders"].([]any)[0].(map[string]any)
		if o["filled"] != "0.1" || o["avg_price"] != "44100" || o["limit_price"] != "44025" || o["bankruptcy_price"] != "44025" || o["fee"] != "7.5" || o["side"] != "sell" {
			t.Fatalf("%s: first order %v", role, o)
		}
		// One order per step: the book steps filled (the last of them
		// partly, the rest of that step taken over), the others found no bid.
		filled := 0
		for _, o := range c["orders"].([]any) {
			if o.(map[string]any)["filled"] != "0" {
				filled++
			}
		}
		if os := c["orders"].([]any); filled != nBook || len(os) != nBook+nTake-1 {
			t.Fatalf("%s: %d orders, %d filled; tape %d book, %d taken over", role, len(os), filled, nBook, nTake)
		}
		if to := c["takeovers"].([]any)[0].(map[string]any); to["price"] != "44025" || !strings.HasPrefix(to["fund_loss_at_mark"].(string), "-") {
			t.Fatalf("%s: take-over %v", role, to)
		}
		if e := c["end"].(map[string]any); e["collateral"] != "0" {
			t.Fatalf("%s: end %v", role, e)
		}
	}
	if r := ev.must(ev.do("GET", "/v1/admin/risk/liquidations?client_id="+itoa(int64(safe.Account)), "", ev.ops[RoleRisk]), 200); strings.Contains(string(r.body), "closed_out") {
		t.Fatalf("filter by client: %s", r.body)
	}

	// The fund: 37.5 of fees, holding the 0.5 it took over.
	r = ev.must(ev.do("GET", "/v1/admin/risk/insurance", "", ev.ops[RoleRisk]), 200)
	var fund struct {
		Balance, Equity string
		Positions       []struct{ Symbol, Side, Size string }
		History         []struct{ Balance, Amount, Reason string }
	}
	if err := json.Unmarshal(r.body, &fund); err != nil {
		t.Fatal(err)
	}
	if fund.Balance != "37.5" || len(fund.Positions) != 1 || fund.Positions[0].Size != "0.5" || fund.Positions[0].Side != "long" {
		t.Fatalf("fund %s", r.body)
	}
	var reasons []string
	for _, p := range fund.History {
		reasons = append(reasons, p.Reason)
	}
	if strings.Join(reasons, ",") != strings.Repeat("fee,", nBook)+strings.TrimSuffix(strings.Repeat("takeover,", nTake), ",") ||
		fund.History[len(fund.History)-1].Balance != "37.5" || fund.History[0].Amount != "7.5" {
		t.Fatalf("history %s", r.body)
	}

	// The liquidated account is flat; bid holds the long side against
	// safe's short. A tick publishes ADL quantiles: one ordinary position
	// per side, each at quantile 5 (the fund is never ranked).
	acct := ev.must(ev.do("GET", "/v1/account", "", lev), 200)
	if acct.str("liquidating") != "false" || acct.str("collateral") != "0" {
		t.Fatalf("account %s", acct.body)
	}
	pw := ev.dialWS(0)
	pw.send(loginMsg(safe, ev.stamp()))
	if r := pw.reply("login"); r["status"].(float64) != 200 {
		t.Fatalf("login: %v", r)
	}
	pw.send(`{"op":"subscribe","id":"p","channels":["positions"]}`)
	if r := pw.reply("p"); r["status"].(float64) != 200 {
		t.Fatalf("subscribe: %v", r)
	}
	if p := ev.must(ev.do("GET", "/v1/positions", "", safe), 200); !strings.Contains(string(p.body), `"adl_quantile":0`) {
		t.Fatalf("before any ranking: %s", p.body)
	}
	ev.tick()
	for _, k := range []*Key{safe, bid} {
		if p := ev.must(ev.do("GET", "/v1/positions", "", k), 200); !strings.Contains(string(p.body), `"adl_quantile":5`) {
			t.Fatalf("positions: %s", p.body)
		}
	}
	for {
		m, err := pw.read()
		if err != nil {
			t.Fatal(err)
		}
		if d, _ := m["data"].(map[string]any); m["channel"] == "positions" && d["adl_quantile"] == float64(5) {
			if d["size"] != "-1" || d["entry_price"] != "50000" {
				t.Fatalf("position message %v", d)
			}
			break
		}
	}

	// The ADL queue per market, as the risk officer sees it.
	r = ev.must(ev.do("GET", "/v1/admin/risk/adl?symbol="+btc, "", ev.ops[RoleRisk]), 200)
	var q struct {
		Symbol        string
		Longs, Shorts struct {
			Positions int
			Rows      []struct {
				Rank        int
				ClientID    string `json:"client_id"`
				Size        string
				AdlQuantile int `json:"adl_quantile"`
			}
		}
	}
	if err := json.Unmarshal(r.body, &q); err != nil {
		t.Fatal(err)
	}
	if q.Longs.Positions != 1 || q.Shorts.Positions != 1 || q.Longs.Rows[0].ClientID != itoa(int64(bid.Account)) ||
		q.Shorts.Rows[0].ClientID != itoa(int64(safe.Account)) || q.Shorts.Rows[0].AdlQuantile != 5 || q.Shorts.Rows[0].Rank != 1 {
		t.Fatalf("adl queue %s", r.body)
	}
	// The risk ranking shows the quantile too.
	if r := ev.must(ev.do("GET", "/v1/admin/risk/accounts", "", ev.ops[RoleRisk]), 200); !strings.Contains(string(r.body), `"adl_quantile":5`) {
		t.Fatalf("risk accounts %s", r.body)
	}
}

// Strict input (4xx, never 5xx) and view_risk on the operator endpoints.
func TestLiquidationEndpointsInputAndPermissions(t *testing.T) {
	ev := newEnv(t, nil)
	for _, tc := range []struct {
		target string
		status int
	}{
		{"/v1/markets/NOPE/liquidations", 404},
		{"/v1/markets/" + btc + "/liquidations?limit=0", 400},
		{"/v1/markets/" + btc + "/liquidations?limit=1001", 400},
		{"/v1/markets/" + btc + "/liquidations?x=1", 400},
		{"/v1/markets/" + btc + "/liquidations", 200},
	} {
		ev.must(ev.do("GET", tc.target, "", nil), tc.status)
	}
	risk := ev.ops[RoleRisk]
	for _, tc := range []struct {
		target string
		status int
	}{
		{"/v1/admin/risk/insurance?limit=2001", 400},
		{"/v1/admin/risk/insurance?limit=-1", 400},
		{"/v1/admin/risk/insurance?symbol=x", 400},
		{"/v1/admin/risk/insurance", 200},
		{"/v1/admin/risk/liquidations?client_id=0", 400},
		{"/v1/admin/risk/liquidations?client_id=abc", 400},
		{"/v1/admin/risk/liquidations?symbol=NOPE", 404},
		{"/v1/admin/risk/liquidations?symbol=" + btc + "&client_id=7&limit=500", 200},
		{"/v1/admin/risk/liquidations?limit=501", 400},
		{"/v1/admin/risk/adl", 400},
		{"/v1/admin/risk/adl?symbol=", 404},
		{"/v1/admin/risk/adl?symbol=NOPE", 404},
		{"/v1/admin/risk/adl?symbol=" + btc + "&limit=0", 400},
		{"/v1/admin/risk/adl?symbol=" + btc + "&symbol=" + btc, 400},
		{"/v1/admin/risk/adl?symbol=" + btc, 200},
	} {
		ev.must(ev.do("GET", tc.target, "", risk), tc.status)
	}
	for _, p := range []string{"/v1/admin/risk/insurance", "/v1/admin/risk/liquidations", "/v1/admin/risk/adl?symbol=" + btc} {
		ev.must(ev.do("GET", p, "", ev.ops[RoleOperations]), 403)
		ev.must(ev.do("GET", p, "", ev.ops[RoleCompliance]), 403)
		ev.must(ev.do("GET", p, "", nil), 401)
	}
	// An empty fund reports zero and no movements (the read model started
	// before the engine applied anything).
	r := ev.must(ev.do("GET", "/v1/admin/risk/insurance", "", risk), 200)
	if r.str("balance") != "0" || !strings.Contains(string(r.body), `"history":[]`) || !strings.Contains(string(r.body), `"liquidation_queue":[]`) {
		t.Fatalf("empty fund: %s", r.body)
	}
}

// With an empty book and an empty fund facing a loss at mark, the engine
// auto-deleverages: the chain lists the counterparty, the public tape the
// fill at the bankruptcy price.
func TestLiquidationADLChain(t *testing.T) {
	ev := newEnv(t, nil)
	ev.setMark(btc, "50000")
	safe, lev := ev.client("safe", "50000", true), ev.client("lev", "6000", true)
	ev.must(ev.do("POST", "/v1/orders", order(btc, "sell", "50000", "1", "s1"), safe), 200)
	ev.must(ev.do("POST", "/v1/orders", order(btc, "buy", "50000", "1", "l1"), lev), 200)
	// Far below the bankruptcy price: nothing fills, the fund (empty)
	// cannot bear a loss at mark 43,000 (bankruptcy 44,025), so safe's
	// short is deleveraged at 44,025.
	ev.setMark(btc, "43000")
	ev.waitStore()
	r := ev.must(ev.do("GET", "/v1/admin/risk/liquidations?client_id="+itoa(int64(lev.Account)), "", ev.ops[RoleRisk]), 200)
	var ch struct{ Liquidations []LiquidationChainJSON }
	if err := json.Unmarshal(r.body, &ch); err != nil || len(ch.Liquidations) != 1 {
		t.Fatalf("%s", r.body)
	}
	c := ch.Liquidations[0]
	var qty []string
	for _, d := range c.Deleveraged {
		if d.Counterparty != itoa(int64(safe.Account)) || d.Price != "44025" || d.Side != "sell" {
			t.Fatalf("adl %+v", d)
		}
		qty = append(qty, d.Qty)
	}
	if len(qty) == 0 || c.Status != "closed_out" || len(c.Takeovers) != 0 {
		t.Fatalf("chain %s", r.body)
	}
	tape := ev.must(ev.do("GET", "/v1/markets/"+btc+"/liquidations", "", nil), 200)
	if !strings.Contains(string(tape.body), `"price":"44025"`) {
		t.Fatalf("tape %s", tape.body)
	}
	// safe's position was closed against lev's at 44,025.
	if p := ev.must(ev.do("GET", "/v1/positions", "", safe), 200); strings.Contains(string(p.body), `"symbol"`) {
		t.Fatalf("safe still holds %s", p.body)
	}
}

// LiquidationChainJSON is the part of a chain the ADL test reads.
type LiquidationChainJSON struct {
	Status      string
	Takeovers   []any
	Deleveraged []struct {
		Counterparty string `json:"counterparty_client_id"`
		Side, Price  string
		Qty          string
	}
}

// thousandths parses a quantity with up to three decimals.
func thousandths(t *testing.T, q string) int {
	t.Helper()
	whole, frac, _ := strings.Cut(q, ".")
	frac = (frac + "000")[:3]
	n, err := strconv.Atoi(whole + frac)
	if err != nil {
		t.Fatalf("quantity %q", q)
	}
	return n
}

func jsonOf(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// Operations pays into the insurance fund over the API: the balance and
// history show it, a retry with the same key pays once, other roles and bad
// amounts are refused without changing anything.
func TestInsuranceDeposit(t *testing.T) {
	ev := newEnv(t, nil)
	ev.clock(time.Date(2026, 3, 10, 15, 0, 0, 0, hk)) // a frozen clock: refusals must not even move engine time
	ops := ev.ops[RoleOperations]
	body := `{"amount":"2500.5","idempotency_key":"fund-1"}`
	ev.must(ev.do("POST", "/v1/admin/insurance/deposits", body, ops), 200)
	if r := ev.must(ev.do("POST", "/v1/admin/insurance/deposits", body, ops), 200); !strings.Contains(string(r.body), `"replayed":true`) {
		t.Fatalf("retry: %s", r.body)
	}
	before := ev.stateHash()
	for _, c := range []struct {
		body string
		k    *Key
		want int
	}{
		{`{"amount":"10","idempotency_key":"fund-2"}`, ev.ops[RoleAuditor], 403},
		{`{"amount":"10","idempotency_key":"fund-2"}`, ev.ops[RoleRisk], 403},
		{`{"amount":"0","idempotency_key":"fund-2"}`, ops, 400},
		{`{"amount":"-5","idempotency_key":"fund-2"}`, ops, 400},
		{`{"amount":"1e3","idempotency_key":"fund-2"}`, ops, 400},
		{`{"amount":"10"}`, ops, 400},
		{`{"amount":"10","idempotency_key":"fund-2","client_id":"1"}`, ops, 400},
		{`{"amount":"7","idempotency_key":"fund-1"}`, ops, 409},
	} {
		if r := ev.do("POST", "/v1/admin/insurance/deposits", c.body, c.k); r.status != c.want {
			t.Errorf("%s as %s: %d %s (want %d)", c.body, c.k.Role, r.status, r.body, c.want)
		}
	}
	if ev.stateHash() != before {
		t.Fatal("a refused payment changed the state")
	}
	r := ev.must(ev.do("GET", "/v1/admin/risk/insurance", "", ev.ops[RoleRisk]), 200)
	var fund struct {
		Balance string
		History []struct{ Balance, Amount, Reason string }
	}
	if err := json.Unmarshal(r.body, &fund); err != nil {
		t.Fatal(err)
	}
	if fund.Balance != "2500.5" || len(fund.History) != 1 || fund.History[0].Amount != "2500.5" || fund.History[0].Reason != "deposit" {
		t.Fatalf("fund %s", r.body)
	}
}
