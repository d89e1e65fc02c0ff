package engine

import (
	"errors"
	"strconv"

	"github.com/sampan-hk/sampan/core/book"
	"github.com/sampan-hk/sampan/core/fixed"
	"github.com/sampan-hk/sampan/core/lending"
)

// Spot markets (docs/margin-financing.md §11).
//
// A spot market exchanges its Base asset for its Quote asset between
// clients' margin-financing accounts, on a book of its own in the same
// engine. A fill settles through lending for each side (the book's spot
// account is the counterparty): the buyer pays cost in the quote currency
// and receives the quantity, the seller the reverse. Nothing touches
// positions, derivatives margin, funding, marks, liquidation or ADL: a spot
// market's per-client risk line stays empty, so every perpetual loop skips
// it. Its price band follows the underlying's index (or SetMark in manual
// mode). Spot trading is open to retail clients: only perpetuals are for
// professional investors; borrowing needs an approved credit assessment.
// Spot fees are zero (not built yet).
//
// A fill must never fail in lending, so orders are funded before they can
// match:
//
//   - A sell never borrows (no short selling): its quantity must be held
//     and not already reserved by the client's other resting sells.
//   - A resting (GTC limit) buy is paid in cash: remaining × limit of the
//     quote currency is reserved from unreserved cash; its fills settle
//     with lending.BuyWithCash, which never borrows.
//   - Buying on margin is for taking orders (IOC, FOK, market): before
//     matching, lending.CheckBuy must accept the whole quantity at the
//     limit (a market order: the band's edge) for cost + the client's
//     reserved cash, as if the reserved cash were already spent. The taker's
//     fills are then booked as one Buy at their total cost, which is no more
//     than was checked: less borrowed, the same index-valued collateral.
//
// Reservations can lose their backing: a taking buy spends cash first
// (lending nets cash against loans), interest posting takes cash, a close-
// out sells holdings. After every lending outcome the engine checks each
// client it names (spotGuard): resting buys are cancelled when a margin call
// is open or their reserved cash exceeds the cash held, resting sells when
// their quantity exceeds the holding, and every spot order when a close-out
// starts. Cancellations are ordinary EvOrderCancelled events with
// CodeCancelledEngine.

// spotLine is a client's resting spot orders in one market.
type spotLine struct {
	buyCost fixed.Amount // Σ remaining × limit price of resting buys: reserved quote cash
	sellQty fixed.Qty    // Σ remaining lots of resting sells: reserved base holding
	orders  int32
}

// bindSpot links spot markets and indexes to lending assets. Called once
// the book's registry exists.
func (e *Engine) bindSpot() {
	for i := range e.unders {
		u := &e.unders[i]
		u.finAsset = -1
		a, ok := e.fin.Lookup(u.name)
		if !ok || e.fin.Asset(a).Kind != lending.VirtualAsset {
			continue
		}
		spec := &e.markets[u.markets[0]].spec.Spec
		if exp := e.fin.Asset(e.fin.Asset(a).Quote).Decimals - spec.Tick.Scale; exp >= 0 {
			u.finAsset, u.finScale = int(a), spec.Tick.Units*fixed.Pow10(exp)
		}
	}
	for i := range e.markets {
		m := &e.markets[i]
		if m.spec.Kind != Spot {
			continue
		}
		b, okb := e.fin.Lookup(m.spec.Base)
		q, okq := e.fin.Lookup(m.spec.Quote)
		if !okb || !okq || e.fin.Asset(b).Quote != q || e.fin.Asset(b).Decimals != m.spec.Spec.BaseDecimals ||
			e.fin.Asset(q).Decimals != m.spec.Spec.QuoteDecimals {
			panic("engine: spot market " + m.spec.Symbol + " does not match the financing registry")
		}
		m.spotIx, m.finBase, m.finQuote = len(e.spotMkts), b, q
		e.spotMkts = append(e.spotMkts, m.id)
	}
}

func (e *Engine) spotLine(c ClientID, m *market) *spotLine {
	return &e.spot[int(c)*len(e.spotMkts)+m.spotIx]
}

// lotUnits converts lots to the base asset's minor units.
func lotUnits(m *market, q fixed.Qty) fixed.Amount {
	return fixed.Amount(fixed.MustMul(int64(q), m.spec.Spec.BaseUnitsPerLot()))
}

// reservedCash is a client's quote cash held for resting buys in every
// spot market quoted in ccy.
func (e *Engine) reservedCash(c ClientID, ccy lending.AssetID) fixed.Amount {
	var r fixed.Amount
	for _, id := range e.spotMkts {
		if m := &e.markets[id]; m.finQuote == ccy {
			r += e.spotLine(c, m).buyCost
		}
	}
	return r
}

// reservedHold is a client's holding of asset held for resting sells.
func (e *Engine) reservedHold(c ClientID, asset lending.AssetID) fixed.Amount {
	var r fixed.Amount
	for _, id := range e.spotMkts {
		if m := &e.markets[id]; m.finBase == asset {
			r += lotUnits(m, e.spotLine(c, m).sellQty)
		}
	}
	return r
}

// keepsReserved refuses to pay out what resting spot orders reserve.
func (e *Engine) keepsReserved(c ClientID, a lending.AssetID, amount fixed.Amount) Code {
	held := e.fin.Holding(lending.ClientID(c), a)
	if amount > 0 && amount <= held && held-amount < e.reservedCash(c, a)+e.reservedHold(c, a) {
		return CodeReservedForOrders
	}
	return OK
}

// placeSpot validates, funds and matches a spot order.
func (e *Engine) placeSpot(cmd *Command, m *market) Result {
	if cmd.Side > book.Sell || cmd.Type > book.Market || cmd.TIF > book.FOK || cmd.STP > book.STPExpireBoth || cmd.Flags&^FlagPostOnly != 0 {
		return Result{Code: CodeInvalidOrder}
	}
	if m.mark == 0 {
		return Result{Code: CodeMarkNotSet}
	}
	if cmd.Qty <= 0 {
		return Result{Code: CodeInvalidQty}
	}
	if cmd.Qty > m.spec.Spec.MaxQty {
		return Result{Code: CodeQtyTooLarge}
	}
	px, code := spotPrice(cmd, m)
	if code != OK {
		return Result{Code: code}
	}
	if code := e.fundSpot(cmd, m, px); code != OK {
		return Result{Code: code}
	}
	evs := m.book.Submit(book.Order{Owner: book.Owner(cmd.Client), ClientID: cmd.Key, Side: cmd.Side, Type: cmd.Type,
		TIF: cmd.TIF, PostOnly: cmd.Flags&FlagPostOnly != 0, STP: cmd.STP, Price: cmd.Price, Qty: cmd.Qty})
	if evs[0].Kind == book.EvRejected {
		return Result{Code: FromBook(evs[0].Reason)}
	}
	id := evs[0].Order
	if rem := e.applySpotEvents(m, evs, cmd.Flags, id, 0); rem > 0 {
		e.addSpotResting(m, cmd.Client, cmd.Side, cmd.Price, rem)
	}
	return Result{Client: cmd.Client, Order: id, Qty: cmd.Qty}
}

// spotPrice is the price an order is funded at: its limit, or a market
// order's protection within the band (the band's edge by default).
func spotPrice(cmd *Command, m *market) (fixed.Price, Code) {
	lo, hi, _ := m.book.Band()
	px := cmd.Price
	buy := cmd.Side == book.Buy
	if cmd.Type == book.Market {
		if px < 0 || px > m.spec.Spec.MaxPrice {
			return 0, CodeInvalidPrice
		}
		if buy && (px == 0 || px > hi) {
			px = hi
		} else if !buy && (px == 0 || px < lo) {
			px = lo
		}
		return px, OK
	}
	if px <= 0 || px > m.spec.Spec.MaxPrice {
		return 0, CodeInvalidPrice
	}
	if px < lo || px > hi {
		return 0, CodePriceOutOfBand
	}
	return px, OK
}

// fundSpot applies the funding rules above to a new order.
func (e *Engine) fundSpot(cmd *Command, m *market, px fixed.Price) Code {
	lc := lending.ClientID(cmd.Client)
	qty := lotUnits(m, cmd.Qty)
	if cmd.Side == book.Sell {
		if qty > e.fin.Holding(lc, m.finBase)-e.reservedHold(cmd.Client, m.finBase) {
			return FromLending(lending.ReasonInsufficientHolding)
		}
		return OK
	}
	cost := m.spec.Spec.Notional(cmd.Qty, px)
	reserved := e.reservedCash(cmd.Client, m.finQuote)
	if cmd.Type == book.Limit && cmd.TIF == book.GTC {
		if cost > e.fin.Holding(lc, m.finQuote)-reserved {
			return CodeSpotCashRequired
		}
		reserved = 0 // paid in cash: checked on its own cost
	}
	if r := e.fin.CheckBuy(e.now, lc, m.finBase, qty, cost+reserved); r != lending.ReasonOK {
		return FromLending(r)
	}
	return OK
}

func (e *Engine) addSpotResting(m *market, c ClientID, side book.Side, px fixed.Price, rem fixed.Qty) {
	sl := e.spotLine(c, m)
	sl.orders++
	if side == book.Buy {
		sl.buyCost += m.spec.Spec.Notional(rem, px)
	} else {
		sl.sellQty += rem
	}
}

// removeSpotResting takes qty of a resting order out of its reservation;
// gone says the order left the book.
func (e *Engine) removeSpotResting(m *market, c ClientID, side book.Side, px fixed.Price, qty fixed.Qty, gone bool) {
	sl := e.spotLine(c, m)
	if side == book.Buy {
		sl.buyCost -= m.spec.Spec.Notional(qty, px)
	} else {
		sl.sellQty -= qty
	}
	if gone {
		sl.orders--
	}
}

// applySpotEvents turns a spot book's events into engine events and
// settles fills in lending: each maker's fill at once, the taker's fills as
// one Buy or Sell at the end (step > 0: a close-out sale, booked with
// ApplySale). It returns the taker's open quantity, as applyBookEvents.
func (e *Engine) applySpotEvents(m *market, evs []book.Event, flags uint8, taker book.OrderID, step lending.CloseOutStep) fixed.Qty {
	var rem, tq fixed.Qty
	var tcost fixed.Amount
	var tside book.Side
	var towner ClientID
	for i := range evs {
		be := &evs[i]
		owner := ClientID(be.Owner)
		switch be.Kind {
		case book.EvAccepted:
			rem = be.Qty
			e.emitStep(m, be, flags)
		case book.EvTrade:
			cost := m.spec.Spec.Notional(be.Qty, be.Price)
			e.settleSpotMaker(m, be, cost)
			e.emit(Event{Kind: EvTrade, Market: m.id, Client: owner, Side: be.Side, Order: be.Order, ClientOrderID: be.ClientID,
				Price: be.Price, Qty: be.Qty, Remaining: be.Remaining, MakerClient: ClientID(be.MakerOwner), MakerOrder: be.Maker,
				MakerClientOrderID: be.MakerClientID, MakerRemaining: be.MakerRemaining})
			tq, tcost, tside, towner = tq+be.Qty, tcost+cost, be.Side, owner
			if be.Order == taker {
				rem = be.Remaining
			}
		case book.EvCancelled:
			e.removeSpotResting(m, owner, be.Side, be.Price, be.Qty, true)
			e.emitStep(m, be, flags)
		case book.EvExpired:
			if be.Order == taker {
				rem = 0
			}
			e.emitStep(m, be, flags)
		case book.EvLevel:
			e.emit(Event{Kind: EvBookLevel, Market: m.id, Side: be.Side, Price: be.Price, Qty: be.Qty})
		default:
			panic("engine: unexpected spot book event " + be.Kind.String())
		}
	}
	if tq > 0 {
		e.settleSpotTaker(m, towner, tside, tq, tcost, step)
	}
	return rem
}

// settleSpotMaker books the resting side of one fill.
func (e *Engine) settleSpotMaker(m *market, be *book.Event, cost fixed.Amount) {
	maker := ClientID(be.MakerOwner)
	lc := lending.ClientID(maker)
	qty := lotUnits(m, be.Qty)
	makerSide := book.Sell
	if be.Side == book.Sell {
		makerSide = book.Buy
	}
	e.removeSpotResting(m, maker, makerSide, be.Price, be.Qty, be.MakerRemaining == 0)
	var o lending.Outcome
	if makerSide == book.Buy {
		o = e.fin.BuyWithCash(e.now, lc, m.finBase, qty, cost)
	} else {
		o = e.fin.Sell(e.now, lc, m.finBase, qty, cost)
	}
	if !o.OK() {
		panic("engine: a funded resting spot order failed to settle: " + o.Reason.String())
	}
	e.finOut(o)
}

// settleSpotTaker books the taker's fills as one purchase or sale.
func (e *Engine) settleSpotTaker(m *market, c ClientID, side book.Side, q fixed.Qty, cost fixed.Amount, step lending.CloseOutStep) {
	lc := lending.ClientID(c)
	qty := lotUnits(m, q)
	var o lending.Outcome
	switch {
	case side == book.Buy:
		o = e.fin.Buy(e.now, lc, m.finBase, qty, cost)
	case step > 0:
		o = e.fin.ApplySale(e.now, lc, m.finBase, qty, cost, step)
	default:
		o = e.fin.Sell(e.now, lc, m.finBase, qty, cost)
	}
	if !o.OK() {
		panic("engine: a pre-checked spot order failed to settle: " + o.Reason.String())
	}
	e.finOut(o)
}

// spotGuard cancels a client's resting spot orders that lost their
// backing (see the package comment above).
func (e *Engine) spotGuard(c ClientID) {
	if len(e.spotMkts) == 0 || int(c) >= len(e.clients) {
		return
	}
	call := e.fin.CallState(lending.ClientID(c))
	for _, id := range e.spotMkts {
		m := &e.markets[id]
		if e.spotLine(c, m).orders == 0 {
			continue
		}
		buys := call.Open || call.ClosingOut ||
			e.reservedCash(c, m.finQuote) > e.fin.Holding(lending.ClientID(c), m.finQuote)
		sells := call.ClosingOut || e.reservedHold(c, m.finBase) > e.fin.Holding(lending.ClientID(c), m.finBase)
		if buys || sells {
			e.cancelSpotSide(m, c, buys, sells)
		}
	}
}

func (e *Engine) cancelSpotSide(m *market, c ClientID, buys, sells bool) {
	e.trim = e.trim[:0]
	m.book.WalkOwner(book.Owner(c), func(v book.OrderView) bool {
		if (v.Side == book.Buy && buys) || (v.Side == book.Sell && sells) {
			e.trim = append(e.trim, v)
		}
		return true
	})
	for _, v := range e.trim {
		e.applySpotEvents(m, m.book.Cancel(book.Owner(c), v.ID, book.CancelByEngine), 0, 0, 0)
	}
}

// checkSpotBook recomputes every client's reservations in a spot market
// from a walk of its book.
func (e *Engine) checkSpotBook(m *market) error {
	got := make([]spotLine, len(e.clients))
	var err error
	m.book.Walk(func(v book.OrderView) bool {
		if v.Owner == 0 || int(v.Owner) >= len(e.clients) || v.ReduceOnly {
			err = errors.New("engine invariant: spot order of unknown client or reduce-only")
			return false
		}
		sl := &got[v.Owner]
		sl.orders++
		if v.Side == book.Buy {
			sl.buyCost += m.spec.Spec.Notional(v.Qty, v.Price)
		} else {
			sl.sellQty += v.Qty
		}
		return true
	})
	if err != nil {
		return err
	}
	for c := 1; c < len(e.clients); c++ {
		if got[c] != *e.spotLine(ClientID(c), m) {
			return errors.New("engine invariant: spot reservations differ from the book, client " + strconv.Itoa(c))
		}
	}
	return nil
}
