package engine

import (
	"github.com/sampan-hk/sampan/core/book"
	"github.com/sampan-hk/sampan/core/fixed"
	"github.com/sampan-hk/sampan/core/ledger"
	"github.com/sampan-hk/sampan/core/risk"
)

// equityRequired is the part of totals the pre-trade check needs.
func (e *Engine) equityRequired(id ClientID) (equity, required fixed.Amount) {
	equity = e.led.Balance(ledger.USD, e.clients[id].deriv)
	base := int(id) * len(e.markets)
	for i := range e.markets {
		l := &e.lines[base+i]
		if l.Size == 0 && l.Orders == 0 {
			continue
		}
		m := &e.markets[i]
		equity += l.Unrealized(&m.params, m.mark)
		r, _, _ := l.WorstCase(&m.params, m.mark)
		required += r
	}
	return equity, required
}

// marginCheck decides whether changing line l's requirement to now is
// allowed: equity must cover the new total requirement, unless the change
// does not raise the requirement at all (de-risking is always allowed).
// Only the changed market is valued twice; the others once.
func (e *Engine) marginCheck(id ClientID, m *market, l *risk.Line, now fixed.Amount) Code {
	before, _, _ := l.WorstCase(&m.params, m.mark)
	if now <= before {
		return OK
	}
	equity := e.led.Balance(ledger.USD, e.clients[id].deriv) + l.Unrealized(&m.params, m.mark)
	required := now
	base := int(id) * len(e.markets)
	for i := range e.markets {
		o := &e.lines[base+i]
		if i == int(m.id) || (o.Size == 0 && o.Orders == 0) {
			continue
		}
		om := &e.markets[i]
		equity += o.Unrealized(&om.params, om.mark)
		r, _, _ := o.WorstCase(&om.params, om.mark)
		required += r
	}
	if equity < required {
		return CodeInsufficientMargin
	}
	return OK
}

// reduceRoom is how much more reduce-only quantity a side may carry: the
// position's size in the closing direction minus the reduce-only quantity
// already resting there. It is ≤ 0 for the side that would increase.
func reduceRoom(l *risk.Line, buy bool) fixed.Qty {
	if buy {
		return -l.Size - l.ReduceBuyQty
	}
	return l.Size - l.ReduceSellQty
}

func (e *Engine) placeOrder(cmd *Command) Result {
	c := e.client(cmd.Client)
	if c == nil {
		return Result{Code: CodeUnknownClient}
	}
	if int(cmd.Market) >= len(e.markets) {
		return Result{Code: CodeUnknownMarket}
	}
	m := &e.markets[cmd.Market]
	if m.spec.Kind == Spot {
		return e.placeSpot(cmd, m)
	}
	if cmd.Side > book.Sell || cmd.Type > book.Market || cmd.TIF > book.FOK || cmd.STP > book.STPExpireBoth || cmd.Flags&^flagsKnown != 0 {
		return Result{Code: CodeInvalidOrder}
	}
	if m.mark == 0 {
		return Result{Code: CodeMarkNotSet}
	}
	qty := cmd.Qty
	if qty <= 0 {
		return Result{Code: CodeInvalidQty}
	}
	if qty > m.spec.Spec.MaxQty {
		return Result{Code: CodeQtyTooLarge}
	}
	buy := cmd.Side == book.Buy
	// The price the worst case is valued at: the limit, or for a market
	// order the worst price it may trade at (its protection, within band).
	lo, hi, _ := m.book.Band()
	px := cmd.Price
	if cmd.Type == book.Market {
		if px < 0 || px > m.spec.Spec.MaxPrice {
			return Result{Code: CodeInvalidPrice}
		}
		if buy && (px == 0 || px > hi) {
			px = hi
		} else if !buy && (px == 0 || px < lo) {
			px = lo
		}
	} else {
		if px <= 0 || px > m.spec.Spec.MaxPrice {
			return Result{Code: CodeInvalidPrice}
		}
		if px < lo || px > hi {
			return Result{Code: CodePriceOutOfBand}
		}
	}
	l := e.line(cmd.Client, cmd.Market)
	flags := cmd.Flags
	// The professional-investor gate: an ineligible client's orders are
	// accepted only as reduce-only, so they can never open or increase.
	elig := e.eligibility(cmd.Client)
	if elig == OK && e.marketReduceOnly(m) {
		// The index is unhealthy: the same gate as for an ineligible client.
		elig = CodeMarketReduceOnly
	}
	if elig != OK {
		flags |= FlagReduceOnly
	}
	reduceOnly := flags&FlagReduceOnly != 0
	if reduceOnly {
		room := reduceRoom(l, buy)
		switch {
		case room <= 0 || (qty > room && cmd.Flags&FlagReduceOnly == 0):
			// Nothing left to reduce, or an ineligible client's plain order
			// that is larger than its position: it would increase.
			if elig != OK {
				return Result{Code: elig}
			}
			return Result{Code: CodeReduceOnlyWouldIncrease}
		case qty > room:
			qty = room // an explicit reduce-only order is trimmed to fit
		}
	}
	after := *l
	after.AddOrder(&m.params, buy, reduceOnly, px, qty, +1)
	req, overB, overS := after.WorstCase(&m.params, m.mark)
	if !reduceOnly && ((buy && overB) || (!buy && overS)) {
		return Result{Code: CodePositionLimitExceeded}
	}
	if code := e.marginCheck(cmd.Client, m, l, req); code != OK {
		return Result{Code: code}
	}
	evs := m.book.Submit(book.Order{Owner: book.Owner(cmd.Client), ClientID: cmd.Key, Side: cmd.Side, Type: cmd.Type,
		TIF: cmd.TIF, PostOnly: flags&FlagPostOnly != 0, ReduceOnly: reduceOnly, STP: cmd.STP, Price: cmd.Price, Qty: qty})
	if evs[0].Kind == book.EvRejected {
		return Result{Code: FromBook(evs[0].Reason)}
	}
	id := evs[0].Order
	e.beginFills()
	if rem := e.applyBookEvents(m, evs, flags, id); rem > 0 {
		// Only a GTC limit order can be left open: the book expires every
		// other remainder with an event.
		e.addResting(m, l, book.OrderView{ID: id, Side: cmd.Side, Price: cmd.Price, Qty: rem, ReduceOnly: reduceOnly})
	}
	e.endFills(m)
	return Result{Client: cmd.Client, Order: id, Qty: qty}
}

// addResting counts a resting order in its line's aggregates.
func (e *Engine) addResting(m *market, l *risk.Line, v book.OrderView) {
	l.AddOrder(&m.params, v.Side == book.Buy, v.ReduceOnly, v.Price, v.Qty, +1)
	l.Orders++
}

// removeResting takes a (formerly) resting order's remaining quantity out.
func (e *Engine) removeResting(m *market, l *risk.Line, buy, reduceOnly bool, px fixed.Price, qty fixed.Qty) {
	l.AddOrder(&m.params, buy, reduceOnly, px, qty, -1)
	l.Orders--
}

func (e *Engine) beginFills() {
	e.gen++
	e.touched = e.touched[:0]
}

func (e *Engine) touch(c ClientID, m MarketID) {
	i := int(c)*len(e.markets) + int(m)
	if e.touchGen[i] != e.gen {
		e.touchGen[i] = e.gen
		e.touched = append(e.touched, lineRef{c, m})
	}
}

// applyBookEvents turns book events into engine events, settling trades
// and keeping the resting-order aggregates of makers and of cancelled
// orders. The taker's own resting remainder is added by the caller, which
// knows whether it rests. flags are the taker's, for the accepted event.
// It returns the open quantity of order taker after the events (the
// accepted or amended quantity less fills; zero once expired).
// emitStep emits the event of a book step of an order (accepted,
// cancelled, expired, amended), with the order as the book reports it:
// flags go on an acceptance, the book's reason on an end. It fills the
// event in place in the event buffer: returning an Event to copy into
// emit measured slower on the engine benchmark.
func (e *Engine) emitStep(m *market, be *book.Event, flags uint8) {
	e.emit(Event{Market: m.id, Client: ClientID(be.Owner), Order: be.Order, ClientOrderID: be.ClientID, Side: be.Side,
		Price: be.Price, Qty: be.Qty})
	ev := &e.ev[len(e.ev)-1]
	switch be.Kind {
	case book.EvAccepted:
		ev.Kind, ev.Flags, ev.Remaining = EvOrderAccepted, flags, be.Remaining
	case book.EvCancelled:
		ev.Kind, ev.Code = EvOrderCancelled, FromBook(be.Reason)
	case book.EvExpired:
		ev.Kind, ev.Code = EvOrderExpired, FromBook(be.Reason)
	case book.EvAmended:
		ev.Kind, ev.Remaining = EvOrderAmended, be.Remaining
	}
}

func (e *Engine) applyBookEvents(m *market, evs []book.Event, flags uint8, taker book.OrderID) fixed.Qty {
	var rem fixed.Qty
	for i := range evs {
		be := &evs[i]
		owner := ClientID(be.Owner)
		switch be.Kind {
		case book.EvAccepted:
			rem = be.Qty
			e.emitStep(m, be, flags)
		case book.EvTrade:
			e.settle(m, be)
			if be.Order == taker {
				rem = be.Remaining
			}
		case book.EvCancelled:
			e.removeResting(m, e.line(owner, m.id), be.Side == book.Buy, be.ReduceOnly, be.Price, be.Qty)
			e.emitStep(m, be, flags)
		case book.EvExpired:
			if be.Order == taker {
				rem = 0
			}
			e.emitStep(m, be, flags)
		case book.EvAmended:
			if be.Order == taker {
				rem = be.Remaining
			}
			e.emitStep(m, be, flags)
		case book.EvLevel:
			e.emit(Event{Kind: EvBookLevel, Market: m.id, Side: be.Side, Price: be.Price, Qty: be.Qty})
		default:
			panic("engine: unexpected book event " + be.Kind.String())
		}
	}
	return rem
}

// settle books one trade: both positions, open interest, the maker's
// resting aggregates, and one balanced posting of realized PnL (paid from
// the market's settlement account) and fees (to the fee account).
func (e *Engine) settle(m *market, be *book.Event) {
	taker, maker := ClientID(be.Owner), ClientID(be.MakerOwner)
	tl, ml := e.line(taker, m.id), e.line(maker, m.id)
	takerBuy := be.Side == book.Buy
	// The maker traded at its own resting price, which is the trade price.
	ml.AddOrder(&m.params, !takerBuy, be.MakerReduceOnly, be.Price, be.Qty, -1)
	if be.MakerRemaining == 0 {
		ml.Orders--
	}
	q := be.Qty
	if !takerBuy {
		q = -q
	}
	m.val.lastTrade = be.Price
	rT := e.fill(m, tl, q, be.Price)
	rM := e.fill(m, ml, -q, be.Price)
	n := m.params.Notional(be.Qty, be.Price)
	fT := fixed.MustApplyRate(n, m.spec.TakerFee, fixed.Ceil)
	if taker == e.liqClient {
		// A liquidation order: the liquidation fee replaces the taker fee.
		fT = 0
		e.liqFilled += be.Qty
		e.liqNotional += n
	}
	fM := fixed.MustApplyRate(n, m.spec.MakerFee, fixed.Ceil)
	e.led.Post(ledger.USD,
		ledger.Leg{Account: m.settlement, Amount: -(rT + rM)},
		ledger.Leg{Account: e.clients[taker].deriv, Amount: rT - fT},
		ledger.Leg{Account: e.clients[maker].deriv, Amount: rM - fM},
		ledger.Leg{Account: ledger.Fees, Amount: fT + fM})
	e.emit(Event{Kind: EvTrade, Market: m.id, Client: taker, Side: be.Side, Order: be.Order, ClientOrderID: be.ClientID,
		Price: be.Price, Qty: be.Qty, Remaining: be.Remaining, MakerClient: maker, MakerOrder: be.Maker,
		MakerClientOrderID: be.MakerClientID, MakerRemaining: be.MakerRemaining, TakerFee: fT, MakerFee: fM,
		TakerRealized: rT, MakerRealized: rM})
	e.touch(taker, m.id)
	e.touch(maker, m.id)
}

// fill applies a signed trade to a line and keeps open interest.
func (e *Engine) fill(m *market, l *risk.Line, q fixed.Qty, px fixed.Price) fixed.Amount {
	old := l.Size
	r := l.Fill(&m.params, q, px)
	m.longOI += pos(l.Size) - pos(old)
	m.shortOI += pos(-l.Size) - pos(-old)
	return r
}

func pos(q fixed.Qty) fixed.Qty {
	if q > 0 {
		return q
	}
	return 0
}

// endFills enforces reduce-only on every line whose position changed and
// reports each such position with its new liquidation price.
func (e *Engine) endFills(m *market) {
	for i := 0; i < len(e.touched); i++ {
		e.enforceReduceOnly(m, e.touched[i].c)
	}
	for _, t := range e.touched {
		l := e.line(t.c, t.m)
		liq := e.positionChanged(t.c, t.m) // also re-indexes the account (liquidate.go)
		e.emit(Event{Kind: EvPosition, Market: t.m, Client: t.c, Size: l.Size, Cost: l.Cost, Realized: l.Realized,
			Price: m.mark, LiqPrice: liq})
	}
}

// enforceReduceOnly keeps the rule that reduce-only orders can never
// increase a position, after the position moved: reduce-only orders on the
// increasing side are cancelled, and on the closing side the newest are
// trimmed (in place, keeping priority) or cancelled until their total fits.
func (e *Engine) enforceReduceOnly(m *market, c ClientID) {
	l := e.line(c, m.id)
	excessBuy := l.ReduceBuyQty - pos(-l.Size)
	excessSell := l.ReduceSellQty - pos(l.Size)
	if excessBuy <= 0 && excessSell <= 0 {
		return
	}
	e.trim = e.trim[:0]
	m.book.WalkOwner(book.Owner(c), func(v book.OrderView) bool {
		if v.ReduceOnly {
			e.trim = append(e.trim, v)
		}
		return true
	})
	for i := len(e.trim) - 1; i >= 0; i-- {
		v := e.trim[i]
		excess := &excessSell
		if v.Side == book.Buy {
			excess = &excessBuy
		}
		if *excess <= 0 {
			continue
		}
		if v.Qty <= *excess {
			*excess -= v.Qty
			e.applyBookEvents(m, m.book.Cancel(book.Owner(c), v.ID, book.CancelByEngine), 0, 0)
			continue
		}
		evs := m.book.Amend(book.Owner(c), v.ID, v.Price, v.Qty-*excess)
		if evs[0].Kind == book.EvRejected {
			panic("engine: reduce-only trim rejected by the book")
		}
		l.AddOrder(&m.params, v.Side == book.Buy, true, v.Price, *excess, -1)
		*excess = 0
		e.applyBookEvents(m, evs, 0, 0)
	}
}

// liquidationPrice computes one position's liquidation price under cross
// margin, with the client's other positions at their current marks.
func (e *Engine) liquidationPrice(c ClientID, mid MarketID) (fixed.Price, bool) {
	l := e.line(c, mid)
	if l.Size == 0 {
		return 0, false
	}
	rest := e.led.Balance(ledger.USD, e.clients[c].deriv)
	var restMM fixed.Amount
	base := int(c) * len(e.markets)
	for i := range e.markets {
		o := &e.lines[base+i]
		if i == int(mid) || o.Size == 0 {
			continue
		}
		om := &e.markets[i]
		rest += o.Unrealized(&om.params, om.mark)
		restMM += om.params.Brackets.MM(om.params.Notional(o.Size, om.mark))
	}
	return risk.LiquidationPrice(&e.markets[mid].params, l, rest, restMM)
}

// orderTarget resolves a cancel or amend target to a resting order of the
// client.
func (e *Engine) orderTarget(m *market, c ClientID, id book.OrderID, origKey uint64) (book.OrderView, bool) {
	var v book.OrderView
	var ok bool
	if id != 0 {
		v, ok = m.book.Get(id)
	} else if origKey != 0 {
		v, ok = m.book.GetByClientID(book.Owner(c), origKey)
	}
	if !ok || v.Owner != book.Owner(c) {
		return book.OrderView{}, false
	}
	return v, true
}

func (e *Engine) cancelOrder(cmd *Command) Result {
	if e.client(cmd.Client) == nil {
		return Result{Code: CodeUnknownClient}
	}
	if int(cmd.Market) >= len(e.markets) {
		return Result{Code: CodeUnknownMarket}
	}
	m := &e.markets[cmd.Market]
	// The book checks ownership, so a client cannot cancel another's order
	// and learns nothing about it (the answer is "unknown order" either way).
	var evs []book.Event
	switch {
	case cmd.Order != 0:
		evs = m.book.Cancel(book.Owner(cmd.Client), cmd.Order, book.CancelByOwner)
	case cmd.OrigKey != 0:
		evs = m.book.CancelByClientID(book.Owner(cmd.Client), cmd.OrigKey, book.CancelByOwner)
	default:
		return Result{Code: CodeUnknownOrder}
	}
	if evs[0].Kind == book.EvRejected {
		return Result{Code: FromBook(evs[0].Reason)}
	}
	id, qty := evs[0].Order, evs[0].Qty
	if m.spec.Kind == Spot {
		e.applySpotEvents(m, evs, 0, 0, 0)
	} else {
		e.applyBookEvents(m, evs, 0, 0)
	}
	return Result{Client: cmd.Client, Order: id, Qty: qty}
}

func (e *Engine) cancelAll(cmd *Command) Result {
	if e.client(cmd.Client) == nil {
		return Result{Code: CodeUnknownClient}
	}
	if cmd.Market != AllMarkets && int(cmd.Market) >= len(e.markets) {
		return Result{Code: CodeUnknownMarket}
	}
	for i := range e.markets {
		if cmd.Market != AllMarkets && MarketID(i) != cmd.Market {
			continue
		}
		m := &e.markets[i]
		if m.spec.Kind == Spot {
			if e.spotLine(cmd.Client, m).orders > 0 {
				e.applySpotEvents(m, m.book.CancelAll(book.Owner(cmd.Client), book.CancelByOwner), 0, 0, 0)
			}
			continue
		}
		if e.line(cmd.Client, m.id).Orders == 0 {
			continue
		}
		e.applyBookEvents(m, m.book.CancelAll(book.Owner(cmd.Client), book.CancelByOwner), 0, 0)
	}
	return Result{Client: cmd.Client}
}

// amendOrder changes a resting order's price and/or quantity (0 keeps the
// current value). The new order is checked like a new one: band, the
// eligibility gate (an ineligible client may only shrink a plain order in
// place), reduce-only room and margin.
func (e *Engine) amendOrder(cmd *Command) Result {
	c := e.client(cmd.Client)
	if c == nil {
		return Result{Code: CodeUnknownClient}
	}
	if int(cmd.Market) >= len(e.markets) {
		return Result{Code: CodeUnknownMarket}
	}
	m := &e.markets[cmd.Market]
	if m.spec.Kind == Spot {
		// A spot amend would need its reservation re-funded; cancel and
		// place a new order instead.
		return Result{Code: CodeSpotAmendUnsupported}
	}
	v, ok := e.orderTarget(m, cmd.Client, cmd.Order, cmd.OrigKey)
	if !ok {
		return Result{Code: CodeUnknownOrder}
	}
	px, qty := cmd.Price, cmd.Qty
	if px == 0 {
		px = v.Price
	}
	if qty == 0 {
		qty = v.Qty
	}
	if qty < 0 {
		return Result{Code: CodeInvalidQty}
	}
	if qty > m.spec.Spec.MaxQty {
		return Result{Code: CodeQtyTooLarge}
	}
	if px < 0 || px > m.spec.Spec.MaxPrice {
		return Result{Code: CodeInvalidPrice}
	}
	if lo, hi, _ := m.book.Band(); px < lo || px > hi {
		return Result{Code: CodePriceOutOfBand}
	}
	buy := v.Side == book.Buy
	l := e.line(cmd.Client, cmd.Market)
	elig := e.eligibility(cmd.Client)
	if elig == OK && e.marketReduceOnly(m) {
		elig = CodeMarketReduceOnly
	}
	if elig != OK && !v.ReduceOnly && (px != v.Price || qty > v.Qty) {
		return Result{Code: elig}
	}
	if v.ReduceOnly && qty > reduceRoom(l, buy)+v.Qty {
		return Result{Code: CodeReduceOnlyWouldIncrease}
	}
	after := *l
	after.AddOrder(&m.params, buy, v.ReduceOnly, v.Price, v.Qty, -1)
	after.AddOrder(&m.params, buy, v.ReduceOnly, px, qty, +1)
	req, overB, overS := after.WorstCase(&m.params, m.mark)
	if !v.ReduceOnly && ((buy && overB) || (!buy && overS)) {
		return Result{Code: CodePositionLimitExceeded}
	}
	if code := e.marginCheck(cmd.Client, m, l, req); code != OK {
		return Result{Code: code}
	}
	evs := m.book.Amend(book.Owner(cmd.Client), v.ID, px, qty)
	if evs[0].Kind == book.EvRejected {
		return Result{Code: FromBook(evs[0].Reason)}
	}
	e.removeResting(m, l, buy, v.ReduceOnly, v.Price, v.Qty)
	e.beginFills()
	e.applyBookEvents(m, evs, 0, 0)
	if nv, ok := m.book.Get(v.ID); ok {
		e.addResting(m, l, nv)
	}
	e.endFills(m)
	return Result{Client: cmd.Client, Order: v.ID, Qty: qty}
}
