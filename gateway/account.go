package gateway

import (
	"context"
	"net/http"
	"strconv"

	"github.com/sampan-hk/sampan/core/book"
	"github.com/sampan-hk/sampan/core/engine"
	"github.com/sampan-hk/sampan/core/fixed"
	"github.com/sampan-hk/sampan/marketdata"
	"github.com/sampan-hk/sampan/projector"
)

// usd renders a USD amount (every market settles in USD with the same
// minor unit).
func (s *Server) usd(a fixed.Amount) string { return s.specs[0].Spec.FormatAmount(a) }

type reasonJSON struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

type accountJSON struct {
	ClientID         string      `json:"client_id"`
	Classification   string      `json:"classification"`
	ClassExpires     int64       `json:"classification_expires,omitempty"`
	Knowledge        bool        `json:"derivatives_knowledge"`
	Eligible         bool        `json:"eligible"`
	Ineligible       *reasonJSON `json:"ineligible_reason,omitempty"`
	Collateral       string      `json:"collateral"`
	FinancingBalance string      `json:"financing_balance"`
	Unrealized       string      `json:"unrealized_pnl"`
	Equity           string      `json:"equity"`
	IM               string      `json:"initial_margin"`
	MM               string      `json:"maintenance_margin"`
	OrderMargin      string      `json:"order_margin"`
	Required         string      `json:"required_margin"`
	Available        string      `json:"available"`
	Liquidatable     bool        `json:"liquidatable"`
	// Liquidating: the engine is liquidating the account now (or holds it
	// in its queue while a market's index is unreliable). Withdrawals are
	// refused until it finishes.
	Liquidating bool `json:"liquidating"`
	OpenOrders  int  `json:"open_orders"`
	// Onboarding: what the client has on record and, in plain words,
	// everything still missing before it may open perpetual positions.
	Onboarding onboardingJSON `json:"onboarding"`
}

// accountView reads one client's account; ok is false for an unknown client.
func (s *Server) accountView(id engine.ClientID) (accountJSON, bool) {
	var v engine.AccountView
	var ok bool
	var onboarding onboardingJSON
	s.x.View(func(e *engine.Engine) {
		if v, ok = e.Account(id); ok {
			onboarding = onboardingOf(e, v)
		}
	})
	if !ok {
		return accountJSON{}, false
	}
	a := accountJSON{ClientID: strconv.FormatUint(uint64(id), 10), Classification: v.Class.String(), ClassExpires: v.Expiry / 1e6,
		Knowledge: v.Knowledge, Eligible: v.Eligible, Collateral: s.usd(v.Collateral), FinancingBalance: s.usd(v.Financing),
		Unrealized: s.usd(v.Unrealized), Equity: s.usd(v.Equity), IM: s.usd(v.IM), MM: s.usd(v.MM),
		OrderMargin: s.usd(v.OrderMargin), Required: s.usd(v.Required), Available: s.usd(v.Available),
		Liquidatable: v.Liquidatable, Liquidating: v.Liquidating, OpenOrders: v.OpenOrderCount}
	if !v.Eligible {
		// The engine's own gate code: the most basic gap first.
		a.Ineligible = &reasonJSON{Code: v.Gate.String(), Message: engineAnswers[v.Gate].msg}
	}
	a.Onboarding = onboarding
	return a, true
}

func (s *Server) getAccount(w http.ResponseWriter, r *http.Request, c *call) *Error {
	if e := query(r); e != nil {
		return e
	}
	a, ok := s.accountView(engine.ClientID(c.key.Account))
	if !ok {
		return engineError(engine.CodeUnknownClient)
	}
	WriteJSON(w, http.StatusOK, a)
	return nil
}

type positionJSON struct {
	Symbol     string `json:"symbol"`
	Side       string `json:"side"`
	Size       string `json:"size"`
	EntryPrice string `json:"entry_price"`
	Mark       string `json:"mark"`
	Notional   string `json:"notional"`
	Unrealized string `json:"unrealized_pnl"`
	Realized   string `json:"realized_pnl"`
	IM         string `json:"initial_margin"`
	MM         string `json:"maintenance_margin"`
	Leverage   int64  `json:"leverage"`
	LiqPrice   string `json:"liquidation_price,omitempty"`
	// AdlQuantile: 1 (last to be auto-deleveraged) to 5 (first), as the
	// engine last published it; 0 before its first ranking.
	AdlQuantile uint8 `json:"adl_quantile"`
}

func (s *Server) getPositions(w http.ResponseWriter, r *http.Request, c *call) *Error {
	if e := query(r); e != nil {
		return e
	}
	var ps []engine.PositionView
	s.x.View(func(e *engine.Engine) { ps = e.Positions(engine.ClientID(c.key.Account), nil) })
	out := make([]positionJSON, 0, len(ps))
	for _, p := range ps {
		sp := &s.specs[p.Market].Spec
		side := "long"
		if p.Size < 0 {
			side = "short"
		}
		j := positionJSON{Symbol: s.specs[p.Market].Symbol, Side: side, Size: sp.FormatQty(p.Size), EntryPrice: sp.FormatPrice(p.EntryPrice),
			Mark: sp.FormatPrice(p.Mark), Notional: sp.FormatAmount(p.Notional), Unrealized: sp.FormatAmount(p.Unrealized),
			Realized: sp.FormatAmount(p.Realized), IM: sp.FormatAmount(p.IM), MM: sp.FormatAmount(p.MM), Leverage: p.Leverage,
			AdlQuantile: p.AdlQuantile}
		if p.LiqPrice > 0 {
			j.LiqPrice = sp.FormatPrice(p.LiqPrice)
		}
		out = append(out, j)
	}
	WriteJSON(w, http.StatusOK, map[string]any{"positions": out})
	return nil
}

// getOpenOrders lists resting orders from the engine (authoritative), with
// fill details from the read model when it still holds the record.
func (s *Server) getOpenOrders(w http.ResponseWriter, r *http.Request, c *call) *Error {
	if e := query(r, "symbol"); e != nil {
		return e
	}
	only := engine.AllMarkets
	if sym := r.URL.Query().Get("symbol"); sym != "" {
		m, e := s.market(sym, "symbol")
		if e != nil {
			return e
		}
		only = m
	}
	id := engine.ClientID(c.key.Account)
	var oo []engine.OpenOrder
	s.x.View(func(e *engine.Engine) { oo = e.OpenOrders(id, nil) })
	out := make([]marketdata.OrderView, 0, len(oo))
	var older []engine.OpenOrder // resting since before the memory's records
	for _, o := range oo {
		if only != engine.AllMarkets && o.Market != only {
			continue
		}
		if v, ok := s.md.Order(id, o.Market, o.ID); ok {
			out = append(out, v)
			continue
		}
		older = append(older, o)
	}
	out = append(out, s.olderOpenOrders(r.Context(), id, older)...)
	WriteJSON(w, http.StatusOK, map[string]any{"orders": out})
	return nil
}

// olderOpenOrders renders open orders the memory holds no record of (they
// rest since before the node started, or their records were evicted): from
// the read store when there is one, folded as history is, so filled
// quantity and client_order_id are right; otherwise from the engine's
// book entry alone (its resting quantity, the name if the memory has it).
func (s *Server) olderOpenOrders(ctx context.Context, id engine.ClientID, oo []engine.OpenOrder) []marketdata.OrderView {
	if len(oo) == 0 {
		return nil
	}
	stored := map[[2]string]marketdata.OrderView{} // (symbol, order id)
	if s.history != nil && len(oo) <= projector.MaxQueryRows {
		ids := make([]book.OrderID, len(oo))
		for i, o := range oo {
			ids[i] = o.ID
		}
		if h, err := s.history.Store().OrdersByID(ctx, id, ids); err == nil {
			for _, v := range s.foldOrders(id, &h) {
				stored[[2]string{v.Symbol, v.OrderID}] = v
			}
		}
	}
	out := make([]marketdata.OrderView, 0, len(oo))
	for _, o := range oo {
		v, ok := stored[[2]string{s.specs[o.Market].Symbol, strconv.FormatUint(uint64(o.ID), 10)}]
		if ok && (v.Status == marketdata.StatusOpen || v.Status == marketdata.StatusPartiallyFilled) {
			out = append(out, v)
			continue
		}
		sp := &s.specs[o.Market].Spec
		out = append(out, marketdata.OrderView{OrderID: strconv.FormatUint(uint64(o.ID), 10),
			ClientOrderID: s.md.ClientOrderID(id, o.ClientID), Symbol: s.specs[o.Market].Symbol, Side: o.Side.String(),
			Price: sp.FormatPrice(o.Price), Qty: sp.FormatQty(o.Qty), Filled: "0", Remaining: sp.FormatQty(o.Qty),
			Status: marketdata.StatusOpen, PostOnly: o.PostOnly, ReduceOnly: o.ReduceOnly})
	}
	return out
}

// The history endpoints page newest first (history.go): ?limit, ?before
// (the previous page's next_before) and ?end_time.

func (s *Server) getOrderHistory(w http.ResponseWriter, r *http.Request, c *call) *Error {
	p, e := pageParams(r, 100, ListLimitMax)
	if e != nil {
		return e
	}
	out, next, e := s.orderHistory(r.Context(), engine.ClientID(c.key.Account), p)
	if e != nil {
		return e
	}
	WriteJSON(w, http.StatusOK, map[string]any{"orders": out, "next_before": next})
	return nil
}

func (s *Server) getFills(w http.ResponseWriter, r *http.Request, c *call) *Error {
	p, e := pageParams(r, 100, ListLimitMax)
	if e != nil {
		return e
	}
	out, next, e := s.fillHistory(r.Context(), engine.ClientID(c.key.Account), p)
	if e != nil {
		return e
	}
	WriteJSON(w, http.StatusOK, map[string]any{"fills": out, "next_before": next})
	return nil
}

func (s *Server) getFundingPayments(w http.ResponseWriter, r *http.Request, c *call) *Error {
	p, e := pageParams(r, 100, ListLimitMax)
	if e != nil {
		return e
	}
	out, next, e := s.fundingHistory(r.Context(), engine.ClientID(c.key.Account), p)
	if e != nil {
		return e
	}
	WriteJSON(w, http.StatusOK, map[string]any{"funding_payments": out, "next_before": next})
	return nil
}
