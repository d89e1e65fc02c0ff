package lending

import (
	"encoding/binary"
	"errors"

	"github.com/sampan-hk/sampan/core/fixed"
)

// NextDue is the earliest engine time at which time alone changes the
// book: the start of the next accrual day, a margin-call deadline not yet
// acted on, or a call reminder. The engine ticks the book when its time
// reaches it, so a command in the same day with nothing due costs one
// comparison (and Tick's contract, "before any command in a new day",
// holds because the next day's start is always a candidate).
func (b *Book) NextDue() int64 {
	if b.day == noDay {
		return 0 // the calendar has not started: the first tick starts it
	}
	due := (b.day+1)*nanosPerDay - b.params.DayOffset
	for _, id := range b.order {
		cc := &b.clients[id].call
		if !cc.Open {
			continue
		}
		due = min(due, cc.LastNotice+b.params.CallReminder)
		if !cc.ClosingOut {
			due = min(due, cc.Deadline)
		}
	}
	return due
}

// ErrState reports a state encoding that does not parse or is inconsistent.
var ErrState = errors.New("lending: corrupt state")

// AppendState appends the book's complete state (everything Hash covers,
// plus lastTime) to dst, for engine snapshots. Client holding and loan
// ledger accounts are not stored: by invariant they equal the holdings
// and −loan balances, and RestoreState rebuilds them from those.
//
//	params (12 × i64) | base decimals is the base asset's
//	u16 assets × { u8 len + code | u8 kind | u8 decimals | u16 quote | i64 lot
//	               | u8 eligible | i64 haircut | i64 concentration
//	               | i64 price | i64 at | u8 set | i64 rate | i64 basis
//	               | i64 ext | i64 spot | i64 income (ledger balances) | i64 interest posted }
//	i64 capital | u8 firm warned | u64 seq | i64 lastTime | i64 day | u64 postings | u64 violations
//	| i64 interest-posted list length
//	u32 clients × { u64 id | u64 group | i64 other | assessment | call | assets × holding, financed, loan (8 × i64) }
func (b *Book) AppendState(dst []byte) []byte {
	e := enc{buf: dst}
	b.encParams(&e)
	e.i(int64(len(b.assets)))
	for i := range b.assets {
		id := AssetID(i)
		b.encAsset(&e, id)
		e.i(int64(b.ledger[ledgerKey{ext(), id}]), int64(b.ledger[ledgerKey{spot(), id}]), int64(b.ledger[ledgerKey{income(), id}]))
		var all fixed.Amount
		if i < len(b.interestAll) {
			all = b.interestAll[i]
		}
		e.i(int64(all))
	}
	e.i(int64(b.capital), b2i(b.firmWarned), int64(b.seq), b.lastTime, b.day, int64(b.postings), int64(b.violations))
	e.i(int64(len(b.interestAll))) // grown lazily; its length is hashed
	e.i(int64(len(b.order)))
	for _, id := range b.order {
		b.encClient(&e, b.client(id))
	}
	return e.buf
}

// dec reads AppendState's encoding; the first error sticks.
type dec struct {
	b   []byte
	bad bool
}

func (d *dec) i() int64 {
	if len(d.b) < 8 {
		d.bad = true
		return 0
	}
	v := int64(binary.LittleEndian.Uint64(d.b))
	d.b = d.b[8:]
	return v
}

func (d *dec) s(limit int) string {
	n := d.i()
	if n < 0 || n > int64(limit) || int64(len(d.b)) < n {
		d.bad = true
		return ""
	}
	v := string(d.b[:n])
	d.b = d.b[n:]
	return v
}

// RestoreState rebuilds a book from AppendState's bytes at the start of
// data and returns the rest. It checks counts before allocating and runs
// CheckInvariants, so corrupt input is an error, never a panic or a book
// that would misbehave later.
func RestoreState(data []byte) (b *Book, rest []byte, err error) {
	defer func() {
		if recover() != nil {
			b, rest, err = nil, nil, ErrState
		}
	}()
	d := &dec{b: data}
	var p Params
	p.CallDeadline, p.CallReminder = d.i(), d.i()
	p.HardTrigger, p.PriceProtection, p.CloseOutBuffer = fixed.Ppm(d.i()), fixed.Ppm(d.i()), fixed.Ppm(d.i())
	p.ClientGroupLimit, p.ClientGroupWarn, p.FirmLimit, p.FirmWarn = fixed.Ppm(d.i()), fixed.Ppm(d.i()), fixed.Ppm(d.i()), fixed.Ppm(d.i())
	p.RequireSecuritiesVA, p.PriceMaxAge, p.DayOffset = d.i() == 1, d.i(), d.i()
	if d.bad || !p.valid() {
		return nil, nil, ErrState
	}
	b = &Book{params: p, byCode: map[string]AssetID{}, clients: map[ClientID]*Client{}, ledger: map[ledgerKey]fixed.Amount{}}
	if !b.restoreAssets(d) {
		return nil, nil, ErrState
	}
	b.capital, b.firmWarned = fixed.Amount(d.i()), d.i() == 1
	b.seq, b.lastTime, b.day = uint64(d.i()), d.i(), d.i()
	b.postings, b.violations = uint64(d.i()), uint64(d.i())
	if n := d.i(); n < 0 || n > int64(len(b.interestAll)) {
		return nil, nil, ErrState
	} else {
		for _, v := range b.interestAll[n:] {
			if v != 0 {
				return nil, nil, ErrState
			}
		}
		b.interestAll = b.interestAll[:n]
	}
	if d.bad || !b.restoreClients(d) {
		return nil, nil, ErrState
	}
	if err := b.CheckInvariants(); err != nil {
		return nil, nil, ErrState
	}
	return b, d.b, nil
}

func (b *Book) restoreAssets(d *dec) bool {
	n := d.i()
	if d.bad || n < 1 || n > MaxAssets || n > int64(len(d.b)/100) {
		return false
	}
	for i := int64(0); i < n; i++ {
		a := Asset{Code: d.s(16)}
		a.Kind, a.Decimals, a.Quote, a.Lot = AssetKind(d.i()), int(d.i()), AssetID(d.i()), fixed.Amount(d.i())
		c := Collateral{Eligible: d.i() == 1, Haircut: fixed.Ppm(d.i()), Concentration: fixed.Ppm(d.i())}
		pr := price{Value: d.i(), At: d.i(), Set: d.i() == 1}
		t := InterestTerms{AnnualRate: fixed.Ppm(d.i()), DayBasis: d.i()}
		balances := [3]int64{d.i(), d.i(), d.i()}
		all := fixed.Amount(d.i())
		_, dup := b.byCode[a.Code]
		if d.bad || dup || !validCode(a.Code) || a.Kind < Cash || a.Kind > Security || a.Decimals < 0 || a.Decimals > 18 ||
			int64(a.Quote) >= n || a.Lot <= 0 || (t.DayBasis != 365 && t.DayBasis != 360) {
			return false
		}
		id := b.addAsset(a)
		b.coll[id], b.prices[id], b.terms[id] = c, pr, t
		for j, acct := range [3]Account{ext(), spot(), income()} {
			if balances[j] != 0 {
				b.ledger[ledgerKey{acct, id}] = fixed.Amount(balances[j])
			}
		}
		b.interestAll = append(b.interestAll, all)
	}
	return true
}

func (b *Book) restoreClients(d *dec) bool {
	n := d.i()
	na := int64(len(b.assets))
	if d.bad || n < 0 || n > int64(len(d.b))/(8*(19+8*na)) {
		return false
	}
	for k := int64(0); k < n; k++ {
		id := ClientID(d.i())
		c := &Client{id: id, group: GroupID(d.i()), other: fixed.Amount(d.i())}
		a := &c.assess
		a.NetAssets, a.AnnualIncome, a.ExperienceYears = fixed.Amount(d.i()), fixed.Amount(d.i()), int32(d.i())
		a.AssessedAt, a.NextReview, a.Limit, a.Approved = d.i(), d.i(), fixed.Amount(d.i()), d.i() == 1
		c.assessed = d.i() == 1
		a.Grade, a.Approver = d.s(16), d.s(64)
		c.call = Call{Open: d.i() == 1, OpenedAt: d.i(), Deadline: d.i(), LastNotice: d.i(), ClosingOut: d.i() == 1, Trigger: Trigger(d.i())}
		_, dup := b.clients[id]
		if d.bad || dup || (len(b.order) > 0 && b.order[len(b.order)-1] >= id) {
			return false
		}
		b.grow(c)
		for i := range b.assets {
			c.hold[i], c.financed[i] = fixed.Amount(d.i()), fixed.Amount(d.i())
			l := &c.loans[i]
			l.Balance, l.Drawn, l.Repaid, l.Interest = fixed.Amount(d.i()), fixed.Amount(d.i()), fixed.Amount(d.i()), fixed.Amount(d.i())
			l.AccruedMinor, l.AccruedFine = fixed.Amount(d.i()), d.i()
			if c.hold[i] != 0 {
				b.ledger[ledgerKey{holdAcct(id), AssetID(i)}] = c.hold[i]
			}
			if l.Balance != 0 {
				b.ledger[ledgerKey{loanAcct(id), AssetID(i)}] = -l.Balance
			}
		}
		if d.bad {
			return false
		}
		b.clients[id] = c
		b.order = append(b.order, id)
	}
	return true
}
