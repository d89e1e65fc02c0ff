package gateway

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sampan-hk/sampan/core/engine"
	"github.com/sampan-hk/sampan/core/governance"
	"github.com/sampan-hk/sampan/exchange"
	"github.com/sampan-hk/sampan/marketdata"
)

// env is one exchange (MemLog) behind a Server on a loopback httptest
// server, with an operator key per role.
type env struct {
	t     testing.TB
	x     *exchange.Exchange
	log   *exchange.MemLog // tests may set log.Clock (engine time)
	keys  *MemKeys
	srv   *Server
	hs    *httptest.Server
	ops   map[Role]*Key
	risk2 *Key          // a second risk officer
	ts    *atomic.Int64 // keeps signed timestamps unique so no request looks like a replay
}

// newEnv runs the engine as `sampan serve` does: perpetuals plus margin
// financing with its spot markets (so every endpoint is exercised with spot
// markets present).
func newEnv(t testing.TB, tweak func(*ServerConfig)) *env {
	t.Helper()
	return newEnvWith(t, engine.WithFinancing(engine.DefaultConfig()), tweak)
}

// newPerpEnv is a perpetual-only engine (financing disabled).
func newPerpEnv(t testing.TB, tweak func(*ServerConfig)) *env {
	t.Helper()
	return newEnvWith(t, engine.DefaultConfig(), tweak)
}

func newEnvWith(t testing.TB, ecfg engine.Config, tweak func(*ServerConfig)) *env {
	t.Helper()
	// Every operator key is also a governance operator of the engine (same
	// id and role), plus a second risk officer (ev.risk2) to check a first.
	keys := []*Key{}
	for _, r := range []Role{RoleAdmin, RoleRisk, RoleCompliance, RoleOperations, RoleAuditor} {
		keys = append(keys, &Key{ID: "op-" + string(r), Secret: []byte("secret-" + string(r)), Role: r, Operator: "op-" + string(r)})
	}
	keys = append(keys, &Key{ID: "op-risk-2", Secret: []byte("secret-risk-2"), Role: RoleRisk, Operator: "op-risk-2"})
	for _, k := range keys {
		ecfg.Governance.Operators = append(ecfg.Governance.Operators, governance.Operator{ID: k.Operator, Role: govRole(k.Role), Active: true})
	}
	m, err := exchange.NewMachine(ecfg)
	if err != nil {
		t.Fatal(err)
	}
	log := exchange.NewMemLog(m)
	x := exchange.New(m, log)
	ev := &env{t: t, x: x, log: log, keys: NewMemKeys(), ops: map[Role]*Key{}, ts: new(atomic.Int64)}
	for _, k := range keys {
		ev.keys.Put(k)
		if ev.ops[k.Role] == nil {
			ev.ops[k.Role] = k
		}
	}
	ev.risk2 = keys[len(keys)-1]
	cfg := DefaultServerConfig(ev.keys)
	cfg.KeyRate, cfg.KeyBurst, cfg.IPRate, cfg.IPBurst = 1e6, 1e6, 1e6, 1e6
	cfg.Logger = discardLogger()
	if tweak != nil {
		tweak(&cfg)
	}
	ev.srv = NewServer(x, cfg)
	ev.hs = httptest.NewServer(ev.srv)
	t.Cleanup(func() {
		ev.hs.Close()
		ev.srv.Close()
	})
	return ev
}

type resp struct {
	status int
	header http.Header
	body   []byte
	json   map[string]any
}

func (r *resp) str(path ...string) string {
	var v any = r.json
	for _, p := range path {
		m, ok := v.(map[string]any)
		if !ok {
			return ""
		}
		v = m[p]
	}
	switch x := v.(type) {
	case string:
		return x
	case nil:
		return ""
	case bool:
		return strconv.FormatBool(x)
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	}
	b, _ := json.Marshal(v)
	return string(b)
}

// with returns a view of the environment that reports to t (fuzz targets
// must not use the outer F).
func (ev *env) with(t testing.TB) *env {
	c := *ev
	c.t = t
	return &c
}

// do sends a request, signed with k when k is not nil.
func (ev *env) do(method, target, body string, k *Key) *resp {
	ev.t.Helper()
	req, err := http.NewRequest(method, ev.hs.URL+target, strings.NewReader(body))
	if err != nil {
		ev.t.Fatal(err)
	}
	if k != nil {
		ms := ev.stamp()
		req.Header.Set(HeaderKey, k.ID)
		req.Header.Set(HeaderTimestamp, strconv.FormatInt(ms, 10))
		req.Header.Set(HeaderSignature, Sign(k.Secret, ms, method, req.URL.RequestURI(), []byte(body)))
	}
	return ev.send(req)
}

func (ev *env) send(req *http.Request) *resp {
	ev.t.Helper()
	hr, err := ev.hs.Client().Do(req)
	if err != nil {
		ev.t.Fatal(err)
	}
	defer hr.Body.Close()
	b, _ := io.ReadAll(hr.Body)
	r := &resp{status: hr.StatusCode, header: hr.Header, body: b}
	_ = json.Unmarshal(b, &r.json)
	if r.status >= 500 && r.status != http.StatusServiceUnavailable {
		ev.t.Errorf("%s %s: %d %s", req.Method, req.URL, r.status, b)
	}
	return r
}

// stamp returns a fresh millisecond timestamp, strictly increasing (so two
// identical requests never share a signature), and never more than 100 ms
// ahead of the clock (so it stays inside the receive window).
func (ev *env) stamp() int64 {
	for {
		old := ev.ts.Load()
		now := time.Now().UnixMilli()
		if old-now > 100 {
			time.Sleep(time.Millisecond)
			continue
		}
		if now <= old {
			now = old + 1
		}
		if ev.ts.CompareAndSwap(old, now) {
			return now
		}
	}
}

func (ev *env) must(r *resp, status int) *resp {
	ev.t.Helper()
	if r.status != status {
		ev.t.Fatalf("status %d, want %d: %s", r.status, status, r.body)
	}
	return r
}

// client onboards an account through the operator API: created, funded
// with usd, given a key and, when pi, onboarded as an individual PI with
// evidence, knowledge and the current risk disclosure accepted.
func (ev *env) client(name, usd string, pi bool) *Key {
	ev.t.Helper()
	ops := ev.ops[RoleOperations]
	r := ev.must(ev.do("POST", "/v1/admin/clients", `{"ref":"`+name+`","idempotency_key":"c-`+name+`"}`, ops), 200)
	id := r.str("client_id")
	ev.must(ev.do("POST", "/v1/admin/deposits", `{"client_id":"`+id+`","amount":"`+usd+`","idempotency_key":"d-`+name+`"}`, ops), 200)
	acct, _ := strconv.ParseUint(id, 10, 32)
	k := &Key{ID: "key-" + name, Secret: []byte("s-" + name), Account: acct, Perms: PermRead | PermTrade | PermWithdraw}
	ev.keys.Put(k)
	if pi {
		ev.onboardPI(id, k) // evidence, knowledge, disclosure accepted (onboarding_test.go)
	}
	return k
}

func (ev *env) setMark(sym, price string) {
	ev.t.Helper()
	ev.must(ev.do("POST", "/v1/admin/marks", `{"symbol":"`+sym+`","price":"`+price+`"}`, ev.ops[RoleRisk]), 200)
}

func order(sym, side, price, qty, cid string) string {
	var b bytes.Buffer
	b.WriteString(`{"symbol":"` + sym + `","side":"` + side + `","type":"limit","qty":"` + qty + `"`)
	if price != "" {
		b.WriteString(`,"price":"` + price + `"`)
	}
	if cid != "" {
		b.WriteString(`,"client_order_id":"` + cid + `"`)
	}
	b.WriteString("}")
	return b.String()
}

// waitStore waits until the read models reflect the engine.
func (ev *env) waitStore() {
	ev.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	var seq uint64
	ev.x.View(func(e *engine.Engine) { seq = e.Seq() })
	if !ev.srv.MarketData().WaitSeq(ctx, seq) {
		ev.t.Fatal("market data did not catch up")
	}
}

var _ = marketdata.ChanDepth
