package book

import (
	"testing"

	"github.com/sampan-hk/sampan/core/fixed"
)

func testSpec(t testing.TB) fixed.Spec {
	s := fixed.Spec{Tick: fixed.Step{Units: 1, Scale: 1}, Lot: fixed.Step{Units: 1, Scale: 3}, Multiplier: 1, QuoteDecimals: 6, BaseDecimals: 8, MaxPrice: 1 << 24, MaxQty: 1_000_000}
	if err := s.Validate(); err != nil {
		t.Fatal(err)
	}
	return s
}

func TestSmoke(t *testing.T) {
	b := New(testSpec(t), Limits{MaxOrders: 100, MaxOrdersPerOwner: 10, MaxLevels: 50})
	ev := b.Submit(Order{Owner: 1, Side: Sell, Price: 1000, Qty: 5})
	t.Logf("%+v", ev)
	ev = b.Submit(Order{Owner: 1, Side: Sell, Price: 1001, Qty: 5})
	ev = b.Submit(Order{Owner: 2, Side: Buy, Price: 1001, Qty: 7, TIF: IOC})
	for _, e := range ev {
		t.Logf("%v %+v", e.Kind, e)
	}
	if err := b.CheckInvariants(); err != nil {
		t.Fatal(err)
	}
	p, q, _ := b.Best(Sell)
	if p != 1001 || q != 3 {
		t.Fatal(p, q)
	}
}
