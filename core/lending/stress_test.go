package lending

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/sampan-hk/sampan/core/fixed"
)

// Stress, worked by hand (HK$).
//
// Client 2: 1000 × 0700.HK at HK$500 and 0.5 BTC bought on margin for
// US$50,000 (debit 390,000). Client 7: 1 BTC and 100 × 0700.HK, HK$340,000
// cash loan (LV 312,000 + 35,000 = 347,000). Client 8 has no loan and is
// left out of the rows.
//
//	scenario      client 2 LV                    short   client 7 LV            short
//	va-30         350,000 + 0.5×546,000×40% = 459,200  0   218,400+35,000 = 253,400   86,600
//	va-50         350,000 + 78,000 = 428,000         0     156,000+35,000 = 191,000  149,000
//	equities-20   280,000 + 156,000 = 436,000        0     312,000+28,000 = 340,000      0
//	combined-30   280,000 + 109,200 = 389,200      800     218,400+28,000 = 246,400   93,600
//	combined-50   280,000 + 78,000 = 358,000    32,000     156,000+28,000 = 184,000  156,000
//
// No default scenario makes a loss (a 60% haircut covers a 50% fall). A
// custom BTC −80% does for client 7: market value 156,000 + 50,000 =
// 206,000 < 340,000 → loss 134,000 = 0.134% of the HK$100m capital.
func TestStress(t *testing.T) {
	f := newFix(t)
	f.approved(2, 1_000_000*hkd)
	f.deposit(2, f.S700, 1000)
	must(t, f.b.Buy(f.now, 2, f.BTC, coin/2, 50_000*usd))
	f.approved(7, 1_000_000*hkd)
	f.deposit(7, f.BTC, coin)
	f.deposit(7, f.S700, 100)
	must(t, f.b.Advance(f.now, 7, f.HKD, 340_000*hkd))
	f.approved(8, 0)
	f.deposit(8, f.S700, 100)
	h := f.b.Hash()

	res := f.b.Stress(append(DefaultScenarios(), Scenario{Name: "btc-80", Shocks: []Shock{{Kind: VirtualAsset, Code: "BTC", Ppm: -800_000}}}))
	if f.b.Hash() != h {
		t.Fatal("stress changed the book")
	}
	want := map[string][2]fixed.Amount{
		"va-30": {0, 86_600 * hkd}, "va-50": {0, 149_000 * hkd}, "equities-20": {0, 0},
		"combined-30": {800 * hkd, 93_600 * hkd}, "combined-50": {32_000 * hkd, 156_000 * hkd},
	}
	var names []string
	for _, r := range res {
		names = append(names, r.Scenario)
		if len(r.Rows) != 2 || r.Rows[0].Client != 2 || r.Rows[1].Client != 7 {
			t.Fatalf("%s rows %+v", r.Scenario, r.Rows)
		}
		if w, ok := want[r.Scenario]; ok {
			if r.Rows[0].Shortfall != w[0] || r.Rows[1].Shortfall != w[1] || r.TotalShortfall != w[0]+w[1] || r.FirmLoss != 0 {
				t.Fatalf("%s: %+v", r.Scenario, r)
			}
		}
	}
	if !slices.Equal(names, []string{"va-30", "va-50", "equities-20", "combined-30", "combined-50", "btc-80"}) {
		t.Fatalf("scenario order %v", names)
	}
	last := res[5]
	if last.Rows[1].Loss != 134_000*hkd || last.FirmLoss != 134_000*hkd || last.LossOfCapital != 1_340 {
		t.Fatalf("btc-80 %+v", last)
	}

	recs := f.b.StressRecords(res[5:])
	if len(recs) != 3 || recs[2].Client != "ALL" {
		t.Fatalf("records %+v", recs)
	}
	if got := strings.Join(recs[1].CSV(), ","); got != "btc-80,7,340000.000000,206000.000000,97400.000000,242600.000000,134000.000000,," {
		t.Fatalf("csv row %s", got)
	}
	if got := strings.Join(recs[2].CSV(), ","); !strings.HasSuffix(got, ",134000.000000,100000000.000000,0.001340") {
		t.Fatalf("csv total %s", got)
	}
	if len(StressCSVHeader()) != len(recs[0].CSV()) {
		t.Fatal("header and row widths differ")
	}
	j, err := json.Marshal(recs[2])
	if err != nil || !strings.Contains(string(j), `"loss_of_capital":"0.001340"`) {
		t.Fatalf("json %s %v", j, err)
	}
}
