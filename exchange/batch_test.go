package exchange

import (
	"testing"

	"github.com/sampan-hk/sampan/core/book"
	"github.com/sampan-hk/sampan/core/engine"
)

// A batch carries its command's key and client order id text, which came
// through the encoded log (MemLog applies the encoded bytes), so a consumer
// can name the order the command placed; a place without a text has none.
func TestBatchCarriesKeyAndRef(t *testing.T) {
	x := newTestExchange(t)
	a := fundedPI(t, x, 10)
	must(t, x, engine.Command{Kind: engine.CmdSetMark, Market: 0, Price: 650_000})
	sub := x.Subscribe(16)
	named := must(t, x, engine.Command{Kind: engine.CmdPlaceOrder, Client: a, Market: 0, Key: 77, Side: book.Sell,
		Price: 651_000, Qty: 5, Ref: "grid-1.ask"})
	must(t, x, engine.Command{Kind: engine.CmdPlaceOrder, Client: a, Market: 0, Key: 78, Side: book.Sell, Price: 652_000, Qty: 5})
	want := []struct {
		key uint64
		ref string
	}{{77, "grid-1.ask"}, {78, ""}}
	for i, w := range want {
		b := <-sub.C
		if b.Cmd != engine.CmdPlaceOrder || b.Client != a || b.Key != w.key || b.Ref != w.ref {
			t.Fatalf("batch %d: cmd %v client %d key %d ref %q, want key %d ref %q", i, b.Cmd, b.Client, b.Key, b.Ref, w.key, w.ref)
		}
		accepted := false
		for _, ev := range b.Events {
			accepted = accepted || ev.Kind == engine.EvOrderAccepted && ev.Client == a && ev.ClientOrderID == w.key
		}
		if !accepted || i == 0 && b.Result.Order != named.Order {
			t.Fatalf("batch %d: no acceptance of key %d, or result %+v is not the named order's", i, w.key, b.Result)
		}
	}
}
