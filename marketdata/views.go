package marketdata

import (
	"encoding/json"
	"strconv"

	"github.com/sampan-hk/sampan/core/book"
	"github.com/sampan-hk/sampan/core/engine"
	"github.com/sampan-hk/sampan/core/fixed"
	"github.com/sampan-hk/sampan/core/risk"
)

// The JSON shapes below are served by REST and pushed on WebSocket alike.
// Numbers that are money, prices or quantities are decimal strings; times
// are integer milliseconds since the Unix epoch (engine time).

// DepthView is an L2 snapshot. Seq is the depth sequence: every update
// carries Seq = previous + 1, so a client can detect gaps.
type DepthView struct {
	Symbol string      `json:"symbol"`
	Seq    uint64      `json:"seq"`
	Time   int64       `json:"time"`
	Bids   [][2]string `json:"bids"`
	Asks   [][2]string `json:"asks"`
}

// DepthUpdate lists the levels whose total changed ("0": gone), in order.
type DepthUpdate struct {
	Symbol  string      `json:"symbol"`
	Seq     uint64      `json:"seq"`
	PrevSeq uint64      `json:"prev_seq"`
	Time    int64       `json:"time"`
	Bids    [][2]string `json:"bids"`
	Asks    [][2]string `json:"asks"`
}

// TradeView is one public trade; Side is the taker's.
type TradeView struct {
	ID    string `json:"id"`
	Time  int64  `json:"time"`
	Price string `json:"price"`
	Qty   string `json:"qty"`
	Side  string `json:"side"`
}

// KlineView is one candle; Start is the interval's opening time.
type KlineView struct {
	Start  int64  `json:"start"`
	Open   string `json:"open"`
	High   string `json:"high"`
	Low    string `json:"low"`
	Close  string `json:"close"`
	Volume string `json:"volume"`
	Trades int64  `json:"trades"`
}

// TickerView is the rolling 24h summary (minute granularity).
type TickerView struct {
	Symbol     string `json:"symbol"`
	Time       int64  `json:"time"`
	Last       string `json:"last,omitempty"`
	Mark       string `json:"mark,omitempty"`
	Open24h    string `json:"open_24h,omitempty"`
	High24h    string `json:"high_24h,omitempty"`
	Low24h     string `json:"low_24h,omitempty"`
	Volume24h  string `json:"volume_24h"`
	Trades24h  int64  `json:"trades_24h"`
	BestBid    string `json:"best_bid,omitempty"`
	BestBidQty string `json:"best_bid_qty,omitempty"`
	BestAsk    string `json:"best_ask,omitempty"`
	BestAskQty string `json:"best_ask_qty,omitempty"`
}

// MarkView is a market's mark price.
type MarkView struct {
	Symbol string `json:"symbol"`
	Time   int64  `json:"time"`
	Mark   string `json:"mark,omitempty"`
	// Source says where the mark comes from: "oracle" (computed from the
	// index) or "operator" (set by hand: manual mode or an override).
	Source string `json:"source"`
}

// OrderView is one order record of a client.
type OrderView struct {
	OrderID       string `json:"order_id"`
	ClientOrderID string `json:"client_order_id,omitempty"`
	Symbol        string `json:"symbol"`
	Side          string `json:"side"`
	Price         string `json:"price"`
	Qty           string `json:"qty"`
	Filled        string `json:"filled"`
	Remaining     string `json:"remaining"`
	Status        string `json:"status"`
	Reason        string `json:"reason,omitempty"`
	PostOnly      bool   `json:"post_only"`
	ReduceOnly    bool   `json:"reduce_only"`
	Created       int64  `json:"created"`
	Updated       int64  `json:"updated"`
}

// FillView is one fill of a client's order.
type FillView struct {
	TradeID       string `json:"trade_id"`
	Time          int64  `json:"time"`
	Symbol        string `json:"symbol"`
	OrderID       string `json:"order_id"`
	ClientOrderID string `json:"client_order_id,omitempty"`
	Side          string `json:"side"`
	Price         string `json:"price"`
	Qty           string `json:"qty"`
	Fee           string `json:"fee"`
	RealizedPnL   string `json:"realized_pnl"`
	Liquidity     string `json:"liquidity"`
}

// PositionUpdate is pushed when a fill changes a position.
type PositionUpdate struct {
	Symbol      string `json:"symbol"`
	Time        int64  `json:"time"`
	Size        string `json:"size"`
	EntryPrice  string `json:"entry_price,omitempty"`
	Mark        string `json:"mark,omitempty"`
	RealizedPnL string `json:"realized_pnl"`
	LiqPrice    string `json:"liquidation_price,omitempty"`
	// AdlQuantile is the position's ADL queue quantile, 1 (last to be
	// deleveraged) to 5 (first); 0 until the engine first ranks it, and
	// for a closed position. A change of quantile alone is pushed too.
	AdlQuantile uint8 `json:"adl_quantile"`
}

func ms(ns int64) int64 { return ns / 1e6 }

func px(sp *fixed.Spec, p fixed.Price) string {
	if p == 0 {
		return ""
	}
	return sp.FormatPrice(p)
}

func levels(sp *fixed.Spec, ls []level, limit int) [][2]string {
	if limit > len(ls) || limit <= 0 {
		limit = len(ls)
	}
	out := make([][2]string, 0, limit)
	for _, l := range ls[:limit] {
		out = append(out, [2]string{sp.FormatPrice(l.price), sp.FormatQty(l.qty)})
	}
	return out
}

func (m *market) depth(now int64, limit int) DepthView {
	sp := &m.spec.Spec
	return DepthView{Symbol: m.spec.Symbol, Seq: m.depthSeq, Time: ms(now), Bids: levels(sp, m.bids, limit), Asks: levels(sp, m.asks, limit)}
}

func (m *market) tradeView(t *trade) TradeView {
	sp := &m.spec.Spec
	return TradeView{ID: strconv.FormatUint(t.id, 10), Time: ms(t.time), Price: sp.FormatPrice(t.price), Qty: sp.FormatQty(t.qty), Side: t.side.String()}
}

func (m *market) klineView(c *candle) KlineView {
	sp := &m.spec.Spec
	return KlineView{Start: ms(c.start), Open: sp.FormatPrice(c.o), High: sp.FormatPrice(c.h), Low: sp.FormatPrice(c.l),
		Close: sp.FormatPrice(c.c), Volume: sp.FormatQty(c.volume), Trades: c.trades}
}

func (m *market) ticker(now int64) TickerView {
	sp := &m.spec.Spec
	t := TickerView{Symbol: m.spec.Symbol, Time: ms(now), Last: px(sp, m.last), Mark: px(sp, m.mark)}
	r := &m.candles[I1m]
	var hi, lo, open fixed.Price
	var vol fixed.Qty
	for i := 0; i < r.n; i++ {
		c := r.at(i)
		if c.start+intervalNanos[I1m] <= now-window24h {
			break
		}
		if hi == 0 || c.h > hi {
			hi = c.h
		}
		if lo == 0 || c.l < lo {
			lo = c.l
		}
		open = c.o
		vol += c.volume
		t.Trades24h += c.trades
	}
	t.Open24h, t.High24h, t.Low24h, t.Volume24h = px(sp, open), px(sp, hi), px(sp, lo), sp.FormatQty(vol)
	if len(m.bids) > 0 {
		t.BestBid, t.BestBidQty = sp.FormatPrice(m.bids[0].price), sp.FormatQty(m.bids[0].qty)
	}
	if len(m.asks) > 0 {
		t.BestAsk, t.BestAskQty = sp.FormatPrice(m.asks[0].price), sp.FormatQty(m.asks[0].qty)
	}
	return t
}

func (s *Store) orderView(o *orderRec) OrderView {
	sp := &s.specs[o.market].Spec
	v := OrderView{OrderID: strconv.FormatUint(uint64(o.id), 10), ClientOrderID: o.cid,
		Symbol: s.specs[o.market].Symbol, Side: o.side.String(), Price: sp.FormatPrice(o.price), Qty: sp.FormatQty(o.qty),
		Filled: sp.FormatQty(o.filled), Remaining: sp.FormatQty(o.remaining), Status: o.status,
		PostOnly: o.flags&engine.FlagPostOnly != 0, ReduceOnly: o.flags&engine.FlagReduceOnly != 0,
		Created: ms(o.created), Updated: ms(o.updated)}
	if o.reason != engine.OK {
		v.Reason = o.reason.String()
	}
	return v
}

func (s *Store) fillView(f *fill) FillView {
	sp := &s.specs[f.market].Spec
	liq := "taker"
	if f.maker {
		liq = "maker"
	}
	return FillView{TradeID: strconv.FormatUint(f.tradeID, 10), Time: ms(f.time), Symbol: s.specs[f.market].Symbol,
		OrderID: strconv.FormatUint(uint64(f.order), 10), ClientOrderID: f.cid,
		Side: f.side.String(), Price: sp.FormatPrice(f.price), Qty: sp.FormatQty(f.qty), Fee: sp.FormatAmount(f.fee),
		RealizedPnL: sp.FormatAmount(f.realized), Liquidity: liq}
}

// EntryPrice is |cost| / |size| per lot, in ticks rounded down (display
// only, as the engine's PositionView does).
func EntryPrice(p *risk.Params, size fixed.Qty, cost fixed.Amount) fixed.Price {
	q, c := int64(size), int64(cost)
	if q == 0 {
		return 0
	}
	if q < 0 {
		q = -q
	}
	if c < 0 {
		c = -c
	}
	return fixed.Price(fixed.MustMulDiv(c, 1, q*p.K, fixed.Floor))
}

func (s *Store) positionView(ev *engine.Event, q uint8) PositionUpdate {
	ms_ := &s.specs[ev.Market]
	sp := &ms_.Spec
	params := risk.Params{K: sp.NotionalPerLotTick()}
	return PositionUpdate{Symbol: ms_.Symbol, Time: ms(ev.Time), Size: sp.FormatQty(ev.Size),
		EntryPrice: px(sp, EntryPrice(&params, ev.Size, ev.Cost)), Mark: px(sp, ev.Price),
		RealizedPnL: sp.FormatAmount(ev.Realized), LiqPrice: px(sp, ev.LiqPrice), AdlQuantile: q}
}

// Message is one WebSocket frame body, encoded once and shared by every
// listener.
type Message struct {
	Channel string `json:"channel"`
	Symbol  string `json:"symbol,omitempty"`
	Type    string `json:"type,omitempty"`
	Data    any    `json:"data"`
}

func encode(m Message) []byte {
	b, err := json.Marshal(m)
	if err != nil {
		panic("marketdata: unencodable message: " + err.Error())
	}
	return b
}

func (m *market) depthSnapshotMsg(now int64) []byte {
	return encode(Message{Channel: ChanDepth.String(), Symbol: m.spec.Symbol, Type: "snapshot", Data: m.depth(now, 0)})
}

// depthUpdate consumes the batch's pending level changes and advances the
// depth sequence (whether or not anyone listens, so REST and WebSocket
// sequences agree).
func (m *market) depthUpdate(now int64) DepthUpdate {
	sp := &m.spec.Spec
	m.depthSeq++
	u := DepthUpdate{Symbol: m.spec.Symbol, Seq: m.depthSeq, PrevSeq: m.depthSeq - 1, Time: ms(now), Bids: [][2]string{}, Asks: [][2]string{}}
	for _, c := range m.pending {
		l := [2]string{sp.FormatPrice(c.price), sp.FormatQty(c.qty)}
		if c.side == book.Buy {
			u.Bids = append(u.Bids, l)
		} else {
			u.Asks = append(u.Asks, l)
		}
	}
	m.pending = m.pending[:0]
	return u
}

func depthUpdateMsg(u *DepthUpdate) []byte {
	return encode(Message{Channel: ChanDepth.String(), Symbol: u.Symbol, Type: "update", Data: u})
}

func (m *market) tradeMsg(t trade) []byte {
	return encode(Message{Channel: ChanTrades.String(), Symbol: m.spec.Symbol, Data: m.tradeView(&t)})
}

func (m *market) tickerMsg(now int64) []byte {
	return encode(Message{Channel: ChanTicker.String(), Symbol: m.spec.Symbol, Data: m.ticker(now)})
}

func (m *market) markView(now int64) MarkView {
	src := m.markSource
	if src == "" {
		src = "operator"
	}
	return MarkView{Symbol: m.spec.Symbol, Time: ms(now), Mark: px(&m.spec.Spec, m.mark), Source: src}
}

func (m *market) markMsg(now int64) []byte {
	return encode(Message{Channel: ChanMark.String(), Symbol: m.spec.Symbol, Data: m.markView(now)})
}

func (s *Store) orderMsg(o *orderRec) []byte {
	return encode(Message{Channel: ChanOrders.String(), Data: s.orderView(o)})
}

func (s *Store) fillMsg(f *fill) []byte {
	return encode(Message{Channel: ChanFills.String(), Data: s.fillView(f)})
}

func (s *Store) positionMsg(ev *engine.Event, q uint8) []byte {
	return encode(Message{Channel: ChanPositions.String(), Data: s.positionView(ev, q)})
}
