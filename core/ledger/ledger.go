// Package ledger keeps Sampan's balances as double-entry postings.
//
// Every balance change is a Posting: a short list of legs, each a signed
// amount on one account, whose amounts sum to zero. Money therefore only
// moves; it is never created or destroyed inside the core. Money enters and
// leaves through the External account (the custody clearing account), whose
// balance is always −(deposits − withdrawals).
//
// Invariants (Check recomputes them; Post enforces the first on every call):
//   - every posting's legs sum to zero per asset;
//   - per asset, the sum of all balances, External included, is zero;
//   - per asset, the sum of all balances except External equals
//     deposits − withdrawals.
//
// The ledger is pure and single-threaded. Accounts are dense indexes handed
// out in creation order, so iteration is always in a deterministic order.
package ledger

import (
	"errors"
	"strconv"

	"github.com/sampan-hk/sampan/core/fixed"
)

// Asset identifies a settlement asset. Only USD exists today; the type keeps
// room for BTC and ETH collateral in margin financing.
type Asset uint8

const (
	// USD in micro-dollars (6 decimals).
	USD Asset = iota
	assetCount
)

func (a Asset) String() string {
	if a == USD {
		return "USD"
	}
	return "asset" + strconv.Itoa(int(a))
}

// AccountID is a dense ledger account index.
type AccountID uint32

// System accounts, created by New in this order. Client accounts follow.
const (
	// External is the custody clearing account: deposits debit it, withdrawals
	// credit it. Its balance is minus the money held for everyone else.
	External AccountID = iota
	// Fees collects trading fees.
	Fees
	// Insurance is the insurance fund.
	Insurance
	// Rounding collects residue from divisions that cannot be split exactly.
	Rounding
	// SystemAccounts is the number of fixed system accounts.
	SystemAccounts
)

// Leg is one side of a posting: amount is added to the account's balance
// (negative amounts take money out).
type Leg struct {
	Account AccountID
	Amount  fixed.Amount
}

// Ledger holds balances per asset and account.
type Ledger struct {
	balances    [assetCount][]fixed.Amount
	deposits    [assetCount]fixed.Amount
	withdrawals [assetCount]fixed.Amount
	postings    uint64
}

// New returns a ledger holding only the system accounts.
func New() *Ledger {
	l := &Ledger{}
	for a := range l.balances {
		l.balances[a] = make([]fixed.Amount, SystemAccounts, 1024)
	}
	return l
}

// Open adds an account with zero balances and returns its id.
func (l *Ledger) Open() AccountID {
	id := AccountID(len(l.balances[0]))
	for a := range l.balances {
		l.balances[a] = append(l.balances[a], 0)
	}
	return id
}

// Accounts returns the number of accounts, system accounts included.
func (l *Ledger) Accounts() int { return len(l.balances[0]) }

// Balance returns an account's balance in an asset.
func (l *Ledger) Balance(a Asset, id AccountID) fixed.Amount { return l.balances[a][id] }

// Postings returns how many postings have been applied.
func (l *Ledger) Postings() uint64 { return l.postings }

// Deposits and Withdrawals return the external totals of an asset.
func (l *Ledger) Deposits(a Asset) fixed.Amount    { return l.deposits[a] }
func (l *Ledger) Withdrawals(a Asset) fixed.Amount { return l.withdrawals[a] }

// Post applies one balanced posting. Legs that do not sum to zero, or a
// balance that would overflow, are bugs in the caller and panic before any
// balance changes. Legs on External must come through Deposit/Withdraw so the
// external totals stay right.
func (l *Ledger) Post(a Asset, legs ...Leg) {
	var sum int64
	bal := l.balances[a]
	for _, g := range legs {
		if g.Account == External {
			panic("ledger: External moves only through Deposit and Withdraw")
		}
		sum = fixed.MustAdd(sum, int64(g.Amount))
		fixed.MustAdd(int64(bal[g.Account]), int64(g.Amount))
	}
	if sum != 0 {
		panic("ledger: unbalanced posting")
	}
	for _, g := range legs {
		bal[g.Account] += g.Amount
	}
	l.postings++
}

// Transfer moves amount from one account to another: the two-leg posting.
func (l *Ledger) Transfer(a Asset, from, to AccountID, amount fixed.Amount) {
	l.Post(a, Leg{from, -amount}, Leg{to, amount})
}

// Deposit moves amount from External to an account. amount must be positive.
func (l *Ledger) Deposit(a Asset, to AccountID, amount fixed.Amount) {
	if amount <= 0 || to == External {
		panic("ledger: bad deposit")
	}
	l.deposits[a] = fixed.Amount(fixed.MustAdd(int64(l.deposits[a]), int64(amount)))
	l.balances[a][External] -= amount
	l.balances[a][to] = fixed.Amount(fixed.MustAdd(int64(l.balances[a][to]), int64(amount)))
	l.postings++
}

// Withdraw moves amount from an account to External. The engine decides
// whether the withdrawal is allowed; the ledger only keeps it balanced.
func (l *Ledger) Withdraw(a Asset, from AccountID, amount fixed.Amount) {
	if amount <= 0 || from == External {
		panic("ledger: bad withdrawal")
	}
	l.withdrawals[a] = fixed.Amount(fixed.MustAdd(int64(l.withdrawals[a]), int64(amount)))
	l.balances[a][External] += amount
	l.balances[a][from] -= amount
	l.postings++
}

// Check recomputes the conservation invariants from every balance.
func (l *Ledger) Check() error { return l.checkSums() }

// checkSums sums with overflow checks, so it also vets restored data.
func (l *Ledger) checkSums() error {
	for a := range l.balances {
		var all, held int64
		for id, b := range l.balances[a] {
			var err error
			if all, err = fixed.Add(all, int64(b)); err != nil {
				return errors.New("ledger: balance sum overflows")
			}
			if AccountID(id) != External {
				if held, err = fixed.Add(held, int64(b)); err != nil {
					return errors.New("ledger: balance sum overflows")
				}
			}
		}
		if all != 0 {
			return errors.New("ledger: balances of " + Asset(a).String() + " do not sum to zero: " + strconv.FormatInt(all, 10))
		}
		if want := int64(l.deposits[a]) - int64(l.withdrawals[a]); held != want {
			return errors.New("ledger: held " + Asset(a).String() + " " + strconv.FormatInt(held, 10) + " != deposits − withdrawals " + strconv.FormatInt(want, 10))
		}
	}
	return nil
}

// AppendState appends a canonical little-endian encoding of all balances
// and totals, for the engine's state hash.
func (l *Ledger) AppendState(dst []byte) []byte {
	dst = appendU64(dst, l.postings)
	for a := range l.balances {
		dst = appendU64(dst, uint64(l.deposits[a]))
		dst = appendU64(dst, uint64(l.withdrawals[a]))
		dst = appendU64(dst, uint64(len(l.balances[a])))
		for _, b := range l.balances[a] {
			dst = appendU64(dst, uint64(b))
		}
	}
	return dst
}

func appendU64(dst []byte, v uint64) []byte {
	return append(dst, byte(v), byte(v>>8), byte(v>>16), byte(v>>24), byte(v>>32), byte(v>>40), byte(v>>48), byte(v>>56))
}

// ErrState is returned by RestoreState for data that is not a valid
// AppendState encoding of a conserving ledger.
var ErrState = errors.New("ledger: corrupt state")

// RestoreState rebuilds a ledger from the front of data, as written by
// AppendState (which doubles as the snapshot encoding: it is complete), and
// returns the remaining bytes. A ledger that would not pass Check, or with
// fewer accounts than the system accounts or a different count per asset,
// is refused; it never panics.
func RestoreState(data []byte) (*Ledger, []byte, error) {
	r := data
	u64 := func() (uint64, bool) {
		if len(r) < 8 {
			return 0, false
		}
		v := uint64(r[0]) | uint64(r[1])<<8 | uint64(r[2])<<16 | uint64(r[3])<<24 |
			uint64(r[4])<<32 | uint64(r[5])<<40 | uint64(r[6])<<48 | uint64(r[7])<<56
		r = r[8:]
		return v, true
	}
	l := &Ledger{}
	var ok bool
	if l.postings, ok = u64(); !ok {
		return nil, nil, ErrState
	}
	for a := range l.balances {
		d, ok1 := u64()
		w, ok2 := u64()
		n, ok3 := u64()
		// Bound n by the bytes present before allocating for it.
		if !ok1 || !ok2 || !ok3 || n < uint64(SystemAccounts) || n > uint64(len(r)/8) || (a > 0 && n != uint64(len(l.balances[0]))) {
			return nil, nil, ErrState
		}
		l.deposits[a], l.withdrawals[a] = fixed.Amount(d), fixed.Amount(w)
		if l.deposits[a] < 0 || l.withdrawals[a] < 0 {
			return nil, nil, ErrState
		}
		l.balances[a] = make([]fixed.Amount, n, max(n, 1024))
		for i := range l.balances[a] {
			v, _ := u64()
			l.balances[a][i] = fixed.Amount(v)
		}
	}
	if err := l.checkSums(); err != nil {
		return nil, nil, ErrState
	}
	return l, r, nil
}
