package gateway

import (
	"context"
	"encoding/json"
	"errors"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
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
