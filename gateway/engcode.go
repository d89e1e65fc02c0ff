package gateway

import (
	"net/http"

	"github.com/sampan-hk/sampan/core/book"

	"github.com/sampan-hk/sampan/core/engine"
)

// engineAnswer is how one engine rejection is reported: the HTTP status and
// a plain-language message. The JSON code is the engine's stable snake_case
// name (gateway codes are UPPER_CASE, engine codes lower_case, so a client
// can tell where a refusal came from), except the idempotency conflict, which
// the gateway reports as IDEMPOTENCY_CONFLICT like its own checks.
type engineAnswer struct {
	status int
	msg    string
}

// Statuses: 400 for a request that is wrong in itself, 403 for an
// eligibility gate, 404 for a missing target, 409 for a conflict with
// current state the client can resolve, 422 for a well-formed request the
// account's or market's current state does not allow.
var engineAnswers = map[engine.Code]engineAnswer{
	engine.CodeUnknownCommand:                      {400, "unknown command"},
	engine.CodeUnknownClient:                       {404, "no such client account"},
	engine.CodeUnknownMarket:                       {404, "no such market"},
	engine.CodeTooManyClients:                      {422, "the venue has reached its client limit"},
	engine.CodeInvalidAmount:                       {400, "the amount must be greater than zero and within range"},
	engine.CodeInvalidAccountKind:                  {400, "invalid account kind"},
	engine.CodeInvalidField:                        {400, "a field is out of range"},
	engine.CodeInsufficientBalance:                 {422, "insufficient balance"},
	engine.CodeAccountLiquidatable:                 {422, "the account is below maintenance margin or being liquidated; withdrawals are suspended"},
	engine.CodeInsufficientMargin:                  {422, "insufficient margin: equity would not cover the initial margin of positions and open orders"},
	engine.CodeReduceOnlyWouldIncrease:             {422, "a reduce-only order may not increase the position"},
	engine.CodePositionLimitExceeded:               {422, "the position would exceed the market's largest margin bracket"},
	engine.CodeLeverageOutOfRange:                  {400, "leverage is outside the market's allowed range"},
	engine.CodeMarkNotSet:                          {409, "the market has no mark price yet and is not open for trading"},
	engine.CodeInvalidMark:                         {400, "the mark price must be positive and within the market's maximum"},
	engine.CodeMarketReduceOnly:                    {422, "the market is reduce-only while its index has too few fresh, agreeing sources; only orders that reduce a position are accepted"},
	engine.CodeUnknownSource:                       {400, "unknown price source"},
	engine.CodeNotProfessionalInvestor:             {403, "Perpetual contracts are offered to professional investors only; your account is classified as retail."},
	engine.CodePIClassificationExpired:             {403, "Your professional-investor classification has expired; contact us to renew it before opening or increasing positions."},
	engine.CodeNoDerivativesKnowledge:              {403, "A derivatives-knowledge assessment is required before trading perpetual contracts."},
	engine.CodeInvalidClassification:               {400, "unknown investor classification"},
	engine.CodeInvalidQty:                          {400, "the quantity must be greater than zero"},
	engine.CodeQtyTooLarge:                         {400, "the quantity exceeds the market's maximum order size"},
	engine.CodeInvalidPrice:                        {400, "the price must be positive and within the market's maximum"},
	engine.CodePriceOutOfBand:                      {422, "the price is outside the allowed band around the mark price"},
	engine.CodeInvalidOrder:                        {400, "contradictory order options (e.g. post-only with IOC/FOK, or a FOK market order)"},
	engine.CodeNoPriceProtect:                      {422, "a market order needs a worst price or a mark-price band"},
	engine.CodeUnknownOrder:                        {404, "no such open order"},
	engine.FromBook(book.RejectPostOnlyWouldCross): {422, "a post-only order would have taken liquidity"},
	engine.FromBook(book.RejectTooManyOrders):      {422, "the account has reached its open-order limit in this market"},
	engine.FromBook(book.RejectTooManyLevels):      {422, "the book has reached its price-level limit"},
	engine.FromBook(book.RejectBookFull):           {422, "the book is full"},
	engine.FromBook(book.RejectDuplicateClientID):  {409, "an open order already uses this client_order_id"},
}

// engineError turns a rejection code into an API error.
func engineError(c engine.Code) *Error {
	if c == engine.CodeIdempotencyConflict {
		return Errf(http.StatusConflict, CodeIdempotencyConflict, "",
			"this idempotency key (client_order_id or idempotency_key) was already used with a different payload")
	}
	a, ok := engineAnswers[c]
	if !ok {
		a = engineAnswer{422, "rejected"}
	}
	return &Error{Status: a.status, Code: Code(c.String()), Message: a.msg}
}
