package gateway

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/sampan-hk/sampan/core/audit"
	"github.com/sampan-hk/sampan/core/engine"
	"github.com/sampan-hk/sampan/core/fixed"
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

// The trail's records are exactly core/audit's: a random event stream fed
// in random batches (and one by one), across payload slabs and window
// trims, with repeats skipped, gives the records audit.Chain.Append gives
// for "engine.<event>" and the event's encoding; a gap stops the trail.
func TestAuditTrailEqualsChain(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	var kinds []engine.EventKind
	for k := 1; k < 256; k++ {
		if _, err := engine.AppendEvent(nil, &engine.Event{Kind: engine.EventKind(k)}); err == nil {
			kinds = append(kinds, engine.EventKind(k))
		}
	}
	if len(kinds) < 5 {
		t.Fatalf("only %d event kinds encode without details", len(kinds))
	}
	const n, keep = 20000, 300
	evs := make([]engine.Event, n)
	var ref audit.Chain
	want := make([]audit.Record, n)
	for i := range evs {
		evs[i] = engine.Event{Seq: uint64(i + 1), Time: int64(i) * 1000, Kind: kinds[rng.IntN(len(kinds))],
			Client: engine.ClientID(rng.IntN(1 << 20)), Price: fixed.Price(rng.Int64()), Qty: fixed.Qty(rng.IntN(1 << 30))}
		payload, err := engine.AppendEvent(nil, &evs[i])
		if err != nil {
			t.Fatal(err)
		}
		want[i] = ref.Append(evs[i].Time, "engine."+evs[i].Kind.String(), payload)
	}
	trail := NewAuditTrail(keep)
	for i := 0; i < n; {
		j := min(n, i+rng.IntN(40)+1)
		from := max(0, i-rng.IntN(3)) // repeats are skipped
		var err error
		if rng.IntN(4) == 0 {
			for k := from; k < j && err == nil; k++ {
				err = trail.Append(&evs[k])
			}
		} else {
			err = trail.AppendBatch(evs[from:j])
		}
		if err != nil {
			t.Fatal(err)
		}
		i = j
		if rng.IntN(50) == 0 || i == n {
			recs, err := trail.Window()
			if err != nil || len(recs) == 0 || recs[len(recs)-1].Seq != uint64(i) {
				t.Fatalf("after %d events: window ends %v, err %v", i, recs[len(recs)-1].Seq, err)
			}
			for _, r := range recs {
				w := want[r.Seq-1]
				if r.Seq != w.Seq || r.Time != w.Time || r.Kind != w.Kind || !bytes.Equal(r.Payload, w.Payload) || r.Prev != w.Prev || r.Hash != w.Hash {
					t.Fatalf("record %d: %+v, want %+v", r.Seq, r, w)
				}
			}
		}
	}
	if seq, h := trail.Head(); seq != n || h != want[n-1].Hash {
		t.Fatalf("head %d %x, want %d %x", seq, h, n, want[n-1].Hash)
	}
	if err := trail.AppendBatch([]engine.Event{{Seq: n + 2, Kind: kinds[0]}}); err == nil {
		t.Fatal("a gap was chained")
	}
	if seq, _ := trail.Head(); seq != n {
		t.Fatalf("head moved to %d on a gap", seq)
	}
}

// BenchmarkAuditTrail is the live trail's cost per event.
func BenchmarkAuditTrail(b *testing.B) {
	evs := make([]engine.Event, 4096)
	for i := range evs {
		evs[i] = engine.Event{Time: int64(i), Kind: engine.EvMarkSet, Market: 1, Price: fixed.Price(5_000_000 + i)}
	}
	trail := NewAuditTrail(DefaultAuditKeep)
	seq := uint64(0)
	b.ReportAllocs()
	for b.Loop() {
		batch := evs[:8]
		for i := range batch {
			seq++
			batch[i].Seq = seq
		}
		if err := trail.AppendBatch(batch); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(seq), "ns/event")
}
