package projector

import (
	"context"
	"database/sql"
	"errors"
	"strings"
	"testing"

	"github.com/sampan-hk/sampan/core/engine"
)

// The report queries, on both stores: a client's trades in a time range,
// paged; funding payments; deposits and withdrawals; order lifecycles;
// position history; prices; each checked against the event stream.
func TestReportQueries(t *testing.T) {
	log := genLog(31, 2500)
	all, _, _, _ := reference(t, log, 0)
	// The busiest client and a time window in the middle of the stream.
	x := expect(all)
	var client engine.ClientID
	for c, q := range x.tradeQty {
		if q > x.tradeQty[client] || (q == x.tradeQty[client] && c < client) {
			client = c
		}
	}
	from, to := all[len(all)/4].Time, all[3*len(all)/4].Time
	var wantTrades []engine.Event
	var wantCash, wantFunding, wantOrders int
	for _, ev := range all {
		if ev.Kind == engine.EvTrade && (ev.Client == client || ev.MakerClient == client) && ev.Time >= from && ev.Time < to {
			wantTrades = append(wantTrades, ev)
		}
		if ev.Client != client {
			continue
		}
		switch ev.Kind {
		case engine.EvDeposited, engine.EvWithdrawn:
			wantCash++
		case engine.EvFundingPayment:
			wantFunding++
		case engine.EvOrderAccepted, engine.EvOrderCancelled, engine.EvOrderExpired, engine.EvOrderAmended:
			wantOrders++
		}
	}
	if len(wantTrades) < 10 || wantFunding == 0 || wantCash == 0 {
		t.Fatalf("stream too thin for the test: %d trades, %d funding, %d cash", len(wantTrades), wantFunding, wantCash)
	}
	for _, sc := range sinks(t) {
		t.Run(sc.name, func(t *testing.T) {
			ctx := context.Background()
			s := projected(t, sc, log, len(all)).Store()

			// Trades in the window, three per page.
			var got []Trade
			for r := (Range{From: from, To: to, Limit: 3}); ; {
				page, err := s.Trades(ctx, client, r)
				if err != nil {
					t.Fatal(err)
				}
				got = append(got, page...)
				if len(page) < 3 {
					break
				}
				r.AfterSeq = page[len(page)-1].Seq
			}
			if len(got) != len(wantTrades) {
				t.Fatalf("%d trades, want %d", len(got), len(wantTrades))
			}
			for i, tr := range got {
				w := wantTrades[i]
				if tr.Seq != w.Seq || tr.Qty != w.Qty || tr.Price != w.Price || tr.TakerFee != w.TakerFee || tr.MakerClient != w.MakerClient {
					t.Fatalf("trade %d: %+v, want %+v", i, tr, w)
				}
			}
			if cash, err := s.Cash(ctx, client, Range{}); err != nil || len(cash) != wantCash {
				t.Fatalf("cash: %d rows (%v), want %d", len(cash), err, wantCash)
			}
			fp, err := s.FundingPayments(ctx, client, Range{})
			if err != nil || len(fp) != wantFunding || fp[0].Rate == 0 || !fp[0].HasMarket || !fp[0].HasBalance {
				t.Fatalf("funding: %d rows (%v), want %d; first %+v", len(fp), err, wantFunding, fp)
			}
			orders, err := s.Orders(ctx, client, 0, Range{})
			if err != nil || len(orders) != wantOrders {
				t.Fatalf("orders: %d rows (%v), want %d", len(orders), err, wantOrders)
			}
			one, err := s.Orders(ctx, client, orders[0].Order, Range{})
			if err != nil || len(one) == 0 || one[0].Event != "accepted" {
				t.Fatalf("one order's lifecycle: %+v %v", one, err)
			}
			pos, err := s.Positions(ctx, client)
			if err != nil || len(pos) == 0 {
				t.Fatalf("positions: %+v %v", pos, err)
			}
			hist, err := s.PositionHistory(ctx, client, pos[0].Market, Range{})
			if err != nil || len(hist) == 0 || hist[len(hist)-1].Seq != pos[0].Seq {
				t.Fatalf("position history ends at %+v, latest %+v (%v)", hist, pos[0], err)
			}
			marks, err := s.Prices(ctx, 0, "mark", Range{Limit: 5})
			if err != nil || len(marks) != 5 || marks[0].Price <= 0 {
				t.Fatalf("marks: %+v %v", marks, err)
			}
			if _, err := s.Trades(ctx, client, Range{Limit: MaxQueryRows + 1}); !errors.Is(err, ErrLimit) {
				t.Fatalf("limit past the maximum: %v", err)
			}
			st, err := s.State(ctx)
			if err != nil || st.LastSeq != uint64(len(all)) || st.LastTime != all[len(all)-1].Time || st.UpdatedAt == 0 {
				t.Fatalf("state %+v %v", st, err)
			}
		})
	}
}

// The SQLite layout: seq is the rowid (no separate unique index beside
// it) and composite keys are clustered (WITHOUT ROWID), while a repeated
// key still fails.
func TestSQLiteLayout(t *testing.T) {
	s := sqliteCase(t).open(t).(*SQLite)
	defer s.Close()
	ctx := context.Background()
	var autoIdx int
	if err := s.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM sqlite_master WHERE type = 'index' AND name LIKE 'sqlite_autoindex_%'`).Scan(&autoIdx); err != nil {
		t.Fatal(err)
	}
	if autoIdx != 0 {
		t.Fatalf("%d automatic unique indexes: a primary key is not the table's own key", autoIdx)
	}
	// No index on events_other but its key (no query reads events by
	// anything else), and WAL with synchronous=NORMAL (docs/read-store.md).
	var eventIdx, sync int
	if err := s.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM sqlite_master WHERE type = 'index' AND tbl_name IN ('events', 'events_other')`).Scan(&eventIdx); err != nil {
		t.Fatal(err)
	}
	if err := s.db.QueryRowContext(ctx, `PRAGMA synchronous`).Scan(&sync); err != nil {
		t.Fatal(err)
	}
	if eventIdx != 0 || sync != 1 {
		t.Fatalf("%d indexes on events, synchronous=%d (want 0, NORMAL=1)", eventIdx, sync)
	}
	for _, table := range []string{"ledger", "positions_latest"} {
		var sql string
		if err := s.db.QueryRowContext(ctx, `SELECT sql FROM sqlite_master WHERE name = ?`, table).Scan(&sql); err != nil {
			t.Fatal(err)
		}
		if !strings.HasSuffix(sql, "WITHOUT ROWID") {
			t.Fatalf("%s: %s", table, sql)
		}
	}
	for _, q := range []string{
		`INSERT INTO prices (seq, time, market, kind, price) VALUES (1, 1, 0, 'mark', 5), (1, 1, 0, 'mark', 6)`,
		`INSERT INTO ledger (seq, leg, time, client, kind, amount) VALUES (1, 0, 1, 1, 'fee', 1), (1, 0, 1, 1, 'fee', 2)`,
	} {
		if _, err := s.db.ExecContext(ctx, q); err == nil {
			t.Fatalf("duplicate key accepted: %s", q)
		}
	}
}

// Every orders query of the history API walks the index meant for it
// (docs/read-store.md, "Order steps"): an order's steps and acceptance by
// order id, a client's orders by acceptance through the partial index;
// none scans the table or a client's whole history.
func TestSQLiteOrderQueryPlans(t *testing.T) {
	s := sqliteCase(t).open(t).(*SQLite)
	defer s.Close()
	writeAll(t, s, iocStream(3000))
	cols := `SELECT seq, time, client, market, order_id, client_order_id, event, side, price, qty, flags, code FROM orders`
	for _, c := range []struct{ query, index string }{
		{cols + ` WHERE client = ? AND order_id IN (?, ?) ORDER BY seq LIMIT 10`, "orders_order_client"},
		{cols + ` WHERE client = ? AND order_id IN (?, ?) AND seq >= 5 ORDER BY seq LIMIT 10`, "orders_order_client"},
		{`SELECT seq FROM orders WHERE client = ? AND order_id = ? AND market = ? AND event = 'accepted'`, "orders_order_client"},
		{cols + ` WHERE client = ? AND order_id = ? ORDER BY seq LIMIT 10`, "orders_order_client"},
		{cols + ` WHERE client = ? AND event = 'accepted' AND seq < ? ORDER BY client DESC, seq DESC LIMIT 10`, "orders_client_accepted"},
	} {
		var args []any
		for range strings.Count(c.query, "?") {
			args = append(args, int64(1))
		}
		plan := queryPlan(t, s.db, c.query, args)
		if !strings.Contains(plan, "USING INDEX "+c.index+" ") && !strings.Contains(plan, "USING COVERING INDEX "+c.index+" ") {
			t.Errorf("%s\nplan: %s\nwant index %s", c.query, plan, c.index)
		}
	}
}

func queryPlan(t *testing.T, db *sql.DB, q string, args []any) string {
	t.Helper()
	rows, err := db.Query(`EXPLAIN QUERY PLAN `+q, args...)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var plan []string
	for rows.Next() {
		var id, parent, unused int
		var detail string
		if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
			t.Fatal(err)
		}
		plan = append(plan, detail)
	}
	return strings.Join(plan, "; ")
}

// Client order id texts come from the log: each named place's accepted row
// carries its text (and no other row does), on both stores, and a fill
// carries its order's text.
func TestOrderTextsFromTheLog(t *testing.T) {
	log := genLog(31, 2500)
	all, _, _, _ := reference(t, log, 0)
	want := map[[2]uint64]string{} // (client, seq) → text of an accepted event
	var client engine.ClientID
	for _, ev := range all {
		if ev.Kind == engine.EvOrderAccepted && ev.Ref != "" {
			want[[2]uint64{uint64(ev.Client), ev.Seq}] = ev.Ref
			if client == 0 {
				client = ev.Client
			}
		}
	}
	if len(want) < 50 {
		t.Fatalf("only %d named orders in the stream", len(want))
	}
	for _, sc := range sinks(t) {
		t.Run(sc.name, func(t *testing.T) {
			ctx := context.Background()
			s := projected(t, sc, log, len(all)).Store()
			named := 0
			for c := engine.ClientID(1); c <= 30; c++ {
				rows, err := s.Orders(ctx, c, 0, Range{Limit: MaxQueryRows})
				if err != nil {
					t.Fatal(err)
				}
				for _, o := range rows {
					w := ""
					if o.Event == "accepted" {
						w = want[[2]uint64{uint64(c), o.Seq}]
					}
					if o.Text != w {
						t.Fatalf("client %d %s row at seq %d: text %q, want %q", c, o.Event, o.Seq, o.Text, w)
					}
					if w != "" {
						named++
					}
				}
			}
			if named != len(want) {
				t.Fatalf("%d named rows, want %d", named, len(want))
			}
			fills, err := s.FillPage(ctx, client, Page{Limit: MaxQueryRows})
			if err != nil {
				t.Fatal(err)
			}
			texts := map[[2]uint64]string{}
			for _, ev := range all {
				if ev.Kind == engine.EvOrderAccepted && ev.Client == client {
					texts[[2]uint64{uint64(ev.Market), uint64(ev.Order)}] = ev.Ref
				}
			}
			withText := 0
			for _, f := range fills {
				if w := texts[[2]uint64{uint64(f.Market), uint64(f.Order)}]; f.Text != w {
					t.Fatalf("fill at seq %d of order %d: text %q, want %q", f.Seq, f.Order, f.Text, w)
				} else if w != "" {
					withText++
				}
			}
			if withText == 0 {
				t.Fatalf("client %d: none of %d fills has a text", client, len(fills))
			}
		})
	}
}
