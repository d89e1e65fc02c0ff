package eligibility

import (
	"errors"

	"github.com/sampan-hk/sampan/core/fixed"
	"github.com/sampan-hk/sampan/core/governance"
)

// Params are the eligibility rules' numbers. They are governed: the engine
// keeps them in the governance store as the "eligibility" set (Schema) and
// hands the active version to the Registry with SetParams. Money is HKD in
// cents, so "one cent below the threshold" is a representable value.
type Params struct {
	IndividualPortfolioMin  fixed.Amount // Cap 571D: HK$8m
	CorporatePortfolioMin   fixed.Amount // HK$8m
	CorporateTotalAssetsMin fixed.Amount // HK$40m
	ValidityMonths          int64        // evidence is good for this many calendar months
	ReminderLeadDays        int64        // remind this many days before expiry
	MinDerivativeTrades     int64        // prior-trades basis: at least this many in the look-back
}

// HKD is one Hong Kong dollar in cents.
const HKD fixed.Amount = 100

// DefaultParams: the statutory thresholds, 12-month evidence (broker
// practice), a 30-day reminder and 5 derivative trades (regulation R20,
// R22; the last two are ours).
var DefaultParams = Params{
	IndividualPortfolioMin:  8_000_000 * HKD,
	CorporatePortfolioMin:   8_000_000 * HKD,
	CorporateTotalAssetsMin: 40_000_000 * HKD,
	ValidityMonths:          12,
	ReminderLeadDays:        30,
	MinDerivativeTrades:     5,
}

// SetID is the governance parameter-set id of the eligibility rules.
const SetID = "eligibility"

// Field names in the governed value.
const (
	fIndividualPortfolio = "individual_portfolio_min_hkd_cents"
	fCorporatePortfolio  = "corporate_portfolio_min_hkd_cents"
	fCorporateAssets     = "corporate_total_assets_min_hkd_cents"
	fValidityMonths      = "validity_months"
	fReminderLeadDays    = "reminder_lead_days"
	fMinTrades           = "min_derivative_trades"
)

// Schema is the governance schema of the eligibility set. Compliance owns
// it; raising a threshold or the trade count, or shortening validity, is
// the stricter direction. The bounds keep every later computation in range
// (an expiry at most 5 years out, a reminder at most a year ahead).
var Schema = governance.Schema{
	Kind:      SetID,
	Singleton: true,
	Domain:    governance.DomainCompliance,
	Fields: []governance.Spec{
		{Name: fIndividualPortfolio, Dir: governance.HigherStricter, Min: 1, Max: 1 << 50},
		{Name: fCorporatePortfolio, Dir: governance.HigherStricter, Min: 1, Max: 1 << 50},
		{Name: fCorporateAssets, Dir: governance.HigherStricter, Min: 1, Max: 1 << 50},
		{Name: fValidityMonths, Dir: governance.LowerStricter, Min: 1, Max: 60},
		{Name: fReminderLeadDays, Dir: governance.Neutral, Min: 0, Max: 365},
		{Name: fMinTrades, Dir: governance.HigherStricter, Min: 1, Max: 1000},
	},
}

// Value returns p as a governed value (for the genesis configuration).
func (p Params) Value() governance.Value {
	v, r := governance.NewValue([]governance.Field{
		{Name: fIndividualPortfolio, V: int64(p.IndividualPortfolioMin)},
		{Name: fCorporatePortfolio, V: int64(p.CorporatePortfolioMin)},
		{Name: fCorporateAssets, V: int64(p.CorporateTotalAssetsMin)},
		{Name: fValidityMonths, V: p.ValidityMonths},
		{Name: fReminderLeadDays, V: p.ReminderLeadDays},
		{Name: fMinTrades, V: p.MinDerivativeTrades},
	}, nil)
	if r != governance.ReasonNone {
		panic("eligibility: params do not encode: " + r.String())
	}
	return v
}

// ErrParams: a value that does not satisfy Schema.
var ErrParams = errors.New("eligibility: parameter value does not match the schema")

// ParamsFrom reads a governed value (already validated by the store; the
// check here guards against wiring the wrong set).
func ParamsFrom(v governance.Value) (Params, error) {
	if Schema.Validate(SetID, v) != governance.ReasonNone {
		return Params{}, ErrParams
	}
	get := func(n string) int64 { x, _ := v.Get(n); return x }
	return Params{
		IndividualPortfolioMin:  fixed.Amount(get(fIndividualPortfolio)),
		CorporatePortfolioMin:   fixed.Amount(get(fCorporatePortfolio)),
		CorporateTotalAssetsMin: fixed.Amount(get(fCorporateAssets)),
		ValidityMonths:          get(fValidityMonths),
		ReminderLeadDays:        get(fReminderLeadDays),
		MinDerivativeTrades:     get(fMinTrades),
	}, nil
}

func (p Params) valid() bool {
	_, err := ParamsFrom(p.Value())
	return err == nil
}
