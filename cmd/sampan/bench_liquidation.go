package main

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"runtime"
	"time"

	"github.com/spf13/cobra"

	"github.com/sampan-hk/sampan/core/book"
	"github.com/sampan-hk/sampan/core/engine"
	"github.com/sampan-hk/sampan/core/fixed"
)

// liqBenchResult is the liquidation bench's output: the mark-update
// measurement (benchResult) plus the crossing scenarios.
type liqBenchResult struct {
	benchResult
	Clients   int     `json:"clients"`
	Positions int     `json:"positions"`
	SetupSec  float64 `json:"setup_sec"`
	// AdlFirst and AdlSteady are ADL quantile publication cycles (one
	// every engine.AdlPublishEvery, spread over Ticks): the first
	// publishes every position, the steady one (after a small mark move)
	// only the changes.
	AdlFirst  adlCycleResult `json:"adl_first"`
	AdlSteady adlCycleResult `json:"adl_steady"`
	Crossing  []crossResult  `json:"crossing"`
}

// adlCycleResult is one publication cycle, one Tick a second until it
// ends: the worst single Tick (the latency every command queued behind it
// sees) and the total.
type adlCycleResult struct {
	Ticks     int   `json:"ticks"`
	MaxTickNs int64 `json:"max_tick_ns"`
	TotalNs   int64 `json:"total_ns"`
	Events    int   `json:"events"`
}

// crossResult is one mark update that crosses k accounts' triggers: the
// time of that one Apply (every liquidation included) and what it did.
type crossResult struct {
	K            int   `json:"k"`
	Ns           int64 `json:"ns"`
	NsPerAccount int64 `json:"ns_per_account"`
	Started      int   `json:"liquidations_started"`
	Events       int   `json:"events"`
}

func init() {
	var clients, ops int
	var seed uint64
	c := &cobra.Command{
		Use:   "liquidation",
		Short: "Liquidation detection: a mark update over 1M open positions with none liquidatable, and k accounts crossing",
		RunE: func(cmd *cobra.Command, args []string) error {
			return benchLiquidation(clients, ops, seed)
		},
	}
	c.Flags().IntVar(&clients, "clients", 500_000, "clients, each with a position in both markets (positions = 2 × clients)")
	c.Flags().IntVar(&ops, "ops", 200_000, "measured mark updates")
	c.Flags().Uint64Var(&seed, "seed", 42, "seed of deposits, sizes and mark moves")
	benchCmd.AddCommand(c)
}

const benchUSD = 1_000_000

func benchLiquidation(clients, ops int, seed uint64) error {
	if clients < 2 || clients%2 != 0 {
		return fmt.Errorf("--clients must be even and ≥ 2")
	}
	cfg := engine.DefaultConfig()
	// The bench's own limit: room for the population plus the crossing
	// scenarios (the default MaxClients stays as it is).
	cfg.MaxClients = clients + 10_000
	e, err := engine.New(cfg)
	if err != nil {
		return err
	}
	rng := rand.New(rand.NewPCG(seed, 0x5a4d))
	now := int64(1)
	apply := func(c engine.Command) {
		now++
		if r, _ := e.Apply(&c, now); r.Code != engine.OK {
			panic(fmt.Sprintf("bench setup: %v: %v", c.Kind, r.Code))
		}
	}
	const btc, eth = engine.MarketID(0), engine.MarketID(1)
	const btcMark, ethMark = fixed.Price(500_000), fixed.Price(300_000) // 50,000.0 and 3,000.00
	newClient := func(deposit int64) engine.ClientID {
		now++
		r, _ := e.Apply(&engine.Command{Kind: engine.CmdCreateClient}, now)
		id := r.Client
		apply(engine.Command{Kind: engine.CmdSetClassification, Client: id, Class: engine.InstitutionalPI, Expiry: 1 << 62})
		apply(engine.Command{Kind: engine.CmdSetKnowledge, Client: id, Flag: true})
		apply(engine.Command{Kind: engine.CmdDeposit, Client: id, Amount: fixed.Amount(deposit * benchUSD)})
		return id
	}
	trade := func(m engine.MarketID, seller, buyer engine.ClientID, px fixed.Price, q fixed.Qty) {
		apply(engine.Command{Kind: engine.CmdPlaceOrder, Client: seller, Market: m, Side: book.Sell, Price: px, Qty: q})
		apply(engine.Command{Kind: engine.CmdPlaceOrder, Client: buyer, Market: m, Side: book.Buy, Price: px, Qty: q})
	}
	apply(engine.Command{Kind: engine.CmdSetMark, Market: btc, Price: btcMark})
	apply(engine.Command{Kind: engine.CmdSetMark, Market: eth, Price: ethMark})

	// The population: pairs of clients with 2,000–10,000 USD each; in BTC
	// the first is short and the second long 0.02–0.1 BTC, in ETH the
	// reverse with 0.5–1.5 ETH. Leverage stays under ~5×, so every
	// liquidation price is ≥ ~15% from the mark and the small moves below
	// never cross one.
	t0 := time.Now()
	for i := 0; i < clients/2; i++ {
		a := newClient(2_000 + rng.Int64N(8_000))
		b := newClient(2_000 + rng.Int64N(8_000))
		trade(btc, a, b, btcMark, fixed.Qty(20+rng.Int64N(80)))
		trade(eth, b, a, ethMark, fixed.Qty(50+rng.Int64N(100)))
	}
	setup := time.Since(t0)

	// Mark updates: SetMark on BTC, a random walk of ±0.05% steps kept
	// within ±1% of 50,000.
	marks := make([]fixed.Price, ops)
	p := btcMark
	for i := range marks {
		p += fixed.Price(rng.Int64N(51) - 25)
		p = min(max(p, btcMark*99/100), btcMark*101/100)
		marks[i] = p
	}
	var c engine.Command
	step := func(i int) {
		c = engine.Command{Kind: engine.CmdSetMark, Market: btc, Price: marks[i]}
		now++
		if _, evs := e.Apply(&c, now); len(evs) != 1 {
			panic("bench: a mark update in the population liquidated something")
		}
	}
	built := false
	res := measure("liquidation_mark_update", ops, func() func(int) {
		if built {
			return step
		}
		built = true
		return step
	})
	res.Notes = fmt.Sprintf("one op = one SetMark on BTC-USD-PERP (manual mode: mark, band, detection) with %d open positions "+
		"(%d clients, each long or short in both BTC and ETH, cross-margined), none liquidatable; a ±0.05%% random walk within ±1%%",
		2*clients, clients)
	out := liqBenchResult{benchResult: res, Clients: clients, Positions: 2 * clients, SetupSec: setup.Seconds()}

	// ADL quantile publication over the whole population: a cycle
	// starting after AdlPublishEvery, then a steady one after a small move.
	adlCycle := func() adlCycleResult {
		runtime.GC()
		now += engine.AdlPublishEvery
		var r adlCycleResult
		for r.Ticks == 0 || e.AdlPublishing() {
			tk := engine.Command{Kind: engine.CmdTick}
			a0 := time.Now()
			_, evs := e.Apply(&tk, now)
			ns := time.Since(a0).Nanoseconds()
			r.Ticks++
			r.TotalNs += ns
			r.MaxTickNs = max(r.MaxTickNs, ns)
			r.Events += len(evs)
			now += 1e9
		}
		return r
	}
	out.AdlFirst = adlCycle()
	apply(engine.Command{Kind: engine.CmdSetMark, Market: btc, Price: btcMark + 20})
	out.AdlSteady = adlCycle()

	// Crossing: k fresh 10×-levered longs (liquidation ≈ −9.6%) bought
	// from one large seller; one mark update to −12% crosses exactly them.
	// No bids rest, so each is closed in this call by insurance take-over
	// at its bankruptcy price, in 10% steps.
	whale := newClient(1_000_000_000)
	apply(engine.Command{Kind: engine.CmdFundInsurance, Amount: 1_000_000 * benchUSD})
	for _, k := range []int{1, 10, 100, 1000} {
		apply(engine.Command{Kind: engine.CmdSetMark, Market: btc, Price: btcMark})
		for j := 0; j < k; j++ {
			id := newClient(500)
			trade(btc, whale, id, btcMark, 99) // 4,950 notional on 500 − 2.475 fee
		}
		runtime.GC()
		now++
		cmd := engine.Command{Kind: engine.CmdSetMark, Market: btc, Price: btcMark * 88 / 100}
		a := time.Now()
		_, evs := e.Apply(&cmd, now)
		ns := time.Since(a).Nanoseconds()
		started := 0
		for i := range evs {
			if evs[i].Kind == engine.EvLiquidationStarted {
				started++
			}
		}
		out.Crossing = append(out.Crossing, crossResult{K: k, Ns: ns, NsPerAccount: ns / int64(k), Started: started, Events: len(evs)})
	}
	if benchJSON {
		return json.NewEncoder(os.Stdout).Encode(out)
	}
	if err := printBench(res); err != nil {
		return err
	}
	fmt.Printf("setup %.1f s for %d positions\n", out.SetupSec, out.Positions)
	for _, x := range []struct {
		name string
		r    adlCycleResult
	}{{"first", out.AdlFirst}, {"steady", out.AdlSteady}} {
		fmt.Printf("ADL quantile cycle (%s): %d Ticks, worst Tick %d ns, total %d ns, %d events\n",
			x.name, x.r.Ticks, x.r.MaxTickNs, x.r.TotalNs, x.r.Events)
	}
	for _, x := range out.Crossing {
		fmt.Printf("crossing k=%d: %d ns (%d ns/account), %d liquidations started, %d events\n", x.K, x.Ns, x.NsPerAccount, x.Started, x.Events)
	}
	return nil
}
