package engine

import (
	"crypto/sha256"
	"encoding/binary"
)

// stateHashVersion is mixed into the hash; bump it when the canonical
// encoding below changes so old and new hashes are never compared.
const stateHashVersion = 5

// StateHash is SHA-256 over a canonical encoding of all engine state:
// engine time and sequence, every market (mark, open interest, every
// resting order in book order), every client (classification, lines), the
// ledger, and the idempotency window oldest first. Everything is walked in
// a fixed order (dense indexes, book price-time order, ring order), never
// in Go map order, so equal states hash equally on any machine.
func (e *Engine) StateHash() [32]byte {
	h := sha256.New()
	buf := make([]byte, 0, 4096)
	flush := func() {
		if len(buf) >= 3072 {
			h.Write(buf)
			buf = buf[:0]
		}
	}
	u64 := func(v uint64) { buf = binary.LittleEndian.AppendUint64(buf, v) }
	i64 := func(v int64) { u64(uint64(v)) }
	u64(stateHashVersion)
	u64(e.seq)
	i64(e.now)
	u64(uint64(len(e.markets)))
	for i := range e.markets {
		m := &e.markets[i]
		i64(int64(m.mark))
		i64(int64(m.longOI))
		i64(int64(m.shortOI))
		// The book's snapshot is its canonical encoding: every resting order
		// in price-time order with all flags, plus the id sequence, band and
		// free-slot order, which decide future order ids.
		buf = m.book.AppendSnapshot(buf)
		flush()
	}
	u64(uint64(len(e.clients)))
	for id := 1; id < len(e.clients); id++ {
		c := &e.clients[id]
		u64(uint64(len(c.ref)))
		buf = append(buf, c.ref...)
		u64(uint64(c.class) | uint64(b2u(c.knowledge))<<8 | uint64(b2u(c.liquidating))<<16 | uint64(b2u(c.queued))<<24)
		i64(c.expiry)
		u64(uint64(c.deriv))
		u64(uint64(c.fin))
		for j := range e.markets {
			l := e.line(ClientID(id), MarketID(j))
			for _, v := range [...]int64{int64(l.Size), int64(l.Cost), int64(l.Realized), l.Leverage,
				int64(l.BuyQty), int64(l.SellQty), int64(l.BuyNotional), int64(l.SellNotional),
				int64(l.ReduceBuyQty), int64(l.ReduceSellQty), int64(l.Orders)} {
				i64(v)
			}
		}
		flush()
	}
	u64(uint64(len(e.expiries)))
	for _, x := range e.expiries {
		i64(x.at)
		u64(uint64(x.client))
	}
	flush()
	buf = e.led.AppendState(buf)
	flush()
	buf = e.appendValuationState(buf)
	flush()
	buf = e.appendLiquidationState(buf)
	flush()
	// Governance and eligibility: each store's canonical content hash
	// (operators, proposals, every version, clients' records; not the
	// stores' clocks, which follow engine time). The registered flags
	// follow from the registry.
	gh, eh := e.gov.ContentHash(), e.elig.ContentHash()
	buf = append(buf, gh[:]...)
	buf = append(buf, eh[:]...)
	u64(uint64(e.govDue))
	flush()
	// Financing: the book's content hash (not its clock guard, which a
	// rejected check may move) and the engine's spot and close-out state.
	if e.fin != nil {
		fh := e.fin.Hash()
		buf = append(buf, fh[:]...)
		buf = e.appendSpotState(buf)
		flush()
	}
	u64(uint64(e.idem.n))
	e.idem.each(func(en *idemEntry) {
		u64(uint64(en.scope))
		u64(en.key)
		u64(en.fp)
		u64(uint64(en.res.Code) | uint64(en.res.Client)<<16)
		u64(e.idem.orderOrID(en))
		i64(int64(en.res.Qty))
		flush()
	})
	h.Write(buf)
	var out [32]byte
	h.Sum(out[:0])
	return out
}
