package gateway

import (
	"context"
	"encoding/json"
	"strconv"
	"strings"
	"testing"

	"github.com/sampan-hk/sampan/core/engine"
	"github.com/sampan-hk/sampan/core/fixed"
)

type riskAccountsAnswer struct {
	Scanned       int `json:"clients_scanned"`
	WithPositions int `json:"accounts_with_positions"`
	Liquidatable  int `json:"liquidatable_accounts"`
	Accounts      []struct {
		ClientID, Ref, Equity, Collateral string
		MM                                string `json:"maintenance_margin"`
		Ratio                             string `json:"margin_ratio"`
		Liquidatable                      bool
		Positions                         []struct {
			Symbol, Side, Size, Mark string
			Liq                      string `json:"liquidation_price"`
			Distance                 string `json:"distance_to_mark_pct"`
		}
	}
}

// Two accounts hold the two sides of one trade at very different leverage;
// every figure below is computed by hand from the default BTC market
// (maker fee 0.02%, taker 0.05%, first bracket 0.4% up to 50,000 USD, then
// 0.5% with a continuity amount of 50 USD).
//
//	trade 1 BTC at 50,000; then the mark moves to 49,000.
//	lev (long, taker):  collateral 6,000 − 25 fee = 5,975; unrealised −1,000;
//	                    equity 4,975; MM = 49,000 × 0.4% = 196;
//	                    ratio 196 / 4,975 = 0.0393969… → 0.039397 (rounded up);
//	                    liq n = (50,000 − 5,975) / 0.996 = 44,201.80…
//	                    → 44,201.9 (a long's rounds up);
//	                    distance (49,000 − 44,201.9) / 49,000 = 9.7920…% → 9.79
//	safe (short, maker): collateral 50,000 − 10 = 49,990; unrealised +1,000;
//	                    equity 50,990; ratio 196 / 50,990 = 0.0038438… → 0.003844;
//	                    liq: tier 1 gives n = 99,990 / 1.004 > 50,000, so
//	                    tier 2: n = (99,990 + 50) / 1.005 = 99,542.28… → 99,542.2;
//	                    distance (99,542.2 − 49,000) / 49,000 = 103.147…% → 103.14
func TestRiskAccountsRankedByMarginRatio(t *testing.T) {
	ev := newEnv(t, nil)
	ev.setMark(btc, "50000")
	safe, lev := ev.client("safe", "50000", true), ev.client("lev", "6000", true)
	ev.client("idle", "1000", true) // no position: not ranked, but scanned
	ev.must(ev.do("POST", "/v1/orders", order(btc, "sell", "50000", "1", "s1"), safe), 200)
	ev.must(ev.do("POST", "/v1/orders", order(btc, "buy", "50000", "1", "l1"), lev), 200)
	ev.setMark(btc, "49000")

	for _, role := range []Role{RoleRisk, RoleAdmin, RoleAuditor} {
		r := ev.must(ev.do("GET", "/v1/admin/risk/accounts?limit=10", "", ev.ops[role]), 200)
		var got riskAccountsAnswer
		if err := json.Unmarshal(r.body, &got); err != nil {
			t.Fatal(err)
		}
		if got.Scanned != 3 || got.WithPositions != 2 || got.Liquidatable != 0 || len(got.Accounts) != 2 {
			t.Fatalf("%s: counts: %s", role, r.body)
		}
		l, s := got.Accounts[0], got.Accounts[1]
		if l.Ref != "lev" || s.Ref != "safe" {
			t.Fatalf("%s: order %s, %s; want the leveraged account first", role, l.Ref, s.Ref)
		}
		want := []string{"4975", "5975", "196", "0.039397", "44201.9", "9.79", "50990", "49990", "196", "0.003844", "99542.2", "103.14"}
		have := []string{l.Equity, l.Collateral, l.MM, l.Ratio, l.Positions[0].Liq, l.Positions[0].Distance,
			s.Equity, s.Collateral, s.MM, s.Ratio, s.Positions[0].Liq, s.Positions[0].Distance}
		if strings.Join(have, " ") != strings.Join(want, " ") {
			t.Errorf("%s:\n got %v\nwant %v", role, have, want)
		}
		if p := l.Positions[0]; p.Side != "long" || p.Size != "1" || p.Mark != "49000" || s.Positions[0].Side != "short" {
			t.Errorf("%s: positions %+v %+v", role, p, s.Positions[0])
		}
	}
	// The ranking and the client's own view agree on the liquidation price.
	pos := ev.must(ev.do("GET", "/v1/positions", "", lev), 200)
	if !strings.Contains(string(pos.body), `"liquidation_price":"44201.9"`) {
		t.Errorf("client positions: %s", pos.body)
	}
	// limit keeps the riskiest.
	one := ev.must(ev.do("GET", "/v1/admin/risk/accounts?limit=1", "", ev.ops[RoleRisk]), 200)
	if !strings.Contains(string(one.body), `"ref":"lev"`) || strings.Contains(string(one.body), `"ref":"safe"`) {
		t.Errorf("limit=1: %s", one.body)
	}

}

// The ranking's arithmetic at its edges: exact ratio comparison, equity at
// or below zero, ties, rounding directions and a mark past the liquidation
// price. (Whether the engine still shows such an account depends on its
// liquidation; these functions must be right either way.)
func TestRiskArithmetic(t *testing.T) {
	k := func(id uint32, mm, eq int64) riskKey {
		return riskKey{id: engine.ClientID(id), mm: fixed.Amount(mm), eq: fixed.Amount(eq)}
	}
	riskierCases := []struct {
		a, b riskKey
		want bool
	}{
		{k(1, 196, 4975), k(2, 196, 50990), true},
		{k(2, 196, 50990), k(1, 196, 4975), false},
		{k(1, 1, 3), k(2, 2, 6), true},                                  // equal ratios: lower id first
		{k(2, 1, 3), k(1, 2, 6), false},                                 // …and not the other way
		{k(1, 10, 0), k(2, 999, 1), true},                               // zero equity is unbounded
		{k(1, 10, -5), k(2, 10, 0), true},                               // lower equity first among the unbounded
		{k(1, 10, 5), k(2, 10, -5), false},                              // positive equity never outranks
		{k(1, 1<<62, 3), k(2, 1<<62, 4), true},                          // products beyond 64 bits
		{riskKey{id: 2, mm: 1, eq: 100, liq: true}, k(1, 10, -5), true}, // flagged liquidatable first
		{k(1, 10, -5), riskKey{id: 2, mm: 1, eq: 100, liq: true}, false},
	}
	for i, c := range riskierCases {
		if got := riskier(c.a, c.b); got != c.want {
			t.Errorf("case %d: riskier(%+v, %+v) = %v", i, c.a, c.b, got)
		}
	}
	for _, c := range []struct {
		mm, eq int64
		want   string
	}{{196, 4975, "0.039397"}, {1, 3, "0.333334"}, {0, 10, "0.000000"}, {5, 5, "1.000000"}, {5, 0, ""}, {5, -1, ""}} {
		if got := marginRatio(fixed.Amount(c.mm), fixed.Amount(c.eq)); got != c.want {
			t.Errorf("marginRatio(%d, %d) = %q, want %q", c.mm, c.eq, got, c.want)
		}
	}
	for _, c := range []struct {
		size      int64
		mark, liq int64
		want      string
	}{
		{1, 490000, 442019, "9.79"},
		{-1, 490000, 995422, "103.14"},
		{1, 440000, 442019, "-0.46"},  // long, mark already below: rounded toward −∞
		{-1, 500000, 499000, "-0.20"}, // short, mark already above
		{1, 490000, 0, ""},            // no liquidation price
	} {
		if got := distancePct(fixed.Qty(c.size), fixed.Price(c.mark), fixed.Price(c.liq)); got != c.want {
			t.Errorf("distancePct(%d, %d, %d) = %q, want %q", c.size, c.mark, c.liq, got, c.want)
		}
	}
}

func TestRiskMarkets(t *testing.T) {
	ev := newEnv(t, nil)
	ev.setMark(btc, "50000")
	safe, lev := ev.client("safe", "50000", true), ev.client("lev", "6000", true)
	third := ev.client("third", "20000", true)
	ev.must(ev.do("POST", "/v1/orders", order(btc, "sell", "50000", "1.5", "s1"), safe), 200)
	ev.must(ev.do("POST", "/v1/orders", order(btc, "buy", "50000", "1", "l1"), lev), 200)
	ev.must(ev.do("POST", "/v1/orders", order(btc, "buy", "50000", "0.5", "t1"), third), 200)
	ev.setMark(btc, "49000")

	r := ev.must(ev.do("GET", "/v1/admin/risk/markets", "", ev.ops[RoleAuditor]), 200)
	var got struct {
		Markets []struct {
			Symbol, Mark string
			OpenInterest string `json:"open_interest"`
			ReduceOnly   bool   `json:"reduce_only"`
			Index        struct{ Mode string }
			Funding      struct{ Mode string }
			Accounts     int `json:"accounts_with_positions"`
			Longs        int `json:"long_accounts"`
			Shorts       int `json:"short_accounts"`
		}
	}
	if err := json.Unmarshal(r.body, &got); err != nil {
		t.Fatal(err)
	}
	if len(got.Markets) != 2 {
		t.Fatalf("markets: %s", r.body)
	}
	b, e := got.Markets[0], got.Markets[1]
	// 1.5 BTC open on each side, valued at the 49,000 mark.
	if b.Symbol != btc || b.Mark != "49000" || !strings.Contains(string(r.body), `"mark_source":"operator","open_interest":"1.5","open_interest_notional":"73500"`) ||
		b.Accounts != 3 || b.Longs != 2 || b.Shorts != 1 || b.ReduceOnly || b.Index.Mode != "manual" || b.Funding.Mode != "manual" {
		t.Errorf("BTC: %+v\n%s", b, r.body)
	}
	if e.Symbol != "ETH-USD-PERP" || e.Accounts != 0 || e.OpenInterest != "0" || e.Mark != "" {
		t.Errorf("ETH: %+v", e)
	}
}

// Who may read what: a client key and roles outside the matrix get 403,
// bad query parameters 400, never a 5xx.
func TestRiskPermissionsAndInput(t *testing.T) {
	ev := newEnv(t, nil)
	cl := ev.client("c", "1000", true)
	for _, path := range []string{"/v1/admin/risk/accounts", "/v1/admin/risk/markets"} {
		for _, k := range []*Key{cl, ev.ops[RoleOperations], ev.ops[RoleCompliance]} {
			if r := ev.must(ev.do("GET", path, "", k), 403); r.str("code") != "FORBIDDEN" {
				t.Errorf("%s as %s: %s", path, k.ID, r.body)
			}
		}
		ev.must(ev.do("GET", path, "", nil), 401)
		ev.must(ev.do("GET", path+"?foo=1", "", ev.ops[RoleRisk]), 400)
		for _, k := range []*Key{ev.ops[RoleRisk], ev.ops[RoleAdmin], ev.ops[RoleAuditor]} {
			ev.must(ev.do("GET", path, "", k), 200)
		}
	}
	for _, q := range []string{"0", "501", "-1", "01", "+5", "1e2", "x", "", "1&limit=2"} {
		r := ev.do("GET", "/v1/admin/risk/accounts?limit="+q, "", ev.ops[RoleRisk])
		if q == "" {
			ev.must(r, 200) // absent means the default
			continue
		}
		if r.status != 400 || r.str("field") != "limit" {
			t.Errorf("limit=%s: %d %s", q, r.status, r.body)
		}
	}
	ev.must(ev.do("GET", "/v1/admin/risk/accounts?limit=500", "", ev.ops[RoleRisk]), 200)
}

func TestWhoami(t *testing.T) {
	ev := newEnv(t, nil)
	cases := map[Role]string{
		RoleRisk:       `["credit_assessment","register_asset","set_asset_price","set_mark","view_client","view_risk"]`,
		RoleAuditor:    `["view_client","view_risk"]`,
		RoleOperations: `["book_security_sale","create_client","deposit","financing_deposit","financing_repayment","issue_key","view_client"]`,
		RoleCompliance: `["set_classification","set_knowledge","view_client"]`,
		RoleAdmin:      `["create_client","issue_key","set_asset_price","set_mark","view_client","view_risk"]`,
	}
	for role, acts := range cases {
		r := ev.must(ev.do("GET", "/v1/admin/whoami", "", ev.ops[role]), 200)
		if r.str("role") != string(role) || r.str("key") != ev.ops[role].ID || r.str("actions") != acts {
			t.Errorf("%s: %s", role, r.body)
		}
	}
	ev.must(ev.do("GET", "/v1/admin/whoami", "", ev.client("c", "1", false)), 403)
	ev.must(ev.do("GET", "/v1/admin/whoami", "", nil), 401)
	ev.must(ev.do("GET", "/v1/admin/whoami?x=1", "", ev.ops[RoleRisk]), 400)
}

// The scan visits every client across read-lock chunks: an account past
// the first chunk is found and every client is counted.
func TestRiskScanCrossesChunks(t *testing.T) {
	ev := newEnv(t, nil)
	ev.setMark(btc, "50000")
	seller := ev.client("seller", "100000", true)
	for i := 2; i <= riskScanChunk+5; i++ {
		c := engine.Command{Kind: engine.CmdCreateClient, Key: uint64(i), Ref: "idle"}
		if r, err := ev.x.Submit(context.Background(), &c); err != nil || r.Code != engine.OK {
			t.Fatal(err, r.Code)
		}
	}
	late := ev.client("late", "10000", true) // id riskScanChunk+6: in the second chunk
	ev.must(ev.do("POST", "/v1/orders", order(btc, "sell", "50000", "0.1", ""), seller), 200)
	ev.must(ev.do("POST", "/v1/orders", order(btc, "buy", "50000", "0.1", ""), late), 200)
	r := ev.must(ev.do("GET", "/v1/admin/risk/accounts", "", ev.ops[RoleRisk]), 200)
	if r.str("clients_scanned") != strconv.Itoa(riskScanChunk+6) || r.str("accounts_with_positions") != "2" ||
		!strings.Contains(string(r.body), `"client_id":"`+strconv.FormatUint(late.Account, 10)+`","ref":"late"`) {
		t.Errorf("scan: %.300s", r.body)
	}
	m := ev.must(ev.do("GET", "/v1/admin/risk/markets", "", ev.ops[RoleRisk]), 200)
	if !strings.Contains(string(m.body), `"accounts_with_positions":2,"long_accounts":1,"short_accounts":1`) {
		t.Errorf("markets: %.400s", m.body)
	}
}
