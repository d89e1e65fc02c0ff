package engine

import (
	"github.com/sampan-hk/sampan/core/book"
	"github.com/sampan-hk/sampan/core/fixed"
	"github.com/sampan-hk/sampan/core/lending"
)

// Close-out execution (docs/margin-financing.md §6, §11).
//
// When lending starts a close-out (EvFinancing close_out_started), the
// client joins e.closing and its resting spot orders are cancelled
// (spotGuard). After each accepted command (or one preceded by time-driven
// work) the engine asks lending.CloseOutPlan for each closing client whose
// retry time has come and executes the plan in its documented order:
//
//   - BTC and ETH instructions go to the spot book as IOC sells at
//     ⌈WorstPrice⌉ in ticks (raised to the band's floor when below it:
//     never lower than the protection), each an EvCloseOutOrder with what
//     filled; fills are booked with lending.ApplySale and the instruction's
//     step, so the client's statement shows each step.
//   - A security has no book in Sampan: the engine emits an
//     EvSecuritySale instruction (asset, quantity, worst price, step) once
//     per change, and an operator books the execution on the exchange with
//     CmdBookSecuritySale (ApplySale). An instruction lapses when the call
//     is cured.
//
// Work is bounded: at most CloseOutOrdersMax IOC orders per command. If the
// book cannot fill (no bids above the protection), the client stays
// closing and is retried CloseOutRetry later, on any later command (the
// 1 s Tick included), so an empty book costs one order a second, not one
// per command.

// Named limits of close-out execution.
const (
	CloseOutOrdersMax = 8                    // IOC sells per command, all clients together
	CloseOutRetry     = int64(1_000_000_000) // ns before a closing client's plan is tried again
)

// closeState is a client in close-out and when to try it next.
type closeState struct {
	client  ClientID
	nextTry int64
}

// secInstr is an outstanding securities sale instruction.
type secInstr struct {
	client ClientID
	asset  lending.AssetID
	qty    fixed.Amount
	step   lending.CloseOutStep
}

func (e *Engine) stopCloseOut(c ClientID) {
	k := 0
	for _, s := range e.closing {
		if s.client != c {
			e.closing[k] = s
			k++
		}
	}
	e.closing = e.closing[:k]
	k = 0
	for _, s := range e.secPending {
		if s.client != c {
			e.secPending[k] = s
			k++
		}
	}
	e.secPending = e.secPending[:k]
}

// runCloseOuts executes due close-out plans within the per-command budget.
func (e *Engine) runCloseOuts() {
	e.flushGuard() // the cancellations a close-out start asks for come first
	ids := e.closeScratch[:0]
	for _, s := range e.closing {
		if e.now >= s.nextTry {
			ids = append(ids, s.client)
		}
	}
	e.closeScratch = ids
	budget := CloseOutOrdersMax
	for _, c := range ids {
		plan, r := e.fin.CloseOutPlan(lending.ClientID(c))
		if r != lending.ReasonOK {
			continue
		}
		for _, in := range plan {
			m := e.spotFor(in.Asset, in.Currency)
			if m == nil {
				// Once the call is cured the book sales of the plan still
				// build the buffer, but no new sale of shares is asked for.
				if e.fin.CallState(lending.ClientID(c)).ClosingOut {
					e.securityInstruction(c, in)
				}
				continue
			}
			if budget == 0 {
				break
			}
			budget--
			e.closeOutSell(c, m, in)
			e.flushGuard()
		}
		for i := range e.closing {
			if e.closing[i].client == c {
				e.closing[i].nextTry = e.now + CloseOutRetry
			}
		}
	}
}

// spotFor is the spot market selling asset for ccy, or nil.
func (e *Engine) spotFor(asset, ccy lending.AssetID) *market {
	for _, id := range e.spotMkts {
		if m := &e.markets[id]; m.finBase == asset && m.finQuote == ccy {
			return m
		}
	}
	return nil
}

// closeOutSell sends one instruction to the book as an IOC sell.
func (e *Engine) closeOutSell(c ClientID, m *market, in lending.SellInstruction) {
	tickValue := int64(m.spec.Spec.NotionalPerLotTick()) // quote minor units per lot per tick
	perUnit := fixed.Pow10(m.spec.Spec.BaseDecimals) / m.spec.Spec.BaseUnitsPerLot()
	// Worst price per whole unit → ticks, rounded up: never sell lower.
	px := fixed.Price(fixed.MustMulDiv(in.WorstPrice, 1, tickValue*perUnit, fixed.Ceil))
	lo, hi, on := m.book.Band()
	if on && px < lo {
		px = lo
	}
	lots := fixed.Qty(int64(in.Qty) / m.spec.Spec.BaseUnitsPerLot())
	lots = min(lots, m.spec.Spec.MaxQty)
	if lots <= 0 || m.mark == 0 || (on && px > hi) || px > m.spec.Spec.MaxPrice {
		e.emit(Event{Kind: EvCloseOutOrder, Client: c, Market: m.id, Flags: uint8(in.Step), Price: px, Qty: lots, Remaining: lots})
		return
	}
	before := e.fin.Holding(lending.ClientID(c), m.finQuote)
	loan := e.fin.Loan(lending.ClientID(c), m.finQuote).Balance
	evs := m.book.Submit(book.Order{Owner: book.Owner(c), Side: book.Sell, Type: book.Limit, TIF: book.IOC, Price: px, Qty: lots})
	if evs[0].Kind == book.EvRejected {
		e.emit(Event{Kind: EvCloseOutOrder, Client: c, Market: m.id, Flags: uint8(in.Step), Price: px, Qty: lots, Remaining: lots,
			Code: FromBook(evs[0].Reason)})
		return
	}
	var filled fixed.Qty
	for i := range evs {
		if evs[i].Kind == book.EvTrade {
			filled += evs[i].Qty
		}
	}
	e.applySpotEvents(m, evs, 0, evs[0].Order, in.Step)
	// Proceeds: what the sale brought in (cash gained plus loan repaid).
	proceeds := (e.fin.Holding(lending.ClientID(c), m.finQuote) - before) + (loan - e.fin.Loan(lending.ClientID(c), m.finQuote).Balance)
	e.emit(Event{Kind: EvCloseOutOrder, Client: c, Market: m.id, Flags: uint8(in.Step), Price: px, Qty: lots,
		Remaining: lots - filled, Amount: proceeds})
}

// securityInstruction publishes a securities sale for an operator to
// execute, once per change of quantity.
func (e *Engine) securityInstruction(c ClientID, in lending.SellInstruction) {
	for i := range e.secPending {
		s := &e.secPending[i]
		if s.client == c && s.asset == in.Asset {
			if s.qty == in.Qty && s.step == in.Step {
				return
			}
			s.qty, s.step = in.Qty, in.Step
			e.emitSecuritySale(c, in)
			return
		}
	}
	e.secPending = append(e.secPending, secInstr{client: c, asset: in.Asset, qty: in.Qty, step: in.Step})
	e.emitSecuritySale(c, in)
}

func (e *Engine) emitSecuritySale(c ClientID, in lending.SellInstruction) {
	le := lending.Event{Time: e.now, Client: lending.ClientID(c), Asset: in.Asset, Currency: in.Currency, Qty: in.Qty,
		Amount: fixed.Amount(in.WorstPrice), Short: in.Cure, Step: in.Step}
	e.emit(Event{Kind: EvSecuritySale, Client: c, Flags: uint8(in.Step), Fin: &le})
}

// bookSecuritySale books an operator's execution of a pending securities
// sale instruction: qty (asset minor units, Command.Qty) sold for Amount
// (quote minor units), at most the instruction's quantity.
func (e *Engine) bookSecuritySale(cmd *Command, a lending.AssetID) Result {
	k := -1
	for i := range e.secPending {
		if s := &e.secPending[i]; s.client == cmd.Client && s.asset == a {
			k = i
		}
	}
	if k < 0 {
		return Result{Code: CodeNoSaleInstruction}
	}
	s := e.secPending[k]
	qty := fixed.Amount(cmd.Qty)
	if qty <= 0 || qty > s.qty {
		return Result{Code: CodeInvalidAmount}
	}
	o := e.fin.ApplySale(e.now, lending.ClientID(cmd.Client), a, qty, cmd.Amount, s.step)
	if !o.OK() {
		return Result{Code: FromLending(o.Reason)}
	}
	// The sale may cure the call, which drops the instruction (finOut →
	// stopCloseOut); otherwise what is left stays pending.
	e.finOut(o)
	for i := range e.secPending {
		if p := &e.secPending[i]; p.client == cmd.Client && p.asset == a {
			p.qty -= qty
			if p.qty <= 0 {
				e.secPending = append(e.secPending[:i], e.secPending[i+1:]...)
			}
			break
		}
	}
	return Result{Client: cmd.Client}
}
