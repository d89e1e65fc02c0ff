package book

import (
	"strings"
	"testing"
)

// TestCheckInvariantsDetects corrupts a valid book in one place at a time
// and requires CheckInvariants to notice, so the differential tests'
// invariant checks are not vacuous.
func TestCheckInvariantsDetects(t *testing.T) {
	build := func() (*Book, []OrderID) {
		b := New(specWith(1000, 100), Limits{MaxOrders: 10, MaxOrdersPerOwner: 10, MaxLevels: 10})
		var ids []OrderID
		for _, o := range []Order{
			{Owner: 1, ClientID: 5, Side: Buy, Price: 99, Qty: 2},
			{Owner: 2, Side: Buy, Price: 99, Qty: 3},
			{Owner: 1, Side: Sell, Price: 101, Qty: 4},
			{Owner: 2, Side: Sell, Price: 103, Qty: 1},
		} {
			ids = append(ids, b.Submit(o)[0].Order)
		}
		if err := b.CheckInvariants(); err != nil {
			t.Fatal(err)
		}
		return b, ids
	}
	slot := func(id OrderID) int32 { return int32(id & slotMask) }
	cases := []struct {
		name    string
		corrupt func(b *Book, ids []OrderID)
		want    string
	}{
		{"crossed", func(b *Book, _ []OrderID) { b.best[Buy] = 102 }, "crossed"},
		{"best not the extreme", func(b *Book, _ []OrderID) { b.best[Sell] = 103 }, "best price"},
		{"level total", func(b *Book, _ []OrderID) { b.level(Buy, 99).qty++ }, "level totals"},
		{"level count", func(b *Book, _ []OrderID) { b.level(Sell, 101).count = 2 }, "level totals"},
		{"order quantity zero", func(b *Book, ids []OrderID) { b.slots[slot(ids[3])].qty = 0 }, "bad order"},
		{"order on the wrong level", func(b *Book, ids []OrderID) { b.slots[slot(ids[2])].price = 102 }, "bad order"},
		{"FIFO back link", func(b *Book, ids []OrderID) { b.slots[slot(ids[1])].prev = none }, "bad order"},
		{"empty level bit", func(b *Book, _ []OrderID) { b.ladders[Sell].set(102) }, "empty level"},
		{"id without its slot", func(b *Book, ids []OrderID) { b.slots[slot(ids[0])].id ^= 1 }, "slot"},
		{"owner count", func(b *Book, _ []OrderID) { b.owners[1].count++ }, "owner"},
		{"client id index", func(b *Book, ids []OrderID) { b.clientID[clientKey{1, 5}] = slot(ids[1]) }, "client id"},
		{"stale client id", func(b *Book, _ []OrderID) {
			for i := range 5 {
				b.clientID[clientKey{7, uint64(i + 1)}] = 1
			}
		}, "stale"},
		{"resting count", func(b *Book, _ []OrderID) { b.used++ }, "resting count"},
		{"level count total", func(b *Book, _ []OrderID) { b.levels-- }, "level count"},
		{"slot leak", func(b *Book, _ []OrderID) { b.free = b.slots[b.free].next }, "leaked"},
	}
	for _, c := range cases {
		b, ids := build()
		c.corrupt(b, ids)
		err := b.CheckInvariants()
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: CheckInvariants() = %v, want an error about %q", c.name, err, c.want)
		}
	}
}
