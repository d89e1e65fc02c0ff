package eligibility

import (
	"math/rand/v2"
	"testing"
	"time"
)

// The time package is the oracle here (tests may use it; the package may
// not).
var hk = time.FixedZone("HKT", HKOffsetSeconds)

func TestDateOfMatchesTimePackage(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < 200_000; i++ {
		// Instants from 1900 to 2200, plus the edges of each HK day.
		ns := rng.Int64N(9_500_000_000) - 2_208_988_800
		ns *= nsPerSec
		switch i % 4 {
		case 1:
			ns = StartOf(DateOf(ns, HKOffsetSeconds), HKOffsetSeconds)
		case 2:
			ns = StartOf(DateOf(ns, HKOffsetSeconds), HKOffsetSeconds) - 1
		}
		tm := time.Unix(0, ns).In(hk)
		want := Date{int64(tm.Year()), int64(tm.Month()), int64(tm.Day())}
		if got := DateOf(ns, HKOffsetSeconds); got != want {
			t.Fatalf("DateOf(%d) = %v, want %v", ns, got, want)
		}
		start := time.Date(tm.Year(), tm.Month(), tm.Day(), 0, 0, 0, 0, hk).UnixNano()
		if got := StartOf(want, HKOffsetSeconds); got != start {
			t.Fatalf("StartOf(%v) = %d, want %d", want, got, start)
		}
	}
}

func TestAddMonthsClampsToMonthEnd(t *testing.T) {
	for _, tc := range []struct {
		from Date
		n    int64
		want Date
	}{
		{Date{2025, 3, 1}, 12, Date{2026, 3, 1}},
		{Date{2024, 2, 29}, 12, Date{2025, 2, 28}}, // leap day → last day of February
		{Date{2024, 2, 29}, 48, Date{2028, 2, 29}}, // ... unless the target year is leap too
		{Date{2023, 2, 28}, 12, Date{2024, 2, 28}}, // not moved to the 29th
		{Date{2025, 1, 31}, 1, Date{2025, 2, 28}},
		{Date{2024, 1, 31}, 1, Date{2024, 2, 29}},
		{Date{2025, 3, 31}, 1, Date{2025, 4, 30}},
		{Date{2025, 12, 31}, 2, Date{2026, 2, 28}},
		{Date{2025, 12, 15}, 1, Date{2026, 1, 15}},  // across the year end
		{Date{2025, 8, 31}, 12, Date{2026, 8, 31}},  // 31-day month to 31-day month
		{Date{2099, 2, 28}, 12, Date{2100, 2, 28}},  // 2100 is not leap
		{Date{2099, 3, 29}, 11, Date{2100, 2, 28}},  // clamp in a century non-leap year
		{Date{2399, 3, 29}, 11, Date{2400, 2, 29}},  // 2400 is leap
		{Date{2026, 5, 10}, -12, Date{2025, 5, 10}}, // negative months work too
	} {
		if got := tc.from.AddMonths(tc.n); got != tc.want || !got.Valid() {
			t.Errorf("%v + %d months = %v, want %v", tc.from, tc.n, got, tc.want)
		}
	}
	// Exhaustively against the time package, with its overflow replaced by
	// the clamp: every day from 1960 to 2140, 1–60 months.
	for z := daysFromCivil(Date{1960, 1, 1}); z < daysFromCivil(Date{2140, 1, 1}); z += 3 {
		d := civilFromDays(z)
		if daysFromCivil(d) != z {
			t.Fatalf("round trip of day %d", z)
		}
		for n := int64(1); n <= 60; n += 7 {
			first := time.Date(int(d.Y), time.Month(d.M)+time.Month(n), 1, 0, 0, 0, 0, time.UTC)
			last := first.AddDate(0, 1, -1).Day()
			want := Date{int64(first.Year()), int64(first.Month()), min(d.D, int64(last))}
			if got := d.AddMonths(n); got != want {
				t.Fatalf("%v + %d = %v, want %v", d, n, got, want)
			}
		}
	}
}

func hkt(y, m, d, hh, mm int) int64 {
	return time.Date(y, time.Month(m), d, hh, mm, 0, 0, hk).UnixNano()
}

func TestExpiryIsStartOfDayTwelveMonthsLater(t *testing.T) {
	for _, tc := range []struct {
		name     string
		evidence int64
		want     int64
	}{
		{"mid-morning document", hkt(2025, 3, 1, 10, 30), hkt(2026, 3, 1, 0, 0)},
		{"leap day", hkt(2024, 2, 29, 9, 0), hkt(2025, 2, 28, 0, 0)},
		{"last minute of the HK year", hkt(2025, 12, 31, 23, 59), hkt(2026, 12, 31, 0, 0)},
		// 16:30 UTC on 31 Dec is already 1 Jan in Hong Kong.
		{"UTC date differs from HK date", time.Date(2025, 12, 31, 16, 30, 0, 0, time.UTC).UnixNano(), hkt(2027, 1, 1, 0, 0)},
		{"end of a 31-day month", hkt(2025, 8, 31, 0, 0), hkt(2026, 8, 31, 0, 0)},
	} {
		if got := Expiry(tc.evidence, 12); got != tc.want {
			t.Errorf("%s: expiry %s, want %s", tc.name, time.Unix(0, got).In(hk), time.Unix(0, tc.want).In(hk))
		}
	}
}
