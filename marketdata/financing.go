package marketdata

import (
	"github.com/sampan-hk/sampan/core/engine"
	"github.com/sampan-hk/sampan/core/lending"
)

// Margin-financing statements. A client's statement is its financing events
// in sequence order (docs/margin-financing.md §11): the lending book's own
// events (deposits, loans, repayments, interest, purchases and sales, calls,
// cures, close-out starts), the close-out IOC orders and the securities
// sale instructions. The store keeps the newest StatementMax per client
// since it last rebuilt (the read store keeps the full history); the
// gateway renders them with the engine's asset registry.

// StatementEntry is one raw statement entry.
type StatementEntry struct {
	Seq  uint64
	Time int64
	Kind engine.EventKind // EvFinancing, EvCloseOutOrder or EvSecuritySale
	// Fin is the lending event (EvFinancing, EvSecuritySale); zero for a
	// close-out order.
	Fin lending.Event
	// Close-out order fields (EvCloseOutOrder): spot market, step, IOC
	// limit (ticks), quantity asked and left unfilled, proceeds (quote
	// minor units) and the book's rejection code, if any.
	Market    engine.MarketID
	Step      lending.CloseOutStep
	Price     int64
	Qty       int64
	Remaining int64
	Amount    int64
	Code      engine.Code
}

// financingEvent records a financing event on its client's statement and
// remembers when each asset was last priced (firm-wide events name no
// client). It returns the client whose account changed.
func (s *Store) financingEvent(ev *engine.Event) engine.ClientID {
	e := StatementEntry{Seq: ev.Seq, Time: ev.Time, Kind: ev.Kind}
	if ev.Fin != nil {
		e.Fin = *ev.Fin
		if ev.Kind == engine.EvFinancing && ev.Fin.Kind == lending.EvPriceSet {
			s.pricedAt(ev.Fin.Asset, ev.Time)
		}
	}
	if ev.Kind == engine.EvCloseOutOrder {
		e.Market, e.Step, e.Price, e.Qty, e.Remaining, e.Amount, e.Code = ev.Market, lending.CloseOutStep(ev.Flags),
			int64(ev.Price), int64(ev.Qty), int64(ev.Remaining), int64(ev.Amount), ev.Code
	}
	if ev.Kind == engine.EvSecuritySale {
		e.Step = lending.CloseOutStep(ev.Flags)
	}
	if ev.Client == 0 {
		return 0
	}
	c := s.client(ev.Client)
	if c.statement == nil {
		r := newRing[StatementEntry](s.cfg.StatementMax)
		c.statement = &r
	}
	c.statement.push(e)
	return ev.Client
}

func (s *Store) pricedAt(a lending.AssetID, t int64) {
	for int(a) >= len(s.priceAt) {
		s.priceAt = append(s.priceAt, 0)
	}
	s.priceAt[a] = t
}

// Statement returns a client's newest financing entries, newest first
// (limit ≤ 0: all kept).
func (s *Store) Statement(c engine.ClientID, limit int) []StatementEntry {
	s.mu.RLock()
	defer s.mu.RUnlock()
	cl := s.clients[c]
	if cl == nil || cl.statement == nil {
		return []StatementEntry{}
	}
	n := clamp(limit, cl.statement.n)
	out := make([]StatementEntry, 0, n)
	for i := 0; i < n; i++ {
		out = append(out, *cl.statement.at(i))
	}
	return out
}

// PriceTime returns the engine time an asset's price was last set, as seen
// since the store last rebuilt (0: not seen).
func (s *Store) PriceTime(a lending.AssetID) int64 {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if int(a) < len(s.priceAt) {
		return s.priceAt[a]
	}
	return 0
}
