package engine

import (
	"github.com/sampan-hk/sampan/core/eligibility"
	"github.com/sampan-hk/sampan/core/fixed"
	"github.com/sampan-hk/sampan/core/funding"
	"github.com/sampan-hk/sampan/core/governance"
	"github.com/sampan-hk/sampan/core/risk"
)

// Governance and eligibility inside the engine (docs/governance.md).
//
// The engine owns a governance.Store (operators, versioned effective-dated
// parameter sets, maker-checker proposals, emergency tightening) and an
// eligibility.Registry (PI classification with evidence, knowledge
// assessments, risk disclosures). Both are pure and ticked with engine
// time:
//
//   - before every command whose time reaches the stores' next deadline
//     (an activation, a lapse, an overdue review flag, a classification
//     reminder or expiry), Apply ticks both stores first, so a change
//     effective at T governs every command stamped ≥ T and none stamped
//     < T, live and in replay. When nothing is due this is one comparison
//     (govDue), so the trading path pays nothing;
//   - before every governance or eligibility command both stores are
//     ticked to the command's time (the stores' contract).
//
// Store events become engine events (EvGovernance, EvEligibility) with the
// engine's sequence numbers; the store event and its canonical encoding
// ride in Event.Gov.
//
// Operators: every governance command names the acting operator (the
// gateway fills it from the API key); the store re-checks its role and
// permission (governance.Allowed) for every mutation, approvals included,
// and the engine checks classify_clients / publish_disclosure itself
// before touching the eligibility registry.
//
// Activation effects. A market set ("market:SYMBOL") that activates or is
// tightened in an emergency is applied to that market at once:
//
//	governed now:  max_leverage (selectable leverage; settings above it are
//	               lowered, with an EvLeverageSet each), maker/taker fees,
//	               price_band_ppm (the book's band is re-centred), funding_cap_ppm,
//	               liq_step_cap_ppm, liq_fee_ppm, the bracket table (caps, tier
//	               max leverage, MM rates, maintenance amounts)
//	not governed:  tick_size, lot_size (resting orders and positions are in
//	               ticks and lots: a change on a live book needs a migration),
//	               funding_interval_s (one interval for every market), oi_cap_lots
//	               (not enforced yet). A proposal or emergency change that moves
//	               any of them is refused with CodeParamNotGoverned.
//
// After a change every position in the market is re-indexed for
// liquidation (MM rates move trigger prices) and any account now below MM
// goes through the ordinary liquidation path in the same Apply. Margin is
// never cached, so every figure is recomputed from the new parameters.
// The "eligibility" set feeds eligibility.Registry.SetParams. Collateral
// and firm sets drive the financing book when financing is enabled
// (financing.go: SetCollateral, SetCapital, SetParams); without it they
// are versioned and governed but inert.
//
// Snapshots keep the stores as their input log (govLog): every tick of the
// stores and every accepted governance command with its time. Restore
// replays it into fresh stores (the stores are deterministic functions of
// their inputs) and re-applies each market's current values.

// GovernanceConfig configures the stores. Markets' genesis values come
// from their MarketSpec and the eligibility set's from Eligibility.
type GovernanceConfig struct {
	Operators   []governance.Operator   // the first operators (ID, Role): at least one admin to add more
	Rules       governance.Config       // zero: governance.DefaultConfig (24 h review)
	Eligibility eligibility.Params      // zero: eligibility.DefaultParams
	Sets        []governance.GenesisSet // extra genesis sets (collateral:*, firm)
}

func (g *GovernanceConfig) defaults() {
	if g.Rules == (governance.Config{}) {
		g.Rules = governance.DefaultConfig
	}
	if g.Eligibility == (eligibility.Params{}) {
		g.Eligibility = eligibility.DefaultParams
	}
}

// Catalog is the engine's parameter schemas.
func Catalog() *governance.Catalog {
	return governance.NewCatalog(governance.MarketSchema, governance.CollateralSchema, governance.FirmSchema, eligibility.Schema)
}

// marketValue is a market's parameters as a governed value.
func marketValue(m *market, fundingInterval int64) governance.Value {
	t := governance.Table{Name: "brackets", Columns: []string{"cap", "max_leverage", "mmr_ppm", "maint_amount"}}
	for _, b := range m.params.Brackets {
		t.Rows = append(t.Rows, []int64{int64(b.Cap), b.MaxLeverage, int64(b.MMR), int64(b.MaintAmount)})
	}
	v, _ := governance.NewValue([]governance.Field{
		{Name: "tick_size", V: m.spec.Spec.Tick.Units},
		{Name: "lot_size", V: m.spec.Spec.Lot.Units},
		{Name: "max_leverage", V: m.maxLev},
		{Name: "maker_fee_ppm", V: int64(m.spec.MakerFee)},
		{Name: "taker_fee_ppm", V: int64(m.spec.TakerFee)},
		{Name: "price_band_ppm", V: int64(m.spec.BandPpm)},
		{Name: "funding_interval_s", V: fundingInterval / 1_000_000_000},
		{Name: "funding_cap_ppm", V: int64(m.val.capRate / 1000)},
		{Name: "liq_step_cap_ppm", V: int64(m.spec.Liquidation.PortionPpm)},
		{Name: "liq_fee_ppm", V: int64(m.spec.Liquidation.FeePpm)},
		{Name: "oi_cap_lots", V: 0},
	}, []governance.Table{t})
	return v
}

// buildGovernance creates the stores at engine time 0. A market whose
// parameters do not fit the market schema (or whose symbol is not a valid
// set name) is simply not governed: its set does not exist.
func (e *Engine) buildGovernance() {
	cat := Catalog()
	g := governance.Genesis{Operators: e.cfg.Governance.Operators}
	e.marketSets = map[string]MarketID{}
	for i := range e.markets {
		m := &e.markets[i]
		id := "market:" + m.spec.Symbol
		sc, r := cat.ParseSetID(id)
		if r != governance.ReasonNone {
			continue
		}
		v := marketValue(m, e.cfg.Funding.Interval)
		if sc.Validate(id, v) != governance.ReasonNone {
			continue
		}
		e.marketSets[id] = m.id
		g.Sets = append(g.Sets, governance.GenesisSet{ID: id, Value: v})
	}
	g.Sets = append(g.Sets, governance.GenesisSet{ID: eligibility.SetID, Value: e.cfg.Governance.Eligibility.Value()})
	g.Sets = append(g.Sets, e.cfg.Governance.Sets...)
	g.Sets = append(g.Sets, e.finGenesisSets()...)
	e.gov, _ = governance.New(e.cfg.Governance.Rules, cat, g)
	for _, o := range g.Operators {
		e.idem.noteOperator(o.ID)
	}
	e.elig = eligibility.New(e.cfg.Governance.Eligibility, 0)
	e.govDue = noDue
}

// Governance returns the governance store for read-only queries
// (parameters, history, proposals, operators). Do not call its mutating
// methods: commands go through Apply.
func (e *Engine) Governance() *governance.Store { return e.gov }

// Eligibility returns the eligibility registry for read-only queries.
func (e *Engine) Eligibility() *eligibility.Registry { return e.elig }

func (e *Engine) refreshGovDue() {
	e.govDue = noDue
	if t, ok := e.gov.NextDeadline(); ok {
		e.govDue = t
	}
	if t, ok := e.elig.NextDeadline(); ok && t < e.govDue {
		e.govDue = t
	}
}

// tickStores brings both stores to engine time, logging the tick so a
// restore replays it, and applies what fell due.
func (e *Engine) tickStores(live bool) {
	if live {
		e.govLog = append(e.govLog, 0)
		e.govLog = put64(e.govLog, uint64(e.now))
	}
	ge := e.gov.Tick(e.now)
	ee := e.elig.Tick(e.now)
	e.onGovEvents(ge, live)
	e.onEligEvents(ee, live)
	e.refreshGovDue()
}

// govTime is Apply's hook: time alone reached a governance or eligibility
// deadline.
func (e *Engine) govTime() { e.tickStores(true) }

func (e *Engine) onGovEvents(evs []governance.Event, live bool) {
	for i := range evs {
		ge := &evs[i]
		mid, isMarket := e.marketSets[ge.Set]
		if ge.Kind == governance.EvActivated || ge.Kind == governance.EvEmergencyApplied {
			switch {
			case ge.Set == eligibility.SetID:
				if p, err := eligibility.ParamsFrom(ge.Value); err == nil {
					e.elig.SetParams(p)
				}
			case isMarket && live:
				e.applyMarketValue(&e.markets[mid], ge.Value)
			case live:
				// Collateral and firm sets drive the financing book; in a
				// snapshot restore the book's state comes from the snapshot.
				e.finGovActivated(ge.Set, ge.Value)
			}
		}
		if live {
			ev := Event{Kind: EvGovernance, Flags: uint8(ge.Kind), Market: AllMarkets,
				Gov: &GovDetail{Audit: ge.Encode(nil), Gov: ge}}
			if isMarket {
				ev.Market = mid
			}
			e.emit(ev)
		}
	}
}

func (e *Engine) onEligEvents(evs []eligibility.Event, live bool) {
	for i := range evs {
		ee := &evs[i]
		if !live {
			continue
		}
		id := ClientID(ee.Client)
		e.emit(Event{Kind: EvEligibility, Flags: uint8(ee.Kind), Client: id, Gov: &GovDetail{Audit: ee.Encode(nil), Elig: ee}})
		switch ee.Kind {
		case eligibility.EvClassified:
			e.clients[id].registered = true
			if e.eligibility(id) != OK {
				e.revokeOrders(id)
			}
		case eligibility.EvClassificationExpired:
			e.revokeOrders(id)
		case eligibility.EvDisclosurePublished:
			// Everyone who has not accepted the new version loses the right
			// to increase: their increasing orders go.
			for c := 1; c < len(e.clients); c++ {
				if e.hasOrders(ClientID(c)) && e.eligibility(ClientID(c)) != OK {
					e.revokeOrders(ClientID(c))
				}
			}
		}
	}
}

func (e *Engine) hasOrders(id ClientID) bool {
	base := int(id) * len(e.markets)
	for i := range e.markets {
		if e.lines[base+i].Orders != 0 {
			return true
		}
	}
	return false
}

// isGovCommand reports the governance and eligibility command kinds.
func isGovCommand(k CommandKind) bool { return k >= CmdAddOperator && k <= CmdAcceptDisclosure }

// governanceCommand runs one governance or eligibility command live.
// A key makes it idempotent per acting operator (keyBegin, idem.go).
func (e *Engine) governanceCommand(cmd *Command) Result {
	k, r, done := e.keyBegin(cmd)
	if done {
		return r
	}
	return e.keyEnd(k, cmd.Key, e.runGovernance(cmd))
}

func (e *Engine) runGovernance(cmd *Command) Result {
	// Nothing is due (Apply ticked if it was), so this only moves the
	// stores' clocks, which the state hash leaves out; it is not logged,
	// and a refused command leaves no trace.
	if len(e.gov.Tick(e.now)) != 0 || len(e.elig.Tick(e.now)) != 0 {
		panic("engine: governance work due past govDue")
	}
	if code := e.govPrecheck(cmd); code != OK {
		return Result{Code: code}
	}
	r, ge, ee := e.govExec(cmd, e.now)
	if r.Code != OK {
		return r
	}
	var err error
	e.govLog = append(e.govLog, 1)
	e.govLog = put64(e.govLog, uint64(e.now))
	n := len(e.govLog)
	e.govLog = put32(e.govLog, 0)
	if e.govLog, err = AppendCommand(e.govLog, cmd); err != nil {
		panic("engine: an accepted governance command does not encode: " + err.Error())
	}
	putU32At(e.govLog[n:], uint32(len(e.govLog)-n-4))
	e.onGovEvents(ge, true)
	e.onEligEvents(ee, true)
	e.refreshGovDue()
	return r
}

func putU32At(b []byte, v uint32) {
	b[0], b[1], b[2], b[3] = byte(v), byte(v>>8), byte(v>>16), byte(v>>24)
}

// govPrecheck is the engine's own validation, before the store's: who may
// act on the eligibility registry, that clients exist, and that a
// parameter value is one the engine can apply.
func (e *Engine) govPrecheck(cmd *Command) Code {
	a := cmd.args()
	if cmd.Kind != CmdAcceptDisclosure && a.Operator == "" {
		return CodeOperatorRequired
	}
	switch cmd.Kind {
	case CmdClassifyClient, CmdRecordKnowledge:
		if r := e.gov.Authorize(a.Operator, governance.PermClassifyClients, governance.DomainNone); r != governance.ReasonNone {
			return FromGovernance(r)
		}
		if e.client(cmd.Client) == nil {
			return CodeUnknownClient
		}
	case CmdPublishDisclosure:
		if r := e.gov.Authorize(a.Operator, governance.PermPublishDisclosure, governance.DomainNone); r != governance.ReasonNone {
			return FromGovernance(r)
		}
		if a.ID > 0xFFFF_FFFF {
			return CodeInvalidField
		}
	case CmdAcceptDisclosure:
		if e.client(cmd.Client) == nil {
			return CodeUnknownClient
		}
		if a.ID > 0xFFFF_FFFF {
			return CodeInvalidField
		}
	case CmdProposeParams, CmdEmergencyTighten:
		sc, r := e.gov.Catalog().ParseSetID(a.Set)
		if r != governance.ReasonNone {
			return FromGovernance(r)
		}
		perm := governance.PermPropose
		if cmd.Kind == CmdEmergencyTighten {
			perm = governance.PermEmergencyTighten
		}
		if r := e.gov.Authorize(a.Operator, perm, sc.Domain); r != governance.ReasonNone {
			return FromGovernance(r)
		}
		v, r := governance.DecodeValue([]byte(a.Value))
		if r != governance.ReasonNone {
			return FromGovernance(r)
		}
		if r := sc.Validate(a.Set, v); r != governance.ReasonNone {
			return FromGovernance(r)
		}
		switch {
		case sc.Kind == "market":
			mid, ok := e.marketSets[a.Set]
			if !ok {
				return CodeParamUnknownSet
			}
			return e.checkMarketValue(&e.markets[mid], v)
		case a.Set == eligibility.SetID:
			if _, err := eligibility.ParamsFrom(v); err != nil {
				return CodeParamInvalid
			}
		case sc.Kind == "collateral" || sc.Kind == "firm":
			return e.checkFinValue(a.Set, v)
		}
	}
	return OK
}

// govExec calls the store for an accepted-so-far command (live) or a
// logged one (replay). It returns the result and the stores' events.
func (e *Engine) govExec(cmd *Command, now int64) (Result, []governance.Event, []eligibility.Event) {
	a := cmd.args()
	var (
		ge []governance.Event
		ee []eligibility.Event
		gr governance.Reason
		er eligibility.Reason
		id uint64
	)
	var v governance.Value
	if cmd.Kind == CmdProposeParams || cmd.Kind == CmdEmergencyTighten {
		if v, gr = governance.DecodeValue([]byte(a.Value)); gr != governance.ReasonNone {
			return Result{Code: FromGovernance(gr)}, nil, nil
		}
	}
	switch cmd.Kind {
	case CmdAddOperator:
		ge, gr = e.gov.AddOperator(now, a.Operator, a.Target, a.Role)
	case CmdDisableOperator:
		ge, gr = e.gov.DisableOperator(now, a.Operator, a.Target)
	case CmdProposeParams:
		id, ge, gr = e.gov.Propose(now, a.Operator, a.Set, v, a.At, a.Note)
	case CmdApproveProposal:
		ge, gr = e.gov.Approve(now, a.Operator, a.ID)
	case CmdRejectProposal:
		ge, gr = e.gov.Reject(now, a.Operator, a.ID, a.Note)
	case CmdWithdrawProposal:
		ge, gr = e.gov.Withdraw(now, a.Operator, a.ID)
	case CmdEmergencyTighten:
		id, ge, gr = e.gov.EmergencyTighten(now, a.Operator, a.Set, v, a.Note)
	case CmdReviewEmergency:
		ge, gr = e.gov.ReviewEmergency(now, a.Operator, a.Set, a.ID, a.Note)
	case CmdClassifyClient:
		ee, er = e.elig.Classify(now, uint64(cmd.Client), eligibility.Evidence{Class: a.PIClass, Kind: a.Evidence,
			Date: a.At, Portfolio: a.Portfolio, TotalAssets: a.TotalAssets, Assessor: a.Operator, Reference: a.Note})
	case CmdRecordKnowledge:
		ee, er = e.elig.RecordKnowledge(now, uint64(cmd.Client), eligibility.Knowledge{Basis: a.Basis, Trades: a.Trades,
			Assessor: a.Operator, Reference: a.Note})
	case CmdPublishDisclosure:
		ee, er = e.elig.PublishDisclosure(now, a.Operator, uint32(a.ID), a.Digest)
	case CmdAcceptDisclosure:
		ee, er = e.elig.AcceptDisclosure(now, uint64(cmd.Client), uint32(a.ID))
	default:
		return Result{Code: CodeUnknownCommand}, nil, nil
	}
	switch {
	case gr != governance.ReasonNone:
		return Result{Code: FromGovernance(gr)}, nil, nil
	case er != eligibility.ReasonNone:
		return Result{Code: FromEligibility(er)}, nil, nil
	}
	if cmd.Kind == CmdAddOperator {
		// Live and in a restore's replay alike, so scopes number the same.
		e.idem.noteOperator(a.Target)
	}
	return Result{Client: cmd.Client, ID: id}, ge, ee
}

// field reads a governed field (the schema guarantees presence).
func gfield(v governance.Value, name string) int64 {
	x, _ := v.Get(name)
	return x
}

func bracketsOf(v governance.Value) risk.Brackets {
	t, _ := v.Table("brackets")
	cc, cl, cm, ca := t.Column("cap"), t.Column("max_leverage"), t.Column("mmr_ppm"), t.Column("maint_amount")
	bs := make(risk.Brackets, len(t.Rows))
	for i, r := range t.Rows {
		bs[i] = risk.Bracket{Cap: fixed.Amount(r[cc]), MaxLeverage: r[cl], MMR: fixed.Ppm(r[cm]), MaintAmount: fixed.Amount(r[ca])}
	}
	return bs
}

// checkMarketValue refuses values the engine cannot apply to a live market.
func (e *Engine) checkMarketValue(m *market, v governance.Value) Code {
	cur := marketValue(m, e.cfg.Funding.Interval)
	for _, f := range [...]string{"tick_size", "lot_size", "funding_interval_s", "oi_cap_lots"} {
		if gfield(v, f) != gfield(cur, f) {
			return CodeParamNotGoverned
		}
	}
	maker, taker := fixed.Ppm(gfield(v, "maker_fee_ppm")), fixed.Ppm(gfield(v, "taker_fee_ppm"))
	if taker < 0 || -maker > taker {
		return CodeParamInvalid
	}
	bs := bracketsOf(v)
	if bs.Validate() != nil || gfield(v, "max_leverage") > LeverageMax || gfield(v, "max_leverage") > bs[0].MaxLeverage {
		return CodeParamInvalid
	}
	lp := m.spec.Liquidation
	lp.PortionPpm, lp.FeePpm = fixed.Ppm(gfield(v, "liq_step_cap_ppm")), fixed.Ppm(gfield(v, "liq_fee_ppm"))
	if lp.Validate() != nil {
		return CodeParamInvalid
	}
	return OK
}

// setMarketValue installs a checked value's governed fields in a market's
// parameters (no events, no book: also used by Restore before books exist).
func (e *Engine) setMarketValue(m *market, v governance.Value) {
	bs := bracketsOf(v)
	m.spec.Brackets = bs
	m.params.Brackets = bs
	m.maxLev = gfield(v, "max_leverage")
	m.spec.MaxLeverage = m.maxLev
	m.spec.MakerFee = fixed.Ppm(gfield(v, "maker_fee_ppm"))
	m.spec.TakerFee = fixed.Ppm(gfield(v, "taker_fee_ppm"))
	m.params.TakerFee = m.spec.TakerFee
	m.spec.BandPpm = fixed.Ppm(gfield(v, "price_band_ppm"))
	m.val.capRate = funding.Rate(gfield(v, "funding_cap_ppm") * 1000)
	m.spec.Liquidation.PortionPpm = fixed.Ppm(gfield(v, "liq_step_cap_ppm"))
	m.spec.Liquidation.FeePpm = fixed.Ppm(gfield(v, "liq_fee_ppm"))
	m.exactTrigger = exactTrigger(m.params.K, bs)
	if int(m.id) < len(e.specs) {
		e.specs[m.id] = m.spec
	}
}

func exactTrigger(k int64, bs risk.Brackets) bool {
	maxMMR := fixed.Ppm(0)
	for _, b := range bs {
		maxMMR = max(maxMMR, b.MMR)
	}
	return k*int64(fixed.PpmOne-maxMMR) >= int64(fixed.PpmOne)
}

// applyMarketValue is a live activation: new parameters, the book's band
// re-centred, leverage settings above the new maximum lowered, and every
// position re-indexed for liquidation (new MM rates move triggers; an
// account now below MM becomes a liquidation candidate).
func (e *Engine) applyMarketValue(m *market, v governance.Value) {
	e.setMarketValue(m, v)
	if m.mark > 0 {
		m.book.SetBand(m.mark, m.spec.BandPpm)
	}
	nm := len(e.markets)
	for id := 1; id < len(e.clients); id++ {
		l := &e.lines[id*nm+int(m.id)]
		if l.Leverage > m.maxLev {
			l.Leverage = m.maxLev
			e.emit(Event{Kind: EvLeverageSet, Client: ClientID(id), Market: m.id, Leverage: m.maxLev})
		}
	}
	for id := 1; id < len(e.clients); id++ {
		if e.lines[id*nm+int(m.id)].Size != 0 {
			e.reindex(ClientID(id))
		}
	}
}

// replayGovLog rebuilds the stores from a snapshot's log, then applies
// each governed market's current value.
func (e *Engine) replayGovLog(log []byte) bool {
	r := reader{b: log}
	for len(r.b) > 0 && r.err == nil {
		tag := r.u8()
		now := int64(r.u64())
		if r.err != nil || now < e.gov.Now() || now < e.elig.Now() {
			return false
		}
		switch tag {
		case 0:
			e.onGovEvents(e.gov.Tick(now), false)
			e.onEligEvents(e.elig.Tick(now), false)
		case 1:
			n := int(r.u32())
			cmd, err := DecodeCommand(r.take(n))
			if r.err != nil || err != nil || !isGovCommand(cmd.Kind) {
				return false
			}
			e.onGovEvents(e.gov.Tick(now), false)
			e.onEligEvents(e.elig.Tick(now), false)
			res, ge, ee := e.govExec(&cmd, now)
			if res.Code != OK {
				return false
			}
			e.onGovEvents(ge, false)
			e.onEligEvents(ee, false)
		default:
			return false
		}
	}
	if r.err != nil {
		return false
	}
	e.govLog = append(e.govLog[:0], log...)
	for i := range e.markets {
		m := &e.markets[i]
		if v, ok := e.gov.Current("market:" + m.spec.Symbol); ok && v.Number > 1 {
			e.setMarketValue(m, v.Value)
		}
	}
	e.refreshGovDue()
	return true
}
