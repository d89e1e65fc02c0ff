package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/sampan-hk/sampan/core/engine"
	"github.com/sampan-hk/sampan/sim/engineload"
	"github.com/sampan-hk/sampan/sim/workload"
)

func init() {
	var seed uint64
	var ops int
	var keys, governed bool
	c := &cobra.Command{
		Use:   "engine",
		Short: "Engine: the book workload over 1,000 accounts with margin checks and position updates",
		RunE: func(cmd *cobra.Command, args []string) error {
			p := workload.Default()
			p.Seed = seed
			p.Measured = ops
			load := engineload.New(p, keys)
			setupCmds, cfg := load.Setup(), engineload.Config()
			if governed {
				setupCmds, cfg = load.SetupGoverned(), engineload.GovernedConfig()
			}
			var rejected int
			var firstErr error
			setup := func() func(int) {
				e := engine.MustNew(cfg)
				now := int64(1)
				for i := range setupCmds {
					if r, _ := e.Apply(&setupCmds[i], now); r.Code != engine.OK {
						panic("bench setup: " + r.Code.String())
					}
				}
				var c engine.Command
				apply := func(i int) {
					load.Command(i, &c)
					now++
					if r, _ := e.Apply(&c, now); r.Code != engine.OK && firstErr == nil {
						rejected++
						firstErr = fmt.Errorf("op %d (%v): %v", i, c.Kind, r.Code)
					}
					if m, ok := load.Mark(i); ok {
						e.Apply(&m, now)
					}
				}
				for i := 0; i < p.Warmup; i++ {
					apply(i)
				}
				return func(i int) { apply(p.Warmup + i) }
			}
			r := measure("engine", p.Measured, setup)
			if firstErr != nil {
				return fmt.Errorf("workload diverged from the book it was generated on: %w", firstErr)
			}
			r.Notes = fmt.Sprintf("workload: book workload seed %d (%d warm-up + %d measured ops: 60%% limit, 30%% cancel, 10%% market) over %d funded PI clients on %s; a mark update every %d ops; client order ids: %v; eligibility registry and governance deadlines pending: %v",
				p.Seed, p.Warmup, p.Measured, p.Owners, engineload.Config().Markets[engineload.Market].Symbol, engineload.MarkEvery, keys, governed)
			return printBench(r)
		},
	}
	c.Flags().Uint64Var(&seed, "seed", 42, "workload seed")
	c.Flags().IntVar(&ops, "ops", 1_000_000, "measured operations")
	c.Flags().BoolVar(&keys, "keys", false, "give every order a client order id (idempotency window and client-id index)")
	c.Flags().BoolVar(&governed, "governed", false, "classify clients through the eligibility registry and leave governance deadlines pending (none due)")
	benchCmd.AddCommand(c)
}
