package exchange

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/sampan-hk/sampan/core/eligibility"
	"github.com/sampan-hk/sampan/core/engine"
	"github.com/sampan-hk/sampan/core/fixed"
	"github.com/sampan-hk/sampan/core/lending"
)

// This file answers "why": it renders engine state and events for one
// account as plain text, for `sampan replay --account` and for people
// reading an audit trail. It reads only; nothing here changes state.

// AccountState renders a client's account and positions.
func (m *Machine) AccountState(id string) (string, error) {
	n, err := strconv.ParseUint(id, 10, 32)
	if err != nil || n == 0 {
		return "", fmt.Errorf("account id must be a client number (1, 2, ...), got %q", id)
	}
	var out string
	var ok bool
	m.View(func(e *engine.Engine) {
		var a engine.AccountView
		a, ok = e.Account(engine.ClientID(n))
		if !ok {
			return
		}
		usd := m.usd()
		var sb strings.Builder
		fmt.Fprintf(&sb, "client %d (%s), %s, knowledge %v, eligible %v\n", a.Client, a.Ref, a.Class, a.Knowledge, a.Eligible)
		fmt.Fprintf(&sb, "  collateral %s  unrealized %s  equity %s  IM %s  MM %s  available %s  liquidatable %v\n",
			usd(a.Collateral), usd(a.Unrealized), usd(a.Equity), usd(a.IM), usd(a.MM), usd(a.Available), a.Liquidatable)
		for _, p := range e.Positions(a.Client, nil) {
			spec := &m.cfg.Markets[p.Market].Spec
			liq := "none"
			if p.LiqPrice > 0 {
				liq = spec.FormatPrice(p.LiqPrice)
			}
			fmt.Fprintf(&sb, "  %s size %s entry %s mark %s unrealized %s realized %s MM %s liquidation price %s\n",
				m.cfg.Markets[p.Market].Symbol, signedQty(spec, p.Size), spec.FormatPrice(p.EntryPrice), spec.FormatPrice(p.Mark),
				usd(p.Unrealized), usd(p.Realized), usd(p.MM), liq)
		}
		out = strings.TrimRight(sb.String(), "\n")
	})
	if !ok {
		return "", fmt.Errorf("no client %s", id)
	}
	return out, nil
}

// AccountEvents renders the events in an Apply blob that concern a client
// (as the acting client, or as the maker of a trade).
func (m *Machine) AccountEvents(events []byte, id string) []string {
	n, err := strconv.ParseUint(id, 10, 32)
	if err != nil {
		return nil
	}
	evs, err := DecodeEvents(events)
	if err != nil {
		return []string{"undecodable events: " + err.Error()}
	}
	var out []string
	for i := range evs {
		ev := &evs[i]
		maker := ev.Kind == engine.EvTrade || ev.Kind == engine.EvDeleveraged
		if ev.Client == engine.ClientID(n) || (maker && ev.MakerClient == engine.ClientID(n)) {
			out = append(out, m.FormatEvent(ev))
		}
	}
	return out
}

func (m *Machine) usd() func(fixed.Amount) string {
	return func(a fixed.Amount) string {
		return fixed.TrimDecimal(fixed.FormatDecimal(int64(a), m.cfg.Markets[0].Spec.QuoteDecimals))
	}
}

func signedQty(s *fixed.Spec, q fixed.Qty) string {
	if q < 0 {
		return "-" + s.FormatQty(-q)
	}
	return s.FormatQty(q)
}

// FormatEvent renders one event as a line of text with decimal prices and
// amounts.
func (m *Machine) FormatEvent(ev *engine.Event) string {
	usd := m.usd()
	sym, px, qty := "", func(p fixed.Price) string { return strconv.FormatInt(int64(p), 10) }, func(q fixed.Qty) string { return strconv.FormatInt(int64(q), 10) }
	if int(ev.Market) < len(m.cfg.Markets) {
		spec := &m.cfg.Markets[ev.Market].Spec
		sym = m.cfg.Markets[ev.Market].Symbol
		px = spec.FormatPrice
		qty = func(q fixed.Qty) string { return signedQty(spec, q) }
	}
	head := fmt.Sprintf("#%d %s", ev.Seq, ev.Kind)
	switch ev.Kind {
	case engine.EvDeposited, engine.EvWithdrawn:
		return fmt.Sprintf("%s client %d amount %s balance %s", head, ev.Client, usd(ev.Amount), usd(ev.Balance))
	case engine.EvOrderAccepted:
		line := fmt.Sprintf("%s client %d %s order %d %s %s @ %s", head, ev.Client, sym, ev.Order, ev.Side, qty(ev.Qty), px(ev.Price))
		if ev.Ref != "" {
			line += fmt.Sprintf(" (client_order_id %q)", ev.Ref)
		}
		return line
	case engine.EvTrade:
		return fmt.Sprintf("%s %s %s @ %s: taker client %d (order %d, %s, fee %s, realized %s) maker client %d (order %d, fee %s, realized %s)",
			head, sym, qty(ev.Qty), px(ev.Price), ev.Client, ev.Order, ev.Side, usd(ev.TakerFee), usd(ev.TakerRealized),
			ev.MakerClient, ev.MakerOrder, usd(ev.MakerFee), usd(ev.MakerRealized))
	case engine.EvOrderCancelled, engine.EvOrderExpired:
		return fmt.Sprintf("%s client %d %s order %d unfilled %s reason %s", head, ev.Client, sym, ev.Order, qty(ev.Qty), ev.Code)
	case engine.EvPosition:
		liq := "none"
		if ev.LiqPrice > 0 {
			liq = px(ev.LiqPrice)
		}
		return fmt.Sprintf("%s client %d %s size %s cost %s realized %s mark %s liquidation price %s",
			head, ev.Client, sym, qty(ev.Size), usd(ev.Cost), usd(ev.Realized), px(ev.Price), liq)
	case engine.EvMarkSet:
		return fmt.Sprintf("%s %s mark %s", head, sym, px(ev.Price))
	case engine.EvLiquidationStarted:
		return fmt.Sprintf("%s client %d: equity %s fell below maintenance margin %s at %s mark %s (collateral %s); open orders cancelled",
			head, ev.Client, usd(ev.Equity), usd(ev.Margin), sym, px(ev.Price), usd(ev.Balance))
	case engine.EvLiquidationOrder:
		return fmt.Sprintf("%s client %d %s %s %s limit %s (bankruptcy %s): filled notional %s, unfilled %s, fee %s to the insurance fund (fund %s); after: equity %s, MM %s",
			head, ev.Client, sym, ev.Side, qty(ev.Qty), px(ev.Price), px(ev.LiqPrice), usd(ev.Cost), qty(ev.Remaining), usd(ev.Amount), usd(ev.Balance), usd(ev.Equity), usd(ev.Margin))
	case engine.EvInsuranceTakeover:
		return fmt.Sprintf("%s client %d %s: insurance fund took over %s (fund side %s) at bankruptcy price %s; fund loss at mark %s, client realized %s, fund %s",
			head, ev.Client, sym, qty(ev.Qty), ev.Side, px(ev.Price), usd(ev.Amount), usd(ev.Realized), usd(ev.Balance))
	case engine.EvInsuranceFund:
		return fmt.Sprintf("%s insurance fund %s (reason %d, client %d), balance %s", head, usd(ev.Amount), ev.Flags, ev.Client, usd(ev.Balance))
	case engine.EvDeleveraged:
		return fmt.Sprintf("%s %s auto-deleveraging: client %d (%s, quantile %d) closed %s at bankruptcy price %s against liquidated client %d; realized %s / %s",
			head, sym, ev.Client, ev.Side, ev.Quantile, qty(ev.Qty), px(ev.Price), ev.MakerClient, usd(ev.TakerRealized), usd(ev.MakerRealized))
	case engine.EvLiquidationFinished:
		how := "closed out"
		if ev.Flag {
			how = "margin restored"
		}
		return fmt.Sprintf("%s client %d liquidation finished: %s; equity %s, MM %s, collateral %s", head, ev.Client, how, usd(ev.Equity), usd(ev.Margin), usd(ev.Balance))
	case engine.EvAdlQuantile:
		return fmt.Sprintf("%s client %d %s %s position %s: ADL queue quantile %d", head, ev.Client, sym, ev.Side, qty(ev.Size), ev.Quantile)
	case engine.EvFinancing, engine.EvSecuritySale:
		return head + " " + m.financingLine(ev)
	case engine.EvEligibility:
		return head + " " + eligibilityLine(ev)
	case engine.EvCloseOutOrder:
		return fmt.Sprintf("%s client %d %s close-out step %d: sell %s at %s, unfilled %s, proceeds %s",
			head, ev.Client, sym, ev.Flags, qty(ev.Qty), px(ev.Price), qty(ev.Remaining), usd(ev.Amount))
	}
	return fmt.Sprintf("%s client %d market %s price %s qty %s amount %s code %s", head, ev.Client, sym, px(ev.Price), qty(ev.Qty), usd(ev.Amount), ev.Code)
}

// financingLine renders a lending event with asset codes and decimal
// amounts (quantities in the asset's units, money in the currency's,
// debit, lending value and shortfall in the base currency).
func (m *Machine) financingLine(ev *engine.Event) string {
	f := ev.Fin
	var asset, ccy, base lending.Asset
	m.View(func(e *engine.Engine) {
		if b := e.Financing(); b != nil {
			asset, ccy, base = b.Asset(f.Asset), b.Asset(f.Currency), b.Asset(lending.BaseAsset)
		}
	})
	dec := func(a fixed.Amount, as lending.Asset) string {
		return fixed.TrimDecimal(fixed.FormatDecimal(int64(a), as.Decimals)) + " " + as.Code
	}
	var sb strings.Builder
	fmt.Fprintf(&sb, "client %d financing %s", ev.Client, f.Kind)
	if f.Qty != 0 {
		fmt.Fprintf(&sb, " %s", dec(f.Qty, asset))
	} else if asset.Code != "" && f.Amount != 0 {
		ccy = asset // loan events: Amount is in Asset (the loan currency)
	}
	if f.Amount != 0 {
		fmt.Fprintf(&sb, " amount %s", dec(f.Amount, ccy))
	}
	if f.Step != 0 {
		fmt.Fprintf(&sb, " close-out step %s", f.Step)
	}
	fmt.Fprintf(&sb, "; after: debit %s, lending value %s", dec(f.Debit, base), dec(f.Lending, base))
	if f.Short != 0 {
		fmt.Fprintf(&sb, ", shortfall %s", dec(f.Short, base))
	}
	if f.Deadline != 0 {
		fmt.Fprintf(&sb, ", deadline %s", time.Unix(0, f.Deadline).UTC().Format(time.RFC3339))
	}
	return sb.String()
}

// eligibilityLine renders an onboarding record: only the fields its kind
// sets.
func eligibilityLine(ev *engine.Event) string {
	if ev.Gov == nil {
		return fmt.Sprintf("client %d eligibility", ev.Client)
	}
	r := ev.Gov.Elig
	if r == nil { // decoded from the log: the record is in the audit payload
		d, err := eligibility.DecodeEvent(ev.Gov.Audit)
		if err != nil {
			return fmt.Sprintf("client %d eligibility (%v)", ev.Client, err)
		}
		r = &d
	}
	var sb strings.Builder
	fmt.Fprintf(&sb, "client %d %s", ev.Client, r.Kind)
	hk := time.FixedZone("HKT", eligibility.HKOffsetSeconds)
	day := func(ns int64) string { return time.Unix(0, ns).In(hk).Format(time.DateOnly) } // dates are Hong Kong days
	hkd := func(a fixed.Amount) string { return "HK$" + fixed.TrimDecimal(fixed.FormatDecimal(int64(a), 2)) }
	if r.Class != 0 || r.Evidence != 0 {
		fmt.Fprintf(&sb, " class %s evidence %s", r.Class, r.Evidence)
	}
	if r.EvidenceDate != 0 {
		fmt.Fprintf(&sb, " dated %s", day(r.EvidenceDate))
	}
	if r.Portfolio != 0 {
		fmt.Fprintf(&sb, " portfolio %s", hkd(r.Portfolio))
	}
	if r.TotalAssets != 0 {
		fmt.Fprintf(&sb, " total assets %s", hkd(r.TotalAssets))
	}
	if r.Expiry != 0 {
		fmt.Fprintf(&sb, " expires %s", day(r.Expiry))
	}
	if r.Trades != 0 || r.Basis != 0 {
		fmt.Fprintf(&sb, " knowledge basis %s (%d trades)", r.Basis, r.Trades)
	}
	if r.Version != 0 {
		fmt.Fprintf(&sb, " disclosure v%d", r.Version)
	}
	if r.Operator != "" {
		fmt.Fprintf(&sb, " by %s", r.Operator)
	}
	if r.Reference != "" {
		fmt.Fprintf(&sb, " ref %q", r.Reference)
	}
	return sb.String()
}
