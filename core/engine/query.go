package engine

import (
	"github.com/sampan-hk/sampan/core/book"
	"github.com/sampan-hk/sampan/core/eligibility"
	"github.com/sampan-hk/sampan/core/fixed"
	"github.com/sampan-hk/sampan/core/ledger"
)

// AccountView is a client's derivatives account at current marks.
type AccountView struct {
	Client         ClientID
	Ref            string
	Class          Classification
	Expiry         int64
	Knowledge      bool
	Eligible       bool // may open or increase positions now
	Gate           Code // why not (OK when Eligible): 400 not PI, 401 expired, 402 no knowledge, 404 disclosure
	Financing      fixed.Amount
	Totals                      // collateral, unrealized, equity, IM, MM, required
	OrderMargin    fixed.Amount // Required − IM: reserved for resting orders
	Available      fixed.Amount // Equity − Required (negative: under-margined)
	Liquidatable   bool         // Equity < MM
	Liquidating    bool         // in the liquidation queue (started, or waiting for a paused market)
	OpenOrderCount int
}

// Account returns a client's account, or false for an unknown client.
func (e *Engine) Account(id ClientID) (AccountView, bool) {
	c := e.client(id)
	if c == nil {
		return AccountView{}, false
	}
	t := e.totals(id)
	v := AccountView{Client: id, Ref: c.ref, Class: c.class, Expiry: c.expiry, Knowledge: c.knowledge,
		Eligible: e.eligibility(id) == OK, Gate: e.eligibility(id), Financing: e.led.Balance(ledger.USD, c.fin), Totals: t,
		OrderMargin: t.Required - t.IM, Available: t.Equity - t.Required,
		Liquidatable: c.liquidating || (t.MM > 0 && t.Equity < t.MM), Liquidating: c.queued}
	if rc, ok := e.elig.Client(uint64(id)); ok && c.registered {
		// Registry records replace the legacy fields (eligibility classes
		// are the engine's plus one: 0 is "never classified" there).
		cl := rc.Classification
		v.Class, v.Expiry, v.Knowledge = Classification(cl.Class-1), cl.Expiry, rc.Knowledge.Basis != eligibility.BasisNone
	}
	for i := range e.markets {
		v.OpenOrderCount += int(e.line(id, MarketID(i)).Orders)
	}
	return v, true
}

// PositionView is one open position.
type PositionView struct {
	Market     MarketID
	Size       fixed.Qty    // signed lots
	Cost       fixed.Amount // signed entry notional
	EntryPrice fixed.Price  // Cost / Size, rounded down to a tick (display only)
	Mark       fixed.Price
	Notional   fixed.Amount
	Unrealized fixed.Amount
	Realized   fixed.Amount
	IM, MM     fixed.Amount
	Leverage   int64
	LiqPrice   fixed.Price // 0: none (see risk.LiquidationPrice)
	// AdlQuantile is the position's place in the ADL queue of its side,
	// 1 (last to be deleveraged) to 5 (first fifth), as last published
	// (every AdlPublishEvery, on the Tick; 0 before the first);
	// docs/methodology.md.
	AdlQuantile uint8
}

// Positions appends a client's open positions, by market, to dst.
func (e *Engine) Positions(id ClientID, dst []PositionView) []PositionView {
	if e.client(id) == nil {
		return dst
	}
	return e.positions(id, dst)
}

func (e *Engine) positions(id ClientID, dst []PositionView) []PositionView {
	for i := range e.markets {
		m := &e.markets[i]
		l := e.line(id, MarketID(i))
		if l.Size == 0 {
			continue
		}
		f := l.Compute(&m.params, m.mark)
		q := int64(l.Size)
		if q < 0 {
			q = -q
		}
		cost := int64(l.Cost)
		if cost < 0 {
			cost = -cost
		}
		entry := fixed.MustMulDiv(cost, 1, q*m.params.K, fixed.Floor)
		liq, _ := e.liquidationPrice(id, MarketID(i))
		dst = append(dst, PositionView{Market: MarketID(i), Size: l.Size, Cost: l.Cost, EntryPrice: fixed.Price(entry),
			Mark: m.mark, Notional: f.Notional, Unrealized: f.Unrealized, Realized: l.Realized, IM: f.IM, MM: f.MM,
			Leverage: l.Leverage, LiqPrice: liq, AdlQuantile: e.adlQ[int(id)*len(e.markets)+i]})
	}
	return dst
}

// OpenOrder is one resting order of a client.
type OpenOrder struct {
	Market MarketID
	book.OrderView
}

// OpenOrders appends a client's resting orders, by market then placement
// order, to dst.
func (e *Engine) OpenOrders(id ClientID, dst []OpenOrder) []OpenOrder {
	if e.client(id) == nil {
		return dst
	}
	for i := range e.markets {
		mid := MarketID(i)
		e.markets[i].book.WalkOwner(book.Owner(id), func(v book.OrderView) bool {
			dst = append(dst, OpenOrder{Market: mid, OrderView: v})
			return true
		})
	}
	return dst
}

// Leverage returns a client's leverage setting in a market.
func (e *Engine) Leverage(id ClientID, m MarketID) int64 { return e.line(id, m).Leverage }

// Book exposes a market's book for read-only queries (depth, best).
func (e *Engine) Book(m MarketID) *book.Book { return e.markets[m].book }
