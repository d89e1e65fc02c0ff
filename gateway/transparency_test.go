package gateway

import (
	"encoding/hex"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/sampan-hk/sampan/core/audit"
	"github.com/sampan-hk/sampan/core/engine"
)

// Mark history over the API: the samples the read model keeps, oldest
// first, and a precise 4xx for every bad parameter.
func TestMarkHistoryAPI(t *testing.T) {
	ev := newEnv(t, nil)
	ev.setMark("BTC-USD-PERP", "50000")
	ev.setMark("BTC-USD-PERP", "50100") // same minute: replaces the value
	ev.waitStore()
	r := ev.must(ev.do("GET", "/v1/markets/BTC-USD-PERP/mark/history?interval=1m&limit=10", "", nil), 200)
	var got markHistoryJSON
	if err := json.Unmarshal(r.body, &got); err != nil {
		t.Fatal(err)
	}
	if got.Symbol != "BTC-USD-PERP" || got.Interval != "1m" || len(got.Samples) == 0 || got.Samples[len(got.Samples)-1].Mark != "50100" {
		t.Fatalf("history %s", r.body)
	}
	if s := got.Samples[len(got.Samples)-1]; s.Time%60_000 != 0 || s.Updated < s.Time || s.Updated >= s.Time+60_000 || s.Index != "" {
		t.Fatalf("sample %+v: want a minute bucket, the update inside it and no index in manual mode", s)
	}
	// The default interval is 1m.
	ev.must(ev.do("GET", "/v1/markets/BTC-USD-PERP/mark/history", "", nil), 200)
	for _, c := range []struct{ target, code string }{
		{"/v1/markets/BTC-USD-PERP/mark/history?interval=2m", "INVALID_FIELD"},
		{"/v1/markets/BTC-USD-PERP/mark/history?interval=1m&interval=5m", "DUPLICATE_FIELD"},
		{"/v1/markets/BTC-USD-PERP/mark/history?limit=0", "INVALID_FIELD"},
		{"/v1/markets/BTC-USD-PERP/mark/history?limit=1001", "INVALID_FIELD"},
		{"/v1/markets/BTC-USD-PERP/mark/history?from=1", "UNKNOWN_FIELD"},
		{"/v1/markets/DOGE-USD-PERP/mark/history", "unknown_market"},
	} {
		r := ev.do("GET", c.target, "", nil)
		if r.status/100 != 4 || r.str("code") != c.code || r.str("message") == "" {
			t.Errorf("%s: %d %s, want a 4xx %s", c.target, r.status, r.body, c.code)
		}
	}
}

// Open interest, worked by hand: 1.2 BTC bought from a resting seller at
// 50,000 with the mark at 50,000 is 1.2 open and 60,000 USD notional.
func TestOpenInterestAPI(t *testing.T) {
	ev := newEnv(t, nil)
	ev.setMark("BTC-USD-PERP", "50000")
	a, b := ev.client("a", "100000", true), ev.client("b", "100000", true)
	r := ev.must(ev.do("GET", "/v1/markets/BTC-USD-PERP/open-interest", "", nil), 200)
	if r.str("open_interest") != "0" {
		t.Fatalf("before any trade: %s", r.body)
	}
	ev.must(ev.do("POST", "/v1/orders", order("BTC-USD-PERP", "sell", "50000", "2", ""), a), 200)
	ev.must(ev.do("POST", "/v1/orders", order("BTC-USD-PERP", "buy", "50000", "1.2", ""), b), 200)
	r = ev.must(ev.do("GET", "/v1/markets/BTC-USD-PERP/open-interest", "", nil), 200)
	if r.str("open_interest") != "1.2" || !strings.HasPrefix(r.str("open_interest_notional"), "60000") || r.str("mark") != "50000" {
		t.Fatalf("open interest %s", r.body)
	}
	if r := ev.do("GET", "/v1/markets/BTC-USD-PERP/open-interest?x=1", "", nil); r.status != 400 {
		t.Fatalf("unknown parameter: %d", r.status)
	}
}

func auditEnv(t *testing.T, keep int) (*env, *AuditTrail) {
	trail := NewAuditTrail(keep)
	ev := newEnv(t, func(c *ServerConfig) { c.Audit = trail })
	go trail.Follow(ev.x.Subscribe(1024))
	ev.setMark("BTC-USD-PERP", "50000")
	ev.client("a", "1000", true) // four events each
	ev.client("c", "1000", true)
	var seq uint64
	ev.x.View(func(e *engine.Engine) { seq = e.Seq() })
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		if h, _ := trail.Head(); h == seq {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the trail did not follow the engine")
		}
	}
	return ev, trail
}

// The audit endpoint: every operator role reads it, a client key does
// not; the records are the kept window's newest, oldest first, each
// linked to the one before; the chain check is the offline verifier's.
func TestAuditAPI(t *testing.T) {
	ev, trail := auditEnv(t, 8)
	head, headHash := trail.Head()
	for _, role := range []Role{RoleAuditor, RoleOperations, RoleCompliance, RoleRisk, RoleAdmin} {
		ev.must(ev.do("GET", "/v1/admin/audit?limit=3", "", ev.ops[role]), 200)
	}
	var got auditJSON
	if err := json.Unmarshal(ev.must(ev.do("GET", "/v1/admin/audit?limit=3", "", ev.ops[RoleAuditor]), 200).body, &got); err != nil {
		t.Fatal(err)
	}
	c := got.Chain
	if !c.OK || c.Checked != 8 || c.From != head-7 || c.HeadSeq != head || c.Head != hex.EncodeToString(headHash[:]) || c.Error != "" {
		t.Fatalf("chain %+v, want 8 records checked up to %d", c, head)
	}
	if len(got.Records) != 3 || got.Records[2].Seq != head || got.Records[2].Hash != c.Head ||
		got.Records[1].Hash != got.Records[2].Prev || got.Records[0].Hash != got.Records[1].Prev || !strings.HasPrefix(got.Records[0].Kind, "engine.") {
		t.Fatalf("records %+v", got.Records)
	}
	k := ev.client("b", "1000", false)
	if r := ev.do("GET", "/v1/admin/audit", "", k); r.status != 403 {
		t.Fatalf("client key: %d %s", r.status, r.body)
	}
	for _, q := range []string{"limit=0", "limit=1001", "limit=x", "from=1"} {
		if r := ev.do("GET", "/v1/admin/audit?"+q, "", ev.ops[RoleAuditor]); r.status != 400 {
			t.Errorf("%s: %d %s", q, r.status, r.body)
		}
	}
}

// The chain check is real: a changed payload, time or hash in the kept
// records fails it with the verifier's reason, and so does a gap in the
// events the trail is fed.
func TestAuditChainCheckFails(t *testing.T) {
	tamper := []struct {
		name string
		edit func(r *audit.Record)
	}{
		{"payload", func(r *audit.Record) { r.Payload = append([]byte{}, r.Payload...); r.Payload[0] ^= 1 }},
		{"time", func(r *audit.Record) { r.Time++ }},
		{"hash", func(r *audit.Record) { r.Hash[5] ^= 0x80 }},
	}
	for _, tc := range tamper {
		t.Run(tc.name, func(t *testing.T) {
			ev, trail := auditEnv(t, 8)
			trail.mu.Lock()
			tc.edit(&trail.recs[len(trail.recs)-4])
			trail.mu.Unlock()
			r := ev.must(ev.do("GET", "/v1/admin/audit", "", ev.ops[RoleAuditor]), 200)
			if r.str("chain", "ok") != "false" || r.str("chain", "error") == "" {
				t.Fatalf("tampered %s passed: %s", tc.name, r.str("chain"))
			}
		})
	}
	t.Run("gap", func(t *testing.T) {
		ev, trail := auditEnv(t, 8)
		head, _ := trail.Head()
		if err := trail.Append(&engine.Event{Seq: head + 2, Kind: engine.EvMarkSet}); err == nil {
			t.Fatal("a gap was chained")
		}
		r := ev.must(ev.do("GET", "/v1/admin/audit", "", ev.ops[RoleAuditor]), 200)
		if r.str("chain", "ok") != "false" || !strings.Contains(r.str("chain", "error"), "missing") {
			t.Fatalf("gap: %s", r.str("chain"))
		}
	})
}

// A server without a trail says so with a 404, not an empty success.
func TestAuditAPIWithoutTrail(t *testing.T) {
	ev := newEnv(t, nil)
	r := ev.do("GET", "/v1/admin/audit", "", ev.ops[RoleAuditor])
	if r.status != 404 || r.str("code") != "NOT_FOUND" {
		t.Fatalf("%d %s", r.status, r.body)
	}
}
