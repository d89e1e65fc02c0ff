package marketdata

import (
	"github.com/sampan-hk/sampan/core/book"
	"github.com/sampan-hk/sampan/core/engine"
	"github.com/sampan-hk/sampan/core/fixed"
	"github.com/sampan-hk/sampan/core/funding"
)

// Order statuses in history records.
const (
	StatusOpen            = "open"
	StatusPartiallyFilled = "partially_filled"
	StatusFilled          = "filled"
	StatusCancelled       = "cancelled"
	StatusExpired         = "expired"
)

type orderKey struct {
	market engine.MarketID
	id     book.OrderID
}

type orderRec struct {
	market    engine.MarketID
	id        book.OrderID
	key       uint64
	cid       string // the client order id text, from the acceptance event ("" if the place carried none)
	side      book.Side
	flags     uint8
	price     fixed.Price
	qty       fixed.Qty // accepted quantity (after amends: filled + remaining)
	filled    fixed.Qty
	remaining fixed.Qty
	status    string
	reason    engine.Code
	created   int64
	updated   int64
}

type fill struct {
	tradeID  uint64
	time     int64
	market   engine.MarketID
	order    book.OrderID
	key      uint64
	cid      string // the order's client order id text (orderRec.cid)
	side     book.Side
	price    fixed.Price
	qty      fixed.Qty
	fee      fixed.Amount
	realized fixed.Amount
	maker    bool
}

type payment struct {
	at       int64 // the settlement boundary
	market   engine.MarketID
	size     fixed.Qty
	rate     funding.Rate
	notional fixed.Amount
	amount   fixed.Amount // signed: < 0 paid
	balance  fixed.Amount
	mark     fixed.Price
}

type client struct {
	orders   ring[*orderRec]
	byID     map[orderKey]*orderRec // records still in the ring
	fills    ring[fill]
	payments ring[payment]
	// statement: margin-financing entries (financing.go), allocated on the
	// client's first one (most clients never borrow).
	statement *ring[StatementEntry]
}

func newClient(cfg Config) *client {
	return &client{orders: newRing[*orderRec](cfg.OrdersMax), byID: map[orderKey]*orderRec{}, fills: newRing[fill](cfg.FillsMax),
		payments: newRing[payment](cfg.FundingMax)}
}

func (s *Store) fundingPayment(ev *engine.Event) {
	if int(ev.Market) >= len(s.markets) || ev.Detail == nil {
		return
	}
	p := payment{at: ev.Detail.At, market: ev.Market, size: ev.Size, rate: ev.Detail.Rate, notional: ev.Detail.Notional,
		amount: ev.Amount, balance: ev.Balance, mark: ev.Price}
	s.client(ev.Client).payments.push(p)
	s.fan.publish(topic{ch: ChanFundingPayments, client: ev.Client}, func() []byte {
		return encode(Message{Channel: ChanFundingPayments.String(), Data: s.paymentView(&p)})
	})
}

// names remembers, by client and engine key, the client order id texts of
// named orders that rested after their own command (the text comes on the
// acceptance event, engine.Event.Ref), for readers that know an order only
// by its key: open-order lists read from the engine, fills of an order
// whose record was evicted, store rows projected before the log carried
// texts. Order records and fills carry their own text, so views of them
// never look here. It is a bounded FIFO: the oldest names are forgotten
// first.
type names struct {
	m    map[nameKey]string
	fifo ring[nameKey]
}

type nameKey struct {
	client engine.ClientID
	key    uint64
}

func newNames(max int) names { return names{m: map[nameKey]string{}, fifo: newRing[nameKey](max)} }

// freshName is a named order accepted in the batch being applied.
type freshName struct {
	client engine.ClientID
	o      *orderRec
}

// nameResting enters the batch's named orders that still rest into the
// names table. An order that ended in its own batch (an IOC, a taker
// filled at once: most orders of a busy taker) never needs it: its fills
// came while its record was fresh, and the read store keeps its text; so
// it costs the large table nothing.
func (s *Store) nameResting() {
	for _, f := range s.fresh {
		if st := f.o.status; st == StatusOpen || st == StatusPartiallyFilled {
			s.name(f.client, f.o.key, f.o.cid)
		}
	}
	clear(s.fresh)
	s.fresh = s.fresh[:0]
}

// name records that client's engine key stands for the text cid. The
// caller holds s.mu for writing.
func (s *Store) name(client engine.ClientID, key uint64, cid string) {
	k := nameKey{client, key}
	if _, ok := s.names.m[k]; ok {
		// Already in the FIFO: renaming (a hash collision) must not queue
		// the key twice, or the older entry's eviction would forget the
		// new name early.
		s.names.m[k] = cid
		return
	}
	if ev, was := s.names.fifo.push(k); was {
		delete(s.names.m, ev)
	}
	s.names.m[k] = cid
}

// ClientOrderID returns the text a client's key was placed with ("" if
// unknown: placed without one, before the store started, or forgotten).
func (s *Store) ClientOrderID(client engine.ClientID, key uint64) string {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.names.m[nameKey{client, key}]
}

func (s *Store) orderEvent(ev *engine.Event) {
	c := s.client(ev.Client)
	k := orderKey{ev.Market, ev.Order}
	if ev.Kind == engine.EvOrderAccepted {
		o := &orderRec{market: ev.Market, id: ev.Order, key: ev.ClientOrderID, side: ev.Side, flags: ev.Flags,
			price: ev.Price, qty: ev.Qty, remaining: ev.Qty, status: StatusOpen, created: ev.Time, updated: ev.Time}
		if ev.Ref != "" { // a named place: the text rides on its acceptance
			o.cid = ev.Ref
			s.fresh = append(s.fresh, freshName{ev.Client, o})
		}
		if old, was := c.orders.push(o); was {
			delete(c.byID, orderKey{old.market, old.id})
		}
		c.byID[k] = o
		s.publishOrder(ev.Client, o)
		return
	}
	o := c.byID[k]
	if o == nil {
		return // accepted before a resync or evicted from the bounded history
	}
	o.updated = ev.Time
	switch ev.Kind {
	case engine.EvOrderCancelled, engine.EvOrderExpired:
		o.remaining, o.reason, o.status = 0, ev.Code, StatusCancelled
		if ev.Kind == engine.EvOrderExpired {
			o.status = StatusExpired
		}
	case engine.EvOrderAmended:
		o.price, o.remaining, o.qty = ev.Price, ev.Remaining, o.filled+ev.Remaining
	}
	s.publishOrder(ev.Client, o)
}

func (s *Store) trade(ev *engine.Event) {
	if int(ev.Market) >= len(s.markets) {
		return
	}
	m := s.markets[ev.Market]
	t := trade{id: ev.Seq, time: ev.Time, price: ev.Price, qty: ev.Qty, side: ev.Side}
	m.addTrade(t)
	s.fan.publish(topic{ch: ChanTrades, market: m.id}, func() []byte { return m.tradeMsg(t) })
	s.fan.publish(topic{ch: ChanTicker, market: m.id}, func() []byte { return m.tickerMsg(s.now) })
	s.fill(ev.Client, fill{tradeID: ev.Seq, time: ev.Time, market: ev.Market, order: ev.Order, key: ev.ClientOrderID,
		side: ev.Side, price: ev.Price, qty: ev.Qty, fee: ev.TakerFee, realized: ev.TakerRealized}, ev.Remaining)
	s.fill(ev.MakerClient, fill{tradeID: ev.Seq, time: ev.Time, market: ev.Market, order: ev.MakerOrder,
		key: ev.MakerClientOrderID, side: ev.Side.Opposite(), price: ev.Price, qty: ev.Qty, fee: ev.MakerFee,
		realized: ev.MakerRealized, maker: true}, ev.MakerRemaining)
	s.fan.touchAccount(ev.MakerClient)
}

// fill records a fill and updates its order's record. The fill takes the
// order's text from the record; an order the store has no record of
// (accepted before it started, or evicted) is looked up by key.
func (s *Store) fill(id engine.ClientID, f fill, remaining fixed.Qty) {
	c := s.client(id)
	o := c.byID[orderKey{f.market, f.order}]
	switch {
	case o != nil:
		f.cid = o.cid
	case f.key != 0:
		f.cid = s.names.m[nameKey{id, f.key}]
	}
	c.fills.push(f)
	s.fan.publish(topic{ch: ChanFills, client: id}, func() []byte { return s.fillMsg(&f) })
	if o == nil {
		return
	}
	o.filled += f.qty
	o.remaining = remaining
	o.updated = f.time
	o.status = StatusPartiallyFilled
	if remaining == 0 {
		o.status = StatusFilled
	}
	s.publishOrder(id, o)
}

func (s *Store) publishOrder(id engine.ClientID, o *orderRec) {
	s.fan.publish(topic{ch: ChanOrders, client: id}, func() []byte { return s.orderMsg(o) })
}
