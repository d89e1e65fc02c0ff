package ledger

import (
	"testing"

	"github.com/sampan-hk/sampan/core/fixed"
)

func mustPanic(t *testing.T, name string, fn func()) {
	t.Helper()
	defer func() {
		if recover() == nil {
			t.Errorf("%s: did not panic", name)
		}
	}()
	fn()
}

// Money only moves: deposits and withdrawals go through External, every
// other posting sums to zero, and the totals reconcile.
func TestConservation(t *testing.T) {
	l := New()
	a, b := l.Open(), l.Open()
	l.Deposit(USD, a, 1_000)
	l.Deposit(USD, b, 500)
	l.Transfer(USD, a, b, 300)
	l.Post(USD, Leg{a, -10}, Leg{b, -5}, Leg{Fees, 15})
	l.Withdraw(USD, b, 200)
	if got := l.Balance(USD, a); got != 690 {
		t.Fatalf("a %d", got)
	}
	if got := l.Balance(USD, b); got != 595 {
		t.Fatalf("b %d", got)
	}
	if got := l.Balance(USD, External); got != -1_300 {
		t.Fatalf("external %d", got)
	}
	if err := l.Check(); err != nil {
		t.Fatal(err)
	}
	if l.Postings() != 5 || l.Deposits(USD) != 1_500 || l.Withdrawals(USD) != 200 {
		t.Fatalf("postings %d deposits %d withdrawals %d", l.Postings(), l.Deposits(USD), l.Withdrawals(USD))
	}
}

// An unbalanced posting is a bug in the caller: it panics before changing
// anything.
func TestUnbalancedPostingPanics(t *testing.T) {
	l := New()
	a := l.Open()
	l.Deposit(USD, a, 100)
	mustPanic(t, "unbalanced", func() { l.Post(USD, Leg{a, -10}, Leg{Fees, 9}) })
	mustPanic(t, "external leg", func() { l.Post(USD, Leg{External, -1}, Leg{a, 1}) })
	mustPanic(t, "zero deposit", func() { l.Deposit(USD, a, 0) })
	mustPanic(t, "overflow", func() {
		l.Post(USD, Leg{a, fixed.Amount(1 << 62)}, Leg{a, fixed.Amount(1 << 62)}, Leg{Fees, -(1 << 62)}, Leg{Fees, -(1 << 62)})
	})
	if l.Balance(USD, a) != 100 || l.Balance(USD, Fees) != 0 {
		t.Fatal("a refused posting changed balances")
	}
	if err := l.Check(); err != nil {
		t.Fatal(err)
	}
}

func TestCheckFindsCorruption(t *testing.T) {
	l := New()
	a := l.Open()
	l.Deposit(USD, a, 100)
	l.balances[USD][a]++ // a bug that bypassed Post
	if l.Check() == nil {
		t.Fatal("corruption not detected")
	}
}

// RestoreState gives back the same ledger, and refuses every truncation and
// any change that breaks conservation.
func TestRestoreState(t *testing.T) {
	l := New()
	a, b := l.Open(), l.Open()
	l.Deposit(USD, a, 1_000)
	l.Transfer(USD, a, b, 300)
	l.Withdraw(USD, b, 100)
	st := l.AppendState(nil)
	r, rest, err := RestoreState(append(st, 9))
	if err != nil || len(rest) != 1 || string(r.AppendState(nil)) != string(st) {
		t.Fatalf("round trip: %v rest %d", err, len(rest))
	}
	if r.Balance(USD, b) != 200 || r.Postings() != l.Postings() || r.Check() != nil {
		t.Fatal("restored ledger differs")
	}
	for n := range st {
		if _, _, err := RestoreState(st[:n]); err == nil {
			t.Fatalf("truncated to %d: accepted", n)
		}
	}
	bad := append([]byte(nil), st...)
	bad[len(bad)-1] ^= 1 // one balance changed: no longer conserving
	if _, _, err := RestoreState(bad); err == nil {
		t.Fatal("accepted a non-conserving ledger")
	}
}
