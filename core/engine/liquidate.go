package engine

import (
	"errors"
	"slices"
	"strconv"

	"github.com/sampan-hk/sampan/core/book"
	"github.com/sampan-hk/sampan/core/fixed"
	"github.com/sampan-hk/sampan/core/ledger"
	"github.com/sampan-hk/sampan/core/liquidation"
	"github.com/sampan-hk/sampan/core/risk"
)

// Liquidation (docs/liquidation.md has the narrative and worked numbers).
//
// An account is liquidatable when equity < MM (cross margin, all
// positions at mark). Every liquidatable account is found at the end of
// the command that made it so, without scanning accounts:
//
// Detection index (liquidation.Index). For each account with positions
// and slack = equity − MM ≥ 0, each of its n position markets gets a
// trigger price: the mark at which that market alone would consume its
// share ⌊slack/n⌋ of the slack, the others held at their marks at the time
// of indexing (risk.LiquidationPrice with the other markets' contribution
// lowered by the rest of the slack, less n micro-units for the MM
// rounding). While every market's mark stays on the safe side of its
// trigger, the sum of the consumed shares is below the slack, so the
// account is not liquidatable: the index never misses one. With one
// position the share is the whole slack and the trigger is the exact
// liquidation price. A mark move therefore pops only crossed entries:
// O(1) when none cross, O(k log N) for k crossed; a crossed account is
// re-checked exactly and either queued for liquidation or re-indexed with
// its slack split afresh (a multi-market account may thus be re-checked
// before it is liquidatable; never after). Moves of other markets need no
// work: a favourable move only adds slack, an adverse one is caught by that
// market's own trigger.
//
// An account is re-indexed (O(markets + log N)) whenever its slack can
// shrink other than by its own marks: a fill (taker or maker, fees and
// realized PnL included), a withdrawal or transfer out, a funding payment
// it pays; deposits re-index too (tightening the triggers). The index is
// not in the snapshot or the state hash: the set of accounts liquidated is
// exactly the set of liquidatable ones whatever the triggers were, so
// Restore rebuilds it from the positions.
//
// Process, run at the end of Apply (after the command, also when time
// alone moved: funding) whenever an account was found or is in process:
//  1. Candidates (sorted by client id) are re-checked exactly; the
//     liquidatable ones join the queue (sorted by client id).
//  2. Queued accounts are processed riskiest first (equity/MM ascending,
//     then client id). An account none of whose positions is in a market
//     with LiquidationsPaused starts: EvLiquidationStarted, all its orders
//     cancelled. Withdrawals are refused from then on.
//  3. Steps, each on the position with the largest MM in a market that is
//     not paused: close StepQty lots (one tier down, or the whole position
//     in the first tier; ≤ Portion × size or MinNotional; within the
//     account's and the market's notional caps for this call) with an IOC
//     at the fillable price (never beyond the bankruptcy price, inside the
//     band), then at the bankruptcy price; the liquidation fee (no taker
//     fee) goes to the insurance fund, capped at the client's equity →
//     EvLiquidationOrder. What the book did not take is absorbed at the
//     bankruptcy price: taken over by the insurance fund when the fund's
//     equity covers its loss at mark (within FundLoss per call), otherwise
//     auto-deleveraged against opposite positions ranked by
//     liquidation.Score → EvInsuranceTakeover / EvDeleveraged.
//  4. The account finishes when equity ≥ MM again (margin restored) or it
//     has no positions left (closed out; a remaining negative balance is
//     covered by the fund, then by the venue's fee revenue) →
//     EvLiquidationFinished, and it is re-indexed.
//
// Caps are per call (one Apply): what they hold back is done by the next
// commands (the sequencer's 1 s tick guarantees there is one).
//
// The insurance fund is ledger.Insurance; client 0 (never a real client)
// is the fund's position holder, so positions it takes over are ordinary
// lines: they pay and receive funding, count in open interest, and their
// PnL flows through the Insurance account.

// liqStepsMax bounds the steps on one account in one call.
const liqStepsMax = 64

// fundHolder is the client id holding the insurance fund's positions.
const fundHolder ClientID = 0

type liqItem struct {
	key int64
	c   ClientID
}

type adlItem struct {
	tier  int
	score int64
	c     ClientID
}

// figures returns a client's collateral, equity and MM at current marks
// and its number of positions.
func (e *Engine) figures(c ClientID) (coll, equity, mm fixed.Amount, n int) {
	coll = e.led.Balance(ledger.USD, e.clients[c].deriv)
	equity = coll
	base := int(c) * len(e.markets)
	for i := range e.markets {
		l := &e.lines[base+i]
		if l.Size == 0 {
			continue
		}
		m := &e.markets[i]
		equity += l.Unrealized(&m.params, m.mark)
		mm += m.params.Brackets.MM(m.params.Notional(l.Size, m.mark))
		n++
	}
	return coll, equity, mm, n
}

// reindex recomputes a client's trigger entries, or makes it a candidate
// when it is liquidatable now.
func (e *Engine) reindex(c ClientID) {
	if c == fundHolder || e.clients[c].queued {
		return
	}
	nm := len(e.markets)
	base := int(c) * nm
	// One pass for the figures, keeping each market's unrealized PnL and
	// MM for the trigger pass (this runs on every fill: no second valuation).
	var us, mms [MarketsMax]fixed.Amount
	equity := e.led.Balance(ledger.USD, e.clients[c].deriv)
	var mm fixed.Amount
	n := 0
	for i := 0; i < nm; i++ {
		l := &e.lines[base+i]
		if l.Size == 0 {
			continue
		}
		m := &e.markets[i]
		us[i] = l.Unrealized(&m.params, m.mark)
		mms[i] = m.params.Brackets.MM(m.params.Notional(l.Size, m.mark))
		equity += us[i]
		mm += mms[i]
		n++
	}
	if equity < mm {
		for i := 0; i < nm; i++ {
			e.lix.Remove(uint32(c), i)
		}
		e.cand = append(e.cand, uint32(c))
		return
	}
	var share, reserve fixed.Amount
	if n > 0 {
		slack := equity - mm
		share = slack / fixed.Amount(n)
		reserve = slack - share + fixed.Amount(n)
	}
	for i := 0; i < nm; i++ {
		l := &e.lines[base+i]
		if l.Size == 0 {
			e.lix.Remove(uint32(c), i)
			continue
		}
		m := &e.markets[i]
		trig, ok := risk.LiquidationPrice(&m.params, l, equity-us[i]-reserve, mm-mms[i])
		if l.Size > 0 {
			if !ok {
				trig = 0
			}
			e.lix.Set(uint32(c), i, true, int64(min(trig, m.mark-1)))
		} else {
			if !ok {
				trig = m.mark + 1
			}
			e.lix.Set(uint32(c), i, false, int64(max(trig, m.mark+1)))
		}
	}
}

// markMoved pops the accounts a market's new mark crossed.
func (e *Engine) markMoved(m *market) {
	if e.lix.Crossed(int(m.id), int64(m.mark)) {
		e.cand = e.lix.PopCrossed(int(m.id), int64(m.mark), e.cand)
	}
}

// collect re-checks candidates exactly: liquidatable ones join the queue,
// the others are re-indexed.
func (e *Engine) collect() {
	if len(e.cand) == 0 {
		return
	}
	slices.Sort(e.cand)
	e.cand2 = append(e.cand2[:0], e.cand...)
	e.cand = e.cand[:0]
	added := false
	for i, x := range e.cand2 {
		if i > 0 && e.cand2[i-1] == x {
			continue
		}
		c := ClientID(x)
		cl := &e.clients[c]
		if cl.queued {
			continue
		}
		_, equity, mm, _ := e.figures(c)
		if equity < mm {
			for j := range e.markets {
				e.lix.Remove(x, j)
			}
			cl.queued = true
			e.liqQ = append(e.liqQ, c)
			added = true
			continue
		}
		e.reindex(c)
	}
	if added {
		slices.Sort(e.liqQ)
	}
}

// runLiquidations is the liquidation pass at the end of a command.
func (e *Engine) runLiquidations() {
	e.liqGen++
	for i := range e.mktUsed {
		e.mktUsed[i] = 0
	}
	for round := 0; round <= len(e.clients); round++ {
		e.collect()
		e.order = e.order[:0]
		for _, c := range e.liqQ {
			if e.clients[c].stamp == e.liqGen {
				continue
			}
			_, equity, mm, _ := e.figures(c)
			key := int64(-1) << 62
			if mm > 0 {
				key = fixed.MustMulDiv(int64(equity), int64(fixed.PpmOne), int64(mm), fixed.Floor)
			}
			e.order = append(e.order, liqItem{key: key, c: c})
		}
		if len(e.order) == 0 {
			break
		}
		slices.SortFunc(e.order, func(a, b liqItem) int {
			if a.key != b.key {
				if a.key < b.key {
					return -1
				}
				return 1
			}
			return int(a.c) - int(b.c)
		})
		for _, it := range e.order {
			e.clients[it.c].stamp = e.liqGen
			e.liquidateAccount(it.c)
		}
		k := 0
		for _, c := range e.liqQ {
			if e.clients[c].queued {
				e.liqQ[k] = c
				k++
			}
		}
		e.liqQ = e.liqQ[:k]
		if len(e.cand) == 0 {
			break
		}
	}
	if len(e.cand) != 0 {
		e.collect() // accounts found in the last round wait in the queue
	}
}

// positionPaused reports whether any of the client's positions is in a
// market whose liquidations are paused.
func (e *Engine) positionPaused(c ClientID) bool {
	for i := range e.markets {
		if e.line(c, MarketID(i)).Size != 0 && e.marketReduceOnly(&e.markets[i]) {
			return true
		}
	}
	return false
}

// riskiest returns the market of the client's position with the largest MM
// among markets that are not paused (lowest id on ties), or −1.
func (e *Engine) riskiest(c ClientID) int {
	best, bestMM := -1, fixed.Amount(-1)
	for i := range e.markets {
		l := e.line(c, MarketID(i))
		m := &e.markets[i]
		if l.Size == 0 || e.marketReduceOnly(m) {
			continue
		}
		if mm := m.params.Brackets.MM(m.params.Notional(l.Size, m.mark)); mm > bestMM {
			best, bestMM = i, mm
		}
	}
	return best
}

func (e *Engine) fundBalance() fixed.Amount { return e.led.Balance(ledger.USD, ledger.Insurance) }

func (e *Engine) liquidateAccount(c ClientID) {
	cl := &e.clients[c]
	coll, equity, mm, n := e.figures(c)
	if !cl.liquidating {
		if equity >= mm {
			cl.queued = false
			e.reindex(c)
			return
		}
		if e.positionPaused(c) {
			return // the index is unreliable: wait (valuation.go)
		}
		cl.liquidating = true
		mi := max(e.riskiest(c), 0)
		e.emit(Event{Kind: EvLiquidationStarted, Client: c, Market: MarketID(mi), Price: e.markets[mi].mark,
			Equity: equity, Margin: mm, Balance: coll})
		for i := range e.markets {
			m := &e.markets[i]
			if e.line(c, m.id).Orders > 0 {
				e.applyBookEvents(m, m.book.CancelAll(book.Owner(c), book.CancelByEngine), 0, 0)
			}
		}
	}
	var acctUsed, fundUsed fixed.Amount
	for step := 0; step < liqStepsMax; step++ {
		_, equity, mm, n = e.figures(c)
		if n == 0 || equity >= mm {
			break
		}
		mi := e.riskiest(c)
		if mi < 0 {
			break
		}
		m := &e.markets[mi]
		lp := &m.spec.Liquidation
		budget := min(lp.AccountNotional-acctUsed, lp.MarketNotional-e.mktUsed[mi])
		if budget <= 0 {
			break
		}
		l := e.line(c, m.id)
		long := l.Size > 0
		k := m.params.K
		pb := liquidation.BankruptcyPrice(l.Size, l.Cost, equity-l.Unrealized(&m.params, m.mark), k)
		if !long && pb <= 0 {
			pb = 1 // no price keeps it solvent: the fund or ADL bears the rest
		}
		pb = min(pb, m.spec.Spec.MaxPrice)
		q := liquidation.StepQty(lp, m.spec.Brackets, absQty(l.Size), m.mark, k, budget)
		posMM := m.params.Brackets.MM(m.params.Notional(l.Size, m.mark))
		limit := liquidation.FillablePrice(lp, m.mark, l.Size, posMM, equity, mm, k)
		if long {
			limit = max(limit, pb)
		} else {
			limit = min(limit, pb)
		}
		filled, notional := e.liqOrder(c, m, long, limit, q)
		if filled < q && limit != pb && (long && pb < limit || !long && pb > limit) {
			f2, n2 := e.liqOrder(c, m, long, pb, q-filled)
			filled, notional = filled+f2, notional+n2
			limit = pb
		}
		var fee fixed.Amount
		if notional > 0 {
			_, eqAfter, _, _ := e.figures(c)
			surplus := notional - m.params.Notional(filled, pb) // a long sold above pb
			if !long {
				surplus = -surplus // a short bought below pb
			}
			if fee = liquidation.Fee(lp, notional, surplus, eqAfter); fee > 0 {
				e.led.Transfer(ledger.USD, cl.deriv, ledger.Insurance, fee)
			}
		}
		_, eqA, mmA, _ := e.figures(c)
		e.emit(Event{Kind: EvLiquidationOrder, Client: c, Market: m.id, Side: closeSide(long), Price: limit, Qty: q,
			Remaining: q - filled, LiqPrice: pb, Cost: notional, Amount: fee, Balance: e.fundBalance(), Equity: eqA, Margin: mmA})
		if fee > 0 {
			e.emit(Event{Kind: EvInsuranceFund, Client: c, Flags: FundFee, Amount: fee, Balance: e.fundBalance()})
		}
		acctUsed += notional
		e.mktUsed[mi] += notional
		if rem := q - filled; rem > 0 {
			e.absorb(c, m, long, rem, pb, &fundUsed)
			nr := m.params.Notional(rem, m.mark)
			acctUsed += nr
			e.mktUsed[mi] += nr
		}
	}
	coll, equity, mm, n = e.figures(c)
	if n == 0 && coll < 0 {
		e.coverDeficit(c, -coll)
		coll, equity, mm, _ = e.figures(c)
	}
	if n == 0 || equity >= mm {
		cl.liquidating, cl.queued = false, false
		e.emit(Event{Kind: EvLiquidationFinished, Client: c, Flag: n > 0, Equity: equity, Margin: mm, Balance: coll})
		e.reindex(c)
	}
}

func closeSide(long bool) book.Side {
	if long {
		return book.Sell
	}
	return book.Buy
}

func absQty(q fixed.Qty) fixed.Qty {
	if q < 0 {
		return -q
	}
	return q
}

// liqOrder sends one liquidation IOC (reduce-only, no taker fee) for q lots
// at limit px, kept inside the band, and returns what filled.
func (e *Engine) liqOrder(c ClientID, m *market, long bool, px fixed.Price, q fixed.Qty) (fixed.Qty, fixed.Amount) {
	lo, hi, on := m.book.Band()
	if on {
		if long {
			if px = max(px, lo); px > hi {
				return 0, 0
			}
		} else if px = min(px, hi); px < lo {
			return 0, 0
		}
	}
	if px <= 0 || q <= 0 {
		return 0, 0
	}
	evs := m.book.Submit(book.Order{Owner: book.Owner(c), Side: closeSide(long), Type: book.Limit, TIF: book.IOC,
		ReduceOnly: true, Price: px, Qty: q})
	if evs[0].Kind == book.EvRejected {
		return 0, 0
	}
	e.liqClient, e.liqFilled, e.liqNotional = c, 0, 0
	e.beginFills()
	e.applyBookEvents(m, evs, FlagReduceOnly, evs[0].Order)
	e.liqClient = noLiqClient
	e.endFills(m)
	return e.liqFilled, e.liqNotional
}

// noLiqClient marks "no liquidation order in flight" (client ids are
// below 2^31 by config).
const noLiqClient = ClientID(1<<32 - 1)

// absorb handles what the book did not take: the fund takes it over at the
// bankruptcy price if it can bear the loss at mark, else ADL.
func (e *Engine) absorb(c ClientID, m *market, long bool, rem fixed.Qty, pb fixed.Price, fundUsed *fixed.Amount) {
	lp := &m.spec.Liquidation
	sq := rem // the fund's signed trade: it buys a long's position
	if !long {
		sq = -rem
	}
	npb, nmark := m.params.Notional(rem, pb), m.params.Notional(rem, m.mark)
	loss := npb - nmark
	if !long {
		loss = nmark - npb
	}
	bal := e.fundBalance()
	_, fundEq, _, _ := e.figures(fundHolder)
	h := *e.line(fundHolder, m.id)
	rH := h.Fill(&m.params, sq, pb)
	if bal+rH >= 0 && (loss <= 0 || (fundEq-loss >= 0 && *fundUsed+loss <= lp.FundLoss)) {
		*fundUsed += max(loss, 0)
		e.beginFills()
		rC := e.fill(m, e.line(c, m.id), -sq, pb)
		rH = e.fill(m, e.line(fundHolder, m.id), sq, pb)
		e.led.Post(ledger.USD, ledger.Leg{Account: m.settlement, Amount: -(rC + rH)},
			ledger.Leg{Account: e.clients[c].deriv, Amount: rC}, ledger.Leg{Account: ledger.Insurance, Amount: rH})
		e.touch(c, m.id)
		e.touch(fundHolder, m.id)
		e.emit(Event{Kind: EvInsuranceTakeover, Client: c, Market: m.id, Side: closeSide(!long), Price: pb, Qty: rem,
			Amount: loss, Realized: rC, Balance: e.fundBalance()})
		e.endFills(m)
		return
	}
	e.deleverage(c, m, long, rem, pb)
}

// adlRank fills e.adl with the positions opposite to a long (or short)
// position in market m, in deleveraging order: ordinary accounts by score
// (highest first, then client id), then accounts in liquidation, then the
// fund's own position. except is left out.
func (e *Engine) adlRank(m *market, long bool, except ClientID) {
	e.adl = e.adl[:0]
	for k := 0; k < len(e.clients); k++ {
		c := ClientID(k)
		if c == except {
			continue
		}
		l := e.line(c, m.id)
		if l.Size == 0 || (l.Size > 0) == long {
			continue
		}
		tier := 0
		if c == fundHolder {
			tier = 2
		} else if e.clients[c].queued {
			tier = 1
		}
		_, eq, _, _ := e.figures(c)
		s := liquidation.Score(l.Unrealized(&m.params, m.mark), l.Cost, m.params.Notional(l.Size, m.mark), eq)
		e.adl = append(e.adl, adlItem{tier: tier, score: s, c: c})
	}
	slices.SortFunc(e.adl, func(a, b adlItem) int {
		switch {
		case a.tier != b.tier:
			return a.tier - b.tier
		case a.score != b.score:
			if a.score > b.score {
				return -1
			}
			return 1
		}
		return int(a.c) - int(b.c)
	})
}

// deleverage closes rem lots of c's position at the bankruptcy price
// against the ranked opposite positions.
func (e *Engine) deleverage(c ClientID, m *market, long bool, rem fixed.Qty, pb fixed.Price) {
	e.adlRank(m, long, c)
	ordinary := 0
	for _, it := range e.adl {
		if it.tier == 0 {
			ordinary++
		}
	}
	for i, it := range e.adl {
		if rem == 0 {
			break
		}
		lk := e.line(it.c, m.id)
		x := min(rem, absQty(lk.Size))
		sq := -x // c's signed trade: a long sells
		if !long {
			sq = x
		}
		e.beginFills()
		rc := e.fill(m, e.line(c, m.id), sq, pb)
		rk := e.fill(m, lk, -sq, pb)
		e.led.Post(ledger.USD, ledger.Leg{Account: m.settlement, Amount: -(rc + rk)},
			ledger.Leg{Account: e.clients[c].deriv, Amount: rc}, ledger.Leg{Account: e.clients[it.c].deriv, Amount: rk})
		e.touch(c, m.id)
		e.touch(it.c, m.id)
		var qt uint8
		if it.tier == 0 {
			qt = liquidation.Quantile(i, ordinary)
		}
		e.emit(Event{Kind: EvDeleveraged, Client: it.c, MakerClient: c, Market: m.id, Side: closeSide(!long), Price: pb, Qty: x,
			TakerRealized: rk, MakerRealized: rc, Amount: fixed.Amount(it.score), Quantile: qt})
		e.endFills(m)
		rem -= x
	}
	if rem != 0 {
		panic("engine: ADL found less opposite open interest than the position")
	}
}

// coverDeficit brings a closed-out account's negative balance back to
// zero from the insurance fund, then (if the fund is empty) from the
// venue's fee revenue: a client never owes more than it posted, and no
// other client pays.
func (e *Engine) coverDeficit(c ClientID, need fixed.Amount) {
	deriv := e.clients[c].deriv
	if pay := min(need, max(e.fundBalance(), 0)); pay > 0 {
		e.led.Transfer(ledger.USD, ledger.Insurance, deriv, pay)
		e.emit(Event{Kind: EvInsuranceFund, Client: c, Flags: FundCover, Amount: -pay, Balance: e.fundBalance()})
		need -= pay
	}
	if pay := min(need, max(e.led.Balance(ledger.USD, ledger.Fees), 0)); pay > 0 {
		e.led.Transfer(ledger.USD, ledger.Fees, deriv, pay)
		e.emit(Event{Kind: EvInsuranceFund, Client: c, Flags: FundVenue, Amount: pay, Balance: e.fundBalance()})
	}
}

func (e *Engine) fundInsurance(cmd *Command) Result {
	if cmd.Amount <= 0 {
		return Result{Code: CodeInvalidAmount}
	}
	if _, err := fixed.Add(int64(e.led.Deposits(ledger.USD)), int64(cmd.Amount)); err != nil {
		return Result{Code: CodeInvalidAmount}
	}
	e.led.Deposit(ledger.USD, ledger.Insurance, cmd.Amount)
	e.emit(Event{Kind: EvInsuranceFund, Flags: FundDeposit, Amount: cmd.Amount, Balance: e.fundBalance()})
	return Result{}
}

// InsuranceView is the insurance fund: its balance and the positions it
// holds (taken over from liquidations).
type InsuranceView struct {
	Balance   fixed.Amount
	Equity    fixed.Amount // balance + unrealized PnL of its positions at mark
	Positions []PositionView
}

// InsuranceFund returns the fund's state.
func (e *Engine) InsuranceFund() InsuranceView {
	_, eq, _, _ := e.figures(fundHolder)
	return InsuranceView{Balance: e.fundBalance(), Equity: eq, Positions: e.positions(fundHolder, nil)}
}

// LiquidationQueue appends the clients in liquidation (started, or waiting
// for a paused market), by client id.
func (e *Engine) LiquidationQueue(dst []ClientID) []ClientID { return append(dst, e.liqQ...) }

// checkLiquidation verifies the liquidation state against a brute-force
// scan: the insurance fund is not negative; no candidates are left over;
// the queue is sorted and matches the flags; every account not in the
// queue is not liquidatable and has exactly one index entry per position,
// not crossed by its market's mark; queued accounts have none; a running
// ADL publication cycle is well formed (checkAdlCycle).
func (e *Engine) checkLiquidation() error {
	fail := func(msg string, v ...int64) error {
		for _, x := range v {
			msg += " " + strconv.FormatInt(x, 10)
		}
		return errors.New("engine invariant: " + msg)
	}
	if e.fundBalance() < 0 {
		return fail("insurance fund negative", int64(e.fundBalance()))
	}
	if len(e.cand) != 0 {
		return fail("liquidation candidates left unprocessed", int64(len(e.cand)))
	}
	if e.clients[0].queued || e.clients[0].liquidating {
		return fail("the fund's holder is in liquidation")
	}
	queued := 0
	for i, c := range e.liqQ {
		if i > 0 && e.liqQ[i-1] >= c {
			return fail("liquidation queue not sorted")
		}
		if c == 0 || int(c) >= len(e.clients) || !e.clients[c].queued {
			return fail("liquidation queue entry not flagged", int64(c))
		}
	}
	entries := 0
	for id := 1; id < len(e.clients); id++ {
		c := ClientID(id)
		cl := &e.clients[id]
		if cl.liquidating && !cl.queued {
			return fail("liquidating account not queued", int64(id))
		}
		if cl.queued {
			queued++
		}
		_, equity, mm, _ := e.figures(c)
		if !cl.queued && equity < mm {
			return fail("liquidatable account not detected", int64(id), int64(equity), int64(mm))
		}
		for i := range e.markets {
			m := &e.markets[i]
			trig, long, ok := e.lix.Get(uint32(id), i)
			size := e.line(c, MarketID(i)).Size
			if cl.queued {
				if ok {
					return fail("queued account still indexed", int64(id), int64(i))
				}
				continue
			}
			if ok != (size != 0) || (ok && long != (size > 0)) {
				return fail("index entry does not match the position", int64(id), int64(i), int64(size))
			}
			if !ok {
				continue
			}
			entries++
			if (long && int64(m.mark) <= trig) || (!long && int64(m.mark) >= trig) {
				return fail("index entry crossed by the mark", int64(id), int64(i), trig, int64(m.mark))
			}
		}
	}
	if queued != len(e.liqQ) {
		return fail("liquidation queue length", int64(queued), int64(len(e.liqQ)))
	}
	if entries != e.lix.Len() {
		return fail("index has stray entries", int64(entries), int64(e.lix.Len()))
	}
	return e.checkAdlCycle()
}

// appendLiquidationState encodes the fund's lines, the queue, the next
// ADL publication time and every line's published quantile (snapshot
// version 2, and the state hash); while a publication cycle runs, the
// time carries adlCycleFlag and the cycle's state follows
// (appendAdlCycle). With no cycle running the bytes are as before, so
// older snapshots restore unchanged.
func (e *Engine) appendLiquidationState(dst []byte) []byte {
	for j := range e.markets {
		l := e.line(fundHolder, MarketID(j))
		for _, v := range lineValues(l) {
			dst = put64(dst, uint64(v))
		}
		dst = put32(dst, uint32(l.Orders))
	}
	dst = put32(dst, uint32(len(e.liqQ)))
	for _, c := range e.liqQ {
		dst = put32(dst, uint32(c))
	}
	next := uint64(e.adlNext)
	if e.adlc.phase != adlIdle {
		next |= adlCycleFlag
	}
	dst = put64(dst, next)
	dst = append(dst, e.adlQ...)
	if e.adlc.phase != adlIdle {
		dst = e.appendAdlCycle(dst)
	}
	return dst
}

func (e *Engine) restoreLiquidationState(r *reader) bool {
	for j := range e.markets {
		var v [lineFields]int64
		for k := range v {
			v[k] = int64(r.u64())
		}
		l := e.line(fundHolder, MarketID(j))
		*l = risk.Line{Size: fixed.Qty(v[0]), Cost: fixed.Amount(v[1]), Realized: fixed.Amount(v[2]), Leverage: v[3],
			BuyQty: fixed.Qty(v[4]), SellQty: fixed.Qty(v[5]), BuyNotional: fixed.Amount(v[6]), SellNotional: fixed.Amount(v[7]),
			ReduceBuyQty: fixed.Qty(v[8]), ReduceSellQty: fixed.Qty(v[9]), Orders: int32(r.u32())}
		if l.Size > maxPosition || l.Size < -maxPosition || l.Orders != 0 || l.BuyQty != 0 || l.SellQty != 0 {
			return false
		}
	}
	n := int(r.u32())
	if r.err != nil || n > len(e.clients) || n > len(r.b)/4 {
		return false
	}
	for i := 0; i < n; i++ {
		c := ClientID(r.u32())
		if r.err != nil || c == 0 || int(c) >= len(e.clients) || !e.clients[c].queued || (i > 0 && e.liqQ[i-1] >= c) {
			return false
		}
		e.liqQ = append(e.liqQ, c)
	}
	next := r.u64()
	e.adlNext = int64(next &^ adlCycleFlag)
	q := r.take(len(e.clients) * len(e.markets))
	if r.err != nil {
		return false
	}
	e.adlQ = append(e.adlQ[:0], q...)
	for i, v := range e.adlQ {
		if v > 5 || (i < len(e.markets) && v != 0) {
			return false
		}
	}
	return next&adlCycleFlag == 0 || e.restoreAdlCycle(r)
}

// fundWorkout runs on every Tick: the insurance fund works out the
// positions it took over, one step per market per second (the liquidation
// step size: one tier, ≤ Portion × size or MinNotional, within the
// market's per-call notional cap), with a reduce-only IOC that accepts any
// price inside the band but never one at which the realized loss would
// take the fund's balance below zero. It pays no taker fee. Each attempt
// is an EvLiquidationOrder with Client 0 (the fund).
func (e *Engine) fundWorkout() {
	for i := range e.markets {
		m := &e.markets[i]
		l := e.line(fundHolder, m.id)
		if l.Size == 0 || m.mark == 0 || e.marketReduceOnly(m) {
			continue
		}
		lp := &m.spec.Liquidation
		long := l.Size > 0
		abs := absQty(l.Size)
		q := liquidation.StepQty(lp, m.spec.Brackets, abs, m.mark, m.params.K, lp.MarketNotional)
		if q <= 0 {
			continue
		}
		// Break-even bound: proceeds − removed cost ≥ −balance.
		cost := int64(l.Cost)
		if cost < 0 {
			cost = -cost
		}
		removed := fixed.MustMulDiv(cost, int64(q), int64(abs), fixed.Ceil)
		bal := int64(max(e.fundBalance(), 0))
		qk := fixed.MustMul(int64(q), m.params.K)
		var limit fixed.Price
		if long {
			// Sell: proceeds = q × p × K ≥ removed − bal.
			limit = fixed.Price(max(fixed.MustMulDiv(removed-bal, 1, qk, fixed.Ceil), 1))
		} else {
			// Buy back: removed − q × p × K ≥ −bal ⇒ p ≤ (removed + bal) / (qK).
			limit = fixed.Price(fixed.MustMulDiv(removed+bal, 1, qk, fixed.Floor))
			if limit <= 0 {
				continue
			}
		}
		filled, notional := e.liqOrder(fundHolder, m, long, limit, q)
		e.emit(Event{Kind: EvLiquidationOrder, Client: fundHolder, Market: m.id, Side: closeSide(long), Price: limit, Qty: q,
			Remaining: q - filled, Cost: notional, Balance: e.fundBalance()})
	}
}

// fundBackstop restores a negative insurance-fund balance from the venue's
// fee revenue (the venue's own money: never other clients'). The fund's
// balance can only go below zero through positions it holds: funding it
// pays, or its own position closed by ADL when no other opposite position
// was left, after marks moved against it. Its take-overs and workouts are
// bounded so they never do it themselves.
func (e *Engine) fundBackstop() {
	need := -e.fundBalance()
	if pay := min(need, max(e.led.Balance(ledger.USD, ledger.Fees), 0)); pay > 0 {
		e.led.Transfer(ledger.USD, ledger.Fees, ledger.Insurance, pay)
		e.emit(Event{Kind: EvInsuranceFund, Flags: FundVenue, Amount: pay, Balance: e.fundBalance()})
	}
}

// fundSolvency keeps the insurance fund solvent after every command. The
// fund's positions (taken over from liquidations) carry market risk: when
// marks move against them so far that the fund's equity (balance +
// unrealized) is negative, the fund itself "cannot cover" and its
// positions are auto-deleveraged, exactly like a client's, against the
// ranked opposite positions at the fund's bankruptcy price, which brings
// its equity back to zero. When its equity is positive but its balance is
// negative (a realized loss on a forced ADL netting against its own
// position), its positions are deleveraged at mark, turning unrealized
// gains into balance. A rounding remainder is met from the venue's fee
// revenue. O(markets) when there is nothing to do.
func (e *Engine) fundSolvency() {
	base := int(fundHolder) * len(e.markets)
	any := false
	for i := range e.markets {
		if e.lines[base+i].Size != 0 {
			any = true
			break
		}
	}
	if any {
		_, eq, _, _ := e.figures(fundHolder)
		if eq < 0 || e.fundBalance() < 0 {
			for i := range e.markets {
				m := &e.markets[i]
				l := e.line(fundHolder, m.id)
				if l.Size == 0 || e.marketReduceOnly(m) {
					continue
				}
				_, eq, _, _ = e.figures(fundHolder)
				px := m.mark
				if eq < 0 {
					px = liquidation.BankruptcyPrice(l.Size, l.Cost, eq-l.Unrealized(&m.params, m.mark), m.params.K)
					if l.Size < 0 && px <= 0 {
						px = 1
					}
					px = min(px, m.spec.Spec.MaxPrice)
				}
				e.deleverage(fundHolder, m, l.Size > 0, absQty(l.Size), px)
			}
		}
	}
	if e.fundBalance() < 0 {
		e.fundBackstop()
	}
}

// positionChanged is called for each line whose position a fill changed.
// It returns the position's exact liquidation price (for EvPosition) and
// re-indexes the account, sharing one valuation pass: for an account with
// this single position in a market with exactTrigger, the trigger is that
// same price; otherwise reindex does the general split.
func (e *Engine) positionChanged(c ClientID, mid MarketID) fixed.Price {
	nm := len(e.markets)
	base := int(c) * nm
	equity := e.led.Balance(ledger.USD, e.clients[c].deriv)
	var mm, um, mmm fixed.Amount
	n := 0
	for i := 0; i < nm; i++ {
		l := &e.lines[base+i]
		if l.Size == 0 {
			continue
		}
		m := &e.markets[i]
		u := l.Unrealized(&m.params, m.mark)
		x := m.params.Brackets.MM(m.params.Notional(l.Size, m.mark))
		if i == int(mid) {
			um, mmm = u, x
		}
		equity += u
		mm += x
		n++
	}
	m := &e.markets[mid]
	l := &e.lines[base+int(mid)]
	var liq fixed.Price
	var ok bool
	if l.Size != 0 {
		liq, ok = risk.LiquidationPrice(&m.params, l, equity-um, mm-mmm)
		if !ok {
			liq = 0
		}
	}
	if c == fundHolder || e.clients[c].queued {
		return liq
	}
	if n == 1 && l.Size != 0 && m.exactTrigger && equity >= mm {
		if l.Size > 0 {
			e.lix.Set(uint32(c), int(mid), true, int64(min(liq, m.mark-1)))
		} else {
			trig := liq
			if !ok {
				trig = m.mark + 1
			}
			e.lix.Set(uint32(c), int(mid), false, int64(max(trig, m.mark+1)))
		}
		return liq
	}
	e.reindex(c)
	return liq
}

// ADL quantile publication (docs/liquidation.md "ADL quantile").
//
// Ranking every open position at once costs O(positions log positions) —
// about 0.13 s at 1M positions, during which no command is applied — so a
// publication is a cycle spread over Ticks, each doing at most
// AdlWorkPerTick units of work (a line examined, a quantile published):
//
//  1. Start (a Tick at or after adlNext, no cycle running): every market's
//     mark is frozen for the cycle.
//  2. Scoring, in client-id order: each client is valued at the frozen
//     marks, with its balance and positions as they stand on the Tick
//     that scores it, and each of its positions is scored
//     (liquidation.Score) into its market side's list. A queued account
//     (in liquidation) is not ranked: its quantiles drop to 0, as do
//     closed lines. The entries one Tick scores are sorted into a run.
//  3. Publishing, side by side (market 0 longs, market 0 shorts, ...): the
//     runs are merged in rank order (score descending, then client id) and
//     the r-th of n gets liquidation.Quantile(r, n); EvAdlQuantile is
//     emitted when it changed. A position closed or flipped since it was
//     scored, or whose account is now queued, drops to 0 silently (it
//     still counts in the ranking it was scored in).
//
// So every quantile a cycle publishes is its rank in one ranking: all
// positions' scores at the same marks (the cycle's), each account as of
// its scoring Tick. When no account changes during the cycle this is
// exactly the ranking at the cycle's start. Small populations finish in
// the starting Tick, as before. A cycle that outlasts AdlPublishEvery
// delays the next (which starts at the first Tick after it finishes).
// The fills of an actual ADL (deleverage) never use this: they rank the
// exact current state.
//
// While a cycle runs, adlNext holds its start time (≤ now), so every Tick
// calls publishAdl; at the end it becomes start + AdlPublishEvery. The
// cycle is engine state: it is in the snapshot and the state hash.

// AdlPublishEvery is how often a quantile publication cycle starts (named
// limit; Binance updates every 30 s).
const AdlPublishEvery = int64(30e9)

// AdlWorkPerTick bounds one Tick's publication work, in units of about
// 100 ns: a line examined while scoring (markets per client), a quantile
// published, adlEventWork more for each EvAdlQuantile. In steady state
// (few changes) a cycle over P positions takes about 2P / AdlWorkPerTick
// Ticks: 61 s at 1M positions, within AdlPublishEvery up to 490k.
const AdlWorkPerTick = 1 << 15

// adlEventWork is the extra work of an emitted quantile event (building
// and carrying it costs about as much as ranking one more position).
const adlEventWork = 1

const (
	adlIdle = iota
	adlScoring
	adlPublishing
)

// adlEntry is one scored position in a side's ranking.
type adlEntry struct {
	score int64
	c     ClientID
}

// adlSide is one market side's ranking being built and published.
type adlSide struct {
	items []adlEntry // runs, each sorted in rank order, in scoring order
	ends  []int32    // end of each run in items
	pos   []int32    // publishing: the next entry of each run
	done  int        // entries published: the rank of the next one
}

// adlPublication is the publication cycle in progress (between cycles it
// is idle and its slices only keep their capacity: nothing of it is state).
type adlPublication struct {
	phase  uint8         // adlIdle, adlScoring or adlPublishing
	marks  []fixed.Price // per market: the frozen marks
	next   int           // scoring: the next client
	side   int           // publishing: 2 × market + (1 for shorts)
	sides  []adlSide
	heap   []int32 // scratch: runs by their next entry
	budget int     // work per Tick; 0: AdlWorkPerTick (tests lower it)
}

// adlBefore is the ranking order: higher score first, then client id.
func adlBefore(a, b adlEntry) bool {
	if a.score != b.score {
		return a.score > b.score
	}
	return a.c < b.c
}

func adlCmp(a, b adlEntry) int {
	if adlBefore(a, b) {
		return -1
	}
	if adlBefore(b, a) {
		return 1
	}
	return 0
}

// AdlPublishing reports whether a quantile publication cycle is running.
func (e *Engine) AdlPublishing() bool { return e.adlc.phase != adlIdle }

// publishAdl runs on a Tick at or after adlNext: it starts a cycle if none
// runs, then advances it by at most one Tick's work.
func (e *Engine) publishAdl() {
	a := &e.adlc
	if a.phase == adlIdle {
		e.adlStart()
	}
	work := a.budget
	if work <= 0 {
		work = AdlWorkPerTick
	}
	if a.phase == adlScoring {
		work = e.adlScore(work)
	}
	if a.phase == adlPublishing && work > 0 {
		e.adlPublish(work)
	}
}

func (e *Engine) adlStart() {
	a := &e.adlc
	nm := len(e.markets)
	a.phase, a.next, a.side = adlScoring, 1, 0 // client 0 (the fund) is never ranked
	a.marks = a.marks[:0]
	for i := range e.markets {
		a.marks = append(a.marks, e.markets[i].mark)
	}
	if len(a.sides) != 2*nm {
		a.sides = make([]adlSide, 2*nm)
	}
	for s := range a.sides {
		sd := &a.sides[s]
		sd.items, sd.ends, sd.pos, sd.done = sd.items[:0], sd.ends[:0], sd.pos[:0], 0
	}
	e.adlNext = e.now
}

// adlScore scores clients until the work runs out, sorts what it added to
// each side into a run, and returns the work left.
func (e *Engine) adlScore(work int) int {
	a := &e.adlc
	for a.next < len(e.clients) && work > 0 {
		e.adlScoreClient(ClientID(a.next))
		a.next++
		work -= len(e.markets)
	}
	for s := range a.sides {
		sd := &a.sides[s]
		start := sd.runStart(len(sd.ends))
		if len(sd.items) > start {
			slices.SortFunc(sd.items[start:], adlCmp)
			sd.ends = append(sd.ends, int32(len(sd.items)))
		}
	}
	if a.next >= len(e.clients) {
		a.phase = adlPublishing
		for s := range a.sides {
			sd := &a.sides[s]
			for k := range sd.ends {
				sd.pos = append(sd.pos, int32(sd.runStart(k)))
			}
		}
	}
	return max(work, 0)
}

func (sd *adlSide) runStart(k int) int {
	if k == 0 {
		return 0
	}
	return int(sd.ends[k-1])
}

// adlScoreClient values c at the frozen marks and adds its positions to
// their sides; its closed lines, or all its lines if it is queued, drop to
// quantile 0.
func (e *Engine) adlScoreClient(c ClientID) {
	a := &e.adlc
	nm := len(e.markets)
	base := int(c) * nm
	queued := e.clients[c].queued
	eq := e.led.Balance(ledger.USD, e.clients[c].deriv)
	for i := 0; i < nm; i++ {
		if l := &e.lines[base+i]; l.Size != 0 {
			eq += l.Unrealized(&e.markets[i].params, a.marks[i])
		}
	}
	for i := 0; i < nm; i++ {
		l := &e.lines[base+i]
		if l.Size == 0 || queued {
			e.adlQ[base+i] = 0
			continue
		}
		p := &e.markets[i].params
		s := liquidation.Score(l.Unrealized(p, a.marks[i]), l.Cost, p.Notional(l.Size, a.marks[i]), eq)
		side := 2 * i
		if l.Size < 0 {
			side++
		}
		a.sides[side].items = append(a.sides[side].items, adlEntry{score: s, c: c})
	}
}

// adlPublish publishes quantiles in rank order, side by side, until the
// work runs out or the cycle ends.
func (e *Engine) adlPublish(work int) {
	a := &e.adlc
	for ; a.side < len(a.sides); a.side++ {
		if work = e.adlPublishSide(a.side, work); work <= 0 && a.sides[a.side].done < len(a.sides[a.side].items) {
			return
		}
	}
	a.phase = adlIdle
	e.adlNext += AdlPublishEvery // adlNext held the cycle's start
}

// adlPublishSide merges one side's runs (a binary heap of runs keyed by
// their next entry; rebuilt on each call, O(runs)) and publishes up to
// work entries. It returns the work left.
func (e *Engine) adlPublishSide(s, work int) int {
	a := &e.adlc
	sd := &a.sides[s]
	h := a.heap[:0]
	for k := range sd.ends {
		if sd.pos[k] < sd.ends[k] {
			h = append(h, int32(k))
		}
	}
	less := func(x, y int32) bool { return adlBefore(sd.items[sd.pos[x]], sd.items[sd.pos[y]]) }
	for i := len(h)/2 - 1; i >= 0; i-- {
		siftDown(h, i, less)
	}
	for len(h) > 0 && work > 0 {
		k := h[0]
		en := sd.items[sd.pos[k]]
		if sd.pos[k]++; sd.pos[k] == sd.ends[k] {
			h[0] = h[len(h)-1]
			h = h[:len(h)-1]
		}
		siftDown(h, 0, less)
		if e.adlPublishOne(s, en, liquidation.Quantile(sd.done, len(sd.items))) {
			work -= adlEventWork
		}
		sd.done++
		work--
	}
	a.heap = h[:0]
	return work
}

func siftDown(h []int32, i int, less func(x, y int32) bool) {
	for {
		j := 2*i + 1
		if j >= len(h) {
			return
		}
		if j+1 < len(h) && less(h[j+1], h[j]) {
			j++
		}
		if !less(h[j], h[i]) {
			return
		}
		h[i], h[j] = h[j], h[i]
		i = j
	}
}

// adlPublishOne records one position's quantile q (side s = 2 × market +
// short) and emits EvAdlQuantile if it changed, which it reports. (The
// queue is nearly always empty: the flag is read only when it is not,
// saving a random access per position.)
func (e *Engine) adlPublishOne(s int, en adlEntry, q uint8) bool {
	mi, long := s/2, s%2 == 0
	line := int(en.c)*len(e.markets) + mi
	l := &e.lines[line]
	if l.Size == 0 || (l.Size > 0) != long || (len(e.liqQ) > 0 && e.clients[en.c].queued) {
		e.adlQ[line] = 0 // closed, flipped or in liquidation since it was scored
		return false
	}
	if e.adlQ[line] == q {
		return false
	}
	e.adlQ[line] = q
	e.emit(Event{Kind: EvAdlQuantile, Client: en.c, Market: MarketID(mi), Side: closeSide(!long), Size: l.Size,
		Quantile: q, Amount: fixed.Amount(en.score)})
	return true
}

// adlCycleFlag marks, in the encoded adlNext, that a cycle's state
// follows the published quantiles (adlNext is a time: far below 2^63).
const adlCycleFlag = uint64(1) << 63

// appendAdlCycle encodes the running cycle: u8 phase | markets × i64
// frozen mark | u32 next client | u32 side | sides × { u32 n | n × (i64
// score | u32 client) | u32 runs | runs × u32 end | u32 k | k × u32 next
// entry | u32 published }.
func (e *Engine) appendAdlCycle(dst []byte) []byte {
	a := &e.adlc
	dst = append(dst, a.phase)
	for _, m := range a.marks {
		dst = put64(dst, uint64(m))
	}
	dst = put32(dst, uint32(a.next))
	dst = put32(dst, uint32(a.side))
	for s := range a.sides {
		sd := &a.sides[s]
		dst = put32(dst, uint32(len(sd.items)))
		for _, en := range sd.items {
			dst = put64(dst, uint64(en.score))
			dst = put32(dst, uint32(en.c))
		}
		for _, v := range [][]int32{sd.ends, sd.pos} {
			dst = put32(dst, uint32(len(v)))
			for _, x := range v {
				dst = put32(dst, uint32(x))
			}
		}
		dst = put32(dst, uint32(sd.done))
	}
	return dst
}

// restoreAdlCycle decodes appendAdlCycle's bytes, bounding every count by
// the bytes left before allocating; checkAdlCycle then validates them.
func (e *Engine) restoreAdlCycle(r *reader) bool {
	a := &e.adlc
	a.phase = r.u8()
	a.marks = a.marks[:0]
	for range e.markets {
		a.marks = append(a.marks, fixed.Price(r.u64()))
	}
	a.next, a.side = int(r.u32()), int(r.u32())
	a.sides = make([]adlSide, 2*len(e.markets))
	for s := range a.sides {
		sd := &a.sides[s]
		n := int(r.u32())
		if r.err != nil || n > len(e.clients) || n > len(r.b)/12 {
			return false
		}
		sd.items = make([]adlEntry, n)
		for i := range sd.items {
			sd.items[i] = adlEntry{score: int64(r.u64()), c: ClientID(r.u32())}
		}
		for _, v := range []*[]int32{&sd.ends, &sd.pos} {
			k := int(r.u32())
			if r.err != nil || k > n || k > len(r.b)/4 {
				return false
			}
			*v = make([]int32, k)
			for i := range *v {
				(*v)[i] = int32(r.u32())
			}
		}
		sd.done = int(r.u32())
	}
	return r.err == nil && (a.phase == adlScoring || a.phase == adlPublishing) && e.checkAdlCycle() == nil
}

// checkAdlCycle verifies a running cycle's structure: each side's runs
// partition its entries, each sorted in rank order and covering a later
// client range than the one before (so no client appears twice), all
// scored clients below the scoring cursor; when publishing, each run's
// cursor lies in it and the published count is what the cursors passed.
func (e *Engine) checkAdlCycle() error {
	a := &e.adlc
	if a.phase == adlIdle {
		return nil
	}
	fail := func(msg string, v ...int) error {
		for _, x := range v {
			msg += " " + strconv.Itoa(x)
		}
		return errors.New("engine invariant: ADL cycle: " + msg)
	}
	if len(a.marks) != len(e.markets) || len(a.sides) != 2*len(e.markets) || a.next < 1 || a.next > len(e.clients) {
		return fail("shape", len(a.marks), len(a.sides), a.next)
	}
	if (a.phase == adlScoring && a.side != 0) || a.side > len(a.sides) {
		return fail("side", a.side)
	}
	for s := range a.sides {
		if err := e.checkAdlSide(s); err != nil {
			return fail(err.Error(), s)
		}
	}
	return nil
}

func (e *Engine) checkAdlSide(s int) error {
	a := &e.adlc
	sd := &a.sides[s]
	lastC := ClientID(0)
	for k := range sd.ends {
		lo, hi := sd.runStart(k), int(sd.ends[k])
		if hi <= lo || hi > len(sd.items) {
			return errors.New("run bounds")
		}
		top := ClientID(0)
		for i := lo; i < hi; i++ {
			en := sd.items[i]
			if en.c <= lastC || int(en.c) >= a.next || (i > lo && !adlBefore(sd.items[i-1], en)) {
				return errors.New("run order")
			}
			top = max(top, en.c)
		}
		lastC = top
	}
	if len(sd.items) != sd.runStart(len(sd.ends)) {
		return errors.New("entries outside runs")
	}
	if a.phase == adlScoring {
		if len(sd.pos) != 0 || sd.done != 0 {
			return errors.New("published while scoring")
		}
		return nil
	}
	passed := 0
	for k := range sd.ends {
		lo := sd.runStart(k)
		if len(sd.pos) != len(sd.ends) || int(sd.pos[k]) < lo || sd.pos[k] > sd.ends[k] {
			return errors.New("run cursor")
		}
		passed += int(sd.pos[k]) - lo
	}
	if passed != sd.done || (s < a.side && sd.done != len(sd.items)) || (s > a.side && sd.done != 0) {
		return errors.New("published count")
	}
	return nil
}
