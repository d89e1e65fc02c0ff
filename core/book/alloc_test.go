package book

import (
	"testing"

	"github.com/sampan-hk/sampan/core/fixed"
)

// TestHotPathAllocations: once the book is warm (level pages touched, event
// buffer grown), submitting, matching, amending and cancelling allocate
// nothing.
func TestHotPathAllocations(t *testing.T) {
	b := New(specWith(1000, 100), Limits{MaxOrders: 64, MaxOrdersPerOwner: 64, MaxLevels: 64})
	b.SetBand(100, 200_000)
	cycle := func() {
		var ids [6]OrderID
		for i := range ids {
			ev := b.Submit(Order{Owner: Owner(i % 3), ClientID: uint64(i + 1), Side: Sell, STP: STPExpireMaker, Price: 101 + fixed.Price(i%3), Qty: 3})
			ids[i] = ev[0].Order
		}
		b.Amend(0, ids[0], 101, 2)                                                    // in place
		b.Amend(1, ids[1], 104, 2)                                                    // move
		b.Amend(2, ids[2], 90, 1)                                                     // rejected: out of band
		b.Submit(Order{Owner: 0, Side: Buy, STP: STPExpireMaker, Price: 102, Qty: 4}) // crosses, STP, rests
		b.Submit(Order{Owner: 1, Side: Buy, Type: Market, TIF: FOK, Qty: 2})
		b.Submit(Order{Owner: 1, Side: Buy, PostOnly: true, Price: 120, Qty: 2}) // rejected
		b.CancelByClientID(2, 6, CancelByOwner)
		b.Cancel(1, ids[4], CancelByOwner)
		for o := Owner(0); o < 3; o++ {
			b.CancelAll(o, CancelByEngine)
		}
		if b.Len() != 0 {
			t.Fatal("cycle left orders", b.Len())
		}
	}
	for range 10 {
		cycle()
	}
	if err := b.CheckInvariants(); err != nil {
		t.Fatal(err)
	}
	if n := testing.AllocsPerRun(200, cycle); n != 0 {
		t.Fatalf("%v allocations per cycle", n)
	}
}
