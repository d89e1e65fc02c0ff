package engine

import (
	"github.com/sampan-hk/sampan/core/fixed"
	"github.com/sampan-hk/sampan/core/lending"
)

// Financing queries, for the API, `sampan stress` and the console. Like
// every query they read engine state: call them inside exchange.View (the
// engine is single-threaded). Amounts are minor units of the named asset;
// base figures (lending value, debit, shortfall, limits) are micro-HKD.

// FinHolding is one asset in a financing account, valued.
type FinHolding struct {
	Asset        lending.AssetID
	Code         string
	Kind         lending.AssetKind
	Qty          fixed.Amount // held
	Financed     fixed.Amount // bought with borrowed money (sold first in a close-out)
	Reserved     fixed.Amount // held for resting spot orders
	Price        int64        // quote minor units per whole unit (0: none)
	Priced       bool
	Eligible     bool
	Haircut      fixed.Ppm
	LendingValue fixed.Amount // base
}

// FinLoan is one currency's loan.
type FinLoan struct {
	Currency lending.AssetID
	Code     string
	lending.Loan
	// Owed is the balance plus accrued interest rounded up: what the risk
	// checks count.
	Owed fixed.Amount
}

// FinancingView is a client's margin-financing account.
type FinancingView struct {
	Client     ClientID
	Holdings   []FinHolding // assets with a holding, registry order
	Loans      []FinLoan    // currencies with a balance or accrued interest
	Valuation  lending.Valuation
	Shortfall  fixed.Amount // max(0, debit − lending value): the margin call
	Call       lending.Call // open, deadline, closing out, trigger
	Assessment lending.Assessment
	Assessed   bool
}

// FinancingAccount returns a client's financing account (false: unknown
// client or financing disabled).
func (e *Engine) FinancingAccount(c ClientID) (FinancingView, bool) {
	if e.fin == nil || e.client(c) == nil {
		return FinancingView{}, false
	}
	lc := lending.ClientID(c)
	val, ok := e.fin.Valuation(lc)
	if !ok {
		return FinancingView{}, false
	}
	v := FinancingView{Client: c, Valuation: val, Shortfall: val.Shortfall(), Call: e.fin.CallState(lc)}
	v.Assessment, v.Assessed = e.fin.Assessment(lc)
	for i := 0; i < e.fin.Assets(); i++ {
		a := lending.AssetID(i)
		as := e.fin.Asset(a)
		if q := e.fin.Holding(lc, a); q != 0 {
			px, priced := e.fin.Price(a)
			col := e.fin.Collateral(a)
			h := FinHolding{Asset: a, Code: as.Code, Kind: as.Kind, Qty: q, Financed: e.fin.Financed(lc, a),
				Reserved: e.reservedCash(c, a) + e.reservedHold(c, a), Price: px, Priced: priced, Eligible: col.Eligible,
				Haircut: col.Haircut}
			if i < len(val.PerAsset) {
				h.LendingValue = val.PerAsset[i]
			}
			v.Holdings = append(v.Holdings, h)
		}
		if l := e.fin.Loan(lc, a); l.Balance != 0 || l.AccruedMinor != 0 || l.AccruedFine != 0 || l.Drawn != 0 {
			owed := l.Balance + l.AccruedMinor
			if l.AccruedFine > 0 {
				owed++
			}
			v.Loans = append(v.Loans, FinLoan{Currency: a, Code: as.Code, Loan: l, Owed: owed})
		}
	}
	return v, true
}

// FinancingClients lists the margin book: every client with a debit or an
// open call, ascending.
func (e *Engine) FinancingClients() []ClientID {
	if e.fin == nil {
		return nil
	}
	var out []ClientID
	for _, id := range e.fin.Clients() {
		v, _ := e.fin.Valuation(id)
		if v.Debit > 0 || e.fin.CallState(id).Open {
			out = append(out, ClientID(id))
		}
	}
	return out
}

// FinancingFirm is the firm-wide view: capital, total loans and their
// multiple of capital, lending value, the capital view (VA at a 100%
// haircut), clients under call or closing out.
func (e *Engine) FinancingFirm() (lending.FirmView, bool) {
	if e.fin == nil {
		return lending.FirmView{}, false
	}
	return e.fin.Firm(), true
}

// Stress runs shock scenarios (nil: lending.DefaultScenarios) over the whole
// margin book and renders each client's shortfall and loss and the firm
// total against capital, ready for JSON (field tags) or CSV.
func (e *Engine) Stress(scenarios []lending.Scenario) []lending.StressRecord {
	if e.fin == nil {
		return nil
	}
	if scenarios == nil {
		scenarios = lending.DefaultScenarios()
	}
	return e.fin.StressRecords(e.fin.Stress(scenarios))
}

// CollateralRow is one row of the eligible-collateral table.
type CollateralRow struct {
	ID lending.AssetID
	lending.Asset
	lending.Collateral
	Price  int64
	Priced bool
	SetID  string // the governance set that changes the row
}

// CollateralTable returns the registry with its collateral rows and prices.
func (e *Engine) CollateralTable() []CollateralRow {
	if e.fin == nil {
		return nil
	}
	rows := make([]CollateralRow, e.fin.Assets())
	for i := range rows {
		a := lending.AssetID(i)
		px, ok := e.fin.Price(a)
		rows[i] = CollateralRow{ID: a, Asset: e.fin.Asset(a), Collateral: e.fin.Collateral(a), Price: px, Priced: ok,
			SetID: CollateralSetID(e.fin.Asset(a).Code)}
	}
	return rows
}

// MarketKind returns a market's kind.
func (e *Engine) MarketKind(m MarketID) MarketKind { return e.markets[m].spec.Kind }
