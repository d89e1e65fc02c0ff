// Package book is one central limit order book with price-time priority.
//
// It is pure and single-threaded: no clock, no I/O, no goroutines, no map
// iteration. Every operation returns the events it caused in a slice the
// book reuses, so steady-state operation allocates nothing.
//
// Layout, chosen for speed with numbers in docs/ARCHITECTURE.md:
//   - orders live in a pooled slice of slots addressed by dense int32
//     indexes; an OrderID carries its slot, so lookup is an array access;
//   - each price level is an intrusive FIFO (prev/next slot indexes);
//   - levels live in lazily allocated pages indexed by price in ticks;
//   - a hierarchical bitset per side finds the next non-empty level.
//
// Invariants (checked by CheckInvariants after every operation in tests):
// the book is never crossed; every resting order has positive quantity, a
// price in range, and sits in its level's FIFO in acceptance order unless an
// amend moved it to the back; each level's total equals the sum of its
// orders; per-owner counts equal the owner's resting orders.
package book

import (
	"github.com/sampan-hk/sampan/core/fixed"
)

const (
	slotBits = 20
	slotMask = 1<<slotBits - 1
	// MaxOrdersLimit is the most order slots one book can have.
	MaxOrdersLimit = slotMask
	pageBits       = 8
	pageSize       = 1 << pageBits
	none           = int32(0) // slot 0 is never used, so 0 means "no slot"
)

// Limits are the named bounds of one book. Each is tested at the limit and
// one past it.
type Limits struct {
	MaxOrders         int // resting orders in the book (≤ MaxOrdersLimit)
	MaxOrdersPerOwner int // resting orders per owner
	MaxLevels         int // non-empty price levels, both sides together
}

// DefaultLimits are generous bounds for a production market.
var DefaultLimits = Limits{MaxOrders: 1 << 19, MaxOrdersPerOwner: 1000, MaxLevels: 20000}

type slot struct {
	id         OrderID
	clientID   uint64
	price      fixed.Price
	qty        fixed.Qty
	prev, next int32 // level FIFO; next doubles as the free-list link
	oprev      int32 // owner list
	onext      int32
	owner      Owner
	side       Side
	postOnly   bool
	reduceOnly bool
	stp        STP
	live       bool
}

type level struct {
	head, tail int32
	count      int32
	qty        fixed.Qty
}

// ownerState heads an owner's intrusive list of resting orders, oldest
// first, so cancel-all and WalkOwner run in placement order in O(n).
type ownerState struct {
	head, tail int32
	count      int32
}

type clientKey struct {
	owner Owner
	cid   uint64
}

// Book is one market's order book. The zero value is not usable; call New.
type Book struct {
	spec   fixed.Spec
	limits Limits

	slots    []slot
	free     int32 // head of the free-slot list
	used     int   // resting orders
	seq      uint64
	levels   int // non-empty levels
	pages    [2][]*[pageSize]level
	ladders  [2]ladder
	best     [2]fixed.Price // 0 when the side is empty
	owners   []ownerState
	clientID map[clientKey]int32

	bandRef fixed.Price
	bandPpm fixed.Ppm
	// bandLo and bandHi cache the band's edges, computed once per SetBand
	// rather than with two 128-bit divisions per order.
	bandLo, bandHi fixed.Price
	banded         bool

	ev []Event
}

// New returns an empty book for an instrument. The spec must be validated.
func New(spec fixed.Spec, limits Limits) *Book {
	if limits.MaxOrders <= 0 || limits.MaxOrders > MaxOrdersLimit {
		panic("book: MaxOrders out of range")
	}
	if spec.MaxPrice <= 0 || spec.MaxPrice > 1<<40 {
		panic("book: spec MaxPrice out of range")
	}
	b := &Book{spec: spec, limits: limits}
	b.slots = make([]slot, limits.MaxOrders+1)
	// Chain the free list 1 → 2 → ... → MaxOrders → none.
	for i := 1; i < len(b.slots); i++ {
		if i+1 < len(b.slots) {
			b.slots[i].next = int32(i + 1)
		}
	}
	b.free = 1
	npages := int(spec.MaxPrice>>pageBits) + 1
	for s := range b.pages {
		b.pages[s] = make([]*[pageSize]level, npages)
		b.ladders[s] = newLadder(int(spec.MaxPrice) + 1)
	}
	b.clientID = make(map[clientKey]int32, 1024)
	b.SetBand(0, 0)
	b.ev = make([]Event, 0, 256)
	return b
}

// Spec returns the instrument spec the book was built with.
func (b *Book) Spec() *fixed.Spec { return &b.spec }

// Limits returns the book's limits.
func (b *Book) Limits() Limits { return b.limits }

// SetBand sets the price band: orders priced outside
// [ref×(1−band), ref×(1+band)] are rejected, and market orders never trade
// beyond it. A zero ref or band disables the check.
//
// A reference above the instrument's maximum price is clamped to it (no
// order can be priced above it anyway); a band of 100% or more is a
// programming error upstream and panics.
func (b *Book) SetBand(ref fixed.Price, band fixed.Ppm) {
	if band < 0 || band >= fixed.PpmOne {
		panic("book: band out of range")
	}
	b.bandRef, b.bandPpm = min(ref, b.spec.MaxPrice), band
	b.bandLo, b.bandHi, b.banded = 1, b.spec.MaxPrice, false
	if b.bandRef <= 0 || b.bandPpm <= 0 {
		return
	}
	lo := fixed.Price(fixed.MustMulDiv(int64(b.bandRef), int64(fixed.PpmOne-b.bandPpm), int64(fixed.PpmOne), fixed.Ceil))
	hi := fixed.Price(fixed.MustMulDiv(int64(b.bandRef), int64(fixed.PpmOne+b.bandPpm), int64(fixed.PpmOne), fixed.Floor))
	b.bandLo, b.bandHi, b.banded = max(lo, 1), min(hi, b.spec.MaxPrice), true
}

// Band returns the inclusive price range orders may carry, and whether a
// band is set.
func (b *Book) Band() (lo, hi fixed.Price, ok bool) {
	return b.bandLo, b.bandHi, b.banded
}

// Best returns the best price on a side and its total quantity.
func (b *Book) Best(s Side) (fixed.Price, fixed.Qty, bool) {
	p := b.best[s]
	if p == 0 {
		return 0, 0, false
	}
	return p, b.level(s, p).qty, true
}

// Len returns the number of resting orders.
func (b *Book) Len() int { return b.used }

// LevelCount returns the number of non-empty price levels.
func (b *Book) LevelCount() int { return b.levels }

// OpenOrders returns how many orders an owner has resting.
func (b *Book) OpenOrders(o Owner) int {
	if int(o) >= len(b.owners) {
		return 0
	}
	return int(b.owners[o].count)
}

// Get returns a resting order by id.
func (b *Book) Get(id OrderID) (OrderView, bool) {
	i := b.lookup(id)
	if i == none {
		return OrderView{}, false
	}
	return b.view(i), true
}

// GetByClientID returns an owner's resting order by client order id.
func (b *Book) GetByClientID(o Owner, cid uint64) (OrderView, bool) {
	i, ok := b.clientID[clientKey{o, cid}]
	if !ok || cid == 0 {
		return OrderView{}, false
	}
	return b.view(i), true
}

func (b *Book) view(i int32) OrderView {
	s := &b.slots[i]
	return OrderView{ID: s.id, Owner: s.owner, ClientID: s.clientID, Side: s.side, Price: s.price, Qty: s.qty, PostOnly: s.postOnly, ReduceOnly: s.reduceOnly}
}

func (b *Book) lookup(id OrderID) int32 {
	i := int32(id & slotMask)
	if i <= 0 || int(i) >= len(b.slots) {
		return none
	}
	if s := &b.slots[i]; !s.live || s.id != id {
		return none
	}
	return i
}

// Depth appends up to n levels of one side, best first, to dst.
func (b *Book) Depth(s Side, n int, dst []Level) []Level {
	p := int(b.best[s])
	for p > 0 && n > 0 {
		lv := b.level(s, fixed.Price(p))
		dst = append(dst, Level{Price: fixed.Price(p), Qty: lv.qty, Orders: int(lv.count)})
		n--
		if s == Buy {
			p = b.ladders[s].prev(p - 1)
		} else {
			p = b.ladders[s].next(p + 1)
		}
	}
	return dst
}

// Walk calls fn for every resting order: bids best first then asks best
// first, FIFO within a level. The order is deterministic (snapshots and
// state hashes depend on it). Walk stops early if fn returns false.
func (b *Book) Walk(fn func(OrderView) bool) {
	for _, s := range [2]Side{Buy, Sell} {
		p := int(b.best[s])
		for p > 0 {
			for i := b.level(s, fixed.Price(p)).head; i != none; i = b.slots[i].next {
				if !fn(b.view(i)) {
					return
				}
			}
			if s == Buy {
				p = b.ladders[s].prev(p - 1)
			} else {
				p = b.ladders[s].next(p + 1)
			}
		}
	}
}

// WalkOwner calls fn for each resting order of one owner in placement
// order (an amend keeps an order's place). It stops early if fn returns false.
func (b *Book) WalkOwner(o Owner, fn func(OrderView) bool) {
	if int(o) >= len(b.owners) {
		return
	}
	for i := b.owners[o].head; i != none; i = b.slots[i].onext {
		if !fn(b.view(i)) {
			return
		}
	}
}

func (b *Book) level(s Side, p fixed.Price) *level {
	pg := b.pages[s][p>>pageBits]
	if pg == nil {
		pg = new([pageSize]level)
		b.pages[s][p>>pageBits] = pg
	}
	return &pg[p&(pageSize-1)]
}

func (b *Book) reset() { b.ev = b.ev[:0] }

func (b *Book) emit(e Event) { b.ev = append(b.ev, e) }

func (b *Book) reject(o *Order, r Reason) []Event {
	b.emit(Event{Kind: EvRejected, Reason: r, Side: o.Side, Owner: o.Owner, ClientID: o.ClientID, Price: o.Price, Qty: o.Qty})
	return b.ev
}

// Submit validates and matches an order, resting any GTC remainder. The
// returned events are valid until the next call on the book.
//
// Rules, in order: an invalid order, a client id already open for the
// owner, or a post-only order that would cross is rejected. A GTC limit
// order is rejected if its owner is at the open-order limit, or if it does
// not cross and there is no free slot or its level would exceed the level
// limit. A crossing GTC order takes a slot at acceptance if one is free; if
// none was, its remainder after matching expires with ExpireNoRoom (even if
// its own fills freed slots: the rule is decided before matching, which
// keeps it simple to state and to replay).
func (b *Book) Submit(o Order) []Event {
	b.reset()
	if r := b.validate(&o); r != ReasonNone {
		return b.reject(&o, r)
	}
	if o.ClientID != 0 {
		if _, dup := b.clientID[clientKey{o.Owner, o.ClientID}]; dup {
			return b.reject(&o, RejectDuplicateClientID)
		}
	}
	crossing := b.crosses(o.Side, o.Price)
	if o.PostOnly && crossing {
		return b.reject(&o, RejectPostOnlyWouldCross)
	}
	gtc := o.Type == Limit && o.TIF == GTC
	if gtc {
		if b.OpenOrders(o.Owner) >= b.limits.MaxOrdersPerOwner {
			return b.reject(&o, RejectTooManyOrders)
		}
		if !crossing {
			if b.free == none {
				return b.reject(&o, RejectBookFull)
			}
			if b.level(o.Side, o.Price).count == 0 && b.levels >= b.limits.MaxLevels {
				return b.reject(&o, RejectTooManyLevels)
			}
		}
	}
	b.seq++
	id := OrderID(b.seq << slotBits)
	var i int32
	if gtc && b.free != none {
		// Reserve the slot now so every event carries the final id.
		i = b.alloc()
		id |= OrderID(i)
	}
	b.emit(Event{Kind: EvAccepted, Side: o.Side, Order: id, Owner: o.Owner, ClientID: o.ClientID, Price: o.Price, Qty: o.Qty, Remaining: o.Qty})
	if o.TIF == FOK && !b.fillable(&o) {
		b.emit(Event{Kind: EvExpired, Reason: ExpireFOK, Side: o.Side, Order: id, Owner: o.Owner, ClientID: o.ClientID, Price: o.Price, Qty: o.Qty})
		return b.ev
	}
	rem, stopped := b.match(&o, id, o.Qty)
	var r Reason
	switch {
	case rem == 0:
	case stopped:
		r = ExpireSelfTrade
	case !gtc:
		r = ExpireIOC
	case i == none:
		// Only a crossing order can get here without a slot. Its level
		// needs no check: a remainder left after crossing means it emptied
		// at least one opposite level, so the level count has room.
		r = ExpireNoRoom
	}
	if rem == 0 || r != ReasonNone {
		if rem > 0 {
			b.emit(Event{Kind: EvExpired, Reason: r, Side: o.Side, Order: id, Owner: o.Owner, ClientID: o.ClientID, Price: o.Price, Qty: rem})
		}
		if i != none {
			b.unalloc(i)
		}
		return b.ev
	}
	b.slots[i] = slot{id: id, clientID: o.ClientID, price: o.Price, qty: rem, owner: o.Owner, side: o.Side, postOnly: o.PostOnly, reduceOnly: o.ReduceOnly, stp: o.STP, live: true}
	b.rest(i)
	return b.ev
}

// validate checks an order against the instrument and the band, and
// resolves a market order's worst price.
func (b *Book) validate(o *Order) Reason {
	if o.Side > Sell || o.Type > Market || o.TIF > FOK || o.STP > STPExpireBoth {
		return RejectInvalidOrder
	}
	if o.Qty <= 0 {
		return RejectInvalidQty
	}
	if o.Qty > b.spec.MaxQty {
		return RejectQtyTooLarge
	}
	lo, hi, banded := b.Band()
	if o.Type == Market {
		if o.PostOnly || o.TIF == GTC {
			// A market order is IOC by nature; FOK market is allowed.
			if o.PostOnly {
				return RejectInvalidOrder
			}
			o.TIF = IOC
		}
		if o.Price == 0 {
			if !banded {
				return RejectNoPriceProtection
			}
			if o.Side == Buy {
				o.Price = hi
			} else {
				o.Price = lo
			}
			return ReasonNone
		}
		if o.Price < 0 || o.Price > b.spec.MaxPrice {
			return RejectInvalidPrice
		}
		// A worst price beyond the band is tightened to the band edge.
		if o.Side == Buy && o.Price > hi {
			o.Price = hi
		}
		if o.Side == Sell && o.Price < lo {
			o.Price = lo
		}
		return ReasonNone
	}
	if o.PostOnly && o.TIF != GTC {
		return RejectInvalidOrder
	}
	if o.Price <= 0 || o.Price > b.spec.MaxPrice {
		return RejectInvalidPrice
	}
	if o.Price < lo || o.Price > hi {
		return RejectPriceOutOfBand
	}
	return ReasonNone
}

// crosses reports whether a limit at price p on side s would take liquidity.
func (b *Book) crosses(s Side, p fixed.Price) bool {
	opp := b.best[s.Opposite()]
	if opp == 0 {
		return false
	}
	if s == Buy {
		return p >= opp
	}
	return p <= opp
}

// fillable reports whether a FOK order can fill completely now. It walks
// exactly the liquidity match would take: a self-order under expire-taker or
// expire-both stops the walk (the taker would expire there); under
// expire-maker it is skipped (it would be cancelled, not traded).
func (b *Book) fillable(o *Order) bool {
	opp := o.Side.Opposite()
	need := o.Qty
	p := int(b.best[opp])
	for p > 0 && b.priceOK(o.Side, o.Price, fixed.Price(p)) {
		for i := b.level(opp, fixed.Price(p)).head; i != none; i = b.slots[i].next {
			s := &b.slots[i]
			if s.owner == o.Owner && o.STP != STPNone {
				if o.STP == STPExpireMaker {
					continue
				}
				return false
			}
			need -= s.qty
			if need <= 0 {
				return true
			}
		}
		if opp == Sell {
			p = b.ladders[opp].next(p + 1)
		} else {
			p = b.ladders[opp].prev(p - 1)
		}
	}
	return false
}

// priceOK reports whether a taker on side s with limit lim may trade at p.
func (b *Book) priceOK(s Side, lim, p fixed.Price) bool {
	if s == Buy {
		return p <= lim
	}
	return p >= lim
}

// match trades a taker against the opposite side up to its limit price. It
// returns the unfilled quantity and whether self-trade prevention stopped
// the taker.
func (b *Book) match(o *Order, id OrderID, qty fixed.Qty) (fixed.Qty, bool) {
	opp := o.Side.Opposite()
	for qty > 0 {
		p := b.best[opp]
		if p == 0 || !b.priceOK(o.Side, o.Price, p) {
			return qty, false
		}
		lv := b.level(opp, p)
		stopped := false
		for i := lv.head; i != none && qty > 0; {
			m := &b.slots[i]
			nxt := m.next
			if m.owner == o.Owner && o.STP != STPNone {
				if o.STP == STPExpireMaker || o.STP == STPExpireBoth {
					b.emit(Event{Kind: EvCancelled, Reason: CancelSelfTrade, Side: m.side, Order: m.id, Owner: m.owner, ClientID: m.clientID, Price: m.price, Qty: m.qty, ReduceOnly: m.reduceOnly})
					lv.qty -= m.qty
					b.unlink(i, lv)
				}
				if o.STP != STPExpireMaker {
					stopped = true
					break
				}
				i = nxt
				continue
			}
			t := qty
			if m.qty < t {
				t = m.qty
			}
			qty -= t
			m.qty -= t
			lv.qty -= t
			b.emit(Event{Kind: EvTrade, Side: o.Side, Order: id, Owner: o.Owner, ClientID: o.ClientID, Price: p, Qty: t, Remaining: qty,
				ReduceOnly: o.ReduceOnly, Maker: m.id, MakerOwner: m.owner, MakerClientID: m.clientID, MakerRemaining: m.qty, MakerReduceOnly: m.reduceOnly})
			if m.qty == 0 {
				b.unlink(i, lv)
			}
			i = nxt
		}
		b.emit(Event{Kind: EvLevel, Side: opp, Price: p, Qty: lv.qty})
		if lv.count == 0 {
			b.dropLevel(opp, p)
		}
		if stopped {
			return qty, true
		}
	}
	return 0, false
}

func (b *Book) alloc() int32 {
	i := b.free
	if i == none {
		panic("book: no free slot after canRest")
	}
	b.free = b.slots[i].next
	b.used++
	return i
}

// unalloc returns a reserved slot that never rested.
func (b *Book) unalloc(i int32) {
	b.slots[i] = slot{next: b.free}
	b.free = i
	b.used--
}

// rest appends slot i to the back of its level and its owner's list.
func (b *Book) rest(i int32) {
	b.linkLevel(i)
	b.linkOwner(i)
}

// linkLevel appends slot i to the back of its price level's FIFO.
func (b *Book) linkLevel(i int32) {
	s := &b.slots[i]
	lv := b.level(s.side, s.price)
	if lv.count == 0 {
		b.levels++
		b.ladders[s.side].set(int(s.price))
		if cur := b.best[s.side]; cur == 0 || (s.side == Buy && s.price > cur) || (s.side == Sell && s.price < cur) {
			b.best[s.side] = s.price
		}
	}
	s.prev, s.next = lv.tail, none
	if lv.tail != none {
		b.slots[lv.tail].next = i
	} else {
		lv.head = i
	}
	lv.tail = i
	lv.count++
	lv.qty += s.qty
	b.emit(Event{Kind: EvLevel, Side: s.side, Price: s.price, Qty: lv.qty})
}

func (b *Book) linkOwner(i int32) {
	s := &b.slots[i]
	for int(s.owner) >= len(b.owners) {
		b.owners = append(b.owners, ownerState{})
	}
	ow := &b.owners[s.owner]
	s.oprev, s.onext = ow.tail, none
	if ow.tail != none {
		b.slots[ow.tail].onext = i
	} else {
		ow.head = i
	}
	ow.tail = i
	ow.count++
	if s.clientID != 0 {
		b.clientID[clientKey{s.owner, s.clientID}] = i
	}
}

// unlink removes slot i from its level and owner list and frees it. The
// caller has already taken its quantity out of lv.qty and drops an empty
// level afterwards.
func (b *Book) unlink(i int32, lv *level) {
	b.unlinkLevel(i, lv)
	b.release(i)
}

func (b *Book) unlinkLevel(i int32, lv *level) {
	s := &b.slots[i]
	if s.prev != none {
		b.slots[s.prev].next = s.next
	} else {
		lv.head = s.next
	}
	if s.next != none {
		b.slots[s.next].prev = s.prev
	} else {
		lv.tail = s.prev
	}
	lv.count--
}

// release takes slot i off its owner's list and returns it to the free list.
func (b *Book) release(i int32) {
	s := &b.slots[i]
	ow := &b.owners[s.owner]
	if s.oprev != none {
		b.slots[s.oprev].onext = s.onext
	} else {
		ow.head = s.onext
	}
	if s.onext != none {
		b.slots[s.onext].oprev = s.oprev
	} else {
		ow.tail = s.oprev
	}
	ow.count--
	if s.clientID != 0 {
		delete(b.clientID, clientKey{s.owner, s.clientID})
	}
	s.live = false
	s.next = b.free
	b.free = i
	b.used--
}

// dropLevel clears an empty level's bit and moves the best price if needed.
func (b *Book) dropLevel(s Side, p fixed.Price) {
	b.levels--
	b.ladders[s].clear(int(p))
	if b.best[s] != p {
		return
	}
	var n int
	if s == Buy {
		n = b.ladders[s].prev(int(p) - 1)
	} else {
		n = b.ladders[s].next(int(p) + 1)
	}
	if n < 0 {
		n = 0
	}
	b.best[s] = fixed.Price(n)
}

// remove takes resting slot i out of the book entirely.
func (b *Book) remove(i int32) {
	s := &b.slots[i]
	side, p := s.side, s.price
	lv := b.level(side, p)
	lv.qty -= s.qty
	b.unlink(i, lv)
	b.emit(Event{Kind: EvLevel, Side: side, Price: p, Qty: lv.qty})
	if lv.count == 0 {
		b.dropLevel(side, p)
	}
}

// Cancel removes an owner's resting order by id.
func (b *Book) Cancel(o Owner, id OrderID, r Reason) []Event {
	b.reset()
	i := b.lookup(id)
	if i == none || b.slots[i].owner != o {
		b.emit(Event{Kind: EvRejected, Reason: RejectUnknownOrder, Order: id, Owner: o})
		return b.ev
	}
	b.cancelSlot(i, r)
	return b.ev
}

// CancelByClientID removes an owner's resting order by client order id.
func (b *Book) CancelByClientID(o Owner, cid uint64, r Reason) []Event {
	b.reset()
	i, ok := b.clientID[clientKey{o, cid}]
	if !ok || cid == 0 {
		b.emit(Event{Kind: EvRejected, Reason: RejectUnknownOrder, Owner: o, ClientID: cid})
		return b.ev
	}
	b.cancelSlot(i, r)
	return b.ev
}

// CancelAll removes every resting order of an owner, oldest first.
func (b *Book) CancelAll(o Owner, r Reason) []Event {
	b.reset()
	if int(o) >= len(b.owners) {
		return b.ev
	}
	// Oldest first, so events read in placement order.
	for b.owners[o].head != none {
		b.cancelSlot(b.owners[o].head, r)
	}
	return b.ev
}

func (b *Book) cancelSlot(i int32, r Reason) {
	s := &b.slots[i]
	b.emit(Event{Kind: EvCancelled, Reason: r, Side: s.side, Order: s.id, Owner: s.owner, ClientID: s.clientID, Price: s.price, Qty: s.qty, ReduceOnly: s.reduceOnly})
	b.remove(i)
}

// Amend changes a resting order's price and/or remaining quantity. Reducing
// the quantity at the same price keeps time priority; a price change or a
// quantity increase moves the order to the back of its (new) level. A new
// price that crosses the book trades at once like a fresh limit order, except
// a post-only order, whose amend is then rejected and the order left as it
// was. The order keeps its id.
func (b *Book) Amend(o Owner, id OrderID, price fixed.Price, qty fixed.Qty) []Event {
	b.reset()
	i := b.lookup(id)
	if i == none || b.slots[i].owner != o {
		b.emit(Event{Kind: EvRejected, Reason: RejectUnknownOrder, Order: id, Owner: o, Price: price, Qty: qty})
		return b.ev
	}
	s := &b.slots[i]
	req := Order{Owner: o, ClientID: s.clientID, Side: s.side, Type: Limit, TIF: GTC, PostOnly: s.postOnly, ReduceOnly: s.reduceOnly, Price: price, Qty: qty}
	rej := func(r Reason) []Event {
		b.emit(Event{Kind: EvRejected, Reason: r, Side: s.side, Order: id, Owner: o, ClientID: s.clientID, Price: price, Qty: qty})
		return b.ev
	}
	if price == s.price && qty > 0 && qty <= s.qty {
		lv := b.level(s.side, s.price)
		lv.qty -= s.qty - qty
		s.qty = qty
		b.emit(Event{Kind: EvAmended, Side: s.side, Order: id, Owner: o, ClientID: s.clientID, Price: price, Qty: qty, Remaining: qty})
		b.emit(Event{Kind: EvLevel, Side: s.side, Price: price, Qty: lv.qty})
		return b.ev
	}
	if r := b.validate(&req); r != ReasonNone {
		return rej(r)
	}
	crossing := b.crosses(s.side, price)
	if crossing && s.postOnly {
		return rej(RejectPostOnlyWouldCross)
	}
	// A move to a new level needs a free one unless it empties the old level.
	if !crossing && price != s.price && b.level(s.side, price).count == 0 && b.level(s.side, s.price).count > 1 && b.levels >= b.limits.MaxLevels {
		return rej(RejectTooManyLevels)
	}
	// Report the amend first, then take the order out keeping its slot (and
	// so its id). A same-price increase re-queues at the back of the same
	// level and reports that level once, with its final total.
	b.emit(Event{Kind: EvAmended, Side: s.side, Order: id, Owner: o, ClientID: s.clientID, Price: price, Qty: qty, Remaining: qty})
	side, oldP := s.side, s.price
	lv := b.level(side, oldP)
	lv.qty -= s.qty
	b.unlinkLevel(i, lv)
	if price != oldP {
		b.emit(Event{Kind: EvLevel, Side: side, Price: oldP, Qty: lv.qty})
	}
	if lv.count == 0 {
		b.dropLevel(side, oldP)
	}
	rem := qty
	if crossing {
		var stopped bool
		rem, stopped = b.match(&Order{Owner: o, ClientID: s.clientID, Side: side, Price: price, STP: s.stp, ReduceOnly: s.reduceOnly}, id, qty)
		if rem > 0 && stopped {
			b.emit(Event{Kind: EvExpired, Reason: ExpireSelfTrade, Side: side, Order: id, Owner: o, ClientID: s.clientID, Price: price, Qty: rem})
			rem = 0
		}
	}
	// A crossing remainder emptied at least one opposite level, so there is
	// always a level free for it here.
	if rem == 0 {
		b.release(i)
		return b.ev
	}
	s.price, s.qty = price, rem
	b.linkLevel(i)
	return b.ev
}
