package lending

import (
	"github.com/sampan-hk/sampan/core/fixed"
)

// fineUnit is the number of accrual units in one minor unit: interest
// accrues in millionths of a minor unit so that a day's interest, rounded up
// at that precision, costs the client at most 10^-6 minor units a day, and
// the sub-unit remainder carries exactly from day to day and month to month.
const fineUnit = 1_000_000

func floorDiv(a, b int64) int64 {
	q := a / b
	if (a%b != 0) && ((a < 0) != (b < 0)) {
		q--
	}
	return q
}

// dayIndex is the accrual day (days since 1970-01-01 in the book's day zone,
// HKT by default) containing engine time now.
func (b *Book) dayIndex(now int64) int64 {
	return floorDiv(now+b.params.DayOffset, nanosPerDay)
}

// civil converts a day index to a proleptic Gregorian date (Howard
// Hinnant's days-to-civil algorithm; exact for all int64 days we meet).
func civil(z int64) (y int64, m, d int) {
	z += 719468
	era := floorDiv(z, 146097)
	doe := z - era*146097
	yoe := (doe - doe/1460 + doe/36524 - doe/146096) / 365
	y = yoe + era*400
	doy := doe - (365*yoe + yoe/4 - yoe/100)
	mp := (5*doy + 2) / 153
	d = int(doy - (153*mp+2)/5 + 1)
	if mp < 10 {
		m = int(mp + 3)
	} else {
		m = int(mp - 9)
	}
	if m <= 2 {
		y++
	}
	return y, m, d
}

// daysFromCivil is civil's inverse.
func daysFromCivil(y int64, m, d int) int64 {
	if m <= 2 {
		y--
	}
	era := floorDiv(y, 400)
	yoe := y - era*400
	mm := int64(m)
	var doy int64
	if mm > 2 {
		doy = (153*(mm-3)+2)/5 + int64(d) - 1
	} else {
		doy = (153*(mm+9)+2)/5 + int64(d) - 1
	}
	doe := yoe*365 + yoe/4 - yoe/100 + doy
	return era*146097 + doe - 719468
}

// Tick advances the book to engine time now. The engine calls it before
// every command (or at least once per day and before any command in a new
// day). For each accrual day that ended since the last Tick it accrues one
// day's interest on every debit balance as it stood at the end of that day
// and, when the next day is the first of a month, posts the month's
// interest. It then re-evaluates every client, so deadline expiry and calls
// raised by interest show up as events.
func (b *Book) Tick(now int64) Outcome {
	if now < b.lastTime {
		panic("lending: engine time went backwards")
	}
	b.lastTime = now
	var out Outcome
	today := b.dayIndex(now)
	if b.day == noDay {
		b.day = today
	}
	for ; b.day < today; b.day++ {
		b.accrueDay(&out, now, b.day)
		if _, _, d := civil(b.day + 1); d == 1 {
			b.postInterest(&out, now, b.day+1)
		}
	}
	b.evaluateAll(&out, now)
	b.checkFirmWarning(&out, now)
	return out
}

// accrueDay charges one day of interest on each loan's closing balance:
// fine = ⌈balance × annual rate(ppm) / day basis⌉ millionths of a minor
// unit (balance × rate/10^6 / basis minor units, times 10^6). A leap day
// is one more actual day, still divided by the basis.
func (b *Book) accrueDay(out *Outcome, now, day int64) {
	for _, id := range b.order {
		c := b.client(id)
		for i := range c.loans {
			l := &c.loans[i]
			if l.Balance == 0 {
				continue
			}
			t := b.terms[i]
			fine := fixed.MustMulDiv(int64(l.Balance), int64(t.AnnualRate), t.DayBasis, fixed.Ceil)
			if fine == 0 {
				continue
			}
			l.AccruedFine = fixed.MustAdd(l.AccruedFine, fine)
			l.AccruedMinor = fixed.Amount(fixed.MustAdd(int64(l.AccruedMinor), l.AccruedFine/fineUnit))
			l.AccruedFine %= fineUnit
			b.emit(out, Event{Kind: EvInterestAccrued, Time: now, Client: id, Asset: AssetID(i), Fine: fine, Day: day})
		}
	}
}

// postInterest capitalises each loan's accrued whole minor units into the
// balance (monthly posting); the fine remainder carries into the next month.
// Interest on a loan already repaid is taken from cash in that currency
// first (net).
func (b *Book) postInterest(out *Outcome, now, day int64) {
	for _, id := range b.order {
		c := b.client(id)
		for i := range c.loans {
			l := &c.loans[i]
			in := l.AccruedMinor
			if in == 0 {
				continue
			}
			l.AccruedMinor = 0
			l.Balance += in
			l.Interest += in
			ccy := AssetID(i)
			for len(b.interestAll) <= i {
				b.interestAll = append(b.interestAll, 0)
			}
			b.interestAll[i] += in
			b.post(out, ccy, move(loanAcct(id), -in), move(income(), in))
			b.emit(out, Event{Kind: EvInterestPosted, Time: now, Client: id, Asset: ccy, Amount: in, Day: day})
			b.net(out, c, now, ccy)
		}
	}
}
