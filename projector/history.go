package projector

import (
	"context"
	"database/sql"
	"sort"
	"strconv"
	"strings"

	"github.com/sampan-hk/sampan/core/book"
	"github.com/sampan-hk/sampan/core/engine"
	"github.com/sampan-hk/sampan/core/fixed"
	"github.com/sampan-hk/sampan/core/lending"
)

// Queries behind the API's private history (gateway/history.go): one
// client's rows, newest first, paged by a seq cursor. Before is exclusive;
// 0 means "from the newest". Every query walks an index on the client (or,
// for given orders, on the order id and client), so a page costs its own
// rows, not the client's whole history.

// Page selects a client's rows older than Before (a seq; 0: the newest)
// and, when EndTime is set, with engine time below it (unix ns).
type Page struct {
	Before  uint64
	EndTime int64
	Limit   int // 1..MaxQueryRows
}

func (p Page) check() error {
	if p.Limit <= 0 || p.Limit > MaxQueryRows {
		return ErrLimit
	}
	return nil
}

// cond appends the page's seq and time bounds for the columns given.
func (p Page) cond(seqCol, timeCol string, conds []string, args []any) ([]string, []any) {
	if p.Before != 0 {
		conds, args = append(conds, seqCol+" < ?"), append(args, int64(p.Before))
	}
	if p.EndTime != 0 {
		conds, args = append(conds, timeCol+" < ?"), append(args, p.EndTime)
	}
	return conds, args
}

// statementCols are the statement table's columns, in row order.
var statementCols = []string{"seq", "time", "client", "kind_code", "market", "step", "price", "qty", "remaining", "amount", "code",
	"fin_kind", "fin_asset", "fin_currency", "fin_qty", "fin_amount", "fin_fine", "fin_base", "fin_debit", "fin_lending",
	"fin_short", "fin_deadline", "fin_step", "fin_trigger", "fin_ppm", "fin_day"}

// statementRow is one financing statement entry, the fields the in-memory
// read model keeps (marketdata.StatementEntry), so either renders the same.
func statementRow(ev *engine.Event) []any {
	var f lending.Event
	if ev.Fin != nil {
		f = *ev.Fin
	}
	var market, step, price, qty, remaining, amount, code int64
	switch ev.Kind {
	case engine.EvCloseOutOrder:
		market, step, price, qty = int64(ev.Market), int64(ev.Flags), int64(ev.Price), int64(ev.Qty)
		remaining, amount, code = int64(ev.Remaining), int64(ev.Amount), int64(ev.Code)
	case engine.EvSecuritySale:
		step = int64(ev.Flags)
	}
	return []any{int64(ev.Seq), ev.Time, int64(ev.Client), int64(ev.Kind), market, step, price, qty, remaining, amount, code,
		int64(f.Kind), int64(f.Asset), int64(f.Currency), int64(f.Qty), int64(f.Amount), f.Fine, int64(f.Base), int64(f.Debit),
		int64(f.Lending), int64(f.Short), f.Deadline, int64(f.Step), int64(f.Trigger), int64(f.Ppm), f.Day}
}

// StatementRow is one financing statement entry of a client.
type StatementRow struct {
	Seq       uint64
	Time      int64
	Kind      engine.EventKind
	Fin       lending.Event // Kind, Asset, Currency, Qty, Amount, Fine, Base, Debit, Lending, Short, Deadline, Step, Trigger, Ppm, Day
	Market    engine.MarketID
	Step      lending.CloseOutStep
	Price     int64
	Qty       int64
	Remaining int64
	Amount    int64
	Code      engine.Code
}

// StatementPage returns a client's financing statement entries, newest first.
func (s *Store) StatementPage(ctx context.Context, client engine.ClientID, p Page) ([]StatementRow, error) {
	if err := p.check(); err != nil {
		return nil, err
	}
	conds, args := p.cond("seq", "time", []string{"client = ?"}, []any{int64(client)})
	var out []StatementRow
	err := s.query(ctx, "SELECT "+strings.Join(statementCols, ", ")+" FROM financing_statement", conds, args, "client DESC, seq DESC", p.Limit,
		func(rows *sql.Rows) error {
			var v [26]int64
			ptrs := make([]any, len(v))
			for i := range v {
				ptrs[i] = &v[i]
			}
			if err := rows.Scan(ptrs...); err != nil {
				return err
			}
			f := lending.Event{Kind: lending.EventKind(v[11]), Asset: lending.AssetID(v[12]), Currency: lending.AssetID(v[13]),
				Qty: fixed.Amount(v[14]), Amount: fixed.Amount(v[15]), Fine: v[16], Base: fixed.Amount(v[17]), Debit: fixed.Amount(v[18]),
				Lending: fixed.Amount(v[19]), Short: fixed.Amount(v[20]), Deadline: v[21], Step: lending.CloseOutStep(v[22]),
				Trigger: lending.Trigger(v[23]), Ppm: fixed.Ppm(v[24]), Day: v[25]}
			out = append(out, StatementRow{Seq: uint64(v[0]), Time: v[1], Kind: engine.EventKind(v[3]), Fin: f,
				Market: engine.MarketID(v[4]), Step: lending.CloseOutStep(v[5]), Price: v[6], Qty: v[7], Remaining: v[8],
				Amount: v[9], Code: engine.Code(v[10])})
			return nil
		})
	return out, err
}

// FundingRow is one funding payment of a client.
type FundingRow struct {
	Seq      uint64
	Time     int64
	Market   engine.MarketID
	At       int64 // the settlement boundary
	Size     fixed.Qty
	Rate     int64
	Notional fixed.Amount
	Amount   fixed.Amount // signed: < 0 paid
	Balance  fixed.Amount
	Mark     fixed.Price
}

// FundingPage returns a client's funding payments, newest first. EndTime
// bounds the settlement boundary (the time the API shows).
func (s *Store) FundingPage(ctx context.Context, client engine.ClientID, p Page) ([]FundingRow, error) {
	if err := p.check(); err != nil {
		return nil, err
	}
	conds, args := p.cond("seq", "boundary", []string{"client = ?"}, []any{int64(client)})
	var out []FundingRow
	err := s.query(ctx, "SELECT seq, time, market, boundary, size, rate, notional, amount, balance, mark FROM funding_payments", conds, args,
		"client DESC, seq DESC", p.Limit, func(rows *sql.Rows) error {
			var v [10]int64
			if err := rows.Scan(&v[0], &v[1], &v[2], &v[3], &v[4], &v[5], &v[6], &v[7], &v[8], &v[9]); err != nil {
				return err
			}
			out = append(out, FundingRow{Seq: uint64(v[0]), Time: v[1], Market: engine.MarketID(v[2]), At: v[3], Size: fixed.Qty(v[4]),
				Rate: v[5], Notional: fixed.Amount(v[6]), Amount: fixed.Amount(v[7]), Balance: fixed.Amount(v[8]), Mark: fixed.Price(v[9])})
			return nil
		})
	return out, err
}

// FillRow is one fill of a client's order: one side of a trade.
type FillRow struct {
	Seq      uint64 // the trade's event seq (the API's trade_id)
	Time     int64
	Market   engine.MarketID
	Order    book.OrderID
	Key      uint64 // the order's client order id key (0: none or unknown)
	Text     string // the order's client order id text ("": none or not in the log)
	Side     book.Side
	Price    fixed.Price
	Qty      fixed.Qty
	Fee      fixed.Amount
	Realized fixed.Amount
	Maker    bool
}

// FillPage returns a client's fills, newest first. A trade between two
// orders of the same client is two fills with the same seq, the maker's
// first (the order the in-memory read model lists them in); a page never
// ends between them (it holds one row more than Limit then), so the seq
// cursor neither repeats nor skips a fill.
func (s *Store) FillPage(ctx context.Context, client engine.ClientID, p Page) ([]FillRow, error) {
	if err := p.check(); err != nil {
		return nil, err
	}
	var sides [2][]FillRow
	q := p
	q.Limit++ // one more per side: the twin of a self-trade cut at the limit
	for i, side := range []string{"taker", "maker"} {
		rows, err := s.fillSide(ctx, client, side, q)
		if err != nil {
			return nil, err
		}
		sides[i] = rows
	}
	out := mergeFills(sides[0], sides[1], p.Limit)
	return out, s.fillKeys(ctx, client, out)
}

// fillSide reads one side's fills through its (client, time) index; time
// rises with seq, so walking it backwards is seq order.
func (s *Store) fillSide(ctx context.Context, client engine.ClientID, side string, p Page) ([]FillRow, error) {
	conds, args := p.cond("seq", "time", []string{side + "_client = ?"}, []any{int64(client)})
	if p.Before != 0 {
		// Bound the index walk by the cursor's time too, so a deep page
		// does not scan every newer fill first.
		var t sql.NullInt64
		err := s.db.QueryRowContext(ctx, s.rebind(`SELECT MAX(time) FROM events WHERE seq < ? AND seq >= ?`),
			int64(p.Before), int64(p.Before)-1).Scan(&t)
		if err != nil {
			return nil, err
		}
		if t.Valid {
			conds, args = append(conds, "time <= ?"), append(args, t.Int64)
		}
	}
	var out []FillRow
	err := s.query(ctx, "SELECT "+fillCols(side)+" FROM trades", conds, args, side+"_client DESC, time DESC, seq DESC", p.Limit,
		func(rows *sql.Rows) error {
			f, err := scanFill(rows, side)
			out = append(out, f)
			return err
		})
	return out, err
}

// fillCols are the trades columns of one side's fill, as scanFill reads them.
func fillCols(side string) string {
	return "seq, time, market, " + side + "_order, taker_side, price, qty, " + side + "_fee, " + side + "_realized"
}

// scanFill reads a fill of side (taker or maker) selected by fillCols;
// a maker's side is the opposite of the taker's.
func scanFill(rows *sql.Rows, side string) (FillRow, error) {
	var v [9]int64
	if err := rows.Scan(&v[0], &v[1], &v[2], &v[3], &v[4], &v[5], &v[6], &v[7], &v[8]); err != nil {
		return FillRow{}, err
	}
	f := FillRow{Seq: uint64(v[0]), Time: v[1], Market: engine.MarketID(v[2]), Order: book.OrderID(v[3]), Side: book.Side(v[4]),
		Price: fixed.Price(v[5]), Qty: fixed.Qty(v[6]), Fee: fixed.Amount(v[7]), Realized: fixed.Amount(v[8]), Maker: side == "maker"}
	if f.Maker {
		f.Side = f.Side.Opposite()
	}
	return f, nil
}

// mergeFills merges two newest-first lists, the maker's first on a tie,
// up to limit rows and the twin of the last one.
func mergeFills(taker, maker []FillRow, limit int) []FillRow {
	out := make([]FillRow, 0, min(limit+1, len(taker)+len(maker)))
	for len(taker) > 0 || len(maker) > 0 {
		var next FillRow
		if len(taker) == 0 || (len(maker) > 0 && maker[0].Seq >= taker[0].Seq) {
			next, maker = maker[0], maker[1:]
		} else {
			next, taker = taker[0], taker[1:]
		}
		if len(out) >= limit && next.Seq != out[len(out)-1].Seq {
			break
		}
		out = append(out, next)
	}
	return out
}

// fillKeys fills in each fill's client order id key and text from its
// order's acceptance (the trades table does not repeat them).
func (s *Store) fillKeys(ctx context.Context, client engine.ClientID, fills []FillRow) error {
	if len(fills) == 0 {
		return nil
	}
	ids := make([]book.OrderID, 0, len(fills))
	for _, f := range fills {
		ids = append(ids, f.Order)
	}
	// Every step, acceptances picked here: with event = 'accepted' in the
	// query, SQLite's planner takes the partial orders_client_accepted
	// index (client only) over (order_id, client) and reads the client's
	// whole order history (TestSQLiteOrderQueryPlans).
	steps, err := s.orderSteps(ctx, client, ids, "")
	if err != nil {
		return err
	}
	accepted := map[[2]int64]*OrderEvent{}
	for i, o := range steps {
		if o.Event == "accepted" {
			accepted[[2]int64{int64(o.Market), int64(o.Order)}] = &steps[i]
		}
	}
	for i := range fills {
		if o := accepted[[2]int64{int64(fills[i].Market), int64(fills[i].Order)}]; o != nil {
			fills[i].Key, fills[i].Text = o.ClientOrderID, o.Text
		}
	}
	return nil
}

// orderSteps returns the given orders' lifecycle rows of a client, in seq
// order, through the (order_id, client) index.
func (s *Store) orderSteps(ctx context.Context, client engine.ClientID, ids []book.OrderID, extra string) ([]OrderEvent, error) {
	conds := []string{"client = ?", "order_id IN (" + placeholders(len(ids)) + ")"}
	args := []any{int64(client)}
	for _, id := range ids {
		args = append(args, int64(id))
	}
	if extra != "" {
		conds = append(conds, extra)
	}
	var out []OrderEvent
	err := s.query(ctx, `SELECT `+orderCols+` FROM orders`,
		conds, args, "seq", len(ids)*MaxQueryRows, func(rows *sql.Rows) error {
			o, err := scanOrderEvent(rows)
			out = append(out, o)
			return err
		})
	return out, err
}

func placeholders(n int) string { return strings.TrimSuffix(strings.Repeat("?, ", n), ", ") }

// orderCols are the orders columns scanOrderEvent reads, in its order.
const orderCols = "seq, time, client, market, order_id, client_order_id, event, side, price, qty, flags, code, client_order_text"

func scanOrderEvent(rows *sql.Rows) (OrderEvent, error) {
	var o OrderEvent
	var v [11]int64
	var text sql.NullString
	if err := rows.Scan(&v[0], &v[1], &v[2], &v[3], &v[4], &v[5], &o.Event, &v[6], &v[7], &v[8], &v[9], &v[10], &text); err != nil {
		return o, err
	}
	o.Text = text.String
	o.Seq, o.Time, o.Client, o.Market, o.Order = uint64(v[0]), v[1], engine.ClientID(v[2]), engine.MarketID(v[3]), book.OrderID(v[4])
	o.ClientOrderID, o.Side, o.Price, o.Qty, o.Flags = uint64(v[5]), book.Side(v[6]), fixed.Price(v[7]), fixed.Qty(v[8]), uint8(v[9])
	o.Code = engine.Code(v[10])
	return o, nil
}

// OrderHistory is one page of a client's orders: the orders accepted in
// the page (newest first, by their acceptance) with every later step and
// fill of theirs, in seq order, for the caller to fold into order states.
type OrderHistory struct {
	Accepted []OrderEvent // newest first
	Steps    []OrderEvent // every lifecycle row of these orders, seq order
	Fills    []FillRow    // every fill of these orders, seq order
}

// OrderPage returns a page of a client's orders by acceptance. EndTime
// bounds the acceptance time.
func (s *Store) OrderPage(ctx context.Context, client engine.ClientID, p Page) (OrderHistory, error) {
	var h OrderHistory
	if err := p.check(); err != nil {
		return h, err
	}
	conds, args := p.cond("seq", "time", []string{"client = ?", "event = 'accepted'"}, []any{int64(client)})
	err := s.query(ctx, `SELECT `+orderCols+` FROM orders`,
		conds, args, "client DESC, seq DESC", p.Limit, func(rows *sql.Rows) error {
			o, err := scanOrderEvent(rows)
			h.Accepted = append(h.Accepted, o)
			return err
		})
	if err != nil || len(h.Accepted) == 0 {
		return h, err
	}
	ids := make([]book.OrderID, 0, len(h.Accepted))
	for _, o := range h.Accepted {
		ids = append(ids, o.Order)
	}
	oldest := strconv.FormatUint(h.Accepted[len(h.Accepted)-1].Seq, 10)
	if h.Steps, err = s.orderSteps(ctx, client, ids, "seq >= "+oldest); err != nil {
		return h, err
	}
	h.Fills, err = s.orderFills(ctx, client, ids, oldest)
	return h, err
}

// OrdersByID returns the given orders of a client (ids across markets: an
// id may name an order in each market) as OrderPage does: their
// acceptances (in seq order), every step and every fill, for the caller to
// fold. The gateway uses it for open orders the memory no longer holds.
func (s *Store) OrdersByID(ctx context.Context, client engine.ClientID, ids []book.OrderID) (OrderHistory, error) {
	var h OrderHistory
	if len(ids) == 0 {
		return h, nil
	}
	if len(ids) > MaxQueryRows {
		return h, ErrLimit
	}
	steps, err := s.orderSteps(ctx, client, ids, "")
	if err != nil {
		return h, err
	}
	for _, o := range steps {
		if o.Event == "accepted" {
			h.Accepted = append(h.Accepted, o)
		}
	}
	if len(h.Accepted) == 0 {
		return h, nil
	}
	h.Steps = steps
	h.Fills, err = s.orderFills(ctx, client, ids, strconv.FormatUint(h.Accepted[0].Seq, 10))
	return h, err
}

// orderFills returns the fills of the given orders (either side), seq
// order, through the trades' order indexes.
func (s *Store) orderFills(ctx context.Context, client engine.ClientID, ids []book.OrderID, fromSeq string) ([]FillRow, error) {
	var all []FillRow
	for _, side := range []string{"taker", "maker"} {
		args := []any{int64(client)}
		for _, id := range ids {
			args = append(args, int64(id))
		}
		conds := []string{side + "_client = ?", side + "_order IN (" + placeholders(len(ids)) + ")", "seq >= " + fromSeq}
		err := s.query(ctx, "SELECT "+fillCols(side)+" FROM trades", conds, args, "seq", len(ids)*MaxQueryRows, func(rows *sql.Rows) error {
			f, err := scanFill(rows, side)
			all = append(all, f)
			return err
		})
		if err != nil {
			return nil, err
		}
	}
	// Taker before maker within one seq: the order the engine settles
	// them in (marketdata applies the taker's fill first).
	sortFills(all)
	return all, nil
}

func sortFills(fs []FillRow) {
	sort.SliceStable(fs, func(i, j int) bool { return fillLess(fs[i], fs[j]) })
}

func fillLess(a, b FillRow) bool {
	if a.Seq != b.Seq {
		return a.Seq < b.Seq
	}
	return !a.Maker && b.Maker
}

// AcceptedSeq returns the seq of an order's acceptance (ok false: the
// store does not hold it yet), through the (order_id, client) index: the
// cursor after a page of orders the memory answered.
func (s *Store) AcceptedSeq(ctx context.Context, client engine.ClientID, market engine.MarketID, order book.OrderID) (uint64, bool, error) {
	var seq int64
	err := s.db.QueryRowContext(ctx, s.rebind(`SELECT seq FROM orders WHERE client = ? AND order_id = ? AND market = ? AND event = 'accepted'`),
		int64(client), int64(order), int64(market)).Scan(&seq)
	if err == sql.ErrNoRows {
		return 0, false, nil
	}
	return uint64(seq), err == nil, err
}

// FundingSeq returns the seq of a client's funding payment in a market at
// the settlement boundary in [from, to) (unix ns; the API shows it in ms):
// the cursor after a page of payments the memory answered.
func (s *Store) FundingSeq(ctx context.Context, client engine.ClientID, market engine.MarketID, from, to int64) (uint64, bool, error) {
	var n sql.NullInt64
	err := s.db.QueryRowContext(ctx, s.rebind(`SELECT MAX(seq) FROM funding_payments WHERE client = ? AND market = ? AND boundary >= ? AND boundary < ?`),
		int64(client), int64(market), from, to).Scan(&n)
	return uint64(n.Int64), n.Valid, err
}
