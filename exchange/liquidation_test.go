package exchange

import (
	"context"
	"encoding/binary"
	"strings"
	"testing"
	"time"

	"github.com/sampan-hk/sampan/core/book"
	"github.com/sampan-hk/sampan/core/engine"
	"github.com/sampan-hk/sampan/journal"
)

// "Why was I liquidated?": after a price shock liquidates a leveraged long,
// an offline replay of the journal shows the liquidated client's chain of
// events in order — the trigger with equity and maintenance margin, each
// liquidation order with its bankruptcy price and fee, and the finish.
func TestReplayExplainsALiquidation(t *testing.T) {
	dir := t.TempDir()
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
	x := New(m, n)
	maker := fundedPI(t, x, 10)
	must(t, x, engine.Command{Kind: engine.CmdDeposit, Client: maker, Key: 99, Amount: 10_000_000_000_000})
	victim := fundedPI(t, x, 20) // 100,000 USD
	must(t, x, engine.Command{Kind: engine.CmdSetMark, Market: 0, Price: 650_000})
	// The victim buys 14 BTC at 65,000 (about 9.1× leverage).
	must(t, x, engine.Command{Kind: engine.CmdPlaceOrder, Client: maker, Market: 0, Key: 1, Side: book.Sell, Price: 650_000, Qty: 14_000})
	must(t, x, engine.Command{Kind: engine.CmdPlaceOrder, Client: victim, Market: 0, Key: 1, Side: book.Buy, Price: 650_000, Qty: 14_000, TIF: book.IOC})
	// A deep bid to absorb the liquidation, then the shock.
	must(t, x, engine.Command{Kind: engine.CmdSetMark, Market: 0, Price: 600_000})
	must(t, x, engine.Command{Kind: engine.CmdPlaceOrder, Client: maker, Market: 0, Key: 2, Side: book.Buy, Price: 580_500, Qty: 20_000})
	must(t, x, engine.Command{Kind: engine.CmdSetMark, Market: 0, Price: 581_000}) // below the 58,380.6 liquidation price
	// Per-call caps spread a large liquidation over later commands: ticks
	// carry it on (the sequencer sends one a second in production).
	for i := 0; i < 40; i++ {
		must(t, x, engine.Command{Kind: engine.CmdTick})
	}
	if err := n.Shutdown(); err != nil {
		t.Fatal(err)
	}
	live := m.EventCounts()

	rm, _ := NewMachine(engine.DefaultConfig())
	var lines []string
	var logged [256]uint64 // events in the log, by kind, from the records themselves
	if _, err := journal.Replay(dir, rm, journal.ReplayOptions{Observe: func(_ uint64, _ int64, _, _, events []byte) {
		lines = append(lines, rm.AccountEvents(events, "2")...)
		for len(events) >= 2 {
			n := int(binary.LittleEndian.Uint16(events))
			ev, err := engine.DecodeEvent(events[2 : 2+n])
			if err != nil {
				t.Fatal(err)
			}
			logged[ev.Kind]++
			events = events[2+n:]
		}
	}}); err != nil {
		t.Fatal(err)
	}
	// /metrics' liquidation counters: every event applied is counted, the
	// same on the live machine and on a replay.
	if live != logged || rm.EventCounts() != logged {
		t.Fatalf("event counts: live %v, replayed %v, in the log %v", live, rm.EventCounts(), logged)
	}
	if live[engine.EvLiquidationStarted] != 1 || live[engine.EvLiquidationOrder] == 0 || live[engine.EvLiquidationFinished] != 1 {
		t.Fatalf("liquidation events counted: started %d, orders %d, finished %d", live[engine.EvLiquidationStarted],
			live[engine.EvLiquidationOrder], live[engine.EvLiquidationFinished])
	}
	text := strings.Join(lines, "\n")
	order := []string{"liquidation_started", "fell below maintenance margin", "liquidation_order", "bankruptcy", "liquidation finished"}
	at := 0
	for _, want := range order {
		i := strings.Index(text[at:], want)
		if i < 0 {
			t.Fatalf("replay of client 2 lacks %q after offset %d:\n%s", want, at, text)
		}
		at += i
	}
}
