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

// idemCase is one keyed POST: sent twice it answers the same with
// "replayed": true the second time; with the same key and another payload
// it is a 409; check reads the answer's identity (e.g. the proposal id).
type idemCase struct {
	name, path, body, other string
	key                     *Key
	check                   string // field that must be equal in both answers
	otherPath               string // the conflicting request's path when not path
}

func (ev *env) idempotent(c idemCase) *resp {
	ev.t.Helper()
	first := ev.must(ev.do("POST", c.path, c.body, c.key), 200)
	again := ev.must(ev.do("POST", c.path, c.body, c.key), 200)
	if first.str("replayed") != "false" || again.str("replayed") != "true" {
		ev.t.Fatalf("%s: replayed %q then %q: %s / %s", c.name, first.str("replayed"), again.str("replayed"), first.body, again.body)
	}
	if c.check != "" && (first.str(c.check) == "" || first.str(c.check) != again.str(c.check)) {
		ev.t.Fatalf("%s: %s %q then %q", c.name, c.check, first.str(c.check), again.str(c.check))
	}
	if c.otherPath == "" {
		c.otherPath = c.path
	}
	if c.other == "" {
		return first
	}
	if x := ev.do("POST", c.otherPath, c.other, c.key); x.status != 409 || x.str("code") != string(CodeIdempotencyConflict) {
		ev.t.Fatalf("%s: a conflicting retry answered %d %s", c.name, x.status, x.body)
	}
	return first
}

// Every governance, onboarding and credit POST takes an optional
// idempotency_key: a retry returns the first result marked replayed (the
// same proposal, version, operator), another payload under the key is a
// 409, and without a key the endpoints behave as before (a second
// proposal; a second approval is a conflict of state).
func TestGovernanceIdempotencyKeys(t *testing.T) {
	ev := finEnv(t)
	risk, comp, admin := ev.ops[RoleRisk], ev.ops[RoleCompliance], ev.ops[RoleAdmin]
	_, lev := ev.btcParams()
	eff := strconv.FormatInt(ev.engineNow().Add(time.Hour).UnixMilli(), 10)
	prop := func(note, key string) string {
		b := `{"set":"market:BTC-USD-PERP","fields":{"max_leverage":` + strconv.FormatInt(lev-1, 10) + `},"effective_at":` + eff + `,"note":"` + note + `"`
		if key != "" {
			b += `,"idempotency_key":"` + key + `"`
		}
		return b + "}"
	}
	p := ev.idempotent(idemCase{"propose", "/v1/admin/proposals", prop("a", "p-1"), prop("b", "p-1"), risk, "id", ""})
	id := p.str("id")
	pending := ev.must(ev.do("GET", "/v1/admin/proposals?state=pending", "", risk), 200)
	if n := len(pending.json["proposals"].([]any)); n != 1 {
		t.Fatalf("a retried proposal made %d proposals: %s", n, pending.body)
	}
	// Keys are per operator: the second risk officer's p-1 is its own.
	p2 := ev.must(ev.do("POST", "/v1/admin/proposals", prop("c", "p-1"), ev.risk2), 200)
	if p2.str("id") == id || p2.str("replayed") != "false" {
		t.Fatalf("another operator's key: %s", p2.body)
	}
	// No key: as before, a repeat is a new proposal.
	n1 := ev.must(ev.do("POST", "/v1/admin/proposals", prop("d", ""), risk), 200)
	n2 := ev.must(ev.do("POST", "/v1/admin/proposals", prop("d", ""), risk), 200)
	if n1.str("id") == n2.str("id") || n1.str("replayed") != "false" {
		t.Fatalf("keyless repeats: %s / %s", n1.body, n2.body)
	}
	if x := ev.must(ev.do("POST", "/v1/admin/proposals", prop("e", strings.Repeat("k", IdempotencyKeyMax+1)), risk), 400); x.str("field") != "idempotency_key" {
		t.Fatalf("long key: %s", x.body)
	}
	// Approve and withdraw carry no note: the other payload is another
	// proposal under the same key.
	ev.idempotent(idemCase{"approve", "/v1/admin/proposals/" + id + "/approve", `{"idempotency_key":"a-1"}`,
		`{"idempotency_key":"a-1"}`, ev.risk2, "state", "/v1/admin/proposals/" + n1.str("id") + "/approve"})
	ev.idempotent(idemCase{"reject", "/v1/admin/proposals/" + n1.str("id") + "/reject", `{"note":"no","idempotency_key":"r-1"}`,
		`{"note":"non","idempotency_key":"r-1"}`, ev.risk2, "state", ""})
	ev.idempotent(idemCase{"withdraw", "/v1/admin/proposals/" + n2.str("id") + "/withdraw", `{"idempotency_key":"w-1"}`,
		`{"idempotency_key":"w-1"}`, risk, "state", "/v1/admin/proposals/" + id + "/withdraw"})
	em := `{"set":"market:BTC-USD-PERP","fields":{"max_leverage":` + strconv.FormatInt(lev-2, 10) + `},"note":"vol","idempotency_key":"e-1"}`
	v := ev.idempotent(idemCase{"emergency", "/v1/admin/emergency", em, strings.Replace(em, `"vol"`, `"volatile"`, 1), risk, "version", ""})
	ev.idempotent(idemCase{"review", "/v1/admin/emergency/review", `{"set":"market:BTC-USD-PERP","version":` + v.str("version") + `,"note":"ok","idempotency_key":"v-1"}`,
		`{"set":"market:BTC-USD-PERP","version":` + v.str("version") + `,"note":"fine","idempotency_key":"v-1"}`, ev.risk2, "reviewer", ""})

	// Onboarding.
	cid, _ := ev.newClient("idem", "1000")
	cls := classifyBody("individual_pi", "custodian_statement", ev.dateAgo(0, 0, 0), "9000000", "")
	ev.idempotent(idemCase{"classification", "/v1/admin/clients/" + cid + "/classification", strings.Replace(cls, "{", `{"idempotency_key":"c-1",`, 1),
		strings.Replace(strings.Replace(cls, "{", `{"idempotency_key":"c-1",`, 1), "9000000", "9000001", 1), comp, "classified_at", ""})
	ev.idempotent(idemCase{"knowledge", "/v1/admin/clients/" + cid + "/knowledge", `{"basis":"training","reference":"k","idempotency_key":"k-1"}`,
		`{"basis":"work_experience","reference":"k","idempotency_key":"k-1"}`, comp, "assessed_at", ""})
	// (This build holds one disclosure text, so there is no other payload.)
	ev.idempotent(idemCase{"disclosure", "/v1/admin/disclosures", `{"version":1,"idempotency_key":"d-1"}`, "", comp, "digest", ""})
	ev.idempotent(idemCase{"add operator", "/v1/admin/operators", `{"id":"ops-9","role":"operations","idempotency_key":"o-1"}`,
		`{"id":"ops-9","role":"auditor","idempotency_key":"o-1"}`, admin, "id", ""})
	ev.must(ev.do("POST", "/v1/admin/operators", `{"id":"ops-8","role":"operations"}`, admin), 200)
	ev.idempotent(idemCase{"disable operator", "/v1/admin/operators/ops-9/disable", `{"idempotency_key":"x-1"}`, `{"idempotency_key":"x-1"}`,
		admin, "active", "/v1/admin/operators/ops-8/disable"})
	// Without a key, disabling again is refused by state, as before.
	if x := ev.must(ev.do("POST", "/v1/admin/operators/ops-9/disable", "", admin), 403); x.str("code") != "operator_disabled" {
		t.Fatalf("keyless repeat: %s", x.body)
	}

	// Credit.
	ca := `{"approved":true,"grade":"A","credit_limit_hkd":"1000000","net_assets_hkd":"20000000","income_hkd":"3000000","experience":8,"next_review":"2099-01-01","idempotency_key":"ca-1"}`
	ev.idempotent(idemCase{"credit assessment", "/v1/admin/clients/" + cid + "/credit-assessment", ca, strings.Replace(ca, `"A"`, `"B"`, 1), risk, "client_id", ""})
	as := `{"code":"SOL","kind":"virtual_asset","decimals":8,"quote":"USD","lot":"1","idempotency_key":"as-1"}`
	ev.idempotent(idemCase{"register asset", "/v1/admin/assets", as, strings.Replace(as, `"lot":"1"`, `"lot":"2"`, 1), risk, "code", ""})
	// Without a key a second registration is refused by state, as before.
	ev.must(ev.do("POST", "/v1/admin/assets", `{"code":"SOL","kind":"virtual_asset","decimals":8,"quote":"USD","lot":"1"}`, risk), 409)
}
