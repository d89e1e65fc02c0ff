package binance

import (
	"encoding/json"
	"net/http"
	"strconv"

	"github.com/sampan-hk/sampan/core/book"
	"github.com/sampan-hk/sampan/core/engine"
	"github.com/sampan-hk/sampan/gateway"
)

// Error is Binance's error body, {"code": -1121, "msg": "Invalid symbol."}.
// Every error this package answers is one of these, never plain text.
type Error struct {
	Status int    `json:"-"`
	Code   int    `json:"code"`
	Msg    string `json:"msg"`
}

func (e *Error) Error() string { return strconv.Itoa(e.Code) + ": " + e.Msg }

func errf(status, code int, msg string) *Error { return &Error{Status: status, Code: code, Msg: msg} }

// Binance error codes used here, with Binance's own messages where Binance
// has a fixed one (docs/binance-compat.md lists them).
const (
	CodeUnknown            = -1000 // UNKNOWN
	CodeTooManyRequests    = -1003
	CodeTimeout            = -1007
	CodeUnsupportedOp      = -1020
	CodeTimestamp          = -1021
	CodeSignature          = -1022
	CodeIllegalChars       = -1100
	CodeDuplicateParam     = -1101
	CodeMandatoryParam     = -1102
	CodeUnknownParam       = -1104
	CodeParamEmpty         = -1105
	CodeNotRequired        = -1106
	CodePrecision          = -1111
	CodeBadTIF             = -1115
	CodeBadType            = -1116
	CodeBadSide            = -1117
	CodeBadInterval        = -1120
	CodeBadSymbol          = -1121
	CodeInvalidParam       = -1130
	CodeBadRecvWindow      = -1131
	CodeFilterFailure      = -1013
	CodeUnsupportedCombo   = -1014
	CodeNewOrderRejected   = -2010
	CodeCancelRejected     = -2011
	CodeNoSuchOrder        = -2013
	CodeKeyFormat          = -2014
	CodeRejectedMBXKey     = -2015
	CodeMarginInsufficient = -2019
	CodeMaxOpenOrders      = -2025
	CodeReduceOnlyRejected = -2022
	CodeMaxPosition        = -2027
	CodePriceLow           = -4001
	CodePriceHigh          = -4002
	CodeQtyLow             = -4003
	CodeQtyHigh            = -4005
	CodeTickSize           = -4014
	CodeStepSize           = -4023
	CodeLeverage           = -4028
	CodeNoNeedMarginType   = -4046
	CodePositionSide       = -4061
	CodeDuplicateClientID  = -4116
	CodeFOKRejected        = -5021
	CodePostOnlyRejected   = -5022
)

var (
	errSymbol    = errf(400, CodeBadSymbol, "Invalid symbol.")
	errSignature = errf(400, CodeSignature, "Signature for this request is not valid.")
	errKeyFormat = errf(401, CodeKeyFormat, "API-key format invalid.")
	errKey       = errf(401, CodeRejectedMBXKey, "Invalid API-key, IP, or permissions for action.")
	errNoOrder   = errf(400, CodeNoSuchOrder, "Order does not exist.")
	errCancel    = errf(400, CodeCancelRejected, "Unknown order sent.")
	errTimeout   = errf(503, CodeTimeout, "Timeout waiting for response from backend server. Send status unknown; execution status unknown.")
)

func mandatory(p string) *Error {
	return errf(400, CodeMandatoryParam, "Mandatory parameter '"+p+"' was not sent, was empty/null, or malformed.")
}

func invalidParam(p string) *Error {
	return errf(400, CodeInvalidParam, "Data sent for parameter '"+p+"' is not valid.")
}

// engineErrors maps engine rejections to Binance codes. Sampan-only
// refusals (eligibility, governance, market state) use -2010
// NEW_ORDER_REJECTED and keep Sampan's plain-language message, so a bot
// treats them as an order rejection and a human reading the log learns why.
var engineErrors = map[engine.Code]*Error{
	engine.CodeInsufficientMargin:                  errf(400, CodeMarginInsufficient, "Margin is insufficient."),
	engine.CodeInsufficientBalance:                 errf(400, CodeMarginInsufficient, "Margin is insufficient."),
	engine.CodeReduceOnlyWouldIncrease:             errf(400, CodeReduceOnlyRejected, "ReduceOnly Order is rejected."),
	engine.CodePositionLimitExceeded:               errf(400, CodeMaxPosition, "Exceeded the maximum allowable position at current leverage."),
	engine.CodeUnknownMarket:                       errSymbol,
	engine.CodeUnknownClient:                       errKey,
	engine.CodeIdempotencyConflict:                 errf(400, CodeDuplicateClientID, "ClientOrderId is duplicated."),
	engine.FromBook(book.RejectDuplicateClientID):  errf(400, CodeDuplicateClientID, "ClientOrderId is duplicated."),
	engine.FromBook(book.RejectPostOnlyWouldCross): errf(400, CodePostOnlyRejected, "Due to the order could not be executed as maker, the Post Only order will be rejected."),
	engine.FromBook(book.RejectTooManyOrders):      errf(400, CodeMaxOpenOrders, "Reach max open order limit."),
	engine.CodeInvalidQty:                          errf(400, CodeQtyLow, "Quantity less than or equal to zero."),
	engine.CodeQtyTooLarge:                         errf(400, CodeQtyHigh, "Quantity greater than max quantity."),
	engine.CodeInvalidPrice:                        errf(400, CodePriceLow, "Price less than or equal to zero."),
	engine.CodePriceOutOfBand:                      errf(400, CodeFilterFailure, "Filter failure: PERCENT_PRICE"),
	engine.CodeInvalidOrder:                        errf(400, CodeUnsupportedCombo, "Unsupported order combination."),
	engine.CodeUnknownOrder:                        errCancel,
	engine.CodeNotProfessionalInvestor:             errf(400, CodeNewOrderRejected, "Perpetual contracts are offered to professional investors only; your account is classified as retail."),
	engine.CodePIClassificationExpired:             errf(400, CodeNewOrderRejected, "Your professional-investor classification has expired; contact us to renew it before opening or increasing positions."),
	engine.CodeNoDerivativesKnowledge:              errf(400, CodeNewOrderRejected, "A derivatives-knowledge assessment is required before trading perpetual contracts."),
	engine.CodeMarkNotSet:                          errf(400, CodeNewOrderRejected, "The market has no mark price yet and is not open for trading."),
	engine.CodeMarketReduceOnly:                    errf(400, CodeNewOrderRejected, "The market is reduce-only while its index has too few fresh, agreeing sources; only orders that reduce a position are accepted."),
	engine.CodeNoPriceProtect:                      errf(400, CodeNewOrderRejected, "A market order needs a worst price or a mark-price band."),
	engine.FromBook(book.RejectTooManyLevels):      errf(400, CodeNewOrderRejected, "The book has reached its price-level limit."),
	engine.FromBook(book.RejectBookFull):           errf(400, CodeNewOrderRejected, "The book is full."),
}

// engineError maps a rejection; lev is the requested leverage for -4028.
func engineError(c engine.Code, lev int64) *Error {
	if c == engine.CodeLeverageOutOfRange {
		return errf(400, CodeLeverage, "Leverage "+strconv.FormatInt(lev, 10)+" is not valid")
	}
	if e, ok := engineErrors[c]; ok {
		return e
	}
	return errf(400, CodeNewOrderRejected, "Order rejected: "+c.String()+".")
}

// writeJSON writes v with status.
func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func writeError(w http.ResponseWriter, e *Error) {
	gateway.RecordError(w, "binance", strconv.Itoa(e.Code))
	if e.Status == http.StatusTooManyRequests {
		w.Header().Set("Retry-After", "1")
	}
	writeJSON(w, e.Status, e)
}
