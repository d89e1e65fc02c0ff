package marketdata

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/sampan-hk/sampan/core/book"
	"github.com/sampan-hk/sampan/core/engine"
	"github.com/sampan-hk/sampan/core/fixed"
	"github.com/sampan-hk/sampan/exchange"
)

// recLog is a MemLog that also keeps every encoded command it applied, so
// a test can replay the same log into a fresh node.
type recLog struct {
	*exchange.MemLog
	mu   sync.Mutex
	cmds [][]byte
}

func (l *recLog) Submit(ctx context.Context, cmd []byte) ([]byte, error) {
	l.mu.Lock()
	l.cmds = append(l.cmds, append([]byte(nil), cmd...))
	l.mu.Unlock()
	return l.MemLog.Submit(ctx, cmd)
}

// node is an exchange with a running store; now is its fixed engine time.
type node struct {
	m   *exchange.Machine
	x   *exchange.Exchange
	log *recLog
	s   *Store
}

const namesNow = int64(1_795_000_000_000_000_000)

func startNode(t *testing.T, cfg Config) *node {
	t.Helper()
	m, err := exchange.NewMachine(engine.DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	mem := exchange.NewMemLog(m)
	mem.Clock = func() int64 { return namesNow }
	n := &node{m: m, log: &recLog{MemLog: mem}}
	n.x = exchange.New(m, n.log)
	n.s = New(n.x, cfg)
	ctx, cancel := context.WithCancel(context.Background())
	ready, done := make(chan struct{}), make(chan struct{})
	go func() { defer close(done); n.s.Run(ctx, ready) }()
	<-ready
	t.Cleanup(func() { cancel(); <-done })
	return n
}

func (n *node) sync(t *testing.T) {
	t.Helper()
	var seq uint64
	n.x.View(func(e *engine.Engine) { seq = e.Seq() })
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if !n.s.WaitSeq(ctx, seq) {
		t.Fatal("store did not catch up")
	}
}

func (n *node) submit(t *testing.T, c engine.Command) engine.Result {
	t.Helper()
	r, err := n.x.Submit(context.Background(), &c)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func namedPlace(c engine.ClientID, side book.Side, px fixed.Price, q fixed.Qty, key uint64, cid string) engine.Command {
	cmd := place(c, side, px, q, key)
	cmd.Ref = cid
	return cmd
}

// The store names orders from the texts the log carries: order records,
// fills (also of an order whose record it no longer keeps) and the names
// table show them, on the node that placed the orders and on a fresh node
// replaying the same log. A place without a text and a refused place name
// nothing.
func TestClientOrderIDsFromTheLog(t *testing.T) {
	cfg := Config{OrdersMax: 2}
	live := startNode(t, cfg)
	var a, b engine.ClientID
	for i, id := range []*engine.ClientID{&a, &b} {
		key := uint64(10 * (i + 1))
		*id = live.submit(t, engine.Command{Kind: engine.CmdCreateClient, Key: key}).Client
		live.submit(t, engine.Command{Kind: engine.CmdDeposit, Client: *id, Key: key + 1, Amount: 1_000_000_000_000})
		live.submit(t, engine.Command{Kind: engine.CmdSetClassification, Client: *id, Key: key + 2, Class: engine.IndividualPI,
			Expiry: namesNow + int64(365*24*time.Hour)})
		live.submit(t, engine.Command{Kind: engine.CmdSetKnowledge, Client: *id, Key: key + 3, Flag: true})
	}
	live.submit(t, engine.Command{Kind: engine.CmdSetMark, Price: 650_000})
	for _, c := range []engine.Command{
		namedPlace(a, book.Sell, 650_000, 100, 1, "ask-1"),
		place(a, book.Sell, 651_000, 100, 2),                    // no text
		namedPlace(a, book.Sell, 652_000, 100, 3, "ask-3:grid"), // pushes ask-1's record out (OrdersMax 2)
	} {
		if r := live.submit(t, c); r.Code != engine.OK {
			t.Fatalf("place %d: %v", c.Key, r.Code)
		}
	}
	if r := live.submit(t, namedPlace(a, book.Sell, 650_000, 0, 4, "refused")); r.Code == engine.OK {
		t.Fatal("a zero-quantity place was accepted")
	}
	taker := namedPlace(b, book.Buy, 650_000, 40, 5, "bid-1")
	taker.TIF = book.IOC
	if r := live.submit(t, taker); r.Code != engine.OK {
		t.Fatalf("taker: %v", r.Code)
	}
	live.sync(t)

	replayed := startNode(t, cfg)
	live.log.mu.Lock()
	for _, cmd := range live.log.cmds {
		replayed.m.Apply(namesNow, cmd)
	}
	live.log.mu.Unlock()
	replayed.sync(t)
	if live.m.StateHash() != replayed.m.StateHash() {
		t.Fatal("the replay reached another state")
	}

	for name, n := range map[string]*node{"live": live, "replayed": replayed} {
		s := n.s
		if o := s.Orders(a, 0); len(o) != 2 || o[0].ClientOrderID != "ask-3:grid" || o[1].ClientOrderID != "" {
			t.Errorf("%s: a's orders %+v", name, o)
		}
		if o := s.Orders(b, 0); len(o) != 1 || o[0].ClientOrderID != "bid-1" || o[0].Filled != "0.04" {
			t.Errorf("%s: b's orders %+v", name, o)
		}
		if f := s.Fills(a, 0); len(f) != 1 || f[0].ClientOrderID != "ask-1" || f[0].Liquidity != "maker" {
			t.Errorf("%s: a's fills %+v (the maker's record was evicted: named by key)", name, f)
		}
		if f := s.Fills(b, 0); len(f) != 1 || f[0].ClientOrderID != "bid-1" {
			t.Errorf("%s: b's fills %+v", name, f)
		}
		for key, want := range map[uint64]string{1: "ask-1", 2: "", 3: "ask-3:grid", 4: ""} {
			if got := s.ClientOrderID(a, key); got != want {
				t.Errorf("%s: ClientOrderID(a, %d) = %q, want %q", name, key, got, want)
			}
		}
		// The IOC taker ended in its own command: its record and fill
		// carry its text (above), the names table does not.
		if got := s.ClientOrderID(b, 5); got != "" {
			t.Errorf("%s: an order that ended in its own command is in the names table as %q", name, got)
		}
	}
}
