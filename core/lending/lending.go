// Package lending is the margin-financing book: the pure, deterministic state
// machine behind issue 8. It holds the asset registry and the eligible-
// collateral table, prices, each margin client's margin-financing account
// (holdings, loans per currency, credit assessment, group), and the firm's
// capital; it decides advances, withdrawals, interest, margin calls and
// close-outs, and expresses every movement of an amount as a balanced
// posting.
//
// The engine embeds one Book. Each command carries the engine time (int64
// unix nanoseconds, stamped by the sequencer); the engine must call Tick(now)
// before any other operation at that time, so interest for elapsed days is
// accrued and deadlines are checked before the command is judged. Every
// operation returns an Outcome: a typed Reason (ReasonOK or a business
// rejection, in which case nothing changed), the events it produced and the
// postings it made. A broken invariant panics.
//
// Units. All values are integers. Each asset has Decimals: holdings and loans
// are counted in its minor units (fixed.Amount). The book's base currency
// (HKD by default, the currency of the SFC framework and of the firm's
// capital) is where every comparison happens: lending value, debit, credit
// limits, capital limits and stress losses are base minor units. A price is
// the number of quote-currency minor units for one whole unit (10^Decimals
// minor units) of the asset; BTC and ETH are quoted in USD (index price), HK
// equities in HKD, and a cash currency is quoted in the base currency (its FX
// rate). Rounding always favours the firm: collateral values round down,
// debts converted to base round up (see docs/margin-financing.md).
package lending

import (
	"strconv"

	"github.com/sampan-hk/sampan/core/fixed"
)

// ClientID identifies a margin client (the engine's account holder id).
type ClientID uint64

// GroupID links related clients for the group concentration limit. Zero
// means the client is a group of its own.
type GroupID uint64

// Reason is a business outcome code. Its numeric values are stable: they
// are part of the command/event encoding, so new codes go at the end.
type Reason uint8

// Reason codes. ReasonOK means the operation was applied; anything else is
// a rejection that changed nothing.
const (
	ReasonOK Reason = iota
	ReasonUnknownAsset
	ReasonDuplicateAsset
	ReasonBadAsset
	ReasonVANotEligible
	ReasonHaircutBelowFloor
	ReasonBadHaircut
	ReasonBadConcentration
	ReasonUnknownClient
	ReasonDuplicateClient
	ReasonBadAmount
	ReasonInsufficientHolding
	ReasonNoAssessment
	ReasonAssessmentNotApproved
	ReasonAssessmentExpired
	ReasonBadAssessment
	ReasonNeedsSecuritiesCollateral
	ReasonCreditLimit
	ReasonLendingValue
	ReasonMarginCallOpen
	ReasonClientGroupLimit
	ReasonFirmLimit
	ReasonConcentration
	ReasonNoCapital
	ReasonNoPrice
	ReasonStalePrice
	ReasonRepayExceedsLoan
	ReasonNotCash
	ReasonBadPrice
	ReasonBadParams
	ReasonNoCloseOut
	ReasonBaseCurrency
	reasonCount
)

var reasonNames = [reasonCount]string{
	ReasonOK:                        "ok",
	ReasonUnknownAsset:              "unknown_asset",
	ReasonDuplicateAsset:            "duplicate_asset",
	ReasonBadAsset:                  "bad_asset_definition",
	ReasonVANotEligible:             "virtual_asset_not_eligible",
	ReasonHaircutBelowFloor:         "haircut_below_va_floor",
	ReasonBadHaircut:                "haircut_out_of_range",
	ReasonBadConcentration:          "concentration_limit_out_of_range",
	ReasonUnknownClient:             "unknown_client",
	ReasonDuplicateClient:           "duplicate_client",
	ReasonBadAmount:                 "amount_not_positive_or_too_large",
	ReasonInsufficientHolding:       "insufficient_holding",
	ReasonNoAssessment:              "no_credit_assessment",
	ReasonAssessmentNotApproved:     "credit_assessment_not_approved",
	ReasonAssessmentExpired:         "credit_assessment_expired",
	ReasonBadAssessment:             "bad_credit_assessment",
	ReasonNeedsSecuritiesCollateral: "va_financing_needs_securities_collateral",
	ReasonCreditLimit:               "credit_limit_exceeded",
	ReasonLendingValue:              "lending_value_exceeded",
	ReasonMarginCallOpen:            "margin_call_open",
	ReasonClientGroupLimit:          "client_group_capital_limit_exceeded",
	ReasonFirmLimit:                 "firm_loans_to_capital_limit_exceeded",
	ReasonConcentration:             "collateral_concentration_exceeded",
	ReasonNoCapital:                 "firm_capital_not_set",
	ReasonNoPrice:                   "no_price",
	ReasonStalePrice:                "stale_price",
	ReasonRepayExceedsLoan:          "repayment_exceeds_loan",
	ReasonNotCash:                   "not_a_cash_asset",
	ReasonBadPrice:                  "price_not_positive_or_too_large",
	ReasonBadParams:                 "bad_parameters",
	ReasonNoCloseOut:                "no_close_out_in_progress",
	ReasonBaseCurrency:              "base_currency_price_is_fixed",
}

// String returns the reason's stable snake_case name.
func (r Reason) String() string {
	if r < reasonCount {
		return reasonNames[r]
	}
	return "reason" + strconv.Itoa(int(r))
}

// MaxAmount bounds any single holding, loan or command amount (in minor
// units) so sums of a few of them and products through 128-bit
// intermediates stay inside int64. 10^15 minor units is HK$1bn at 6
// decimals; a larger amount is rejected with ReasonBadAmount.
const MaxAmount fixed.Amount = 1_000_000_000_000_000

// MaxPrice bounds a price (quote minor units per whole unit).
const MaxPrice int64 = 1_000_000_000_000_000

// MinVAHaircut is the hard floor on the haircut of any eligible virtual
// asset (SFC circular 26EC5 as digested; HKMA 27 May 2026): 60%, so at most
// 40% of BTC/ETH market value can be lent against. It is a constant, not a
// parameter, on purpose: no configuration may go below it.
const MinVAHaircut fixed.Ppm = 600_000

// eligibleVA is the whitelist of virtual assets that may ever be collateral
// (LC regime: BTC and ETH only). Any other virtual asset is refused.
var eligibleVA = [...]string{"BTC", "ETH"}

func isEligibleVACode(code string) bool {
	for _, c := range eligibleVA {
		if c == code {
			return true
		}
	}
	return false
}

const (
	nanosPerHour = int64(3_600_000_000_000)
	nanosPerDay  = 24 * nanosPerHour
)

// Params are the book's governed parameters. Every number is data; the
// defaults are ours unless docs/margin-financing.md says otherwise.
type Params struct {
	CallDeadline        int64     // ns from margin call to close-out if not cured (default 24 h: VA trades 24/7)
	CallReminder        int64     // ns between repeat margin-call notices (default 24 h)
	HardTrigger         fixed.Ppm // immediate close-out when debit ≥ this × lending value (default 130%)
	PriceProtection     fixed.Ppm // close-out sells no lower than index × (1 − this) (default 5%)
	CloseOutBuffer      fixed.Ppm // close-out also covers this × debit beyond the shortfall (default 5%)
	ClientGroupLimit    fixed.Ppm // debit of a client or group ≤ this × capital (default 20%)
	ClientGroupWarn     fixed.Ppm // warning event above this × capital (default 15%)
	FirmLimit           fixed.Ppm // total debit ≤ this × capital (default 5×)
	FirmWarn            fixed.Ppm // warning event at this × capital (default 4×)
	RequireSecuritiesVA bool      // VA financing needs securities collateral (default on)
	PriceMaxAge         int64     // ns; an older price blocks advances and withdrawals (default 5 min; 0 = off)
	DayOffset           int64     // ns added to UTC to find the accrual day boundary (default +8 h, HKT)
}

// DefaultParams returns the defaults documented in docs/margin-financing.md.
func DefaultParams() Params {
	return Params{
		CallDeadline:        24 * nanosPerHour,
		CallReminder:        24 * nanosPerHour,
		HardTrigger:         1_300_000,
		PriceProtection:     50_000,
		CloseOutBuffer:      50_000,
		ClientGroupLimit:    200_000,
		ClientGroupWarn:     150_000,
		FirmLimit:           5_000_000,
		FirmWarn:            4_000_000,
		RequireSecuritiesVA: true,
		PriceMaxAge:         5 * 60 * 1_000_000_000,
		DayOffset:           8 * nanosPerHour,
	}
}

func (p *Params) valid() bool {
	return p.CallDeadline > 0 && p.CallReminder > 0 &&
		p.HardTrigger >= fixed.PpmOne && p.HardTrigger <= 10*fixed.PpmOne &&
		p.PriceProtection >= 0 && p.PriceProtection < MinVAHaircut &&
		p.CloseOutBuffer >= 0 && p.CloseOutBuffer <= fixed.PpmOne &&
		p.ClientGroupWarn > 0 && p.ClientGroupWarn <= p.ClientGroupLimit && p.ClientGroupLimit <= fixed.PpmOne &&
		p.FirmWarn > 0 && p.FirmWarn <= p.FirmLimit && p.FirmLimit <= 20*fixed.PpmOne &&
		p.PriceMaxAge >= 0 &&
		p.DayOffset > -nanosPerDay && p.DayOffset < nanosPerDay
}

// Config creates a Book.
type Config struct {
	Base         string // base currency code, default "HKD"
	BaseDecimals int    // default 6 (micro-HKD, like the project's micro-USD)
	Params       Params
}

// Book is the margin-financing book.
type Book struct {
	params  Params
	assets  []Asset
	byCode  map[string]AssetID
	coll    []Collateral
	prices  []price
	terms   []InterestTerms
	clients map[ClientID]*Client
	order   []ClientID // sorted ascending; the only way clients are iterated

	capital     fixed.Amount // firm capital (shareholders' funds), base minor units
	firmWarned  bool
	seq         uint64
	lastTime    int64
	day         int64 // last accrual day index already closed up to (exclusive), or noDay
	ledger      map[ledgerKey]fixed.Amount
	postings    uint64
	interestAll []fixed.Amount // per currency: all interest ever posted (mirror of the income account)
	violations  uint64         // advances/withdrawals seen while a call was open (must stay 0)
}

const noDay = int64(-1 << 62)

// New returns an empty book holding only the base currency.
func New(cfg Config) *Book {
	if cfg.Base == "" {
		cfg.Base = "HKD"
		cfg.BaseDecimals = 6
	}
	if cfg.Params == (Params{}) {
		cfg.Params = DefaultParams()
	}
	if !cfg.Params.valid() || cfg.BaseDecimals < 0 || cfg.BaseDecimals > 12 || !validCode(cfg.Base) {
		panic("lending: invalid config")
	}
	b := &Book{
		params:  cfg.Params,
		byCode:  map[string]AssetID{},
		clients: map[ClientID]*Client{},
		ledger:  map[ledgerKey]fixed.Amount{},
		day:     noDay,
	}
	b.addAsset(Asset{Code: cfg.Base, Kind: Cash, Decimals: cfg.BaseDecimals, Quote: 0, Lot: 1})
	// The base currency is worth exactly one base unit per unit.
	b.prices[0] = price{Value: fixed.Pow10(cfg.BaseDecimals), Set: true}
	return b
}

// Params returns the current parameters.
func (b *Book) Params() Params { return b.params }

// BaseAsset is the id of the base currency (always 0).
const BaseAsset AssetID = 0

// Capital returns the firm capital in base minor units.
func (b *Book) Capital() fixed.Amount { return b.capital }

// Outcome is what every operation returns.
type Outcome struct {
	Reason   Reason
	Events   []Event
	Postings []Posting
}

// OK reports whether the operation was applied.
func (o *Outcome) OK() bool { return o.Reason == ReasonOK }

func reject(r Reason) Outcome { return Outcome{Reason: r} }

// clock checks engine time: it never goes back, and Tick must have closed
// every elapsed day before a command runs at that time. Either failure is an
// engine bug.
func (b *Book) clock(now int64) {
	if now < b.lastTime {
		panic("lending: engine time went backwards")
	}
	switch d := b.dayIndex(now); {
	case b.day == noDay:
		b.day = d // the first command starts the accrual calendar
	case d != b.day:
		panic("lending: Tick(now) was not called before a command in a new day")
	}
	b.lastTime = now
}

// SetParams replaces the parameters (the engine applies governance
// approval before calling it). Calls are re-evaluated at once.
func (b *Book) SetParams(now int64, p Params) Outcome {
	b.clock(now)
	if !p.valid() || (b.day != noDay && p.DayOffset != b.params.DayOffset) {
		// The day boundary cannot move once accrual has started: a day would
		// be charged twice or skipped.
		return reject(ReasonBadParams)
	}
	b.params = p
	var out Outcome
	b.emit(&out, Event{Kind: EvParamsSet, Time: now})
	b.evaluateAll(&out, now)
	return out
}

// SetCapital sets the firm's capital (shareholders' funds / liquid capital),
// in base minor units, against which the client/group and firm limits run.
func (b *Book) SetCapital(now int64, capital fixed.Amount) Outcome {
	b.clock(now)
	if capital <= 0 || capital > MaxAmount {
		return reject(ReasonBadAmount)
	}
	b.capital = capital
	var out Outcome
	b.emit(&out, Event{Kind: EvCapitalSet, Time: now, Base: capital})
	b.checkFirmWarning(&out, now)
	return out
}

func (b *Book) emit(out *Outcome, e Event) {
	b.seq++
	e.Seq = b.seq
	out.Events = append(out.Events, e)
}
