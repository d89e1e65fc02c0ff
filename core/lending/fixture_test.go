package lending

import (
	"testing"

	"github.com/sampan-hk/sampan/core/fixed"
)

// Units used by every test (base HKD at 6 decimals):
//
//	HKD, USD   6 decimals; USD = HK$7.8 → price 7_800_000 micro-HKD per USD
//	BTC, ETH   8 decimals, quoted in micro-USD per coin; BTC lot 0.00001, ETH lot 0.0001
//	0700.HK    0 decimals (shares), HK$500 → 500_000_000 micro-HKD, board lot 100
//	0005.HK    0 decimals, HK$100 → 100_000_000, board lot 400
//	8888.HK    0 decimals, HK$10, not eligible (a GEM small cap: 100% haircut)
//	SOL        a virtual asset that is never eligible
const (
	hkd    = fixed.Amount(1_000_000)   // HK$1 in micro-HKD
	usd    = fixed.Amount(1_000_000)   // US$1 in micro-USD
	coin   = fixed.Amount(100_000_000) // 1 BTC/ETH in minor units
	usdFX  = int64(7_800_000)
	btcIdx = int64(100_000) * int64(usd)
	ethIdx = int64(4_000) * int64(usd)
	p700   = int64(500) * int64(hkd)
	p5     = int64(100) * int64(hkd)
	p8888  = int64(10) * int64(hkd)
)

type fix struct {
	t                                        *testing.T
	b                                        *Book
	now                                      int64
	HKD, USD, BTC, ETH, SOL, S700, S5, S8888 AssetID
}

// at returns the engine time of a Hong Kong wall-clock hour.
func at(y int64, m, d, h int) int64 {
	return daysFromCivil(y, m, d)*nanosPerDay + int64(h)*nanosPerHour - 8*nanosPerHour
}

var t0 = at(2028, 2, 1, 10) // 1 Feb 2028, 10:00 HKT

func must(t *testing.T, o Outcome) Outcome {
	t.Helper()
	if !o.OK() {
		t.Fatalf("unexpected rejection: %s", o.Reason)
	}
	return o
}

func newFix(t *testing.T) *fix { return newFixAt(t, t0) }

func newFixAt(t *testing.T, start int64) *fix {
	f := &fix{t: t, b: New(Config{}), now: start}
	b, now := f.b, f.now
	reg := func(code string, k AssetKind, dec int, q string, lot fixed.Amount) AssetID {
		id, o := b.RegisterAsset(now, code, k, dec, q, lot)
		must(t, o)
		return id
	}
	f.HKD = BaseAsset
	f.USD = reg("USD", Cash, 6, "HKD", 1)
	f.BTC = reg("BTC", VirtualAsset, 8, "USD", 1_000)
	f.ETH = reg("ETH", VirtualAsset, 8, "USD", 10_000)
	f.SOL = reg("SOL", VirtualAsset, 8, "USD", 1)
	f.S700 = reg("0700.HK", Security, 0, "HKD", 100)
	f.S5 = reg("0005.HK", Security, 0, "HKD", 400)
	f.S8888 = reg("8888.HK", Security, 0, "HKD", 1000)
	for _, r := range []struct {
		a AssetID
		c Collateral
	}{
		{f.HKD, Collateral{true, 0, fixed.PpmOne}},
		{f.USD, Collateral{true, 0, fixed.PpmOne}},
		{f.BTC, Collateral{true, 600_000, fixed.PpmOne}},
		{f.ETH, Collateral{true, 650_000, fixed.PpmOne}},
		{f.S700, Collateral{true, 300_000, fixed.PpmOne}},
		{f.S5, Collateral{true, 200_000, fixed.PpmOne}},
	} {
		must(t, b.SetCollateral(now, r.a, r.c))
	}
	for _, p := range []struct {
		a AssetID
		v int64
	}{{f.USD, usdFX}, {f.BTC, btcIdx}, {f.ETH, ethIdx}, {f.SOL, 150 * int64(usd)}, {f.S700, p700}, {f.S5, p5}, {f.S8888, p8888}} {
		must(t, b.SetPrice(now, p.a, p.v))
	}
	must(t, b.SetInterestTerms(now, f.HKD, InterestTerms{AnnualRate: 80_000, DayBasis: 365}))
	must(t, b.SetInterestTerms(now, f.USD, InterestTerms{AnnualRate: 70_000, DayBasis: 360}))
	must(t, b.SetCapital(now, 100_000_000*hkd)) // HK$100m
	return f
}

// approved opens a client with an approved assessment valid for a year.
func (f *fix) approved(id ClientID, limit fixed.Amount) {
	f.t.Helper()
	must(f.t, f.b.OpenClient(f.now, id, 0))
	must(f.t, f.b.SetAssessment(f.now, id, Assessment{
		NetAssets: 50_000_000 * hkd, AnnualIncome: 5_000_000 * hkd, ExperienceYears: 10,
		Grade: "A", Approver: "credit-committee", AssessedAt: f.now, NextReview: f.now + 365*nanosPerDay,
		Limit: limit, Approved: true,
	}))
}

func (f *fix) deposit(id ClientID, a AssetID, q fixed.Amount) {
	f.t.Helper()
	must(f.t, f.b.Deposit(f.now, id, a, q))
}

// tick moves engine time to now (Tick first, as the engine does).
func (f *fix) tick(now int64) Outcome {
	f.now = now
	return f.b.Tick(now)
}

func (f *fix) val(id ClientID) Valuation {
	v, ok := f.b.Valuation(id)
	if !ok {
		f.t.Fatalf("no client %d", id)
	}
	return v
}

func (f *fix) check() {
	f.t.Helper()
	if err := f.b.CheckInvariants(); err != nil {
		f.t.Fatal(err)
	}
}

func kinds(o Outcome) []EventKind {
	var k []EventKind
	for _, e := range o.Events {
		k = append(k, e.Kind)
	}
	return k
}

func find(o Outcome, k EventKind) (Event, bool) {
	for _, e := range o.Events {
		if e.Kind == k {
			return e, true
		}
	}
	return Event{}, false
}
