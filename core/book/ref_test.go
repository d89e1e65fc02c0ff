package book

import (
	"sort"

	"github.com/sampan-hk/sampan/core/fixed"
)

// refBook is the naive reference model of Book: a flat slice of resting
// orders, linear scans and sorting, no indexes. It implements the
// documented semantics (the Submit, Amend and Cancel doc comments and the
// type docs) as directly as possible so the differential tests can compare
// every event and the whole book after every operation.
//
// Reference order ids are the acceptance number (1, 2, 3, ...); the tests
// translate the real book's ids, whose upper bits are the same number.
type refBook struct {
	maxPrice fixed.Price
	maxQty   fixed.Qty
	limits   Limits

	orders []*refOrder // resting orders, in no particular order
	seq    uint64      // acceptance counter = reference order id
	clock  uint64      // time priority stamp; moving to the back takes a new one

	bandRef fixed.Price
	bandPpm fixed.Ppm

	ev []Event
}

type refOrder struct {
	id         OrderID
	owner      Owner
	cid        uint64
	side       Side
	price      fixed.Price
	qty        fixed.Qty
	postOnly   bool
	reduceOnly bool
	stp        STP
	time       uint64 // priority within the level: lower is earlier
}

func newRef(spec fixed.Spec, l Limits) *refBook {
	return &refBook{maxPrice: spec.MaxPrice, maxQty: spec.MaxQty, limits: l}
}

func (r *refBook) SetBand(ref fixed.Price, ppm fixed.Ppm) {
	r.bandRef, r.bandPpm = min(ref, r.maxPrice), ppm
}

// band computes [ref×(1−band), ref×(1+band)] rounded inwards, clamped to
// [1, maxPrice]. The tests keep ref×ppm small enough for int64.
func (r *refBook) band() (lo, hi fixed.Price, ok bool) {
	if r.bandRef <= 0 || r.bandPpm <= 0 {
		return 1, r.maxPrice, false
	}
	const one = 1_000_000
	ref, ppm := int64(r.bandRef), int64(r.bandPpm)
	loNum := ref * (one - ppm)
	if loNum <= 0 {
		lo = 1
	} else {
		lo = fixed.Price((loNum + one - 1) / one)
	}
	hi = fixed.Price(ref * (one + ppm) / one)
	if lo < 1 {
		lo = 1
	}
	if hi > r.maxPrice {
		hi = r.maxPrice
	}
	return lo, hi, true
}

func (r *refBook) emit(e Event) { r.ev = append(r.ev, e) }

// levelOrders returns the orders resting at side/price in FIFO order.
func (r *refBook) levelOrders(s Side, p fixed.Price) []*refOrder {
	var out []*refOrder
	for _, o := range r.orders {
		if o.side == s && o.price == p {
			out = append(out, o)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].time < out[j].time })
	return out
}

func (r *refBook) levelQty(s Side, p fixed.Price) fixed.Qty {
	var q fixed.Qty
	for _, o := range r.levelOrders(s, p) {
		q += o.qty
	}
	return q
}

// prices returns the distinct prices of one side, best first.
func (r *refBook) prices(s Side) []fixed.Price {
	seen := map[fixed.Price]bool{}
	var ps []fixed.Price
	for _, o := range r.orders {
		if o.side == s && !seen[o.price] {
			seen[o.price] = true
			ps = append(ps, o.price)
		}
	}
	sort.Slice(ps, func(i, j int) bool {
		if s == Buy {
			return ps[i] > ps[j]
		}
		return ps[i] < ps[j]
	})
	return ps
}

func (r *refBook) best(s Side) fixed.Price {
	ps := r.prices(s)
	if len(ps) == 0 {
		return 0
	}
	return ps[0]
}

func (r *refBook) levelCount() int { return len(r.prices(Buy)) + len(r.prices(Sell)) }

func (r *refBook) ownerCount(o Owner) int {
	n := 0
	for _, x := range r.orders {
		if x.owner == o {
			n++
		}
	}
	return n
}

func (r *refBook) find(id OrderID) *refOrder {
	for _, o := range r.orders {
		if o.id == id {
			return o
		}
	}
	return nil
}

func (r *refBook) findClient(ow Owner, cid uint64) *refOrder {
	if cid == 0 {
		return nil
	}
	for _, o := range r.orders {
		if o.owner == ow && o.cid == cid {
			return o
		}
	}
	return nil
}

func (r *refBook) removeOrder(x *refOrder) {
	for i, o := range r.orders {
		if o == x {
			r.orders = append(r.orders[:i], r.orders[i+1:]...)
			return
		}
	}
	panic("ref: removing an order that is not resting")
}

// addOrder puts x at the back of its level and reports the level total.
func (r *refBook) addOrder(x *refOrder) {
	r.clock++
	x.time = r.clock
	r.orders = append(r.orders, x)
	r.emit(Event{Kind: EvLevel, Side: x.side, Price: x.price, Qty: r.levelQty(x.side, x.price)})
}

func (r *refBook) crosses(s Side, p fixed.Price) bool {
	opp := r.best(s.Opposite())
	if opp == 0 {
		return false
	}
	if s == Buy {
		return p >= opp
	}
	return p <= opp
}

func tradable(s Side, limit, p fixed.Price) bool {
	if s == Buy {
		return p <= limit
	}
	return p >= limit
}

// validate mirrors the documented validation, resolving a market order's
// worst price and time in force.
func (r *refBook) validate(o *Order) Reason {
	if o.Side > Sell || o.Type > Market || o.TIF > FOK || o.STP > STPExpireBoth {
		return RejectInvalidOrder
	}
	if o.Qty <= 0 {
		return RejectInvalidQty
	}
	if o.Qty > r.maxQty {
		return RejectQtyTooLarge
	}
	lo, hi, banded := r.band()
	if o.Type == Market {
		if o.PostOnly {
			return RejectInvalidOrder
		}
		if o.TIF == GTC {
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
		if o.Price < 0 || o.Price > r.maxPrice {
			return RejectInvalidPrice
		}
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
	if o.Price <= 0 || o.Price > r.maxPrice {
		return RejectInvalidPrice
	}
	if o.Price < lo || o.Price > hi {
		return RejectPriceOutOfBand
	}
	return ReasonNone
}

func (r *refBook) Submit(o Order) []Event {
	r.ev = nil
	rej := func(reason Reason) []Event {
		r.emit(Event{Kind: EvRejected, Reason: reason, Side: o.Side, Owner: o.Owner, ClientID: o.ClientID, Price: o.Price, Qty: o.Qty})
		return r.ev
	}
	if reason := r.validate(&o); reason != ReasonNone {
		return rej(reason)
	}
	if r.findClient(o.Owner, o.ClientID) != nil {
		return rej(RejectDuplicateClientID)
	}
	crossing := r.crosses(o.Side, o.Price)
	if o.PostOnly && crossing {
		return rej(RejectPostOnlyWouldCross)
	}
	gtc := o.Type == Limit && o.TIF == GTC
	if gtc {
		if r.ownerCount(o.Owner) >= r.limits.MaxOrdersPerOwner {
			return rej(RejectTooManyOrders)
		}
		if !crossing {
			if len(r.orders) >= r.limits.MaxOrders {
				return rej(RejectBookFull)
			}
			if len(r.levelOrders(o.Side, o.Price)) == 0 && r.levelCount() >= r.limits.MaxLevels {
				return rej(RejectTooManyLevels)
			}
		}
	}
	r.seq++
	id := OrderID(r.seq)
	// A GTC order takes its slot at acceptance, before matching frees any.
	hasSlot := gtc && len(r.orders) < r.limits.MaxOrders
	r.emit(Event{Kind: EvAccepted, Side: o.Side, Order: id, Owner: o.Owner, ClientID: o.ClientID, Price: o.Price, Qty: o.Qty, Remaining: o.Qty})
	if o.TIF == FOK && !r.fillable(o) {
		r.emit(Event{Kind: EvExpired, Reason: ExpireFOK, Side: o.Side, Order: id, Owner: o.Owner, ClientID: o.ClientID, Price: o.Price, Qty: o.Qty})
		return r.ev
	}
	rem, stopped := r.match(o.Side, o.Price, o.Owner, o.ClientID, o.STP, o.ReduceOnly, id, o.Qty)
	expire := func(reason Reason) []Event {
		r.emit(Event{Kind: EvExpired, Reason: reason, Side: o.Side, Order: id, Owner: o.Owner, ClientID: o.ClientID, Price: o.Price, Qty: rem})
		return r.ev
	}
	switch {
	case rem == 0:
		return r.ev
	case stopped:
		return expire(ExpireSelfTrade)
	case !gtc:
		return expire(ExpireIOC)
	case !hasSlot:
		return expire(ExpireNoRoom)
	}
	r.addOrder(&refOrder{id: id, owner: o.Owner, cid: o.ClientID, side: o.Side, price: o.Price, qty: rem, postOnly: o.PostOnly, reduceOnly: o.ReduceOnly, stp: o.STP})
	return r.ev
}

// fillable simulates the match without changing anything: under
// expire-maker a self order is skipped, under expire-taker/both it ends the
// fill.
func (r *refBook) fillable(o Order) bool {
	need := o.Qty
	for _, p := range r.prices(o.Side.Opposite()) {
		if !tradable(o.Side, o.Price, p) {
			break
		}
		for _, m := range r.levelOrders(o.Side.Opposite(), p) {
			if m.owner == o.Owner && o.STP != STPNone {
				if o.STP == STPExpireMaker {
					continue
				}
				return false
			}
			need -= m.qty
			if need <= 0 {
				return true
			}
		}
	}
	return false
}

// match trades a taker against the opposite side, best price first, FIFO
// within a price, emitting one level event per level it touched.
func (r *refBook) match(side Side, limit fixed.Price, owner Owner, cid uint64, stp STP, ro bool, id OrderID, qty fixed.Qty) (fixed.Qty, bool) {
	opp := side.Opposite()
	for qty > 0 {
		p := r.best(opp)
		if p == 0 || !tradable(side, limit, p) {
			return qty, false
		}
		stopped := false
		for _, m := range r.levelOrders(opp, p) {
			if qty == 0 {
				break
			}
			if m.owner == owner && stp != STPNone {
				if stp == STPExpireMaker || stp == STPExpireBoth {
					r.emit(Event{Kind: EvCancelled, Reason: CancelSelfTrade, Side: m.side, Order: m.id, Owner: m.owner, ClientID: m.cid, Price: m.price, Qty: m.qty, ReduceOnly: m.reduceOnly})
					r.removeOrder(m)
				}
				if stp != STPExpireMaker {
					stopped = true
					break
				}
				continue
			}
			t := min(qty, m.qty)
			qty -= t
			m.qty -= t
			r.emit(Event{Kind: EvTrade, Side: side, Order: id, Owner: owner, ClientID: cid, Price: p, Qty: t, Remaining: qty, ReduceOnly: ro,
				Maker: m.id, MakerOwner: m.owner, MakerClientID: m.cid, MakerRemaining: m.qty, MakerReduceOnly: m.reduceOnly})
			if m.qty == 0 {
				r.removeOrder(m)
			}
		}
		r.emit(Event{Kind: EvLevel, Side: opp, Price: p, Qty: r.levelQty(opp, p)})
		if stopped {
			return qty, true
		}
	}
	return 0, false
}

func (r *refBook) cancel(x *refOrder, reason Reason) {
	r.emit(Event{Kind: EvCancelled, Reason: reason, Side: x.side, Order: x.id, Owner: x.owner, ClientID: x.cid, Price: x.price, Qty: x.qty, ReduceOnly: x.reduceOnly})
	r.removeOrder(x)
	r.emit(Event{Kind: EvLevel, Side: x.side, Price: x.price, Qty: r.levelQty(x.side, x.price)})
}

func (r *refBook) Cancel(ow Owner, id OrderID, reason Reason) []Event {
	r.ev = nil
	x := r.find(id)
	if x == nil || x.owner != ow {
		r.emit(Event{Kind: EvRejected, Reason: RejectUnknownOrder, Order: id, Owner: ow})
		return r.ev
	}
	r.cancel(x, reason)
	return r.ev
}

func (r *refBook) CancelByClientID(ow Owner, cid uint64, reason Reason) []Event {
	r.ev = nil
	x := r.findClient(ow, cid)
	if x == nil {
		r.emit(Event{Kind: EvRejected, Reason: RejectUnknownOrder, Owner: ow, ClientID: cid})
		return r.ev
	}
	r.cancel(x, reason)
	return r.ev
}

// CancelAll cancels an owner's orders in acceptance (placement) order; an
// amend does not change an order's placement.
func (r *refBook) CancelAll(ow Owner, reason Reason) []Event {
	r.ev = nil
	var mine []*refOrder
	for _, o := range r.orders {
		if o.owner == ow {
			mine = append(mine, o)
		}
	}
	sort.Slice(mine, func(i, j int) bool { return mine[i].id < mine[j].id })
	for _, x := range mine {
		r.cancel(x, reason)
	}
	return r.ev
}

func (r *refBook) Amend(ow Owner, id OrderID, price fixed.Price, qty fixed.Qty) []Event {
	r.ev = nil
	x := r.find(id)
	if x == nil || x.owner != ow {
		r.emit(Event{Kind: EvRejected, Reason: RejectUnknownOrder, Order: id, Owner: ow, Price: price, Qty: qty})
		return r.ev
	}
	rej := func(reason Reason) []Event {
		r.emit(Event{Kind: EvRejected, Reason: reason, Side: x.side, Order: id, Owner: ow, ClientID: x.cid, Price: price, Qty: qty})
		return r.ev
	}
	amended := Event{Kind: EvAmended, Side: x.side, Order: id, Owner: ow, ClientID: x.cid, Price: price, Qty: qty, Remaining: qty}
	// Same price, not more: keep the place in the queue.
	if price == x.price && qty > 0 && qty <= x.qty {
		x.qty = qty
		r.emit(amended)
		r.emit(Event{Kind: EvLevel, Side: x.side, Price: price, Qty: r.levelQty(x.side, price)})
		return r.ev
	}
	req := Order{Owner: ow, ClientID: x.cid, Side: x.side, Type: Limit, TIF: GTC, PostOnly: x.postOnly, Price: price, Qty: qty}
	if reason := r.validate(&req); reason != ReasonNone {
		return rej(reason)
	}
	crossing := r.crosses(x.side, price)
	if crossing && x.postOnly {
		return rej(RejectPostOnlyWouldCross)
	}
	// Moving to a new empty level needs a free level, unless the order
	// leaves its old level empty (the level count does not grow).
	if !crossing && price != x.price && len(r.levelOrders(x.side, price)) == 0 &&
		len(r.levelOrders(x.side, x.price)) > 1 && r.levelCount() >= r.limits.MaxLevels {
		return rej(RejectTooManyLevels)
	}
	r.emit(amended)
	r.removeOrder(x)
	if price != x.price {
		r.emit(Event{Kind: EvLevel, Side: x.side, Price: x.price, Qty: r.levelQty(x.side, x.price)})
	}
	rem := qty
	if crossing {
		var stopped bool
		rem, stopped = r.match(x.side, price, ow, x.cid, x.stp, x.reduceOnly, id, qty)
		if rem > 0 && stopped {
			r.emit(Event{Kind: EvExpired, Reason: ExpireSelfTrade, Side: x.side, Order: id, Owner: ow, ClientID: x.cid, Price: price, Qty: rem})
			rem = 0
		}
	}
	if rem == 0 {
		return r.ev
	}
	x.price, x.qty = price, rem
	r.addOrder(x)
	return r.ev
}

// walk lists the resting orders like Book.Walk: bids best first, then asks
// best first, FIFO within a level.
func (r *refBook) walk() []OrderView {
	var out []OrderView
	for _, s := range [2]Side{Buy, Sell} {
		for _, p := range r.prices(s) {
			for _, o := range r.levelOrders(s, p) {
				out = append(out, o.view())
			}
		}
	}
	return out
}

func (o *refOrder) view() OrderView {
	return OrderView{ID: o.id, Owner: o.owner, ClientID: o.cid, Side: o.side, Price: o.price, Qty: o.qty, PostOnly: o.postOnly, ReduceOnly: o.reduceOnly}
}

func (r *refBook) depth(s Side) []Level {
	var out []Level
	for _, p := range r.prices(s) {
		os := r.levelOrders(s, p)
		var q fixed.Qty
		for _, o := range os {
			q += o.qty
		}
		out = append(out, Level{Price: p, Qty: q, Orders: len(os)})
	}
	return out
}

// ownerOrders lists an owner's orders in placement order, like WalkOwner.
func (r *refBook) ownerOrders(ow Owner) []OrderView {
	var mine []*refOrder
	for _, o := range r.orders {
		if o.owner == ow {
			mine = append(mine, o)
		}
	}
	sort.Slice(mine, func(i, j int) bool { return mine[i].id < mine[j].id })
	var out []OrderView
	for _, o := range mine {
		out = append(out, o.view())
	}
	return out
}
