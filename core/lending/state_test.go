package lending

import "testing"

// AppendState → RestoreState gives a book with the same hash that behaves
// the same afterwards; every truncation is refused without a panic.
func TestStateRoundTrip(t *testing.T) {
	f := newFix(t)
	f.approved(3, 1_000_000*hkd)
	f.deposit(3, f.S700, 1_000)
	must(t, f.b.Buy(f.now, 3, f.BTC, coin/10, 10_000*usd))
	f.tick(at(2028, 3, 2, 10)) // a month end: interest posted
	st := f.b.AppendState(nil)
	r, rest, err := RestoreState(st)
	if err != nil || len(rest) != 0 || r.Hash() != f.b.Hash() {
		t.Fatalf("restore: %v, %d bytes left", err, len(rest))
	}
	next := at(2028, 4, 3, 10)
	f.b.Tick(next)
	r.Tick(next)
	if r.Hash() != f.b.Hash() || r.NextDue() != f.b.NextDue() {
		t.Fatal("restored book diverges")
	}
	for n := 0; n < len(st); n += 7 {
		if _, _, err := RestoreState(st[:n]); err == nil {
			t.Fatalf("truncated state (%d of %d bytes) accepted", n, len(st))
		}
	}
}

// NextDue is the next accrual day, or an earlier call deadline/reminder.
func TestNextDue(t *testing.T) {
	f := newFix(t)
	if got, want := f.b.NextDue(), at(2028, 2, 2, 0); got != want {
		t.Fatalf("next due %d, want midnight HKT %d", got, want)
	}
	f.approved(3, 1_000_000*hkd)
	f.deposit(3, f.S700, 1_000)
	must(t, f.b.Buy(f.now, 3, f.BTC, coin/2, 50_000*usd))
	must(t, f.b.SetPrice(f.now, f.S700, p700/2)) // L 331,000 < D 390,000 < 130% L
	if c := f.b.CallState(3); !c.Open || c.ClosingOut || f.b.NextDue() != at(2028, 2, 2, 0) {
		t.Fatalf("call %+v next %d", c, f.b.NextDue())
	}
	f.tick(at(2028, 2, 2, 1))
	if got := f.b.NextDue(); got != t0+24*nanosPerHour {
		t.Fatalf("next due %d, want the call deadline %d", got, t0+24*nanosPerHour)
	}
}
