package oracle

import (
	"math/rand/v2"
	"reflect"
	"testing"

	"github.com/sampan-hk/sampan/core/fixed"
)

// Snapshot + replay must give the same results as never stopping: restore a
// copy half-way through a random run and drive both with the same inputs.
func TestStateRoundTrip(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	src := sources(3, 2, 2, 1, 1)
	a := mustIndex(t, DefaultParams(), src)
	ma := mustMark(t, DefaultMarkParams())
	var b *Index
	var mb *Mark
	now := int64(0)
	price := int64(650000)
	for i := 0; i < 4000; i++ {
		now += rng.Int64N(2 * sec)
		price += rng.Int64N(201) - 100
		qt := Quote{Source: SourceID(1 + rng.IntN(5)), Price: fixed.Price(price + rng.Int64N(2001) - 1000), Time: now - rng.Int64N(40*sec)}
		if rng.IntN(50) == 0 {
			qt.Price = fixed.Price(price * 12 / 10) // a rogue print
		}
		if i == 2000 {
			b = mustIndex(t, DefaultParams(), src)
			if err := b.Restore(a.State()); err != nil {
				t.Fatal(err)
			}
			mb = mustMark(t, DefaultMarkParams())
			if err := mb.Restore(ma.State()); err != nil {
				t.Fatal(err)
			}
		}
		a.Update(qt, now)
		ra := a.Compute(now)
		var rb Result
		if b != nil {
			b.Update(qt, now)
			rb = b.Compute(now)
			if !reflect.DeepEqual(ra, rb) {
				t.Fatalf("step %d: index diverged after restore\n%+v\n%+v", i, ra, rb)
			}
		}
		if !ra.Valid {
			continue
		}
		in := MarkInputs{Time: now, Index: ra.Price, Mid: ra.Price + fixed.Price(rng.Int64N(101)-50), HasMid: true, TimeToFunding: 1800 * sec}
		xa, err := ma.Compute(in)
		if err != nil {
			t.Fatal(err)
		}
		if mb != nil {
			xb, _ := mb.Compute(in)
			if xa != xb {
				t.Fatalf("step %d: mark diverged after restore", i)
			}
		}
	}
	if b == nil || mb == nil {
		t.Fatal("never restored")
	}
}
