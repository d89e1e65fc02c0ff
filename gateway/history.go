package gateway

import (
	"context"
	"errors"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/sampan-hk/sampan/core/book"
	"github.com/sampan-hk/sampan/core/engine"
	"github.com/sampan-hk/sampan/core/fixed"
	"github.com/sampan-hk/sampan/core/funding"
	"github.com/sampan-hk/sampan/marketdata"
	"github.com/sampan-hk/sampan/projector"
)

// Private history (orders, fills, funding payments, the financing
// statement) from two sources: the in-memory read models (marketdata: the
// newest rows since the node started, bounded per client) and the read
// store the projector fills (every row). Pages run newest first and are cut
// by a seq cursor, so a page never repeats or skips a row wherever its rows
// came from (docs/api.md, "History and paging"):
//
//   - fills and the statement carry their seq (trade_id, seq): the memory
//     answers as far as it reaches and the store continues below the oldest
//     row the memory keeps;
//   - orders and funding payments do not carry it: the memory answers the
//     newest page when it holds more rows than the page and the store
//     already holds the page's last row (its seq is the cursor); every
//     other page comes from the store, which the request first lets catch
//     up with the engine.

// HistorySource is the read store as the gateway needs it;
// *projector.Projector is one.
type HistorySource interface {
	// LastSeq is the newest event seq the store holds durably.
	LastSeq() uint64
	Store() *projector.Store
}

// SetHistory makes the history endpoints page into the read store.
func (s *Server) SetHistory(h HistorySource) { s.history = h }

// HistoryWait bounds how long a request waits for the read store to reach
// the seq it needs (the projector flushes every 200 ms by default).
const HistoryWait = 3 * time.Second

// pageReq is a parsed history request.
type pageReq struct {
	limit   int
	before  uint64 // exclusive seq cursor; 0: from the newest
	endTime int64  // exclusive, unix ns; 0: none
}

// pageParams parses ?limit, ?before and ?end_time.
func pageParams(r *http.Request, def, max int) (pageReq, *Error) {
	if e := query(r, "limit", "before", "end_time"); e != nil {
		return pageReq{}, e
	}
	n, e := limitParam(r, def, max)
	if e != nil {
		return pageReq{}, e
	}
	p := pageReq{limit: n}
	q := r.URL.Query()
	if v := q.Get("before"); v != "" {
		if p.before, e = positiveParam("before", v, math.MaxInt64); e != nil {
			return p, e
		}
	}
	if v := q.Get("end_time"); v != "" {
		ms, e := positiveParam("end_time", v, math.MaxInt64/1_000_000)
		if e != nil {
			return p, e
		}
		p.endTime = int64(ms) * 1e6
	}
	return p, nil
}

// positiveParam parses a canonical decimal integer from 1 to max.
func positiveParam(name, v string, max uint64) (uint64, *Error) {
	n, err := strconv.ParseUint(v, 10, 64)
	if err != nil || n < 1 || n > max || (len(v) > 1 && v[0] == '0') {
		return 0, Errf(http.StatusBadRequest, CodeInvalidField, name,
			name+" must be an integer from 1 to "+strconv.FormatUint(max, 10)+" (see next_before in the previous page)")
	}
	return n, nil
}

// keep says whether a row with this seq and time (ns) belongs to the page.
func (p *pageReq) keep(seq uint64, t int64) bool {
	return (p.before == 0 || seq < p.before) && (p.endTime == 0 || t < p.endTime)
}

// keepMs is keep for a row that shows its time in milliseconds only: a
// row's ns time is below endTime exactly when its ms time is below
// endTime/1e6 (endTime is whole milliseconds).
func (p *pageReq) keepMs(seq uint64, ms int64) bool {
	return (p.before == 0 || seq < p.before) && (p.endTime == 0 || ms < p.endTime/1e6)
}

// memContiguous says whether the memory's rows can front the store's: a
// read model that was dropped and rebuilt (Resyncs) missed the events of
// its gap but kept the rows before it, so with a store every page comes
// from the store from then on.
func (s *Server) memContiguous() bool { return s.history == nil || s.md.Resyncs() == 0 }

// memRows is how many of the newest memory rows a page can need: with no
// cursor and no end time, the page and a self-trade's second fill, and one
// more to tell whether the read reached the oldest kept row; else all (0).
func (p *pageReq) memRows() int {
	if p.before != 0 || p.endTime != 0 {
		return 0
	}
	return p.limit + 2
}

// storePage is the projector's page for the rows below before.
func (p *pageReq) storePage(before uint64, limit int) projector.Page {
	return projector.Page{Before: before, EndTime: p.endTime, Limit: limit}
}

// storeReady waits until the store holds every event below before (0: up
// to the engine's current seq).
func (s *Server) storeReady(ctx context.Context, before uint64) *Error {
	need := before - 1
	if before == 0 {
		s.x.View(func(e *engine.Engine) { need = e.Seq() })
	}
	deadline := time.Now().Add(HistoryWait)
	for s.history.LastSeq() < need {
		if time.Now().After(deadline) || ctx.Err() != nil {
			return Errf(http.StatusServiceUnavailable, CodeUnavailable, "",
				"the read store is behind the engine (at seq "+strconv.FormatUint(s.history.LastSeq(), 10)+", this page needs "+
					strconv.FormatUint(need, 10)+"); retry shortly")
		}
		time.Sleep(2 * time.Millisecond)
	}
	return nil
}

// storeErr maps a store failure: a bad page is the client's, the rest 503.
func storeErr(err error) *Error {
	if errors.Is(err, projector.ErrLimit) {
		return Errf(http.StatusBadRequest, CodeInvalidField, "limit", err.Error())
	}
	return Errf(http.StatusServiceUnavailable, CodeUnavailable, "", "the read store could not answer: "+
		strings.TrimPrefix(err.Error(), "projector: ")+"; retry")
}

// nextBefore is the cursor of the following page: the seq of the page's
// last row when the page is full (there may be more), else none.
func nextBefore(n, limit int, last uint64) any {
	if n < limit || last == 0 {
		return nil
	}
	return last
}

// fillHistory returns a page of a client's fills and the next cursor. A
// self-trade is two fills with one trade_id; a page never ends between
// them (it is one row longer then), so the cursor never splits a trade.
func (s *Server) fillHistory(ctx context.Context, id engine.ClientID, p pageReq) ([]marketdata.FillView, any, *Error) {
	mem := s.md.Fills(id, p.memRows())
	if !s.memContiguous() {
		mem = nil
	}
	// The memory keeps every fill above its oldest kept trade; at that
	// trade a self-trade's other fill may have been evicted, so with a
	// store the rows of that trade come from the store. (A shortened read
	// that came back full ends below the page: its last row is not the
	// oldest kept, and the page never reaches it.)
	var oldest uint64
	if len(mem) > 0 && (p.memRows() == 0 || len(mem) < p.memRows()) {
		oldest, _ = strconv.ParseUint(mem[len(mem)-1].TradeID, 10, 64)
	}
	out := make([]marketdata.FillView, 0, min(p.limit+1, len(mem)))
	var last uint64
	for _, f := range mem {
		seq, _ := strconv.ParseUint(f.TradeID, 10, 64)
		if (seq == oldest && s.history != nil) || (len(out) >= p.limit && seq != last) {
			break
		}
		if p.keepMs(seq, f.Time) {
			out, last = append(out, f), seq
		}
	}
	if len(out) >= p.limit || s.history == nil {
		return out, nextBefore(len(out), p.limit, last), nil
	}
	below := p.before
	if oldest != 0 && (below == 0 || oldest+1 < below) {
		below = oldest + 1
	}
	if e := s.storeReady(ctx, below); e != nil {
		return nil, nil, e
	}
	rows, err := s.history.Store().FillPage(ctx, id, p.storePage(below, p.limit-len(out)))
	if err != nil {
		return nil, nil, storeErr(err)
	}
	for i := range rows {
		if s.known(rows[i].Market) {
			out = append(out, s.fillView(id, &rows[i]))
		}
		last = rows[i].Seq
	}
	return out, nextBefore(len(out), p.limit, last), nil
}

// known says whether the server has the market's spec (the memory drops
// rows of a market it does not know; so does the store's rendering).
func (s *Server) known(m engine.MarketID) bool { return int(m) < len(s.specs) }

// fillView renders a stored fill exactly as marketdata does.
func (s *Server) fillView(id engine.ClientID, f *projector.FillRow) marketdata.FillView {
	m := &s.specs[f.Market]
	sp := &m.Spec
	liq := "taker"
	if f.Maker {
		liq = "maker"
	}
	return marketdata.FillView{TradeID: strconv.FormatUint(f.Seq, 10), Time: f.Time / 1e6, Symbol: m.Symbol,
		OrderID: strconv.FormatUint(uint64(f.Order), 10), ClientOrderID: s.clientOrderID(id, f.Text, f.Key), Side: f.Side.String(),
		Price: sp.FormatPrice(f.Price), Qty: sp.FormatQty(f.Qty), Fee: sp.FormatAmount(f.Fee),
		RealizedPnL: sp.FormatAmount(f.Realized), Liquidity: liq}
}

// clientOrderID is a stored order's client order id: the text the store
// kept from the log, else (a row projected before the log carried texts)
// what the memory's names table remembers for the key.
func (s *Server) clientOrderID(id engine.ClientID, text string, key uint64) string {
	if text != "" {
		return text
	}
	return s.md.ClientOrderID(id, key)
}

// orderHistory returns a page of a client's orders by acceptance. Without
// a store it is the memory's newest records (no cursor: they carry none).
func (s *Server) orderHistory(ctx context.Context, id engine.ClientID, p pageReq) ([]marketdata.OrderView, any, *Error) {
	if s.history == nil {
		out := make([]marketdata.OrderView, 0, p.limit)
		for _, o := range s.md.Orders(id, 0) {
			if len(out) < p.limit && p.keepMs(0, o.Created) {
				out = append(out, o)
			}
		}
		return out, nil, nil
	}
	if out, next, ok := s.newestOrders(ctx, id, p); ok {
		return out, next, nil
	}
	if e := s.storeReady(ctx, p.before); e != nil {
		return nil, nil, e
	}
	h, err := s.history.Store().OrderPage(ctx, id, p.storePage(p.before, p.limit))
	if err != nil {
		return nil, nil, storeErr(err)
	}
	out := s.foldOrders(id, &h)
	var last uint64
	if n := len(h.Accepted); n > 0 {
		last = h.Accepted[n-1].Seq
	}
	return out, nextBefore(len(out), p.limit, last), nil
}

// newestOrders answers the newest page from memory when the memory holds
// more orders than the page (so the page is exactly the newest accepted
// orders) and the store already holds the last one's acceptance, whose seq
// is the cursor. Otherwise ok is false and the store answers.
func (s *Server) newestOrders(ctx context.Context, id engine.ClientID, p pageReq) ([]marketdata.OrderView, any, bool) {
	if p.before != 0 || p.endTime != 0 || !s.memContiguous() {
		return nil, nil, false
	}
	mem := s.md.Orders(id, p.limit+1)
	if len(mem) <= p.limit {
		return nil, nil, false
	}
	mem = mem[:p.limit]
	last := &mem[len(mem)-1]
	m, known := s.symbols[last.Symbol]
	oid, err := strconv.ParseUint(last.OrderID, 10, 64)
	if !known || err != nil {
		return nil, nil, false
	}
	seq, ok, err := s.history.Store().AcceptedSeq(ctx, id, m, book.OrderID(oid))
	if !ok || err != nil {
		return nil, nil, false
	}
	return mem, seq, true
}

// orderState is one order folded from its stored steps and fills by the
// rules marketdata applies to the live events (marketdata/client.go).
type orderState struct {
	market                 engine.MarketID
	id                     book.OrderID
	key                    uint64
	text                   string // the client order id text from the store ("": not in the log)
	side                   book.Side
	flags                  uint8
	price                  fixed.Price
	qty, filled, remaining fixed.Qty
	status                 string
	reason                 engine.Code
	created, updated       int64
}

type orderRef struct {
	market engine.MarketID
	id     book.OrderID
}

// foldOrders replays the page's steps and fills in seq order.
func (s *Server) foldOrders(id engine.ClientID, h *projector.OrderHistory) []marketdata.OrderView {
	byID := make(map[orderRef]*orderState, len(h.Accepted))
	for _, a := range h.Accepted {
		byID[orderRef{a.Market, a.Order}] = nil // in the page, not yet accepted in the replay
	}
	steps, fills := h.Steps, h.Fills
	for len(steps) > 0 || len(fills) > 0 {
		// A step and a fill never share a seq (each is its own event).
		if len(fills) == 0 || (len(steps) > 0 && steps[0].Seq < fills[0].Seq) {
			applyStep(byID, &steps[0])
			steps = steps[1:]
			continue
		}
		applyFill(byID, &fills[0])
		fills = fills[1:]
	}
	out := make([]marketdata.OrderView, 0, len(h.Accepted))
	for _, a := range h.Accepted {
		if o := byID[orderRef{a.Market, a.Order}]; o != nil && s.known(a.Market) {
			out = append(out, s.orderView(id, o))
		}
	}
	return out
}

func applyStep(byID map[orderRef]*orderState, st *projector.OrderEvent) {
	ref := orderRef{st.Market, st.Order}
	o, inPage := byID[ref]
	if !inPage {
		return // another market's order with the same id
	}
	if st.Event == "accepted" {
		byID[ref] = &orderState{market: st.Market, id: st.Order, key: st.ClientOrderID, text: st.Text, side: st.Side, flags: st.Flags,
			price: st.Price, qty: st.Qty, remaining: st.Qty, status: marketdata.StatusOpen, created: st.Time, updated: st.Time}
		return
	}
	if o == nil {
		return
	}
	o.updated = st.Time
	switch st.Event {
	case "cancelled", "expired":
		o.remaining, o.reason, o.status = 0, st.Code, marketdata.StatusCancelled
		if st.Event == "expired" {
			o.status = marketdata.StatusExpired
		}
	case "amended":
		// An amend's quantity is the new remaining quantity.
		o.price, o.remaining, o.qty = st.Price, st.Qty, o.filled+st.Qty
	}
}

func applyFill(byID map[orderRef]*orderState, f *projector.FillRow) {
	o := byID[orderRef{f.Market, f.Order}]
	if o == nil {
		return
	}
	// The book's remaining after a fill is the remaining before it less
	// the fill (the store does not repeat it).
	o.filled += f.Qty
	o.remaining -= f.Qty
	o.updated = f.Time
	o.status = marketdata.StatusPartiallyFilled
	if o.remaining == 0 {
		o.status = marketdata.StatusFilled
	}
}

func (s *Server) orderView(id engine.ClientID, o *orderState) marketdata.OrderView {
	m := &s.specs[o.market]
	sp := &m.Spec
	v := marketdata.OrderView{OrderID: strconv.FormatUint(uint64(o.id), 10), ClientOrderID: s.clientOrderID(id, o.text, o.key),
		Symbol: m.Symbol, Side: o.side.String(), Price: sp.FormatPrice(o.price), Qty: sp.FormatQty(o.qty),
		Filled: sp.FormatQty(o.filled), Remaining: sp.FormatQty(o.remaining), Status: o.status,
		PostOnly: o.flags&engine.FlagPostOnly != 0, ReduceOnly: o.flags&engine.FlagReduceOnly != 0,
		Created: o.created / 1e6, Updated: o.updated / 1e6}
	if o.reason != engine.OK {
		v.Reason = o.reason.String()
	}
	return v
}

// fundingHistory returns a page of a client's funding payments.
func (s *Server) fundingHistory(ctx context.Context, id engine.ClientID, p pageReq) ([]marketdata.FundingPaymentView, any, *Error) {
	if s.history == nil {
		out := make([]marketdata.FundingPaymentView, 0, p.limit)
		for _, f := range s.md.FundingPayments(id, 0) {
			if len(out) < p.limit && p.keepMs(0, f.Time) {
				out = append(out, f)
			}
		}
		return out, nil, nil
	}
	if out, next, ok := s.newestFunding(ctx, id, p); ok {
		return out, next, nil
	}
	if e := s.storeReady(ctx, p.before); e != nil {
		return nil, nil, e
	}
	rows, err := s.history.Store().FundingPage(ctx, id, p.storePage(p.before, p.limit))
	if err != nil {
		return nil, nil, storeErr(err)
	}
	out := make([]marketdata.FundingPaymentView, 0, len(rows))
	var last uint64
	for _, f := range rows {
		if last = f.Seq; !s.known(f.Market) {
			continue
		}
		sp := &s.specs[f.Market].Spec
		v := marketdata.FundingPaymentView{Time: f.At / 1e6, Symbol: s.specs[f.Market].Symbol, Size: sp.FormatQty(f.Size),
			Rate: marketdata.FundingRate(funding.Rate(f.Rate)), Notional: sp.FormatAmount(f.Notional), Amount: sp.FormatAmount(f.Amount),
			Balance: sp.FormatAmount(f.Balance)}
		if f.Mark != 0 {
			v.Mark = sp.FormatPrice(f.Mark)
		}
		out = append(out, v)
	}
	return out, nextBefore(len(out), p.limit, last), nil
}

// newestFunding is newestOrders for funding payments: the cursor is the
// seq of the last payment's event, found by market and boundary.
func (s *Server) newestFunding(ctx context.Context, id engine.ClientID, p pageReq) ([]marketdata.FundingPaymentView, any, bool) {
	if p.before != 0 || p.endTime != 0 || !s.memContiguous() {
		return nil, nil, false
	}
	mem := s.md.FundingPayments(id, p.limit+1)
	if len(mem) <= p.limit {
		return nil, nil, false
	}
	mem = mem[:p.limit]
	last := &mem[len(mem)-1]
	m, known := s.symbols[last.Symbol]
	if !known {
		return nil, nil, false
	}
	seq, ok, err := s.history.Store().FundingSeq(ctx, id, m, last.Time*1e6, (last.Time+1)*1e6)
	if !ok || err != nil {
		return nil, nil, false
	}
	return mem, seq, true
}

// statementHistory returns a page of a client's financing statement
// entries, raw (the caller renders them with the asset registry).
func (s *Server) statementHistory(ctx context.Context, id engine.ClientID, p pageReq) ([]marketdata.StatementEntry, any, *Error) {
	mem := s.md.Statement(id, p.memRows())
	if !s.memContiguous() {
		mem = nil
	}
	out := make([]marketdata.StatementEntry, 0, min(p.limit, len(mem)))
	var last uint64
	for _, en := range mem {
		if len(out) < p.limit && p.keep(en.Seq, en.Time) {
			out, last = append(out, en), en.Seq
		}
	}
	if len(out) == p.limit || s.history == nil {
		return out, nextBefore(len(out), p.limit, last), nil
	}
	// Fewer rows than the page: mem is everything the memory keeps.
	below := p.before
	if n := len(mem); n > 0 && (below == 0 || mem[n-1].Seq < below) {
		below = mem[n-1].Seq
	}
	if e := s.storeReady(ctx, below); e != nil {
		return nil, nil, e
	}
	rows, err := s.history.Store().StatementPage(ctx, id, p.storePage(below, p.limit-len(out)))
	if err != nil {
		return nil, nil, storeErr(err)
	}
	for _, r := range rows {
		out = append(out, marketdata.StatementEntry{Seq: r.Seq, Time: r.Time, Kind: r.Kind, Fin: r.Fin, Market: r.Market, Step: r.Step,
			Price: r.Price, Qty: r.Qty, Remaining: r.Remaining, Amount: r.Amount, Code: r.Code})
		last = r.Seq
	}
	return out, nextBefore(len(out), p.limit, last), nil
}
