package lending

import (
	"strconv"

	"github.com/sampan-hk/sampan/core/fixed"
)

// Shock moves prices by Ppm (−300_000 is −30%). It applies to the asset
// named by Code or, when Code is empty, to every asset of Kind.
type Shock struct {
	Kind AssetKind
	Code string
	Ppm  fixed.Ppm
}

// Scenario is a named set of instantaneous shocks. When two shocks hit the
// same asset the later one wins.
type Scenario struct {
	Name   string
	Shocks []Shock
}

// DefaultScenarios are the daily VA-book shocks (R13): BTC/ETH −30% and
// −50%, equities −20%, and both combined.
func DefaultScenarios() []Scenario {
	va := func(p fixed.Ppm) []Shock {
		return []Shock{{Kind: VirtualAsset, Code: "BTC", Ppm: p}, {Kind: VirtualAsset, Code: "ETH", Ppm: p}}
	}
	eq := Shock{Kind: Security, Ppm: -200_000}
	return []Scenario{
		{Name: "va-30", Shocks: va(-300_000)},
		{Name: "va-50", Shocks: va(-500_000)},
		{Name: "equities-20", Shocks: []Shock{eq}},
		{Name: "combined-30", Shocks: append(va(-300_000), eq)},
		{Name: "combined-50", Shocks: append(va(-500_000), eq)},
	}
}

// StressRow is one client under one scenario, in base minor units.
type StressRow struct {
	Client      ClientID
	Debit       fixed.Amount // loans + accrued interest in this book (other accounts excluded)
	MarketValue fixed.Amount // shocked market value of all holdings
	Lending     fixed.Amount // shocked lending value
	Shortfall   fixed.Amount // max(0, debit − shocked lending value): the margin call it would raise
	Loss        fixed.Amount // max(0, debit − shocked market value): the firm's loss if the client defaults
}

// StressResult is one scenario over the whole margin book.
type StressResult struct {
	Scenario       string
	Rows           []StressRow // clients with a debit, ascending client id
	TotalShortfall fixed.Amount
	FirmLoss       fixed.Amount
	Capital        fixed.Amount
	LossOfCapital  fixed.Ppm // ⌈FirmLoss / Capital⌉ in ppm (0 when capital is not set)
}

// Stress values the whole book under each scenario. It changes nothing and
// its output order is deterministic (scenarios as given, clients
// ascending).
func (b *Book) Stress(scenarios []Scenario) []StressResult {
	res := make([]StressResult, 0, len(scenarios))
	for _, sc := range scenarios {
		shock := make([]fixed.Ppm, len(b.assets))
		for _, s := range sc.Shocks {
			for i := range b.assets {
				a := &b.assets[i]
				if (s.Code != "" && a.Code == s.Code) || (s.Code == "" && a.Kind == s.Kind) {
					shock[i] = max(s.Ppm, -fixed.PpmOne)
				}
			}
		}
		r := StressResult{Scenario: sc.Name, Capital: b.capital}
		for _, id := range b.order {
			c := b.client(id)
			p := b.position(c)
			v := b.valuate(&p, shock)
			if v.Debit == 0 {
				continue
			}
			row := StressRow{Client: id, Debit: v.Debit, MarketValue: v.MarketValue, Lending: v.Lending, Shortfall: v.Shortfall()}
			if v.Debit > v.MarketValue {
				row.Loss = v.Debit - v.MarketValue
			}
			r.TotalShortfall += row.Shortfall
			r.FirmLoss += row.Loss
			r.Rows = append(r.Rows, row)
		}
		if b.capital > 0 {
			r.LossOfCapital = fixed.Ppm(fixed.MustMulDiv(int64(r.FirmLoss), int64(fixed.PpmOne), int64(b.capital), fixed.Ceil))
		}
		res = append(res, r)
	}
	return res
}

// StressRecord is a rendered row: decimal strings in the base currency,
// ready for JSON (field tags) or CSV (CSV method, same column order as
// StressCSVHeader). A row with Client "ALL" is the scenario's firm total.
type StressRecord struct {
	Scenario      string `json:"scenario"`
	Client        string `json:"client"`
	Debit         string `json:"debit"`
	MarketValue   string `json:"market_value"`
	LendingValue  string `json:"lending_value"`
	Shortfall     string `json:"shortfall"`
	Loss          string `json:"loss"`
	Capital       string `json:"capital,omitempty"`
	LossOfCapital string `json:"loss_of_capital,omitempty"`
}

// StressCSVHeader is the CSV header for StressRecord.CSV.
func StressCSVHeader() []string {
	return []string{"scenario", "client", "debit", "market_value", "lending_value", "shortfall", "loss", "capital", "loss_of_capital"}
}

// CSV returns the record's fields in StressCSVHeader order.
func (r StressRecord) CSV() []string {
	return []string{r.Scenario, r.Client, r.Debit, r.MarketValue, r.LendingValue, r.Shortfall, r.Loss, r.Capital, r.LossOfCapital}
}

// StressRecords renders results as records: each scenario's client rows
// followed by its "ALL" total row. Amounts use the base currency's
// decimals; the loss share of capital is a decimal fraction ("0.125000").
func (b *Book) StressRecords(results []StressResult) []StressRecord {
	dec := b.assets[BaseAsset].Decimals
	f := func(a fixed.Amount) string { return fixed.FormatDecimal(int64(a), dec) }
	var out []StressRecord
	for _, r := range results {
		for _, row := range r.Rows {
			out = append(out, StressRecord{Scenario: r.Scenario, Client: strconv.FormatUint(uint64(row.Client), 10),
				Debit: f(row.Debit), MarketValue: f(row.MarketValue), LendingValue: f(row.Lending),
				Shortfall: f(row.Shortfall), Loss: f(row.Loss)})
		}
		var d, mv, lv fixed.Amount
		for _, row := range r.Rows {
			d += row.Debit
			mv += row.MarketValue
			lv += row.Lending
		}
		out = append(out, StressRecord{Scenario: r.Scenario, Client: "ALL", Debit: f(d), MarketValue: f(mv),
			LendingValue: f(lv), Shortfall: f(r.TotalShortfall), Loss: f(r.FirmLoss), Capital: f(r.Capital),
			LossOfCapital: fixed.FormatDecimal(int64(r.LossOfCapital), 6)})
	}
	return out
}
