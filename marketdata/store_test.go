package marketdata

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/sampan-hk/sampan/core/book"
	"github.com/sampan-hk/sampan/core/engine"
	"github.com/sampan-hk/sampan/core/fixed"
	"github.com/sampan-hk/sampan/exchange"
)

type fixture struct {
	t     *testing.T
	x     *exchange.Exchange
	s     *Store
	clock int64
}

// newFixture runs a store over a MemLog exchange whose clock the test
// controls (engine time drives candles and the 24h window).
func newFixture(t *testing.T, cfg Config) *fixture {
	m, err := exchange.NewMachine(engine.WithFinancing(engine.DefaultConfig()))
	if err != nil {
		t.Fatal(err)
	}
	log := exchange.NewMemLog(m)
	f := &fixture{t: t, x: exchange.New(m, log), clock: time.Date(2026, 11, 25, 0, 0, 0, 0, time.UTC).UnixNano()}
	log.Clock = func() int64 { return f.clock }
	f.s = New(f.x, cfg)
	ctx, cancel := context.WithCancel(context.Background())
	ready, done := make(chan struct{}), make(chan struct{})
	go func() { defer close(done); f.s.Run(ctx, ready) }()
	<-ready
	t.Cleanup(func() { cancel(); <-done })
	return f
}

func (f *fixture) must(c engine.Command) engine.Result {
	f.t.Helper()
	r, err := f.x.Submit(context.Background(), &c)
	if err != nil || r.Code != engine.OK {
		f.t.Fatalf("%v: %v %v", c.Kind, err, r.Code)
	}
	return r
}

func (f *fixture) trader(key uint64) engine.ClientID {
	c := f.must(engine.Command{Kind: engine.CmdCreateClient, Key: key}).Client
	f.must(engine.Command{Kind: engine.CmdDeposit, Client: c, Key: key + 1, Amount: 1_000_000_000_000})
	f.must(engine.Command{Kind: engine.CmdSetClassification, Client: c, Key: key + 2, Class: engine.IndividualPI, Expiry: f.clock + int64(365*24*time.Hour)})
	f.must(engine.Command{Kind: engine.CmdSetKnowledge, Client: c, Key: key + 3, Flag: true})
	return c
}

func (f *fixture) sync() {
	var seq uint64
	f.x.View(func(e *engine.Engine) { seq = e.Seq() })
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if !f.s.WaitSeq(ctx, seq) {
		f.t.Fatal("store did not catch up")
	}
}

func place(c engine.ClientID, side book.Side, px fixed.Price, q fixed.Qty, key uint64) engine.Command {
	return engine.Command{Kind: engine.CmdPlaceOrder, Client: c, Side: side, Price: px, Qty: q, Key: key}
}

// Candles bucket by engine time; the ticker sums a rolling 24 h of
// minutes; order records follow fills to their final status.
func TestTradesKlinesTickerAndHistory(t *testing.T) {
	f := newFixture(t, Config{})
	a, b := f.trader(10), f.trader(20)
	f.must(engine.Command{Kind: engine.CmdSetMark, Price: 650_000})
	named := place(a, book.Sell, 650_000, 100, 7)
	named.Ref = "ask-7"
	f.must(named)
	f.must(place(b, book.Buy, 650_000, 100, 1)) // t0: 0.1 at 65000
	f.clock += int64(90 * time.Second)
	f.must(engine.Command{Kind: engine.CmdSetMark, Price: 651_000})
	f.must(place(a, book.Sell, 651_000, 100, 8))
	f.must(place(b, book.Buy, 651_000, 100, 2)) // the next minute: 0.1 at 65100
	f.clock += int64(25 * time.Hour)
	f.must(place(a, book.Sell, 650_000, 100, 9))
	f.must(place(b, book.Buy, 650_000, 50, 3)) // a day later: 0.05 at 65000
	f.sync()

	k1 := f.s.Klines(0, I1m, 0)
	if len(k1) != 3 || k1[0].Open != "65000" || k1[1].Close != "65100" || k1[2].Volume != "0.05" {
		t.Fatalf("1m klines: %+v", k1)
	}
	if d := f.s.Klines(0, I1d, 0); len(d) != 2 || d[0].Volume != "0.2" || d[0].High != "65100" {
		t.Fatalf("1d klines: %+v", d)
	}
	tk := f.s.Ticker(0)
	if tk.Volume24h != "0.05" || tk.High24h != "65000" || tk.Last != "65000" || tk.Trades24h != 1 || tk.Mark != "65100" {
		t.Fatalf("ticker: %+v", tk)
	}
	if tr := f.s.Trades(0, 2); len(tr) != 2 || tr[0].Qty != "0.05" || tr[0].Side != "buy" {
		t.Fatalf("trades: %+v", tr)
	}
	hist := f.s.Orders(a, 0)
	if len(hist) != 3 || hist[2].ClientOrderID != "ask-7" || hist[2].Status != StatusFilled || hist[2].Remaining != "0" ||
		hist[0].Status != StatusPartiallyFilled || hist[0].Filled != "0.05" || hist[0].Remaining != "0.05" {
		t.Fatalf("history: %+v", hist)
	}
	if fl := f.s.Fills(a, 0); len(fl) != 3 || fl[0].Liquidity != "maker" || fl[2].ClientOrderID != "ask-7" {
		t.Fatalf("fills: %+v", fl)
	}
}

// Bounded models: the rings keep exactly their limit, newest first.
func TestNamedLimits(t *testing.T) {
	f := newFixture(t, Config{TradesMax: 3, OrdersMax: 2, FillsMax: 2, KlinesMax: 1})
	a, b := f.trader(10), f.trader(20)
	f.must(engine.Command{Kind: engine.CmdSetMark, Price: 650_000})
	for i := uint64(1); i <= 5; i++ {
		f.must(place(a, book.Sell, 650_000, 1, 100+i))
		f.must(place(b, book.Buy, 650_000, 1, 200+i))
		f.clock += int64(time.Hour)
	}
	f.sync()
	if n := len(f.s.Trades(0, 0)); n != 3 {
		t.Fatalf("trades kept %d", n)
	}
	if n := len(f.s.Orders(a, 0)); n != 2 {
		t.Fatalf("orders kept %d", n)
	}
	if n := len(f.s.Fills(b, 0)); n != 2 {
		t.Fatalf("fills kept %d", n)
	}
	if n := len(f.s.Klines(0, I1h, 0)); n != 1 {
		t.Fatalf("1h klines kept %d", n)
	}
	if n := len(f.s.Klines(0, I1m, 0)); n != 5 { // 1m keeps a day regardless, for the ticker
		t.Fatalf("1m klines kept %d", n)
	}
}

// When the exchange drops the store for being slow, the store
// resubscribes, rebuilds depth from a View, and depth listeners get a new
// snapshot that equals the engine's book.
func TestResyncAfterSlowConsumer(t *testing.T) {
	f := newFixture(t, Config{SubscriptionBuffer: 4})
	a := f.trader(10)
	f.must(engine.Command{Kind: engine.CmdSetMark, Price: 650_000})
	f.sync()
	l := f.s.NewListener()
	f.s.SubscribePublic(l, ChanDepth, 0)
	<-l.C         // the first snapshot
	f.s.mu.Lock() // stall the store so its subscription overflows
	for i := 0; i < 20; i++ {
		f.must(place(a, book.Buy, fixed.Price(640_000+i), 1, uint64(1000+i)))
	}
	f.s.mu.Unlock()
	f.sync()
	if f.s.Resyncs() != 1 {
		t.Fatalf("resyncs = %d", f.s.Resyncs())
	}
	var want []book.Level
	f.x.View(func(e *engine.Engine) { want = e.Book(0).Depth(book.Buy, 100, nil) })
	got := f.s.Depth(0, 100)
	if len(got.Bids) != len(want) || got.Bids[0][0] != "64001.9" {
		t.Fatalf("depth after resync: %+v, engine %d levels", got, len(want))
	}
	var snap Message
	for snap.Type != "snapshot" {
		select {
		case b := <-l.C:
			if err := json.Unmarshal(b, &snap); err != nil {
				t.Fatal(err)
			}
		case <-time.After(5 * time.Second):
			t.Fatal("no new snapshot after resync")
		}
	}
}

// A listener that does not drain its buffer is dropped with a reason and
// never blocks the store.
func TestListenerOverflowDrops(t *testing.T) {
	f := newFixture(t, Config{ListenerBuffer: 2})
	a := f.trader(10)
	f.must(engine.Command{Kind: engine.CmdSetMark, Price: 650_000})
	l := f.s.NewListener()
	f.s.SubscribePublic(l, ChanDepth, 0)
	for i := 0; i < 5; i++ {
		f.must(place(a, book.Buy, fixed.Price(640_000+i), 1, uint64(1000+i)))
	}
	f.sync()
	select {
	case <-l.Done:
	default:
		t.Fatal("listener not dropped")
	}
	if l.Reason() == "" {
		t.Fatal("no reason")
	}
}

// The names table is a FIFO of keys: renaming a key keeps its place (it is
// not queued twice), so the name lives as long as the key's first entry
// and is forgotten exactly when NamesMax later keys have been named.
func TestNamesFIFORename(t *testing.T) {
	f := newFixture(t, Config{NamesMax: 3})
	const c = engine.ClientID(7)
	name := func(key uint64, cid string) {
		f.s.mu.Lock()
		defer f.s.mu.Unlock()
		f.s.name(c, key, cid)
	}
	name(1, "a")
	name(1, "b") // same key, another string: a rename
	name(2, "x")
	name(3, "y")
	if got := f.s.ClientOrderID(c, 1); got != "b" {
		t.Fatalf("after a rename and two more names, key 1 is %q, want %q", got, "b")
	}
	name(4, "z") // the fourth key pushes out the oldest, key 1
	if got := f.s.ClientOrderID(c, 1); got != "" {
		t.Fatalf("key 1 still named %q after NamesMax later keys", got)
	}
	for k, want := range map[uint64]string{2: "x", 3: "y", 4: "z"} {
		if got := f.s.ClientOrderID(c, k); got != want {
			t.Fatalf("key %d is %q, want %q", k, got, want)
		}
	}
}
