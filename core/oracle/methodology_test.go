package oracle

import (
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/sampan-hk/sampan/core/fixed"
	"github.com/sampan-hk/sampan/core/funding"
)

// The worked examples in docs/methodology.md are computed here with the
// real code, and every line the test renders must appear in the document
// verbatim. Change a rule or a number in one place only and this fails.

const docPath = "../../docs/methodology.md"

// usd renders a price in 0.1 USD ticks ("65010.0").
func usd(p fixed.Price) string { return fixed.FormatDecimal(int64(p), 1) }

// micro renders micro-USD ("3.657015").
func micro(a fixed.Amount) string { return fixed.FormatDecimal(int64(a), 6) }

// pct renders a funding.Rate (10^-9) as a percentage, trailing zeros trimmed.
func pct(r funding.Rate) string { return fixed.TrimDecimal(fixed.FormatDecimal(int64(r)*100, 9)) + "%" }

func ppmPct(p fixed.Ppm) string { return fixed.TrimDecimal(fixed.FormatDecimal(int64(p)*100, 6)) + "%" }

func methodologyLines(t *testing.T) []string {
	var out []string
	add := func(format string, a ...any) { out = append(out, fmt.Sprintf(format, a...)) }

	// --- Index: the default constituents (weights 3/2/2/1/1) at T = 1,795,161,600 s.
	T := int64(1_795_161_600) * sec
	x := mustIndex(t, DefaultParams(), DefaultSources())
	// The previous published index, from an earlier healthy computation.
	feed(t, x, T-60*sec, q{1, 650050, 0}, q{2, 650050, 0}, q{3, 650050, 0})
	x.Compute(T - 60*sec)
	feed(t, x, T, q{1, 650100, 2}, q{2, 650000, 5}, q{3, 649900, 41}, q{4, 650300, 1}, q{5, 685000, 0})
	r := x.Compute(T)
	for _, c := range r.Constituents {
		dev := "—"
		if c.Excluded == Included || c.Excluded == Deviation {
			dev = ppmPct(c.Deviation)
		}
		add("| %s | %d | %s | %d s | %s | %s | %d |", c.Name, c.Weight, usd(c.Price), c.Age/sec, dev, c.Excluded, c.WeightUsed)
	}
	add("Reference (weighted median of the %d fresh quotes) = **%s**", r.Fresh, usd(r.Reference))
	add("Weighted median of the %d included quotes = **%s**", r.Included, usd(r.Median))
	add("Published index = **%s** (healthy: %v)", usd(r.Price), r.Healthy)

	// --- Index change bound: every venue jumps to 66,000.0.
	for id := SourceID(1); id <= 5; id++ {
		x.Update(Quote{Source: id, Price: 660000, Time: T + sec}, T+sec)
	}
	r = x.Compute(T + sec)
	add("bounded index = **%s** (event %s, wanted %s)", usd(r.Price), r.Events[0].Kind, usd(r.Events[0].Wanted))

	// --- Mark.
	idx := fixed.Price(650100)
	m := mustMark(t, DefaultMarkParams())
	t0 := T - 1800*sec // 07:30:00, next hourly settlement at 08:00:00
	for i, b := range []fixed.Price{20, 30, 40} {
		if _, err := m.Compute(MarkInputs{Time: t0 - int64(3-i)*sec, Index: idx, Mid: idx + b, HasMid: true, TimeToFunding: 1800*sec + int64(3-i)*sec}); err != nil {
			t.Fatal(err)
		}
	}
	in := MarkInputs{Time: t0, Index: idx, FundingRate: 100_000, TimeToFunding: 1800 * sec, Mid: idx + 55, HasMid: true, Last: 650200, HasLast: true}
	mr, err := m.Compute(in)
	if err != nil {
		t.Fatal(err)
	}
	add("| Price 1 (funding) | %s |", usd(mr.FundingPrice))
	add("| Price 2 (basis) | %s |", usd(mr.BasisPrice))
	add("| Price 3 (last trade) | %s |", usd(mr.LastPrice))
	add("basis average = %s (%d samples)", usd(mr.BasisAverage), mr.BasisSamples)
	add("band = [%s, %s]", usd(mr.BandLow), usd(mr.BandHigh))
	add("mark = **%s** (clamped: %v)", usd(mr.Mark), mr.Clamped)

	m2 := mustMark(t, DefaultMarkParams())
	in2 := MarkInputs{Time: t0, Index: idx, FundingRate: 100_000, TimeToFunding: 1800 * sec, Mid: 657100, HasMid: true, Last: 658000, HasLast: true}
	mr2, _ := m2.Compute(in2)
	add("spike: prices %s, %s, %s → median %s → mark = **%s** (clamped: %v)",
		usd(mr2.FundingPrice), usd(mr2.BasisPrice), usd(mr2.LastPrice), usd(mr2.Median), usd(mr2.Mark), mr2.Clamped)

	// --- Funding: impact prices on a BTC-USD spec (tick 0.1, lot 0.001).
	spec := &fixed.Spec{Tick: fixed.Step{Units: 1, Scale: 1}, Lot: fixed.Step{Units: 1, Scale: 3}, Multiplier: 1,
		QuoteDecimals: 6, BaseDecimals: 8, MaxPrice: 100_000_000, MaxQty: 10_000_000}
	if err := spec.Validate(); err != nil {
		t.Fatal(err)
	}
	bids := []funding.Level{{Price: 650300, Qty: 100}, {Price: 650250, Qty: 200}}
	asks := []funding.Level{{Price: 650400, Qty: 100}, {Price: 650500, Qty: 300}}
	ib, okb, _ := funding.ImpactPrice(spec, bids, 10_000_000_000, funding.Bid)
	ia, oka, _ := funding.ImpactPrice(spec, asks, 10_000_000_000, funding.Ask)
	prem, _ := funding.Premium(ib, okb, ia, oka, idx)
	add("impact bid = **%s**, impact ask = **%s**", usd(ib), usd(ia))
	add("premium sample = (%s − %s) / %s = **%s**", usd(ib), usd(idx), usd(idx), pct(prem))

	cp, _ := funding.Cap(100_000, 50_000, 750_000)
	add("cap = 75%% × (10%% − 5%%) = **%s** per 8 h", pct(cp))
	p := funding.DefaultParams()
	for _, avg := range []funding.Rate{50_000, 800_000, -1_000_000, 42_000_000} {
		rr := funding.ComputeRate(p, avg*60, 60, cp)
		add("| %s | %s | %s | %s | %s |", pct(rr.AvgPremium), pct(rr.Adjustment), pct(rr.Uncapped), pct(rr.Rate), pct(rr.Rate/8))
	}

	st, err := funding.Settle(spec, []funding.Position{{Account: 1, Size: 3}, {Account: 2, Size: -1}, {Account: 3, Size: -2}}, mr.Mark, 300_000, 3600*sec)
	if err != nil {
		t.Fatal(err)
	}
	for _, py := range st.Payments {
		add("| %c | %s | %s | %s |", 'A'+rune(py.Account-1), fixed.FormatDecimal(int64(py.Size), 3), micro(py.Notional), micro(py.Amount))
	}
	add("paid %s, received %s, residue to the rounding account **%s**", micro(st.Paid), micro(st.Received), micro(st.Residue))
	return out
}

func TestMethodologyExamples(t *testing.T) {
	doc, err := os.ReadFile(docPath)
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range methodologyLines(t) {
		if !strings.Contains(string(doc), l) {
			t.Errorf("docs/methodology.md lacks the computed line:\n%s", l)
		}
	}
}
