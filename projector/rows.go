package projector

import (
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/sampan-hk/sampan/core/engine"
)

// This file maps engine events to table rows. Both sinks write exactly these
// rows, so the mapping is defined once and the schema is the same on SQLite
// and PostgreSQL (portable types only: BIGINT, TEXT, BOOLEAN).
//
// Values are the engine's integer fixed-point units, never floats: prices in
// ticks, quantities in lots, amounts in quote units (6 decimals for USD in
// the default config). Reports format them with the market spec.

// table is one projected table and the rows a flush adds to it.
type table struct {
	name string
	cols []string
	rows [][]any
}

// schema is the DDL, in order. Every row table is keyed by the event seq
// (plus a leg number where one event makes several rows), so a row can never
// be written twice: a repeated seq fails the whole transaction.
var schema = []string{
	// events_other holds the events of kinds without a table of their own;
	// the events view (eventsView, below) adds the order steps, trades and
	// positions, derived from their tables, so each event is stored once.
	`CREATE TABLE IF NOT EXISTS events_other (
		seq BIGINT PRIMARY KEY,
		time BIGINT NOT NULL,
		kind TEXT NOT NULL,
		kind_code BIGINT NOT NULL,
		client BIGINT,
		market BIGINT,
		order_id BIGINT,
		side BIGINT,
		price BIGINT,
		qty BIGINT,
		amount BIGINT,
		balance BIGINT,
		size BIGINT,
		code BIGINT,
		flag BOOLEAN
	)`,
	// No (client, time) or (kind, time) index on the events: every
	// per-client or per-kind query reads the kind's own table (trades,
	// orders, ledger, prices, ...), each with its own index. Stores created
	// with them lose them (the migration keeps them on events_other).
	`DROP INDEX IF EXISTS events_client_time`,
	`DROP INDEX IF EXISTS events_kind_time`,
	`CREATE TABLE IF NOT EXISTS trades (
		seq BIGINT PRIMARY KEY,
		time BIGINT NOT NULL,
		market BIGINT NOT NULL,
		price BIGINT NOT NULL,
		qty BIGINT NOT NULL,
		taker_client BIGINT NOT NULL,
		taker_order BIGINT NOT NULL,
		taker_side BIGINT NOT NULL,
		taker_fee BIGINT NOT NULL,
		taker_realized BIGINT NOT NULL,
		maker_client BIGINT NOT NULL,
		maker_order BIGINT NOT NULL,
		maker_fee BIGINT NOT NULL,
		maker_realized BIGINT NOT NULL
	)`,
	`CREATE INDEX IF NOT EXISTS trades_taker_time ON trades (taker_client, time)`,
	`CREATE INDEX IF NOT EXISTS trades_maker_time ON trades (maker_client, time)`,
	// Keyed by seq: in SQLite the rowid, so a row is appended at the
	// B-tree's right edge, the cheapest insert there is.
	`CREATE TABLE IF NOT EXISTS orders (
		seq BIGINT PRIMARY KEY,
		time BIGINT NOT NULL,
		client BIGINT NOT NULL,
		market BIGINT NOT NULL,
		order_id BIGINT NOT NULL,
		client_order_id BIGINT NOT NULL,
		event TEXT NOT NULL,
		side BIGINT NOT NULL,
		price BIGINT NOT NULL,
		qty BIGINT NOT NULL,
		flags BIGINT NOT NULL,
		code BIGINT NOT NULL,
		client_order_text TEXT
	)`,
	// An order's steps, found by order id first: ids rise with acceptance
	// in each market's book (core/book: sequence<<20 | slot), so new
	// entries land at one insertion point per active market (the busiest
	// at the right edge), each step beside its order's acceptance. The
	// (client, order_id) index it replaces had one per active client, deep
	// in the tree, and was a third of an order step's write cost
	// (docs/read-store.md, "Order steps"). A store created before gains
	// this index on open, then loses the old one; either way every query
	// has an index.
	`CREATE INDEX IF NOT EXISTS orders_order_client ON orders (order_id, client)`,
	`DROP INDEX IF EXISTS orders_client_order`,
	`CREATE TABLE IF NOT EXISTS positions (
		seq BIGINT PRIMARY KEY,
		time BIGINT NOT NULL,
		client BIGINT NOT NULL,
		market BIGINT NOT NULL,
		size BIGINT NOT NULL,
		cost BIGINT NOT NULL,
		realized BIGINT NOT NULL,
		mark BIGINT NOT NULL,
		liq_price BIGINT NOT NULL
	)`,
	`CREATE INDEX IF NOT EXISTS positions_client_market ON positions (client, market, seq)`,
	`CREATE TABLE IF NOT EXISTS positions_latest (
		client BIGINT NOT NULL,
		market BIGINT NOT NULL,
		seq BIGINT NOT NULL,
		time BIGINT NOT NULL,
		size BIGINT NOT NULL,
		cost BIGINT NOT NULL,
		realized BIGINT NOT NULL,
		mark BIGINT NOT NULL,
		liq_price BIGINT NOT NULL,
		PRIMARY KEY (client, market)
	)`,
	`CREATE TABLE IF NOT EXISTS ledger (
		seq BIGINT NOT NULL,
		leg BIGINT NOT NULL,
		time BIGINT NOT NULL,
		client BIGINT NOT NULL,
		market BIGINT,
		kind TEXT NOT NULL,
		account TEXT,
		amount BIGINT NOT NULL,
		balance BIGINT,
		rate BIGINT,
		PRIMARY KEY (seq, leg)
	)`,
	`CREATE INDEX IF NOT EXISTS ledger_client_kind_time ON ledger (client, kind, time)`,
	`CREATE TABLE IF NOT EXISTS prices (
		seq BIGINT PRIMARY KEY,
		time BIGINT NOT NULL,
		market BIGINT NOT NULL,
		kind TEXT NOT NULL,
		price BIGINT NOT NULL,
		source BIGINT,
		rate BIGINT,
		flag BOOLEAN
	)`,
	`CREATE INDEX IF NOT EXISTS prices_market_kind_time ON prices (market, kind, time)`,
	// History for the API (docs/read-store.md, "Serving the API"). The
	// partial index pages a client's orders by acceptance without costing
	// the other order steps anything; the two trade indexes find an
	// order's fills (an order's state is folded from its steps and fills).
	// Order ids cannot order a client's orders across markets (each book
	// counts its own), so this one leads with the client.
	`CREATE INDEX IF NOT EXISTS orders_client_accepted ON orders (client, seq) WHERE event = 'accepted'`,
	`CREATE INDEX IF NOT EXISTS trades_taker_order ON trades (taker_order)`,
	`CREATE INDEX IF NOT EXISTS trades_maker_order ON trades (maker_order)`,
	// Funding payments and financing statement entries in full (the
	// ledger keeps only the money move): rare rows, so cheap to keep.
	`CREATE TABLE IF NOT EXISTS funding_payments (
		seq BIGINT PRIMARY KEY,
		time BIGINT NOT NULL,
		client BIGINT NOT NULL,
		market BIGINT NOT NULL,
		boundary BIGINT NOT NULL,
		size BIGINT NOT NULL,
		rate BIGINT NOT NULL,
		notional BIGINT NOT NULL,
		amount BIGINT NOT NULL,
		balance BIGINT NOT NULL,
		mark BIGINT NOT NULL
	)`,
	`CREATE INDEX IF NOT EXISTS funding_payments_client ON funding_payments (client, seq)`,
	`CREATE TABLE IF NOT EXISTS financing_statement (
		seq BIGINT PRIMARY KEY,
		time BIGINT NOT NULL,
		client BIGINT NOT NULL,
		kind_code BIGINT NOT NULL,
		market BIGINT NOT NULL,
		step BIGINT NOT NULL,
		price BIGINT NOT NULL,
		qty BIGINT NOT NULL,
		remaining BIGINT NOT NULL,
		amount BIGINT NOT NULL,
		code BIGINT NOT NULL,
		fin_kind BIGINT NOT NULL,
		fin_asset BIGINT NOT NULL,
		fin_currency BIGINT NOT NULL,
		fin_qty BIGINT NOT NULL,
		fin_amount BIGINT NOT NULL,
		fin_fine BIGINT NOT NULL,
		fin_base BIGINT NOT NULL,
		fin_debit BIGINT NOT NULL,
		fin_lending BIGINT NOT NULL,
		fin_short BIGINT NOT NULL,
		fin_deadline BIGINT NOT NULL,
		fin_step BIGINT NOT NULL,
		fin_trigger BIGINT NOT NULL,
		fin_ppm BIGINT NOT NULL,
		fin_day BIGINT NOT NULL
	)`,
	`CREATE INDEX IF NOT EXISTS financing_statement_client ON financing_statement (client, seq)`,
	// Replaced rather than dropped on PostgreSQL, so grants on the view
	// and views over it survive a restart (sqliteDDL adapts it).
	eventsView(),
	`CREATE TABLE IF NOT EXISTS projector_state (
		id BIGINT PRIMARY KEY,
		last_seq BIGINT NOT NULL,
		last_time BIGINT NOT NULL,
		updated_at BIGINT NOT NULL
	)`,
	`INSERT INTO projector_state (id, last_seq, last_time, updated_at) VALUES (1, 0, 0, 0) ON CONFLICT (id) DO NOTHING`,
}

// Ledger kinds (the ledger table's kind column).
const (
	LedgerDeposit     = "deposit"
	LedgerWithdrawal  = "withdrawal"
	LedgerTransferOut = "transfer_out"
	LedgerTransferIn  = "transfer_in"
	LedgerFee         = "fee"
	LedgerRealized    = "realized_pnl"
	LedgerFunding     = "funding"
)

// Leg numbers of a trade's ledger rows: one event, up to four moves.
const (
	legTakerFee = iota
	legMakerFee
	legTakerRealized
	legMakerRealized
)

// Rows is what one flush writes: the rows of every table for a contiguous
// run of events, and the seq they bring the store to.
type Rows struct {
	Events, Trades, Orders, Positions, Ledger, Prices table
	Funding, Statement                                table
	// latest holds the newest position per (client, market) in this flush;
	// LatestRows returns them as upserts for positions_latest.
	latest map[[2]int64][]any
	// First and Last are the first and last event seq in the flush; Time is
	// the engine time of the last event.
	First, Last uint64
	Time        int64
	N           int
}

var latestCols = []string{"client", "market", "seq", "time", "size", "cost", "realized", "mark", "liq_price"}

func newRows() *Rows {
	return &Rows{
		Events: table{name: "events_other", cols: []string{"seq", "time", "kind", "kind_code", "client", "market", "order_id", "side",
			"price", "qty", "amount", "balance", "size", "code", "flag"}},
		Trades: table{name: "trades", cols: []string{"seq", "time", "market", "price", "qty", "taker_client", "taker_order",
			"taker_side", "taker_fee", "taker_realized", "maker_client", "maker_order", "maker_fee", "maker_realized"}},
		Orders: table{name: "orders", cols: []string{"seq", "time", "client", "market", "order_id", "client_order_id", "event",
			"side", "price", "qty", "flags", "code", "client_order_text"}},
		Positions: table{name: "positions", cols: []string{"seq", "time", "client", "market", "size", "cost", "realized", "mark", "liq_price"}},
		Ledger:    table{name: "ledger", cols: []string{"seq", "leg", "time", "client", "market", "kind", "account", "amount", "balance", "rate"}},
		Prices:    table{name: "prices", cols: []string{"seq", "time", "market", "kind", "price", "source", "rate", "flag"}},
		Funding: table{name: "funding_payments", cols: []string{"seq", "time", "client", "market", "boundary", "size", "rate", "notional",
			"amount", "balance", "mark"}},
		Statement: table{name: "financing_statement", cols: statementCols},
		latest:    map[[2]int64][]any{},
	}
}

func (r *Rows) reset() {
	for _, t := range r.tables() {
		t.rows = t.rows[:0]
	}
	clear(r.latest)
	r.First, r.Last, r.Time, r.N = 0, 0, 0, 0
}

func (r *Rows) tables() []*table {
	return []*table{&r.Events, &r.Trades, &r.Orders, &r.Positions, &r.Ledger, &r.Prices, &r.Funding, &r.Statement}
}

// LatestRows returns the positions_latest upserts in a fixed order.
func (r *Rows) LatestRows() [][]any {
	keys := make([][2]int64, 0, len(r.latest))
	for k := range r.latest {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		if keys[i][0] != keys[j][0] {
			return keys[i][0] < keys[j][0]
		}
		return keys[i][1] < keys[j][1]
	})
	out := make([][]any, len(keys))
	for i, k := range keys {
		out[i] = r.latest[k]
	}
	return out
}

// hasMarket says whether an event kind concerns a market; the others carry
// Market 0, which is stored as NULL so it is not mistaken for market 0.
func hasMarket(k engine.EventKind) bool {
	switch k {
	case engine.EvClientCreated, engine.EvDeposited, engine.EvWithdrawn, engine.EvTransferred,
		engine.EvClassificationSet, engine.EvKnowledgeSet:
		return false
	}
	return true
}

func nullable(v int64) any {
	if v == 0 {
		return nil
	}
	return v
}

func accountName(a engine.AccountKind) string {
	switch a {
	case engine.Derivatives:
		return "derivatives"
	case engine.Financing:
		return "financing"
	}
	return "?"
}

// ownTable says whether an event kind's rows in its own table hold every
// column of its events row, so the events view derives it from there and
// events_other does not store it again (docs/read-store.md, "One row per
// event"). These are the kinds of an order stream: order steps, trades and
// positions, most of the events of a busy node. The columns an events row
// has and the own table lacks (amount, balance, size, code, flag for a
// trade; amount, balance, size, flag for an order step; order, side, qty,
// amount, balance, code, flag for a position) are not in the kind's journal
// layout (core/engine/encoding.go), so they are always zero: NULL or false
// in the events row, as the view writes them.
func ownTable(k engine.EventKind) bool {
	switch k {
	case engine.EvOrderAccepted, engine.EvOrderCancelled, engine.EvOrderExpired, engine.EvOrderAmended,
		engine.EvTrade, engine.EvPosition:
		return true
	}
	return false
}

// orderSteps names the orders table's event column per event kind.
var orderSteps = []struct {
	kind engine.EventKind
	step string
}{
	{engine.EvOrderAccepted, "accepted"},
	{engine.EvOrderCancelled, "cancelled"},
	{engine.EvOrderExpired, "expired"},
	{engine.EvOrderAmended, "amended"},
}

// eventsView is the full event stream, one row per event: events_other
// plus the rows derived from orders, trades and positions, with exactly the
// values eventRow gives those events (zero → NULL where eventRow makes it
// nullable). Plain SQL both stores run.
func eventsView() string {
	var name, code strings.Builder
	for _, o := range orderSteps {
		fmt.Fprintf(&name, " WHEN '%s' THEN '%s'", o.step, o.kind)
		fmt.Fprintf(&code, " WHEN '%s' THEN %d", o.step, int64(o.kind))
	}
	return `CREATE OR REPLACE VIEW events AS
	SELECT seq, time, kind, kind_code, client, market, order_id, side, price, qty, amount, balance, size, code, flag FROM events_other
	UNION ALL
	SELECT seq, time, CASE event` + name.String() + ` END, CASE event` + code.String() + ` END,
		NULLIF(client, 0), market, NULLIF(order_id, 0), NULLIF(side, 0), NULLIF(price, 0), NULLIF(qty, 0),
		NULL, NULL, NULL, NULLIF(code, 0), FALSE FROM orders
	UNION ALL
	SELECT seq, time, '` + engine.EvTrade.String() + `', ` + strconv.Itoa(int(engine.EvTrade)) + `,
		NULLIF(taker_client, 0), market, NULLIF(taker_order, 0), NULLIF(taker_side, 0), NULLIF(price, 0), NULLIF(qty, 0),
		NULL, NULL, NULL, NULL, FALSE FROM trades
	UNION ALL
	SELECT seq, time, '` + engine.EvPosition.String() + `', ` + strconv.Itoa(int(engine.EvPosition)) + `,
		NULLIF(client, 0), market, NULL, NULL, NULLIF(mark, 0), NULL, NULL, NULL, NULLIF(size, 0), NULL, FALSE FROM positions`
}

// eventRow is an event's row of the events view, in Rows.Events' columns.
func eventRow(ev *engine.Event) []any {
	var market any
	if hasMarket(ev.Kind) {
		market = int64(ev.Market)
	}
	return []any{int64(ev.Seq), ev.Time, ev.Kind.String(), int64(ev.Kind), nullable(int64(ev.Client)), market,
		nullable(int64(ev.Order)), nullable(int64(ev.Side)), nullable(int64(ev.Price)), nullable(int64(ev.Qty)),
		nullable(int64(ev.Amount)), nullable(int64(ev.Balance)), nullable(int64(ev.Size)), nullable(int64(ev.Code)), ev.Flag}
}

// add appends the rows of one event.
func (r *Rows) add(ev *engine.Event) {
	if r.N == 0 {
		r.First = ev.Seq
	}
	r.N++
	r.Last, r.Time = ev.Seq, ev.Time
	seq, t := int64(ev.Seq), ev.Time
	var market any
	if hasMarket(ev.Kind) {
		market = int64(ev.Market)
	}
	if !ownTable(ev.Kind) {
		r.Events.rows = append(r.Events.rows, eventRow(ev))
	}

	c := int64(ev.Client)
	ledger := func(leg int64, kind, account string, amount, balance, rate any) {
		var acc any
		if account != "" {
			acc = account
		}
		r.Ledger.rows = append(r.Ledger.rows, []any{seq, leg, t, c, market, kind, acc, amount, balance, rate})
	}
	price := func(kind string, p int64, source, rate, flag any) {
		r.Prices.rows = append(r.Prices.rows, []any{seq, t, int64(ev.Market), kind, p, source, rate, flag})
	}
	order := func(event string) {
		var text any // the client order id text: a named place's accepted row only
		if ev.Ref != "" {
			text = ev.Ref
		}
		r.Orders.rows = append(r.Orders.rows, []any{seq, t, c, int64(ev.Market), int64(ev.Order), int64(ev.ClientOrderID), event,
			int64(ev.Side), int64(ev.Price), int64(ev.Qty), int64(ev.Flags), int64(ev.Code), text})
	}
	switch ev.Kind {
	case engine.EvDeposited:
		ledger(0, LedgerDeposit, "", int64(ev.Amount), int64(ev.Balance), nil)
	case engine.EvWithdrawn:
		ledger(0, LedgerWithdrawal, "", -int64(ev.Amount), int64(ev.Balance), nil)
	case engine.EvTransferred:
		ledger(0, LedgerTransferOut, accountName(ev.From), -int64(ev.Amount), nil, nil)
		ledger(1, LedgerTransferIn, accountName(ev.To), int64(ev.Amount), nil, nil)
	case engine.EvTrade:
		r.Trades.rows = append(r.Trades.rows, []any{seq, t, int64(ev.Market), int64(ev.Price), int64(ev.Qty),
			c, int64(ev.Order), int64(ev.Side), int64(ev.TakerFee), int64(ev.TakerRealized),
			int64(ev.MakerClient), int64(ev.MakerOrder), int64(ev.MakerFee), int64(ev.MakerRealized)})
		// Fees are paid (negative), a maker rebate is a negative fee and
		// so a positive move. Zero moves are not rows.
		if ev.TakerFee != 0 {
			ledger(legTakerFee, LedgerFee, "derivatives", -int64(ev.TakerFee), nil, nil)
		}
		if ev.MakerFee != 0 {
			r.Ledger.rows = append(r.Ledger.rows, []any{seq, int64(legMakerFee), t, int64(ev.MakerClient), market, LedgerFee,
				"derivatives", -int64(ev.MakerFee), nil, nil})
		}
		if ev.TakerRealized != 0 {
			ledger(legTakerRealized, LedgerRealized, "derivatives", int64(ev.TakerRealized), nil, nil)
		}
		if ev.MakerRealized != 0 {
			r.Ledger.rows = append(r.Ledger.rows, []any{seq, int64(legMakerRealized), t, int64(ev.MakerClient), market, LedgerRealized,
				"derivatives", int64(ev.MakerRealized), nil, nil})
		}
	case engine.EvOrderAccepted:
		order("accepted")
	case engine.EvOrderCancelled:
		order("cancelled")
	case engine.EvOrderExpired:
		order("expired")
	case engine.EvOrderAmended:
		order("amended")
	case engine.EvPosition:
		row := []any{seq, t, c, int64(ev.Market), int64(ev.Size), int64(ev.Cost), int64(ev.Realized), int64(ev.Price), int64(ev.LiqPrice)}
		r.Positions.rows = append(r.Positions.rows, row)
		r.latest[[2]int64{c, int64(ev.Market)}] = []any{c, int64(ev.Market), seq, t, int64(ev.Size), int64(ev.Cost),
			int64(ev.Realized), int64(ev.Price), int64(ev.LiqPrice)}
	case engine.EvFundingPayment:
		var rate any
		if ev.Detail != nil {
			rate = int64(ev.Detail.Rate)
		}
		ledger(0, LedgerFunding, "derivatives", int64(ev.Amount), int64(ev.Balance), rate)
		if ev.Detail != nil {
			d := ev.Detail
			r.Funding.rows = append(r.Funding.rows, []any{seq, t, c, int64(ev.Market), d.At, int64(ev.Size), int64(d.Rate),
				int64(d.Notional), int64(ev.Amount), int64(ev.Balance), int64(ev.Price)})
		}
	case engine.EvFinancing, engine.EvCloseOutOrder, engine.EvSecuritySale:
		if ev.Client != 0 {
			r.Statement.rows = append(r.Statement.rows, statementRow(ev))
		}
	case engine.EvMarkSet:
		price("mark_set", int64(ev.Price), nil, nil, nil)
	case engine.EvMark:
		var rate any
		if ev.Detail != nil {
			rate = int64(ev.Detail.Rate)
		}
		price("mark", int64(ev.Price), nil, rate, nil)
	case engine.EvIndex:
		price("index", int64(ev.Price), nil, nil, ev.Flag)
	case engine.EvIndexSource:
		var src any
		if ev.Detail != nil {
			src = int64(ev.Detail.Source)
		}
		price("index_source", int64(ev.Price), src, nil, nil)
	case engine.EvFundingRate:
		var rate any
		if ev.Detail != nil {
			rate = int64(ev.Detail.Rate)
		}
		price("funding_rate", int64(ev.Price), nil, rate, nil)
	}
}
