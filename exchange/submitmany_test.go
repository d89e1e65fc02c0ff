package exchange

import (
	"context"
	"errors"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/sampan-hk/sampan/core/book"
	"github.com/sampan-hk/sampan/core/engine"
	"github.com/sampan-hk/sampan/core/fixed"
	"github.com/sampan-hk/sampan/journal"
)

// fixedClock pins engine time so two exchanges fed the same commands reach
// the same state hash whatever log they run on.
func fixedClock(t0 int64) func() int64 { return func() int64 { return t0 } }

// setupScript is three funded professional investors and a mark: client
// ids 1, 2, 3.
func setupScript(t0 int64) []engine.Command {
	var cs []engine.Command
	for i := range uint64(3) {
		key := 10 * (i + 1)
		cs = append(cs,
			engine.Command{Kind: engine.CmdCreateClient, Key: key, Ref: "pi"},
			engine.Command{Kind: engine.CmdDeposit, Client: engine.ClientID(i + 1), Key: key + 1, Amount: 100_000_000_000},
			engine.Command{Kind: engine.CmdSetClassification, Client: engine.ClientID(i + 1), Key: key + 2, Class: engine.IndividualPI, Expiry: t0 + int64(time.Hour)},
			engine.Command{Kind: engine.CmdSetKnowledge, Client: engine.ClientID(i + 1), Key: key + 3, Flag: true})
	}
	return append(cs, engine.Command{Kind: engine.CmdSetMark, Market: 0, Price: 650_000})
}

// tradingScript is n random order commands around the mark: crossing
// and resting limits, IOCs, oversized orders the engine refuses, keys
// reused (replayed, or refused when the order differs), and cancels by
// key (some of orders that never rested).
func tradingScript(rng *rand.Rand, n int) []engine.Command {
	cs := make([]engine.Command, n)
	for i := range cs {
		c := engine.ClientID(1 + rng.IntN(3))
		key := uint64(1000 + rng.IntN(n)) // repeats: the engine replays them
		switch r := rng.IntN(10); {
		case r < 2:
			cs[i] = engine.Command{Kind: engine.CmdCancelOrder, Client: c, Market: 0, OrigKey: key}
		default:
			cmd := engine.Command{Kind: engine.CmdPlaceOrder, Client: c, Market: 0, Key: key,
				Side: book.Side(rng.IntN(2)), Price: fixed.Price(649_900 + 10*rng.Int64N(21)), Qty: fixed.Qty(1 + rng.Int64N(50))}
			if r == 2 {
				cmd.TIF = book.IOC
			}
			if r == 3 {
				cmd.Qty = 1_000_000_000 // past the market's size limit: refused
			}
			cs[i] = cmd
		}
	}
	return cs
}

func openJournal(t *testing.T, clock func() int64) (*Machine, *journal.Node) {
	t.Helper()
	m, err := NewMachine(engine.DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	n, err := journal.Open(journal.Config{Dir: t.TempDir(), Bootstrap: true, Clock: clock}, m)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { n.Shutdown() })
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := n.WaitLeader(ctx); err != nil {
		t.Fatal(err)
	}
	return m, n
}

func ptrs(cs []engine.Command) []*engine.Command {
	out := make([]*engine.Command, len(cs))
	for i := range cs {
		out[i] = &cs[i]
	}
	return out
}

// TestSubmitManyEqualsOneByOne runs one random script twice: through the
// journal in SubmitMany runs of 1 to 20, and on a twin fed the same
// commands one Submit at a time. Every result and the final state hash
// must agree, and refusals among good commands must stay per command.
func TestSubmitManyEqualsOneByOne(t *testing.T) {
	t0 := time.Now().UnixNano()
	rng := rand.New(rand.NewPCG(11, 3))
	setup, trading := setupScript(t0), tradingScript(rng, 400)

	m, n := openJournal(t, fixedClock(t0))
	x := New(m, n)
	var got []engine.Result
	for _, part := range [][]engine.Command{setup, trading} {
		for len(part) > 0 {
			k := min(len(part), 1+rng.IntN(20))
			res, err := x.SubmitMany(context.Background(), ptrs(part[:k]))
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, res...)
			part = part[k:]
		}
	}

	tm, _ := NewMachine(engine.DefaultConfig())
	tl := NewMemLog(tm)
	tl.Clock = fixedClock(t0)
	twin := New(tm, tl)
	sub := twin.Subscribe(1024)
	kinds := map[engine.Code]int{}
	for i, c := range append(append([]engine.Command(nil), setup...), trading...) {
		want, err := twin.Submit(context.Background(), &c)
		if err != nil {
			t.Fatal(err)
		}
		if got[i] != want {
			t.Fatalf("command %d (%v): SubmitMany result %+v, one by one %+v", i, c.Kind, got[i], want)
		}
		kinds[want.Code]++
	}
	if m.StateHash() != tm.StateHash() {
		t.Fatal("state after SubmitMany runs differs from the twin fed one by one")
	}
	if kinds[engine.OK] < 100 || len(kinds) < 3 {
		t.Fatalf("script too tame to prove anything: result codes %v", kinds)
	}
	trades := 0
	for len(sub.C) > 0 {
		for _, ev := range (<-sub.C).Events {
			if ev.Kind == engine.EvTrade {
				trades++
			}
		}
	}
	if trades < 20 {
		t.Fatalf("only %d trades: the script does not exercise matching", trades)
	}
	t.Logf("result codes %v, %d trades", kinds, trades)
}

// TestSubmitManyCancelled: a run whose context has already ended is not
// applied (MemLog) and returns ctx's error; an empty run is a no-op.
func TestSubmitManyCancelled(t *testing.T) {
	x := newTestExchange(t)
	before := x.M.StateHash()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	cs := setupScript(time.Now().UnixNano())
	if _, err := x.SubmitMany(ctx, ptrs(cs)); !errors.Is(err, context.Canceled) {
		t.Fatalf("err %v", err)
	}
	if res, err := x.SubmitMany(context.Background(), nil); res != nil || err != nil {
		t.Fatalf("empty run: %v %v", res, err)
	}
	if x.M.StateHash() != before {
		t.Fatal("a cancelled run changed state")
	}
}

// TestSubmitManyNotInterleaved: on the journal, runs of one client's
// orders race single commands of other clients; the published event
// stream must show every run's commands back to back, in order.
func TestSubmitManyNotInterleaved(t *testing.T) {
	t0 := time.Now().UnixNano()
	m, n := openJournal(t, fixedClock(t0))
	x := New(m, n)
	if _, err := x.SubmitMany(context.Background(), ptrs(setupScript(t0))); err != nil {
		t.Fatal(err)
	}
	sub := x.Subscribe(1 << 16)
	const runs = 40
	var lens [runs]int
	rng := rand.New(rand.NewPCG(5, 5))
	for i := range lens {
		lens[i] = 2 + rng.IntN(19)
	}
	var wg sync.WaitGroup
	for c := range engine.ClientID(2) { // clients 2 and 3 submit one at a time
		wg.Go(func() {
			for i := range 150 {
				cmd := engine.Command{Kind: engine.CmdPlaceOrder, Client: 2 + c, Market: 0, Key: uint64(5000 + i),
					Side: book.Buy, Price: 640_000, Qty: 1, TIF: book.IOC}
				if _, err := x.Submit(context.Background(), &cmd); err != nil {
					t.Error(err)
				}
			}
		})
	}
	for r := range runs { // client 1: runs of resting orders, qty = position in run
		cs := make([]engine.Command, lens[r])
		for i := range cs {
			cs[i] = engine.Command{Kind: engine.CmdPlaceOrder, Client: 1, Market: 0, Key: uint64(100*r + i + 1),
				Side: book.Sell, Price: 660_000, Qty: fixed.Qty(i + 1)}
		}
		res, err := x.SubmitMany(context.Background(), ptrs(cs))
		if err != nil {
			t.Fatal(err)
		}
		for i := range res {
			if res[i].Code != engine.OK || res[i].Qty != fixed.Qty(i+1) {
				t.Fatalf("run %d item %d: %+v", r, i, res[i])
			}
		}
	}
	wg.Wait()
	sub.Close()
	var seq []Batch
	for b := range sub.C {
		seq = append(seq, b)
	}
	checkRuns(t, seq, lens[:])
}

// checkRuns walks the published batches: each of client 1's commands must
// open a run of the next expected length whose items follow at once with
// qty 1, 2, 3 …
func checkRuns(t *testing.T, seq []Batch, lens []int) {
	t.Helper()
	r := 0
	for i := 0; i < len(seq); i++ {
		if seq[i].Client != 1 {
			continue
		}
		if r == len(lens) || i+lens[r] > len(seq) {
			t.Fatalf("more of client 1's commands than its runs hold")
		}
		for j := range lens[r] {
			b := seq[i+j]
			if b.Client != 1 || b.Result.Qty != fixed.Qty(j+1) {
				t.Fatalf("run %d: position %d is client %d qty %d: interleaved or reordered", r, j, b.Client, b.Result.Qty)
			}
		}
		i += lens[r] - 1
		r++
	}
	if r != len(lens) {
		t.Fatalf("saw %d runs, want %d", r, len(lens))
	}
}
