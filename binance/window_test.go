package binance

import (
	"fmt"
	"slices"
	"strings"
	"testing"
)

// TestWindowParams: defaults, bounds, and which bad parameter is reported
// first (limit, then the id, then startTime, then endTime), as each
// history endpoint reported it before they shared windowParams.
func TestWindowParams(t *testing.T) {
	for _, c := range []struct {
		query, id string
		want      window
		bad       string // the parameter named in the error, "" for none
	}{
		{"", "fromId", window{n: 500, from: -1, start: -1, end: -1}, ""},
		{"limit=7&fromId=3&startTime=10&endTime=20", "fromId", window{n: 7, from: 3, start: 10, end: 20}, ""},
		{"fromId=3", "", window{n: 500, from: -1, start: -1, end: -1}, ""}, // no id parameter: never read
		{"limit=0", "fromId", window{}, "limit"},
		{"limit=1001", "fromId", window{}, "limit"},
		{"limit=x&fromId=y&startTime=z", "fromId", window{}, "limit"},
		{"fromId=y&startTime=z", "fromId", window{}, "fromId"},
		{"orderId=y&startTime=z", "orderId", window{}, "orderId"},
		{"startTime=z&endTime=z", "orderId", window{}, "startTime"},
		{"endTime=1.5", "", window{}, "endTime"},
	} {
		p, e := parseParams(c.query, "")
		if e != nil {
			t.Fatalf("%q: %v", c.query, e)
		}
		got, e := windowParams(p, 500, 1000, c.id)
		switch {
		case c.bad == "" && e != nil:
			t.Errorf("%q: unexpected error %s", c.query, e.Msg)
		case c.bad == "" && got != c.want:
			t.Errorf("%q: got %+v, want %+v", c.query, got, c.want)
		case c.bad != "" && (e == nil || !strings.Contains(e.Msg, "'"+c.bad+"'")):
			t.Errorf("%q: error %v, want one naming %s", c.query, e, c.bad)
		}
	}
}

// TestWindowAdmitsAndClip: bounds are inclusive and −1 leaves one open; an
// anchored window keeps its first n rows, an open one the newest n.
func TestWindowAdmitsAndClip(t *testing.T) {
	rows := []int64{1, 2, 3, 4, 5} // id = time, oldest first
	for _, c := range []struct {
		w    window
		want []int64
	}{
		{window{n: 10, from: -1, start: -1, end: -1}, []int64{1, 2, 3, 4, 5}},
		{window{n: 2, from: -1, start: -1, end: -1}, []int64{4, 5}},
		{window{n: 2, from: 2, start: -1, end: -1}, []int64{2, 3}},
		{window{n: 2, from: -1, start: 3, end: -1}, []int64{3, 4}},
		{window{n: 2, from: -1, start: -1, end: 3}, []int64{2, 3}},
		{window{n: 5, from: 2, start: -1, end: 4}, []int64{2, 3, 4}},
		{window{n: 1, from: 4, start: 2, end: 5}, []int64{4}},
		{window{n: 3, from: -1, start: 6, end: -1}, []int64{}},
	} {
		got := []int64{}
		for _, r := range rows {
			if c.w.admits(r, r) {
				got = append(got, r)
			}
		}
		if got = clip(c.w, got); !slices.Equal(got, c.want) {
			t.Errorf("%+v: got %v, want %v", c.w, got, c.want)
		}
	}
}

// TestHistoryPaging: over HTTP, userTrades and allOrders, like Binance,
// return the newest rows with only a limit, and the first ones from an
// anchor (fromId, orderId).
func TestHistoryPaging(t *testing.T) {
	ev := newEnv(t)
	ev.setMark(0, "50000")
	a := ev.client("a", 100_000, true)
	b := ev.client("b", 100_000, true)
	for i := range 3 {
		px := fmt.Sprint(50000 + 10*i)
		ev.must(ev.signed("POST", "/fapi/v1/order", "symbol=BTCUSDT&side=SELL&type=LIMIT&timeInForce=GTC&quantity=0.01&price="+px, b), 200)
		ev.must(ev.signed("POST", "/fapi/v1/order", "symbol=BTCUSDT&side=BUY&type=MARKET&quantity=0.01", a), 200)
	}
	all := ev.must(ev.signed("GET", "/fapi/v1/userTrades", "symbol=BTCUSDT", a), 200)
	if len(all.arr) != 3 {
		t.Fatalf("userTrades: %s", all.body)
	}
	price := func(r *resp, i int) any { return obj(r.arr[i])["price"] }
	if r := ev.must(ev.signed("GET", "/fapi/v1/userTrades", "symbol=BTCUSDT&limit=1", a), 200); len(r.arr) != 1 || price(r, 0) != "50020" {
		t.Errorf("newest trade: %s", r.body)
	}
	first := fmt.Sprintf("%.0f", obj(all.arr[0])["id"])
	if r := ev.must(ev.signed("GET", "/fapi/v1/userTrades", "symbol=BTCUSDT&limit=2&fromId="+first, a), 200); len(r.arr) != 2 ||
		price(r, 0) != "50000" || price(r, 1) != "50010" {
		t.Errorf("trades from %s: %s", first, r.body)
	}
	orders := ev.must(ev.signed("GET", "/fapi/v1/allOrders", "symbol=BTCUSDT", b), 200)
	if len(orders.arr) != 3 {
		t.Fatalf("allOrders: %s", orders.body)
	}
	oid := fmt.Sprintf("%.0f", obj(orders.arr[0])["orderId"])
	if r := ev.must(ev.signed("GET", "/fapi/v1/allOrders", "symbol=BTCUSDT&limit=1", b), 200); len(r.arr) != 1 ||
		obj(r.arr[0])["price"] != "50020" {
		t.Errorf("newest order: %s", r.body)
	}
	if r := ev.must(ev.signed("GET", "/fapi/v1/allOrders", "symbol=BTCUSDT&limit=2&orderId="+oid, b), 200); len(r.arr) != 2 ||
		obj(r.arr[0])["price"] != "50000" || obj(r.arr[1])["price"] != "50010" {
		t.Errorf("allOrders from %s: %s", oid, r.body)
	}
}
