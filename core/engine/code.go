package engine

import "github.com/sampan-hk/sampan/core/book"

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
	CodeNotProfessionalInvestor Code = 400
	CodePIClassificationExpired Code = 401
	CodeNoDerivativesKnowledge  Code = 402
	CodeInvalidClassification   Code = 403

	// 5xx: order book, one for each book.Reason that can reject or end an
	// order (500 + the book's reason number).
	codeBookBase Code = 500
)

// FromBook maps a book reason into the 5xx block.
func FromBook(r book.Reason) Code { return codeBookBase + Code(r) }

var codeNames = map[Code]string{
	OK:                          "ok",
	CodeUnknownCommand:          "unknown_command",
	CodeUnknownClient:           "unknown_client",
	CodeUnknownMarket:           "unknown_market",
	CodeIdempotencyConflict:     "idempotency_key_reused",
	CodeTooManyClients:          "too_many_clients",
	CodeInvalidAmount:           "invalid_amount",
	CodeInvalidAccountKind:      "invalid_account_kind",
	CodeInvalidField:            "invalid_field",
	CodeInsufficientBalance:     "insufficient_balance",
	CodeAccountLiquidatable:     "account_liquidatable",
	CodeInsufficientMargin:      "insufficient_margin",
	CodeReduceOnlyWouldIncrease: "reduce_only_would_increase",
	CodePositionLimitExceeded:   "position_limit_exceeded",
	CodeLeverageOutOfRange:      "leverage_out_of_range",
	CodeMarkNotSet:              "mark_not_set",
	CodeInvalidMark:             "invalid_mark",
	CodeMarketReduceOnly:        "market_reduce_only",
	CodeUnknownSource:           "unknown_price_source",
	CodeNotProfessionalInvestor: "not_professional_investor",
	CodePIClassificationExpired: "pi_classification_expired",
	CodeNoDerivativesKnowledge:  "no_derivatives_knowledge",
	CodeInvalidClassification:   "invalid_classification",
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
