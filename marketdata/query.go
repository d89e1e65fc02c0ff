package marketdata

import (
	"github.com/sampan-hk/sampan/core/book"
	"github.com/sampan-hk/sampan/core/engine"
)

// Queries take the read lock; m must be a valid MarketID (the gateway
// resolves symbols first). limit ≤ 0 means "all kept".

// Depth returns up to limit levels per side with the depth sequence.
func (s *Store) Depth(m engine.MarketID, limit int) DepthView {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.markets[m].depth(s.now, limit)
}

// Trades returns the newest trades first.
func (s *Store) Trades(m engine.MarketID, limit int) []TradeView {
	s.mu.RLock()
	defer s.mu.RUnlock()
	mk := s.markets[m]
	n := clamp(limit, mk.trades.n)
	out := make([]TradeView, 0, n)
	for i := 0; i < n; i++ {
		out = append(out, mk.tradeView(mk.trades.at(i)))
	}
	return out
}

// Klines returns the newest candles of an interval, oldest first.
func (s *Store) Klines(m engine.MarketID, iv Interval, limit int) []KlineView {
	s.mu.RLock()
	defer s.mu.RUnlock()
	mk := s.markets[m]
	r := &mk.candles[iv]
	n := clamp(limit, r.n)
	out := make([]KlineView, 0, n)
	for i := n - 1; i >= 0; i-- {
		out = append(out, mk.klineView(r.at(i)))
	}
	return out
}

// Ticker returns the 24h summary.
func (s *Store) Ticker(m engine.MarketID) TickerView {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.markets[m].ticker(s.now)
}

// Mark returns the mark price.
func (s *Store) Mark(m engine.MarketID) MarkView {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.markets[m].markView(s.now)
}

// Orders returns a client's order records, newest first.
func (s *Store) Orders(c engine.ClientID, limit int) []OrderView {
	s.mu.RLock()
	defer s.mu.RUnlock()
	cl := s.clients[c]
	if cl == nil {
		return []OrderView{}
	}
	n := clamp(limit, cl.orders.n)
	out := make([]OrderView, 0, n)
	for i := 0; i < n; i++ {
		out = append(out, s.orderView(*cl.orders.at(i)))
	}
	return out
}

// Order returns one order record, if still kept.
func (s *Store) Order(c engine.ClientID, m engine.MarketID, id book.OrderID) (OrderView, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	o := s.order(c, m, id)
	if o == nil {
		return OrderView{}, false
	}
	return s.orderView(o), true
}

func (s *Store) order(c engine.ClientID, m engine.MarketID, id book.OrderID) *orderRec {
	cl := s.clients[c]
	if cl == nil {
		return nil
	}
	return cl.byID[orderKey{m, id}]
}

// Fills returns a client's fills, newest first.
func (s *Store) Fills(c engine.ClientID, limit int) []FillView {
	s.mu.RLock()
	defer s.mu.RUnlock()
	cl := s.clients[c]
	if cl == nil {
		return []FillView{}
	}
	n := clamp(limit, cl.fills.n)
	out := make([]FillView, 0, n)
	for i := 0; i < n; i++ {
		out = append(out, s.fillView(cl.fills.at(i)))
	}
	return out
}

func clamp(limit, n int) int {
	if limit <= 0 || limit > n {
		return n
	}
	return limit
}
