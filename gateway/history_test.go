package gateway

import (
	"context"
	"encoding/json"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/sampan-hk/sampan/core/book"
	"github.com/sampan-hk/sampan/core/engine"
	"github.com/sampan-hk/sampan/core/fixed"
	"github.com/sampan-hk/sampan/exchange"
	"github.com/sampan-hk/sampan/marketdata"
	"github.com/sampan-hk/sampan/projector"
)

// historyStores are the read stores the history tests run on: SQLite, and
// PostgreSQL (a fresh schema, dropped afterwards) when SAMPAN_PG_DSN is
// set; SAMPAN_REQUIRE_PG=1 makes a missing server a failure.
func historyStores(t *testing.T) map[string]string {
	stores := map[string]string{"sqlite": ""}
	dsn := os.Getenv("SAMPAN_PG_DSN")
	if dsn == "" {
		if os.Getenv("SAMPAN_REQUIRE_PG") == "1" {
			t.Fatal("SAMPAN_REQUIRE_PG=1 but SAMPAN_PG_DSN is not set")
		}
		return stores
	}
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		if os.Getenv("SAMPAN_REQUIRE_PG") == "1" {
			t.Fatal(err)
		}
		t.Logf("PostgreSQL unreachable, not tested: %v", err)
		return stores
	}
	defer conn.Close(ctx)
	schema := "gw_" + strconv.FormatInt(time.Now().UnixNano(), 36)
	if _, err := conn.Exec(ctx, "CREATE SCHEMA "+schema); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if c, err := pgx.Connect(ctx, dsn); err == nil {
			c.Exec(ctx, "DROP SCHEMA "+schema+" CASCADE")
			c.Close(ctx)
		}
	})
	u, err := url.Parse(dsn)
	if err != nil || u.Scheme == "" {
		stores["postgres"] = dsn + " search_path=" + schema
		return stores
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	stores["postgres"] = u.String()
	return stores
}

// startProjector projects the env's engine into a fresh read store:
// SQLite, or PostgreSQL at dsn.
func startProjector(t *testing.T, ev *env, dsn string) *projector.Projector {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	sink, err := projector.Open(ctx, dsn, filepath.Join(t.TempDir(), "read.db"))
	if err != nil {
		t.Fatal(err)
	}
	p, err := projector.New(ctx, sink, projector.Config{FlushInterval: 5 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	p.Start(ctx, ev.x.M)
	t.Cleanup(func() {
		cancel()
		<-p.Done()
		p.Close()
	})
	return p
}

// waitProjected waits until the store holds every event the engine emitted.
func waitProjected(t *testing.T, ev *env, p *projector.Projector) {
	t.Helper()
	var seq uint64
	ev.x.View(func(e *engine.Engine) { seq = e.Seq() })
	for deadline := time.Now().Add(5 * time.Second); p.LastSeq() < seq; time.Sleep(2 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("projector at %d, engine at %d (err %v)", p.LastSeq(), seq, p.Err())
		}
	}
}

// pageAll follows next_before from the newest page to the end and returns
// every row, failing on a page that repeats a row or ends early.
func (ev *env) pageAll(path, field string, limit int, k *Key) []json.RawMessage {
	ev.t.Helper()
	var all []json.RawMessage
	seen := map[string]bool{}
	cursor := ""
	for pages := 0; ; pages++ {
		q := path + "?limit=" + strconv.Itoa(limit) + cursor
		r := ev.must(ev.do("GET", q, "", k), 200)
		var body map[string]json.RawMessage
		if err := json.Unmarshal(r.body, &body); err != nil {
			ev.t.Fatal(err)
		}
		var rows []json.RawMessage
		json.Unmarshal(body[field], &rows)
		for _, row := range rows {
			if seen[string(row)] {
				ev.t.Fatalf("%s: row repeated across pages: %s", q, row)
			}
			seen[string(row)] = true
		}
		all = append(all, rows...)
		next := string(body["next_before"])
		if next == "null" {
			if len(rows) == limit {
				ev.t.Fatalf("%s: a full page without next_before", q)
			}
			return all
		}
		if len(rows) < limit || pages > 1000 {
			ev.t.Fatalf("%s: %d rows with next_before %s", q, len(rows), next)
		}
		cursor = "&before=" + next
	}
}

// histTruth is what the engine emitted for one client, newest first.
type histTruth struct {
	fills    []marketdata.FillView // trade_id, order_id, qty, liquidity
	orders   []marketdata.OrderView
	funding  []marketdata.FundingPaymentView // time, amount
	stmtSeqs []uint64
}

// truth recomputes a client's history from the raw event stream.
func truth(ev *env, evs []engine.Event, c engine.ClientID) histTruth {
	var h histTruth
	sp := func(m engine.MarketID) *fixed.Spec { return &ev.srv.specs[m].Spec }
	filled := map[[2]uint64]fixed.Qty{}
	var accepted []*engine.Event
	for i := range evs {
		e := &evs[i]
		switch {
		case e.Kind == engine.EvTrade:
			for _, side := range []struct {
				client engine.ClientID
				order  book.OrderID
				liq    string
			}{{e.Client, e.Order, "taker"}, {e.MakerClient, e.MakerOrder, "maker"}} {
				if side.client == c {
					h.fills = append(h.fills, marketdata.FillView{TradeID: strconv.FormatUint(e.Seq, 10),
						OrderID: strconv.FormatUint(uint64(side.order), 10), Qty: sp(e.Market).FormatQty(e.Qty), Liquidity: side.liq})
					filled[[2]uint64{uint64(e.Market), uint64(side.order)}] += e.Qty
				}
			}
		case e.Kind == engine.EvOrderAccepted && e.Client == c:
			accepted = append(accepted, e)
		case e.Kind == engine.EvFundingPayment && e.Client == c:
			h.funding = append(h.funding, marketdata.FundingPaymentView{Time: e.Detail.At / 1e6, Amount: sp(e.Market).FormatAmount(e.Amount)})
		case (e.Kind == engine.EvFinancing || e.Kind == engine.EvCloseOutOrder || e.Kind == engine.EvSecuritySale) && e.Client == c:
			h.stmtSeqs = append(h.stmtSeqs, e.Seq)
		}
	}
	for _, a := range accepted {
		h.orders = append(h.orders, marketdata.OrderView{OrderID: strconv.FormatUint(uint64(a.Order), 10),
			Filled: sp(a.Market).FormatQty(filled[[2]uint64{uint64(a.Market), uint64(a.Order)}])})
	}
	reverse(h.fills)
	reverse(h.orders)
	reverse(h.funding)
	reverse(h.stmtSeqs)
	return h
}

func reverse[T any](s []T) {
	for i, j := 0, len(s)-1; i < j; i, j = i+1, j-1 {
		s[i], s[j] = s[j], s[i]
	}
}

func drain(sub *exchange.Subscription, evs []engine.Event) []engine.Event {
	for {
		select {
		case b := <-sub.C:
			evs = append(evs, b.Events...)
		default:
			return evs
		}
	}
}

func quoteBTC(ev *env, clock *atomic.Int64) {
	ev.t.Helper()
	for src := uint16(1); src <= 3; src++ {
		c := engine.Command{Kind: engine.CmdQuote, Market: 0, Source: src, Price: 650_100, Observed: clock.Load()}
		if r, err := ev.x.Submit(context.Background(), &c); err != nil || r.Code != engine.OK {
			ev.t.Fatalf("quote: %v %v", err, r.Code)
		}
	}
}

// historyActivity trades between a and b through resting, crossing,
// amended and cancelled orders and a's self-trades, settles funding over several hours, and
// books financing deposits for fin.
func historyActivity(ev *env, clock *atomic.Int64, a, b, fin *Key, round int) {
	ev.t.Helper()
	for i := 0; i < 12; i++ {
		px := strconv.Itoa(64990 + i%5)
		r := ev.must(ev.do("POST", "/v1/orders", order(btc, "sell", px, "0.02", "s"+strconv.Itoa(round)+"-"+strconv.Itoa(i)), a), 200)
		switch i % 4 {
		case 0: // partly filled, then cancelled
			ev.must(ev.do("POST", "/v1/orders", order(btc, "buy", px, "0.01", ""), b), 200)
			ev.must(ev.do("DELETE", "/v1/orders/"+r.str("order_id")+"?symbol="+btc, "", a), 200)
		case 1: // filled in two
			ev.must(ev.do("POST", "/v1/orders", order(btc, "buy", px, "0.01", ""), b), 200)
			ev.must(ev.do("POST", "/v1/orders", order(btc, "buy", px, "0.01", "b"+strconv.Itoa(round)+"-"+strconv.Itoa(i)), b), 200)
		case 2: // amended down, then filled
			ev.must(ev.do("POST", "/v1/orders/"+r.str("order_id")+"/amend", `{"symbol":"`+btc+`","qty":"0.01"}`, a), 200)
			ev.must(ev.do("POST", "/v1/orders", order(btc, "buy", px, "0.01", ""), b), 200)
		case 3: // a self-trade (two fills, one trade_id), then the rest cancelled
			ev.must(ev.do("POST", "/v1/orders", order(btc, "buy", px, "0.01", ""), a), 200)
			ev.must(ev.do("DELETE", "/v1/orders/"+r.str("order_id")+"?symbol="+btc, "", a), 200)
		}
	}
	for h := 0; h < 2; h++ { // two funding settlements (a and b hold positions)
		quoteBTC(ev, clock)
		clock.Add(int64(time.Hour))
		if r, err := ev.x.Submit(context.Background(), &engine.Command{Kind: engine.CmdTick}); err != nil || r.Code != engine.OK {
			ev.t.Fatalf("tick: %v %v", err, r.Code)
		}
	}
	quoteBTC(ev, clock) // fresh sources, so the market takes orders again
	for i := 0; i < 3; i++ {
		ev.finDeposit(ev.idOf(fin), "0700.HK", "1", "h"+strconv.Itoa(round)+"-"+strconv.Itoa(i))
	}
}

// TestHistoryPagesAcrossMemoryAndStore: with rings far smaller than the
// history, paging every endpoint from the newest page to the end returns
// exactly what the engine emitted, newest first, no row twice and none
// missing across the memory/store boundary; the rows the memory still
// holds are byte-identical to the store's; and a restarted server (memory
// empty) pages the same rows from the store alone.
func TestHistoryPagesAcrossMemoryAndStore(t *testing.T) {
	for name, dsn := range historyStores(t) {
		t.Run(name, func(t *testing.T) { historyAcross(t, dsn) })
	}
}

func historyAcross(t *testing.T, dsn string) {
	small := func(c *ServerConfig) {
		c.Market.OrdersMax, c.Market.FillsMax, c.Market.FundingMax, c.Market.StatementMax = 5, 7, 2, 3
	}
	ev := newEnv(t, small)
	sub := ev.x.Subscribe(1 << 20)
	proj := startProjector(t, ev, dsn)
	ev.srv.SetHistory(proj)
	var clock atomic.Int64
	clock.Store(time.Now().Truncate(time.Hour).Add(time.Hour - 10*time.Second).UnixNano())
	ev.log.Clock = clock.Load
	ev.setMark(btc, "65000")
	a, b := ev.client("ha", "100000", true), ev.client("hb", "100000", true)
	fin, _ := ev.marginClient("hf", "", true)
	for round := 0; round < 2; round++ {
		historyActivity(ev, &clock, a, b, fin, round)
	}
	// Two named orders left resting, one partly filled: after the
	// restart they are open orders the new memory never saw.
	ev.must(ev.do("POST", "/v1/orders", order(btc, "sell", "66000", "0.03", "rest-1"), a), 200)
	ev.must(ev.do("POST", "/v1/orders", order(btc, "sell", "66100", "0.02", "rest-2"), a), 200)
	ev.must(ev.do("POST", "/v1/orders", order(btc, "buy", "66000", "0.01", ""), b), 200)
	ev.waitStore()
	waitProjected(t, ev, proj)
	evs := drain(sub, nil)
	openBefore := string(ev.must(ev.do("GET", "/v1/orders", "", a), 200).body)
	if !strings.Contains(openBefore, `"client_order_id":"rest-1"`) || !strings.Contains(openBefore, `"filled":"0.01"`) {
		t.Fatalf("open orders before the restart: %s", openBefore)
	}

	listings := map[string][]json.RawMessage{}
	for _, k := range []*Key{a, b, fin} {
		want := truth(ev, evs, engine.ClientID(k.Account))
		for _, limit := range []int{1, 3, 100} {
			got := ev.checkHistory(k, want, limit)
			for name, rows := range got {
				listings[k.ID+name+strconv.Itoa(limit)] = rows
			}
		}
		ev.checkMemoryIdentical(k, listings[k.ID+"orders100"], listings[k.ID+"fills100"], listings[k.ID+"funding100"])
	}
	if n := len(listings[a.ID+"fills100"]); n <= 7 {
		t.Fatalf("only %d fills: the memory ring did not overflow", n)
	}

	// A restarted node: the read models start empty, the store has it all.
	re := *ev
	re.srv = NewServer(ev.x, ev.srv.cfg)
	re.srv.SetHistory(proj)
	re.hs = httptest.NewServer(re.srv)
	defer func() { re.hs.Close(); re.srv.Close() }()
	for _, k := range []*Key{a, b, fin} {
		for name, rows := range re.checkHistory(k, truth(ev, evs, engine.ClientID(k.Account)), 3) {
			// Every row as before, client_order_id included: the texts
			// are in the log, so in the store, though this node's memory
			// never saw them.
			if !sameRows(rows, listings[k.ID+name+"3"]) {
				t.Fatalf("%s %s after restart differs:\n%s\nbefore:\n%s", k.ID, name, rows, listings[k.ID+name+"3"])
			}
		}
	}
	// Open orders resting since before the restart: folded from the
	// store, byte for byte what the old node's memory answered.
	if got := string(re.must(re.do("GET", "/v1/orders", "", a), 200).body); got != openBefore {
		t.Fatalf("open orders after the restart:\n%s\nbefore:\n%s", got, openBefore)
	}
	// New activity after the restart: its rows come from memory, the
	// older ones from the store, seamlessly.
	historyActivity(&re, &clock, a, b, fin, 2)
	re.waitStore()
	waitProjected(t, &re, proj)
	evs = drain(sub, evs)
	for _, k := range []*Key{a, b, fin} {
		re.checkHistory(k, truth(ev, evs, engine.ClientID(k.Account)), 4)
	}
}

// cap0 is the ring size TestHistoryPagesAcrossMemoryAndStore configures:
// the memory holds exactly the newest that many rows.
func cap0(name string) int { return map[string]int{"orders": 5, "fills": 7, "funding": 2}[name] }

func sameRows(a, b []json.RawMessage) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if string(a[i]) != string(b[i]) {
			return false
		}
	}
	return true
}

// checkHistory pages all four endpoints and compares them with the truth.
func (ev *env) checkHistory(k *Key, want histTruth, limit int) map[string][]json.RawMessage {
	ev.t.Helper()
	out := map[string][]json.RawMessage{
		"fills":     ev.pageAll("/v1/fills", "fills", limit, k),
		"orders":    ev.pageAll("/v1/orders/history", "orders", limit, k),
		"funding":   ev.pageAll("/v1/funding-payments", "funding_payments", limit, k),
		"statement": ev.pageAll("/v1/financing/statement", "entries", limit, k),
	}
	decode := func(rows []json.RawMessage, v any) {
		b, _ := json.Marshal(rows)
		if err := json.Unmarshal(b, v); err != nil {
			ev.t.Fatal(err)
		}
	}
	var fills []marketdata.FillView
	decode(out["fills"], &fills)
	if len(fills) != len(want.fills) {
		ev.t.Fatalf("%s limit %d: %d fills, want %d", k.ID, limit, len(fills), len(want.fills))
	}
	for i, f := range fills {
		w := want.fills[i]
		if f.TradeID != w.TradeID || f.OrderID != w.OrderID || f.Qty != w.Qty || f.Liquidity != w.Liquidity {
			ev.t.Fatalf("%s limit %d fill %d: %+v, want %+v", k.ID, limit, i, f, w)
		}
	}
	var orders []marketdata.OrderView
	decode(out["orders"], &orders)
	if len(orders) != len(want.orders) {
		ev.t.Fatalf("%s limit %d: %d orders, want %d", k.ID, limit, len(orders), len(want.orders))
	}
	for i, o := range orders {
		if w := want.orders[i]; o.OrderID != w.OrderID || o.Filled != w.Filled {
			ev.t.Fatalf("%s limit %d order %d: %+v, want %+v", k.ID, limit, i, o, w)
		}
	}
	var funding []marketdata.FundingPaymentView
	decode(out["funding"], &funding)
	if len(funding) != len(want.funding) {
		ev.t.Fatalf("%s limit %d: %d funding payments, want %d", k.ID, limit, len(funding), len(want.funding))
	}
	for i, f := range funding {
		if w := want.funding[i]; f.Time != w.Time || f.Amount != w.Amount {
			ev.t.Fatalf("%s limit %d payment %d: %+v, want %+v", k.ID, limit, i, f, w)
		}
	}
	var stmt []statementJSON
	decode(out["statement"], &stmt)
	if len(stmt) != len(want.stmtSeqs) {
		ev.t.Fatalf("%s limit %d: %d statement entries, want %d", k.ID, limit, len(stmt), len(want.stmtSeqs))
	}
	for i, e := range stmt {
		if e.Seq != want.stmtSeqs[i] {
			ev.t.Fatalf("%s limit %d entry %d: seq %d, want %d", k.ID, limit, i, e.Seq, want.stmtSeqs[i])
		}
	}
	return out
}

// checkMemoryIdentical: what the read models hold is byte-identical to the
// head of the paged listing (orders and funding payments page from the
// store, fills from memory then the store).
func (ev *env) checkMemoryIdentical(k *Key, orders, fills, funding []json.RawMessage) {
	ev.t.Helper()
	md, id := ev.srv.MarketData(), engine.ClientID(k.Account)
	for name, pair := range map[string][2]any{"orders": {md.Orders(id, 0), orders}, "fills": {md.Fills(id, 0), fills},
		"funding": {md.FundingPayments(id, 0), funding}} {
		mem, _ := json.Marshal(pair[0])
		var memRows []json.RawMessage
		json.Unmarshal(mem, &memRows)
		paged := pair[1].([]json.RawMessage)
		if len(memRows) != min(len(paged), cap0(name)) || !sameRows(memRows, paged[:len(memRows)]) {
			ev.t.Fatalf("%s %s: memory rows differ from the paged ones:\n%s\n%s", k.ID, name, memRows, paged)
		}
	}
}

// TestHistoryBadPaging: malformed paging parameters are 400 with the
// field named, on every history endpoint, with and without a store.
func TestHistoryBadPaging(t *testing.T) {
	ev := newEnv(t, nil)
	k := ev.client("bp", "1000", true)
	for _, store := range []bool{false, true} {
		if store {
			ev.srv.SetHistory(startProjector(t, ev, ""))
		}
		for _, path := range []string{"/v1/fills", "/v1/orders/history", "/v1/funding-payments", "/v1/financing/statement"} {
			for _, q := range []struct{ query, field string }{
				{"limit=0", "limit"}, {"limit=1001", "limit"}, {"limit=x", "limit"}, {"before=0", "before"}, {"before=-1", "before"},
				{"before=abc", "before"}, {"before=007", "before"}, {"before=9223372036854775808", "before"}, {"end_time=0", "end_time"},
				{"end_time=1.5", "end_time"}, {"end_time=99999999999999", "end_time"}, {"after=3", "after"}, {"before=1&before=2", "before"},
			} {
				r := ev.do("GET", path+"?"+q.query, "", k)
				if r.status != 400 || r.str("field") != q.field || r.str("code") == "" || r.str("message") == "" {
					t.Fatalf("%s?%s (store %v): %d %s", path, q.query, store, r.status, r.body)
				}
			}
		}
	}
	// A valid but empty page answers 200 with no cursor.
	r := ev.must(ev.do("GET", "/v1/fills?limit=5&before=1&end_time=1", "", k), 200)
	if string(r.body) == "" || r.str("next_before") != "" || r.str("fills") != "[]" {
		t.Fatalf("empty page: %s", r.body)
	}
}
