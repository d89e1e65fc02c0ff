package binance

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sampan-hk/sampan/core/engine"
	"github.com/sampan-hk/sampan/core/fixed"
	"github.com/sampan-hk/sampan/exchange"
	"github.com/sampan-hk/sampan/gateway"
	"github.com/sampan-hk/sampan/gateway/h1"
)

// env is the handler stack the binary mounts: the native gateway server on
// "/" and the Binance adapter on its Patterns, over one exchange (MemLog).
type env struct {
	t    testing.TB
	x    *exchange.Exchange
	keys *gateway.MemKeys
	srv  *gateway.Server
	bn   *Handler
	url  string       // the server's base URL
	http *http.Client // keep-alive client for it
	lane *h1.Server
	n    *atomic.Uint64
	ts   *atomic.Int64 // keeps signed timestamps unique
}

func discard() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func newEnv(t testing.TB) *env {
	t.Helper()
	m, err := exchange.NewMachine(engine.WithFinancing(engine.DefaultConfig())) // as sampan serve runs: spot markets present, not listed here
	if err != nil {
		t.Fatal(err)
	}
	x := exchange.New(m, exchange.NewMemLog(m))
	ev := &env{t: t, x: x, keys: gateway.NewMemKeys(), n: new(atomic.Uint64), ts: new(atomic.Int64)}
	scfg := gateway.DefaultServerConfig(ev.keys)
	scfg.KeyRate, scfg.KeyBurst, scfg.IPRate, scfg.IPBurst = 1e6, 1e6, 1e6, 1e6
	scfg.Logger = discard()
	ev.srv = gateway.NewServer(x, scfg)
	cfg := DefaultConfig()
	cfg.KeyRate, cfg.KeyBurst, cfg.IPRate, cfg.IPBurst = 1e6, 1e6, 1e6, 1e6
	cfg.Logger = discard()
	ev.bn = NewHandler(x, ev.keys, ev.srv.MarketData(), cfg)
	root := http.NewServeMux()
	root.Handle("/", ev.srv)
	for _, p := range Patterns {
		root.Handle(p, ev.bn)
	}
	// Served as sampan serve serves it: the lean HTTP/1.1 lane for the REST
	// APIs in front of net/http for the rest (WebSockets among them).
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	lane := &h1.Server{Handler: root, Fallback: &http.Server{Handler: root}, Log: discard(), Lane: gateway.OnLane}
	go lane.Serve(ln)
	ev.lane = lane
	ev.url, ev.http = "http://"+ln.Addr().String(), &http.Client{Transport: &http.Transport{}}
	t.Cleanup(func() {
		ev.bn.Close()
		ev.http.CloseIdleConnections()
		lane.Close()
		ev.srv.Close()
	})
	return ev
}

// with returns a view of the environment reporting to t.
func (ev *env) with(t testing.TB) *env {
	c := *ev
	c.t = t
	return &c
}

func (ev *env) submit(c *engine.Command) engine.Result {
	ev.t.Helper()
	res, err := ev.x.Submit(context.Background(), c)
	if err != nil {
		ev.t.Fatal(err)
	}
	if res.Code != engine.OK {
		ev.t.Fatalf("%s: %s", c.Kind, res.Code)
	}
	return res
}

// client creates, funds (whole dollars) and, when pi, classifies an
// account as an individual professional investor with derivatives
// knowledge; it returns the account's API key.
func (ev *env) client(name string, usd int64, pi bool) *gateway.Key {
	ev.t.Helper()
	k := func() uint64 { return ev.n.Add(1) }
	res := ev.submit(&engine.Command{Kind: engine.CmdCreateClient, Key: k(), Ref: name})
	id := res.Client
	ev.submit(&engine.Command{Kind: engine.CmdDeposit, Client: id, Key: k(), Amount: fixed.Amount(usd * 1_000_000)})
	if pi {
		ev.submit(&engine.Command{Kind: engine.CmdSetClassification, Client: id, Key: k(), Class: engine.IndividualPI,
			Expiry: time.Now().Add(30 * 24 * time.Hour).UnixNano()})
		ev.submit(&engine.Command{Kind: engine.CmdSetKnowledge, Client: id, Key: k(), Flag: true})
	}
	key := &gateway.Key{ID: "key-" + name, Secret: []byte("secret-" + name), Account: uint64(id),
		Perms: gateway.PermRead | gateway.PermTrade}
	ev.keys.Put(key)
	return key
}

// setMark sets a market's mark (price in dollars, BTC tick 0.1).
func (ev *env) setMark(m engine.MarketID, price string) {
	ev.t.Helper()
	var sp fixed.Spec
	ev.x.View(func(e *engine.Engine) { sp = e.Markets()[m].Spec })
	p, err := sp.ParsePrice(price)
	if err != nil {
		ev.t.Fatal(err)
	}
	ev.submit(&engine.Command{Kind: engine.CmdSetMark, Market: m, Price: p})
}

type resp struct {
	status int
	body   []byte
	obj    map[string]any
	arr    []any
}

func (r *resp) code() int {
	if v, ok := r.obj["code"].(float64); ok {
		return int(v)
	}
	return 0
}

func (r *resp) str(k string) string {
	switch v := r.obj[k].(type) {
	case string:
		return v
	case float64:
		return strconv.FormatFloat(v, 'f', -1, 64)
	case bool:
		return strconv.FormatBool(v)
	}
	return ""
}

// raw sends a request as given.
func (ev *env) raw(method, target, body string, header map[string]string) *resp {
	ev.t.Helper()
	req, err := http.NewRequest(method, ev.url+target, strings.NewReader(body))
	if err != nil {
		ev.t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	hr, err := ev.http.Do(req)
	if err != nil {
		ev.t.Fatal(err)
	}
	defer hr.Body.Close()
	b, _ := io.ReadAll(hr.Body)
	r := &resp{status: hr.StatusCode, body: b}
	if len(b) > 0 && b[0] == '[' {
		_ = json.Unmarshal(b, &r.arr)
	} else if err := json.Unmarshal(b, &r.obj); err != nil {
		ev.t.Errorf("%s %s: non-JSON body %q", method, target, b)
	}
	if r.status >= 500 && r.status != 503 {
		ev.t.Errorf("%s %s: %d %s", method, target, r.status, b)
	}
	return r
}

// stamp is a fresh, strictly increasing millisecond timestamp.
func (ev *env) stamp() int64 {
	for {
		old, now := ev.ts.Load(), time.Now().UnixMilli()
		if now <= old {
			now = old + 1
		}
		if ev.ts.CompareAndSwap(old, now) {
			return now
		}
	}
}

// signed sends a SIGNED request: params (already encoded, in order) go in
// the query for GET/DELETE and in the body otherwise, as ccxt does.
func (ev *env) signed(method, path, params string, k *gateway.Key) *resp {
	ev.t.Helper()
	q := params
	if q != "" {
		q += "&"
	}
	q += "timestamp=" + strconv.FormatInt(ev.stamp(), 10)
	q += "&signature=" + Sign(k.Secret, q)
	h := map[string]string{HeaderAPIKey: k.ID}
	if method == "GET" || method == "DELETE" {
		return ev.raw(method, path+"?"+q, "", h)
	}
	return ev.raw(method, path, q, h)
}

func (ev *env) must(r *resp, status int) *resp {
	ev.t.Helper()
	if r.status != status {
		ev.t.Fatalf("status %d, want %d: %s", r.status, status, r.body)
	}
	return r
}

func enc(kv ...string) string {
	var b strings.Builder
	for i := 0; i+1 < len(kv); i += 2 {
		if b.Len() > 0 {
			b.WriteByte('&')
		}
		b.WriteString(url.QueryEscape(kv[i]) + "=" + url.QueryEscape(kv[i+1]))
	}
	return b.String()
}
