// Package market is a small simulated market for the terminal demo and for
// tests: a fair price that random-walks with occasional jumps, market makers
// that quote around it, and takers that cross the spread. It is seeded and
// deterministic: the same seed gives the same orders and the same trades.
package market

import (
	"math/rand/v2"

	"github.com/sampan-hk/sampan/core/book"
	"github.com/sampan-hk/sampan/core/fixed"
)

// Sim drives one book with simulated participants.
type Sim struct {
	Book *book.Book
	Fair fixed.Price // the simulated external fair price, in ticks

	rng    *rand.Rand
	quotes map[book.Owner][]book.OrderID
	// Trades is every trade so far (kept short by the caller via Drain).
	trades []book.Event
	Volume fixed.Qty
	Steps  int
}

// Market makers are owners 1..makers; takers follow.
const (
	makers = 4
	takers = 6
)

// New builds a simulation around a starting fair price.
func New(spec fixed.Spec, fair fixed.Price, seed uint64) *Sim {
	b := book.New(spec, book.Limits{MaxOrders: 1 << 14, MaxOrdersPerOwner: 200, MaxLevels: 4000})
	return &Sim{Book: b, Fair: fair, rng: rand.New(rand.NewPCG(seed, seed+1)), quotes: map[book.Owner][]book.OrderID{}}
}

// Step advances the simulation by one tick of activity: the fair price
// moves, one maker requotes, and a taker may trade.
func (s *Sim) Step() {
	s.Steps++
	// Random walk of ±0–3 ticks, with a 1% chance of a 0.3% jump.
	d := fixed.Price(s.rng.IntN(7) - 3)
	if s.rng.IntN(100) == 0 {
		j := fixed.Price(int64(s.Fair) * 3 / 1000)
		if s.rng.IntN(2) == 0 {
			j = -j
		}
		d += j
	}
	if s.Fair+d > 1 {
		s.Fair += d
	}
	// Keep the band 5% around fair, as the engine will around mark.
	s.Book.SetBand(s.Fair, 50_000)
	s.requote(book.Owner(1 + s.rng.IntN(makers)))
	if s.rng.IntN(3) == 0 {
		s.take(book.Owner(1 + makers + s.rng.IntN(takers)))
	}
}

// requote cancels a maker's quotes and places a fresh ladder of five levels
// each side around fair.
func (s *Sim) requote(m book.Owner) {
	s.collect(s.Book.CancelAll(m, book.CancelByOwner))
	s.quotes[m] = s.quotes[m][:0]
	spread := fixed.Price(2 + s.rng.IntN(4))
	for lvl := fixed.Price(0); lvl < 5; lvl++ {
		q := fixed.Qty(10 + s.rng.IntN(200))
		for _, side := range []book.Side{book.Buy, book.Sell} {
			p := s.Fair - spread - lvl*3
			if side == book.Sell {
				p = s.Fair + spread + lvl*3
			}
			evs := s.Book.Submit(book.Order{Owner: m, Side: side, Price: p, Qty: q, PostOnly: true, STP: book.STPExpireTaker})
			s.collect(evs)
		}
	}
}

func (s *Sim) take(t book.Owner) {
	side := book.Side(s.rng.IntN(2))
	q := fixed.Qty(5 + s.rng.IntN(300))
	s.collect(s.Book.Submit(book.Order{Owner: t, Side: side, Type: book.Market, Qty: q}))
}

func (s *Sim) collect(evs []book.Event) {
	for _, e := range evs {
		if e.Kind == book.EvTrade {
			s.trades = append(s.trades, e)
			s.Volume += e.Qty
		}
	}
}

// Drain returns the trades since the last call.
func (s *Sim) Drain() []book.Event {
	t := s.trades
	s.trades = nil
	return t
}
