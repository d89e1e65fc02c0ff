package main

import (
	"encoding/json"
	"fmt"
	"os"
	"runtime"
	"slices"
	"time"

	"github.com/spf13/cobra"
)

var benchJSON bool

var benchCmd = &cobra.Command{
	Use:   "bench",
	Short: "Measure throughput and latency of one component",
	Long: `Each bench subcommand runs a seed-fixed workload twice on fresh state:
once for throughput (no per-operation timing) and once for latency (each
operation timed, timer overhead subtracted). Quote medians of several runs.`,
}

func init() {
	benchCmd.PersistentFlags().BoolVar(&benchJSON, "json", false, "print one JSON object")
	rootCmd.AddCommand(benchCmd)
}

// benchResult is what every bench subcommand prints.
type benchResult struct {
	Name            string  `json:"name"`
	Ops             int     `json:"ops"`
	OpsPerSec       float64 `json:"ops_per_sec"`
	NsPerOp         float64 `json:"ns_per_op"`
	P50Ns           int64   `json:"p50_ns"`
	P99Ns           int64   `json:"p99_ns"`
	P999Ns          int64   `json:"p999_ns"`
	AllocsPerOp     float64 `json:"allocs_per_op"`
	TimerOverheadNs int64   `json:"timer_overhead_ns"`
	GOMAXPROCS      int     `json:"gomaxprocs"`
	Notes           string  `json:"notes,omitempty"`
}

// measure runs n operations twice, each time on fresh state from setup:
// a throughput pass timed as a whole (with allocation counting), then a
// latency pass timing each operation. The setup's own work (warm-up) is not
// measured.
func measure(name string, n int, setup func() func(i int)) benchResult {
	res := benchResult{Name: name, Ops: n, GOMAXPROCS: runtime.GOMAXPROCS(0)}

	step := setup()
	runtime.GC()
	var m0, m1 runtime.MemStats
	runtime.ReadMemStats(&m0)
	t0 := time.Now()
	for i := 0; i < n; i++ {
		step(i)
	}
	el := time.Since(t0)
	runtime.ReadMemStats(&m1)
	res.NsPerOp = float64(el.Nanoseconds()) / float64(n)
	res.OpsPerSec = float64(n) / el.Seconds()
	res.AllocsPerOp = float64(m1.Mallocs-m0.Mallocs) / float64(n)

	overhead := timerOverhead()
	lat := make([]int64, n)
	step = setup()
	runtime.GC()
	for i := 0; i < n; i++ {
		a := time.Now()
		step(i)
		lat[i] = time.Since(a).Nanoseconds()
	}
	slices.Sort(lat)
	q := func(p float64) int64 {
		v := lat[min(n-1, int(p*float64(n)))] - overhead
		return max(v, 0)
	}
	res.P50Ns, res.P99Ns, res.P999Ns = q(0.50), q(0.99), q(0.999)
	res.TimerOverheadNs = overhead
	return res
}

// timerOverhead is the median cost of timing an empty operation, which the
// latency pass subtracts so percentiles describe the operation itself.
func timerOverhead() int64 {
	const k = 100_001
	d := make([]int64, k)
	for i := range d {
		a := time.Now()
		d[i] = time.Since(a).Nanoseconds()
	}
	slices.Sort(d)
	return d[k/2]
}

func printBench(r benchResult) error {
	if benchJSON {
		enc := json.NewEncoder(os.Stdout)
		return enc.Encode(r)
	}
	fmt.Printf("%s: %d ops, %.0f ops/s, %.1f ns/op, p50 %d ns, p99 %d ns, p99.9 %d ns, %.3f allocs/op (timer overhead %d ns subtracted)\n",
		r.Name, r.Ops, r.OpsPerSec, r.NsPerOp, r.P50Ns, r.P99Ns, r.P999Ns, r.AllocsPerOp, r.TimerOverheadNs)
	if r.Notes != "" {
		fmt.Println(r.Notes)
	}
	return nil
}
