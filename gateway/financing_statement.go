package gateway

import (
	"net/http"
	"strconv"

	"github.com/sampan-hk/sampan/core/engine"
	"github.com/sampan-hk/sampan/core/fixed"
	"github.com/sampan-hk/sampan/core/lending"
	"github.com/sampan-hk/sampan/marketdata"
)

// A client's margin-financing statement: its financing events, newest
// first, paged by seq: the read model (marketdata) answers the newest entries
// since the node started, the read store the older ones (history.go).

type statementJSON struct {
	Seq      uint64 `json:"seq"`
	Time     string `json:"time"`
	Kind     string `json:"kind"`
	Asset    string `json:"asset,omitempty"`
	Qty      string `json:"qty,omitempty"`
	Amount   string `json:"amount,omitempty"`
	Currency string `json:"currency,omitempty"` // the currency of amount
	Step     string `json:"step,omitempty"`     // close-out step: financed_va, eth, btc, security
	Text     string `json:"text"`
}

func (s *Server) getFinStatement(w http.ResponseWriter, r *http.Request, c *call) *Error {
	p, e := pageParams(r, 100, StatementLimitMax)
	if e != nil {
		return e
	}
	var reg registry
	var enabled bool
	s.x.View(func(en *engine.Engine) {
		if b := en.Financing(); b != nil {
			reg, enabled = registryOf(b), true
		}
	})
	if !enabled {
		return engineError(engine.CodeFinancingDisabled)
	}
	entries, next, e := s.statementHistory(r.Context(), engine.ClientID(c.key.Account), p)
	if e != nil {
		return e
	}
	out := make([]statementJSON, 0, len(entries))
	for i := range entries {
		out = append(out, s.statementOf(&reg, &entries[i]))
	}
	WriteJSON(w, http.StatusOK, map[string]any{"entries": out, "next_before": next})
	return nil
}

func (s *Server) statementOf(reg *registry, en *marketdata.StatementEntry) statementJSON {
	j := statementJSON{Seq: en.Seq, Time: rfc3339(en.Time)}
	if en.Step != 0 {
		j.Step = en.Step.String()
	}
	switch en.Kind {
	case engine.EvCloseOutOrder:
		return s.closeOutOrderOf(j, en)
	case engine.EvSecuritySale:
		f := &en.Fin
		j.Kind, j.Asset, j.Qty, j.Currency = "security_sale_instruction", reg.code(f.Asset), reg.qty(f.Asset, f.Qty), reg.code(f.Currency)
		j.Amount = reg.qty(f.Currency, f.Amount)
		j.Text = "Close-out: sell " + j.Qty + " " + j.Asset + " on its exchange at no less than " + j.Amount + " " + j.Currency + " each (an operator executes and books it)"
		return j
	}
	return finEventOf(reg, j, &en.Fin)
}

func (s *Server) closeOutOrderOf(j statementJSON, en *marketdata.StatementEntry) statementJSON {
	j.Kind = "close_out_order"
	if int(en.Market) >= len(s.specs) {
		return j
	}
	m := &s.specs[en.Market]
	sp := &m.Spec
	filled := fixed.Qty(en.Qty - en.Remaining)
	j.Asset, j.Qty, j.Currency = m.Base, sp.FormatQty(filled), m.Quote
	j.Amount = fixed.TrimDecimal(fixed.FormatDecimal(en.Amount, sp.QuoteDecimals))
	j.Text = "Close-out: IOC sell of " + sp.FormatQty(fixed.Qty(en.Qty)) + " " + m.Base + " on " + m.Symbol + " at no less than " +
		sp.FormatPrice(fixed.Price(en.Price)) + "; filled " + j.Qty + " for " + j.Amount + " " + m.Quote
	if en.Code != engine.OK {
		j.Text += " (" + en.Code.String() + ")"
	}
	return j
}

// finEventOf renders one lending event: what moved, in which currency, and
// a sentence for the statement.
func finEventOf(reg *registry, j statementJSON, f *lending.Event) statementJSON {
	j.Kind = f.Kind.String()
	asset := reg.code(f.Asset)
	switch f.Kind {
	case lending.EvDeposited, lending.EvWithdrawn:
		j.Asset, j.Qty = asset, reg.qty(f.Asset, f.Qty)
		j.Text = map[bool]string{true: "Deposited ", false: "Withdrew "}[f.Kind == lending.EvDeposited] + j.Qty + " " + asset
	case lending.EvAdvanced, lending.EvRepaid, lending.EvInterestPosted:
		j.Asset, j.Amount, j.Currency = asset, reg.qty(f.Asset, f.Amount), asset
		j.Text = map[lending.EventKind]string{lending.EvAdvanced: "Loan drawn: ", lending.EvRepaid: "Loan repaid: ",
			lending.EvInterestPosted: "Interest posted to the loan: "}[f.Kind] + j.Amount + " " + asset
	case lending.EvInterestAccrued:
		j.Asset, j.Currency = asset, asset
		j.Amount = fineAmount(reg, f.Asset, f.Fine)
		j.Text = "Interest accrued for the day: " + j.Amount + " " + asset + " (posted on the first of the month)"
	case lending.EvBought, lending.EvSold:
		ccy := reg.code(f.Currency)
		j.Asset, j.Qty, j.Amount, j.Currency = asset, reg.qty(f.Asset, f.Qty), reg.qty(f.Currency, f.Amount), ccy
		verb := map[bool]string{true: "Bought ", false: "Sold "}[f.Kind == lending.EvBought]
		j.Text = verb + j.Qty + " " + asset + " for " + j.Amount + " " + ccy
	case lending.EvMarginCallOpened, lending.EvMarginCallReminder:
		j.Amount, j.Currency = reg.hkd(f.Short), reg.code(lending.BaseAsset)
		j.Text = "Margin call: shortfall " + j.Amount + " " + j.Currency + " (debit " + reg.hkd(f.Debit) + ", lending value " +
			reg.hkd(f.Lending) + "); cure by " + rfc3339(f.Deadline) + " by depositing collateral or repaying"
	case lending.EvMarginCallCured:
		j.Text = "Margin call cured: debit " + reg.hkd(f.Debit) + " ≤ lending value " + reg.hkd(f.Lending) + " HKD"
	case lending.EvCloseOutStarted:
		j.Amount, j.Currency = reg.hkd(f.Short), reg.code(lending.BaseAsset)
		j.Text = "Close-out started (" + triggerText(reg, f.Trigger) + "): collateral is sold in the disclosed order"
	case lending.EvAssessmentSet:
		j.Amount, j.Currency = reg.hkd(f.Base), reg.code(lending.BaseAsset)
		j.Text = "Credit assessment recorded: limit " + j.Amount + " HKD"
	default:
		j.Text = j.Kind
	}
	return j
}

func triggerText(reg *registry, t lending.Trigger) string {
	if t == lending.TriggerHard {
		return "debit reached " + strconv.FormatInt(int64(reg.params.HardTrigger)/10_000, 10) + "% of lending value"
	}
	return "the call's deadline passed"
}

// fineAmount renders millionths of a minor unit as a decimal of the asset.
func fineAmount(reg *registry, a lending.AssetID, fine int64) string {
	dec := 0
	if int(a) < len(reg.assets) {
		dec = reg.assets[a].Decimals
	}
	return fixed.TrimDecimal(fixed.FormatDecimal(fine, dec+6))
}
