package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/sampan-hk/sampan/sim/workload"
)

func init() {
	var seed uint64
	var ops int
	c := &cobra.Command{
		Use:   "book",
		Short: "Order book: the seed-fixed limit/cancel/market workload",
		RunE: func(cmd *cobra.Command, args []string) error {
			p := workload.Default()
			p.Seed = seed
			p.Measured = ops
			st := workload.Generate(p)
			measured := st.Measured()
			setup := func() func(int) {
				b := workload.NewBook()
				for i := range st.Ops[:p.Warmup] {
					workload.Apply(b, &st.Ops[i])
				}
				return func(i int) { workload.Apply(b, &measured[i]) }
			}
			r := measure("book", len(measured), setup)
			r.Notes = fmt.Sprintf("workload: seed %d, %d warm-up + %d measured ops; 60%% limit (~5%% marketable), 30%% cancel, 10%% market; book at end: %d resting orders on %d levels",
				p.Seed, p.Warmup, p.Measured, st.Resting, st.Levels)
			return printBench(r)
		},
	}
	c.Flags().Uint64Var(&seed, "seed", 42, "workload seed")
	c.Flags().IntVar(&ops, "ops", 1_000_000, "measured operations")
	benchCmd.AddCommand(c)
}
