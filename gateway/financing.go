package gateway

import (
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/sampan-hk/sampan/core/engine"
	"github.com/sampan-hk/sampan/core/fixed"
	"github.com/sampan-hk/sampan/core/lending"
)

// Margin financing over the API (docs/api.md, docs/margin-financing.md
// "Over the API"): a client's financing account, statement, withdrawals and
// transfers here; the operators' side in financing_admin.go. Every figure
// comes from the engine's financing queries (core/engine/finquery.go) read
// inside one exchange.View, so a response is one consistent state.
// Amounts are decimal strings in the asset's own decimals; *_hkd figures
// are in the base currency (HKD); times are RFC 3339 UTC.

// CodeNotPerpetual answers a perpetual-only endpoint (mark, funding) asked
// about a spot market.
const CodeNotPerpetual Code = "NOT_A_PERPETUAL"

// StatementLimitMax bounds ?limit on the statement (the read model keeps
// marketdata.DefaultStatementMax entries per client).
const StatementLimitMax = 500

// rfc3339 renders engine time (unix ns) for the financing API; 0 is "".
func rfc3339(ns int64) string {
	if ns == 0 {
		return ""
	}
	return time.Unix(0, ns).UTC().Format(time.RFC3339)
}

// registry formats lending amounts with the engine's asset registry. It is
// a copy taken inside a View, so it may be used after the View returns.
type registry struct {
	assets []lending.Asset
	params lending.Params
}

func registryOf(b *lending.Book) registry {
	r := registry{assets: make([]lending.Asset, b.Assets()), params: b.Params()}
	for i := range r.assets {
		r.assets[i] = b.Asset(lending.AssetID(i))
	}
	return r
}

func (r *registry) code(a lending.AssetID) string {
	if int(a) < len(r.assets) {
		return r.assets[a].Code
	}
	return ""
}

// qty formats minor units of asset a as a trimmed decimal ("0.1").
func (r *registry) qty(a lending.AssetID, v fixed.Amount) string {
	if int(a) >= len(r.assets) {
		return strconv.FormatInt(int64(v), 10)
	}
	return fixed.TrimDecimal(fixed.FormatDecimal(int64(v), r.assets[a].Decimals))
}

// hkd formats a base-currency amount.
func (r *registry) hkd(v fixed.Amount) string { return r.qty(lending.BaseAsset, v) }

// price formats a price of asset a (quote minor units per whole unit).
func (r *registry) price(a lending.AssetID, p int64) (string, string) {
	q := r.assets[a].Quote
	return r.qty(q, fixed.Amount(p)), r.code(q)
}

// toBase converts an amount of currency ccy to base, rounding up (a debit),
// as the lending book does.
func (r *registry) toBase(b *lending.Book, ccy lending.AssetID, v fixed.Amount) fixed.Amount {
	if ccy == lending.BaseAsset || v == 0 {
		return v
	}
	px, ok := b.Price(ccy)
	if !ok {
		return 0
	}
	d, err := fixed.MulDiv(int64(v), px, pow10(r.assets[ccy].Decimals), fixed.Ceil)
	if err != nil {
		return 0
	}
	return fixed.Amount(d)
}

func pow10(n int) int64 {
	p := int64(1)
	for ; n > 0; n-- {
		p *= 10
	}
	return p
}

type finHoldingJSON struct {
	Asset        string `json:"asset"`
	Kind         string `json:"kind"`
	Qty          string `json:"qty"`
	Financed     string `json:"financed"`
	Reserved     string `json:"reserved"`
	Price        string `json:"price,omitempty"` // omitted while the asset has no price (it is then worth nothing)
	PriceCcy     string `json:"price_ccy,omitempty"`
	Eligible     bool   `json:"eligible"`
	HaircutPpm   int64  `json:"haircut_ppm"`
	LendingValue string `json:"lending_value_hkd"`
}

type finLoanJSON struct {
	Currency string `json:"currency"`
	Balance  string `json:"balance"`
	Accrued  string `json:"accrued_interest"` // accrued, not yet posted, rounded up to a minor unit
	DebitHKD string `json:"debit_hkd"`
}

type finCreditJSON struct {
	Assessed   bool   `json:"assessed"`
	Approved   bool   `json:"approved"`
	Expired    bool   `json:"expired"`
	Grade      string `json:"grade,omitempty"`
	LimitHKD   string `json:"limit_hkd,omitempty"`
	Approver   string `json:"approver,omitempty"`
	AssessedAt string `json:"assessed_at,omitempty"`
	NextReview string `json:"next_review,omitempty"`
}

type finCallJSON struct {
	State       string `json:"state"` // none, open, closing_out
	Shortfall   string `json:"shortfall_hkd"`
	OpenedAt    string `json:"opened_at,omitempty"`
	Deadline    string `json:"deadline,omitempty"`
	SecondsLeft *int64 `json:"seconds_left,omitempty"`
	Trigger     string `json:"trigger,omitempty"` // deadline, hard_130 (the hard trigger's percentage)
}

type financingJSON struct {
	ClientID       string           `json:"client_id"`
	Base           string           `json:"base"`
	AsOf           string           `json:"as_of"`
	Holdings       []finHoldingJSON `json:"holdings"`
	Loans          []finLoanJSON    `json:"loans"`
	MarketValue    string           `json:"market_value_hkd"`
	Lending        string           `json:"lending_value_hkd"`
	CapitalLending string           `json:"capital_view_lending_value_hkd"`
	Debit          string           `json:"debit_hkd"`
	Shortfall      string           `json:"shortfall_hkd"`
	Borrowable     string           `json:"borrowable_hkd"`
	Credit         finCreditJSON    `json:"credit"`
	Call           finCallJSON      `json:"call"`
}

func (s *Server) getFinancing(w http.ResponseWriter, r *http.Request, c *call) *Error {
	if e := query(r); e != nil {
		return e
	}
	var out financingJSON
	var e *Error
	// Loans are converted with the book's FX prices, so the rendering runs
	// inside a View too.
	s.x.View(func(en *engine.Engine) { out, e = financingOf(en, engine.ClientID(c.key.Account)) })
	if e != nil {
		return e
	}
	WriteJSON(w, http.StatusOK, out)
	return nil
}

// financingOf renders a client's financing account; call inside a View.
func financingOf(en *engine.Engine, id engine.ClientID) (financingJSON, *Error) {
	b := en.Financing()
	if b == nil {
		return financingJSON{}, engineError(engine.CodeFinancingDisabled)
	}
	v, ok := en.FinancingAccount(id)
	if !ok {
		return financingJSON{}, engineError(engine.CodeUnknownClient)
	}
	reg, now := registryOf(b), en.Now()
	val := &v.Valuation
	out := financingJSON{ClientID: strconv.FormatUint(uint64(id), 10), Base: reg.code(lending.BaseAsset), AsOf: rfc3339(now),
		Holdings: make([]finHoldingJSON, 0, len(v.Holdings)), Loans: make([]finLoanJSON, 0, len(v.Loans)),
		MarketValue: reg.hkd(val.MarketValue), Lending: reg.hkd(val.Lending), CapitalLending: reg.hkd(val.CapitalLending),
		Debit: reg.hkd(val.Debit), Shortfall: reg.hkd(v.Shortfall), Borrowable: reg.hkd(borrowable(&v, now)),
		Credit: creditOf(&reg, &v, now), Call: callOf(&reg, v.Call, v.Shortfall, now)}
	for _, h := range v.Holdings {
		j := finHoldingJSON{Asset: h.Code, Kind: h.Kind.String(), Qty: reg.qty(h.Asset, h.Qty), Financed: reg.qty(h.Asset, h.Financed),
			Reserved: reg.qty(h.Asset, h.Reserved), Eligible: h.Eligible, HaircutPpm: int64(h.Haircut),
			LendingValue: reg.hkd(h.LendingValue)}
		if h.Priced {
			j.Price, j.PriceCcy = reg.price(h.Asset, h.Price)
		}
		out.Holdings = append(out.Holdings, j)
	}
	for _, l := range v.Loans {
		out.Loans = append(out.Loans, finLoanJSON{Currency: l.Code, Balance: reg.qty(l.Currency, l.Balance),
			Accrued: reg.qty(l.Currency, l.Owed-l.Balance), DebitHKD: reg.hkd(reg.toBase(b, l.Currency, l.Owed))})
	}
	return out, nil
}

// borrowable is the min(credit limit − debit, lending value −
// debit), floored at zero, and zero while borrowing is barred (no valid
// approved assessment, or a call open). It is the cash the client could
// draw; a margin purchase can go further because the asset bought adds
// lending value at its haircut (the engine's check uses the post-trade
// position, docs/margin-financing.md §4).
func borrowable(v *engine.FinancingView, now int64) fixed.Amount {
	a := &v.Assessment
	if !v.Assessed || !a.Approved || now >= a.NextReview || v.Call.Open {
		return 0
	}
	room := min(a.Limit-v.Valuation.Debit, v.Valuation.Lending-v.Valuation.Debit)
	return max(room, 0)
}

func creditOf(reg *registry, v *engine.FinancingView, now int64) finCreditJSON {
	if !v.Assessed {
		return finCreditJSON{}
	}
	a := &v.Assessment
	return finCreditJSON{Assessed: true, Approved: a.Approved, Expired: now >= a.NextReview, Grade: a.Grade,
		LimitHKD: reg.hkd(a.Limit), Approver: a.Approver, AssessedAt: rfc3339(a.AssessedAt), NextReview: rfc3339(a.NextReview)}
}

func callState(c lending.Call) string {
	switch {
	case c.ClosingOut:
		return "closing_out"
	case c.Open:
		return "open"
	}
	return "none"
}

// secondsLeft is the whole seconds from now to the deadline, never negative.
func secondsLeft(deadline, now int64) *int64 {
	n := max((deadline-now)/1e9, 0)
	return &n
}

func callOf(reg *registry, c lending.Call, short fixed.Amount, now int64) finCallJSON {
	j := finCallJSON{State: callState(c), Shortfall: reg.hkd(short)}
	if !c.Open && !c.ClosingOut {
		return j
	}
	j.OpenedAt, j.Deadline, j.SecondsLeft = rfc3339(c.OpenedAt), rfc3339(c.Deadline), secondsLeft(c.Deadline, now)
	switch c.Trigger {
	case lending.TriggerDeadline:
		j.Trigger = "deadline"
	case lending.TriggerHard:
		j.Trigger = "hard_" + strconv.FormatInt(int64(reg.params.HardTrigger)/10_000, 10)
	}
	return j
}

// viewFinancing runs fn inside a View with the margin book, or answers
// financing_disabled when the exchange runs without one.
func (s *Server) viewFinancing(fn func(en *engine.Engine, b *lending.Book)) *Error {
	var e *Error
	s.x.View(func(en *engine.Engine) {
		b := en.Financing()
		if b == nil {
			e = engineError(engine.CodeFinancingDisabled)
			return
		}
		fn(en, b)
	})
	return e
}

// finAsset resolves an asset code to the registry (404 unknown_asset, or
// financing_disabled).
func (s *Server) finAsset(code, field string) (lending.Asset, *Error) {
	var a lending.Asset
	var ok, enabled bool
	s.x.View(func(e *engine.Engine) {
		if b := e.Financing(); b != nil {
			enabled = true
			var id lending.AssetID
			if id, ok = b.Lookup(code); ok {
				a = b.Asset(id)
			}
		}
	})
	switch {
	case !enabled:
		return a, engineError(engine.CodeFinancingDisabled)
	case code == "":
		return a, badField(CodeMissingField, field, field+" is required (an asset code such as \"BTC\" or \"0700.HK\")")
	case !ok:
		e := engineError(engine.FromLending(lending.ReasonUnknownAsset))
		e.Field, e.Message = field, "no asset "+quote(code)+"; see GET /v1/admin/financing/collateral"
		return a, e
	}
	return a, nil
}

// finAssetAmount resolves an asset and parses a positive quantity of it:
// the pair every custody, withdrawal and sale body carries.
func (s *Server) finAssetAmount(code, codeField, v, field string) (lending.Asset, fixed.Amount, *Error) {
	a, e := s.finAsset(code, codeField)
	if e != nil {
		return a, 0, e
	}
	n, e := assetAmount(a, v, field)
	return a, n, e
}

// quoteAmount parses a positive amount in asset a's quote currency (a
// price or sale proceeds, which are quoted like the asset) and returns that
// currency.
func (s *Server) quoteAmount(a lending.Asset, v, field string) (lending.Asset, fixed.Amount, *Error) {
	var quote lending.Asset
	s.x.View(func(en *engine.Engine) { quote = en.Financing().Asset(a.Quote) })
	n, e := assetAmount(quote, v, field)
	return quote, n, e
}

// assetAmount parses a positive quantity of an asset in its own decimals.
func assetAmount(a lending.Asset, v, field string) (fixed.Amount, *Error) {
	q, err := fixed.ParseDecimal(v, a.Decimals)
	if err == nil && q <= 0 {
		err = fixed.ErrNotPositive
	}
	if errors.Is(err, fixed.ErrTooManyDecimals) {
		return 0, badField(CodeInvalidField, field, field+" has more than "+strconv.Itoa(a.Decimals)+" decimal places for "+a.Code)
	}
	if err != nil {
		return 0, parseNum(err, field, "", CodeInvalidField)
	}
	return fixed.Amount(q), nil
}

// clientSubmit submits a client's command and answers with out.
func (s *Server) clientSubmit(w http.ResponseWriter, r *http.Request, cmd *engine.Command, out map[string]any) *Error {
	res, e := s.submitOK(r, cmd)
	if e != nil {
		return e
	}
	out["replayed"] = res.Replayed
	WriteJSON(w, http.StatusOK, out)
	return nil
}

// postFinWithdrawal withdraws an asset from the financing account
// (CmdFinWithdraw): refused while a call is open, or if what remains would
// not cover the debit at fresh prices.
func (s *Server) postFinWithdrawal(w http.ResponseWriter, r *http.Request, c *call) *Error {
	var q struct {
		Asset          string `json:"asset"`
		Qty            string `json:"qty"`
		IdempotencyKey string `json:"idempotency_key"`
	}
	if e := decodeOp(r, c, &q); e != nil {
		return e
	}
	a, qty, e := s.finAssetAmount(q.Asset, "asset", q.Qty, "qty")
	if e != nil {
		return e
	}
	key, e := idemKey(q.IdempotencyKey)
	if e != nil {
		return e
	}
	cmd := &engine.Command{Kind: engine.CmdFinWithdraw, Client: engine.ClientID(c.key.Account), Key: key, Ref: a.Code, Amount: qty}
	return s.clientSubmit(w, r, cmd, map[string]any{"asset": a.Code, "qty": q.Qty, "idempotency_key": q.IdempotencyKey, "status": "withdrawn"})
}

var accountKinds = map[string]engine.AccountKind{"derivatives": engine.Derivatives, "financing": engine.Financing}

// postTransfer moves USD between the client's derivatives and financing
// accounts (CmdTransfer): each side's own checks apply (margin on the
// derivatives side, the call and lending value on the financing side).
func (s *Server) postTransfer(w http.ResponseWriter, r *http.Request, c *call) *Error {
	var q struct {
		From           string `json:"from"`
		To             string `json:"to"`
		Amount         string `json:"amount"`
		IdempotencyKey string `json:"idempotency_key"`
	}
	if e := decodeOp(r, c, &q); e != nil {
		return e
	}
	from, e := enum(accountKinds, q.From, "from", "derivatives, financing")
	if e != nil {
		return e
	}
	to, e := enum(accountKinds, q.To, "to", "derivatives, financing")
	if e != nil {
		return e
	}
	if from == to {
		return badField(CodeInvalidField, "to", "from and to must be different accounts")
	}
	amt, e := s.parseAmount(q.Amount, "amount")
	if e != nil {
		return e
	}
	key, e := idemKey(q.IdempotencyKey)
	if e != nil {
		return e
	}
	cmd := &engine.Command{Kind: engine.CmdTransfer, Client: engine.ClientID(c.key.Account), Key: key, From: from, To: to, Amount: amt}
	return s.clientSubmit(w, r, cmd, map[string]any{"from": q.From, "to": q.To, "amount": s.usd(amt), "currency": "USD",
		"idempotency_key": q.IdempotencyKey, "status": "transferred"})
}
