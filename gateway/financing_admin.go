package gateway

import (
	"bytes"
	"encoding/csv"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"time"

	"github.com/sampan-hk/sampan/core/engine"
	"github.com/sampan-hk/sampan/core/fixed"
	"github.com/sampan-hk/sampan/core/lending"
)

// Margin financing, operators' side: custody movements, prices, credit
// assessments, assets and close-out sale bookings (each one engine command,
// role-checked here and, for assessments and assets, by the engine), and
// the risk reads: the margin book, the firm view, the collateral table and
// the stress test.

// Financing actions of the permission matrix (admin.go). Segregation of
// duties: operations (custody) moves assets and books sales; the risk
// function prices collateral, assesses credit and registers assets.
const (
	ActFinDeposit    Action = "financing_deposit"
	ActFinRepay      Action = "financing_repayment"
	ActSetAssetPrice Action = "set_asset_price"
	ActCreditAssess  Action = "credit_assessment"
	ActRegisterAsset Action = "register_asset"
	ActSecuritySale  Action = "book_security_sale"
)

// postFinDeposit credits an asset to a client's financing account
// (CmdFinDeposit): custody has received it. Cash repays a loan in the same
// currency first; a virtual asset other than BTC/ETH is refused.
func (s *Server) postFinDeposit(w http.ResponseWriter, r *http.Request, c *call) *Error {
	var q struct {
		ClientID       string `json:"client_id"`
		Asset          string `json:"asset"`
		Qty            string `json:"qty"`
		IdempotencyKey string `json:"idempotency_key"`
	}
	if e := decodeOp(r, c, &q); e != nil {
		return e
	}
	return s.custody(w, r, c, engine.CmdFinDeposit, q.ClientID, [2]string{"asset", q.Asset}, [2]string{"qty", q.Qty}, q.IdempotencyKey)
}

// postFinRepayment books a repayment received from outside (CmdRepayLoan),
// at most the posted loan.
func (s *Server) postFinRepayment(w http.ResponseWriter, r *http.Request, c *call) *Error {
	var q struct {
		ClientID       string `json:"client_id"`
		Currency       string `json:"currency"`
		Amount         string `json:"amount"`
		IdempotencyKey string `json:"idempotency_key"`
	}
	if e := decodeOp(r, c, &q); e != nil {
		return e
	}
	return s.custody(w, r, c, engine.CmdRepayLoan, q.ClientID, [2]string{"currency", q.Currency}, [2]string{"amount", q.Amount}, q.IdempotencyKey)
}

// custody validates a custody movement (asset and qty are {field, value})
// and submits kind.
func (s *Server) custody(w http.ResponseWriter, r *http.Request, c *call, kind engine.CommandKind, client string, asset, qty [2]string, idem string) *Error {
	id, e := clientParam(client, "client_id")
	if e != nil {
		return e
	}
	a, n, e := s.finAssetAmount(asset[1], asset[0], qty[1], qty[0])
	if e != nil {
		return e
	}
	key, e := opKey(c.key, idem)
	if e != nil {
		return e
	}
	cmd := &engine.Command{Kind: kind, Client: id, Key: key, Ref: a.Code, Amount: n}
	return s.opSubmit(w, r, cmd, map[string]any{asset[0]: a.Code, qty[0]: fixed.TrimDecimal(fixed.FormatDecimal(int64(n), a.Decimals))})
}

// postAssetPrice sets a securities or FX price (CmdSetAssetPrice): USD in
// HKD per dollar ("7.80"), a security in its quote currency. BTC and ETH
// follow their live index (refused with price_follows_index once it is).
func (s *Server) postAssetPrice(w http.ResponseWriter, r *http.Request, c *call) *Error {
	var q struct {
		Asset string `json:"asset"`
		Price string `json:"price"`
	}
	if e := decodeOp(r, c, &q); e != nil {
		return e
	}
	a, e := s.finAsset(q.Asset, "asset")
	if e != nil {
		return e
	}
	quote, p, e := s.quoteAmount(a, q.Price, "price")
	if e != nil {
		return e
	}
	cmd := &engine.Command{Kind: engine.CmdSetAssetPrice, Ref: a.Code, Amount: p}
	return s.opSubmit(w, r, cmd, map[string]any{"asset": a.Code, "price": fixed.TrimDecimal(fixed.FormatDecimal(int64(p), quote.Decimals)),
		"price_ccy": quote.Code})
}

var dateRe = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}$`)

// postCreditAssessment records a client's credit assessment
// (CmdCreditAssessment). The key's operator id is the approver; the engine
// checks it may decide in the risk domain.
func (s *Server) postCreditAssessment(w http.ResponseWriter, r *http.Request, c *call) *Error {
	var q struct {
		Approved   *bool  `json:"approved"`
		Grade      string `json:"grade"`
		Limit      string `json:"credit_limit_hkd"`
		NetAssets  string `json:"net_assets_hkd"`
		Income     string `json:"income_hkd"`
		Experience *int64 `json:"experience"`
		NextReview string `json:"next_review"`
		Note       string `json:"note"`
		IdemKey    string `json:"idempotency_key"`
	}
	id, e := clientParam(r.PathValue("id"), "id")
	if e == nil {
		e = decodeOp(r, c, &q)
	}
	if e != nil {
		return e
	}
	if c.key.Operator == "" {
		return engineError(engine.CodeOperatorRequired)
	}
	if q.Approved == nil {
		return badField(CodeMissingField, "approved", "approved (true or false) is required")
	}
	if q.Experience == nil || *q.Experience < 0 || *q.Experience > 100 {
		return badField(CodeInvalidField, "experience", "experience is the years of trading experience, 0 to 100")
	}
	if len(q.Grade) == 0 || len(q.Grade) > 16 {
		return badField(CodeInvalidField, "grade", "grade is the internal credit grade, 1 to 16 bytes")
	}
	review, e := reviewDate(q.NextReview)
	if e != nil {
		return e
	}
	args := &engine.GovArgs{Operator: c.key.Operator, Grade: q.Grade, Experience: *q.Experience, Review: review, Note: q.Note}
	for _, f := range []struct {
		v, name string
		dst     *fixed.Amount
		zeroOK  bool
	}{{q.Limit, "credit_limit_hkd", &args.CreditLimit, !*q.Approved}, {q.NetAssets, "net_assets_hkd", &args.NetAssets, true},
		{q.Income, "income_hkd", &args.Income, true}} {
		if *f.dst, e = hkdField(f.v, f.name, f.zeroOK); e != nil {
			return e
		}
	}
	key, e := optKey(c.key, q.IdemKey)
	if e != nil {
		return e
	}
	cmd := &engine.Command{Kind: engine.CmdCreditAssessment, Client: id, Key: key, Flag: *q.Approved, Gov: args}
	return s.opSubmit(w, r, cmd, map[string]any{"client_id": strconv.FormatUint(uint64(id), 10), "approved": *q.Approved,
		"approver": c.key.Operator, "next_review": q.NextReview})
}

// reviewDate parses YYYY-MM-DD as midnight UTC at the start of that day.
func reviewDate(v string) (int64, *Error) {
	t, err := time.Parse("2006-01-02", v)
	if !dateRe.MatchString(v) || err != nil {
		return 0, badField(CodeInvalidField, "next_review", "next_review must be a date YYYY-MM-DD (the assessment expires then)")
	}
	return t.UnixNano(), nil
}

// hkdField parses a non-negative (positive unless zeroOK) HKD amount into
// micro-HKD.
func hkdField(v, field string, zeroOK bool) (fixed.Amount, *Error) {
	if v == "" && zeroOK {
		return 0, nil
	}
	a, err := fixed.ParseDecimal(v, 6)
	if err == nil && (a < 0 || (a == 0 && !zeroOK)) {
		err = fixed.ErrNotPositive
	}
	if err != nil {
		return 0, parseNum(err, field, "", CodeInvalidField)
	}
	return fixed.Amount(a), nil
}

var assetKinds = map[string]lending.AssetKind{"cash": lending.Cash, "virtual_asset": lending.VirtualAsset, "security": lending.Security}

// postAsset registers a new asset (CmdRegisterAsset). It starts ineligible
// at a 100% haircut; the collateral:CODE governance set makes it eligible.
func (s *Server) postAsset(w http.ResponseWriter, r *http.Request, c *call) *Error {
	var q struct {
		Code     string `json:"code"`
		Kind     string `json:"kind"`
		Decimals *int   `json:"decimals"`
		Quote    string `json:"quote"`
		Lot      string `json:"lot"`
		IdemKey  string `json:"idempotency_key"`
	}
	if e := decodeOp(r, c, &q); e != nil {
		return e
	}
	if c.key.Operator == "" {
		return engineError(engine.CodeOperatorRequired)
	}
	kind, e := enum(assetKinds, q.Kind, "kind", "cash, virtual_asset, security")
	if e != nil {
		return e
	}
	if q.Decimals == nil || *q.Decimals < 0 || *q.Decimals > 12 {
		return badField(CodeInvalidField, "decimals", "decimals must be 0 to 12")
	}
	lot, err := fixed.ParseDecimal(q.Lot, *q.Decimals)
	if err != nil || lot <= 0 {
		return badField(CodeInvalidField, "lot", "lot must be a positive quantity with at most decimals places (a board lot, e.g. \"100\")")
	}
	key, e := optKey(c.key, q.IdemKey)
	if e != nil {
		return e
	}
	args := &engine.GovArgs{Operator: c.key.Operator, Asset: q.Code, AssetKind: uint8(kind), Decimals: uint8(*q.Decimals),
		Quote: q.Quote, Lot: fixed.Amount(lot)}
	return s.opSubmit(w, r, &engine.Command{Kind: engine.CmdRegisterAsset, Key: key, Gov: args}, map[string]any{"code": q.Code, "kind": q.Kind})
}

// postSecuritySale books the execution of a close-out securities sale
// instruction (CmdBookSecuritySale): qty sold, proceeds in the security's
// quote currency.
func (s *Server) postSecuritySale(w http.ResponseWriter, r *http.Request, c *call) *Error {
	var q struct {
		ClientID       string `json:"client_id"`
		Asset          string `json:"asset"`
		Qty            string `json:"qty"`
		Proceeds       string `json:"proceeds"`
		IdempotencyKey string `json:"idempotency_key"`
	}
	if e := decodeOp(r, c, &q); e != nil {
		return e
	}
	id, e := clientParam(q.ClientID, "client_id")
	if e != nil {
		return e
	}
	a, qty, e := s.finAssetAmount(q.Asset, "asset", q.Qty, "qty")
	if e != nil {
		return e
	}
	quote, proceeds, e := s.quoteAmount(a, q.Proceeds, "proceeds")
	if e != nil {
		return e
	}
	key, e := opKey(c.key, q.IdempotencyKey)
	if e != nil {
		return e
	}
	cmd := &engine.Command{Kind: engine.CmdBookSecuritySale, Client: id, Key: key, Ref: a.Code, Qty: fixed.Qty(qty), Amount: proceeds}
	return s.opSubmit(w, r, cmd, map[string]any{"asset": a.Code, "qty": q.Qty, "proceeds": q.Proceeds, "currency": quote.Code})
}

type finClientJSON struct {
	ClientID    string `json:"client_id"`
	Ref         string `json:"ref"`
	MarketValue string `json:"market_value_hkd"`
	Lending     string `json:"lending_value_hkd"`
	Debit       string `json:"debit_hkd"`
	Shortfall   string `json:"shortfall_hkd"`
	CreditLimit string `json:"credit_limit_hkd"`
	CallState   string `json:"call_state"`
	Deadline    string `json:"deadline,omitempty"`
	SecondsLeft *int64 `json:"seconds_left,omitempty"`

	short, debit fixed.Amount // sort keys
	id           engine.ClientID
}

// getFinClients lists the margin book: every client with a debit or an
// open call, largest shortfall first, then largest debit, then client id.
func (s *Server) getFinClients(w http.ResponseWriter, r *http.Request, c *call) *Error {
	if e := query(r); e != nil {
		return e
	}
	var out []finClientJSON
	var now int64
	e := s.viewFinancing(func(en *engine.Engine, b *lending.Book) {
		reg := registryOf(b)
		now = en.Now()
		for _, id := range en.FinancingClients() {
			out = append(out, finClientOf(en, &reg, id, now))
		}
	})
	if e != nil {
		return e
	}
	slices.SortFunc(out, func(a, b finClientJSON) int {
		if a.short != b.short {
			return cmpDesc(a.short, b.short)
		}
		if a.debit != b.debit {
			return cmpDesc(a.debit, b.debit)
		}
		return int(a.id) - int(b.id)
	})
	if out == nil {
		out = []finClientJSON{}
	}
	WriteJSON(w, http.StatusOK, map[string]any{"as_of": rfc3339(now), "clients": out})
	return nil
}

func cmpDesc(a, b fixed.Amount) int {
	if a > b {
		return -1
	}
	return 1
}

func finClientOf(en *engine.Engine, reg *registry, id engine.ClientID, now int64) finClientJSON {
	v, _ := en.FinancingAccount(id)
	acct, _ := en.Account(id)
	j := finClientJSON{ClientID: strconv.FormatUint(uint64(id), 10), Ref: acct.Ref, MarketValue: reg.hkd(v.Valuation.MarketValue),
		Lending: reg.hkd(v.Valuation.Lending), Debit: reg.hkd(v.Valuation.Debit), Shortfall: reg.hkd(v.Shortfall),
		CreditLimit: reg.hkd(v.Assessment.Limit), CallState: callState(v.Call), short: v.Shortfall, debit: v.Valuation.Debit, id: id}
	if v.Call.Open || v.Call.ClosingOut {
		j.Deadline, j.SecondsLeft = rfc3339(v.Call.Deadline), secondsLeft(v.Call.Deadline, now)
	}
	return j
}

type finFirmJSON struct {
	AsOf           string `json:"as_of"`
	Capital        string `json:"capital_hkd"`
	TotalDebit     string `json:"total_debit_hkd"`
	Multiple       string `json:"loans_to_capital"`
	Limit          string `json:"limit_multiple"`
	Warn           string `json:"warn_multiple"`
	Lending        string `json:"lending_value_hkd"`
	CapitalLending string `json:"capital_view_lending_value_hkd"`
	CapitalShort   string `json:"capital_view_shortfall_hkd"`
	UnderCall      int    `json:"under_call"`
	ClosingOut     int    `json:"closing_out"`
}

// multiple renders a ppm multiple (5_000_000) as "5", 2_350_000 as "2.35".
func multiple(p fixed.Ppm) string { return fixed.TrimDecimal(fixed.FormatDecimal(int64(p), 6)) }

func (s *Server) getFinFirm(w http.ResponseWriter, r *http.Request, c *call) *Error {
	if e := query(r); e != nil {
		return e
	}
	var out finFirmJSON
	e := s.viewFinancing(func(en *engine.Engine, b *lending.Book) {
		f, reg := b.Firm(), registryOf(b)
		out = finFirmJSON{AsOf: rfc3339(en.Now()), Capital: reg.hkd(f.Capital), TotalDebit: reg.hkd(f.TotalDebit),
			Multiple: multiple(f.Multiple), Limit: multiple(reg.params.FirmLimit), Warn: multiple(reg.params.FirmWarn),
			Lending: reg.hkd(f.Lending), CapitalLending: reg.hkd(f.CapitalLending), CapitalShort: reg.hkd(f.CapitalShort),
			UnderCall: f.UnderCall, ClosingOut: f.ClosingOut}
	})
	if e != nil {
		return e
	}
	WriteJSON(w, http.StatusOK, out)
	return nil
}

type collateralJSON struct {
	Asset         string `json:"asset"`
	Kind          string `json:"kind"`
	Eligible      bool   `json:"eligible"`
	HaircutPpm    int64  `json:"haircut_ppm"`
	Concentration int64  `json:"concentration_ppm"`
	Price         string `json:"price,omitempty"`
	PriceCcy      string `json:"price_ccy,omitempty"`
	PriceAt       string `json:"price_at,omitempty"` // last price change seen since the node started
	SetID         string `json:"set_id"`             // the governance set that changes the row
}

type concentrationJSON struct {
	Asset    string `json:"asset"`
	Lending  string `json:"lending_value_hkd"`
	SharePpm int64  `json:"share_ppm"`
}

// getFinCollateral is the eligible-collateral table with prices, and the
// firm-wide share of total lending value each asset supplies.
func (s *Server) getFinCollateral(w http.ResponseWriter, r *http.Request, c *call) *Error {
	if e := query(r); e != nil {
		return e
	}
	var rows []engine.CollateralRow
	var per []fixed.Amount
	var reg registry
	e := s.viewFinancing(func(en *engine.Engine, b *lending.Book) {
		rows, reg, per = en.CollateralTable(), registryOf(b), lendingByAsset(en, b.Assets())
	})
	if e != nil {
		return e
	}
	out := struct {
		Assets        []collateralJSON    `json:"assets"`
		Concentration []concentrationJSON `json:"concentration"`
	}{Assets: make([]collateralJSON, 0, len(rows)), Concentration: []concentrationJSON{}}
	for _, row := range rows {
		j := collateralJSON{Asset: row.Code, Kind: row.Kind.String(), Eligible: row.Eligible, HaircutPpm: int64(row.Haircut),
			Concentration: int64(row.Concentration), SetID: row.SetID, PriceAt: rfc3339(s.md.PriceTime(row.ID))}
		if row.Priced {
			j.Price, j.PriceCcy = reg.price(row.ID, row.Price)
		}
		out.Assets = append(out.Assets, j)
	}
	out.Concentration = concentration(&reg, per)
	WriteJSON(w, http.StatusOK, out)
	return nil
}

// lendingByAsset sums every margin client's lending value per asset.
func lendingByAsset(en *engine.Engine, n int) []fixed.Amount {
	per := make([]fixed.Amount, n)
	b := en.Financing()
	for _, id := range b.Clients() {
		v, _ := b.Valuation(id)
		for i, l := range v.PerAsset {
			per[i] += l
		}
	}
	return per
}

// concentration renders each asset's share of the total (ppm, rounded
// down), assets with lending value only, largest first.
func concentration(reg *registry, per []fixed.Amount) []concentrationJSON {
	var total fixed.Amount
	for _, l := range per {
		total += l
	}
	out := []concentrationJSON{}
	for i, l := range per {
		if l <= 0 {
			continue
		}
		share := fixed.MustMulDiv(int64(l), int64(fixed.PpmOne), int64(total), fixed.Floor)
		out = append(out, concentrationJSON{Asset: reg.code(lending.AssetID(i)), Lending: reg.hkd(l), SharePpm: share})
	}
	slices.SortStableFunc(out, func(a, b concentrationJSON) int { return int(b.SharePpm - a.SharePpm) })
	return out
}

// StressReport is the stress test as the API and `sampan stress` write it.
type StressReport struct {
	AsOf    string                 `json:"as_of"`
	Capital string                 `json:"capital_hkd"`
	Records []lending.StressRecord `json:"records"`
}

// NewStressReport runs the default scenarios (Engine.Stress(nil)); call it
// inside a View. ok is false when financing is disabled.
func NewStressReport(en *engine.Engine) (rep StressReport, ok bool) {
	b := en.Financing()
	if b == nil {
		return rep, false
	}
	reg := registryOf(b)
	rep = StressReport{AsOf: rfc3339(en.Now()), Capital: reg.hkd(b.Capital()), Records: en.Stress(nil)}
	if rep.Records == nil {
		rep.Records = []lending.StressRecord{}
	}
	return rep, true
}

// getFinStress runs the default stress scenarios and answers JSON, or CSV
// with ?format=csv (the same rows `sampan stress` writes).
func (s *Server) getFinStress(w http.ResponseWriter, r *http.Request, c *call) *Error {
	if e := query(r, "format"); e != nil {
		return e
	}
	format := r.URL.Query().Get("format")
	if format != "" && format != "json" && format != "csv" {
		return badField(CodeInvalidField, "format", "format must be json or csv")
	}
	var rep StressReport
	var ok bool
	s.x.View(func(en *engine.Engine) { rep, ok = NewStressReport(en) })
	if !ok {
		return engineError(engine.CodeFinancingDisabled)
	}
	if format == "csv" {
		w.Header().Set("Content-Type", "text/csv; charset=utf-8")
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write(StressCSV(rep.Records))
		return nil
	}
	WriteJSON(w, http.StatusOK, rep)
	return nil
}

// StressCSV renders stress records as CSV with lending.StressCSVHeader.
func StressCSV(recs []lending.StressRecord) []byte {
	var buf bytes.Buffer
	cw := csv.NewWriter(&buf)
	_ = cw.Write(lending.StressCSVHeader())
	for _, r := range recs {
		_ = cw.Write(r.CSV())
	}
	cw.Flush()
	return buf.Bytes()
}
