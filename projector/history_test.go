package projector

import (
	"context"
	"errors"
	"testing"

	"github.com/sampan-hk/sampan/core/book"
	"github.com/sampan-hk/sampan/core/engine"
	"github.com/sampan-hk/sampan/core/fixed"
	"github.com/sampan-hk/sampan/core/lending"
)

// TestHistoryPages: the API's history queries, on both stores, against the
// randomized stream: every client's fills, orders (with every later step
// and fill of each page's orders) and funding payments paged newest first
// with several page sizes and an end time, equal to the stream's own, with
// no row twice and none missing.
func TestHistoryPages(t *testing.T) {
	log := genLog(47, 2000)
	all, _, _, _ := reference(t, log, 0)
	endTime := all[2*len(all)/3].Time
	for _, sc := range sinks(t) {
		t.Run(sc.name, func(t *testing.T) {
			ctx := context.Background()
			s := projected(t, sc, log, len(all)).Store()
			checked := 0
			for c := engine.ClientID(1); c <= 6; c++ {
				for _, pg := range []Page{{Limit: 1}, {Limit: 7}, {Limit: MaxQueryRows}, {Limit: 5, EndTime: endTime}} {
					checked += checkFillPages(t, s, all, c, pg)
					checkOrderPages(t, s, all, c, pg)
					checkFundingPages(t, s, all, c, pg)
				}
			}
			if checked < 100 {
				t.Fatalf("only %d fills checked: stream too thin", checked)
			}
			if _, err := s.FillPage(ctx, 1, Page{Limit: MaxQueryRows + 1}); !errors.Is(err, ErrLimit) {
				t.Fatalf("limit past the maximum: %v", err)
			}
			if _, err := s.OrderPage(ctx, 1, Page{}); !errors.Is(err, ErrLimit) {
				t.Fatalf("limit 0: %v", err)
			}
		})
	}
}

// pageThrough follows the seq cursor from the newest page to the end.
func pageThrough[T any](t *testing.T, pg Page, get func(Page) ([]T, error), seq func(T) uint64) []T {
	t.Helper()
	var out []T
	for {
		rows, err := get(pg)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, rows...)
		if len(rows) < pg.Limit {
			return out
		}
		pg.Before = seq(rows[len(rows)-1])
	}
}

func inPage(pg Page, e *engine.Event) bool { return pg.EndTime == 0 || e.Time < pg.EndTime }

func checkFillPages(t *testing.T, s *Store, all []engine.Event, c engine.ClientID, pg Page) int {
	t.Helper()
	// A fill's key is its order's client order id, from the acceptance.
	keys := map[[2]int64]uint64{}
	for i := range all {
		if e := &all[i]; e.Kind == engine.EvOrderAccepted && e.Client == c {
			keys[[2]int64{int64(e.Market), int64(e.Order)}] = e.ClientOrderID
		}
	}
	var want []FillRow
	for i := len(all) - 1; i >= 0; i-- {
		e := &all[i]
		if e.Kind != engine.EvTrade || !inPage(pg, e) {
			continue
		}
		// Newest first; on a self-trade the maker's fill comes first.
		if e.MakerClient == c {
			want = append(want, FillRow{Seq: e.Seq, Order: e.MakerOrder, Side: e.Side.Opposite(), Qty: e.Qty, Fee: e.MakerFee, Maker: true,
				Key: keys[[2]int64{int64(e.Market), int64(e.MakerOrder)}]})
		}
		if e.Client == c {
			want = append(want, FillRow{Seq: e.Seq, Order: e.Order, Side: e.Side, Qty: e.Qty, Fee: e.TakerFee,
				Key: keys[[2]int64{int64(e.Market), int64(e.Order)}]})
		}
	}
	got := pageThrough(t, pg, func(p Page) ([]FillRow, error) { return s.FillPage(context.Background(), c, p) },
		func(f FillRow) uint64 { return f.Seq })
	if len(got) != len(want) {
		t.Fatalf("client %d page %+v: %d fills, want %d", c, pg, len(got), len(want))
	}
	for i, g := range got {
		w := want[i]
		if g.Seq != w.Seq || g.Order != w.Order || g.Side != w.Side || g.Qty != w.Qty || g.Fee != w.Fee || g.Maker != w.Maker ||
			g.Key != w.Key || g.Key == 0 {
			t.Fatalf("client %d page %+v fill %d: %+v, want %+v", c, pg, i, g, w)
		}
	}
	return len(got)
}

func checkOrderPages(t *testing.T, s *Store, all []engine.Event, c engine.ClientID, pg Page) {
	t.Helper()
	type ref struct {
		m  engine.MarketID
		id book.OrderID
	}
	accepted := map[ref]uint64{} // order → acceptance seq
	var want []uint64
	steps, fills := map[ref]int{}, map[ref]fixed.Qty{}
	for i := range all {
		e := &all[i]
		switch {
		case e.Kind == engine.EvOrderAccepted && e.Client == c:
			accepted[ref{e.Market, e.Order}] = e.Seq
			if inPage(pg, e) {
				want = append([]uint64{e.Seq}, want...)
			}
			steps[ref{e.Market, e.Order}]++
		case (e.Kind == engine.EvOrderCancelled || e.Kind == engine.EvOrderExpired || e.Kind == engine.EvOrderAmended) && e.Client == c:
			steps[ref{e.Market, e.Order}]++
		case e.Kind == engine.EvTrade:
			if e.Client == c {
				fills[ref{e.Market, e.Order}] += e.Qty
			}
			if e.MakerClient == c {
				fills[ref{e.Market, e.MakerOrder}] += e.Qty
			}
		}
	}
	var got []uint64
	cur := pg
	for {
		h, err := s.OrderPage(context.Background(), c, cur)
		if err != nil {
			t.Fatal(err)
		}
		gotSteps, gotFills := map[ref]int{}, map[ref]fixed.Qty{}
		for _, st := range h.Steps {
			gotSteps[ref{st.Market, st.Order}]++
		}
		for _, f := range h.Fills {
			gotFills[ref{f.Market, f.Order}] += f.Qty
		}
		for _, a := range h.Accepted {
			got = append(got, a.Seq)
			r := ref{a.Market, a.Order}
			// Steps and fills of an order accepted after the fills (a
			// taker's own fills come after its acceptance) are all here.
			if gotSteps[r] != steps[r] || gotFills[r] != fills[r] {
				t.Fatalf("client %d order %+v: %d steps %d filled, want %d %d", c, r, gotSteps[r], gotFills[r], steps[r], fills[r])
			}
		}
		if len(h.Accepted) < cur.Limit {
			break
		}
		cur.Before = h.Accepted[len(h.Accepted)-1].Seq
	}
	if len(got) != len(want) {
		t.Fatalf("client %d page %+v: %d orders, want %d", c, pg, len(got), len(want))
	}
	for i := range got {
		if got[i] != want[i] {
			t.Fatalf("client %d page %+v order %d: seq %d, want %d", c, pg, i, got[i], want[i])
		}
	}
}

func checkFundingPages(t *testing.T, s *Store, all []engine.Event, c engine.ClientID, pg Page) {
	t.Helper()
	var want []*engine.Event
	for i := len(all) - 1; i >= 0; i-- {
		e := &all[i]
		if e.Kind == engine.EvFundingPayment && e.Client == c && (pg.EndTime == 0 || e.Detail.At < pg.EndTime) {
			want = append(want, e)
		}
	}
	got := pageThrough(t, pg, func(p Page) ([]FundingRow, error) { return s.FundingPage(context.Background(), c, p) },
		func(f FundingRow) uint64 { return f.Seq })
	if len(got) != len(want) {
		t.Fatalf("client %d page %+v: %d funding payments, want %d", c, pg, len(got), len(want))
	}
	for i, g := range got {
		w := want[i]
		if g.Seq != w.Seq || g.At != w.Detail.At || g.Market != w.Market || g.Size != w.Size || g.Rate != int64(w.Detail.Rate) ||
			g.Notional != w.Detail.Notional || g.Amount != w.Amount || g.Balance != w.Balance || g.Mark != w.Price {
			t.Fatalf("client %d payment %d: %+v, want %+v", c, i, g, w)
		}
	}
}

// TestStatementRows: financing statement entries (lending events,
// close-out orders, sale instructions) survive the store field for field,
// on both stores; firm-wide events (client 0) are not a client's.
func TestStatementRows(t *testing.T) {
	evs := []engine.Event{
		{Seq: 1, Time: 10, Kind: engine.EvFinancing, Client: 7, Flags: uint8(lending.EvAdvanced), Fin: &lending.Event{Kind: lending.EvAdvanced,
			Asset: 2, Amount: 7_000_000_000, Debit: 54_600_000, Lending: 61_000_000}},
		{Seq: 2, Time: 11, Kind: engine.EvFinancing, Client: 0, Fin: &lending.Event{Kind: lending.EvPriceSet, Asset: 3}},
		{Seq: 3, Time: 12, Kind: engine.EvCloseOutOrder, Client: 7, Market: 5, Flags: uint8(lending.StepBTC), Price: 650_000, Qty: 70,
			Remaining: 20, Amount: 3_250_000_000, Code: engine.CodeUnknownMarket},
		{Seq: 4, Time: 13, Kind: engine.EvSecuritySale, Client: 7, Flags: uint8(lending.StepSecurity), Fin: &lending.Event{Kind: lending.EvSold,
			Asset: 4, Currency: 1, Qty: 300, Amount: 41_000, Short: 380_800, Step: lending.StepSecurity}},
		{Seq: 5, Time: 14, Kind: engine.EvFinancing, Client: 7, Fin: &lending.Event{Kind: lending.EvInterestAccrued, Asset: 2, Fine: 123_456_789,
			Day: 20_000, Deadline: 99, Trigger: lending.TriggerHard, Ppm: 250_000, Base: -5, Currency: 3, Qty: 9}},
		{Seq: 6, Time: 15, Kind: engine.EvFinancing, Client: 8, Fin: &lending.Event{Kind: lending.EvDeposited, Asset: 4, Qty: 100}},
	}
	for _, sc := range sinks(t) {
		t.Run(sc.name, func(t *testing.T) {
			ctx := context.Background()
			sink := sc.open(t)
			defer sink.Close()
			rows := newRows()
			for i := range evs {
				rows.add(&evs[i])
			}
			if err := sink.Write(ctx, 0, rows); err != nil {
				t.Fatal(err)
			}
			got := pageThrough(t, Page{Limit: 2}, func(p Page) ([]StatementRow, error) { return sink.Store().StatementPage(ctx, 7, p) },
				func(r StatementRow) uint64 { return r.Seq })
			want := []int{4, 3, 2, 0} // evs indexes, newest first
			if len(got) != len(want) {
				t.Fatalf("%d entries, want %d: %+v", len(got), len(want), got)
			}
			for i, g := range got {
				e := &evs[want[i]]
				w := StatementRow{Seq: e.Seq, Time: e.Time, Kind: e.Kind}
				if e.Fin != nil {
					w.Fin = *e.Fin
				}
				switch e.Kind {
				case engine.EvCloseOutOrder:
					w.Market, w.Step, w.Price, w.Qty, w.Remaining, w.Amount, w.Code = e.Market, lending.CloseOutStep(e.Flags),
						int64(e.Price), int64(e.Qty), int64(e.Remaining), int64(e.Amount), e.Code
				case engine.EvSecuritySale:
					w.Step = lending.CloseOutStep(e.Flags)
				}
				if g != w {
					t.Fatalf("entry %d:\n got %+v\nwant %+v", i, g, w)
				}
			}
			if other, err := sink.Store().StatementPage(ctx, 8, Page{Limit: 10, Before: 6}); err != nil || len(other) != 0 {
				t.Fatalf("before is exclusive: %+v %v", other, err)
			}
		})
	}
}
