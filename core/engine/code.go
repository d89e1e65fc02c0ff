package engine

import (
	"strings"

	"github.com/sampan-hk/sampan/core/book"
	"github.com/sampan-hk/sampan/core/eligibility"
	"github.com/sampan-hk/sampan/core/governance"
	"github.com/sampan-hk/sampan/core/lending"
)

// Code is the outcome of a command. The numbers are stable (they are in the
// journal and on the wire) and grouped by subsystem in blocks of 100; a new
// code takes the next free number in its block and is never renumbered.
type Code uint16

const (
	OK Code = 0

	// 1xx: command shape and lookups.
	CodeUnknownCommand      Code = 100
	CodeUnknownClient       Code = 101
	CodeUnknownMarket       Code = 102
	CodeIdempotencyConflict Code = 103 // same key, different payload
	CodeTooManyClients      Code = 104
	CodeInvalidAmount       Code = 105
	CodeInvalidAccountKind  Code = 106
	CodeInvalidField        Code = 107 // an enum or flag out of range, a string too long

	// 2xx: ledger.
	CodeInsufficientBalance Code = 200
	CodeAccountLiquidatable Code = 201 // equity < MM or under liquidation: no withdrawals

	// 3xx: risk.
	CodeInsufficientMargin      Code = 300
	CodeReduceOnlyWouldIncrease Code = 301
	CodePositionLimitExceeded   Code = 302 // worst case beyond the last bracket
	CodeLeverageOutOfRange      Code = 303
	CodeMarkNotSet              Code = 304
	CodeInvalidMark             Code = 305
	CodeMarketReduceOnly        Code = 306 // the market's index is unhealthy: only reducing orders
	CodeUnknownSource           Code = 307 // a quote from a venue that is not a constituent

	// 4xx: eligibility.
	CodeNotProfessionalInvestor   Code = 400
	CodePIClassificationExpired   Code = 401
	CodeNoDerivativesKnowledge    Code = 402
	CodeInvalidClassification     Code = 403
	CodeRiskDisclosureNotAccepted Code = 404 // the current risk disclosure has not been accepted
	CodeOperatorRequired          Code = 405 // a governance command without an operator id

	// 6xx: governance rejections, 600 + governance.Reason (the store's
	// stable numbering; names are the reason's names).
	codeGovBase Code = 600

	// 7xx: eligibility command rejections, 700 + eligibility.Reason.
	codeEligBase Code = 700

	// 8xx: a parameter value the engine cannot apply to a live market.
	CodeParamNotGoverned Code = 800 // the change touches a field the engine does not govern yet (tick, lot, funding interval, OI cap)
	CodeParamUnknownSet  Code = 801 // a market set names no market of this engine
	CodeParamInvalid     Code = 802 // the value breaks an engine rule the schema does not check (fees, brackets, liquidation params)

	// 5xx: order book, one for each book.Reason that can reject or end an
	// order (500 + the book's reason number).
	codeBookBase Code = 500

	// 9xx: margin financing. 900–949 are lending rejections, 900 +
	// lending.Reason (its stable numbering and names); 950+ the engine's.
	codeFinBase              Code = 900
	CodeFinancingDisabled    Code = 950 // the engine runs without a financing book
	CodeSpotCashRequired     Code = 951 // a resting spot buy must be paid from unreserved cash
	CodeSpotAmendUnsupported Code = 952 // spot orders are cancelled and replaced, not amended
	CodePriceFromIndex       Code = 953 // BTC/ETH are priced by their live index
	CodeReservedForOrders    Code = 954 // the amount is reserved by resting spot orders
	CodeNoSaleInstruction    Code = 955 // no pending securities sale instruction for this client and asset
)

// FromLending maps a lending rejection into the 9xx block.
func FromLending(r lending.Reason) Code { return codeFinBase + Code(r) }

// FromGovernance maps a governance store rejection into the 6xx block.
func FromGovernance(r governance.Reason) Code { return codeGovBase + Code(r) }

// FromEligibility maps an eligibility rejection into the 7xx block, except
// the trading-gate reasons, which have their own 4xx codes.
func FromEligibility(r eligibility.Reason) Code {
	switch r {
	case eligibility.NotProfessionalInvestor:
		return CodeNotProfessionalInvestor
	case eligibility.PIClassificationExpired:
		return CodePIClassificationExpired
	case eligibility.NoDerivativesKnowledge:
		return CodeNoDerivativesKnowledge
	case eligibility.RiskDisclosureNotAccepted:
		return CodeRiskDisclosureNotAccepted
	}
	return codeEligBase + Code(r)
}

// FromBook maps a book reason into the 5xx block.
func FromBook(r book.Reason) Code { return codeBookBase + Code(r) }

var codeNames = map[Code]string{
	OK:                            "ok",
	CodeUnknownCommand:            "unknown_command",
	CodeUnknownClient:             "unknown_client",
	CodeUnknownMarket:             "unknown_market",
	CodeIdempotencyConflict:       "idempotency_key_reused",
	CodeTooManyClients:            "too_many_clients",
	CodeInvalidAmount:             "invalid_amount",
	CodeInvalidAccountKind:        "invalid_account_kind",
	CodeInvalidField:              "invalid_field",
	CodeInsufficientBalance:       "insufficient_balance",
	CodeAccountLiquidatable:       "account_liquidatable",
	CodeInsufficientMargin:        "insufficient_margin",
	CodeReduceOnlyWouldIncrease:   "reduce_only_would_increase",
	CodePositionLimitExceeded:     "position_limit_exceeded",
	CodeLeverageOutOfRange:        "leverage_out_of_range",
	CodeMarkNotSet:                "mark_not_set",
	CodeInvalidMark:               "invalid_mark",
	CodeMarketReduceOnly:          "market_reduce_only",
	CodeUnknownSource:             "unknown_price_source",
	CodeNotProfessionalInvestor:   "not_professional_investor",
	CodePIClassificationExpired:   "pi_classification_expired",
	CodeNoDerivativesKnowledge:    "no_derivatives_knowledge",
	CodeInvalidClassification:     "invalid_classification",
	CodeRiskDisclosureNotAccepted: "risk_disclosure_not_accepted",
	CodeOperatorRequired:          "operator_required",
	CodeParamNotGoverned:          "parameter_not_governed",
	CodeParamUnknownSet:           "parameter_set_unknown_market",
	CodeParamInvalid:              "parameter_invalid_for_engine",
	CodeFinancingDisabled:         "financing_disabled",
	CodeSpotCashRequired:          "spot_resting_buy_needs_cash",
	CodeSpotAmendUnsupported:      "spot_amend_not_supported",
	CodePriceFromIndex:            "price_follows_index",
	CodeReservedForOrders:         "reserved_for_open_orders",
	CodeNoSaleInstruction:         "no_sale_instruction",
}

// codeMessages are plain-language explanations for the codes a client or
// operator is most likely to meet; Message falls back to the name.
var codeMessages = map[Code]string{
	CodeNotProfessionalInvestor:                          "Perpetual contracts are for professional investors only; this account is not classified as one. You may still reduce positions.",
	CodePIClassificationExpired:                          "Your professional-investor classification has expired (evidence is valid for 12 months). Renew it with new evidence; until then you may only reduce positions.",
	CodeNoDerivativesKnowledge:                           "No derivatives-knowledge assessment is on record for this account. You may still reduce positions.",
	CodeRiskDisclosureNotAccepted:                        "Please read and accept the current risk disclosure before opening or increasing a perpetual position.",
	CodeOperatorRequired:                                 "Governance actions must name the acting operator.",
	CodeParamNotGoverned:                                 "This field cannot be changed on a live market yet (tick size, lot size, funding interval and open-interest cap are fixed).",
	CodeParamUnknownSet:                                  "The parameter set names a market this exchange does not list.",
	CodeParamInvalid:                                     "The value would break a margin, fee or liquidation rule of the engine.",
	CodeSpotCashRequired:                                 "A resting spot buy must be paid in cash you hold and have not reserved; to buy on margin, send an IOC, FOK or market order.",
	CodeSpotAmendUnsupported:                             "Spot orders cannot be amended; cancel the order and place a new one.",
	CodePriceFromIndex:                                   "BTC and ETH collateral is valued at the live index, not at an operator price.",
	CodeReservedForOrders:                                "That amount is reserved by your resting spot orders; cancel them first.",
	CodeNoSaleInstruction:                                "There is no pending close-out sale instruction for this client and security.",
	FromLending(lending.ReasonNoAssessment):              "Borrowing needs an approved credit assessment on record.",
	FromLending(lending.ReasonVANotEligible):             "Only BTC and ETH are accepted as virtual-asset collateral.",
	FromLending(lending.ReasonHaircutBelowFloor):         "A BTC or ETH haircut can never be set below 60%.",
	FromLending(lending.ReasonMarginCallOpen):            "A margin call is open: new borrowing, purchases and withdrawals are blocked until it is cured.",
	FromLending(lending.ReasonLendingValue):              "The loan would exceed the lending value of your collateral.",
	FromLending(lending.ReasonNeedsSecuritiesCollateral): "Financing BTC or ETH needs securities collateral in the account.",
}

// Message is a plain-language sentence for the code.
func (c Code) Message() string {
	if m, ok := codeMessages[c]; ok {
		return m
	}
	return strings.ReplaceAll(c.String(), "_", " ")
}

// String is the code's stable snake_case name. Book codes reuse the book's
// reason names ("price_out_of_band", "post_only_would_cross", ...).
func (c Code) String() string {
	if c >= codeBookBase && c < codeBookBase+100 {
		return book.Reason(c - codeBookBase).String()
	}
	if s, ok := codeNames[c]; ok {
		return s
	}
	if c >= codeGovBase && c < codeGovBase+100 {
		return governance.Reason(c - codeGovBase).String()
	}
	if c >= codeEligBase && c < codeEligBase+100 {
		return eligibility.Reason(c - codeEligBase).String()
	}
	if c >= codeFinBase && c < codeFinBase+50 {
		return lending.Reason(c - codeFinBase).String()
	}
	return "unknown_code"
}

// Book-derived codes used by the engine's own pre-checks, named for clarity.
var (
	CodeInvalidQty       = FromBook(book.RejectInvalidQty)
	CodeQtyTooLarge      = FromBook(book.RejectQtyTooLarge)
	CodeInvalidPrice     = FromBook(book.RejectInvalidPrice)
	CodePriceOutOfBand   = FromBook(book.RejectPriceOutOfBand)
	CodeInvalidOrder     = FromBook(book.RejectInvalidOrder)
	CodeUnknownOrder     = FromBook(book.RejectUnknownOrder)
	CodeNoPriceProtect   = FromBook(book.RejectNoPriceProtection)
	CodeCancelledByOwner = FromBook(book.CancelByOwner)
	CodeCancelledEngine  = FromBook(book.CancelByEngine)
)
