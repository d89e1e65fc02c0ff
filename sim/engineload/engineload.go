// Package engineload turns the seed-fixed order-book workload (sim/workload)
// into engine commands, for the engine benchmark: the same limit, cancel
// and market operations, spread over 1,000 clients, each an eligible
// professional investor with collateral, so every order goes through the
// engine's eligibility gate, margin check and position updates.
//
// The book ids in the workload's cancels stay valid because the engine's
// BTC book gets the same instrument, the same limits and the same accepted
// orders in the same sequence as the book the workload was generated on:
// clients are funded far above any margin the workload can need, so the
// engine rejects nothing the plain book accepted. Run checks that (any
// unexpected rejection is an error in the workload, not a measurement).
package engineload

import (
	"github.com/sampan-hk/sampan/core/book"
	"github.com/sampan-hk/sampan/core/eligibility"
	"github.com/sampan-hk/sampan/core/engine"
	"github.com/sampan-hk/sampan/core/fixed"
	"github.com/sampan-hk/sampan/core/governance"
	"github.com/sampan-hk/sampan/sim/workload"
)

// Market is the market the workload trades.
const Market = engine.MarketID(0)

// MarkEvery is how often (in workload operations) a SetMark command follows
// the book's mid, so the price band tracks the market as an oracle would.
const MarkEvery = 1000

// Config is DefaultConfig with the BTC market set to the workload's
// instrument and book limits.
func Config() engine.Config {
	cfg := engine.DefaultConfig()
	cfg.Markets[Market].Spec = workload.Spec()
	cfg.Markets[Market].Limits = workload.Limits()
	return cfg
}

// Load is a workload ready to drive an engine.
type Load struct {
	Stream *workload.Stream
	Mids   []fixed.Price // book mid after each MarkEvery ops, from generation
	keys   bool
}

// New generates the workload. With keys set, every order carries a client
// order id, so the idempotency window and the book's client-id index are
// exercised too.
func New(p workload.Params, keys bool) *Load {
	st := workload.Generate(p)
	l := &Load{Stream: st, keys: keys}
	// Replay on a plain book to record the mid every MarkEvery ops.
	b := workload.NewBook()
	for i := range st.Ops {
		workload.Apply(b, &st.Ops[i])
		if (i+1)%MarkEvery == 0 {
			l.Mids = append(l.Mids, mid(b, p.Mid))
		}
	}
	return l
}

func mid(b *book.Book, def fixed.Price) fixed.Price {
	bid, _, okb := b.Best(book.Buy)
	ask, _, oka := b.Best(book.Sell)
	switch {
	case okb && oka:
		return (bid + ask) / 2
	case okb:
		return bid
	case oka:
		return ask
	}
	return def
}

// Setup returns the commands that create and fund the clients and set the
// first mark.
func (l *Load) Setup() []engine.Command {
	var cmds []engine.Command
	p := l.Stream.Params
	cmds = append(cmds, engine.Command{Kind: engine.CmdSetMark, Market: Market, Price: p.Mid})
	for i := 0; i < p.Owners; i++ {
		c := engine.ClientID(i + 1)
		cmds = append(cmds,
			engine.Command{Kind: engine.CmdCreateClient},
			engine.Command{Kind: engine.CmdSetClassification, Client: c, Class: engine.InstitutionalPI, Expiry: 1 << 62},
			engine.Command{Kind: engine.CmdSetKnowledge, Client: c, Flag: true},
			engine.Command{Kind: engine.CmdDeposit, Client: c, Amount: 100_000_000 * 1_000_000})
	}
	return cmds
}

// Command fills dst with the engine command for workload op i. Every
// MarkEvery-th op is followed by a mark update, which the caller gets by
// calling Mark(i).
func (l *Load) Command(i int, dst *engine.Command) {
	op := &l.Stream.Ops[i]
	*dst = engine.Command{Client: engine.ClientID(op.Owner) + 1, Market: Market, Side: op.Side, TIF: op.TIF,
		Price: op.Price, Qty: op.Qty}
	switch op.Kind {
	case workload.Cancel:
		dst.Kind = engine.CmdCancelOrder
		dst.Order = op.ID
		dst.Price, dst.Qty = 0, 0
	case workload.Market:
		dst.Kind = engine.CmdPlaceOrder
		dst.Type = book.Market
		dst.TIF = book.IOC
	default:
		dst.Kind = engine.CmdPlaceOrder
	}
	if l.keys && dst.Kind == engine.CmdPlaceOrder {
		dst.Key = uint64(i) + 1
	}
}

// Mark reports whether a mark update follows op i, and its price.
func (l *Load) Mark(i int) (engine.Command, bool) {
	if (i+1)%MarkEvery != 0 {
		return engine.Command{}, false
	}
	return engine.Command{Kind: engine.CmdSetMark, Market: Market, Price: l.Mids[(i+1)/MarkEvery-1]}, true
}

// Operators of GovernedConfig.
var Operators = []governance.Operator{
	{ID: "risk-1", Role: governance.RoleRiskOfficer},
	{ID: "risk-2", Role: governance.RoleRiskOfficer},
	{ID: "compliance-1", Role: governance.RoleComplianceOfficer},
}

// GovernedConfig is Config with governance operators, for SetupGoverned.
func GovernedConfig() engine.Config {
	cfg := Config()
	cfg.Governance.Operators = Operators
	return cfg
}

// SetupGoverned is Setup with every client classified through the
// eligibility registry (PI evidence, knowledge, the current risk
// disclosure accepted), so every order goes through eligibility's
// CanIncrease, plus an approved parameter change scheduled far ahead and an
// emergency tightening under review: the stores have deadlines pending but
// none due, which is the state a live engine trades in. Run it at engine
// time 1 on an engine built from GovernedConfig.
func (l *Load) SetupGoverned() []engine.Command {
	cmds := l.Setup()
	p := l.Stream.Params
	const now = 1
	cmds = append(cmds, engine.Command{Kind: engine.CmdPublishDisclosure, Gov: &engine.GovArgs{Operator: "compliance-1", ID: 1, Digest: [32]byte{1}}})
	for i := 0; i < p.Owners; i++ {
		c := engine.ClientID(i + 1)
		cmds = append(cmds,
			engine.Command{Kind: engine.CmdClassifyClient, Client: c, Gov: &engine.GovArgs{Operator: "compliance-1",
				PIClass: eligibility.InstitutionalPI, Evidence: eligibility.RegulatoryStatus, At: now}},
			engine.Command{Kind: engine.CmdRecordKnowledge, Client: c, Gov: &engine.GovArgs{Operator: "compliance-1", Basis: eligibility.Training}},
			engine.Command{Kind: engine.CmdAcceptDisclosure, Client: c, Gov: &engine.GovArgs{ID: 1}})
	}
	cfg := GovernedConfig()
	set := "market:" + cfg.Markets[Market].Symbol
	e := engine.MustNew(cfg)
	cur, _ := e.Governance().Current(set)
	looser := withField(cur.Value, "price_band_ppm", 1)
	tighter := withField(cur.Value, "price_band_ppm", -1)
	// The emergency change first: it would supersede a scheduled one.
	cmds = append(cmds,
		engine.Command{Kind: engine.CmdEmergencyTighten, Gov: &engine.GovArgs{Operator: "risk-1", Set: set, Value: tighter, Note: "bench"}},
		engine.Command{Kind: engine.CmdProposeParams, Gov: &engine.GovArgs{Operator: "risk-1", Set: set, Value: looser, At: 1 << 62}},
		engine.Command{Kind: engine.CmdApproveProposal, Gov: &engine.GovArgs{Operator: "risk-2", ID: 1}})
	return cmds
}

func withField(v governance.Value, name string, delta int64) string {
	fs := append([]governance.Field(nil), v.Fields...)
	for i := range fs {
		if fs[i].Name == name {
			fs[i].V += delta
		}
	}
	nv, r := governance.NewValue(fs, v.Tables)
	if r != governance.ReasonNone {
		panic("engineload: " + r.String())
	}
	return engine.EncodeValue(nv)
}
