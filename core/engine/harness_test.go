package engine

import (
	"testing"

	"github.com/sampan-hk/sampan/core/book"
	"github.com/sampan-hk/sampan/core/fixed"
	"github.com/sampan-hk/sampan/core/funding"
)

const (
	usd  = 1_000_000 // micro-USD per dollar
	btc  = MarketID(0)
	eth  = MarketID(1)
	year = int64(365 * 24 * 3600 * 1e9)
)

// testConfig is DefaultConfig with small books (fast to build), a small
// idempotency window (so eviction is exercised) and funding every two
// minutes with 10 s samples (so randomized runs cross many boundaries).
func testConfig() Config {
	return testConfigWith(funding.Params{Interval: 120e9, SamplePeriod: 10e9, Interest: 100_000, InterestClamp: 500_000, CapFactor: 750_000})
}

func testConfigWith(fp funding.Params) Config {
	cfg := DefaultConfig()
	cfg.Funding = fp
	for i := range cfg.Markets {
		cfg.Markets[i].Spec.MaxPrice = 2_000_000
		cfg.Markets[i].Limits = book.Limits{MaxOrders: 4096, MaxOrdersPerOwner: 32, MaxLevels: 2048}
	}
	cfg.IdemMax = 256
	return cfg
}

// harness applies commands, keeps a copy of the last events, and checks
// every invariant after every command.
type harness struct {
	t   testing.TB
	e   *Engine
	now int64
	evs []Event
}

func newHarness(t testing.TB) *harness {
	return &harness{t: t, e: MustNew(testConfig()), now: 1_000}
}

func (h *harness) do(c Command) Result {
	h.t.Helper()
	r, evs := h.e.Apply(&c, h.now)
	h.evs = append(h.evs[:0], evs...)
	if err := h.e.CheckInvariants(); err != nil {
		h.t.Fatalf("after %v: %v", c.Kind, err)
	}
	return r
}

func (h *harness) ok(c Command) Result {
	h.t.Helper()
	r := h.do(c)
	if r.Code != OK {
		h.t.Fatalf("%v: %v", c.Kind, r.Code)
	}
	return r
}

func (h *harness) want(code Code, c Command) {
	h.t.Helper()
	if r := h.do(c); r.Code != code {
		h.t.Fatalf("%v: got %v, want %v", c.Kind, r.Code, code)
	}
	if len(h.evs) != 0 {
		h.t.Fatalf("%v: a rejection emitted %d events", c.Kind, len(h.evs))
	}
}

// trader creates an eligible professional investor with a deposit.
func (h *harness) trader(dollars int64) ClientID {
	h.t.Helper()
	id := h.ok(Command{Kind: CmdCreateClient}).Client
	h.ok(Command{Kind: CmdSetClassification, Client: id, Class: IndividualPI, Expiry: h.now + year})
	h.ok(Command{Kind: CmdSetKnowledge, Client: id, Flag: true})
	if dollars > 0 {
		h.ok(Command{Kind: CmdDeposit, Client: id, Amount: fixed.Amount(dollars * usd)})
	}
	return id
}

func (h *harness) mark(m MarketID, px fixed.Price) {
	h.t.Helper()
	h.ok(Command{Kind: CmdSetMark, Market: m, Price: px})
}

func limit(c ClientID, m MarketID, side book.Side, px fixed.Price, qty fixed.Qty) Command {
	return Command{Kind: CmdPlaceOrder, Client: c, Market: m, Side: side, Price: px, Qty: qty}
}

func ioc(c ClientID, m MarketID, side book.Side, px fixed.Price, qty fixed.Qty) Command {
	return Command{Kind: CmdPlaceOrder, Client: c, Market: m, Side: side, Price: px, Qty: qty, TIF: book.IOC}
}

func (h *harness) account(c ClientID) AccountView {
	v, ok := h.e.Account(c)
	if !ok {
		h.t.Fatalf("no account %d", c)
	}
	return v
}

func (h *harness) position(c ClientID, m MarketID) PositionView {
	for _, p := range h.e.Positions(c, nil) {
		if p.Market == m {
			return p
		}
	}
	return PositionView{}
}

func (h *harness) count(k EventKind) int {
	n := 0
	for _, ev := range h.evs {
		if ev.Kind == k {
			n++
		}
	}
	return n
}

func (h *harness) last(k EventKind) Event {
	for i := len(h.evs) - 1; i >= 0; i-- {
		if h.evs[i].Kind == k {
			return h.evs[i]
		}
	}
	h.t.Fatalf("no %v event", k)
	return Event{}
}
