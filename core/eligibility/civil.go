package eligibility

// Civil-date arithmetic in pure integers, so expiry dates come out the same
// on every machine and in every replay without the time package (core may
// not read zone databases). Days are counted from 1970-01-01 in the
// proleptic Gregorian calendar (H. Hinnant's days_from_civil algorithm).

const (
	nsPerSec int64 = 1_000_000_000
	nsPerDay int64 = 86_400 * nsPerSec
)

// Date is a calendar date.
type Date struct {
	Y    int64
	M, D int64 // 1–12, 1–31
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if (a%b != 0) && ((a < 0) != (b < 0)) {
		q--
	}
	return q
}

// daysFromCivil returns days since 1970-01-01.
func daysFromCivil(d Date) int64 {
	y := d.Y
	if d.M <= 2 {
		y--
	}
	era := floorDiv(y, 400)
	yoe := y - era*400   // [0, 399]
	mp := (d.M + 9) % 12 // March = 0
	doy := (153*mp+2)/5 + d.D - 1
	doe := yoe*365 + yoe/4 - yoe/100 + doy // [0, 146096]
	return era*146097 + doe - 719468
}

// civilFromDays is the inverse of daysFromCivil.
func civilFromDays(z int64) Date {
	z += 719468
	era := floorDiv(z, 146097)
	doe := z - era*146097
	yoe := (doe - doe/1460 + doe/36524 - doe/146096) / 365
	y := yoe + era*400
	doy := doe - (365*yoe + yoe/4 - yoe/100)
	mp := (5*doy + 2) / 153
	d := doy - (153*mp+2)/5 + 1
	m := mp + 3
	if m > 12 {
		m -= 12
	}
	if m <= 2 {
		y++
	}
	return Date{y, m, d}
}

func isLeap(y int64) bool { return y%4 == 0 && (y%100 != 0 || y%400 == 0) }

// DaysIn returns the number of days in a month.
func DaysIn(y, m int64) int64 {
	switch m {
	case 2:
		if isLeap(y) {
			return 29
		}
		return 28
	case 4, 6, 9, 11:
		return 30
	}
	return 31
}

// DateOf returns the calendar date of an instant in a zone offset east of
// UTC (Hong Kong: +8 h = 28 800 s).
func DateOf(unixNanos, offsetSeconds int64) Date {
	return civilFromDays(floorDiv(unixNanos+offsetSeconds*nsPerSec, nsPerDay))
}

// StartOf returns the instant at which a date begins in the zone.
func StartOf(d Date, offsetSeconds int64) int64 {
	return daysFromCivil(d)*nsPerDay - offsetSeconds*nsPerSec
}

// AddMonths adds calendar months. A day that does not exist in the target
// month is clamped to its last day (31 Jan + 1 month = 28 or 29 Feb; 29 Feb
// + 12 months = 28 Feb): clamping never moves a date later, so an expiry
// computed this way errs early, on the side of re-checking the client.
func (d Date) AddMonths(n int64) Date {
	m0 := d.Y*12 + (d.M - 1) + n
	y := floorDiv(m0, 12)
	m := m0 - y*12 + 1
	return Date{y, m, min(d.D, DaysIn(y, m))}
}

// Valid reports whether d is a real calendar date.
func (d Date) Valid() bool {
	return d.M >= 1 && d.M <= 12 && d.D >= 1 && d.D <= DaysIn(d.Y, d.M)
}
