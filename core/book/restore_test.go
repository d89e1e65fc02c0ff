package book

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"reflect"
	"testing"
)

// applyOp applies one differential-test op to a book directly.
func applyOp(b *Book, o op, id OrderID) []Event {
	switch o.kind {
	case opSubmit:
		return b.Submit(o.order)
	case opCancel:
		return b.Cancel(o.owner, id, o.reason)
	case opCancelCID:
		return b.CancelByClientID(o.owner, o.cid, o.reason)
	case opCancelAll:
		return b.CancelAll(o.owner, o.reason)
	case opAmend:
		return b.Amend(o.owner, id, o.price, o.qty)
	case opSetBand:
		b.SetBand(o.price, o.ppm)
	}
	return nil
}

func ownerLists(b *Book) [][]OrderView {
	var out [][]OrderView
	for o := Owner(0); o < 8; o++ {
		var l []OrderView
		b.WalkOwner(o, func(v OrderView) bool { l = append(l, v); return true })
		out = append(out, l)
	}
	return out
}

// TestRestoreContinues snapshots the differential test's books at random
// points, restores them, and runs both copies on: the events, the owner
// lists and the snapshots must stay identical (ids included, so the free
// list and sequence came back exactly).
func TestRestoreContinues(t *testing.T) {
	seeds := 400
	if testing.Short() {
		seeds = 60
	}
	for seed := range seeds {
		g := randSource{rand.New(rand.NewPCG(uint64(seed), 0x7e57))}
		h := newHarness(t, pickConfig(g))
		var cp *Book
		for i := 0; i < 600; i++ {
			if g.intn(40) == 0 {
				snap := h.real.AppendSnapshot(nil)
				b, rest, err := Restore(h.cfg.spec, h.cfg.limits, 8, snap)
				if err != nil || len(rest) != 0 {
					t.Fatalf("seed %d op %d: restore: %v (rest %d)", seed, i, err, len(rest))
				}
				if again := b.AppendSnapshot(nil); !bytes.Equal(again, snap) {
					t.Fatalf("seed %d op %d: snapshot of restored book differs", seed, i)
				}
				if !reflect.DeepEqual(ownerLists(b), ownerLists(h.real)) {
					t.Fatalf("seed %d op %d: owner lists differ after restore", seed, i)
				}
				cp = b
			}
			o := h.genOp(g)
			id := o.raw
			if o.target > 0 {
				id = h.ids[o.target]
			}
			want := append([]Event(nil), h.step(o)...)
			if cp != nil {
				got := applyOp(cp, o, id)
				if fmt.Sprint(got) != fmt.Sprint(want) {
					t.Fatalf("seed %d op %d %v: restored book diverged\n got %v\nwant %v", seed, i, o, got, want)
				}
				if !reflect.DeepEqual(ownerLists(cp), ownerLists(h.real)) {
					t.Fatalf("seed %d op %d: owner lists diverged", seed, i)
				}
			}
		}
		if cp != nil && !bytes.Equal(cp.AppendSnapshot(nil), h.real.AppendSnapshot(nil)) {
			t.Fatalf("seed %d: final snapshots differ", seed)
		}
	}
}

func sampleSnapshot(t testing.TB) (Limits, []byte) {
	spec := specWith(300, 40)
	lim := Limits{MaxOrders: 16, MaxOrdersPerOwner: 8, MaxLevels: 8}
	b := New(spec, lim)
	b.SetBand(150, 100_000)
	for _, o := range []Order{
		{Owner: 1, ClientID: 7, Side: Buy, Price: 149, Qty: 3, STP: STPExpireBoth},
		{Owner: 2, Side: Buy, Price: 149, Qty: 2, ReduceOnly: true},
		{Owner: 1, Side: Sell, Price: 152, Qty: 5, PostOnly: true},
		{Owner: 3, Side: Sell, Price: 151, Qty: 1},
	} {
		b.Submit(o)
	}
	b.Submit(Order{Owner: 3, Side: Buy, Price: 151, Qty: 1}) // fills, frees a slot out of order
	return lim, b.AppendSnapshot(nil)
}

// TestRestoreRejectsCorruption: every truncation and many single-byte
// changes are either rejected or restore to a book that passes its
// invariants; nothing panics.
func TestRestoreRejectsCorruption(t *testing.T) {
	lim, snap := sampleSnapshot(t)
	spec := specWith(300, 40)
	for n := 0; n < len(snap); n++ {
		if _, _, err := Restore(spec, lim, 8, snap[:n]); err == nil {
			t.Fatalf("truncated to %d bytes: accepted", n)
		}
	}
	for i := range snap {
		for _, x := range []byte{1, 0x80, 0xff} {
			bad := bytes.Clone(snap)
			bad[i] ^= x
			if b, _, err := Restore(spec, lim, 8, bad); err == nil {
				if err := b.CheckInvariants(); err != nil {
					t.Fatalf("byte %d ^ %#x: restored a broken book: %v", i, x, err)
				}
			}
		}
	}
	if _, _, err := Restore(spec, Limits{MaxOrders: 15, MaxOrdersPerOwner: 8, MaxLevels: 8}, 8, snap); err == nil {
		t.Fatal("restored into different limits")
	}
	if _, _, err := Restore(spec, lim, 2, snap); err == nil {
		t.Fatal("accepted an owner at maxOwner")
	}
}

func FuzzRestore(f *testing.F) {
	lim, snap := sampleSnapshot(f)
	f.Add(snap)
	f.Add([]byte{SnapshotVersion})
	spec := specWith(300, 40)
	f.Fuzz(func(t *testing.T, data []byte) {
		b, _, err := Restore(spec, lim, 8, data)
		if err != nil {
			return
		}
		if err := b.CheckInvariants(); err != nil {
			t.Fatal(err)
		}
		// A restored book works.
		b.Submit(Order{Owner: 1, Side: Buy, Price: 150, Qty: 1})
		if err := b.CheckInvariants(); err != nil {
			t.Fatal(err)
		}
	})
}
