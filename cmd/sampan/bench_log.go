package main

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/spf13/cobra"

	"github.com/sampan-hk/sampan/journal"
)

// logBenchResult is what `bench log` reports for one cluster shape. Commit
// latency is Submit-to-result: sequencer queueing, raft commit (fsync on a
// majority) and apply.
type logBenchResult struct {
	Voters     int     `json:"voters"`
	Clients    int     `json:"clients"`
	CmdBytes   int     `json:"cmd_bytes"`
	Seconds    float64 `json:"seconds"`
	Ops        int64   `json:"ops"`
	OpsPerSec  float64 `json:"ops_per_sec"`
	P50Ns      int64   `json:"p50_ns"`
	P99Ns      int64   `json:"p99_ns"`
	P999Ns     int64   `json:"p999_ns"`
	Batches    uint64  `json:"batches"`
	AvgBatch   float64 `json:"avg_batch"`
	GOMAXPROCS int     `json:"gomaxprocs"`
}

type logBenchReport struct {
	Name        string         `json:"name"`
	OneVoter    logBenchResult `json:"one_voter"`
	ThreeVoters logBenchResult `json:"three_voters"`
	Notes       string         `json:"notes,omitempty"`
	// Flattened one-voter figures, for tools that read every bench alike.
	OpsPerSec float64 `json:"ops_per_sec"`
	P50Ns     int64   `json:"p50_ns"`
	P99Ns     int64   `json:"p99_ns"`
}

// countingMachine is the bench's stand-in engine: it does the minimum a
// deterministic engine must (count, fold each command into a running hash
// of its first bytes) so the figures measure the log, not the engine.
type countingMachine struct {
	n   uint64
	acc uint64
}

var benchResultOK = []byte{1}

func (m *countingMachine) Apply(now int64, cmd []byte) ([]byte, []byte) {
	m.n++
	if len(cmd) >= 8 {
		m.acc = m.acc*1099511628211 ^ binary.LittleEndian.Uint64(cmd)
	}
	return benchResultOK, nil // never mutated, so sharing it is safe
}

func (m *countingMachine) Snapshot(w io.Writer) error {
	_, err := w.Write(binary.LittleEndian.AppendUint64(binary.LittleEndian.AppendUint64(nil, m.n), m.acc))
	return err
}

func (m *countingMachine) Restore(r io.Reader) error {
	var b [16]byte
	if _, err := io.ReadFull(r, b[:]); err != nil {
		return err
	}
	m.n, m.acc = binary.LittleEndian.Uint64(b[:]), binary.LittleEndian.Uint64(b[8:])
	return nil
}

func (m *countingMachine) StateHash() [32]byte {
	return sha256.Sum256(binary.LittleEndian.AppendUint64(binary.LittleEndian.AppendUint64(nil, m.n), m.acc))
}

type logBenchParams struct {
	clients  int
	cmdBytes int
	warmup   time.Duration
	measure  time.Duration
	seq      journal.SequencerConfig
}

// startCluster opens voters nodes on loopback in temp dirs, bootstraps the
// first and adds the others, and returns the leader.
func startCluster(voters int, seq journal.SequencerConfig) (leader *journal.Node, stop func(), err error) {
	var nodes []*journal.Node
	var dirs []string
	stop = func() {
		for _, n := range nodes {
			n.Shutdown()
		}
		for _, d := range dirs {
			os.RemoveAll(d)
		}
	}
	for i := range voters {
		dir, err := os.MkdirTemp("", "sampan-bench-log-")
		if err != nil {
			stop()
			return nil, nil, err
		}
		dirs = append(dirs, dir)
		n, err := journal.Open(journal.Config{
			Dir:              dir,
			Bind:             "127.0.0.1:0",
			Bootstrap:        i == 0,
			Sequencer:        seq,
			HeartbeatTimeout: 200 * time.Millisecond,
			ElectionTimeout:  200 * time.Millisecond,
			LeaderLease:      100 * time.Millisecond,
		}, &countingMachine{})
		if err != nil {
			stop()
			return nil, nil, err
		}
		nodes = append(nodes, n)
	}
	deadline := time.Now().Add(10 * time.Second)
	for !nodes[0].IsLeader() {
		if time.Now().After(deadline) {
			stop()
			return nil, nil, errors.New("bench log: no leader elected")
		}
		time.Sleep(5 * time.Millisecond)
	}
	for _, n := range nodes[1:] {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		err := n.Join(ctx, nodes[0].Addr())
		cancel()
		if err != nil {
			stop()
			return nil, nil, err
		}
	}
	return nodes[0], stop, nil
}

// runLogBench drives the leader from p.clients goroutines in a closed loop
// (each submits, waits for its result, submits again) and times every
// Submit after the warm-up.
func runLogBench(voters int, p logBenchParams) (logBenchResult, error) {
	res := logBenchResult{Voters: voters, Clients: p.clients, CmdBytes: p.cmdBytes, GOMAXPROCS: runtime.GOMAXPROCS(0)}
	leader, stop, err := startCluster(voters, p.seq)
	if err != nil {
		return res, err
	}
	defer stop()

	var measuring, done atomic.Bool
	var firstErr atomic.Value
	lats := make([][]int64, p.clients)
	var wg sync.WaitGroup
	for c := range p.clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			cmd := make([]byte, p.cmdBytes)
			binary.LittleEndian.PutUint64(cmd, uint64(c))
			own := make([]int64, 0, 4096)
			for !done.Load() {
				t0 := time.Now()
				if _, err := leader.Submit(context.Background(), cmd); err != nil {
					if !errors.Is(err, journal.ErrOverloaded) {
						firstErr.CompareAndSwap(nil, err)
						return
					}
					continue
				}
				if measuring.Load() {
					own = append(own, time.Since(t0).Nanoseconds())
				}
			}
			lats[c] = own
		}()
	}
	time.Sleep(p.warmup)
	st0 := leader.Status()
	measuring.Store(true)
	t0 := time.Now()
	time.Sleep(p.measure)
	st1 := leader.Status()
	el := time.Since(t0)
	measuring.Store(false)
	done.Store(true)
	wg.Wait()
	if e := firstErr.Load(); e != nil {
		return res, e.(error)
	}
	var all []int64
	for _, l := range lats {
		all = append(all, l...)
	}
	if len(all) == 0 {
		return res, errors.New("bench log: no command completed")
	}
	slices.Sort(all)
	q := func(f float64) int64 { return all[min(len(all)-1, int(f*float64(len(all))))] }
	res.Seconds = el.Seconds()
	res.Ops = int64(st1.Commands - st0.Commands)
	res.OpsPerSec = float64(res.Ops) / el.Seconds()
	res.P50Ns, res.P99Ns, res.P999Ns = q(0.50), q(0.99), q(0.999)
	res.Batches = st1.Batches - st0.Batches
	if res.Batches > 0 {
		res.AvgBatch = float64(res.Ops) / float64(res.Batches)
	}
	return res, nil
}

func init() {
	var p logBenchParams
	var clients3 int
	c := &cobra.Command{
		Use:   "log",
		Short: "Replicated log: committed commands/s and commit latency, 1 and 3 voters on loopback",
		Long: `Runs a closed-loop load (each client submits one command and waits for its
result) against a temp-dir node with a minimal state machine, first as a
single voter, then as three voters on 127.0.0.1 in this process (so the
three share this machine's disk and CPUs). Latency is Submit to result:
batching wait, raft commit with fsync, and apply.`,
		RunE: func(cmd *cobra.Command, args []string) error {
			one, err := runLogBench(1, p)
			if err != nil {
				return fmt.Errorf("one voter: %w", err)
			}
			var three logBenchResult
			if clients3 > 0 { // --clients3 0 skips the three-voter shape
				p3 := p
				p3.clients = clients3
				if three, err = runLogBench(3, p3); err != nil {
					return fmt.Errorf("three voters: %w", err)
				}
			}
			rep := logBenchReport{
				Name: "log", OneVoter: one, ThreeVoters: three,
				OpsPerSec: one.OpsPerSec, P50Ns: one.P50Ns, P99Ns: one.P99Ns,
				Notes: fmt.Sprintf("%d-byte commands, closed loop, %s warm-up + %s measured per shape; temp dirs on local disk", p.cmdBytes, p.warmup, p.measure),
			}
			if benchJSON {
				return json.NewEncoder(os.Stdout).Encode(rep)
			}
			for _, r := range []logBenchResult{one, three} {
				if r.Voters == 0 {
					continue
				}
				fmt.Printf("log, %d voter(s), %d clients: %.0f commands/s, p50 %.3f ms, p99 %.3f ms, p99.9 %.3f ms, %.0f commands/batch\n",
					r.Voters, r.Clients, r.OpsPerSec, float64(r.P50Ns)/1e6, float64(r.P99Ns)/1e6, float64(r.P999Ns)/1e6, r.AvgBatch)
			}
			fmt.Println(rep.Notes)
			return nil
		},
	}
	f := c.Flags()
	f.IntVar(&p.clients, "clients", 768, "concurrent submitting clients (one voter)")
	f.IntVar(&clients3, "clients3", 1024, "concurrent submitting clients (three voters; 0 skips that shape)")
	f.IntVar(&p.cmdBytes, "cmd-bytes", 64, "command size in bytes")
	f.DurationVar(&p.warmup, "warmup", time.Second, "warm-up before measuring")
	f.DurationVar(&p.measure, "duration", 3*time.Second, "measured time per shape")
	f.IntVar(&p.seq.BatchCommandsMax, "batch-max", 0, "sequencer BatchCommandsMax (0: default)")
	f.DurationVar(&p.seq.BatchWaitMax, "batch-wait", 0, "sequencer BatchWaitMax (0: default)")
	f.IntVar(&p.seq.InflightMax, "inflight", 0, "sequencer InflightMax (0: default)")
	benchCmd.AddCommand(c)
}
