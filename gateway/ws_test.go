package gateway

import (
	"context"
	"encoding/json"
	"errors"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/sampan-hk/sampan/core/book"
	"github.com/sampan-hk/sampan/core/engine"
	"github.com/sampan-hk/sampan/core/fixed"
	"github.com/sampan-hk/sampan/marketdata"
)

type wsClient struct {
	t    testing.TB
	c    *websocket.Conn
	ctx  context.Context
	stop context.CancelFunc
	// backlog holds stream messages read while waiting for a reply.
	backlog []map[string]any
}

func (ev *env) dialWS(readBuffer int) *wsClient {
	ev.t.Helper()
	ctx, stop := context.WithTimeout(context.Background(), 30*time.Second)
	opts := &websocket.DialOptions{}
	if readBuffer > 0 { // a small kernel buffer makes a non-reading client back up fast
		tr := &http.Transport{DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			c, err := (&net.Dialer{}).DialContext(ctx, network, addr)
			if err == nil {
				_ = c.(*net.TCPConn).SetReadBuffer(readBuffer)
			}
			return c, err
		}}
		opts.HTTPClient = &http.Client{Transport: tr}
	}
	c, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(ev.hs.URL, "http")+"/v1/ws", opts)
	if err != nil {
		ev.t.Fatal(err)
	}
	c.SetReadLimit(1 << 24)
	ev.t.Cleanup(func() { c.CloseNow(); stop() })
	return &wsClient{t: ev.t, c: c, ctx: ctx, stop: stop}
}

func (w *wsClient) send(v string) {
	w.t.Helper()
	if err := w.c.Write(w.ctx, websocket.MessageText, []byte(v)); err != nil {
		w.t.Fatal(err)
	}
}

func (w *wsClient) read() (map[string]any, error) {
	if len(w.backlog) > 0 {
		m := w.backlog[0]
		w.backlog = w.backlog[1:]
		return m, nil
	}
	return w.readConn()
}

func (w *wsClient) readConn() (map[string]any, error) {
	_, b, err := w.c.Read(w.ctx)
	if err != nil {
		return nil, err
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		w.t.Fatalf("bad frame %q", b)
	}
	return m, nil
}

// reply reads until the answer to request id.
func (w *wsClient) reply(id string) map[string]any {
	w.t.Helper()
	for {
		m, err := w.readConn()
		if err != nil {
			w.t.Fatal(err)
		}
		if m["id"] == id {
			return m
		}
		if m["channel"] != nil {
			w.backlog = append(w.backlog, m)
		}
	}
}

func loginMsg(k *Key, ms int64) string {
	sig := Sign(k.Secret, ms, wsLoginMethod, wsPath, nil)
	return `{"op":"login","id":"login","args":{"key":"` + k.ID + `","timestamp":"` + strconv.FormatInt(ms, 10) + `","signature":"` + sig + `"}}`
}

// mirror applies depth messages and checks the sequence has no gap.
type mirror struct {
	seq        uint64
	bids, asks map[string]string
}

func (m *mirror) apply(t testing.TB, msg map[string]any) {
	d := msg["data"].(map[string]any)
	seq := uint64(d["seq"].(float64))
	if msg["type"] == "snapshot" {
		m.bids, m.asks = map[string]string{}, map[string]string{}
	} else if prev := uint64(d["prev_seq"].(float64)); prev != m.seq || seq != m.seq+1 {
		t.Fatalf("depth gap: have %d, got prev %d seq %d", m.seq, prev, seq)
	}
	m.seq = seq
	for side, dst := range map[string]map[string]string{"bids": m.bids, "asks": m.asks} {
		for _, l := range d[side].([]any) {
			pq := l.([]any)
			if pq[1] == "0" {
				delete(dst, pq[0].(string))
			} else {
				dst[pq[0].(string)] = pq[1].(string)
			}
		}
	}
}

func levelsString(side map[string]string, desc bool) string {
	ps := make([]string, 0, len(side))
	for p := range side {
		ps = append(ps, p)
	}
	sort.Slice(ps, func(i, j int) bool {
		a, _ := strconv.ParseFloat(ps[i], 64)
		b, _ := strconv.ParseFloat(ps[j], 64)
		return (a > b) == desc
	})
	var b strings.Builder
	for _, p := range ps {
		b.WriteString(p + "=" + side[p] + ";")
	}
	return b.String()
}

func restLevels(v any) string {
	var b strings.Builder
	for _, l := range v.([]any) {
		pq := l.([]any)
		b.WriteString(pq[0].(string) + "=" + pq[1].(string) + ";")
	}
	return b.String()
}

// Under random order flow (rests, crosses, cancels, amends) a WebSocket
// depth mirror never sees a gap and, at the REST snapshot's sequence,
// equals the REST depth exactly.
func TestWSDepthMatchesRESTUnderRandomFlow(t *testing.T) {
	ev := newEnv(t, nil)
	ev.setMark(btc, "65000")
	traders := []*Key{ev.client("t1", "1000000", true), ev.client("t2", "1000000", true), ev.client("t3", "1000000", true)}
	w := ev.dialWS(0)
	w.send(`{"op":"subscribe","id":"s","channels":["depth:BTC-USD-PERP","trades:BTC-USD-PERP"]}`)
	var m mirror
	got := make(chan error, 1)
	msgs := make(chan map[string]any, 1<<16)
	go func() { // only reads; the test goroutine applies
		for {
			msg, err := w.read()
			if err != nil {
				got <- err
				return
			}
			if msg["channel"] == "depth" {
				msgs <- msg
			}
		}
	}()
	rng := rand.New(rand.NewPCG(7, 7))
	var ids []book.OrderID
	for i := 0; i < 400; i++ {
		k := traders[rng.IntN(len(traders))]
		c := engine.ClientID(k.Account)
		var cmd engine.Command
		switch op := rng.IntN(10); {
		case op < 7 || len(ids) == 0:
			side := book.Side(rng.IntN(2))
			px := fixed.Price(650_000 + rng.IntN(200) - 100)
			cmd = engine.Command{Kind: engine.CmdPlaceOrder, Client: c, Market: 0, Side: side, Price: px, Qty: fixed.Qty(1 + rng.IntN(50))}
		case op < 9:
			cmd = engine.Command{Kind: engine.CmdCancelOrder, Client: c, Market: 0, Order: ids[rng.IntN(len(ids))]}
		default:
			cmd = engine.Command{Kind: engine.CmdAmendOrder, Client: c, Market: 0, Order: ids[rng.IntN(len(ids))], Qty: fixed.Qty(1 + rng.IntN(20))}
		}
		res, err := ev.x.Submit(context.Background(), &cmd)
		if err != nil {
			t.Fatal(err)
		}
		if cmd.Kind == engine.CmdPlaceOrder && res.Code == engine.OK {
			ids = append(ids, res.Order)
		}
	}
	ev.waitStore()
	rest := ev.must(ev.do("GET", "/v1/markets/"+btc+"/depth?limit=1000", "", nil), 200)
	want := uint64(rest.json["seq"].(float64))
	deadline := time.After(10 * time.Second)
	for m.seq < want {
		select {
		case msg := <-msgs:
			m.apply(t, msg)
		case err := <-got:
			t.Fatal(err)
		case <-deadline:
			t.Fatalf("stream stuck at seq %d, REST at %d", m.seq, want)
		}
	}
	select {
	case msg := <-msgs:
		t.Fatalf("stream went past REST seq %d with no flow: %v", want, msg)
	case <-time.After(50 * time.Millisecond):
	}
	if g, r := levelsString(m.bids, true), restLevels(rest.json["bids"]); g != r {
		t.Fatalf("bids differ at seq %d:\nws   %s\nrest %s", want, g, r)
	}
	if g, r := levelsString(m.asks, false), restLevels(rest.json["asks"]); g != r {
		t.Fatalf("asks differ at seq %d:\nws   %s\nrest %s", want, g, r)
	}
}

// F10: a consumer that stops reading overflows its bounded buffer and is
// closed with 1008 and a reason; a reading consumer sees every update.
func TestWSSlowConsumerIsDisconnected(t *testing.T) {
	ev := newEnv(t, func(c *ServerConfig) { c.Market.ListenerBuffer = 16 })
	ev.hs.Close()
	ev.hs = httptest.NewUnstartedServer(ev.srv)
	ev.hs.Listener = smallWriteBuffer{ev.hs.Listener}
	ev.hs.Start()
	ev.setMark(btc, "65000")
	k := ev.client("mm", "1000000", true)
	slow, fast := ev.dialWS(4096), ev.dialWS(0)
	for _, w := range []*wsClient{slow, fast} {
		w.send(`{"op":"subscribe","id":"s","channels":["depth:BTC-USD-PERP"]}`)
	}
	slow.reply("s")
	var m mirror
	var base, changes uint64 // the snapshot's seq; each resting order or cancel is one update
	var ids []book.OrderID
	for m.bids == nil { // the snapshot, before any flow
		msg, err := fast.read()
		if err != nil {
			t.Fatal(err)
		}
		if msg["channel"] == "depth" {
			m.apply(t, msg)
			base = m.seq
		}
	}
	for i := 0; i < 3000; i++ {
		cmd := engine.Command{Kind: engine.CmdPlaceOrder, Client: engine.ClientID(k.Account), Market: 0, Side: book.Buy,
			Price: fixed.Price(640_000 + i%500), Qty: 1}
		if len(ids) >= 500 { // stay under the open-order limit
			cmd = engine.Command{Kind: engine.CmdCancelOrder, Client: cmd.Client, Market: 0, Order: ids[0]}
			ids = ids[1:]
		}
		res, err := ev.x.Submit(context.Background(), &cmd)
		if err != nil || res.Code != engine.OK {
			t.Fatal(err, res.Code)
		}
		if cmd.Kind == engine.CmdPlaceOrder {
			ids = append(ids, res.Order)
		}
		changes++
		// The fast reader keeps up: wait for this update before the next.
		for m.seq < base+changes {
			msg, err := fast.read()
			if err != nil {
				t.Fatalf("fast consumer lost at i=%d seq=%d base=%d changes=%d: %v", i, m.seq, base, changes, err)
			}
			if msg["channel"] == "depth" {
				m.apply(t, msg)
			}
		}
	}
	// The slow one now reads: buffered frames, then the close with reason.
	for {
		_, _, err := slow.c.Read(slow.ctx)
		if err == nil {
			continue
		}
		var ce websocket.CloseError
		if !errors.As(err, &ce) || ce.Code != websocket.StatusPolicyViolation || !strings.Contains(ce.Reason, "slow consumer") {
			t.Fatalf("slow consumer ended with %v", err)
		}
		break
	}
	if ev.srv.MarketData().Resyncs() != 0 {
		t.Fatal("the store itself fell behind the engine")
	}
}

type smallWriteBuffer struct{ net.Listener }

func (l smallWriteBuffer) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if tc, ok := c.(*net.TCPConn); ok {
		_ = tc.SetWriteBuffer(4096)
	}
	return c, err
}

// Private streams and order entry over WebSocket; cancel-on-disconnect.
func TestWSPrivateStreamsOrderEntryAndCancelOnDisconnect(t *testing.T) {
	ev := newEnv(t, nil)
	ev.setMark(btc, "65000")
	k := ev.client("ws", "100000", true)
	k.CancelOnDisconnect = true
	w := ev.dialWS(0)
	w.send(`{"op":"subscribe","id":"p","channels":["orders"]}`)
	if r := w.reply("p"); r["status"].(float64) != 401 {
		t.Fatalf("private before login: %v", r)
	}
	w.send(loginMsg(k, ev.stamp()))
	if r := w.reply("login"); r["status"].(float64) != 200 {
		t.Fatalf("login: %v", r)
	}
	w.send(`{"op":"subscribe","id":"p2","channels":["orders","fills","positions","balances"]}`)
	if r := w.reply("p2"); r["status"].(float64) != 200 {
		t.Fatalf("subscribe: %v", r)
	}
	w.send(`{"op":"place","id":"o1","args":` + order(btc, "buy", "64000", "0.01", "ws-1") + `}`)
	r := w.reply("o1")
	res, _ := r["result"].(map[string]any)
	if r["status"].(float64) != 200 || res["client_order_id"] != "ws-1" || res["status"] != "open" {
		t.Fatalf("place: %v", r)
	}
	sawOrder := false
	for !sawOrder {
		msg, err := w.read()
		if err != nil {
			t.Fatal(err)
		}
		if msg["channel"] == "orders" {
			d := msg["data"].(map[string]any)
			sawOrder = d["client_order_id"] == "ws-1"
		}
	}
	w.send(`{"op":"subscribe","id":"x","channels":["liquidations:NOPE-PERP"]}`)
	if r := w.reply("x"); r["status"].(float64) != 404 {
		t.Fatalf("liquidations of an unknown market: %v", r)
	}
	w.send(`{"op":"place","id":"bad","args":{"symbol":"BTC-USD-PERP","qty":"1","qty":"2"}}`)
	if r := w.reply("bad"); r["status"].(float64) != 400 {
		t.Fatalf("duplicate key over ws: %v", r)
	}
	w.send(`{"op":"place","id":"o2","args":` + order(btc, "buy", "64000", "0.01", "ws-2") + `}`)
	w.reply("o2")
	w.send(`{"op":"cancel","id":"c2","args":{"symbol":"BTC-USD-PERP","client_order_id":"ws-2"}}`)
	if r := w.reply("c2"); r["status"].(float64) != 200 || r["result"].(map[string]any)["status"] != "cancelled" {
		t.Fatalf("cancel over ws: %v", r)
	}
	w.send(`{"op":"cancel","id":"c3","args":{"symbol":"BTC-USD-PERP","client_order_id":"ws-2"}}`)
	if r := w.reply("c3"); r["status"].(float64) != 404 {
		t.Fatalf("second cancel over ws: %v", r)
	}
	// A replayed login signature is refused.
	w2 := ev.dialWS(0)
	ms := ev.stamp()
	w2.send(loginMsg(k, ms))
	w2.reply("login")
	w3 := ev.dialWS(0)
	w3.send(loginMsg(k, ms))
	if r := w3.reply("login"); r["status"].(float64) != 401 {
		t.Fatalf("replayed login: %v", r)
	}
	w.c.Close(websocket.StatusNormalClosure, "bye")
	deadline := time.Now().Add(5 * time.Second)
	for {
		var n int
		ev.x.View(func(e *engine.Engine) { n = len(e.OpenOrders(engine.ClientID(k.Account), nil)) })
		if n == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d orders left after disconnect", n)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

var _ = marketdata.ChanDepth

// Garbage over the WebSocket is answered with 4xx replies (echoing the
// request id when one can be read) and the connection stays usable.
func TestWSBadMessages(t *testing.T) {
	ev := newEnv(t, nil)
	w := ev.dialWS(0)
	for i, m := range []string{
		`{"op":"ping","id":"a","id":"b"}`, `{"OP":"ping","id":"a"}`, `{"op":"nope","id":"a"}`, `{"op":"place","id":"a","args":[1]}`,
		`{"op":"subscribe","id":"a","channels":["depth"]}`, `{"op":"subscribe","id":"a","channels":["orders:BTC-USD-PERP"]}`,
		`{"op":"subscribe","id":"a","channels":["depth:NOPE"]}`, `{"op":"login","id":"a","args":{"key":"x","timestamp":"1","signature":"00"}}`,
		`{"op":"cancel","id":"a","args":{"symbol":"BTC-USD-PERP"}}`, `not json`, `{"op":"ping","id":"a"} trailing`,
		// Channels only a perpetual has, asked of a spot market.
		`{"op":"subscribe","id":"a","channels":["mark:BTC-USD"]}`, `{"op":"subscribe","id":"a","channels":["funding:ETH-USD"]}`,
		`{"op":"subscribe","id":"a","channels":["liquidations:BTC-USD"]}`,
	} {
		w.send(m)
		r, err := w.readConn()
		if err != nil {
			t.Fatalf("%d: %v", i, err)
		}
		st, _ := r["status"].(float64)
		if st < 400 || st >= 500 || r["error"] == nil {
			t.Fatalf("%q: %v", m, r)
		}
	}
	w.send(`{"op":"ping","id":"ok"}`)
	if r := w.reply("ok"); r["status"].(float64) != 200 {
		t.Fatalf("ping after garbage: %v", r)
	}
}

// wsTrader is a logged-in WebSocket for a funded PI client.
func wsTrader(t *testing.T, ev *env, name string) (*wsClient, *Key) {
	t.Helper()
	k := ev.client(name, "100000", true)
	w := ev.dialWS(0)
	w.send(loginMsg(k, ev.stamp()))
	if r := w.reply("login"); r["status"].(float64) != 200 {
		t.Fatalf("login: %v", r)
	}
	return w, k
}

func wsBatch(id string, orders ...string) string {
	return `{"op":"place_batch","id":"` + id + `","args":{"orders":[` + strings.Join(orders, ",") + `]}}`
}

// batchResults reads a place_batch reply's per-order results.
func batchResults(t *testing.T, r map[string]any) []map[string]any {
	t.Helper()
	res, _ := r["result"].(map[string]any)
	items, _ := res["results"].([]any)
	if r["status"].(float64) != 200 || items == nil {
		t.Fatalf("place_batch: %v", r)
	}
	out := make([]map[string]any, len(items))
	for i, it := range items {
		out[i] = it.(map[string]any)
	}
	return out
}

// itemOrder is a successful item's order, or fails the test.
func itemOrder(t *testing.T, it map[string]any, i int) map[string]any {
	t.Helper()
	o, _ := it["order"].(map[string]any)
	if it["status"].(float64) != 200 || o == nil {
		t.Fatalf("item %d: %v", i, it)
	}
	return o
}

func itemError(t *testing.T, it map[string]any, i int, status float64, code, field string) {
	t.Helper()
	e, _ := it["error"].(map[string]any)
	if it["status"].(float64) != status || e == nil || e["code"] != code || e["field"] != field || it["order"] != nil {
		t.Fatalf("item %d: %v, want %v %s %s", i, it, status, code, field)
	}
}

func openOrders(ev *env, k *Key) int {
	var n int
	ev.x.View(func(e *engine.Engine) { n = len(e.OpenOrders(engine.ClientID(k.Account), nil)) })
	return n
}

// place_batch: one result per order in request order; a bad order among
// good ones is refused alone with its reason (validation, a client order
// id repeated within the batch, an engine refusal); sending the same
// batch again replays each accepted order by its client_order_id.
func TestWSPlaceBatchResultsInOrder(t *testing.T) {
	ev := newEnv(t, nil)
	ev.setMark(btc, "65000")
	w, k := wsTrader(t, ev, "wsb")
	reduceOnly := `{"symbol":"BTC-USD-PERP","side":"sell","type":"limit","price":"66000","qty":"0.01","reduce_only":true,"client_order_id":"b-ro"}`
	msg := wsBatch("b1",
		order(btc, "buy", "64000", "0.01", "b-0"),
		order(btc, "buy", "64000.05", "0.01", "b-1"), // off tick
		order(btc, "buy", "63900", "0.02", "b-2"),
		order(btc, "sell", "66000", "0.01", "b-0"), // repeats item 0's id
		reduceOnly, // no position to reduce: the engine refuses it
		order(btc, "sell", "66100", "0.03", "b-5"),
	)
	w.send(msg)
	items := batchResults(t, w.reply("b1"))
	if len(items) != 6 {
		t.Fatalf("%d results for 6 orders", len(items))
	}
	ids := map[int]string{}
	for i, want := range map[int][3]string{0: {"b-0", "64000", "0.01"}, 2: {"b-2", "63900", "0.02"}, 5: {"b-5", "66100", "0.03"}} {
		o := itemOrder(t, items[i], i)
		if o["client_order_id"] != want[0] || o["price"] != want[1] || o["qty"] != want[2] || o["status"] != "open" || o["replayed"] != false {
			t.Fatalf("item %d is not its order: %v", i, o)
		}
		ids[i] = o["order_id"].(string)
	}
	itemError(t, items[1], 1, 400, "INVALID_PRICE_STEP", "orders[1].price")
	itemError(t, items[3], 3, 400, "INVALID_FIELD", "orders[3].client_order_id")
	if st := items[4]["status"].(float64); st < 400 || st >= 500 || items[4]["error"] == nil {
		t.Fatalf("reduce-only without a position: %v", items[4])
	}
	if n := openOrders(ev, k); n != 3 {
		t.Fatalf("%d open orders, want the 3 good ones", n)
	}
	// The same batch again: every accepted order is replayed, not placed
	// twice; the refused ones are refused again for the same reasons.
	w.send(strings.Replace(msg, `"id":"b1"`, `"id":"b2"`, 1))
	again := batchResults(t, w.reply("b2"))
	for i, id := range ids {
		if o := itemOrder(t, again[i], i); o["order_id"] != id || o["replayed"] != true {
			t.Fatalf("item %d not replayed as order %s: %v", i, id, o)
		}
	}
	itemError(t, again[1], 1, 400, "INVALID_PRICE_STEP", "orders[1].price")
	itemError(t, again[3], 3, 400, "INVALID_FIELD", "orders[3].client_order_id")
	if n := openOrders(ev, k); n != 3 {
		t.Fatalf("%d open orders after the replay, want 3", n)
	}
	// Nothing valid at all: every item refused, nothing submitted.
	w.send(wsBatch("b3", order(btc, "buy", "64000.05", "0.01", "b-7"), order(btc, "buy", "64000", "0", "b-8")))
	none := batchResults(t, w.reply("b3"))
	itemError(t, none[0], 0, 400, "INVALID_PRICE_STEP", "orders[0].price")
	itemError(t, none[1], 1, 400, "INVALID_FIELD", "orders[1].qty")
	if n := openOrders(ev, k); n != 3 {
		t.Fatalf("%d open orders after an all-bad batch, want 3", n)
	}
}

// place_batch bad input: every per-order rule applies to each item (with
// its place in the field), the size limits and strict decoding apply to
// the message, and trading needs a login with the trade permission.
func TestWSPlaceBatchBadInput(t *testing.T) {
	ev := newEnv(t, nil)
	ev.setMark(btc, "65000")
	w, k := wsTrader(t, ev, "wsbad")
	good := order(btc, "buy", "64000", "0.001", "")
	for i, c := range []struct {
		item, code, field string
	}{
		{order(btc, "buy", "6.5e4", "0.001", ""), "INVALID_FIELD", "price"},
		{order(btc, "buy", "+64000", "0.001", ""), "INVALID_FIELD", "price"},
		{order(btc, "buy", "64000", "0.0015", ""), "INVALID_QTY_STEP", "qty"},
		{order(btc, "buy", "64000", "0", ""), "INVALID_FIELD", "qty"},
		{order(btc, "buy", "64000", "1000.001", ""), "OUT_OF_RANGE", "qty"},
		{order(btc, "buy", "", "0.001", ""), "MISSING_FIELD", "price"},
		{order("NOPE-PERP", "buy", "64000", "0.001", ""), "unknown_market", "symbol"},
		{order(btc, "up", "64000", "0.001", ""), "INVALID_FIELD", "side"},
		{order(btc, "buy", "64000", "0.001", "bad id!"), "INVALID_FIELD", "client_order_id"},
	} {
		id := "x" + strconv.Itoa(i)
		w.send(wsBatch(id, good, c.item, good))
		items := batchResults(t, w.reply(id))
		if len(items) != 3 {
			t.Fatalf("%s: %d results", c.item, len(items))
		}
		itemOrder(t, items[0], 0)
		itemOrder(t, items[2], 2)
		st := 400.0
		if c.code == "unknown_market" {
			st = 404
		}
		itemError(t, items[1], 1, st, c.code, "orders[1]."+c.field)
	}
	whole := []struct {
		msg   string
		st    float64
		code  string
		field string
	}{
		{wsBatch("m0"), 400, "MISSING_FIELD", "orders"},
		{wsBatch("m1", slices.Repeat([]string{good}, BatchMax+1)...), 413, "TOO_MANY_ITEMS", "orders"},
		{wsBatch("m2", good, `{"symbol":"BTC-USD-PERP","side":"buy","type":"limit","price":"64000","qty":"1","qty":"2"}`), 400, "DUPLICATE_FIELD", ""},
		{wsBatch("m3", good, `{"symbol":"BTC-USD-PERP","side":"buy","type":"limit","price":"64000","qty":"1","x":1}`), 400, "UNKNOWN_FIELD", ""},
		{wsBatch("m4", good, `{"symbol":"BTC-USD-PERP","side":"buy","type":"limit","price":64000,"qty":"1"}`), 400, "INVALID_FIELD", ""},
		{`{"op":"place_batch","id":"m5","args":{"orders":[` + good + `],"extra":1}}`, 400, "UNKNOWN_FIELD", "extra"},
	}
	before := openOrders(ev, k)
	for _, c := range whole {
		var req struct{ ID string }
		_ = json.Unmarshal([]byte(c.msg), &req)
		w.send(c.msg)
		r := w.reply(req.ID)
		e, _ := r["error"].(map[string]any)
		if r["status"].(float64) != c.st || e == nil || e["code"] != c.code || (c.field != "" && e["field"] != c.field) {
			t.Fatalf("%.80s…: %v", c.msg, r)
		}
	}
	// At the limit the batch is accepted, and none of the refused
	// messages placed anything.
	if n := openOrders(ev, k); n != before {
		t.Fatalf("refused batches left %d orders", n-before)
	}
	w.send(wsBatch("full", slices.Repeat([]string{good}, BatchMax)...))
	for i, it := range batchResults(t, w.reply("full")) {
		itemOrder(t, it, i)
	}
	// Without a login: 401 for the whole batch.
	anon := ev.dialWS(0)
	anon.send(wsBatch("a", good))
	if r := anon.reply("a"); r["status"].(float64) != 401 {
		t.Fatalf("batch before login: %v", r)
	}
}

// Both batch paths execute their orders in request order: ten pairs of a
// resting buy followed by an IOC sell at its price. In order, every IOC
// trades against the buy just before it and nothing is left open; any
// other order leaves some IOC with nothing to meet (expired unfilled) and
// some buy resting.
func TestBatchExecutesInRequestOrder(t *testing.T) {
	ev := newEnv(t, nil)
	ev.setMark(btc, "65000")
	w, k := wsTrader(t, ev, "ordered")
	pairs := func(prefix string) []string {
		var items []string
		for i := range BatchMax / 2 {
			id := prefix + strconv.Itoa(i)
			items = append(items, order(btc, "buy", "65000", "0.01", id+"-b"),
				`{"symbol":"BTC-USD-PERP","side":"sell","type":"limit","time_in_force":"IOC","price":"65000","qty":"0.01","client_order_id":"`+id+`-s"}`)
		}
		return items
	}
	check := func(via string, items []map[string]any) {
		t.Helper()
		if len(items) != BatchMax {
			t.Fatalf("%s: %d results for %d orders", via, len(items), BatchMax)
		}
		for i, it := range items {
			if o := itemOrder(t, it, i); o["status"] != "filled" || o["filled"] != "0.01" {
				t.Fatalf("%s: item %d did not trade with its neighbour (out of order?): %v", via, i, o)
			}
		}
		if n := openOrders(ev, k); n != 0 {
			t.Fatalf("%s: %d orders left open", via, n)
		}
	}
	w.send(wsBatch("p1", pairs("w")...))
	check("place_batch", batchResults(t, w.reply("p1")))
	r := ev.must(ev.do("POST", "/v1/orders/batch", `{"orders":[`+strings.Join(pairs("r"), ",")+`]}`, k), 200)
	check("POST /v1/orders/batch", batchResults(t, map[string]any{"status": float64(200), "result": r.json}))
}

// A batch whose run cannot be committed (here: its context already ended)
// answers every valid item 503 UNAVAILABLE with Retry-After, keeps the
// invalid items' own 400s, and places nothing.
func TestBatchUnavailableIsPerItem503(t *testing.T) {
	ev := newEnv(t, nil)
	ev.setMark(btc, "65000")
	k := ev.client("unavail", "100000", true)
	var b batchRequest
	body := `{"orders":[` + order(btc, "buy", "64000", "0.01", "u-0") + `,` + order(btc, "buy", "64000.05", "0.01", "u-1") + `,` + order(btc, "buy", "63000", "0.01", "u-2") + `]}`
	if e := DecodeStrict([]byte(body), &b); e != nil {
		t.Fatal(e)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	items := ev.srv.placeBatch(ctx, b.Orders, engine.ClientID(k.Account))
	for _, i := range []int{0, 2} {
		if e := items[i].Error; items[i].Status != 503 || e == nil || e.Code != CodeUnavailable || e.RetryAfter != 1 || items[i].Order != nil {
			t.Fatalf("item %d: %+v", i, items[i])
		}
	}
	if e := items[1].Error; items[1].Status != 400 || e == nil || e.Code != CodeInvalidPriceStep || e.Field != "orders[1].price" {
		t.Fatalf("item 1: %+v %+v", items[1], e)
	}
	if n := openOrders(ev, k); n != 0 {
		t.Fatalf("%d orders placed by a batch that was not committed", n)
	}
}
