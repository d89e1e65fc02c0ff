package engine

import (
	"errors"
	"strconv"
	"strings"

	"github.com/sampan-hk/sampan/core/fixed"
	"github.com/sampan-hk/sampan/core/governance"
	"github.com/sampan-hk/sampan/core/ledger"
	"github.com/sampan-hk/sampan/core/lending"
)

// Margin financing inside the engine (docs/margin-financing.md §11).
//
// The engine embeds one lending.Book when Config.Financing.Enabled. Every
// engine client has a margin-financing account in it, opened by
// CmdCreateClient under the same id, so a client can trade spot with its
// own assets at once; borrowing needs an approved credit assessment
// (CmdCreditAssessment).
//
//   - Time: before a command whose time reaches the book's NextDue (the next
//     accrual day, a call deadline or reminder) Apply ticks the book, so
//     interest for elapsed days accrues and deadlines act before the
//     command is judged; otherwise the trading path pays one comparison.
//   - Prices: every healthy index update of an underlying named like a
//     lending asset (BTC, ETH) is forwarded with SetPrice, converted from
//     ticks to quote minor units per whole unit. Never the spot book's
//     trades. Securities and FX come from CmdSetAssetPrice (oracle).
//   - Governance: the collateral:CODE sets (a '.' in a code is '-' in the
//     set id: collateral:0700-HK) drive SetCollateral, and the firm set
//     drives SetCapital and the limits of SetParams, at genesis and at
//     every activation or emergency tightening.
//   - Events: each lending event becomes one EvFinancing with the lending
//     event in Fin. Lending's own double-entry ledger is the ledger of
//     record for financing accounts (it is hashed, snapshotted and checked
//     by CheckInvariants); transfers to and from the derivatives account
//     are a withdrawal on one ledger and a deposit on the other.

// FinAsset is one asset of the financing registry at genesis.
type FinAsset struct {
	Code     string
	Kind     lending.AssetKind
	Decimals int
	Quote    string       // currency its price is quoted in
	Lot      fixed.Amount // smallest close-out quantity, minor units (spot assets: the market's lot)
	// Collateral is the genesis row of the collateral table; it becomes the
	// collateral:CODE governance set unless Governance.Sets names it.
	Collateral lending.Collateral
	Price      int64 // genesis price (0: none until CmdSetAssetPrice or the index)
}

// FinInterest is one currency's loan terms at genesis.
type FinInterest struct {
	Currency string
	Terms    lending.InterestTerms
}

// FinancingConfig configures the margin-financing book.
type FinancingConfig struct {
	Enabled bool
	// Params: zero means lending.DefaultParams. The firm set overrides the
	// client/group and firm limits.
	Params   lending.Params
	Assets   []FinAsset // registered after the base currency HKD, in order
	Interest []FinInterest
	// Firm is the genesis firm set: capital and limits (governance
	// FirmSchema). Zero: HK$100m capital, 5× loans, 20% per client group.
	Firm governance.Value
}

func (f *FinancingConfig) defaults() error {
	if !f.Enabled {
		return nil
	}
	if f.Params == (lending.Params{}) {
		f.Params = lending.DefaultParams()
	}
	if len(f.Firm.Fields) == 0 {
		f.Firm = defaultFirm()
	}
	return nil
}

func defaultFirm() governance.Value {
	v, _ := governance.NewValue([]governance.Field{
		{Name: "capital_hkd_cents", V: 100_000_000 * 100},
		{Name: "max_loans_to_capital_ppm", V: 5_000_000},
		{Name: "client_concentration_ppm", V: 200_000},
		{Name: "collateral_concentration_ppm", V: 1_000_000},
	}, nil)
	return v
}

// DefaultFinancing is the default registry (ours, docs/margin-financing.md
// §9): USD at HK$7.80; BTC and ETH on the spot markets' lots at 60% and
// 65% haircuts; two HK equities as securities collateral; 8% interest,
// actual/365 for HKD and actual/360 for USD.
func DefaultFinancing() FinancingConfig {
	all := fixed.PpmOne
	return FinancingConfig{
		Enabled: true,
		Assets: []FinAsset{
			{Code: "USD", Kind: lending.Cash, Decimals: 6, Quote: "HKD", Lot: 1, Collateral: lending.Collateral{Eligible: true, Concentration: all}, Price: 7_800_000},
			{Code: "BTC", Kind: lending.VirtualAsset, Decimals: 8, Quote: "USD", Lot: 100_000, Collateral: lending.Collateral{Eligible: true, Haircut: 600_000, Concentration: all}},
			{Code: "ETH", Kind: lending.VirtualAsset, Decimals: 8, Quote: "USD", Lot: 1_000_000, Collateral: lending.Collateral{Eligible: true, Haircut: 650_000, Concentration: all}},
			{Code: "0700.HK", Kind: lending.Security, Decimals: 0, Quote: "HKD", Lot: 100, Collateral: lending.Collateral{Eligible: true, Haircut: 300_000, Concentration: all}},
			{Code: "0005.HK", Kind: lending.Security, Decimals: 0, Quote: "HKD", Lot: 400, Collateral: lending.Collateral{Eligible: true, Haircut: 200_000, Concentration: all}},
		},
		Interest: []FinInterest{
			{Currency: "HKD", Terms: lending.InterestTerms{AnnualRate: 80_000, DayBasis: 365}},
			{Currency: "USD", Terms: lending.InterestTerms{AnnualRate: 80_000, DayBasis: 360}},
		},
	}
}

// CollateralSetID is the governance set of an asset's collateral row.
func CollateralSetID(code string) string { return "collateral:" + strings.ReplaceAll(code, ".", "-") }

// collateralValue is a collateral row as a governed value.
func collateralValue(c lending.Collateral) governance.Value {
	v, _ := governance.NewValue([]governance.Field{
		{Name: "eligible", V: int64(b2u(c.Eligible))},
		{Name: "haircut_ppm", V: int64(c.Haircut)},
		{Name: "concentration_ppm", V: int64(c.Concentration)},
	}, nil)
	return v
}

func collateralOf(v governance.Value) lending.Collateral {
	return lending.Collateral{Eligible: gfield(v, "eligible") == 1, Haircut: fixed.Ppm(gfield(v, "haircut_ppm")),
		Concentration: fixed.Ppm(gfield(v, "concentration_ppm"))}
}

// finGenesisSets are the collateral and firm sets the financing config
// implies, except those Governance.Sets already gives.
func (e *Engine) finGenesisSets() []governance.GenesisSet {
	f := &e.cfg.Financing
	if !f.Enabled {
		return nil
	}
	given := func(id string) bool {
		for _, s := range e.cfg.Governance.Sets {
			if s.ID == id {
				return true
			}
		}
		return false
	}
	var sets []governance.GenesisSet
	if !given("collateral:HKD") {
		sets = append(sets, governance.GenesisSet{ID: "collateral:HKD", Value: collateralValue(lending.Collateral{Eligible: true, Concentration: fixed.PpmOne})})
	}
	for _, a := range f.Assets {
		if id := CollateralSetID(a.Code); !given(id) {
			sets = append(sets, governance.GenesisSet{ID: id, Value: collateralValue(a.Collateral)})
		}
	}
	if !given("firm") {
		sets = append(sets, governance.GenesisSet{ID: "firm", Value: f.Firm})
	}
	return sets
}

// buildFinancing creates the lending book at engine time 0 from the config
// and the governance store's genesis values. A config the book refuses
// panics: Validate should have caught it (New checks by building).
func (e *Engine) buildFinancing() {
	f := &e.cfg.Financing
	if !f.Enabled {
		return
	}
	e.fin = lending.New(lending.Config{Params: f.Params})
	for _, a := range f.Assets {
		if _, o := e.fin.RegisterAsset(0, a.Code, a.Kind, a.Decimals, a.Quote, a.Lot); !o.OK() {
			panic("engine: financing asset " + a.Code + ": " + o.Reason.String())
		}
	}
	for i := 0; i < e.fin.Assets(); i++ {
		id := lending.AssetID(i)
		if cur, ok := e.gov.Current(CollateralSetID(e.fin.Asset(id).Code)); ok {
			mustFin(e.fin.SetCollateral(0, id, collateralOf(cur.Value)))
		}
	}
	for _, a := range f.Assets {
		id, _ := e.fin.Lookup(a.Code)
		if a.Price > 0 {
			mustFin(e.fin.SetPrice(0, id, a.Price))
		}
	}
	for _, t := range f.Interest {
		id, ok := e.fin.Lookup(t.Currency)
		if !ok {
			panic("engine: interest terms for unknown currency " + t.Currency)
		}
		mustFin(e.fin.SetInterestTerms(0, id, t.Terms))
	}
	if cur, ok := e.gov.Current("firm"); ok {
		p, capital, ok := e.firmParams(cur.Value)
		if !ok {
			panic("engine: the genesis firm set is not applicable")
		}
		mustFin(e.fin.SetParams(0, p))
		if capital > 0 {
			mustFin(e.fin.SetCapital(0, capital))
		}
	}
	e.bindSpot()
	e.finDue = e.fin.NextDue()
}

func mustFin(o lending.Outcome) {
	if !o.OK() {
		panic("engine: financing genesis refused: " + o.Reason.String())
	}
}

// firmParams maps the firm set onto the book's parameters: the loans-to-
// capital limit and the client/group limit, with their warnings at 4/5 and
// 3/4 of them (4× of 5×, 15% of 20%, the documented defaults). Capital is
// in HK cents; the book's base unit is micro-HKD.
func (e *Engine) firmParams(v governance.Value) (lending.Params, fixed.Amount, bool) {
	p := e.fin.Params()
	p.FirmLimit = fixed.Ppm(gfield(v, "max_loans_to_capital_ppm"))
	p.FirmWarn = p.FirmLimit / 5 * 4
	p.ClientGroupLimit = fixed.Ppm(gfield(v, "client_concentration_ppm"))
	p.ClientGroupWarn = p.ClientGroupLimit / 4 * 3
	capital, err := fixed.Mul(gfield(v, "capital_hkd_cents"), 10_000)
	if err != nil || capital > int64(lending.MaxAmount) || p.FirmWarn <= 0 || p.ClientGroupWarn <= 0 {
		return p, 0, false
	}
	return p, fixed.Amount(capital), true
}

// Financing returns the lending book for read-only queries (nil when
// financing is disabled). Do not call its mutating methods.
func (e *Engine) Financing() *lending.Book { return e.fin }

// finTime is Apply's hook: the book's next due time was reached.
func (e *Engine) finTime() {
	e.finOut(e.fin.Tick(e.now))
}

// finOut turns a lending outcome into engine events and reacts to it:
// close-outs start and stop, and every client it names is queued to have
// its resting spot orders checked against what it now holds (spot.go).
func (e *Engine) finOut(o lending.Outcome) {
	for i := range o.Events {
		le := o.Events[i]
		c := ClientID(le.Client)
		e.emit(Event{Kind: EvFinancing, Flags: uint8(le.Kind), Client: c, Fin: &le})
		switch le.Kind {
		case lending.EvCloseOutStarted:
			e.closing = append(e.closing, closeState{client: c})
		case lending.EvMarginCallCured:
			e.stopCloseOut(c)
		}
		if c != 0 && (len(e.guardQ) == 0 || e.guardQ[len(e.guardQ)-1] != c) {
			e.guardQ = append(e.guardQ, c)
		}
	}
	e.finDue = e.fin.NextDue()
}

// flushGuard runs spotGuard for the clients lending outcomes named since
// the last flush. It runs between book operations, never inside one (a
// book's event slice is reused by its next call), and before Apply
// returns.
func (e *Engine) flushGuard() {
	for i := 0; i < len(e.guardQ); i++ {
		e.spotGuard(e.guardQ[i])
	}
	e.guardQ = e.guardQ[:0]
}

// finCode maps a lending outcome to a result.
func (e *Engine) finResult(c ClientID, o lending.Outcome) Result {
	if !o.OK() {
		return Result{Code: FromLending(o.Reason)}
	}
	e.finOut(o)
	return Result{Client: c}
}

// finAsset resolves an asset code.
func (e *Engine) finAsset(code string) (lending.AssetID, Code) {
	if e.fin == nil {
		return 0, CodeFinancingDisabled
	}
	id, ok := e.fin.Lookup(code)
	if !ok {
		return 0, FromLending(lending.ReasonUnknownAsset)
	}
	return id, OK
}

// finCommand runs the financing commands.
func (e *Engine) finCommand(cmd *Command) Result {
	if e.fin == nil {
		return Result{Code: CodeFinancingDisabled}
	}
	switch cmd.Kind {
	case CmdSetAssetPrice:
		return e.setAssetPrice(cmd)
	case CmdCreditAssessment, CmdRegisterAsset:
		// Risk decisions: idempotent per acting operator (idem.go).
		k, r, done := e.keyBegin(cmd)
		if done {
			return r
		}
		if cmd.Kind == CmdCreditAssessment {
			return e.keyEnd(k, cmd.Key, e.creditAssessment(cmd))
		}
		return e.keyEnd(k, cmd.Key, e.registerAsset(cmd))
	}
	if e.client(cmd.Client) == nil {
		return Result{Code: CodeUnknownClient}
	}
	a, code := e.finAsset(cmd.Ref)
	if code != OK {
		return Result{Code: code}
	}
	lc := lending.ClientID(cmd.Client)
	switch cmd.Kind {
	case CmdFinDeposit:
		return e.finResult(cmd.Client, e.fin.Deposit(e.now, lc, a, cmd.Amount))
	case CmdFinWithdraw:
		if code := e.keepsReserved(cmd.Client, a, cmd.Amount); code != OK {
			return Result{Code: code}
		}
		return e.finResult(cmd.Client, e.fin.Withdraw(e.now, lc, a, cmd.Amount))
	case CmdRepayLoan:
		return e.finResult(cmd.Client, e.fin.Repay(e.now, lc, a, cmd.Amount))
	case CmdBookSecuritySale:
		return e.bookSecuritySale(cmd, a)
	}
	return Result{Code: CodeUnknownCommand}
}

// setAssetPrice is the oracle's price of a security or an FX rate. BTC
// and ETH follow their index once it is live: the operator may price them
// only in manual mode (no feed yet), like SetMark.
func (e *Engine) setAssetPrice(cmd *Command) Result {
	a, code := e.finAsset(cmd.Ref)
	if code != OK {
		return Result{Code: code}
	}
	for i := range e.unders {
		if u := &e.unders[i]; u.live && u.finAsset == int(a) {
			return Result{Code: CodePriceFromIndex}
		}
	}
	return e.finResult(0, e.fin.SetPrice(e.now, a, int64(cmd.Amount)))
}

// creditAssessment records a client's credit assessment (R5). The acting
// operator is its approver and must hold the risk decision permission
// (a risk officer): credit limits are risk decisions.
func (e *Engine) creditAssessment(cmd *Command) Result {
	a := cmd.args()
	if a.Operator == "" {
		return Result{Code: CodeOperatorRequired}
	}
	if r := e.gov.Authorize(a.Operator, governance.PermDecide, governance.DomainRisk); r != governance.ReasonNone {
		return Result{Code: FromGovernance(r)}
	}
	if e.client(cmd.Client) == nil {
		return Result{Code: CodeUnknownClient}
	}
	if a.Experience < 0 || a.Experience > 100 {
		return Result{Code: FromLending(lending.ReasonBadAssessment)}
	}
	as := lending.Assessment{NetAssets: a.NetAssets, AnnualIncome: a.Income, ExperienceYears: int32(a.Experience),
		Grade: a.Grade, Approver: a.Operator, AssessedAt: e.now, NextReview: a.Review, Limit: a.CreditLimit, Approved: cmd.Flag}
	return e.finResult(cmd.Client, e.fin.SetAssessment(e.now, lending.ClientID(cmd.Client), as))
}

// registerAsset adds an asset (a security by stock code, a currency) to
// the registry; it starts ineligible at a 100% haircut until a
// collateral:CODE set makes it collateral (maker-checker, governance.go).
// Registering is a risk decision too.
func (e *Engine) registerAsset(cmd *Command) Result {
	a := cmd.args()
	if a.Operator == "" {
		return Result{Code: CodeOperatorRequired}
	}
	if r := e.gov.Authorize(a.Operator, governance.PermDecide, governance.DomainRisk); r != governance.ReasonNone {
		return Result{Code: FromGovernance(r)}
	}
	if _, r := e.gov.Catalog().ParseSetID(CollateralSetID(a.Asset)); r != governance.ReasonNone {
		return Result{Code: FromLending(lending.ReasonBadAsset)}
	}
	_, o := e.fin.RegisterAsset(e.now, a.Asset, lending.AssetKind(a.AssetKind), int(a.Decimals), a.Quote, a.Lot)
	return e.finResult(0, o)
}

// finTransfer moves USD between the derivatives account (core/ledger) and
// the financing account (lending): a withdrawal on one ledger and a
// deposit on the other, each balanced. Leaving financing is a
// lending.Withdraw, so the open-call and lending-value checks apply.
func (e *Engine) finTransfer(cmd *Command, c *client) Result {
	usdID, code := e.finAsset("USD")
	if code != OK {
		return Result{Code: code}
	}
	lc := lending.ClientID(cmd.Client)
	if cmd.From == Derivatives {
		if code := e.withdrawable(cmd.Client, cmd.Amount); code != OK {
			return Result{Code: code}
		}
		o := e.fin.Deposit(e.now, lc, usdID, cmd.Amount)
		if !o.OK() {
			return Result{Code: FromLending(o.Reason)}
		}
		e.led.Withdraw(ledger.USD, c.deriv, cmd.Amount)
		e.finOut(o)
	} else {
		if _, err := fixed.Add(int64(e.led.Deposits(ledger.USD)), int64(cmd.Amount)); err != nil {
			return Result{Code: CodeInvalidAmount}
		}
		if code := e.keepsReserved(cmd.Client, usdID, cmd.Amount); code != OK {
			return Result{Code: code}
		}
		o := e.fin.Withdraw(e.now, lc, usdID, cmd.Amount)
		if !o.OK() {
			return Result{Code: FromLending(o.Reason)}
		}
		e.led.Deposit(ledger.USD, c.deriv, cmd.Amount)
		e.finOut(o)
	}
	e.reindex(cmd.Client)
	e.emit(Event{Kind: EvTransferred, Client: cmd.Client, From: cmd.From, To: cmd.To, Amount: cmd.Amount, Balance: e.led.Balance(ledger.USD, c.deriv)})
	return Result{Client: cmd.Client}
}

// forwardIndex passes a healthy index to the book as the price of the
// underlying's lending asset (quote minor units per whole unit).
func (e *Engine) forwardIndex(u *underlying, px fixed.Price) {
	if e.fin == nil || u.finAsset < 0 {
		return
	}
	v, err := fixed.Mul(int64(px), u.finScale)
	if err != nil || v > lending.MaxPrice {
		return // beyond any real price; the book keeps the last one and goes stale
	}
	e.finOut(e.fin.SetPrice(e.now, lending.AssetID(u.finAsset), v))
}

// finGovActivated applies an activated collateral or firm set to the book.
// The value was checked when proposed (govPrecheck → checkFinValue); the
// book re-checks and refuses nothing it accepted then, except a registry
// change in between, in which case the set has no effect and the
// governance event still records it.
func (e *Engine) finGovActivated(set string, v governance.Value) {
	if e.fin == nil {
		return
	}
	if set == "firm" {
		p, capital, ok := e.firmParams(v)
		if !ok {
			return
		}
		if o := e.fin.SetParams(e.now, p); o.OK() {
			e.finOut(o)
		}
		if capital > 0 {
			if o := e.fin.SetCapital(e.now, capital); o.OK() {
				e.finOut(o)
			}
		}
		return
	}
	if a, ok := e.collateralAsset(set); ok {
		if o := e.fin.SetCollateral(e.now, a, collateralOf(v)); o.OK() {
			e.finOut(o)
		}
	}
}

func (e *Engine) collateralAsset(set string) (lending.AssetID, bool) {
	for i := 0; i < e.fin.Assets(); i++ {
		if CollateralSetID(e.fin.Asset(lending.AssetID(i)).Code) == set {
			return lending.AssetID(i), true
		}
	}
	return 0, false
}

// checkFinValue refuses a collateral or firm value the book would refuse:
// an unregistered asset, a virtual asset other than BTC/ETH made eligible,
// a VA haircut under 60% (the schema checks BTC and ETH by name; this
// checks every virtual asset), a zero concentration limit, limits that
// leave no warning level.
func (e *Engine) checkFinValue(set string, v governance.Value) Code {
	if e.fin == nil {
		return OK // financing off: the sets are governed but inert
	}
	if set == "firm" {
		if _, _, ok := e.firmParams(v); !ok {
			return CodeParamInvalid
		}
		return OK
	}
	a, ok := e.collateralAsset(set)
	if !ok {
		return FromLending(lending.ReasonUnknownAsset)
	}
	c := collateralOf(v)
	as := e.fin.Asset(a)
	switch {
	case as.Kind == lending.VirtualAsset && c.Eligible && as.Code != "BTC" && as.Code != "ETH":
		return FromLending(lending.ReasonVANotEligible)
	case as.Kind == lending.VirtualAsset && c.Haircut < lending.MinVAHaircut:
		return FromLending(lending.ReasonHaircutBelowFloor)
	case c.Concentration <= 0:
		return FromLending(lending.ReasonBadConcentration)
	}
	return OK
}

// checkFinancing runs the book's own invariants (loan = drawn − repaid +
// interest, balanced ledger, BTC/ETH the only VA collateral, a call open
// exactly on a shortfall, no advance or withdrawal under a call) and the
// engine's: resting spot orders are backed by holdings, no resting buy
// while a call is open and no spot order during a close-out, the close-out
// list is the book's, and nothing due is left unticked.
func (e *Engine) checkFinancing() error {
	if e.fin == nil {
		return nil
	}
	if err := e.fin.CheckInvariants(); err != nil {
		return errors.New("engine invariant: financing: " + err.Error())
	}
	fail := func(msg string, c ClientID) error {
		return errors.New("engine invariant: " + msg + ", client " + strconv.Itoa(int(c)))
	}
	if e.finDue != e.fin.NextDue() || e.finDue <= e.now {
		return errors.New("engine invariant: financing due time is stale")
	}
	closing := e.fin.ClosingOut()
	if len(closing) != len(e.closing) {
		return errors.New("engine invariant: close-out list differs from the book's")
	}
	for _, c := range closing {
		found := false
		for _, s := range e.closing {
			found = found || s.client == ClientID(c)
		}
		if !found {
			return fail("closing client not tracked", ClientID(c))
		}
	}
	for id := 1; id < len(e.clients); id++ {
		c := ClientID(id)
		lc := lending.ClientID(c)
		call := e.fin.CallState(lc)
		for _, mid := range e.spotMkts {
			m := &e.markets[mid]
			sl := e.spotLine(c, m)
			if e.reservedCash(c, m.finQuote) > e.fin.Holding(lc, m.finQuote) || e.reservedHold(c, m.finBase) > e.fin.Holding(lc, m.finBase) {
				return fail("resting spot orders exceed the holdings", c)
			}
			if (call.Open && sl.buyCost > 0) || (call.ClosingOut && sl.orders > 0) {
				return fail("resting spot orders during a margin call", c)
			}
		}
	}
	return nil
}

// appendFinState encodes the financing section of a snapshot (version 4):
//
//	u8 present | lending state (lending.AppendState)
//	| clients+1 × spot markets × { i64 buy cost | i64 sell lots | u32 orders }
//	| u32 n × { u32 client | i64 next try }             (close-outs)
//	| u32 n × { u32 client | u16 asset | i64 qty | u8 step } (securities instructions)
func (e *Engine) appendFinState(dst []byte) []byte {
	if e.fin == nil {
		return append(dst, 0)
	}
	dst = append(dst, 1)
	dst = e.fin.AppendState(dst)
	return e.appendSpotState(dst)
}

func (e *Engine) appendSpotState(dst []byte) []byte {
	for _, sl := range e.spot {
		dst = put64(dst, uint64(sl.buyCost))
		dst = put64(dst, uint64(sl.sellQty))
		dst = put32(dst, uint32(sl.orders))
	}
	dst = put32(dst, uint32(len(e.closing)))
	for _, s := range e.closing {
		dst = put32(dst, uint32(s.client))
		dst = put64(dst, uint64(s.nextTry))
	}
	dst = put32(dst, uint32(len(e.secPending)))
	for _, s := range e.secPending {
		dst = put32(dst, uint32(s.client))
		dst = put16(dst, uint16(s.asset))
		dst = put64(dst, uint64(s.qty))
		dst = put8(dst, uint8(s.step))
	}
	return dst
}

// restoreFinState reads appendFinState's section (present says the
// snapshot has one); without it a financing engine keeps its genesis book
// and empty accounts for every client.
func (e *Engine) restoreFinState(r *reader, present bool) bool {
	nc := len(e.clients) - 1
	if !present {
		if e.fin == nil {
			return true
		}
		e.fin.Tick(e.now) // the genesis book starts its calendar at 0
		for id := 1; id <= nc; id++ {
			if o := e.fin.OpenClient(e.now, lending.ClientID(id), 0); !o.OK() {
				return false
			}
		}
		e.spot = make([]spotLine, (nc+1)*len(e.spotMkts))
		e.finDue = e.fin.NextDue()
		return true
	}
	if e.fin == nil || r.err != nil {
		return false
	}
	b, rest, err := lending.RestoreState(r.b)
	if err != nil || len(b.Clients()) != nc {
		return false
	}
	e.fin, r.b = b, rest
	n := (nc + 1) * len(e.spotMkts)
	if n > len(r.b)/20 {
		return false
	}
	e.spot = make([]spotLine, n)
	for i := range e.spot {
		e.spot[i] = spotLine{buyCost: fixed.Amount(r.u64()), sellQty: fixed.Qty(r.u64()), orders: int32(r.u32())}
	}
	k := int(r.u32())
	if r.err != nil || k > nc || k > len(r.b)/12 {
		return false
	}
	for i := 0; i < k; i++ {
		e.closing = append(e.closing, closeState{client: ClientID(r.u32()), nextTry: int64(r.u64())})
	}
	k = int(r.u32())
	if r.err != nil || k > len(r.b)/15 {
		return false
	}
	for i := 0; i < k; i++ {
		s := secInstr{client: ClientID(r.u32()), asset: lending.AssetID(r.u16()), qty: fixed.Amount(r.u64()), step: lending.CloseOutStep(r.u8())}
		if int(s.client) > nc || s.client == 0 || int(s.asset) >= e.fin.Assets() {
			return false
		}
		e.secPending = append(e.secPending, s)
	}
	// The registry only grows, so the asset ids bindSpot linked at build
	// (genesis) are the restored book's too.
	e.finDue = e.fin.NextDue()
	return r.err == nil
}
