package main

import (
	"context"
	"testing"

	"github.com/sampan-hk/sampan/core/engine"
	"github.com/sampan-hk/sampan/exchange"
)

// Every acknowledged command is counted by result code and timed, whether
// it was submitted alone or in a batch (SubmitMany: one commit, every
// command counted).
func TestMetricsCountSingleAndBatchedCommands(t *testing.T) {
	m, err := exchange.NewMachine(engine.DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	met := newMetrics(exchange.New(m, exchange.NewMemLog(m)))
	x := exchange.New(m, observedLog{Log: exchange.NewMemLog(m), m: met})
	ctx := context.Background()
	if _, err := x.Submit(ctx, &engine.Command{Kind: engine.CmdCreateClient, Key: 1, Ref: "a"}); err != nil {
		t.Fatal(err)
	}
	batch := []*engine.Command{
		{Kind: engine.CmdCreateClient, Key: 2, Ref: "b"},
		{Kind: engine.CmdCreateClient, Key: 3, Ref: "c"},
		{Kind: engine.CmdDeposit, Client: 99, Key: 4, Amount: 1}, // no such client: refused, still counted
	}
	if _, err := x.SubmitMany(ctx, batch); err != nil {
		t.Fatal(err)
	}
	counts := map[string]float64{}
	var observed uint64
	fams, err := met.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range fams {
		for _, s := range f.GetMetric() {
			switch f.GetName() {
			case "sampan_commands_total":
				counts[s.GetLabel()[0].GetValue()] += s.GetCounter().GetValue()
			case "sampan_commit_latency_seconds":
				observed += s.GetHistogram().GetSampleCount()
			}
		}
	}
	if counts[engine.OK.String()] != 3 || len(counts) != 2 || observed != 4 {
		t.Fatalf("commands counted %v, latencies observed %d", counts, observed)
	}
}
