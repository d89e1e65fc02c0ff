package gateway

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sampan-hk/sampan/core/engine"
)

// Professional-investor onboarding through the API against the real engine:
// evidence at the thresholds, expiry, reduce-only after expiry, the
// risk-disclosure gate, the renewal worklist, roles and bad input.

// hk is Hong Kong time, built here independently of the gateway's integer
// calendar code so the tests check it rather than repeat it.
var hk = time.FixedZone("HKT", 8*3600)

const day = 24 * time.Hour

// clock gives the engine a controllable time (MemLog stamps every command
// with it); it starts at a fixed Hong Kong afternoon.
func (ev *env) clock(start time.Time) *atomic.Int64 {
	c := new(atomic.Int64)
	c.Store(start.UnixNano())
	ev.log.Clock = c.Load
	return c
}

func advance(c *atomic.Int64, d time.Duration) { c.Add(int64(d)) }

// engineNow is the instant the next command will be stamped with.
func (ev *env) engineNow() time.Time { return time.Unix(0, ev.log.Clock()).In(hk) }

// dateAgo is the Hong Kong date d before engine time.
func (ev *env) dateAgo(years, months, days int) string {
	return ev.engineNow().AddDate(-years, -months, -days).Format(time.DateOnly)
}

func classifyBody(class, evidence, date, portfolio, total string) string {
	m := map[string]string{"class": class, "evidence": evidence, "evidence_date": date, "portfolio_hkd": portfolio,
		"total_assets_hkd": total, "reference": "DOC-1"}
	for k, v := range m {
		if v == "" {
			delete(m, k)
		}
	}
	b, _ := json.Marshal(m)
	return string(b)
}

// newClient creates and funds a client (not classified) and returns its id
// and a key with every permission.
func (ev *env) newClient(name, usd string) (string, *Key) {
	ev.t.Helper()
	k := ev.client(name, usd, false)
	return strconv.FormatUint(k.Account, 10), k
}

// onboardPI takes a client through the evidence flow: individual PI with a
// portfolio above HK$8m dated today, knowledge from training, and the
// current disclosure (v1 is published first if nothing is) accepted.
func (ev *env) onboardPI(id string, k *Key) {
	ev.t.Helper()
	comp := ev.ops[RoleCompliance]
	ev.must(ev.do("POST", "/v1/admin/clients/"+id+"/classification", classifyBody("individual_pi", "custodian_statement", ev.dateAgo(0, 0, 0), "9000000", ""), comp), 200)
	ev.must(ev.do("POST", "/v1/admin/clients/"+id+"/knowledge", `{"basis":"training","reference":"course-1"}`, comp), 200)
	v := ev.currentDisclosure()
	if v == 0 {
		ev.must(ev.do("POST", "/v1/admin/disclosures", `{"version":1}`, comp), 200)
		v = 1
	}
	ev.must(ev.do("POST", "/v1/account/disclosure/accept", `{"version":`+strconv.Itoa(int(v))+`}`, k), 200)
}

func (ev *env) currentDisclosure() uint32 {
	var v uint32
	ev.x.View(func(e *engine.Engine) {
		if d, ok := e.Eligibility().CurrentDisclosure(); ok {
			v = d.Version
		}
	})
	return v
}

func (ev *env) stateHash() [32]byte {
	var h [32]byte
	ev.x.View(func(e *engine.Engine) { h = e.StateHash() })
	return h
}

// Evidence at and around the thresholds; the expiry is the start of the
// Hong Kong day 12 months after the evidence date.
func TestClassificationThresholds(t *testing.T) {
	ev := newEnv(t, nil)
	ev.clock(time.Date(2026, 3, 10, 15, 0, 0, 0, hk))
	comp := ev.ops[RoleCompliance]
	cases := []struct {
		name, class, evidence, date, portfolio, total string
		status                                        int
		code                                          string
		expires                                       time.Time
	}{
		{"individual exactly HK$8m", "individual_pi", "custodian_statement", "2025-06-15", "8000000.00", "", 200, "", time.Date(2026, 6, 15, 0, 0, 0, 0, hk)},
		{"individual one cent below", "individual_pi", "custodian_statement", "2025-06-15", "7999999.99", "", 422, "portfolio_below_threshold", time.Time{}},
		{"individual total assets do not count", "individual_pi", "bank_statement", "2025-06-15", "100", "90000000", 422, "portfolio_below_threshold", time.Time{}},
		{"corporate total assets exactly HK$40m", "corporate_pi", "audited_financials", "2026-01-31", "0", "40000000", 200, "", time.Date(2027, 1, 31, 0, 0, 0, 0, hk)},
		{"corporate portfolio exactly HK$8m", "corporate_pi", "audited_financials", "2026-03-10", "8000000", "0", 200, "", time.Date(2027, 3, 10, 0, 0, 0, 0, hk)},
		{"corporate both one cent below", "corporate_pi", "audited_financials", "2026-01-31", "7999999.99", "39999999.99", 422, "corporate_below_thresholds", time.Time{}},
		{"institutional needs no amount", "institutional_pi", "regulatory_status", "2025-12-01", "", "", 200, "", time.Date(2026, 12, 1, 0, 0, 0, 0, hk)},
		// Leap-year clamp: 2024-02-29 + 12 months is 2025-02-28, already past.
		{"evidence older than 12 months", "individual_pi", "custodian_statement", "2025-03-10", "9000000", "", 422, "evidence_expired", time.Time{}},
		{"evidence one day inside 12 months", "individual_pi", "custodian_statement", "2025-03-11", "9000000", "", 200, "", time.Date(2026, 3, 11, 0, 0, 0, 0, hk)},
		{"evidence dated tomorrow", "individual_pi", "custodian_statement", "2026-03-11", "9000000", "", 422, "evidence_date_in_future", time.Time{}},
	}
	for i, c := range cases {
		id, _ := ev.newClient("t"+strconv.Itoa(i), "1000")
		before := ev.stateHash()
		r := ev.do("POST", "/v1/admin/clients/"+id+"/classification", classifyBody(c.class, c.evidence, c.date, c.portfolio, c.total), comp)
		if r.status != c.status || (c.code != "" && r.str("code") != c.code) {
			t.Errorf("%s: %d %s", c.name, r.status, r.body)
			continue
		}
		if c.status != 200 {
			if ev.stateHash() != before {
				t.Errorf("%s: a refusal changed the engine state", c.name)
			}
			if !strings.Contains(r.str("message"), "HK$") && strings.Contains(c.code, "threshold") {
				t.Errorf("%s: the refusal does not name the threshold: %s", c.name, r.body)
			}
			continue
		}
		if r.str("expires_at") != c.expires.UTC().Format(time.RFC3339) || r.str("class") != c.class || r.str("evidence_date") != c.date ||
			r.str("assessor") != comp.Operator {
			t.Errorf("%s: %s (want expiry %s)", c.name, r.body, c.expires.UTC().Format(time.RFC3339))
		}
		// Reminder 30 days before expiry (the governed default).
		if r.str("renewal_reminder_at") != c.expires.Add(-30*day).UTC().Format(time.RFC3339) {
			t.Errorf("%s: reminder %s", c.name, r.str("renewal_reminder_at"))
		}
		// The same form again is answered from the record: nothing is
		// classified twice.
		h := ev.stateHash()
		again := ev.must(ev.do("POST", "/v1/admin/clients/"+id+"/classification", classifyBody(c.class, c.evidence, c.date, c.portfolio, c.total), comp), 200)
		if again.str("replayed") != "true" || ev.stateHash() != h {
			t.Errorf("%s: retry: %s", c.name, again.body)
		}
	}
}

// An expired PI can only reduce: the opening order is refused with the
// reason, a reduce-only order goes through, and the account and the
// renewal list say so.
func TestExpiredPIOnlyReduces(t *testing.T) {
	ev := newEnv(t, nil)
	clk := ev.clock(time.Date(2026, 3, 10, 15, 0, 0, 0, hk))
	ev.setMark(btc, "50000")
	_, mk := ev.newClient("maker", "1000000")
	aid, a := ev.newClient("alice", "100000")
	ev.onboardPI(strconv.FormatUint(mk.Account, 10), mk)
	// Alice's evidence is dated so that it expires in two days.
	comp := ev.ops[RoleCompliance]
	ev.must(ev.do("POST", "/v1/admin/clients/"+aid+"/classification", classifyBody("individual_pi", "custodian_statement", "2025-03-12", "8500000", ""), comp), 200)
	ev.must(ev.do("POST", "/v1/admin/clients/"+aid+"/knowledge", `{"basis":"prior_trades","trades":12}`, comp), 200)
	ev.must(ev.do("POST", "/v1/account/disclosure/accept", `{"version":1}`, a), 200)

	ev.must(ev.do("POST", "/v1/orders", order(btc, "sell", "50000", "0.02", "m1"), mk), 200)
	ev.must(ev.do("POST", "/v1/orders", order(btc, "buy", "50000", "0.01", "a1"), a), 200)
	// A resting increasing order is cancelled by the engine at expiry.
	ev.must(ev.do("POST", "/v1/orders", order(btc, "buy", "49000", "0.01", "a2"), a), 200)

	advance(clk, 3*day) // expiry was 2026-03-12 00:00 HK
	ev.setMark(btc, "50000")
	r := ev.must(ev.do("POST", "/v1/orders", order(btc, "buy", "50000", "0.01", "a3"), a), 403)
	if r.str("code") != "pi_classification_expired" {
		t.Fatalf("opening order after expiry: %s", r.body)
	}
	ev.must(ev.do("POST", "/v1/orders", order(btc, "buy", "49500", "0.01", "m2"), mk), 200)
	red := `{"symbol":"` + btc + `","side":"sell","type":"limit","price":"49500","qty":"0.01","reduce_only":true,"client_order_id":"a4"}`
	ev.must(ev.do("POST", "/v1/orders", red, a), 200)
	var size string
	ev.x.View(func(e *engine.Engine) {
		for _, p := range e.Positions(engine.ClientID(a.Account), nil) {
			size = strconv.FormatInt(int64(p.Size), 10)
		}
	})
	if size != "" {
		t.Fatalf("the reduce-only order did not close the position: size %s", size)
	}
	open := ev.must(ev.do("GET", "/v1/orders", "", a), 200)
	if strings.Contains(string(open.body), `"a2"`) {
		t.Fatalf("the resting increasing order survived the expiry: %s", open.body)
	}

	acct := ev.must(ev.do("GET", "/v1/account", "", a), 200)
	var v struct {
		Eligible   bool           `json:"eligible"`
		Ineligible reasonJSON     `json:"ineligible_reason"`
		Onboarding onboardingJSON `json:"onboarding"`
	}
	_ = json.Unmarshal(acct.body, &v)
	want := time.Date(2026, 3, 12, 0, 0, 0, 0, hk).UTC().Format(time.RFC3339)
	if v.Eligible || v.Ineligible.Code != "pi_classification_expired" || v.Onboarding.Classification.Status != "expired" ||
		len(v.Onboarding.Missing) != 1 || !strings.Contains(v.Onboarding.Missing[0].Message, want) ||
		!strings.Contains(v.Onboarding.Missing[0].Message, "2025-03-12") {
		t.Fatalf("account after expiry: %s", acct.body)
	}
	ren := ev.must(ev.do("GET", "/v1/admin/renewals", "", ev.ops[RoleAuditor]), 200)
	if !strings.Contains(string(ren.body), `"client_id":"`+aid+`","ref":"alice","class":"individual_pi","evidence_date":"2025-03-12","expires_at":"`+want+`","days_left":-2,"status":"expired"`) {
		t.Fatalf("renewals: %s", ren.body)
	}
}

// The risk disclosure: nothing published → refused; published → still
// refused until accepted; the text served is the one whose digest the
// engine recorded; accepted → trades; a new version closes the gate again.
func TestDisclosureGate(t *testing.T) {
	ev := newEnv(t, nil)
	ev.setMark(btc, "50000")
	comp := ev.ops[RoleCompliance]
	id, k := ev.newClient("dee", "100000")
	ev.must(ev.do("POST", "/v1/admin/clients/"+id+"/classification", classifyBody("individual_pi", "custodian_statement", ev.dateAgo(0, 1, 0), "8000000", ""), comp), 200)
	ev.must(ev.do("POST", "/v1/admin/clients/"+id+"/knowledge", `{"basis":"work_experience"}`, comp), 200)

	r := ev.must(ev.do("POST", "/v1/orders", order(btc, "buy", "50000", "0.01", ""), k), 403)
	if r.str("code") != "risk_disclosure_not_accepted" || !strings.Contains(r.str("message"), "risk disclosure") {
		t.Fatalf("no disclosure published: %s", r.body)
	}
	if r := ev.must(ev.do("GET", "/v1/disclosure", "", k), 404); r.str("code") != string(CodeNoDisclosure) {
		t.Fatalf("GET /v1/disclosure before publication: %s", r.body)
	}
	if r := ev.must(ev.do("POST", "/v1/account/disclosure/accept", `{"version":1}`, k), 409); r.str("code") != "no_disclosure_published" {
		t.Fatalf("accept before publication: %s", r.body)
	}

	text, err := os.ReadFile("onboarding_disclosure_v1.md")
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(text)
	digest := hex.EncodeToString(sum[:])
	pub := ev.must(ev.do("POST", "/v1/admin/disclosures", `{"version":1}`, comp), 200)
	if pub.str("digest") != digest || pub.str("published_by") != comp.Operator || pub.str("text_available") != "true" {
		t.Fatalf("publish: %s", pub.body)
	}
	if r := ev.must(ev.do("POST", "/v1/admin/disclosures", `{"version":1}`, comp), 409); r.str("code") != "disclosure_version_not_current" {
		t.Fatalf("republish v1: %s", r.body)
	}
	if r := ev.must(ev.do("POST", "/v1/admin/disclosures", `{"version":2}`, comp), 404); r.str("field") != "version" {
		t.Fatalf("publish a version with no text: %s", r.body)
	}
	d := ev.must(ev.do("GET", "/v1/disclosure", "", k), 200)
	if d.str("version") != "1" || d.str("digest") != digest || d.str("text") != string(text) || d.str("accepted") != "false" {
		t.Fatalf("GET /v1/disclosure: %s", d.body)
	}
	ev.must(ev.do("POST", "/v1/orders", order(btc, "buy", "50000", "0.01", ""), k), 403)
	acct := ev.must(ev.do("GET", "/v1/account", "", k), 200)
	if !strings.Contains(string(acct.body), `"missing":[{"code":"risk_disclosure_not_accepted","message":"Accept risk disclosure version 1`) {
		t.Fatalf("account before acceptance: %s", acct.body)
	}

	readOnly := &Key{ID: "ro-dee", Secret: []byte("ro"), Account: k.Account, Perms: PermRead}
	ev.keys.Put(readOnly)
	ev.must(ev.do("POST", "/v1/account/disclosure/accept", `{"version":1}`, readOnly), 403)
	if r := ev.must(ev.do("POST", "/v1/account/disclosure/accept", `{"version":2}`, k), 409); r.str("code") != "disclosure_version_not_current" {
		t.Fatalf("accept a version that is not current: %s", r.body)
	}
	acc := ev.must(ev.do("POST", "/v1/account/disclosure/accept", `{"version":1}`, k), 200)
	if acc.str("accepted_version") != "1" || acc.str("digest") != digest || acc.str("replayed") != "false" {
		t.Fatalf("accept: %s", acc.body)
	}
	h := ev.stateHash()
	if again := ev.must(ev.do("POST", "/v1/account/disclosure/accept", `{"version":1}`, k), 200); again.str("replayed") != "true" || ev.stateHash() != h {
		t.Fatalf("accept again: %s", again.body)
	}
	ev.must(ev.do("POST", "/v1/orders", order(btc, "buy", "49000", "0.01", "ok-1"), k), 200)
	acct = ev.must(ev.do("GET", "/v1/account", "", k), 200)
	if acct.str("eligible") != "true" || !strings.Contains(string(acct.body), `"missing":[]`) {
		t.Fatalf("account after acceptance: %s", acct.body)
	}
}

// The renewal worklist: expired first, then by expiry; retail and
// far-off expiries left out; within_days bounds the look-ahead.
func TestRenewals(t *testing.T) {
	ev := newEnv(t, nil)
	clk := ev.clock(time.Date(2026, 3, 10, 15, 0, 0, 0, hk))
	comp := ev.ops[RoleCompliance]
	classify := func(name, date string) string {
		id, _ := ev.newClient(name, "10")
		ev.must(ev.do("POST", "/v1/admin/clients/"+id+"/classification", classifyBody("individual_pi", "bank_statement", date, "8000000", ""), comp), 200)
		return id
	}
	gone := classify("gone", "2025-03-15") // expires 2026-03-15 HK
	advance(clk, 7*day)                    // now 2026-03-17 15:00 HK
	soon := classify("soon", "2025-03-27") // 2026-03-27: 9 days 9 h ahead
	mid := classify("mid", "2025-04-26")   // 2026-04-26: 39 days
	far := classify("far", "2025-09-01")   // 2026-09-01: beyond 60 days
	rid, _ := ev.newClient("retail", "10")
	ev.must(ev.do("POST", "/v1/admin/clients/"+rid+"/classification", `{"class":"retail"}`, comp), 200)
	// Equal expiries are ordered by client id.
	tie := classify("tie", "2025-04-26")

	type row struct {
		ClientID     string `json:"client_id"`
		Ref          string `json:"ref"`
		Class        string `json:"class"`
		EvidenceDate string `json:"evidence_date"`
		ExpiresAt    string `json:"expires_at"`
		DaysLeft     int64  `json:"days_left"`
		Status       string `json:"status"`
	}
	var got struct {
		AsOf       string `json:"as_of"`
		WithinDays int    `json:"within_days"`
		Clients    []row  `json:"clients"`
	}
	get := func(q string, k *Key) {
		r := ev.must(ev.do("GET", "/v1/admin/renewals"+q, "", k), 200)
		got.Clients = nil
		if err := json.Unmarshal(r.body, &got); err != nil {
			t.Fatal(err)
		}
	}
	exp := func(y, m, d int) string {
		return time.Date(y, time.Month(m), d, 0, 0, 0, 0, hk).UTC().Format(time.RFC3339)
	}
	get("", ev.ops[RoleOperations])
	want := []row{
		{gone, "gone", "individual_pi", "2025-03-15", exp(2026, 3, 15), -3, "expired"},
		{soon, "soon", "individual_pi", "2025-03-27", exp(2026, 3, 27), 9, "expiring"},
		{mid, "mid", "individual_pi", "2025-04-26", exp(2026, 4, 26), 39, "expiring"},
		{tie, "tie", "individual_pi", "2025-04-26", exp(2026, 4, 26), 39, "expiring"},
	}
	asOf := time.Date(2026, 3, 17, 15, 0, 0, 0, hk)
	if got.WithinDays != 60 || got.AsOf != asOf.UTC().Format(time.RFC3339) || len(got.Clients) != len(want) {
		t.Fatalf("renewals: %+v", got)
	}
	for i := range want {
		if got.Clients[i] != want[i] {
			t.Errorf("row %d: %+v, want %+v", i, got.Clients[i], want[i])
		}
	}
	get("?within_days=200", ev.ops[RoleAuditor])
	if len(got.Clients) != 5 || got.Clients[4].ClientID != far {
		t.Fatalf("within_days=200: %+v", got.Clients)
	}
	get("?within_days=0", ev.ops[RoleCompliance])
	if len(got.Clients) != 1 || got.Clients[0].ClientID != gone {
		t.Fatalf("within_days=0: %+v", got.Clients)
	}
	for _, q := range []string{"-1", "367", "x", "01", "1.5", ""} {
		r := ev.do("GET", "/v1/admin/renewals?within_days="+q, "", ev.ops[RoleAdmin])
		if q == "" {
			ev.must(r, 200)
			continue
		}
		if r.status != 400 || r.str("field") != "within_days" {
			t.Errorf("within_days=%s: %d %s", q, r.status, r.body)
		}
	}
	ev.must(ev.do("GET", "/v1/admin/renewals?days=3", "", ev.ops[RoleAdmin]), 400)
	_, ck := ev.newClient("nosy", "10")
	ev.must(ev.do("GET", "/v1/admin/renewals", "", ck), 403)
}

// Every onboarding write is refused to the auditor, and to every role the
// matrix does not name, with 403 and nothing changed.
func TestOnboardingRoles(t *testing.T) {
	ev := newEnv(t, nil)
	ev.clock(time.Date(2026, 3, 10, 15, 0, 0, 0, hk))
	id, k := ev.newClient("rolf", "10")
	writes := []struct{ path, body string }{
		{"/v1/admin/clients/" + id + "/classification", classifyBody("individual_pi", "custodian_statement", ev.dateAgo(0, 0, 1), "9000000", "")},
		{"/v1/admin/clients/" + id + "/knowledge", `{"basis":"training"}`},
		{"/v1/admin/disclosures", `{"version":1}`},
		{"/v1/admin/operators", `{"id":"new-op","role":"operations"}`},
		{"/v1/admin/operators/op-operations/disable", ``},
		{"/v1/admin/operators/op-operations/keys", ``},
	}
	allowed := map[string]Role{writes[0].path: RoleCompliance, writes[1].path: RoleCompliance, writes[2].path: RoleCompliance,
		writes[3].path: RoleAdmin, writes[4].path: RoleAdmin, writes[5].path: RoleAdmin}
	before := ev.stateHash()
	for _, w := range writes {
		for _, role := range []Role{RoleAdmin, RoleRisk, RoleCompliance, RoleOperations, RoleAuditor} {
			if role == allowed[w.path] {
				continue
			}
			if r := ev.do("POST", w.path, w.body, ev.ops[role]); r.status != 403 || r.str("code") != string(CodeForbidden) {
				t.Errorf("%s as %s: %d %s", w.path, role, r.status, r.body)
			}
		}
		// A client key is no operator.
		ev.must(ev.do("POST", w.path, w.body, k), 403)
	}
	// An auditor's key is no client key either.
	ev.must(ev.do("POST", "/v1/account/disclosure/accept", `{"version":1}`, ev.ops[RoleAuditor]), 403)
	if ev.stateHash() != before {
		t.Fatal("a refused write changed the engine state")
	}
	// A compliance key without an operator id cannot classify: the engine
	// needs the assessor's id.
	anon := &Key{ID: "anon-comp", Secret: []byte("x"), Role: RoleCompliance}
	ev.keys.Put(anon)
	ev.must(ev.do("POST", writes[0].path, writes[0].body, anon), 403)
	// Reads: every operator sees operators and disclosures.
	for _, role := range []Role{RoleAdmin, RoleRisk, RoleCompliance, RoleOperations, RoleAuditor} {
		ev.must(ev.do("GET", "/v1/admin/operators", "", ev.ops[role]), 200)
		ev.must(ev.do("GET", "/v1/admin/disclosures", "", ev.ops[role]), 200)
	}
}

// Operators: add, list, key, disable (the key stops working everywhere).
func TestOperatorLifecycle(t *testing.T) {
	ev := newEnv(t, nil)
	admin := ev.ops[RoleAdmin]
	r := ev.must(ev.do("POST", "/v1/admin/operators", `{"id":"ops-2","role":"operations"}`, admin), 200)
	if r.str("id") != "ops-2" || r.str("role") != "operations" || r.str("active") != "true" || r.str("added_at") == "" {
		t.Fatalf("add: %s", r.body)
	}
	if r := ev.must(ev.do("POST", "/v1/admin/operators", `{"id":"ops-2","role":"auditor"}`, admin), 409); r.str("code") != "operator_exists" {
		t.Fatalf("add twice: %s", r.body)
	}
	list := ev.must(ev.do("GET", "/v1/admin/operators", "", ev.ops[RoleAuditor]), 200)
	if !strings.Contains(string(list.body), `{"id":"ops-2","role":"operations","active":true,"added_at":"`) ||
		!strings.Contains(string(list.body), `{"id":"op-admin","role":"admin","active":true}`) {
		t.Fatalf("list: %s", list.body)
	}
	kr := ev.must(ev.do("POST", "/v1/admin/operators/ops-2/keys", "", admin), 200)
	if kr.str("operator") != "ops-2" || kr.str("role") != "operations" || len(kr.str("secret")) != 64 {
		t.Fatalf("key: %s", kr.body)
	}
	k2 := &Key{ID: kr.str("key"), Secret: []byte(kr.str("secret"))}
	who := ev.must(ev.do("GET", "/v1/admin/whoami", "", k2), 200)
	if who.str("operator") != "ops-2" || who.str("role") != "operations" {
		t.Fatalf("whoami: %s", who.body)
	}
	ev.must(ev.do("POST", "/v1/admin/clients", `{"ref":"by-ops-2","idempotency_key":"o2-1"}`, k2), 200)
	if r := ev.must(ev.do("POST", "/v1/admin/operators/ops-9/keys", "{}", admin), 404); r.str("field") != "id" {
		t.Fatalf("key for an unknown operator: %s", r.body)
	}
	if r := ev.must(ev.do("POST", "/v1/admin/operators/op-admin/disable", "", admin), 403); r.str("code") != "cannot_disable_self" {
		t.Fatalf("disable self: %s", r.body)
	}
	d := ev.must(ev.do("POST", "/v1/admin/operators/ops-2/disable", "{}", admin), 200)
	if d.str("active") != "false" {
		t.Fatalf("disable: %s", d.body)
	}
	ev.must(ev.do("POST", "/v1/admin/clients", `{"ref":"by-ops-2b","idempotency_key":"o2-2"}`, k2), 403)
	ev.must(ev.do("GET", "/v1/admin/operators", "", k2), 403)
	ev.must(ev.do("POST", "/v1/admin/operators/ops-2/keys", "", admin), 403)
	if r := ev.must(ev.do("POST", "/v1/admin/operators/ops-2/disable", "", admin), 403); r.str("code") != "operator_disabled" {
		t.Fatalf("disable twice: %s", r.body)
	}
}

// Bad input: a precise 4xx naming the field, and nothing changed.
func TestOnboardingBadInput(t *testing.T) {
	ev := newEnv(t, nil)
	ev.clock(time.Date(2026, 3, 10, 15, 0, 0, 0, hk)) // refusals must not even move engine time
	id, k := ev.newClient("bad", "10")
	cl := "/v1/admin/clients/" + id + "/classification"
	kn := "/v1/admin/clients/" + id + "/knowledge"
	today := ev.dateAgo(0, 0, 0)
	comp, admin := ev.ops[RoleCompliance], ev.ops[RoleAdmin]
	cases := []struct {
		name, path, body string
		key              *Key
		status           int
		code, field      string
	}{
		{"unknown key", cl, `{"class":"individual_pi","evidence":"bank_statement","evidence_date":"` + today + `","portfolio_hkd":"9000000","extra":1}`, comp, 400, "UNKNOWN_FIELD", "extra"},
		{"wrong-case key", cl, `{"Class":"individual_pi"}`, comp, 400, "", ""},
		{"legacy shape", cl, `{"classification":"individual_pi","expires_at":1893456000000,"idempotency_key":"k"}`, comp, 400, string(CodeLegacyRequest), "classification"},
		{"legacy knowledge", kn, `{"passed":true,"idempotency_key":"k"}`, comp, 400, string(CodeLegacyRequest), "passed"},
		{"unknown class", cl, classifyBody("rich", "bank_statement", today, "9000000", ""), comp, 400, "INVALID_FIELD", "class"},
		{"unknown evidence", cl, classifyBody("individual_pi", "selfie", today, "9000000", ""), comp, 400, "INVALID_FIELD", "evidence"},
		{"no evidence", cl, classifyBody("individual_pi", "", today, "9000000", ""), comp, 400, "MISSING_FIELD", "evidence"},
		{"no date", cl, classifyBody("individual_pi", "bank_statement", "", "9000000", ""), comp, 400, "MISSING_FIELD", "evidence_date"},
		{"31 February", cl, classifyBody("individual_pi", "bank_statement", "2026-02-31", "9000000", ""), comp, 400, "INVALID_FIELD", "evidence_date"},
		{"slashes", cl, classifyBody("individual_pi", "bank_statement", "2026/01/05", "9000000", ""), comp, 400, "INVALID_FIELD", "evidence_date"},
		{"short month", cl, classifyBody("individual_pi", "bank_statement", "2026-1-05", "9000000", ""), comp, 400, "INVALID_FIELD", "evidence_date"},
		{"time of day", cl, classifyBody("individual_pi", "bank_statement", today+"T00:00", "9000000", ""), comp, 400, "INVALID_FIELD", "evidence_date"},
		{"date as number", cl, `{"class":"individual_pi","evidence":"bank_statement","evidence_date":20260105,"portfolio_hkd":"9000000"}`, comp, 400, "", "evidence_date"},
		{"negative portfolio", cl, classifyBody("individual_pi", "bank_statement", today, "-9000000", ""), comp, 400, "OUT_OF_RANGE", "portfolio_hkd"},
		{"negative total assets", cl, classifyBody("corporate_pi", "audited_financials", today, "", "-1"), comp, 400, "OUT_OF_RANGE", "total_assets_hkd"},
		{"three decimals", cl, classifyBody("individual_pi", "bank_statement", today, "9000000.001", ""), comp, 400, "INVALID_FIELD", "portfolio_hkd"},
		{"exponent", cl, classifyBody("individual_pi", "bank_statement", today, "9e6", ""), comp, 400, "INVALID_FIELD", "portfolio_hkd"},
		{"amount as number", cl, `{"class":"individual_pi","evidence":"bank_statement","evidence_date":"` + today + `","portfolio_hkd":9000000}`, comp, 400, "", "portfolio_hkd"},
		{"overflow", cl, classifyBody("individual_pi", "bank_statement", today, "99999999999999999999", ""), comp, 400, "", "portfolio_hkd"},
		{"individual without portfolio", cl, classifyBody("individual_pi", "bank_statement", today, "", "90000000"), comp, 400, "MISSING_FIELD", "portfolio_hkd"},
		{"corporate without amounts", cl, classifyBody("corporate_pi", "audited_financials", today, "", ""), comp, 400, "MISSING_FIELD", "portfolio_hkd"},
		{"retail with evidence", cl, classifyBody("retail", "bank_statement", today, "", ""), comp, 400, "INVALID_FIELD", "evidence"},
		{"reference too long", cl, `{"class":"retail","reference":"` + strings.Repeat("r", 129) + `"}`, comp, 400, "INVALID_FIELD", "reference"},
		{"client id zero", "/v1/admin/clients/0/classification", classifyBody("retail", "", "", "", ""), comp, 400, "INVALID_FIELD", "id"},
		{"unknown client", "/v1/admin/clients/999/classification", classifyBody("retail", "", "", "", ""), comp, 404, "unknown_client", ""},
		{"query string", cl + "?x=1", classifyBody("retail", "", "", "", ""), comp, 400, "", ""},
		{"empty body", cl, ``, comp, 400, "MALFORMED_JSON", ""},
		{"unknown basis", kn, `{"basis":"intuition"}`, comp, 400, "INVALID_FIELD", "basis"},
		{"self declaration", kn, `{"basis":"self_declaration"}`, comp, 422, "self_declaration_not_sufficient", ""},
		{"too few trades", kn, `{"basis":"prior_trades","trades":4}`, comp, 422, "too_few_derivative_trades", ""},
		{"negative trades", kn, `{"basis":"prior_trades","trades":-5}`, comp, 400, "OUT_OF_RANGE", "trades"},
		{"trades for training", kn, `{"basis":"training","trades":5}`, comp, 400, "INVALID_FIELD", "trades"},
		{"disclosure version zero", "/v1/admin/disclosures", `{"version":0}`, comp, 400, "INVALID_FIELD", "version"},
		{"disclosure version string", "/v1/admin/disclosures", `{"version":"1"}`, comp, 400, "", "version"},
		{"disclosure version too large", "/v1/admin/disclosures", `{"version":4294967296}`, comp, 400, "INVALID_FIELD", "version"},
		{"accept version negative", "/v1/account/disclosure/accept", `{"version":-1}`, k, 400, "", "version"},
		{"accept unknown key", "/v1/account/disclosure/accept", `{"version":1,"sure":true}`, k, 400, "UNKNOWN_FIELD", "sure"},
		{"operator id upper case", "/v1/admin/operators", `{"id":"Bad","role":"operations"}`, admin, 400, "INVALID_FIELD", "id"},
		{"operator id too long", "/v1/admin/operators", `{"id":"` + strings.Repeat("a", 65) + `","role":"operations"}`, admin, 400, "INVALID_FIELD", "id"},
		{"operator role unknown", "/v1/admin/operators", `{"id":"x1","role":"god"}`, admin, 400, "INVALID_FIELD", "role"},
		{"disable with a body", "/v1/admin/operators/op-risk/disable", `{"now":true}`, admin, 400, "UNKNOWN_FIELD", "now"},
		{"disable unknown operator", "/v1/admin/operators/nobody/disable", ``, admin, 404, "NOT_FOUND", "id"},
	}
	before := ev.stateHash()
	for _, c := range cases {
		r := ev.do("POST", c.path, c.body, c.key)
		if r.status != c.status || (c.code != "" && r.str("code") != c.code) || (c.field != "" && r.str("field") != c.field) || r.str("message") == "" {
			t.Errorf("%s: %d %s", c.name, r.status, r.body)
		}
	}
	if ev.stateHash() != before {
		t.Fatal("bad input changed the engine state")
	}
}

// A retail client is told plainly why it cannot open a perpetual position,
// on the account and on the order.
func TestRetailToldWhy(t *testing.T) {
	ev := newEnv(t, nil)
	ev.setMark(btc, "50000")
	id, k := ev.newClient("bob", "10000")
	ev.must(ev.do("POST", "/v1/admin/clients/"+id+"/classification", `{"class":"retail","reference":"no PI evidence"}`, ev.ops[RoleCompliance]), 200)
	r := ev.must(ev.do("POST", "/v1/orders", order(btc, "buy", "50000", "0.01", ""), k), 403)
	if r.str("code") != "not_professional_investor" || !strings.Contains(r.str("message"), "professional investors only") {
		t.Fatalf("order: %s", r.body)
	}
	acct := ev.must(ev.do("GET", "/v1/account", "", k), 200)
	var v struct {
		Onboarding onboardingJSON `json:"onboarding"`
	}
	_ = json.Unmarshal(acct.body, &v)
	m := v.Onboarding.Missing
	if v.Onboarding.Classification.Status != "retail" || len(m) != 3 || m[0].Code != "not_professional_investor" ||
		!strings.Contains(m[0].Message, "HK$8000000.00") || m[1].Code != "no_derivatives_knowledge" || m[2].Code != "risk_disclosure_not_accepted" {
		t.Fatalf("account: %s", acct.body)
	}
	// The operator sees the same block.
	adm := ev.must(ev.do("GET", "/v1/admin/clients/"+id, "", ev.ops[RoleAuditor]), 200)
	if !strings.Contains(string(adm.body), `"status":"retail"`) {
		t.Fatalf("admin view: %s", adm.body)
	}
}
