package projector

import (
	"context"
	"database/sql"
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/sampan-hk/sampan/core/book"
	"github.com/sampan-hk/sampan/core/engine"
	"github.com/sampan-hk/sampan/core/fixed"
)

// Store answers history queries for reports from either sink. Results are
// in seq order; page with Limit and AfterSeq (the last seq of the previous
// page).
type Store struct {
	db     *sql.DB
	dollar bool // PostgreSQL placeholders ($1) instead of SQLite's (?)
}

// MaxQueryRows bounds one query's page.
const MaxQueryRows = 10_000

// ErrLimit rejects a page size above MaxQueryRows.
var ErrLimit = fmt.Errorf("projector: limit above %d rows", MaxQueryRows)

// Range selects rows by engine time (unix ns, From inclusive, To exclusive;
// zero means unbounded) and pages them.
type Range struct {
	From, To int64
	AfterSeq uint64
	Limit    int // 0: MaxQueryRows
}

func (s *Store) rebind(q string) string {
	if !s.dollar {
		return q
	}
	var b strings.Builder
	n := 0
	for i := 0; i < len(q); i++ {
		if q[i] == '?' {
			n++
			b.WriteString("$" + strconv.Itoa(n))
			continue
		}
		b.WriteByte(q[i])
	}
	return b.String()
}

// where appends the time range and page conditions.
func (r Range) where(col string, conds []string, args []any) ([]string, []any, int, error) {
	if r.Limit < 0 || r.Limit > MaxQueryRows {
		return nil, nil, 0, ErrLimit
	}
	limit := r.Limit
	if limit == 0 {
		limit = MaxQueryRows
	}
	if r.From != 0 {
		conds, args = append(conds, col+"time >= ?"), append(args, r.From)
	}
	if r.To != 0 {
		conds, args = append(conds, col+"time < ?"), append(args, r.To)
	}
	if r.AfterSeq != 0 {
		conds, args = append(conds, col+"seq > ?"), append(args, int64(r.AfterSeq))
	}
	return conds, args, limit, nil
}

func (s *Store) query(ctx context.Context, sel string, conds []string, args []any, order string, limit int,
	scan func(*sql.Rows) error) error {
	q := sel
	if len(conds) > 0 {
		q += " WHERE " + strings.Join(conds, " AND ")
	}
	q += " ORDER BY " + order + " LIMIT " + strconv.Itoa(limit)
	rows, err := s.db.QueryContext(ctx, s.rebind(q), args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		if err := scan(rows); err != nil {
			return err
		}
	}
	return rows.Err()
}

// State is the projector's resume point as stored.
type State struct {
	LastSeq   uint64
	LastTime  int64 // engine time of the last event
	UpdatedAt int64 // wall clock of the last flush, unix ns
}

// State returns projector_state.
func (s *Store) State(ctx context.Context) (State, error) {
	var st State
	var seq int64
	err := s.db.QueryRowContext(ctx, `SELECT last_seq, last_time, updated_at FROM projector_state WHERE id = 1`).
		Scan(&seq, &st.LastTime, &st.UpdatedAt)
	st.LastSeq = uint64(seq)
	return st, err
}

// Trade is one fill.
type Trade struct {
	Seq                          uint64
	Time                         int64
	Market                       engine.MarketID
	Price                        fixed.Price
	Qty                          fixed.Qty
	TakerClient, MakerClient     engine.ClientID
	TakerOrder, MakerOrder       book.OrderID
	TakerSide                    book.Side
	TakerFee, MakerFee           fixed.Amount
	TakerRealized, MakerRealized fixed.Amount
}

// Trades returns a client's trades (as taker or maker; client 0: all).
func (s *Store) Trades(ctx context.Context, client engine.ClientID, r Range) ([]Trade, error) {
	var conds []string
	var args []any
	if client != 0 {
		conds, args = append(conds, "(taker_client = ? OR maker_client = ?)"), append(args, int64(client), int64(client))
	}
	conds, args, limit, err := r.where("", conds, args)
	if err != nil {
		return nil, err
	}
	var out []Trade
	err = s.query(ctx, `SELECT seq, time, market, price, qty, taker_client, maker_client, taker_order, maker_order, taker_side,
		taker_fee, maker_fee, taker_realized, maker_realized FROM trades`, conds, args, "seq", limit, func(rows *sql.Rows) error {
		var t Trade
		var v [14]int64
		if err := rows.Scan(&v[0], &v[1], &v[2], &v[3], &v[4], &v[5], &v[6], &v[7], &v[8], &v[9], &v[10], &v[11], &v[12], &v[13]); err != nil {
			return err
		}
		t.Seq, t.Time, t.Market, t.Price, t.Qty = uint64(v[0]), v[1], engine.MarketID(v[2]), fixed.Price(v[3]), fixed.Qty(v[4])
		t.TakerClient, t.MakerClient = engine.ClientID(v[5]), engine.ClientID(v[6])
		t.TakerOrder, t.MakerOrder, t.TakerSide = book.OrderID(v[7]), book.OrderID(v[8]), book.Side(v[9])
		t.TakerFee, t.MakerFee, t.TakerRealized, t.MakerRealized = fixed.Amount(v[10]), fixed.Amount(v[11]), fixed.Amount(v[12]), fixed.Amount(v[13])
		out = append(out, t)
		return nil
	})
	return out, err
}

// LedgerMove is one money move of a client: a deposit, withdrawal,
// transfer leg, fee, realized PnL or funding payment. Amount is signed
// (negative: out of the client's account).
type LedgerMove struct {
	Seq        uint64
	Leg        int
	Time       int64
	Client     engine.ClientID
	Market     engine.MarketID
	HasMarket  bool
	Kind       string // Ledger* constants
	Account    string // "derivatives", "financing" or "" (not recorded)
	Amount     fixed.Amount
	Balance    fixed.Amount // after the move, where the event carries it
	HasBalance bool
	Rate       int64 // funding: the settled rate (funding.Rate units)
}

// Ledger returns a client's money moves of the given kinds (none: all).
func (s *Store) Ledger(ctx context.Context, client engine.ClientID, kinds []string, r Range) ([]LedgerMove, error) {
	var conds []string
	var args []any
	if client != 0 {
		conds, args = append(conds, "client = ?"), append(args, int64(client))
	}
	if len(kinds) > 0 {
		conds = append(conds, "kind IN ("+strings.TrimSuffix(strings.Repeat("?, ", len(kinds)), ", ")+")")
		for _, k := range kinds {
			args = append(args, k)
		}
	}
	conds, args, limit, err := r.where("", conds, args)
	if err != nil {
		return nil, err
	}
	var out []LedgerMove
	err = s.query(ctx, `SELECT seq, leg, time, client, market, kind, account, amount, balance, rate FROM ledger`,
		conds, args, "seq, leg", limit, func(rows *sql.Rows) error {
			var m LedgerMove
			var seq, leg, client, amount int64
			var market, balance, rate sql.NullInt64
			var account sql.NullString
			if err := rows.Scan(&seq, &leg, &m.Time, &client, &market, &m.Kind, &account, &amount, &balance, &rate); err != nil {
				return err
			}
			m.Seq, m.Leg, m.Client, m.Amount = uint64(seq), int(leg), engine.ClientID(client), fixed.Amount(amount)
			m.Market, m.HasMarket = engine.MarketID(market.Int64), market.Valid
			m.Balance, m.HasBalance = fixed.Amount(balance.Int64), balance.Valid
			m.Account, m.Rate = account.String, rate.Int64
			out = append(out, m)
			return nil
		})
	return out, err
}

// FundingPayments returns a client's funding payments.
func (s *Store) FundingPayments(ctx context.Context, client engine.ClientID, r Range) ([]LedgerMove, error) {
	return s.Ledger(ctx, client, []string{LedgerFunding}, r)
}

// Cash returns a client's deposit and withdrawal history.
func (s *Store) Cash(ctx context.Context, client engine.ClientID, r Range) ([]LedgerMove, error) {
	return s.Ledger(ctx, client, []string{LedgerDeposit, LedgerWithdrawal}, r)
}

// Position is a client's position in one market after an event.
type Position struct {
	Seq      uint64
	Time     int64
	Client   engine.ClientID
	Market   engine.MarketID
	Size     fixed.Qty
	Cost     fixed.Amount
	Realized fixed.Amount
	Mark     fixed.Price
	LiqPrice fixed.Price
}

func scanPosition(rows *sql.Rows) (Position, error) {
	var v [9]int64
	if err := rows.Scan(&v[0], &v[1], &v[2], &v[3], &v[4], &v[5], &v[6], &v[7], &v[8]); err != nil {
		return Position{}, err
	}
	return Position{Seq: uint64(v[0]), Time: v[1], Client: engine.ClientID(v[2]), Market: engine.MarketID(v[3]), Size: fixed.Qty(v[4]),
		Cost: fixed.Amount(v[5]), Realized: fixed.Amount(v[6]), Mark: fixed.Price(v[7]), LiqPrice: fixed.Price(v[8])}, nil
}

// Positions returns the latest position per market of a client (0: every
// client), including flat ones that were open once.
func (s *Store) Positions(ctx context.Context, client engine.ClientID) ([]Position, error) {
	var conds []string
	var args []any
	if client != 0 {
		conds, args = append(conds, "client = ?"), append(args, int64(client))
	}
	var out []Position
	err := s.query(ctx, `SELECT seq, time, client, market, size, cost, realized, mark, liq_price FROM positions_latest`,
		conds, args, "client, market", math.MaxInt32, func(rows *sql.Rows) error {
			p, err := scanPosition(rows)
			out = append(out, p)
			return err
		})
	return out, err
}

// PositionHistory returns every position change of a client in a market.
func (s *Store) PositionHistory(ctx context.Context, client engine.ClientID, market engine.MarketID, r Range) ([]Position, error) {
	conds, args, limit, err := r.where("", []string{"client = ?", "market = ?"}, []any{int64(client), int64(market)})
	if err != nil {
		return nil, err
	}
	var out []Position
	err = s.query(ctx, `SELECT seq, time, client, market, size, cost, realized, mark, liq_price FROM positions`,
		conds, args, "seq", limit, func(rows *sql.Rows) error {
			p, err := scanPosition(rows)
			out = append(out, p)
			return err
		})
	return out, err
}

// OrderEvent is one step of an order's lifecycle.
type OrderEvent struct {
	Seq           uint64
	Time          int64
	Client        engine.ClientID
	Market        engine.MarketID
	Order         book.OrderID
	ClientOrderID uint64
	Event         string // accepted, amended, cancelled, expired
	Side          book.Side
	Price         fixed.Price
	Qty           fixed.Qty // accepted/amended: the quantity; cancelled/expired: the unfilled rest
	Flags         uint8
	Code          engine.Code
	// Text is the client order id as the client wrote it, on the accepted
	// row of a named place ("" for others, and for orders logged before
	// the log carried texts).
	Text string
}

// Orders returns a client's order events; order 0 means every order.
// Fills are trades (Trades).
func (s *Store) Orders(ctx context.Context, client engine.ClientID, order book.OrderID, r Range) ([]OrderEvent, error) {
	conds, args := []string{"client = ?"}, []any{int64(client)}
	if order != 0 {
		conds, args = append(conds, "order_id = ?"), append(args, int64(order))
	}
	conds, args, limit, err := r.where("", conds, args)
	if err != nil {
		return nil, err
	}
	var out []OrderEvent
	err = s.query(ctx, `SELECT `+orderCols+` FROM orders`,
		conds, args, "seq", limit, func(rows *sql.Rows) error {
			o, err := scanOrderEvent(rows)
			out = append(out, o)
			return err
		})
	return out, err
}

// PricePoint is one published price: mark_set, mark, index, index_source
// or funding_rate.
type PricePoint struct {
	Seq    uint64
	Time   int64
	Market engine.MarketID
	Kind   string
	Price  fixed.Price
	Source int64 // index_source: the venue
	Rate   int64 // mark: funding rate used; funding_rate: the settled rate
}

// Prices returns a market's prices of one kind.
func (s *Store) Prices(ctx context.Context, market engine.MarketID, kind string, r Range) ([]PricePoint, error) {
	conds, args, limit, err := r.where("", []string{"market = ?", "kind = ?"}, []any{int64(market), kind})
	if err != nil {
		return nil, err
	}
	var out []PricePoint
	err = s.query(ctx, `SELECT seq, time, market, kind, price, source, rate FROM prices`, conds, args, "seq", limit,
		func(rows *sql.Rows) error {
			var p PricePoint
			var seq, market, price int64
			var source, rate sql.NullInt64
			if err := rows.Scan(&seq, &p.Time, &market, &p.Kind, &price, &source, &rate); err != nil {
				return err
			}
			p.Seq, p.Market, p.Price, p.Source, p.Rate = uint64(seq), engine.MarketID(market), fixed.Price(price), source.Int64, rate.Int64
			out = append(out, p)
			return nil
		})
	return out, err
}

// Summary is a store-wide check: how many events of each kind, and whether
// the events view is exactly seq 1..LastSeq (no gap, and no event stored
// twice, in one table or across events_other and the kind tables).
type Summary struct {
	Events         int64
	MinSeq, MaxSeq uint64
	ByKind         map[string]int64
	LastSeq        uint64
}

// Contiguous says the events view holds exactly seq 1..LastSeq.
func (s Summary) Contiguous() bool {
	return s.Events == int64(s.LastSeq) && (s.Events == 0 || (s.MinSeq == 1 && s.MaxSeq == s.LastSeq))
}

// Summarize counts the events view.
func (s *Store) Summarize(ctx context.Context) (Summary, error) {
	sum := Summary{ByKind: map[string]int64{}}
	var minSeq, maxSeq sql.NullInt64
	if err := s.db.QueryRowContext(ctx, `SELECT COUNT(*), MIN(seq), MAX(seq) FROM events`).Scan(&sum.Events, &minSeq, &maxSeq); err != nil {
		return sum, err
	}
	sum.MinSeq, sum.MaxSeq = uint64(minSeq.Int64), uint64(maxSeq.Int64)
	rows, err := s.db.QueryContext(ctx, `SELECT kind, COUNT(*) FROM events GROUP BY kind`)
	if err != nil {
		return sum, err
	}
	defer rows.Close()
	for rows.Next() {
		var k string
		var n int64
		if err := rows.Scan(&k, &n); err != nil {
			return sum, err
		}
		sum.ByKind[k] = n
	}
	if err := rows.Err(); err != nil {
		return sum, err
	}
	st, err := s.State(ctx)
	if err != nil {
		return sum, err
	}
	sum.LastSeq = st.LastSeq
	return sum, nil
}
