// Package engine is Sampan's deterministic state machine for perpetual
// contracts: Apply(cmd, now) turns one command into a Result and events.
//
// The engine is single-threaded and pure: no clock (time arrives with each
// command, stamped by the sequencer), no randomness, no I/O, no goroutines,
// no iteration over Go maps where order matters. The same command stream
// gives the same events and the same StateHash on any machine.
//
// Engine time is monotone: a command stamped earlier than the previous one
// is processed as if stamped at the previous time (the sequencer should
// never do this; clamping keeps expiry checks monotone if it does). Time
// alone can change state: when a client's PI classification expires, the
// first command at or after the expiry first cancels the client's resting
// orders that could increase a position (eligibility.go).
//
// Business rejections are Result codes and change nothing. A broken
// invariant panics: the process stops and restarts from snapshot plus log
// (AppendSnapshot/Restore, snapshot.go: the complete state, checksummed,
// rebuilt to the same StateHash and the same future behaviour).
//
// Valuation (valuation.go): venue quotes and a 1 s tick drive each
// underlying's index, each market's mark (which re-centres the book's
// price band), premium sampling and funding settlement on interval
// boundaries; an unhealthy index makes its markets reduce-only and pauses
// liquidations. Before a market's first quote it is valued by SetMark
// alone (manual mode); after it, SetMark is an operator override that the
// next quote or tick replaces.
//
// Liquidation (liquidate.go, docs/liquidation.md): an account whose
// equity falls below MM is found through a trigger index (no scan on a
// mark update), queued, and at the end of the same Apply has its orders
// cancelled and is reduced step by step with capped IOCs (never beyond
// its bankruptcy price, liquidation fee to the insurance fund); what the
// book cannot take is taken over by the fund at the bankruptcy price, or
// auto-deleveraged against ranked opposite positions when the fund cannot
// cover. Client 0 is the fund's position holder. Liquidations wait while
// a market's index is unreliable.
//
// Governance and eligibility (governance.go, docs/governance.md): market,
// collateral, firm and eligibility parameters are versioned, effective-
// dated sets in a governance.Store (maker-checker proposals, emergency
// tightening with a 24 h review); PI classification, knowledge and risk
// disclosures live in an eligibility.Registry. Both are ticked before any
// command that reaches their next deadline, so a change effective at T
// applies to the first command stamped ≥ T, live and in replay; their
// events are engine events; a market set's activation is applied to the
// market at once (brackets, leverage, fees, band, funding cap,
// liquidation caps) and re-indexes its positions for liquidation.
//
// Margin (see risk for the arithmetic): each client has one cross-margined
// derivatives account. equity = collateral + Σ unrealized PnL at mark.
// Required = Σ per market of the worst case of "all resting buys fill" or
// "all resting sells fill" (risk.Line.WorstCase). An order or amend is
// accepted if equity ≥ Required after it, or if it does not increase
// Required (so an under-margined account can still de-risk). Withdrawals
// need equity − amount ≥ Required and amount ≤ collateral, and are refused
// while equity < MM or the account is in liquidation.
//
// Invariants (CheckInvariants recomputes all of them from scratch):
//   - ledger: every posting balances; per asset the balances sum to
//     deposits − withdrawals;
//   - per market: long open interest = short open interest, both equal the
//     sum over positions, and the market's settlement account holds exactly
//     −Σ position cost (realized PnL is paid out of it);
//   - per client and market: the resting-order aggregates equal a walk of
//     the book, reduce-only resting quantity never exceeds what would close
//     the position, and no reduce-only order rests on the increasing side;
//   - no client that is not an eligible professional investor has a resting
//     order that could increase its position;
//   - every book passes its own invariants; the idempotency index matches
//     its ring;
//   - valuation: an oracle mark lies inside its band around the index, the
//     book's band contains the mark, each market's announced mode matches
//     its index's health, every live market has a future funding boundary
//     and the rounding account never goes negative. Funding is zero-sum per
//     settlement (Σ payments + residue = 0): funding.Settle checks it and
//     the ledger refuses an unbalanced posting, both by panicking;
//   - liquidation: the insurance fund is never negative; every account
//     outside the liquidation queue has equity ≥ MM and exactly one
//     uncrossed trigger entry per position (a brute-force comparison of
//     the detection index); open interest counts the fund's positions.
package engine

import (
	"github.com/sampan-hk/sampan/core/book"
	"github.com/sampan-hk/sampan/core/eligibility"
	"github.com/sampan-hk/sampan/core/fixed"
	"github.com/sampan-hk/sampan/core/funding"
	"github.com/sampan-hk/sampan/core/governance"
	"github.com/sampan-hk/sampan/core/ledger"
	"github.com/sampan-hk/sampan/core/lending"
	"github.com/sampan-hk/sampan/core/liquidation"
	"github.com/sampan-hk/sampan/core/risk"
)

type market struct {
	id         MarketID
	spec       MarketSpec
	params     risk.Params
	book       *book.Book
	mark       fixed.Price
	settlement ledger.AccountID // pays realized PnL; holds −Σ cost
	longOI     fixed.Qty
	shortOI    fixed.Qty
	val        valuation // index, mark and funding (valuation.go)
	// exactTrigger: one lot moving one tick changes a position's margin
	// slack by ≥ 1 minor unit in every tier (K × (1 − max MMR) ≥ 1), so a
	// single-position account's exact liquidation price is a safe trigger
	// despite MM's rounding up (liquidate.go).
	exactTrigger bool
	// maxLev is the selectable leverage cap (governed max_leverage; the
	// first tier's at genesis).
	maxLev int64
	// Spot markets (spot.go): index among spot markets and the lending
	// assets traded.
	spotIx            int
	finBase, finQuote lending.AssetID
}

type client struct {
	ref         string
	class       Classification
	knowledge   bool
	liquidating bool   // liquidation started (liquidate.go); blocks withdrawals
	queued      bool   // in the liquidation queue (started or waiting)
	stamp       uint32 // liquidation pass that last processed it (scratch)
	expiry      int64
	deriv, fin  ledger.AccountID
	// registered: classified through the eligibility registry
	// (CmdClassifyClient); the registry then gates it alone, else the
	// legacy fields above do (CmdSetClassification, governance.go).
	registered bool
}

// Engine is the state machine. Use New; the zero value is not usable.
type Engine struct {
	cfg     Config
	markets []market
	clients []client    // index = ClientID; 0 unused
	lines   []risk.Line // client × market, flattened
	led     *ledger.Ledger
	idem    idemTable
	// expiries holds PI classification expiry times (see eligibility.go).
	expiries expiryHeap
	seq      uint64
	now      int64
	// unders are the indexes, one per underlying, in order of first market.
	unders []underlying
	// nextDue is the earliest pending funding boundary (noDue: none), so
	// Apply tests one number to know whether time alone has work to do.
	nextDue int64

	ev       []Event
	touched  []lineRef // lines whose position changed in this command
	touchGen []uint32  // generation stamp per line, dedups touched
	gen      uint32
	trim     []book.OrderView
	depth    []book.Level // valuation scratch
	flevels  []funding.Level
	fpos     []funding.Position
	legs     []ledger.Leg

	// Liquidation (liquidate.go).
	lix         *liquidation.Index
	cand        []uint32   // accounts to re-check at the end of the command
	cand2       []uint32   // scratch
	liqQ        []ClientID // accounts in liquidation, by id
	order       []liqItem
	adl         []adlItem
	mktUsed     []fixed.Amount // notional liquidated per market in this call
	liqGen      uint32
	adlQ        []uint8        // per line: the last published ADL quantile (0: none)
	adlNext     int64          // next quantile publication time
	adlc        adlPublication // quantile publication in progress
	liqClient   ClientID       // the client whose liquidation order is matching
	liqFilled   fixed.Qty
	liqNotional fixed.Amount

	// Governance and eligibility (governance.go).
	gov        *governance.Store
	elig       *eligibility.Registry
	govDue     int64  // earliest store deadline (noDue: none)
	govLog     []byte // store inputs since genesis, for snapshots
	marketSets map[string]MarketID
	specs      []MarketSpec // current specs (Markets), updated on activation

	// Margin financing and spot (financing.go, spot.go, closeout.go).
	fin          *lending.Book // nil: financing disabled
	finDue       int64         // the book's next due time (noDue: none)
	guardQ       []ClientID    // clients whose spot reservations need a check
	spotMkts     []MarketID
	spot         []spotLine // client × spot market
	closing      []closeState
	closeScratch []ClientID
	secPending   []secInstr
}

type lineRef struct {
	c ClientID
	m MarketID
}

// New builds an engine from a config, which it validates.
func New(cfg Config) (*Engine, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return build(cfg, true), nil
}

// build lays out an engine for a validated config; Restore passes books
// false and brings its own books (a book's slot array is large).
func build(cfg Config, books bool) *Engine {
	e := &Engine{cfg: cfg, led: ledger.New(), idem: newIdemTable(cfg.IdemMax)}
	e.markets = make([]market, len(cfg.Markets))
	for i := range cfg.Markets {
		ms := cfg.Markets[i]
		m := &e.markets[i]
		m.id = MarketID(i)
		m.spec = ms
		m.params = risk.Params{K: ms.Spec.NotionalPerLotTick(), Brackets: ms.Brackets, TakerFee: ms.TakerFee}
		m.exactTrigger = exactTrigger(m.params.K, ms.Brackets)
		m.maxLev = ms.MaxLeverage
		if books {
			m.book = book.New(ms.Spec, ms.Limits)
		}
		m.settlement = e.led.Open()
	}
	// Client 0 does not exist; its lines are placeholders so a client's
	// lines start at client × markets.
	// Client 0 is the insurance fund's position holder (liquidate.go).
	e.clients = make([]client, 1, 1024)
	e.clients[0].deriv = ledger.Insurance
	e.lix = liquidation.NewIndex(len(e.markets))
	e.lix.Grow(1)
	e.mktUsed = make([]fixed.Amount, len(e.markets))
	e.adlQ = make([]uint8, len(e.markets), 1024*len(e.markets))
	e.liqClient = noLiqClient
	e.lines = make([]risk.Line, len(e.markets), 1024*len(e.markets))
	for i := range e.markets {
		e.lines[i].Leverage = 1 // the fund's positions are valued at 1× (queries)
	}
	e.touchGen = make([]uint32, len(e.markets), 1024*len(e.markets))
	e.ev = make([]Event, 0, 256)
	e.buildValuation()
	e.buildGovernance()
	e.finDue = noDue
	e.buildFinancing()
	e.spot = make([]spotLine, len(e.spotMkts)) // client 0's placeholders
	e.specs = append([]MarketSpec(nil), cfg.Markets...)
	return e
}

// MustNew is New for tests and fixed configs.
func MustNew(cfg Config) *Engine {
	e, err := New(cfg)
	if err != nil {
		panic(err)
	}
	return e
}

// Now returns the engine time of the last command.
func (e *Engine) Now() int64 { return e.now }

// Seq returns the sequence number of the last event emitted.
func (e *Engine) Seq() uint64 { return e.seq }

// Markets returns the market specs, indexed by MarketID.
// They are the current specs: governed fields (brackets, maximum leverage,
// fees, band, liquidation caps) follow activated parameter changes; a
// caller keeping them should refresh on EvGovernance events.
func (e *Engine) Markets() []MarketSpec { return e.specs }

// Mark returns a market's mark price (0 before the first SetMark).
func (e *Engine) Mark(m MarketID) fixed.Price { return e.markets[m].mark }

// OpenInterest returns a market's long and short open interest.
func (e *Engine) OpenInterest(m MarketID) (long, short fixed.Qty) {
	return e.markets[m].longOI, e.markets[m].shortOI
}

// Clients returns the number of clients.
func (e *Engine) Clients() int { return len(e.clients) - 1 }

// Ledger exposes the ledger for read-only queries.
func (e *Engine) Ledger() *ledger.Ledger { return e.led }

func (e *Engine) line(c ClientID, m MarketID) *risk.Line {
	return &e.lines[int(c)*len(e.markets)+int(m)]
}

func (e *Engine) emit(ev Event) {
	e.seq++
	ev.Seq = e.seq
	ev.Time = e.now
	e.ev = append(e.ev, ev)
}

// Apply executes one command at engine time now (unix nanoseconds). The
// returned events are valid until the next call to Apply.
func (e *Engine) Apply(cmd *Command, now int64) (Result, []Event) {
	if now > e.now {
		e.now = now
	}
	e.ev = e.ev[:0]
	if len(e.expiries) > 0 && e.expiries[0].at <= e.now {
		e.expire()
	}
	if e.now >= e.govDue {
		e.govTime()
	}
	if e.now >= e.nextDue {
		e.settleDue()
	}
	if e.now >= e.finDue {
		e.finTime()
	}
	pre := len(e.ev) // events caused by time, not by this command
	scope, keyed := e.idemScope(cmd)
	var fp uint64
	if keyed {
		fp = cmd.fingerprint()
		if ent := e.idem.get(scope, cmd.Key); ent != nil {
			if pre > 0 && (len(e.cand) > 0 || len(e.liqQ) > 0) {
				e.runLiquidations()
			}
			if ent.fp != fp {
				return Result{Code: CodeIdempotencyConflict}, e.ev
			}
			r := ent.res
			r.Replayed = true
			return r, e.ev
		}
	}
	r := e.dispatch(cmd)
	if r.Code != OK && len(e.ev) != pre {
		panic("engine: a rejected command emitted events")
	}
	if cmd.Kind == CmdPlaceOrder && cmd.Ref != "" && r.Code == OK {
		e.nameAccepted(cmd, e.ev[pre:])
	}
	if keyed && r.Code == OK {
		e.idem.put(scope, cmd.Key, fp, r)
	}
	// Liquidations run after an accepted command, or after a rejected one
	// when time alone changed state (funding); a rejection at the same
	// time changes nothing.
	if (r.Code == OK || pre > 0) && (len(e.cand) > 0 || len(e.liqQ) > 0) {
		e.runLiquidations()
	}
	if len(e.guardQ) > 0 {
		e.flushGuard()
	}
	if (r.Code == OK || pre > 0) && len(e.closing) > 0 {
		e.runCloseOuts()
	}
	e.fundSolvency()
	return r, e.ev
}

// nameAccepted gives a named place's accepted event its text. The place's
// own order is the one accepted for its client under its key (a liquidation
// the place triggers runs later, in runLiquidations).
func (e *Engine) nameAccepted(cmd *Command, evs []Event) {
	for i := range evs {
		if ev := &evs[i]; ev.Kind == EvOrderAccepted && ev.Client == cmd.Client && ev.ClientOrderID == cmd.Key {
			ev.Ref = cmd.Ref
			return
		}
	}
}

func (e *Engine) idemScope(cmd *Command) (uint32, bool) {
	if cmd.Key == 0 {
		return 0, false
	}
	switch cmd.Kind {
	case CmdPlaceOrder:
		return uint32(cmd.Client), true
	case CmdWithdraw, CmdTransfer, CmdAmendOrder, CmdFinWithdraw:
		return scopeClientRequest | uint32(cmd.Client), true
	case CmdCreateClient, CmdDeposit, CmdSetClassification, CmdSetKnowledge, CmdFundInsurance,
		CmdFinDeposit, CmdRepayLoan, CmdBookSecuritySale:
		return scopeOperator, true
	}
	return 0, false
}

func (e *Engine) dispatch(cmd *Command) Result {
	switch cmd.Kind {
	case CmdCreateClient:
		return e.createClient(cmd)
	case CmdDeposit:
		return e.deposit(cmd)
	case CmdWithdraw:
		return e.withdraw(cmd)
	case CmdTransfer:
		return e.transfer(cmd)
	case CmdSetClassification:
		return e.setClassification(cmd)
	case CmdSetKnowledge:
		return e.setKnowledge(cmd)
	case CmdSetLeverage:
		return e.setLeverage(cmd)
	case CmdSetMark:
		return e.setMark(cmd)
	case CmdPlaceOrder:
		return e.placeOrder(cmd)
	case CmdCancelOrder:
		return e.cancelOrder(cmd)
	case CmdCancelAll:
		return e.cancelAll(cmd)
	case CmdAmendOrder:
		return e.amendOrder(cmd)
	case CmdQuote:
		return e.quote(cmd)
	case CmdTick:
		return e.tick()
	case CmdFundInsurance:
		return e.fundInsurance(cmd)
	}
	if isGovCommand(cmd.Kind) {
		return e.governanceCommand(cmd)
	}
	if isFinCommand(cmd.Kind) {
		return e.finCommand(cmd)
	}
	return Result{Code: CodeUnknownCommand}
}

func (e *Engine) client(id ClientID) *client {
	if id == 0 || int(id) >= len(e.clients) {
		return nil
	}
	return &e.clients[id]
}

func (e *Engine) createClient(cmd *Command) Result {
	if len(cmd.Ref) > RefMax {
		return Result{Code: CodeInvalidField}
	}
	if len(e.clients)-1 >= e.cfg.MaxClients {
		return Result{Code: CodeTooManyClients}
	}
	id := ClientID(len(e.clients))
	e.clients = append(e.clients, client{ref: cmd.Ref, deriv: e.led.Open(), fin: e.led.Open()})
	for i := range e.markets {
		e.lines = append(e.lines, risk.Line{Leverage: min(e.markets[i].spec.DefaultLeverage, e.markets[i].maxLev)})
		e.touchGen = append(e.touchGen, 0)
		e.adlQ = append(e.adlQ, 0)
	}
	e.lix.Grow(len(e.clients))
	e.emit(Event{Kind: EvClientCreated, Client: id})
	if e.fin != nil {
		// Every client gets its margin-financing account under the same id.
		o := e.fin.OpenClient(e.now, lending.ClientID(id), 0)
		if !o.OK() {
			panic("engine: financing account exists for a new client")
		}
		e.finOut(o)
		e.spot = append(e.spot, make([]spotLine, len(e.spotMkts))...)
	}
	return Result{Client: id}
}

func (e *Engine) deposit(cmd *Command) Result {
	c := e.client(cmd.Client)
	if c == nil {
		return Result{Code: CodeUnknownClient}
	}
	if cmd.Amount <= 0 {
		return Result{Code: CodeInvalidAmount}
	}
	if _, err := fixed.Add(int64(e.led.Deposits(ledger.USD)), int64(cmd.Amount)); err != nil {
		return Result{Code: CodeInvalidAmount}
	}
	e.led.Deposit(ledger.USD, c.deriv, cmd.Amount)
	e.reindex(cmd.Client)
	e.emit(Event{Kind: EvDeposited, Client: cmd.Client, Amount: cmd.Amount, Balance: e.led.Balance(ledger.USD, c.deriv)})
	return Result{Client: cmd.Client}
}

// Totals are a client's cross-margin figures at current marks.
type Totals struct {
	Collateral fixed.Amount
	Unrealized fixed.Amount
	Equity     fixed.Amount
	IM         fixed.Amount // positions only
	MM         fixed.Amount
	Required   fixed.Amount // positions and resting orders at their worst case
}

// totals computes a client's figures: O(markets), no allocation.
func (e *Engine) totals(id ClientID) Totals {
	c := &e.clients[id]
	t := Totals{Collateral: e.led.Balance(ledger.USD, c.deriv)}
	base := int(id) * len(e.markets)
	for i := range e.markets {
		l := &e.lines[base+i]
		if l.Size == 0 && l.Orders == 0 {
			continue
		}
		f := l.Compute(&e.markets[i].params, e.markets[i].mark)
		t.Unrealized += f.Unrealized
		t.IM += f.IM
		t.MM += f.MM
		t.Required += f.Required
	}
	t.Equity = t.Collateral + t.Unrealized
	return t
}

// withdrawable decides whether amount may leave the derivatives account.
func (e *Engine) withdrawable(id ClientID, amount fixed.Amount) Code {
	c := &e.clients[id]
	if amount <= 0 {
		return CodeInvalidAmount
	}
	t := e.totals(id)
	if c.liquidating || c.queued || t.Equity < t.MM {
		return CodeAccountLiquidatable
	}
	if amount > t.Collateral {
		return CodeInsufficientBalance
	}
	if t.Equity-amount < t.Required {
		return CodeInsufficientMargin
	}
	return OK
}

func (e *Engine) withdraw(cmd *Command) Result {
	c := e.client(cmd.Client)
	if c == nil {
		return Result{Code: CodeUnknownClient}
	}
	if code := e.withdrawable(cmd.Client, cmd.Amount); code != OK {
		return Result{Code: code}
	}
	e.led.Withdraw(ledger.USD, c.deriv, cmd.Amount)
	e.reindex(cmd.Client)
	e.emit(Event{Kind: EvWithdrawn, Client: cmd.Client, Amount: cmd.Amount, Balance: e.led.Balance(ledger.USD, c.deriv)})
	return Result{Client: cmd.Client}
}

func (e *Engine) transfer(cmd *Command) Result {
	c := e.client(cmd.Client)
	if c == nil {
		return Result{Code: CodeUnknownClient}
	}
	if cmd.From == cmd.To || cmd.From < Derivatives || cmd.From > Financing || cmd.To < Derivatives || cmd.To > Financing {
		return Result{Code: CodeInvalidAccountKind}
	}
	if cmd.Amount <= 0 {
		return Result{Code: CodeInvalidAmount}
	}
	if e.fin != nil {
		return e.finTransfer(cmd, c)
	}
	from, to := c.fin, c.deriv
	if cmd.From == Derivatives {
		if code := e.withdrawable(cmd.Client, cmd.Amount); code != OK {
			return Result{Code: code}
		}
		from, to = c.deriv, c.fin
	} else if e.led.Balance(ledger.USD, c.fin) < cmd.Amount {
		return Result{Code: CodeInsufficientBalance}
	}
	e.led.Transfer(ledger.USD, from, to, cmd.Amount)
	e.reindex(cmd.Client)
	e.emit(Event{Kind: EvTransferred, Client: cmd.Client, From: cmd.From, To: cmd.To, Amount: cmd.Amount, Balance: e.led.Balance(ledger.USD, c.deriv)})
	return Result{Client: cmd.Client}
}

func (e *Engine) setClassification(cmd *Command) Result {
	c := e.client(cmd.Client)
	if c == nil {
		return Result{Code: CodeUnknownClient}
	}
	if cmd.Class >= classEnd {
		return Result{Code: CodeInvalidClassification}
	}
	c.class, c.expiry = cmd.Class, cmd.Expiry
	if cmd.Class == Retail {
		c.expiry = 0
	}
	e.emit(Event{Kind: EvClassificationSet, Client: cmd.Client, Class: c.class, Expiry: c.expiry})
	e.eligibilityChanged(cmd.Client)
	return Result{Client: cmd.Client}
}

func (e *Engine) setKnowledge(cmd *Command) Result {
	c := e.client(cmd.Client)
	if c == nil {
		return Result{Code: CodeUnknownClient}
	}
	c.knowledge = cmd.Flag
	e.emit(Event{Kind: EvKnowledgeSet, Client: cmd.Client, Flag: cmd.Flag})
	e.eligibilityChanged(cmd.Client)
	return Result{Client: cmd.Client}
}

// eligibility says whether a client may open or increase a position, and
// if not, why. The checks run in this order so the reason names the most
// basic gap first. A client classified through the registry
// (CmdClassifyClient) is gated by eligibility.CanIncrease alone: PI
// unexpired at engine time, knowledge on record, current disclosure
// accepted. A client only ever set by the legacy commands
// (CmdSetClassification, CmdSetKnowledge) is gated by those records, plus
// the current disclosure once one is published.
func (e *Engine) eligibility(id ClientID) Code {
	c := &e.clients[id]
	if c.registered {
		if ok, r := e.elig.CanIncrease(uint64(id), e.now); !ok {
			return FromEligibility(r)
		}
		return OK
	}
	switch {
	case c.class == Retail:
		return CodeNotProfessionalInvestor
	case e.now >= c.expiry:
		return CodePIClassificationExpired
	case !c.knowledge:
		return CodeNoDerivativesKnowledge
	case !e.elig.AcceptedCurrent(uint64(id)):
		return CodeRiskDisclosureNotAccepted
	}
	return OK
}

func (e *Engine) setLeverage(cmd *Command) Result {
	c := e.client(cmd.Client)
	if c == nil {
		return Result{Code: CodeUnknownClient}
	}
	if int(cmd.Market) >= len(e.markets) {
		return Result{Code: CodeUnknownMarket}
	}
	m := &e.markets[cmd.Market]
	lev := int64(cmd.Leverage)
	if lev < 1 || lev > m.maxLev || lev > LeverageMax {
		return Result{Code: CodeLeverageOutOfRange}
	}
	l := e.line(cmd.Client, cmd.Market)
	if lev < l.Leverage && (l.Size != 0 || l.Orders != 0) {
		// Lowering leverage raises IM; allow it only if still covered.
		t := e.totals(cmd.Client)
		old, _, _ := l.WorstCase(&m.params, m.mark)
		tmp := *l
		tmp.Leverage = lev
		nw, _, _ := tmp.WorstCase(&m.params, m.mark)
		if t.Equity < t.Required-old+nw {
			return Result{Code: CodeInsufficientMargin}
		}
	}
	l.Leverage = lev
	e.emit(Event{Kind: EvLeverageSet, Client: cmd.Client, Market: cmd.Market, Leverage: lev})
	return Result{Client: cmd.Client}
}

func (e *Engine) setMark(cmd *Command) Result {
	if int(cmd.Market) >= len(e.markets) {
		return Result{Code: CodeUnknownMarket}
	}
	m := &e.markets[cmd.Market]
	if cmd.Price <= 0 || cmd.Price > m.spec.Spec.MaxPrice {
		return Result{Code: CodeInvalidMark}
	}
	// An operator override (see valuation.go): in oracle mode the next
	// Quote or Tick replaces it.
	m.mark, m.val.oracleMark = cmd.Price, false
	m.book.SetBand(cmd.Price, m.spec.BandPpm)
	e.emit(Event{Kind: EvMarkSet, Market: cmd.Market, Price: cmd.Price})
	e.markMoved(m)
	return Result{}
}
