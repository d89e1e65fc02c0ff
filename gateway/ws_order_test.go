package gateway

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"
	"time"
)

// twinRequest is one trading request of a random session: its id and
// the message that carries it.
type twinRequest struct {
	id, msg string
}

// twinSession draws a random trading session for one trader: places (GTC
// and IOC, some crossing the resting book, some reusing an earlier client
// order id with the same or another payload), batches, cancels by client
// order id (of live, finished and unknown orders), cancel-alls, and
// malformed places.
func twinSession(seed uint64, n int) []twinRequest {
	r := rand.New(rand.NewPCG(seed, 7))
	var cids []string
	var orders []string // payloads placed so far, to repeat one exactly
	one := func(i, j int) string {
		side := []string{"buy", "sell"}[r.IntN(2)]
		px := strconv.Itoa(64950 + 10*r.IntN(11))
		qty := "0.00" + strconv.Itoa(1+r.IntN(5))
		cid := fmt.Sprintf("t%d-%d", i, j)
		switch {
		case len(orders) > 0 && r.IntN(10) == 0: // the same order again: a replay
			return orders[r.IntN(len(orders))]
		case len(cids) > 0 && r.IntN(12) == 0: // an old id, another payload: a conflict
			cid = cids[r.IntN(len(cids))]
		case r.IntN(6) == 0:
			cid = ""
		}
		o := order(btc, side, px, qty, cid)
		if r.IntN(3) == 0 {
			o = strings.TrimSuffix(o, "}") + `,"time_in_force":"IOC"}`
		}
		if cid != "" {
			cids = append(cids, cid)
		}
		orders = append(orders, o)
		return o
	}
	out := make([]twinRequest, 0, n)
	for i := range n {
		id := "r" + strconv.Itoa(i)
		var msg string
		switch k := r.IntN(100); {
		case k < 55:
			msg = `{"op":"place","id":"` + id + `","args":` + one(i, 0) + `}`
		case k < 70:
			items := make([]string, 2+r.IntN(3))
			for j := range items {
				items[j] = one(i, j)
			}
			msg = wsBatch(id, items...)
		case k < 88:
			cid := "none-" + id
			if len(cids) > 0 && r.IntN(5) > 0 {
				cid = cids[r.IntN(len(cids))]
			}
			msg = `{"op":"cancel","id":"` + id + `","args":{"symbol":"` + btc + `","client_order_id":"` + cid + `"}}`
		case k < 93:
			msg = `{"op":"cancel_all","id":"` + id + `","args":{"symbol":"` + btc + `"}}`
		default:
			msg = `{"op":"place","id":"` + id + `","args":` + order(btc, "buy", "64,000", "0.001", "") + `}`
		}
		out = append(out, twinRequest{id: id, msg: msg})
	}
	return out
}

// twinRun plays a session on a fresh node against a resting book of a
// second trader, either pipelined (every request sent before any reply is
// read) or one at a time, and returns each request's reply by id and the
// trader's open orders and fills at the end. Replies leave out what they
// may legitimately differ in: engine times (the nodes run at different
// moments) and an order's progress (filled, remaining, status, reason): an
// answer shows the order as the read model has it when the answer is
// written, which for a pipelined run is after the whole run, so a later
// request of the run may already have traded against it. What the
// execution decided (order ids, accepted quantities, replays, refusals
// and their codes) must be identical, and so must the end state.
func twinRun(t *testing.T, reqs []twinRequest, pipelined bool) (map[string]string, string) {
	ev := newEnv(t, nil)
	now := time.Now().UnixNano()
	ev.log.Clock = func() int64 { return now }
	ev.setMark(btc, "65000")
	mm := ev.client("twin-mm", "1000000", true)
	for i := range 5 {
		ev.must(ev.do("POST", "/v1/orders", order(btc, "sell", strconv.Itoa(65010+10*i), "0.01", ""), mm), 200)
		ev.must(ev.do("POST", "/v1/orders", order(btc, "buy", strconv.Itoa(64990-10*i), "0.01", ""), mm), 200)
	}
	w, k := wsTrader(t, ev, "twin")
	replies := map[string]string{}
	keep := func(m map[string]any) {
		stripProgress(m["result"])
		b, _ := json.Marshal(m)
		replies[m["id"].(string)] = string(b)
	}
	for _, q := range reqs {
		w.send(q.msg)
		if !pipelined {
			keep(w.reply(q.id))
		}
	}
	for len(replies) < len(reqs) { // pipelined: every request is out, read the replies
		m, err := w.readConn()
		if err != nil {
			t.Fatal(err)
		}
		if id, _ := m["id"].(string); id != "" {
			keep(m)
		}
	}
	var end []any
	for _, path := range []string{"/v1/orders", "/v1/fills?limit=1000"} {
		v := ev.must(ev.do("GET", path, "", k), 200).json
		stripTimes(v)
		end = append(end, v)
	}
	b, _ := json.Marshal(end)
	return replies, string(b)
}

// stripTimes removes the engine times from an answer.
func stripTimes(v any) { strip(v, "created", "updated", "time") }

// stripProgress removes the engine times and an order's progress.
func stripProgress(v any) {
	strip(v, "created", "updated", "filled", "remaining", "status", "reason")
}

func strip(v any, keys ...string) {
	switch x := v.(type) {
	case map[string]any:
		for _, k := range keys {
			delete(x, k)
		}
		for _, y := range x {
			strip(y, keys...)
		}
	case []any:
		for _, y := range x {
			strip(y, keys...)
		}
	}
}

// Pipelining changes nothing but speed: a random session of trading
// requests sent over one WebSocket without waiting is executed exactly as
// when each is sent only after the previous reply — request by request the
// same decision (see twinRun), and the same open orders and fills at the
// end. (Before a connection's requests were executed in arrival order, a
// cancel could overtake its place.)
func TestWSPipelinedMatchesOneAtATime(t *testing.T) {
	for _, seed := range []uint64{1, 2, 3} {
		reqs := twinSession(seed, 250)
		seqReplies, seqOpen := twinRun(t, reqs, false)
		pipeReplies, pipeOpen := twinRun(t, reqs, true)
		kinds := map[string]int{}
		for _, q := range reqs {
			if seqReplies[q.id] != pipeReplies[q.id] {
				t.Fatalf("seed %d, %s %s:\none at a time: %s\npipelined:    %s", seed, q.id, q.msg, seqReplies[q.id], pipeReplies[q.id])
			}
			var m struct {
				Status int `json:"status"`
			}
			json.Unmarshal([]byte(seqReplies[q.id]), &m)
			kinds[strconv.Itoa(m.Status)]++
		}
		if seqOpen != pipeOpen {
			t.Fatalf("seed %d: open orders or fills differ:\none at a time: %s\npipelined:    %s", seed, seqOpen, pipeOpen)
		}
		// The session must exercise refusals as well as successes.
		if kinds["200"] < 100 || kinds["400"] == 0 || kinds["404"]+kinds["409"] == 0 {
			t.Fatalf("seed %d: session too thin: statuses %v", seed, kinds)
		}
		if strings.Count(seqOpen, `"order_id"`) == 0 {
			t.Fatalf("seed %d: no order left open: the session never rested an order", seed)
		}
	}
}
