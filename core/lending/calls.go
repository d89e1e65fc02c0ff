package lending

import (
	"github.com/sampan-hk/sampan/core/fixed"
)

// Evaluate re-evaluates every client at engine time now (Tick does this
// too): margin calls opened, cured, reminded, close-outs triggered.
func (b *Book) Evaluate(now int64) Outcome {
	b.clock(now)
	var out Outcome
	b.evaluateAll(&out, now)
	return out
}

func (b *Book) evaluateAll(out *Outcome, now int64) {
	for _, id := range b.order {
		b.evaluate(out, b.client(id), now)
	}
}

// evaluate applies the margin-call rules to one client:
//
//   - debit > lending value and no call open: open a call with deadline
//     now + CallDeadline (new advances, purchases and withdrawals stop);
//   - call open and shortfall gone: the call is cured (close-out ends);
//   - call open: a reminder every CallReminder;
//   - call open and (now ≥ deadline or debit ≥ HardTrigger × lending value):
//     close-out starts. The hard trigger needs no prior call: a client can
//     go from no call to close-out in one evaluation.
//
// Every operation ends by evaluating the clients it touched, so after any
// operation a call is open exactly when the client has a shortfall.
func (b *Book) evaluate(out *Outcome, c *Client, now int64) {
	p := b.position(c)
	v := b.valuate(&p, nil)
	short := v.Shortfall()
	cc := &c.call
	if short == 0 {
		if cc.Open {
			*cc = Call{}
			b.emit(out, Event{Kind: EvMarginCallCured, Time: now, Client: c.id, Debit: v.Debit, Lending: v.Lending})
		}
		return
	}
	if !cc.Open {
		*cc = Call{Open: true, OpenedAt: now, Deadline: now + b.params.CallDeadline, LastNotice: now}
		b.emit(out, Event{Kind: EvMarginCallOpened, Time: now, Client: c.id, Debit: v.Debit, Lending: v.Lending,
			Short: short, Deadline: cc.Deadline})
	} else if now-cc.LastNotice >= b.params.CallReminder {
		cc.LastNotice = now
		b.emit(out, Event{Kind: EvMarginCallReminder, Time: now, Client: c.id, Debit: v.Debit, Lending: v.Lending,
			Short: short, Deadline: cc.Deadline})
	}
	if cc.ClosingOut {
		return
	}
	var t Trigger
	switch {
	case v.Debit >= fixed.MustApplyRate(v.Lending, b.params.HardTrigger, fixed.Ceil):
		// debit ≥ L × 130% ⇔ debit ≥ ⌈L × 130%⌉ because debit is an integer.
		t = TriggerHard
	case now >= cc.Deadline:
		t = TriggerDeadline
	default:
		return
	}
	cc.ClosingOut, cc.Trigger = true, t
	b.emit(out, Event{Kind: EvCloseOutStarted, Time: now, Client: c.id, Debit: v.Debit, Lending: v.Lending,
		Short: short, Deadline: cc.Deadline, Trigger: t})
}

// ClosingOut returns the clients whose close-out is in progress, ascending:
// the engine asks CloseOutPlan for each after every command.
func (b *Book) ClosingOut() []ClientID {
	var ids []ClientID
	for _, id := range b.order {
		if b.clients[id].call.ClosingOut {
			ids = append(ids, id)
		}
	}
	return ids
}

// FirmView is the firm-wide picture for limits and KRIs (R6, R34).
type FirmView struct {
	Capital        fixed.Amount
	TotalDebit     fixed.Amount // Σ client debit here + other accounts
	Multiple       fixed.Ppm    // TotalDebit / Capital (⌈⌉, ppm; 5× = 5_000_000)
	Lending        fixed.Amount // Σ client lending value
	CapitalLending fixed.Amount // Σ lending value with VA at a 100% haircut (capital view)
	CapitalShort   fixed.Amount // Σ max(0, debit − capital-view lending value)
	UnderCall      int          // clients with an open margin call
	ClosingOut     int
}

// Firm computes the firm view.
func (b *Book) Firm() FirmView {
	fv := FirmView{Capital: b.capital}
	for _, id := range b.order {
		c := b.clients[id]
		p := b.position(c)
		v := b.valuate(&p, nil)
		fv.TotalDebit += v.Debit + c.other
		fv.Lending += v.Lending
		fv.CapitalLending += v.CapitalLending
		if v.Debit > v.CapitalLending {
			fv.CapitalShort += v.Debit - v.CapitalLending
		}
		if c.call.Open {
			fv.UnderCall++
		}
		if c.call.ClosingOut {
			fv.ClosingOut++
		}
	}
	if b.capital > 0 {
		fv.Multiple = fixed.Ppm(fixed.MustMulDiv(int64(fv.TotalDebit), int64(fixed.PpmOne), int64(b.capital), fixed.Ceil))
	}
	return fv
}

// CloseOutStep is the documented order in which a close-out sells.
type CloseOutStep uint8

// Close-out steps, in order.
const (
	StepFinancedVA CloseOutStep = iota + 1 // VA bought with the loan (ETH, then BTC)
	StepETH                                // the rest of the ETH collateral
	StepBTC                                // the rest of the BTC collateral
	StepSecurity                           // securities, riskiest (highest haircut) first
)

func (s CloseOutStep) String() string {
	switch s {
	case 0:
		return "none"
	case StepFinancedVA:
		return "financed_va"
	case StepETH:
		return "eth"
	case StepBTC:
		return "btc"
	case StepSecurity:
		return "security"
	}
	return "step?"
}

// SellInstruction is one order of a close-out plan, for the engine to send
// through the spot book (IOC, never below WorstPrice).
type SellInstruction struct {
	Step       CloseOutStep
	Asset      AssetID
	Qty        fixed.Amount // minor units, a multiple of the asset's lot
	Currency   AssetID      // the proceeds' currency (the asset's quote)
	IndexPrice int64        // quote minor units per whole unit (the valuation price)
	WorstPrice int64        // ⌈index × (1 − PriceProtection)⌉: lowest acceptable fill price
	Cure       fixed.Amount // conservative estimate of the shortfall removed, base minor units
}

// CloseOutPlan returns the ordered sales that cover a closing-out client's
// shortfall plus CloseOutBuffer × debit, assuming every fill at the worst
// price. It changes nothing. Selling q of an asset removes
// (proceeds repaying the loan) + (proceeds kept as cash × (1 − cash haircut))
// − (q's lending value) from the shortfall; each instruction is the smallest
// whole number of lots whose conservative cure reaches what is still
// uncovered, or everything available at that step. Unpriced assets and
// assets whose sale cannot reduce the shortfall are skipped. If the plan
// runs out of collateral, it sells all there is; the engine re-plans after
// applying the fills (the call stays open while a shortfall remains).
func (b *Book) CloseOutPlan(id ClientID) ([]SellInstruction, Reason) {
	c := b.client(id)
	if c == nil {
		return nil, ReasonUnknownClient
	}
	if !c.call.ClosingOut {
		return nil, ReasonNoCloseOut
	}
	p := b.position(c)
	v := b.valuate(&p, nil)
	need := v.Shortfall() + fixed.MustApplyRate(v.Debit, b.params.CloseOutBuffer, fixed.Ceil)
	room := append([]fixed.Amount(nil), p.balance...) // loan left to repay, per currency
	avail := append([]fixed.Amount(nil), c.hold...)

	type cand struct {
		step  CloseOutStep
		asset AssetID
		qty   fixed.Amount
	}
	var cands []cand
	eth, hasETH := b.byCode["ETH"]
	btc, hasBTC := b.byCode["BTC"]
	vas := make([]AssetID, 0, 2)
	if hasETH {
		vas = append(vas, eth)
	}
	if hasBTC {
		vas = append(vas, btc)
	}
	for _, a := range vas {
		if f := min(c.financed[a], c.hold[a]); f > 0 {
			cands = append(cands, cand{StepFinancedVA, a, f})
		}
	}
	if hasETH {
		cands = append(cands, cand{StepETH, eth, -1})
	}
	if hasBTC {
		cands = append(cands, cand{StepBTC, btc, -1})
	}
	// Securities, riskiest first: highest haircut (ineligible counts as
	// 100%), then lowest asset id for a deterministic tie-break.
	var secs []AssetID
	for i, q := range c.hold {
		if q > 0 && b.assets[i].Kind == Security {
			secs = append(secs, AssetID(i))
		}
	}
	risk := func(a AssetID) fixed.Ppm {
		if !b.coll[a].Eligible {
			return fixed.PpmOne
		}
		return b.coll[a].Haircut
	}
	for i := 1; i < len(secs); i++ { // insertion sort: stable and map-free
		for j := i; j > 0 && risk(secs[j]) > risk(secs[j-1]); j-- {
			secs[j], secs[j-1] = secs[j-1], secs[j]
		}
	}
	for _, a := range secs {
		cands = append(cands, cand{StepSecurity, a, -1})
	}

	var plan []SellInstruction
	for _, cd := range cands {
		if need <= 0 {
			break
		}
		a := cd.asset
		qty := avail[a]
		if cd.qty >= 0 {
			qty = min(qty, cd.qty)
		}
		lot := b.assets[a].Lot
		lots := int64(qty / lot)
		if lots == 0 || !b.priced(a) {
			continue
		}
		s := b.saleModel(a, room)
		// If keeping proceeds as cash does not beat the lending value given
		// up, sell no more than the loan the proceeds can repay.
		if s.cashGain <= 0 {
			lots = min(lots, s.repayLots(lot))
		}
		if lots == 0 || s.cure(lot) <= 0 {
			continue
		}
		// Smallest lots with cure ≥ need; cure is increasing in lots here.
		n := lots
		if s.cure(fixed.Amount(lots)*lot) >= need {
			lo, hi := int64(1), lots
			for lo < hi {
				mid := lo + (hi-lo)/2
				if s.cure(fixed.Amount(mid)*lot) >= need {
					hi = mid
				} else {
					lo = mid + 1
				}
			}
			n = lo
		}
		q := fixed.Amount(n) * lot
		cure := s.cure(q)
		proceeds := s.proceeds(q)
		room[s.ccy] -= min(room[s.ccy], proceeds)
		avail[a] -= q
		need -= cure
		plan = append(plan, SellInstruction{Step: cd.step, Asset: a, Qty: q, Currency: s.ccy,
			IndexPrice: s.index, WorstPrice: s.worst, Cure: cure})
	}
	return plan, ReasonOK
}

// saleModel prices the conservative effect of selling an asset.
type saleModel struct {
	b        *Book
	asset    AssetID
	ccy      AssetID
	index    int64
	worst    int64
	room     fixed.Amount // loan in ccy the proceeds can repay
	cashGain int64        // sign of (worst × (1 − cash haircut) − index × (1 − haircut)) per unit
}

func (b *Book) saleModel(a AssetID, room []fixed.Amount) saleModel {
	idx := b.prices[a].Value
	worst := fixed.MustMulDiv(idx, int64(fixed.PpmOne-b.params.PriceProtection), int64(fixed.PpmOne), fixed.Ceil)
	s := saleModel{b: b, asset: a, ccy: b.assets[a].Quote, index: idx, worst: worst}
	s.room = room[s.ccy]
	unit := fixed.Amount(fixed.Pow10(b.assets[a].Decimals))
	s.cashGain = int64(s.cashValue(b.value(a, unit, worst, fixed.Floor)) - s.lvLoss(unit))
	return s
}

func (s *saleModel) proceeds(q fixed.Amount) fixed.Amount {
	return fixed.Amount(fixed.MustMulDiv(int64(q), s.worst, fixed.Pow10(s.b.assets[s.asset].Decimals), fixed.Floor))
}

// cashValue is the lending value, in base, of base-valued proceeds kept as cash.
func (s *saleModel) cashValue(base fixed.Amount) fixed.Amount {
	if !s.b.coll[s.ccy].Eligible {
		return 0
	}
	return fixed.MustApplyRate(base, fixed.PpmOne-s.b.coll[s.ccy].Haircut, fixed.Floor)
}

func (s *saleModel) lvLoss(q fixed.Amount) fixed.Amount {
	if !s.b.coll[s.asset].Eligible {
		return 0
	}
	mv := s.b.value(s.asset, q, s.index, fixed.Ceil)
	return fixed.MustApplyRate(mv, fixed.PpmOne-s.b.coll[s.asset].Haircut, fixed.Ceil)
}

// cure is the shortfall removed by selling q at the worst price, rounded
// against the client at every step.
func (s *saleModel) cure(q fixed.Amount) fixed.Amount {
	p := s.proceeds(q)
	repay := min(p, s.room)
	cash := p - repay
	fx := s.b.prices[s.ccy].Value
	dec := fixed.Pow10(s.b.assets[s.ccy].Decimals)
	repayBase := fixed.Amount(fixed.MustMulDiv(int64(repay), fx, dec, fixed.Floor))
	cashBase := s.cashValue(fixed.Amount(fixed.MustMulDiv(int64(cash), fx, dec, fixed.Floor)))
	return repayBase + cashBase - s.lvLoss(q)
}

// repayLots is how many lots' proceeds fit in the loan room (at least one
// lot if any room is left, so a small loan can still be cleared).
func (s *saleModel) repayLots(lot fixed.Amount) int64 {
	if s.room <= 0 {
		return 0
	}
	perLot := s.proceeds(lot)
	if perLot <= 0 {
		return 0
	}
	return int64((s.room + perLot - 1) / perLot)
}
