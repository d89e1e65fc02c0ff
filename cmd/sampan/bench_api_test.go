package main

import (
	"strings"
	"testing"
	"time"
)

// The API bench runs end to end against a real node: every order it sends
// is signed, accepted and answered (no errors), in all five entry modes
// (REST and WebSocket, one order or a batch per request; REST single orders
// also over a pool of connections per trader) and in the two transport
// floors, and the fan-out reaches every subscriber. It guards the bench's provisioning
// against operator-API changes; the figures themselves are not checked.
func TestBenchAPISmoke(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a node")
	}
	r, err := runAPIBench(2, 5, 300*time.Millisecond, "", "", "")
	if err != nil {
		t.Fatal(err)
	}
	for name, e := range map[string]entryResult{"rest_single_order": r.RESTSingle, "rest_single_order_pool": r.RESTPool, "rest_batch": r.RESTBatch,
		"websocket_single_order": r.WebSocketSingle, "websocket_batch": r.WebSocketBatch,
		"rest_noop_floor": r.RESTNoop, "websocket_ping_floor": r.WebSocketPing} {
		per := 1
		if strings.HasSuffix(name, "_batch") {
			per = batchOrders
		}
		if e.Requests == 0 || e.Errors != 0 || e.FirstErr != "" || e.OrdersPerRequest != per || e.Orders != e.Requests*int64(per) ||
			e.RequestP50Ns <= 0 || e.RequestP99Ns < e.RequestP50Ns || e.OrderP50Ns != e.RequestP50Ns || e.CPUPerOrderUs <= 0 ||
			e.CPUPerRequestUs != e.CPUPerOrderUs*float64(per) {
			t.Fatalf("%s: %+v", name, e)
		}
	}
	if f := r.Fanout; f.Dropped != 0 || f.Delivered != int64(f.Trades*f.Subscribers) {
		t.Fatalf("fanout: %+v", f)
	}
	if _, err := runAPIBench(1, 1, time.Millisecond, "bogus", "", ""); err == nil {
		t.Fatal("--only bogus accepted")
	}
}

// The bench's reply check accepts only a wholly accepted answer of the
// expected shape, so a refused order is counted as an error.
func TestWSReplyID(t *testing.T) {
	ok := `{"id":"7","op":"place","status":200,"result":{"order_id":"1","status":"expired","accepted_qty":"0.001"}}`
	item := `{"status":200,"order":{"order_id":"1","status":"expired","accepted_qty":"0.001"}}`
	refused := `{"status":400,"error":{"code":"INVALID_FIELD","message":"x"}}`
	batch := func(items ...string) string {
		return `{"id":"8","op":"place_batch","status":200,"result":{"results":[` + strings.Join(items, ",") + `]}}`
	}
	for _, c := range []struct {
		reply  string
		n, id  int
		wantOK bool
	}{
		{ok, 1, 7, true},
		{`{"id":"7","op":"place","status":400,"error":{"code":"X"}}`, 1, 7, false},
		{`{"op":"place","status":200}`, 1, 0, false},
		{batch(item, item, item), 3, 8, true},
		{batch(item, refused, item), 3, 8, false},
		{batch(item, item), 3, 8, false},
		{`{"id":"8","op":"place_batch","status":413,"error":{"code":"TOO_MANY_ITEMS"}}`, 3, 8, false},
	} {
		id, err := wsReplyID([]byte(c.reply), c.n)
		if (err == nil) != c.wantOK || (c.wantOK && id != c.id) {
			t.Fatalf("%s (n=%d): id %d, err %v", c.reply, c.n, id, err)
		}
	}
}

// The floor phases' checks refuse what is not their answer: the WebSocket
// floor takes only a successful ping reply, the REST floor's answer passes
// the same check as a real order.
func TestFloorAnswers(t *testing.T) {
	if _, err := wsReplyID([]byte(`{"id":"3","op":"ping","status":200,"result":{"pong":true}}`), 0); err != nil {
		t.Fatal(err)
	}
	for _, bad := range []string{`{"id":"3","op":"place","status":200,"result":{}}`, `{"id":"3","op":"ping","status":429,"error":{}}`} {
		if _, err := wsReplyID([]byte(bad), 0); err == nil {
			t.Fatalf("ping check accepted %s", bad)
		}
	}
	if err := orderAccepted([]byte(noopOrderAnswer)); err != nil {
		t.Fatal(err)
	}
	if got := wsRequest(nil, 1, 2, 0); !strings.HasPrefix(string(got), `{"op":"ping","id":"2","args":{`) {
		t.Fatalf("ping request %s", got)
	}
}
