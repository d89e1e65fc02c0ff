package book

import (
	"fmt"
	"reflect"
	"testing"

	"github.com/sampan-hk/sampan/core/fixed"
)

// Each named limit at the limit (accepted) and one past it (a typed
// rejection that changes nothing). Every step also runs through the
// differential harness.

// state is everything observable about a book, for "nothing changed".
func state(h *harness) string {
	s := fmt.Sprint(bookStrings(h), h.real.Len(), h.real.LevelCount())
	for ow := Owner(0); ow < 5; ow++ {
		s += fmt.Sprint(" ", h.real.OpenOrders(ow))
	}
	bp, bq, _ := h.real.Best(Buy)
	ap, aq, _ := h.real.Best(Sell)
	return s + fmt.Sprint(" ", bp, bq, ap, aq)
}

// accept runs op and requires it to be accepted and to rest.
func accept(t *testing.T, h *harness, o op) []Event {
	t.Helper()
	ev := h.step(o)
	if len(ev) == 0 || (ev[0].Kind != EvAccepted && ev[0].Kind != EvAmended && ev[0].Kind != EvLevel) {
		t.Fatalf("%v: want accepted, got %v", o, fmtEvents(ev))
	}
	return ev
}

// refuse runs op and requires exactly one rejection with reason r and an
// unchanged book.
func refuse(t *testing.T, h *harness, o op, r Reason) {
	t.Helper()
	before := state(h)
	ev := h.step(o)
	if len(ev) != 1 || ev[0].Kind != EvRejected || ev[0].Reason != r {
		t.Fatalf("%v: want one rejection %v, got\n%s", o, r, fmtEvents(ev))
	}
	if after := state(h); after != before {
		t.Fatalf("%v: rejection changed the book\n before %s\n after  %s", o, before, after)
	}
}

func limitHarness(t *testing.T, l Limits) *harness {
	return newHarness(t, config{spec: specWith(1000, 100), limits: l, center: 100})
}

func TestLimitOpenOrdersPerOwner(t *testing.T) {
	h := limitHarness(t, Limits{MaxOrders: 100, MaxOrdersPerOwner: 3, MaxLevels: 100})
	for i := range 3 {
		accept(t, h, gtc(alice, Buy, fixed.Price(90+i), 1))
	}
	refuse(t, h, gtc(alice, Buy, 95, 1), RejectTooManyOrders)
	refuse(t, h, gtc(alice, Buy, 90, 1), RejectTooManyOrders)                                                 // existing level
	refuse(t, h, sub(Order{Owner: alice, Side: Buy, PostOnly: true, Price: 80, Qty: 1}), RejectTooManyOrders) // post-only too
	accept(t, h, gtc(bob, Sell, 110, 5))
	// A crossing GTC order is refused too: it might rest.
	refuse(t, h, gtc(alice, Buy, 110, 1), RejectTooManyOrders)
	// Orders that never rest are not limited.
	ev := accept(t, h, sub(Order{Owner: alice, Side: Buy, TIF: IOC, Price: 110, Qty: 1}))
	if ev[1].Kind != EvTrade {
		t.Fatalf("IOC at the limit did not trade: %s", fmtEvents(ev))
	}
	accept(t, h, sub(Order{Owner: alice, Side: Buy, TIF: FOK, Price: 110, Qty: 1}))
	accept(t, h, sub(Order{Owner: alice, Side: Buy, Type: Market, Price: 110, Qty: 1}))
	// Amending does not count as a new order.
	accept(t, h, amendOp(alice, 1, 91, 5))
	// Freeing one makes room for exactly one.
	h.step(cancelOp(alice, 2))
	accept(t, h, gtc(alice, Buy, 95, 1))
	refuse(t, h, gtc(alice, Buy, 96, 1), RejectTooManyOrders)
	if h.real.OpenOrders(alice) != 3 {
		t.Fatal(h.real.OpenOrders(alice))
	}
}

func TestLimitPriceLevels(t *testing.T) {
	h := limitHarness(t, Limits{MaxOrders: 100, MaxOrdersPerOwner: 100, MaxLevels: 3})
	accept(t, h, gtc(alice, Buy, 90, 1))  // #1
	accept(t, h, gtc(alice, Buy, 91, 1))  // #2
	accept(t, h, gtc(alice, Sell, 99, 1)) // #3: both sides count
	if h.real.LevelCount() != 3 {
		t.Fatal(h.real.LevelCount())
	}
	refuse(t, h, gtc(bob, Buy, 92, 1), RejectTooManyLevels)
	refuse(t, h, gtc(bob, Sell, 100, 1), RejectTooManyLevels)
	refuse(t, h, sub(Order{Owner: bob, Side: Sell, PostOnly: true, Price: 100, Qty: 1}), RejectTooManyLevels)
	accept(t, h, gtc(bob, Buy, 91, 1)) // #4: an existing level is fine
	// Amending to a new level is refused while the old level keeps others ...
	refuse(t, h, amendOp(bob, 4, 92, 1), RejectTooManyLevels)
	// ... but allowed when the order leaves its old level empty.
	accept(t, h, amendOp(alice, 1, 89, 1))
	if h.real.LevelCount() != 3 {
		t.Fatal(h.real.LevelCount())
	}
	// A crossing order that consumes a level may rest at a new one.
	ev := accept(t, h, gtc(carol, Buy, 100, 3)) // #5
	if last := ev[len(ev)-1]; last.Kind != EvLevel || last.Side != Buy || last.Price != 100 || last.Qty != 2 {
		t.Fatalf("crossing remainder did not rest: %s", fmtEvents(ev))
	}
	if h.real.LevelCount() != 3 {
		t.Fatal(h.real.LevelCount())
	}
	// Orders that never rest are not limited.
	accept(t, h, sub(Order{Owner: bob, Side: Buy, TIF: IOC, Price: 95, Qty: 1}))
}

func TestLimitBookSlots(t *testing.T) {
	h := limitHarness(t, Limits{MaxOrders: 4, MaxOrdersPerOwner: 10, MaxLevels: 10})
	for i := range 4 {
		accept(t, h, gtc(Owner(i%2), Sell, fixed.Price(100+i%2), 1)) // #1..#4
	}
	refuse(t, h, gtc(bob, Sell, 100, 1), RejectBookFull)
	refuse(t, h, gtc(bob, Buy, 90, 1), RejectBookFull)
	refuse(t, h, sub(Order{Owner: bob, Side: Buy, PostOnly: true, Price: 90, Qty: 1}), RejectBookFull)
	// Orders that never rest still trade on a full book.
	accept(t, h, sub(Order{Owner: bob, Side: Buy, TIF: IOC, Price: 99, Qty: 1}))
	// A crossing GTC order is accepted and trades; its remainder cannot rest
	// because no slot was free when it arrived (slots are reserved at
	// acceptance so every event carries the final id), even though its own
	// fills free slots.
	ev := accept(t, h, gtc(bob, Buy, 100, 3)) // #6
	if ev[0].Order&slotMask != 0 {
		t.Fatalf("order without a slot carries slot %d", ev[0].Order&slotMask)
	}
	last := ev[len(ev)-1]
	if last.Kind != EvExpired || last.Reason != ExpireNoRoom || last.Qty != 1 {
		t.Fatalf("want remainder expired no_room_to_rest, got\n%s", fmtEvents(ev))
	}
	if h.real.Len() != 2 {
		t.Fatal(h.real.Len())
	}
	// Fully filled: nothing expires.
	accept(t, h, gtc(bob, Buy, 101, 2)) // #7: a slot is free now, so it may rest
	for range 4 {
		accept(t, h, gtc(carol, Buy, 90, 1))
	}
	if h.real.Len() != 4 {
		t.Fatal(h.real.Len())
	}
	refuse(t, h, gtc(carol, Buy, 90, 1), RejectBookFull)
	// Amends need no new slot.
	accept(t, h, amendOp(carol, 8, 91, 7))
}

func TestLimitQuantity(t *testing.T) {
	h := limitHarness(t, Limits{MaxOrders: 10, MaxOrdersPerOwner: 10, MaxLevels: 10})
	max := h.cfg.spec.MaxQty
	accept(t, h, gtc(alice, Buy, 90, max))
	refuse(t, h, gtc(alice, Buy, 90, max+1), RejectQtyTooLarge)
	refuse(t, h, sub(Order{Owner: alice, Side: Sell, TIF: IOC, Price: 90, Qty: max + 1}), RejectQtyTooLarge)
	refuse(t, h, sub(Order{Owner: alice, Side: Sell, Type: Market, Price: 90, Qty: max + 1}), RejectQtyTooLarge)
	refuse(t, h, gtc(alice, Buy, 90, 1<<62), RejectQtyTooLarge)
	accept(t, h, gtc(bob, Buy, 91, 1))
	refuse(t, h, amendOp(bob, 2, 91, max+1), RejectQtyTooLarge)
	accept(t, h, amendOp(bob, 2, 91, max))
	// Resting totals may exceed one order's maximum.
	accept(t, h, gtc(carol, Buy, 91, max))
	if _, q, _ := h.real.Best(Buy); q != 2*max {
		t.Fatal(q)
	}
}

func TestLimitPrice(t *testing.T) {
	h := limitHarness(t, Limits{MaxOrders: 10, MaxOrdersPerOwner: 10, MaxLevels: 10})
	max := h.cfg.spec.MaxPrice
	accept(t, h, gtc(alice, Sell, max, 1))
	accept(t, h, gtc(alice, Buy, 1, 1))
	refuse(t, h, gtc(alice, Sell, max+1, 1), RejectInvalidPrice)
	refuse(t, h, gtc(alice, Buy, 0, 1), RejectInvalidPrice)
	refuse(t, h, amendOp(alice, 1, max+1, 1), RejectInvalidPrice)
	accept(t, h, sub(Order{Owner: bob, Side: Buy, Type: Market, Price: max, Qty: 1}))
	refuse(t, h, sub(Order{Owner: bob, Side: Buy, Type: Market, Price: max + 1, Qty: 1}), RejectInvalidPrice)
}

func TestNewLimits(t *testing.T) {
	mustPanic := func(name string, f func()) {
		t.Helper()
		defer func() {
			if recover() == nil {
				t.Errorf("%s: no panic", name)
			}
		}()
		f()
	}
	spec := specWith(1000, 100)
	mustPanic("MaxOrders 0", func() { New(spec, Limits{MaxOrders: 0, MaxOrdersPerOwner: 1, MaxLevels: 1}) })
	mustPanic("MaxOrders past the limit", func() { New(spec, Limits{MaxOrders: MaxOrdersLimit + 1, MaxOrdersPerOwner: 1, MaxLevels: 1}) })
	mustPanic("MaxPrice past 2^40", func() { New(specWith(1<<40+1, 100), Limits{MaxOrders: 1, MaxOrdersPerOwner: 1, MaxLevels: 1}) })
	b := New(spec, Limits{MaxOrders: 1, MaxOrdersPerOwner: 1, MaxLevels: 1})
	if !reflect.DeepEqual(b.Limits(), Limits{MaxOrders: 1, MaxOrdersPerOwner: 1, MaxLevels: 1}) || b.Spec().MaxPrice != 1000 {
		t.Fatal(b.Limits(), b.Spec())
	}
	if testing.Short() {
		return
	}
	// At the slot limit the highest slot still round-trips through its id.
	b = New(spec, Limits{MaxOrders: MaxOrdersLimit, MaxOrdersPerOwner: 1, MaxLevels: 1})
	b.free = MaxOrdersLimit // jump to the last slot
	ev := b.Submit(Order{Owner: alice, Side: Buy, Price: 10, Qty: 1})
	if id := ev[0].Order; id&slotMask != MaxOrdersLimit || id>>slotBits != 1 {
		t.Fatalf("id %#x", uint64(id))
	}
	if v, ok := b.Get(ev[0].Order); !ok || v.Price != 10 {
		t.Fatal(v, ok)
	}
}
