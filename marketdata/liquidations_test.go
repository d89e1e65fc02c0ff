package marketdata

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/sampan-hk/sampan/core/book"
	"github.com/sampan-hk/sampan/core/engine"
)

// A real liquidation through the engine with small limits: the tape, the
// chain and the fund history stay within them, the chain's totals still
// cover every step, every tape entry reaches a listener, and the ADL
// quantile reaches the position stream.
//
// lev: 6,000 USD, long 1 BTC at 50,000 (bankruptcy 44,025); a bid of 0.5
// at 44,100; mark 44,100. Book steps sell into the bid (fee 75 per BTC:
// the surplus over bankruptcy), the fund takes over the other 0.5.
func TestLiquidationReadModels(t *testing.T) {
	f := newFixture(t, Config{LiquidationsMax: 4, InsuranceMax: 3, LiqChainStepsMax: 5})
	safe, bid := f.trader(10), f.trader(20)
	lev := f.must(engine.Command{Kind: engine.CmdCreateClient, Key: 30}).Client
	f.must(engine.Command{Kind: engine.CmdDeposit, Client: lev, Key: 31, Amount: 6_000_000_000})
	f.must(engine.Command{Kind: engine.CmdSetClassification, Client: lev, Key: 32, Class: engine.IndividualPI, Expiry: f.clock + int64(365*24*time.Hour)})
	f.must(engine.Command{Kind: engine.CmdSetKnowledge, Client: lev, Key: 33, Flag: true})
	f.must(engine.Command{Kind: engine.CmdFundInsurance, Key: 40, Amount: 1_000_000_000})
	f.must(engine.Command{Kind: engine.CmdSetMark, Price: 500_000})
	f.must(place(safe, book.Sell, 500_000, 1000, 1))
	f.must(place(lev, book.Buy, 500_000, 1000, 1))
	f.must(engine.Command{Kind: engine.CmdSetMark, Price: 460_000})
	f.must(place(bid, book.Buy, 441_000, 500, 1))

	tape, pos := f.s.NewListener(), f.s.NewListener()
	f.s.SubscribePublic(tape, ChanLiquidations, 0)
	f.s.Login(pos, safe)
	f.s.SubscribePrivate(pos, ChanPositions)
	f.must(engine.Command{Kind: engine.CmdSetMark, Price: 441_000})
	f.sync()

	// Every entry was pushed (the ring keeps only the newest 4).
	var lots int64
	var pushed []LiquidationView
	for lots < 1000 {
		select {
		case b := <-tape.C:
			var m struct {
				Channel, Symbol string
				Data            LiquidationView
			}
			if err := json.Unmarshal(b, &m); err != nil || m.Channel != "liquidations" || m.Data.Side != "sell" {
				t.Fatalf("message %s", b)
			}
			pushed = append(pushed, m.Data)
			q, _ := f.s.specs[0].Spec.ParseQty(m.Data.Qty)
			lots += int64(q)
		case <-time.After(5 * time.Second):
			t.Fatalf("pushed %d lots of 1000: %+v", lots, pushed)
		}
	}
	got := f.s.Liquidations(0, 0)
	if len(got) != 4 || got[0] != pushed[len(pushed)-1] || got[3] != pushed[len(pushed)-4] {
		t.Fatalf("tape %+v, pushed %+v", got, pushed)
	}

	chains := f.s.LiquidationChains(ChainFilter{}, 0)
	if len(chains) != 1 {
		t.Fatalf("chains %+v", chains)
	}
	c := chains[0]
	if c.Status != ChainClosedOut || c.TriggerMark != "44100" || c.Equity != "75" || c.MM != "176.4" || c.Fees != "37.5" ||
		c.Filled != "22050" || len(c.Orders)+len(c.Takeovers) != 5 || c.Truncated == 0 || c.End == nil || c.End.Collateral != "0" {
		t.Fatalf("chain %+v", c)
	}
	if n := len(f.s.LiquidationChains(ChainFilter{Client: safe}, 0)); n != 0 {
		t.Fatalf("safe has %d chains", n)
	}
	if n := len(f.s.LiquidationChains(ChainFilter{Market: 1, ByMkt: true}, 0)); n != 0 {
		t.Fatalf("ETH has %d chains", n)
	}

	// The fund: 1,000 deposited, 37.5 of fees; only the newest 3 points kept.
	h := f.s.InsuranceHistory(0)
	if len(h) != 3 || h[2].Balance != "1037.5" || h[2].Reason != "takeover" || h[2].Amount != "" {
		t.Fatalf("fund history %+v", h)
	}

	// A tick ranks the positions: safe is the only short, quantile 5, and
	// its position stream says so.
	if q := f.s.AdlQuantile(safe, 0); q != 0 {
		t.Fatalf("quantile before the first ranking %d", q)
	}
	f.must(engine.Command{Kind: engine.CmdTick})
	f.sync()
	if q := f.s.AdlQuantile(safe, 0); q != 5 {
		t.Fatalf("quantile %d", q)
	}
	for {
		select {
		case b := <-pos.C:
			var m struct{ Data PositionUpdate }
			if err := json.Unmarshal(b, &m); err != nil {
				t.Fatal(err)
			}
			if m.Data.AdlQuantile == 5 {
				if m.Data.Size != "-1" || m.Data.EntryPrice != "50000" {
					t.Fatalf("position %+v", m.Data)
				}
				return
			}
		case <-time.After(5 * time.Second):
			t.Fatal("no position message with the quantile")
		}
	}
}

// After a resync the kept positions take the engine's size and quantile
// (the engine publishes a quantile only when it changes, so the ones lost
// while the store was away would otherwise stay stale), and positions
// closed meanwhile are dropped.
func TestLiquidationModelsAfterResync(t *testing.T) {
	f := newFixture(t, Config{SubscriptionBuffer: 4})
	// Keep the store caught up until the stall: its buffer is 4 batches.
	step := func(c engine.Command) engine.Result {
		r := f.must(c)
		f.sync()
		return r
	}
	mk := func(key uint64) engine.ClientID {
		c := step(engine.Command{Kind: engine.CmdCreateClient, Key: key}).Client
		step(engine.Command{Kind: engine.CmdDeposit, Client: c, Key: key + 1, Amount: 1_000_000_000_000})
		step(engine.Command{Kind: engine.CmdSetClassification, Client: c, Key: key + 2, Class: engine.IndividualPI, Expiry: f.clock + int64(365*24*time.Hour)})
		step(engine.Command{Kind: engine.CmdSetKnowledge, Client: c, Key: key + 3, Flag: true})
		return c
	}
	a, b, c := mk(10), mk(20), mk(30)
	step(engine.Command{Kind: engine.CmdSetMark, Price: 500_000})
	step(place(a, book.Sell, 500_000, 100, 1))
	step(place(b, book.Buy, 500_000, 100, 1))
	step(engine.Command{Kind: engine.CmdTick})
	if f.s.Resyncs() != 0 {
		t.Fatal("resynced before the stall")
	}
	if f.s.AdlQuantile(a, 0) != 5 || f.s.AdlQuantile(b, 0) != 5 {
		t.Fatalf("quantiles %d %d", f.s.AdlQuantile(a, 0), f.s.AdlQuantile(b, 0))
	}
	f.s.mu.Lock() // stall the store so its subscription overflows
	f.must(place(b, book.Sell, 500_000, 100, 2))
	f.must(place(c, book.Buy, 500_000, 100, 2)) // b is flat, c long
	f.must(place(a, book.Sell, 500_000, 50, 3))
	f.must(place(c, book.Buy, 500_000, 50, 3))
	f.clock += int64(engine.AdlPublishEvery)
	for i := 0; i < 8; i++ {
		f.must(engine.Command{Kind: engine.CmdTick})
	}
	f.s.mu.Unlock()
	f.sync()
	if f.s.Resyncs() == 0 {
		t.Fatalf("resyncs = %d", f.s.Resyncs())
	}
	var want uint8
	f.x.View(func(e *engine.Engine) { want = e.Positions(a, nil)[0].AdlQuantile })
	if got := f.s.AdlQuantile(a, 0); got != want || want == 0 {
		t.Fatalf("a's quantile %d, engine %d", got, want)
	}
	if got := f.s.AdlQuantile(b, 0); got != 0 {
		t.Fatalf("b is flat, quantile %d", got)
	}
	f.s.mu.RLock()
	p := f.s.positions[posKey{a, 0}]
	f.s.mu.RUnlock()
	if p == nil || p.ev.Size != -150 {
		t.Fatalf("a's kept position %+v", p)
	}
}
