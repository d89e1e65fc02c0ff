package engine

import (
	"errors"
	"strconv"

	"github.com/sampan-hk/sampan/core/book"
	"github.com/sampan-hk/sampan/core/fixed"
	"github.com/sampan-hk/sampan/core/ledger"
	"github.com/sampan-hk/sampan/core/risk"
)

// CheckInvariants recomputes everything the engine keeps incrementally and
// compares: ledger conservation, open-interest symmetry, settlement account
// = −Σ cost, every line's resting-order aggregates against a walk of the
// book, the reduce-only rule, margin figures from recomputed aggregates,
// each book's own invariants and the idempotency index. It is O(state) and
// meant for tests, the simulator and audits; it returns the first
// violation found.
func (e *Engine) CheckInvariants() error {
	fail := func(msg string, v ...int64) error {
		for _, x := range v {
			msg += " " + strconv.FormatInt(x, 10)
		}
		return errors.New("engine invariant: " + msg)
	}
	if err := e.led.Check(); err != nil {
		return err
	}
	if !e.idem.check() {
		return fail("idempotency index does not match its ring")
	}
	// Governance and eligibility: each store's own invariants; the
	// registered flags mirror the registry; every governed market runs on
	// its set's current value; nothing due is left unticked.
	if err := e.gov.Check(); err != nil {
		return err
	}
	if err := e.elig.Check(); err != nil {
		return err
	}
	for id := 1; id < len(e.clients); id++ {
		if e.clients[id].registered != e.elig.Classified(uint64(id)) {
			return fail("registered flag disagrees with the eligibility registry", int64(id))
		}
	}
	for i := range e.markets {
		m := &e.markets[i]
		if cur, ok := e.gov.Current("market:" + m.spec.Symbol); ok {
			if !cur.Value.Equal(marketValue(m, e.cfg.Funding.Interval)) {
				return fail("market parameters differ from the governed current value", int64(i))
			}
		}
	}
	if t, ok := e.gov.NextDeadline(); ok && t < e.govDue {
		return fail("governance deadline before govDue", t, e.govDue)
	}
	if t, ok := e.elig.NextDeadline(); ok && t < e.govDue {
		return fail("eligibility deadline before govDue", t, e.govDue)
	}
	if e.led.Balance(ledger.USD, ledger.Fees) < 0 {
		return fail("fee account negative")
	}
	// Funding residue only ever flows into the rounding account.
	if e.led.Balance(ledger.USD, ledger.Rounding) < 0 {
		return fail("rounding account negative")
	}
	due := noDue
	for mi := range e.markets {
		m := &e.markets[mi]
		v := &m.val
		if v.oracleMark && (m.mark < v.markRes.BandLow || m.mark > v.markRes.BandHigh) {
			return fail("oracle mark outside its band", int64(mi), int64(m.mark), int64(v.markRes.BandLow), int64(v.markRes.BandHigh))
		}
		if lo, hi, on := m.book.Band(); m.mark > 0 && (!on || m.mark < lo || m.mark > hi) {
			return fail("book band does not contain the mark", int64(mi), int64(m.mark))
		}
		if v.reduceOnly != e.marketReduceOnly(m) {
			return fail("market mode differs from the one announced", int64(mi))
		}
		if m.spec.Kind == Spot {
			if v.nextFunding != 0 {
				return fail("spot market with a funding boundary", int64(mi))
			}
			continue
		}
		if (v.nextFunding != 0) != e.unders[v.ul].live || (v.nextFunding != 0 && v.nextFunding <= e.now) {
			return fail("funding boundary missing or overdue", int64(mi), v.nextFunding)
		}
		if v.nextFunding != 0 {
			due = min(due, v.nextFunding)
		}
	}
	if due != e.nextDue {
		return fail("next due time", e.nextDue, due)
	}
	nm := len(e.markets)
	if len(e.lines) != len(e.clients)*nm {
		return fail("line table size", int64(len(e.lines)))
	}
	recomputed := make([]risk.Line, len(e.lines))
	for i := range e.lines {
		recomputed[i] = risk.Line{Size: e.lines[i].Size, Cost: e.lines[i].Cost, Leverage: e.lines[i].Leverage}
	}
	for mi := range e.markets {
		m := &e.markets[mi]
		if err := m.book.CheckInvariants(); err != nil {
			return err
		}
		if m.spec.Kind == Spot {
			if err := e.checkSpotBook(m); err != nil {
				return err
			}
			continue
		}
		var walkErr error
		m.book.Walk(func(v book.OrderView) bool {
			if v.Owner == 0 || int(v.Owner) >= len(e.clients) {
				walkErr = fail("resting order of unknown client", int64(v.Owner))
				return false
			}
			if !v.ReduceOnly {
				if code := e.eligibility(ClientID(v.Owner)); code != OK {
					walkErr = fail("an ineligible client ("+code.String()+") has an order that may increase its position", int64(v.Owner), int64(v.ID))
					return false
				}
			}
			recomputed[int(v.Owner)*nm+mi].AddOrder(&m.params, v.Side == book.Buy, v.ReduceOnly, v.Price, v.Qty, +1)
			recomputed[int(v.Owner)*nm+mi].Orders++
			return true
		})
		if walkErr != nil {
			return walkErr
		}
		var long, short fixed.Qty
		var cost fixed.Amount
		for c := 0; c < len(e.clients); c++ { // client 0: the insurance fund's positions
			l := &e.lines[c*nm+mi]
			r := &recomputed[c*nm+mi]
			if (l.Size == 0) != (l.Cost == 0) || (l.Size > 0) != (l.Cost > 0) {
				return fail("position cost sign disagrees with size", int64(c), int64(l.Size), int64(l.Cost))
			}
			long += pos(l.Size)
			short += pos(-l.Size)
			cost += l.Cost
			if l.BuyQty != r.BuyQty || l.SellQty != r.SellQty || l.BuyNotional != r.BuyNotional || l.SellNotional != r.SellNotional ||
				l.ReduceBuyQty != r.ReduceBuyQty || l.ReduceSellQty != r.ReduceSellQty || l.Orders != r.Orders {
				return fail("resting-order aggregates differ from the book", int64(c), int64(mi))
			}
			if int(l.Orders) != m.book.OpenOrders(book.Owner(c)) {
				return fail("order count differs from the book", int64(c), int64(mi))
			}
			if l.ReduceBuyQty > pos(-l.Size) || l.ReduceSellQty > pos(l.Size) {
				return fail("reduce-only orders could increase a position", int64(c), int64(mi))
			}
			if c > 0 && (l.Leverage < 1 || l.Leverage > m.maxLev) {
				return fail("leverage out of range", int64(c), l.Leverage)
			}
		}
		if long != short || long != m.longOI || short != m.shortOI {
			return fail("open interest", int64(mi), int64(long), int64(short), int64(m.longOI), int64(m.shortOI))
		}
		if got := e.led.Balance(ledger.USD, m.settlement); got != -cost {
			return fail("settlement account ≠ −Σ cost", int64(mi), int64(got), int64(cost))
		}
	}
	if err := e.checkLiquidation(); err != nil {
		return err
	}
	if err := e.checkFinancing(); err != nil {
		return err
	}
	// Margin figures from the recomputed lines equal the incremental ones.
	for c := 1; c < len(e.clients); c++ {
		eq, req := e.equityRequired(ClientID(c))
		var eq2, req2 fixed.Amount
		eq2 = e.led.Balance(ledger.USD, e.clients[c].deriv)
		for mi := range e.markets {
			m := &e.markets[mi]
			if m.spec.Kind == Spot {
				continue // spot lines stay empty (spot.go)
			}
			r := &recomputed[c*nm+mi]
			eq2 += r.Unrealized(&m.params, m.mark)
			w, _, _ := r.WorstCase(&m.params, m.mark)
			req2 += w
		}
		if eq != eq2 || req != req2 {
			return fail("margin figures differ from a recomputation", int64(c), int64(eq), int64(eq2), int64(req), int64(req2))
		}
	}
	return nil
}
