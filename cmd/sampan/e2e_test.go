package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/sampan-hk/sampan/client"
)

// Issue 7's end-to-end checks against the real binary, `sampan serve` in a
// process of its own on loopback (raft log on disk, the HTTP lane, the
// read store): place, cancel, trade and positions over REST; the WebSocket
// depth stream agrees with the REST snapshot at its sequence number; auth
// failures; bad input of every class answered 4xx in JSON, never 5xx;
// idempotency; the per-key rate limit; and a restart that resumes all of
// it.
func TestServeProcessEndToEnd(t *testing.T) {
	bin, dir, ops := binaryNode(t)
	args := []string{"serve", "--data", dir, "--http", "127.0.0.1:0", "--raft", "127.0.0.1:0"}
	const limits = "key_rate: 10\nkey_burst: 60\n" // a key's burst covers this test's flow, not a flood
	p := startServeLimits(t, bin, args, limits)
	ctx := context.Background()
	maker := setupTraderRef(t, p.url, ops, "maker")
	taker := setupTraderRef(t, p.url, ops, "taker")
	depth := watchDepth(t, p.url)

	// Place, cancel, trade.
	ask := placeOK(t, maker, client.Order{Symbol: "BTC-USD-PERP", Side: "sell", Type: "limit", Price: "65100", Qty: "0.5", ClientOrderID: "m-ask"}, "open")
	bid := placeOK(t, maker, client.Order{Symbol: "BTC-USD-PERP", Side: "buy", Type: "limit", Price: "64900", Qty: "0.5", ClientOrderID: "m-bid"}, "open")
	var cancelled map[string]any
	if err := maker.Do(ctx, "DELETE", "/v1/orders/"+bid["order_id"].(string)+"?symbol=BTC-USD-PERP", nil, &cancelled); err != nil || cancelled["status"] != "cancelled" {
		t.Fatalf("cancel: %v %v", cancelled, err)
	}
	buy := client.Order{Symbol: "BTC-USD-PERP", Side: "buy", Type: "limit", TimeInForce: "IOC", Price: "65100", Qty: "0.2", ClientOrderID: "t-1"}
	fill := placeOK(t, taker, buy, "filled")
	if positionSize(t, taker) != "0.2" || positionSize(t, maker) != "-0.2" {
		t.Fatalf("positions after the trade: taker %s, maker %s", positionSize(t, taker), positionSize(t, maker))
	}

	// Idempotency: the same client order id and payload is the same
	// order; another payload under it is a conflict.
	again := placeOK(t, taker, buy, "filled")
	if again["order_id"] != fill["order_id"] || again["replayed"] != true {
		t.Fatalf("a retried order: %v, first %v", again, fill)
	}
	other := buy
	other.Qty = "0.3"
	if _, err := taker.Place(ctx, other); apiStatus(err) != http.StatusConflict {
		t.Fatalf("another payload under the same client order id: %v", err)
	}

	// The WebSocket depth mirror equals the REST depth at its seq.
	depth.matchREST(t, p.url)

	// Auth failures.
	stranger := client.New(p.url, "no-such-key", "secret")
	forger := client.New(p.url, taker.Key, "not-the-secret")
	for name, c := range map[string]*client.Client{"unknown key": stranger, "bad signature": forger} {
		var out any
		if err := c.Do(ctx, "GET", "/v1/account", nil, &out); apiStatus(err) != http.StatusUnauthorized {
			t.Errorf("%s: %v", name, err)
		}
	}

	// Bad input of every class: 4xx JSON with a code, never a 5xx, and
	// nothing placed.
	bad := []string{
		``, `{`, `[]`, `{"symbol":"BTC-USD-PERP","symbol":"BTC-USD-PERP","side":"buy","type":"limit","price":"1","qty":"1"}`,
		`{"Symbol":"BTC-USD-PERP","side":"buy","type":"limit","price":"65000","qty":"0.1"}`,
		`{"symbol":"BTC-USD-PERP","side":"buy","type":"limit","price":"65000","qty":"0.1","colour":"red"}`,
		`{"symbol":"BTC-USD-PERP","side":"buy","type":"limit","price":65000,"qty":"0.1"}`,
		`{"symbol":"BTC-USD-PERP","side":"buy","type":"limit","price":"65000.05","qty":"0.1"}`,
		`{"symbol":"BTC-USD-PERP","side":"buy","type":"limit","price":"65000","qty":"0.0001"}`,
		`{"symbol":"BTC-USD-PERP","side":"buy","type":"limit","price":"0","qty":"0.1"}`,
		`{"symbol":"BTC-USD-PERP","side":"buy","type":"limit","price":"-65000","qty":"0.1"}`,
		`{"symbol":"BTC-USD-PERP","side":"buy","type":"limit","price":"NaN","qty":"0.1"}`,
		`{"symbol":"BTC-USD-PERP","side":"buy","type":"limit","price":"6.5e4","qty":"0.1"}`,
		`{"symbol":"BTC-USD-PERP","side":"buy","type":"limit","price":"99999999999999999999999","qty":"0.1"}`,
		`{"symbol":"NOPE","side":"buy","type":"limit","price":"65000","qty":"0.1"}`,
		`{"symbol":"BTC-USD-PERP","side":"up","type":"limit","price":"65000","qty":"0.1"}`,
		`{"symbol":"BTC-USD-PERP","side":"buy","type":"limit","price":"65000","qty":"0.1"}` + strings.Repeat(" ", 70<<10),
	}
	for _, body := range bad {
		status, code, _ := signedRaw(t, taker, "POST", "/v1/orders", body)
		if status < 400 || status >= 500 || code == "" {
			t.Errorf("POST /v1/orders %.80q: %d %q, want a 4xx with a code", body, status, code)
		}
	}
	for _, raw := range []string{"GET /v1/markets HTTP/1.1\r\nHost: x\r\nBad Name: y\r\n\r\n", "POST /v1/orders HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\n"} {
		if resp := rawRequest(t, strings.TrimPrefix(p.url, "http://"), raw); resp == nil || resp.StatusCode != http.StatusBadRequest ||
			resp.Header.Get("Content-Type") != "application/json" {
			t.Errorf("%.40q: %+v", raw, resp)
		}
	}
	if open := openOrderIDs(t, taker); len(open) != 0 {
		t.Fatalf("bad input left orders: %v", open)
	}

	// The per-key limit answers 429 with Retry-After once the burst is spent.
	limited := rateLimited(t, setupTraderRef(t, p.url, ops, "flooder"))
	if !limited {
		t.Fatal("a flood past the key's burst was never limited")
	}

	// Restart: everything acknowledged is there, and a retry still finds
	// its first answer.
	p.stop(t)
	p = startServeLimits(t, bin, args, limits)
	maker, taker = at(maker, p.url), at(taker, p.url)
	if open := openOrderIDs(t, maker); len(open) != 1 || !open[ask["order_id"].(string)] {
		t.Fatalf("maker's open orders after a restart: %v, want the ask %v", open, ask["order_id"])
	}
	if positionSize(t, taker) != "0.2" || positionSize(t, maker) != "-0.2" {
		t.Fatalf("positions after a restart: taker %s, maker %s", positionSize(t, taker), positionSize(t, maker))
	}
	if again := placeOK(t, taker, buy, "filled"); again["order_id"] != fill["order_id"] || again["replayed"] != true {
		t.Fatalf("a retry after the restart: %v, first %v", again, fill)
	}
	watchDepth(t, p.url).matchREST(t, p.url)
}

func placeOK(t *testing.T, c *client.Client, o client.Order, status string) map[string]any {
	t.Helper()
	out, err := c.Place(context.Background(), o)
	if err != nil || out["status"] != status {
		t.Fatalf("place %+v: %v %v, want status %s", o, out, err, status)
	}
	return out
}

func apiStatus(err error) int {
	if e, ok := err.(*client.APIError); ok {
		return e.Status
	}
	return 0
}

// positionSize is the client's BTC-USD-PERP position ("0" if none).
func positionSize(t *testing.T, c *client.Client) string {
	t.Helper()
	var out struct {
		Positions []struct{ Symbol, Size string } `json:"positions"`
	}
	if err := c.Do(context.Background(), "GET", "/v1/positions", nil, &out); err != nil {
		t.Fatal(err)
	}
	for _, p := range out.Positions {
		if p.Symbol == "BTC-USD-PERP" {
			return p.Size
		}
	}
	return "0"
}

// signedRaw sends body exactly as given, signed with c's key, and returns
// the answer's status, error code and fields.
func signedRaw(t *testing.T, c *client.Client, method, path, body string) (int, string, http.Header) {
	t.Helper()
	req, err := http.NewRequest(method, c.Base+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	c.Sign(req, []byte(body))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var e struct{ Code string }
	b, _ := io.ReadAll(resp.Body)
	_ = json.Unmarshal(b, &e)
	return resp.StatusCode, e.Code, resp.Header
}

// rateLimited floods c's key with reads; true once a 429 with Retry-After
// and a RATE_LIMITED code came back.
func rateLimited(t *testing.T, c *client.Client) bool {
	t.Helper()
	for range 200 {
		status, code, fields := signedRaw(t, c, "GET", "/v1/account", "")
		if status == http.StatusTooManyRequests {
			if fields.Get("Retry-After") == "" || code != "RATE_LIMITED" {
				t.Fatalf("a 429 without Retry-After or its code: %v %q", fields, code)
			}
			return true
		}
		if status != http.StatusOK {
			t.Fatalf("GET /v1/account: %d %s", status, code)
		}
	}
	return false
}

// depthWatch mirrors the BTC-USD-PERP depth stream of one WebSocket.
type depthWatch struct {
	msgs chan map[string]any
	errs chan error
}

func watchDepth(t *testing.T, base string) *depthWatch {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	c, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(base, "http")+"/v1/ws", nil)
	if err != nil {
		t.Fatal(err)
	}
	c.SetReadLimit(1 << 24)
	t.Cleanup(func() { cancel(); c.CloseNow() })
	if err := c.Write(ctx, websocket.MessageText, []byte(`{"op":"subscribe","id":"s","channels":["depth:BTC-USD-PERP"]}`)); err != nil {
		t.Fatal(err)
	}
	w := &depthWatch{msgs: make(chan map[string]any, 1<<12), errs: make(chan error, 1)}
	go func() {
		for {
			_, b, err := c.Read(ctx)
			if err != nil {
				w.errs <- err
				return
			}
			var m map[string]any
			if json.Unmarshal(b, &m) == nil && m["channel"] == "depth" {
				w.msgs <- m
			}
		}
	}()
	return w
}

// matchREST applies the stream (snapshot, then updates without a gap)
// until it reaches the REST depth's seq, and compares the two books.
func (w *depthWatch) matchREST(t *testing.T, base string) {
	t.Helper()
	resp, err := http.Get(base + "/v1/markets/BTC-USD-PERP/depth?limit=1000")
	if err != nil {
		t.Fatal(err)
	}
	var rest struct {
		Seq        uint64
		Bids, Asks [][2]string
	}
	err = json.NewDecoder(resp.Body).Decode(&rest)
	resp.Body.Close()
	if err != nil {
		t.Fatal(err)
	}
	var seq uint64
	book := map[string]map[string]string{"bids": {}, "asks": {}}
	deadline := time.After(10 * time.Second)
	for seq < rest.Seq {
		select {
		case m := <-w.msgs:
			d := m["data"].(map[string]any)
			next := uint64(d["seq"].(float64))
			if m["type"] == "snapshot" {
				book = map[string]map[string]string{"bids": {}, "asks": {}}
			} else if prev := uint64(d["prev_seq"].(float64)); prev != seq {
				t.Fatalf("depth stream gap: at %d, update from %d", seq, prev)
			}
			seq = next
			for side, levels := range book {
				for _, l := range d[side].([]any) {
					pq := l.([]any)
					if pq[1] == "0" {
						delete(levels, pq[0].(string))
					} else {
						levels[pq[0].(string)] = pq[1].(string)
					}
				}
			}
		case err := <-w.errs:
			t.Fatal(err)
		case <-deadline:
			t.Fatalf("the depth stream stopped at seq %d; REST is at %d", seq, rest.Seq)
		}
	}
	if seq != rest.Seq {
		t.Fatalf("the depth stream is at seq %d past REST's %d with no flow", seq, rest.Seq)
	}
	for side, levels := range map[string][][2]string{"bids": rest.Bids, "asks": rest.Asks} {
		want := map[string]string{}
		for _, l := range levels {
			want[l[0]] = l[1]
		}
		if got := book[side]; !equalLevels(got, want) {
			t.Fatalf("%s at seq %d: stream %v, REST %v", side, seq, sorted(got), sorted(want))
		}
	}
}

func equalLevels(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

func sorted(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for k, v := range m {
		out = append(out, k+"="+v)
	}
	sort.Strings(out)
	return out
}
