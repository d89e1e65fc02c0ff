package exchange

import (
	"context"
	"testing"
	"time"

	"github.com/sampan-hk/sampan/core/book"
	"github.com/sampan-hk/sampan/core/engine"
)

func newTestExchange(t *testing.T) *Exchange {
	t.Helper()
	m, err := NewMachine(engine.DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	return New(m, NewMemLog(m))
}

func must(t *testing.T, x *Exchange, c engine.Command) engine.Result {
	t.Helper()
	r, err := x.Submit(context.Background(), &c)
	if err != nil {
		t.Fatal(err)
	}
	if r.Code != engine.OK {
		t.Fatalf("%v: %v", c.Kind, r.Code)
	}
	return r
}

// fundedPI creates an eligible professional investor with 100k USD.
func fundedPI(t *testing.T, x *Exchange, key uint64) engine.ClientID {
	r := must(t, x, engine.Command{Kind: engine.CmdCreateClient, Key: key, Ref: "pi"})
	c := r.Client
	must(t, x, engine.Command{Kind: engine.CmdDeposit, Client: c, Key: key + 1, Amount: 100_000_000_000})
	must(t, x, engine.Command{Kind: engine.CmdSetClassification, Client: c, Key: key + 2, Class: engine.IndividualPI, Expiry: time.Now().Add(time.Hour).UnixNano()})
	must(t, x, engine.Command{Kind: engine.CmdSetKnowledge, Client: c, Key: key + 3, Flag: true})
	return c
}

func TestSubmitTradesAndPublishes(t *testing.T) {
	x := newTestExchange(t)
	sub := x.Subscribe(1024)
	a, b := fundedPI(t, x, 10), fundedPI(t, x, 20)
	must(t, x, engine.Command{Kind: engine.CmdSetMark, Market: 0, Price: 650_000})
	must(t, x, engine.Command{Kind: engine.CmdPlaceOrder, Client: a, Market: 0, Key: 1, Side: book.Sell, Price: 650_000, Qty: 100})
	r := must(t, x, engine.Command{Kind: engine.CmdPlaceOrder, Client: b, Market: 0, Key: 1, Side: book.Buy, Price: 650_000, Qty: 40, TIF: book.IOC})
	if r.Qty != 40 {
		t.Fatalf("accepted qty %d", r.Qty)
	}
	var trades int
	for len(sub.C) > 0 {
		bt := <-sub.C
		for _, e := range bt.Events {
			if e.Kind == engine.EvTrade {
				trades++
			}
		}
	}
	if trades != 1 {
		t.Fatalf("saw %d trades", trades)
	}
	x.View(func(e *engine.Engine) {
		var ps []engine.PositionView
		ps = e.Positions(b, ps)
		if len(ps) != 1 || ps[0].Size != 40 {
			t.Fatalf("positions %+v", ps)
		}
	})
	// An idempotent retry returns the stored result, marked Replayed.
	r2 := must(t, x, engine.Command{Kind: engine.CmdPlaceOrder, Client: b, Market: 0, Key: 1, Side: book.Buy, Price: 650_000, Qty: 40, TIF: book.IOC})
	if !r2.Replayed || r2.Order != r.Order {
		t.Fatalf("retry: %+v vs %+v", r2, r)
	}
}

func TestSlowConsumerIsDropped(t *testing.T) {
	x := newTestExchange(t)
	slow := x.Subscribe(1)
	fast := x.Subscribe(100)
	fundedPI(t, x, 10) // four commands: more than the slow buffer
	if _, ok := <-slow.C; !ok {
		t.Fatal("first batch should have been delivered")
	}
	if _, ok := <-slow.C; ok {
		t.Fatal("slow subscriber should have been closed")
	}
	if slow.Err() != ErrSlowConsumer {
		t.Fatalf("err = %v", slow.Err())
	}
	if len(fast.C) != 4 {
		t.Fatalf("fast subscriber got %d batches", len(fast.C))
	}
}

func TestResultEncodingRoundTrip(t *testing.T) {
	in := engine.Result{Code: engine.CodeInsufficientMargin, Replayed: true, Client: 7, Order: 1<<20 | 5, Qty: 123, ID: 42}
	out, err := DecodeResult(EncodeResult(in))
	if err != nil || out != in {
		t.Fatalf("%+v %v", out, err)
	}
	if _, err := DecodeResult([]byte{1, 2}); err == nil {
		t.Fatal("short result accepted")
	}
	// Version 1 (no ID) still decodes.
	v1 := EncodeResult(in)[:resultLen-8]
	v1[0] = 1
	if out, err := DecodeResult(v1); err != nil || out.Code != in.Code || out.Order != in.Order || out.ID != 0 {
		t.Fatalf("v1: %+v %v", out, err)
	}
}

func TestMachineEventsBlobDecodes(t *testing.T) {
	m, _ := NewMachine(engine.DefaultConfig())
	c := engine.Command{Kind: engine.CmdCreateClient, Key: 1, Ref: "x"}
	enc, _ := engine.AppendCommand(nil, &c)
	_, blob := m.Apply(1, enc)
	evs, err := DecodeEvents(blob)
	if err != nil || len(evs) == 0 || evs[0].Kind != engine.EvClientCreated {
		t.Fatalf("%v %+v", err, evs)
	}
	if res, _ := m.Apply(2, []byte{0xff}); mustDecode(t, res).Code != engine.CodeUnknownCommand {
		t.Fatal("garbage command not rejected")
	}
}

func mustDecode(t *testing.T, b []byte) engine.Result {
	r, err := DecodeResult(b)
	if err != nil {
		t.Fatal(err)
	}
	return r
}
