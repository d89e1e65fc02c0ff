package exchange

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/sampan-hk/sampan/core/book"
	"github.com/sampan-hk/sampan/core/engine"
	"github.com/sampan-hk/sampan/journal"
)

// The engine runs as the raft FSM: commands acknowledged through the
// journal survive a restart, and an offline replay reaches the same state
// hash and can explain an account.
func TestEngineOnTheJournal(t *testing.T) {
	dir := t.TempDir()
	open := func() (*Machine, *journal.Node) {
		m, err := NewMachine(engine.DefaultConfig())
		if err != nil {
			t.Fatal(err)
		}
		n, err := journal.Open(journal.Config{Dir: dir, Bootstrap: true}, m)
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := n.WaitLeader(ctx); err != nil {
			t.Fatal(err)
		}
		return m, n
	}
	m, n := open()
	x := New(m, n)
	a, b := fundedPI(t, x, 10), fundedPI(t, x, 20)
	must(t, x, engine.Command{Kind: engine.CmdSetMark, Market: 0, Price: 650_000})
	must(t, x, engine.Command{Kind: engine.CmdPlaceOrder, Client: a, Market: 0, Key: 1, Side: book.Sell, Price: 650_000, Qty: 100})
	must(t, x, engine.Command{Kind: engine.CmdPlaceOrder, Client: b, Market: 0, Key: 1, Side: book.Buy, Price: 650_000, Qty: 40, TIF: book.IOC})
	live := m.StateHash()
	if err := n.Shutdown(); err != nil {
		t.Fatal(err)
	}

	// Restart: the log brings the engine back to the same state.
	m2, n2 := open()
	if err := n2.Barrier(5 * time.Second); err != nil {
		t.Fatal(err)
	}
	if m2.StateHash() != live {
		t.Fatal("state after restart differs from the live state")
	}
	if err := n2.Shutdown(); err != nil {
		t.Fatal(err)
	}

	// Offline replay, and the account explanation replay --account prints.
	rm, _ := NewMachine(engine.DefaultConfig())
	var lines []string
	res, err := journal.Replay(dir, rm, journal.ReplayOptions{Observe: func(_ uint64, _ int64, _, _, events []byte) {
		lines = append(lines, rm.AccountEvents(events, "2")...)
	}})
	if err != nil {
		t.Fatal(err)
	}
	if res.StateHash != live {
		t.Fatal("offline replay differs from the live state")
	}
	joined := strings.Join(lines, "\n")
	if !strings.Contains(joined, "trade") || !strings.Contains(joined, "position") {
		t.Fatalf("client 2's events do not show its trade and position:\n%s", joined)
	}
	st, err := rm.AccountState("2")
	if err != nil || !strings.Contains(st, "BTC-USD-PERP size 0.04") {
		t.Fatalf("account state: %v\n%s", err, st)
	}
	rep, err := journal.Verify(dir, func() journal.StateMachine { m, _ := NewMachine(engine.DefaultConfig()); return m })
	if err != nil || !rep.OK {
		t.Fatalf("verify: %v %+v", err, rep)
	}
}
