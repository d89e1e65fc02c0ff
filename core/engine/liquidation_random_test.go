package engine

import (
	"testing"

	"github.com/sampan-hk/sampan/core/book"
	"github.com/sampan-hk/sampan/core/fixed"
)

// liqGen is a liquidation-heavy stream: a dozen leveraged traders, one
// market maker whose quotes come and go (so the book sometimes absorbs a
// liquidation, sometimes the fund or ADL must), marks that walk and
// sometimes gap ±30%, funding (quotes drive the oracle in one variant),
// fund top-ups, deposits and withdrawals.
type liqGen struct {
	r      rng
	e      *Engine
	now    int64
	marks  [2]fixed.Price
	keys   uint64
	mm     ClientID
	n      int
	oracle bool
}

func (g *liqGen) setup() []Command {
	var cmds []Command
	add := func(c ClientID, amt int64) {
		cmds = append(cmds, Command{Kind: CmdCreateClient},
			Command{Kind: CmdSetClassification, Client: c, Class: InstitutionalPI, Expiry: 1 << 62},
			Command{Kind: CmdSetKnowledge, Client: c, Flag: true},
			Command{Kind: CmdDeposit, Client: c, Amount: fixed.Amount(amt * usd)})
	}
	g.mm = 1
	add(g.mm, 50_000_000)
	for i := 0; i < g.n; i++ {
		add(ClientID(2+i), g.r.between(2_000, 60_000))
	}
	g.marks = [2]fixed.Price{500_000, 300_000}
	cmds = append(cmds, Command{Kind: CmdSetMark, Market: 0, Price: g.marks[0]}, Command{Kind: CmdSetMark, Market: 1, Price: g.marks[1]},
		Command{Kind: CmdFundInsurance, Amount: fixed.Amount(g.r.between(0, 20_000) * usd)})
	return cmds
}

func (g *liqGen) command() Command {
	r := &g.r
	g.now += r.between(0, 3e9)
	m := MarketID(r.intn(2))
	mark := g.e.Mark(m)
	tick := func(k int64) fixed.Price { return max(mark+fixed.Price(k)*mark/1000, 1) }
	switch k := r.intn(100); {
	case k < 12:
		p := g.marks[m]
		switch {
		case r.chance(4):
			p = p * 7 / 10 // the −30% gap
		case r.chance(3):
			p = p * 13 / 10
		default:
			p += fixed.Price(r.between(-int64(p)/50, int64(p)/50))
		}
		base := []fixed.Price{500_000, 300_000}[m]
		p = min(max(p, base/4), base*3)
		g.marks[m] = p
		if g.oracle && r.chance(50) {
			return Command{Kind: CmdQuote, Market: m, Source: uint16(1 + r.intn(5)), Price: p, Observed: g.now}
		}
		return Command{Kind: CmdSetMark, Market: m, Price: p}
	case k < 14:
		return Command{Kind: CmdTick}
	case k < 16:
		return Command{Kind: CmdFundInsurance, Amount: fixed.Amount(r.between(1, 5_000) * usd)}
	case k < 19:
		return Command{Kind: CmdDeposit, Client: ClientID(2 + r.intn(g.n)), Amount: fixed.Amount(r.between(1, 5_000) * usd)}
	case k < 22:
		return Command{Kind: CmdWithdraw, Client: ClientID(2 + r.intn(g.n)), Amount: fixed.Amount(r.between(1, 10_000) * usd)}
	case k < 26:
		return Command{Kind: CmdCancelAll, Client: g.mm, Market: AllMarkets}
	case k < 50:
		// The market maker quotes a few levels on one side.
		side := book.Side(r.intn(2))
		off := r.between(1, 40)
		px := tick(off)
		if side == book.Buy {
			px = tick(-off)
		}
		g.keys++
		return Command{Kind: CmdPlaceOrder, Client: g.mm, Market: m, Side: side, Price: px, Qty: fixed.Qty(r.between(10, 3000)), Key: g.keys}
	}
	c := ClientID(2 + r.intn(g.n))
	side := book.Side(r.intn(2))
	g.keys++
	cmd := Command{Kind: CmdPlaceOrder, Client: c, Market: m, Side: side, Type: book.Market, Qty: fixed.Qty(r.between(10, 20_000)), Key: g.keys}
	if r.chance(30) {
		cmd.Type, cmd.Price = book.Limit, tick(r.between(-30, 30))
	}
	return cmd
}

// runLiq runs a liquidation-heavy stream, checking every invariant after
// every command (CheckInvariants includes the detection index against a
// brute-force scan), plus: no client ends a command with a negative
// balance and no position unless it is in the liquidation queue, and a
// snapshot restored mid-run (often mid-way through an ADL quantile
// publication cycle) continues identically.
func runLiq(t *testing.T, seed uint64, n int, oracle bool) ([32]byte, map[EventKind]int) {
	cfg := testConfig()
	e := MustNew(cfg)
	// A small ADL publication budget (1–8 work units a Tick), so cycles
	// span many Ticks, the mid-run snapshot often lands inside one, and
	// liquidations happen while one runs.
	budget := 1 + int(seed%8)
	e.adlc.budget = budget
	g := &liqGen{r: rng(seed), e: e, now: 1e9, n: 12, oracle: oracle}
	kinds := map[EventKind]int{}
	for _, c := range g.setup() {
		if r, _ := e.Apply(&c, g.now); r.Code != OK {
			t.Fatalf("setup %v: %v", c.Kind, r.Code)
		}
	}
	var twin *Engine
	for i := 0; i < n; i++ {
		cmd := g.command()
		res, evs := e.Apply(&cmd, g.now)
		for j := range evs {
			kinds[evs[j].Kind]++
		}
		if err := e.CheckInvariants(); err != nil {
			t.Fatalf("seed %d cmd %d (%v → %v): %v", seed, i, cmd.Kind, res.Code, err)
		}
		for c := ClientID(1); int(c) <= e.Clients(); c++ {
			v, _ := e.Account(c)
			if !v.Liquidating && v.Collateral < 0 && len(e.Positions(c, nil)) == 0 {
				t.Fatalf("seed %d cmd %d: client %d closed out below zero (%d) with no cover", seed, i, c, v.Collateral)
			}
			if !v.Liquidating && v.Equity < 0 {
				t.Fatalf("seed %d cmd %d: client %d below zero (%d) outside liquidation", seed, i, c, v.Equity)
			}
		}
		if i == n/2 {
			snap := e.AppendSnapshot(nil)
			var err error
			if twin, err = Restore(cfg, snap); err != nil {
				t.Fatalf("restore: %v", err)
			}
			twin.adlc.budget = budget
			if twin.StateHash() != e.StateHash() {
				t.Fatal("restored hash differs")
			}
		}
		if twin != nil && i > n/2 {
			twin.Apply(&cmd, g.now)
		}
	}
	if twin.StateHash() != e.StateHash() {
		t.Fatalf("seed %d: the restored twin diverged", seed)
	}
	return e.StateHash(), kinds
}

func TestLiquidationRandomized(t *testing.T) {
	seeds, n := 8, 3000
	if testing.Short() {
		seeds, n = 3, 1500
	}
	total := map[EventKind]int{}
	for s := 1; s <= seeds; s++ {
		for _, oracle := range []bool{false, true} {
			h1, k := runLiq(t, uint64(s), n, oracle)
			h2, _ := runLiq(t, uint64(s), n, oracle)
			if h1 != h2 {
				t.Fatalf("seed %d: same stream, different state hash", s)
			}
			for kk, v := range k {
				total[kk] += v
			}
		}
	}
	for _, k := range []EventKind{EvLiquidationStarted, EvLiquidationOrder, EvInsuranceTakeover, EvDeleveraged, EvLiquidationFinished, EvInsuranceFund, EvAdlQuantile} {
		t.Logf("%-22v %d", k, total[k])
		if total[k] == 0 {
			t.Errorf("no %v event in the randomized runs: the stream does not reach that path", k)
		}
	}
}
