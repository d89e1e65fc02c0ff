package gateway

import (
	"strconv"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/sampan-hk/sampan/core/engine"
)

// A pipelined burst larger than the in-flight window is answered in full:
// one reply per request, matched by id.
func TestWSPipelinedOrdersAllAnswered(t *testing.T) {
	ev := newEnv(t, nil)
	ev.setMark(btc, "65000")
	k := ev.client("pipe", "1000000", true)
	w := ev.dialWS(0)
	w.send(loginMsg(k, ev.stamp()))
	// Pipelined right behind the login: it is handled in order, so these
	// are already logged in.
	const n = wsInflightMax + 44
	for i := range n {
		w.send(`{"op":"place","id":"o` + strconv.Itoa(i) + `","args":` + order(btc, "buy", "64000", "0.001", "p-"+strconv.Itoa(i)) + `}`)
	}
	w.send(`{"op":"ping","id":"ping"}`)
	if r := w.reply("login"); r["status"].(float64) != 200 {
		t.Fatalf("login: %v", r)
	}
	seen := map[string]bool{}
	for len(seen) < n+1 {
		m, err := w.readConn()
		if err != nil {
			t.Fatal(err)
		}
		id, _ := m["id"].(string)
		if id == "" {
			continue
		}
		if seen[id] {
			t.Fatalf("second reply for %q", id)
		}
		seen[id] = true
		if m["status"].(float64) != 200 {
			t.Fatalf("%s: %v", id, m)
		}
	}
	var open int
	ev.x.View(func(e *engine.Engine) { open = len(e.OpenOrders(engine.ClientID(k.Account), nil)) })
	if open != n {
		t.Fatalf("%d orders open, want %d", open, n)
	}
}

// Cancel-on-disconnect waits for the requests still in flight, so an order
// pipelined just before the connection drops does not survive it.
func TestWSCancelOnDisconnectAfterPipelinedOrders(t *testing.T) {
	ev := newEnv(t, nil)
	ev.setMark(btc, "65000")
	k := ev.client("pipe-cod", "1000000", true)
	k.CancelOnDisconnect = true
	w := ev.dialWS(0)
	w.send(loginMsg(k, ev.stamp()))
	if r := w.reply("login"); r["status"].(float64) != 200 {
		t.Fatalf("login: %v", r)
	}
	for i := range 100 {
		w.send(`{"op":"place","id":"o` + strconv.Itoa(i) + `","args":` + order(btc, "buy", "64000", "0.001", "c-"+strconv.Itoa(i)) + `}`)
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
	// Nothing lands later either.
	time.Sleep(200 * time.Millisecond)
	var n int
	ev.x.View(func(e *engine.Engine) { n = len(e.OpenOrders(engine.ClientID(k.Account), nil)) })
	if n != 0 {
		t.Fatalf("%d orders appeared after the cancel-on-disconnect", n)
	}
}

// Pipelined trading requests execute in arrival order, and their replies
// come in that order: a cancel sent right behind its place, without waiting
// for the place's reply, finds the order; a place_batch and a cancel_all in
// the stream keep their places too.
func TestWSPipelinedRequestsExecuteInArrivalOrder(t *testing.T) {
	ev := newEnv(t, nil)
	ev.setMark(btc, "65000")
	w, k := wsTrader(t, ev, "in-order")
	var want []string
	send := func(id, msg string) {
		w.send(msg)
		want = append(want, id)
	}
	const n = 60
	for i := range n {
		id := strconv.Itoa(i)
		send("p"+id, `{"op":"place","id":"p`+id+`","args":`+order(btc, "buy", "64000", "0.001", "q-"+id)+`}`)
		send("c"+id, `{"op":"cancel","id":"c`+id+`","args":{"symbol":"BTC-USD-PERP","client_order_id":"q-`+id+`"}}`)
		if i == n/2 {
			send("b", wsBatch("b", order(btc, "buy", "63000", "0.001", "bb-1"), order(btc, "buy", "63000", "0.001", "bb-2")))
			send("all", `{"op":"cancel_all","id":"all","args":{"symbol":"BTC-USD-PERP"}}`)
		}
	}
	for i, id := range want {
		m, err := w.readConn()
		for err == nil && m["id"] == nil { // stream messages
			m, err = w.readConn()
		}
		if err != nil {
			t.Fatal(err)
		}
		if m["id"] != id {
			t.Fatalf("reply %d is for %v, want %s (executed out of order?)", i, m["id"], id)
		}
		if m["status"].(float64) != 200 {
			t.Fatalf("%s: %v", id, m)
		}
	}
	if n := openOrders(ev, k); n != 0 {
		t.Fatalf("%d orders left open", n)
	}
}
