package gateway

import (
	"net/http"

	"github.com/sampan-hk/sampan/core/book"

	"github.com/sampan-hk/sampan/core/engine"
	"github.com/sampan-hk/sampan/core/governance"
	"github.com/sampan-hk/sampan/core/lending"
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
	// Margin financing, the engine's own (950+).
	engine.CodeFinancingDisabled:    {404, "margin financing is not enabled on this exchange"},
	engine.CodeSpotCashRequired:     {422, engine.CodeSpotCashRequired.Message()},
	engine.CodeSpotAmendUnsupported: {422, engine.CodeSpotAmendUnsupported.Message()},
	engine.CodePriceFromIndex:       {409, engine.CodePriceFromIndex.Message()},
	engine.CodeReservedForOrders:    {409, engine.CodeReservedForOrders.Message()},
	engine.CodeNoSaleInstruction:    {409, engine.CodeNoSaleInstruction.Message()},
}

// finAnswers are the lending book's refusals (900 + reason): 404 for a
// missing asset or client, 409 for a state the client or operator can
// resolve (a call open, a duplicate), 422 for what the account's collateral,
// credit or the firm's limits do not allow now, 400 for a malformed value.
var finAnswers = map[lending.Reason]engineAnswer{
	lending.ReasonUnknownAsset:              {404, "No such asset; see GET /v1/admin/financing/collateral for the registry."},
	lending.ReasonDuplicateAsset:            {409, "An asset with this code is already registered."},
	lending.ReasonBadAsset:                  {400, "Invalid asset definition: code [A-Z0-9.-] up to 16 bytes, a registered cash quote currency, a positive lot."},
	lending.ReasonVANotEligible:             {422, "Only BTC and ETH are accepted as virtual-asset collateral (SFC circular 26EC5); this virtual asset cannot be deposited, bought or made eligible."},
	lending.ReasonHaircutBelowFloor:         {422, "A BTC or ETH haircut can never be set below 60%."},
	lending.ReasonBadHaircut:                {400, "A haircut must lie between 0 and 100%."},
	lending.ReasonBadConcentration:          {400, "A concentration limit must lie in (0, 100%]."},
	lending.ReasonUnknownClient:             {404, "No margin-financing account for this client."},
	lending.ReasonDuplicateClient:           {409, "This client already has a margin-financing account."},
	lending.ReasonBadAmount:                 {400, "The quantity must be greater than zero and within range."},
	lending.ReasonInsufficientHolding:       {422, "The account does not hold that much of this asset."},
	lending.ReasonNoAssessment:              {422, "Borrowing needs an approved credit assessment on record; none has been made for this client."},
	lending.ReasonAssessmentNotApproved:     {422, "The client's credit assessment was not approved, so nothing can be borrowed."},
	lending.ReasonAssessmentExpired:         {422, "The client's credit assessment is past its review date; a risk officer must review it before new borrowing."},
	lending.ReasonBadAssessment:             {400, "Invalid credit assessment (an approved assessment needs a positive credit limit, an approver and a future review date)."},
	lending.ReasonNeedsSecuritiesCollateral: {422, "Financing BTC or ETH needs securities collateral with lending value in the account (SFC circular 26EC5)."},
	lending.ReasonCreditLimit:               {422, "The loan would exceed the client's credit limit."},
	lending.ReasonLendingValue:              {422, "The loan would exceed the lending value of the collateral (market value less haircuts)."},
	lending.ReasonMarginCallOpen:            {409, "A margin call is open: new borrowing, purchases and withdrawals are blocked until it is cured by a deposit or repayment."},
	lending.ReasonClientGroupLimit:          {422, "The loan would take the client's group past its share of the firm's capital."},
	lending.ReasonFirmLimit:                 {422, "The loan would take the firm's total margin loans past its multiple of capital."},
	lending.ReasonConcentration:             {422, "One asset would supply more of the account's lending value than its concentration limit allows."},
	lending.ReasonNoCapital:                 {422, "The firm's capital is not set, so nothing can be lent."},
	lending.ReasonNoPrice:                   {422, "An asset or loan currency in the account has no price yet, so nothing can be lent against it."},
	lending.ReasonStalePrice:                {422, "A price the check needs is older than the allowed age (5 minutes by default); borrowing and withdrawals wait for fresh prices."},
	lending.ReasonRepayExceedsLoan:          {422, "The repayment exceeds the posted loan in this currency."},
	lending.ReasonNotCash:                   {400, "This must be a cash currency (e.g. USD or HKD)."},
	lending.ReasonBadPrice:                  {400, "The price must be positive and within range."},
	lending.ReasonBadParams:                 {400, "Invalid margin-financing parameters."},
	lending.ReasonNoCloseOut:                {409, "This client is not being closed out."},
	lending.ReasonBaseCurrency:              {400, "The base currency (HKD) has a fixed price of 1."},
}

// engineError turns a rejection code into an API error.
func engineError(c engine.Code) *Error {
	if c == engine.CodeIdempotencyConflict {
		return Errf(http.StatusConflict, CodeIdempotencyConflict, "",
			"this idempotency key (client_order_id or idempotency_key) was already used with a different payload")
	}
	a, ok := engineAnswers[c]
	if !ok {
		a, ok = govAnswer(c)
	}
	if !ok {
		a, ok = finAnswer(c)
	}
	if !ok {
		a = engineAnswer{422, "rejected"}
	}
	return &Error{Status: a.status, Code: Code(c.String()), Message: a.msg}
}

// govAnswers are the governance refusals (the store's reasons, 600 + reason)
// with their statuses: 403 for who may act (maker-checker included), 404 for
// a missing proposal or version, 409 for a state conflict, 422 for a value or
// time the rules refuse, 400 for a malformed value.
var govAnswers = map[governance.Reason]engineAnswer{
	governance.RejectUnknownOperator:          {403, "This key's operator id is not a governance operator of the engine; ask an admin to add it."},
	governance.RejectOperatorDisabled:         {403, "This operator has been disabled."},
	governance.RejectPermissionDenied:         {403, "Your role does not have this permission for this parameter set."},
	governance.RejectSelfApproval:             {403, "Maker-checker: you proposed this change, so you cannot approve or reject it. A second authorised officer must decide it."},
	governance.RejectSelfReview:               {403, "You applied this emergency change, so you cannot review it. A second risk officer must review it."},
	governance.RejectNotProposer:              {403, "Only the proposer may withdraw a proposal."},
	governance.RejectCannotDisableSelf:        {403, "An admin cannot disable itself."},
	governance.RejectUnknownProposal:          {404, "No such proposal."},
	governance.RejectUnknownVersion:           {404, "No such version of this parameter set."},
	governance.RejectProposalNotPending:       {409, "This proposal is no longer pending: it was already approved, rejected, withdrawn, lapsed or superseded."},
	governance.RejectEffectiveTimeConflict:    {409, "Another approved change of this set takes effect at the same instant; choose another effective time."},
	governance.RejectAlreadyReviewed:          {409, "This emergency change has already been reviewed."},
	governance.RejectTooManyOpenProposals:     {409, "Too many open proposals; decide or withdraw some first."},
	governance.RejectOperatorExists:           {409, "This operator id is already used (ids are never reused)."},
	governance.RejectEffectiveTimeNotInFuture: {422, "The effective time must be in the future (and approval must happen before it)."},
	governance.RejectUnchanged:                {422, "The value equals the one in force: nothing to change."},
	governance.RejectNotATightening:           {422, "An emergency change must be strictly tighter on every field it touches; use a proposal for anything else."},
	governance.RejectNoActiveVersion:          {422, "The set has no value in force to tighten."},
	governance.RejectEmergencyNotAllowed:      {422, "This parameter set has no emergency path; propose the change through maker-checker."},
	governance.RejectNotAnEmergency:           {422, "This version was not an emergency change; there is nothing to review."},
	governance.RejectFieldOutOfRange:          {422, "A parameter is outside the bounds its schema allows."},
	governance.RejectValueRuleViolated:        {422, "The value breaks a rule of its schema (e.g. bracket consistency, or the 60% haircut floor on BTC and ETH)."},
	governance.RejectNoteRequired:             {400, "A note saying why is required."},
	governance.RejectNoteTooLong:              {400, "The note is too long (at most 280 bytes)."},
	governance.RejectInvalidSetID:             {400, "Malformed parameter set id (e.g. \"market:BTC-USD-PERP\", \"collateral:BTC\", \"firm\", \"eligibility\")."},
	governance.RejectUnknownSetKind:           {404, "No such kind of parameter set."},
	governance.RejectInvalidValue:             {400, "Malformed parameter value."},
	governance.RejectUnknownField:             {400, "The value names a field the schema does not define."},
	governance.RejectMissingField:             {400, "The value lacks a field the schema requires."},
}

// govAnswer answers the governance and parameter codes.
func govAnswer(c engine.Code) (engineAnswer, bool) {
	switch c {
	case engine.CodeOperatorRequired:
		return engineAnswer{403, c.Message()}, true
	case engine.CodeParamNotGoverned, engine.CodeParamUnknownSet, engine.CodeParamInvalid:
		return engineAnswer{422, c.Message()}, true
	}
	for r, a := range govAnswers {
		if engine.FromGovernance(r) == c {
			return a, true
		}
	}
	return engineAnswer{}, false
}

// finAnswer answers the lending book's codes.
func finAnswer(c engine.Code) (engineAnswer, bool) {
	for r, a := range finAnswers {
		if engine.FromLending(r) == c {
			return a, true
		}
	}
	return engineAnswer{}, false
}
