package gateway

import (
	"context"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sampan-hk/sampan/core/engine"
)

// maxLev reads the version in force of market:BTC-USD-PERP.
func (ev *env) btcParams() (version string, maxLev int64) {
	ev.t.Helper()
	r := ev.must(ev.do("GET", "/v1/admin/parameters", "", ev.ops[RoleAuditor]), 200)
	for _, s := range r.json["sets"].([]any) {
		m := s.(map[string]any)
		if m["set"] == "market:BTC-USD-PERP" {
			f := m["value"].(map[string]any)["fields"].(map[string]any)
			return strconv.FormatFloat(m["version"].(float64), 'f', -1, 64), int64(f["max_leverage"].(float64))
		}
	}
	ev.t.Fatal("market:BTC-USD-PERP not listed")
	return "", 0
}

// Maker-checker end to end: the proposer's own approval is refused with
// the rule in plain words, roles without the permission are refused at the
// gateway, a second risk officer approves, and the change activates at its
// effective time (engine time driven by the MemLog clock).
func TestGovernanceMakerChecker(t *testing.T) {
	ev := newEnv(t, nil)
	var clock atomic.Int64
	start := time.Now()
	clock.Store(start.UnixNano())
	ev.log.Clock = clock.Load
	if _, err := ev.x.Submit(context.Background(), &engine.Command{Kind: engine.CmdTick}); err != nil {
		t.Fatal(err)
	}
	v1, lev := ev.btcParams()
	if v1 != "1" || lev < 3 {
		t.Fatalf("genesis: version %s max_leverage %d", v1, lev)
	}
	eff := start.Add(5 * time.Minute).UnixMilli()
	body := `{"set":"market:BTC-USD-PERP","fields":{"max_leverage":` + strconv.FormatInt(lev-1, 10) + `},"effective_at":` + strconv.FormatInt(eff, 10) + `,"note":"tighten"}`

	// Who may propose: the auditor and compliance may not (risk domain).
	for _, r := range []Role{RoleAuditor, RoleCompliance, RoleAdmin} {
		if x := ev.must(ev.do("POST", "/v1/admin/proposals", body, ev.ops[r]), 403); x.str("code") != "FORBIDDEN" {
			t.Fatalf("%s propose: %s", r, x.body)
		}
	}
	// A key without an operator id may not act.
	anon := &Key{ID: "op-anon", Secret: []byte("anon"), Role: RoleRisk}
	ev.keys.Put(anon)
	if x := ev.must(ev.do("POST", "/v1/admin/proposals", body, anon), 403); !strings.Contains(x.str("message"), "operator id") {
		t.Fatalf("no operator id: %s", x.body)
	}

	p := ev.must(ev.do("POST", "/v1/admin/proposals", body, ev.ops[RoleRisk]), 200)
	id := p.str("id")
	if p.str("state") != "pending" || p.str("proposer") != "op-risk_officer" || !strings.Contains(p.str("changes"), "max_leverage") {
		t.Fatalf("proposal: %s", p.body)
	}
	if x := ev.must(ev.do("GET", "/v1/admin/proposals?state=pending", "", ev.ops[RoleAuditor]), 200); !strings.Contains(string(x.body), `"id":`+id) {
		t.Fatalf("pending list: %s", x.body)
	}

	// The maker approving its own proposal: 403 with the rule.
	self := ev.must(ev.do("POST", "/v1/admin/proposals/"+id+"/approve", "", ev.ops[RoleRisk]), 403)
	if self.str("code") != "maker_cannot_approve_own_proposal" || !strings.Contains(self.str("message"), "you proposed this change") {
		t.Fatalf("self approval: %s", self.body)
	}
	// Operations and the auditor may not decide risk proposals.
	for _, r := range []Role{RoleOperations, RoleAuditor, RoleAdmin} {
		ev.must(ev.do("POST", "/v1/admin/proposals/"+id+"/approve", "", ev.ops[r]), 403)
	}
	// The engine re-checks: an operations key bypassing the gateway's check
	// is refused by the store.
	res, err := ev.x.Submit(context.Background(), &engine.Command{Kind: engine.CmdApproveProposal, Gov: &engine.GovArgs{Operator: "op-operations", ID: 1}})
	if err != nil || engineError(res.Code).Status != 403 || res.Code.String() != "permission_denied" {
		t.Fatalf("engine re-check: %v %v", err, res.Code)
	}

	ok := ev.must(ev.do("POST", "/v1/admin/proposals/"+id+"/approve", "", ev.risk2), 200)
	if ok.str("state") != "scheduled" || ok.str("decider") != "op-risk-2" {
		t.Fatalf("approve: %s", ok.body)
	}
	ev.must(ev.do("POST", "/v1/admin/proposals/"+id+"/approve", "", ev.risk2), 409)
	if _, l := ev.btcParams(); l != lev {
		t.Fatalf("changed before its effective time: %d", l)
	}

	// Engine time reaches the effective time: the next command activates it.
	clock.Store(time.UnixMilli(eff).UnixNano())
	if _, err := ev.x.Submit(context.Background(), &engine.Command{Kind: engine.CmdTick}); err != nil {
		t.Fatal(err)
	}
	if v, l := ev.btcParams(); v != "2" || l != lev-1 {
		t.Fatalf("after activation: version %s max_leverage %d", v, l)
	}
	h := ev.must(ev.do("GET", "/v1/admin/parameters/market:BTC-USD-PERP/history", "", ev.ops[RoleCompliance]), 200)
	vs := h.json["versions"].([]any)
	if len(vs) != 2 || vs[0].(map[string]any)["origin"] != "approved" || int64(vs[0].(map[string]any)["effective_at"].(float64)) != eff {
		t.Fatalf("history: %s", h.body)
	}
	if x := ev.must(ev.do("GET", "/v1/admin/proposals?state=all", "", ev.ops[RoleAuditor]), 200); !strings.Contains(string(x.body), `"state":"active"`) {
		t.Fatalf("all proposals: %s", x.body)
	}
	// Client keys see nothing.
	c := ev.client("gv", "1000", false)
	ev.must(ev.do("GET", "/v1/admin/parameters", "", c), 403)
}

// Emergency tightening by one risk officer, reviewed by another; the
// officer who applied it cannot review it.
func TestGovernanceEmergency(t *testing.T) {
	ev := newEnv(t, nil)
	_, lev := ev.btcParams()
	body := `{"set":"market:BTC-USD-PERP","fields":{"max_leverage":` + strconv.FormatInt(lev-1, 10) + `},"note":"volatility"}`
	ev.must(ev.do("POST", "/v1/admin/emergency", body, ev.ops[RoleOperations]), 403)
	loosen := `{"set":"market:BTC-USD-PERP","fields":{"max_leverage":` + strconv.FormatInt(lev+1, 10) + `},"note":"x"}`
	if x := ev.do("POST", "/v1/admin/emergency", loosen, ev.ops[RoleRisk]); x.status < 400 || x.status >= 500 {
		t.Fatalf("loosening: %d %s", x.status, x.body)
	}
	v := ev.must(ev.do("POST", "/v1/admin/emergency", body, ev.ops[RoleRisk]), 200)
	if v.str("origin") != "emergency" || v.str("version") != "2" {
		t.Fatalf("emergency: %s", v.body)
	}
	u := ev.must(ev.do("GET", "/v1/admin/emergency/unreviewed", "", ev.ops[RoleAuditor]), 200)
	if len(u.json["emergencies"].([]any)) != 1 {
		t.Fatalf("unreviewed: %s", u.body)
	}
	rv := `{"set":"market:BTC-USD-PERP","version":2,"note":"checked"}`
	if x := ev.must(ev.do("POST", "/v1/admin/emergency/review", rv, ev.ops[RoleRisk]), 403); x.str("code") != "cannot_review_own_emergency_change" {
		t.Fatalf("self review: %s", x.body)
	}
	if x := ev.must(ev.do("POST", "/v1/admin/emergency/review", rv, ev.risk2), 200); x.str("reviewer") != "op-risk-2" {
		t.Fatalf("review: %s", x.body)
	}
	u = ev.must(ev.do("GET", "/v1/admin/emergency/unreviewed", "", ev.ops[RoleAuditor]), 200)
	if len(u.json["emergencies"].([]any)) != 0 {
		t.Fatalf("still unreviewed: %s", u.body)
	}
}
