package binance

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"sync"

	"github.com/sampan-hk/sampan/core/book"
	"github.com/sampan-hk/sampan/core/engine"
	"github.com/sampan-hk/sampan/core/fixed"
	"github.com/sampan-hk/sampan/gateway"
	"github.com/sampan-hk/sampan/marketdata"
)

// BatchMax is Binance's limit of orders per batchOrders request.
const BatchMax = 5

// orderMeta remembers what the read model does not keep about orders
// placed here — Binance's type and time-in-force — bounded FIFO. Orders
// placed through the native API, or forgotten, show as LIMIT/GTC.
type orderMeta struct {
	mu   sync.Mutex
	max  int
	m    map[metaKey]metaVal
	fifo []metaKey
}

type metaKey struct {
	client engine.ClientID
	market engine.MarketID
	id     book.OrderID
}

type metaVal struct{ typ, tif, stp string }

func newOrderMeta(max int) *orderMeta { return &orderMeta{max: max, m: map[metaKey]metaVal{}} }

func (o *orderMeta) put(k metaKey, v metaVal) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if _, ok := o.m[k]; !ok {
		if len(o.fifo) >= o.max {
			delete(o.m, o.fifo[0])
			o.fifo = o.fifo[1:]
		}
		o.fifo = append(o.fifo, k)
	}
	o.m[k] = v
}

func (o *orderMeta) get(k metaKey) metaVal {
	o.mu.Lock()
	defer o.mu.Unlock()
	if v, ok := o.m[k]; ok {
		return v
	}
	return metaVal{"LIMIT", "GTC", "NONE"}
}

var (
	sides = map[string]book.Side{"BUY": book.Buy, "SELL": book.Sell}
	stps  = map[string]book.STP{"NONE": book.STPNone, "EXPIRE_TAKER": book.STPExpireTaker, "EXPIRE_MAKER": book.STPExpireMaker, "EXPIRE_BOTH": book.STPExpireBoth}
	// Parameters of order types Sampan does not offer.
	unsupportedOrderParams = []string{"stopPrice", "closePosition", "activationPrice", "callbackRate", "workingType", "priceProtect", "priceMatch", "goodTillDate"}
)

// validClientOrderID is Binance's ^[.A-Z:/a-z0-9_-]{1,36}$.
func validClientOrderID(s string) bool {
	if len(s) == 0 || len(s) > 36 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte(".:/_-", c) >= 0) {
			return false
		}
	}
	return true
}

// canonical trims a decimal's trailing fraction zeros ("0.100" → "0.1",
// "5.0" → "5"), as Binance accepts them.
func canonical(s string) string {
	if i := strings.IndexByte(s, '.'); i >= 0 {
		s = strings.TrimRight(s, "0")
		s = strings.TrimSuffix(s, ".")
	}
	return s
}

// parseStep parses price or quantity with Binance's codes.
func parseStep(v, field string, step fixed.Step, parse func(string) (int64, error), low, high, stepCode int) (int64, *Error) {
	c := canonical(v)
	n, err := parse(c)
	switch {
	case err == nil:
		return n, nil
	case errors.Is(err, fixed.ErrOffStep):
		if i := strings.IndexByte(c, '.'); i >= 0 && len(c)-i-1 > step.Scale {
			return 0, errf(400, CodePrecision, "Precision is over the maximum defined for this asset.")
		}
		if stepCode == CodeTickSize {
			return 0, errf(400, CodeTickSize, "Price not increased by tick size.")
		}
		return 0, errf(400, CodeStepSize, "Quantity not increased by step size.")
	case errors.Is(err, fixed.ErrNotPositive):
		if low == CodeQtyLow {
			return 0, errf(400, CodeQtyLow, "Quantity less than or equal to zero.")
		}
		return 0, errf(400, CodePriceLow, "Price less than or equal to zero.")
	case errors.Is(err, fixed.ErrRange):
		if high == CodeQtyHigh {
			return 0, errf(400, CodeQtyHigh, "Quantity greater than max quantity.")
		}
		return 0, errf(400, CodePriceHigh, "Price greater than max price.")
	}
	return 0, errf(400, CodeIllegalChars, "Illegal characters found in parameter '"+field+"'; legal range is '^([0-9]{1,20})(\\.[0-9]{1,20})?$'.")
}

// orderRequest is one validated order: the engine command and what the
// answer needs.
type orderRequest struct {
	cmd  *engine.Command
	cid  string
	meta metaVal
}

// orderCommand validates an order completely before anything reaches the
// engine; it builds the same engine command as the native POST /v1/orders.
func (h *Handler) orderCommand(get func(string) (string, bool), client engine.ClientID) (*orderRequest, *Error) {
	val := func(k string) string { v, _ := get(k); return v }
	has := func(k string) bool { _, ok := get(k); return ok }
	for _, k := range unsupportedOrderParams {
		if has(k) {
			return nil, errf(400, CodeUnsupportedOp, "This operation is not supported: parameter '"+k+"' (stop, trailing and price-match orders are not offered).")
		}
	}
	m, e := h.market(val("symbol"))
	if e != nil {
		return nil, e
	}
	sp := &h.specs[m].Spec
	c := &engine.Command{Kind: engine.CmdPlaceOrder, Client: client, Market: m}
	if !has("side") {
		return nil, mandatory("side")
	}
	var ok bool
	if c.Side, ok = sides[val("side")]; !ok {
		return nil, errf(400, CodeBadSide, "Invalid side.")
	}
	if ps := val("positionSide"); has("positionSide") && ps != "BOTH" {
		return nil, errf(400, CodePositionSide, "Order's position side does not match user's setting.")
	}
	if !has("type") {
		return nil, mandatory("type")
	}
	meta := metaVal{typ: val("type"), stp: "NONE"}
	switch meta.typ {
	case "LIMIT":
		c.Type = book.Limit
		if !has("timeInForce") {
			return nil, mandatory("timeInForce")
		}
		if !has("price") {
			return nil, mandatory("price")
		}
	case "MARKET":
		c.Type = book.Market
		if has("price") {
			return nil, errf(400, CodeNotRequired, "Parameter 'price' sent when not required.")
		}
	case "STOP", "STOP_MARKET", "TAKE_PROFIT", "TAKE_PROFIT_MARKET", "TRAILING_STOP_MARKET":
		return nil, errf(400, CodeUnsupportedOp, "This operation is not supported: order type "+meta.typ+" is not offered; use LIMIT or MARKET.")
	default:
		return nil, errf(400, CodeBadType, "Invalid orderType.")
	}
	meta.tif = val("timeInForce")
	switch {
	case c.Type == book.Market:
		meta.tif = "GTC" // Binance reports GTC for market orders; they never rest
		c.TIF = book.IOC
	case meta.tif == "GTC":
		c.TIF = book.GTC
	case meta.tif == "IOC":
		c.TIF = book.IOC
	case meta.tif == "FOK":
		c.TIF = book.FOK
	case meta.tif == "GTX":
		c.TIF = book.GTC
		c.Flags |= engine.FlagPostOnly
	default:
		return nil, errf(400, CodeBadTIF, "Invalid timeInForce.")
	}
	if has("reduceOnly") {
		switch val("reduceOnly") {
		case "true", "TRUE", "True":
			c.Flags |= engine.FlagReduceOnly
		case "false", "FALSE", "False":
		default:
			return nil, invalidParam("reduceOnly")
		}
	}
	if has("newOrderRespType") && val("newOrderRespType") != "ACK" && val("newOrderRespType") != "RESULT" {
		return nil, invalidParam("newOrderRespType")
	}
	if has("selfTradePreventionMode") {
		if c.STP, ok = stps[val("selfTradePreventionMode")]; !ok {
			return nil, invalidParam("selfTradePreventionMode")
		}
		meta.stp = val("selfTradePreventionMode")
	}
	if !has("quantity") {
		return nil, mandatory("quantity")
	}
	q, e := parseStep(val("quantity"), "quantity", sp.Lot, func(s string) (int64, error) { v, err := sp.ParseQty(s); return int64(v), err },
		CodeQtyLow, CodeQtyHigh, CodeStepSize)
	if e != nil {
		return nil, e
	}
	c.Qty = fixed.Qty(q)
	if c.Type == book.Limit {
		pr, e := parseStep(val("price"), "price", sp.Tick, func(s string) (int64, error) { v, err := sp.ParsePrice(s); return int64(v), err },
			CodePriceLow, CodePriceHigh, CodeTickSize)
		if e != nil {
			return nil, e
		}
		c.Price = fixed.Price(pr)
	}
	cid := val("newClientOrderId")
	if has("newClientOrderId") {
		if !validClientOrderID(cid) {
			return nil, errf(400, CodeIllegalChars, "Illegal characters found in parameter 'newClientOrderId'; legal range is '^[\\.A-Z\\:/a-z0-9_-]{1,36}$'.")
		}
	} else {
		cid = autoClientOrderID()
	}
	// The text rides in the log next to its hash, so the read models name
	// the order from the log on every node (marketdata, names).
	c.Key, c.Ref = gateway.KeyOf(cid), cid
	return &orderRequest{cmd: c, cid: cid, meta: meta}, nil
}

// autoClientOrderID is the id given to an order sent without one (Binance
// always shows a clientOrderId). It is random, so such orders are not
// idempotent — exactly as on Binance.
func autoClientOrderID() string {
	const alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	var b [22]byte
	_, _ = rand.Read(b[:])
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return "sampan_" + string(b[:])
}

// place submits one validated order and returns its Binance view.
func (h *Handler) place(ctx context.Context, o *orderRequest) (map[string]any, *Error) {
	c := o.cmd
	res, e := h.submit(ctx, c)
	if e != nil {
		return nil, e
	}
	if res.Code != engine.OK {
		return nil, engineError(res.Code, 0)
	}
	h.meta.put(metaKey{c.Client, c.Market, res.Order}, o.meta)
	h.settle(ctx)
	v, ok := h.md.Order(c.Client, c.Market, res.Order)
	if !ok {
		sp := &h.specs[c.Market].Spec
		v = marketdata.OrderView{OrderID: strconv.FormatUint(uint64(res.Order), 10), ClientOrderID: o.cid, Symbol: h.specs[c.Market].Symbol,
			Side: c.Side.String(), Price: sp.FormatPrice(c.Price), Qty: sp.FormatQty(res.Qty), Filled: "0", Remaining: "0", Status: "unknown",
			PostOnly: c.Flags&engine.FlagPostOnly != 0, ReduceOnly: c.Flags&engine.FlagReduceOnly != 0}
	}
	// Binance rejects a FOK that cannot fill completely instead of
	// recording it.
	if o.meta.tif == "FOK" && v.Status == marketdata.StatusExpired && (v.Filled == "0" || v.Filled == "") {
		return nil, errf(400, CodeFOKRejected, "Due to the order could not be filled immediately, the FOK order has been rejected. The order will not be recorded in the order history.")
	}
	return h.orderJSON(c.Client, c.Market, v), nil
}

var statuses = map[string]string{marketdata.StatusOpen: "NEW", marketdata.StatusPartiallyFilled: "PARTIALLY_FILLED",
	marketdata.StatusFilled: "FILLED", marketdata.StatusCancelled: "CANCELED", marketdata.StatusExpired: "EXPIRED"}

// fillTotals sums a client's remembered fills of one order: executed
// quantity and quote, exact.
func (h *Handler) fillTotals(client engine.ClientID, m engine.MarketID, orderID string) (fixed.Qty, fixed.Amount) {
	sp := &h.specs[m].Spec
	var q fixed.Qty
	var cum fixed.Amount
	sym := h.specs[m].Symbol
	for _, f := range h.md.Fills(client, 0) {
		if f.OrderID != orderID || f.Symbol != sym {
			continue
		}
		fq, err1 := sp.ParseQty(f.Qty)
		fp, err2 := sp.ParsePrice(f.Price)
		if err1 == nil && err2 == nil {
			q += fq
			cum += sp.Notional(fq, fp)
		}
	}
	return q, cum
}

// avgPrice is cum / qty in price units with two more decimals than the
// tick, rounded down.
func avgPrice(sp *fixed.Spec, q fixed.Qty, cum fixed.Amount) string {
	if q == 0 {
		return "0"
	}
	v := fixed.MustMulDiv(int64(cum), 100, int64(q)*sp.NotionalPerLotTick(), fixed.Floor)
	return fixed.TrimDecimal(fixed.FormatDecimal(v*sp.Tick.Units, sp.Tick.Scale+2))
}

// orderJSON is Binance's order object.
func (h *Handler) orderJSON(client engine.ClientID, m engine.MarketID, v marketdata.OrderView) map[string]any {
	sp := &h.specs[m].Spec
	id, _ := strconv.ParseUint(v.OrderID, 10, 64)
	meta := h.meta.get(metaKey{client, m, book.OrderID(id)})
	if v.PostOnly {
		meta.tif = "GTX"
	}
	q, cum := h.fillTotals(client, m, v.OrderID)
	status, ok := statuses[v.Status]
	if !ok {
		status = "NEW"
	}
	price := v.Price
	if meta.typ == "MARKET" {
		price = "0"
	}
	side := "BUY"
	if v.Side == book.Sell.String() {
		side = "SELL"
	}
	return map[string]any{"orderId": id, "symbol": h.names[m], "status": status, "clientOrderId": v.ClientOrderID,
		"price": orZero(price), "avgPrice": avgPrice(sp, q, cum), "origQty": orZero(v.Qty), "executedQty": sp.FormatQty(q),
		"cumQty": sp.FormatQty(q), "cumQuote": sp.FormatAmount(cum), "timeInForce": meta.tif, "type": meta.typ, "origType": meta.typ,
		"reduceOnly": v.ReduceOnly, "closePosition": false, "side": side, "positionSide": "BOTH", "stopPrice": "0",
		"workingType": "CONTRACT_PRICE", "priceProtect": false, "priceMatch": "NONE", "selfTradePreventionMode": meta.stp,
		"goodTillDate": 0, "time": v.Created, "updateTime": v.Updated}
}

func (h *Handler) postOrder(w http.ResponseWriter, r *http.Request, p params, k *gateway.Key) *Error {
	o, e := h.orderCommand(func(s string) (string, bool) { v, ok := p.vals[s]; return v, ok }, engine.ClientID(k.Account))
	if e != nil {
		return e
	}
	v, e := h.place(r.Context(), o)
	if e != nil {
		return e
	}
	writeJSON(w, 200, v)
	return nil
}

// postBatchOrders places up to BatchMax orders in the given order; each
// succeeds or fails on its own, answered in place as an order or {code,msg}.
func (h *Handler) postBatchOrders(w http.ResponseWriter, r *http.Request, p params, k *gateway.Key) *Error {
	if !p.has("batchOrders") {
		return mandatory("batchOrders")
	}
	var items []map[string]any
	if err := json.Unmarshal([]byte(p.get("batchOrders")), &items); err != nil {
		return invalidParam("batchOrders")
	}
	if len(items) == 0 || len(items) > BatchMax {
		return errf(400, CodeInvalidParam, "Data sent for parameter 'batchOrders' is not valid: 1 to "+strconv.Itoa(BatchMax)+" orders.")
	}
	allowed := map[string]bool{}
	for _, a := range []string{"symbol", "side", "positionSide", "type", "timeInForce", "quantity", "price", "reduceOnly",
		"newClientOrderId", "newOrderRespType", "selfTradePreventionMode"} {
		allowed[a] = true
	}
	for _, a := range unsupportedOrderParams {
		allowed[a] = true
	}
	out := make([]any, len(items))
	for i, it := range items {
		strs := map[string]string{}
		var bad *Error
		for key, v := range it {
			s, ok := v.(string)
			if !ok {
				if b, isBool := v.(bool); isBool {
					s, ok = strconv.FormatBool(b), true
				}
			}
			switch {
			case !allowed[key]:
				bad = errf(400, CodeUnknownParam, "Not all sent parameters were read; unknown parameter '"+key+"'.")
			case !ok:
				bad = invalidParam(key)
			}
			strs[key] = s
		}
		if bad != nil {
			out[i] = bad
			continue
		}
		o, e := h.orderCommand(func(s string) (string, bool) { v, ok := strs[s]; return v, ok }, engine.ClientID(k.Account))
		if e == nil {
			var v map[string]any
			if v, e = h.place(r.Context(), o); e == nil {
				out[i] = v
				continue
			}
		}
		out[i] = e
	}
	writeJSON(w, 200, out)
	return nil
}

// findOrder resolves orderId or origClientOrderId to a record of the read
// model (or, for a resting order the history forgot, the engine's book).
func (h *Handler) findOrder(p params, client engine.ClientID) (engine.MarketID, marketdata.OrderView, *Error) {
	m, e := h.market(p.get("symbol"))
	if e != nil {
		return 0, marketdata.OrderView{}, e
	}
	switch {
	case p.has("orderId"):
		id, err := strconv.ParseUint(p.get("orderId"), 10, 64)
		if err != nil || id == 0 {
			return 0, marketdata.OrderView{}, errf(400, CodeIllegalChars, "Illegal characters found in parameter 'orderId'; legal range is '^[0-9]{1,20}$'.")
		}
		if v, ok := h.md.Order(client, m, book.OrderID(id)); ok {
			return m, v, nil
		}
		v, e := h.restingView(client, m, func(o engine.OpenOrder) bool { return o.ID == book.OrderID(id) })
		return m, v, e
	case p.has("origClientOrderId"):
		cid := p.get("origClientOrderId")
		sym := h.specs[m].Symbol
		for _, v := range h.md.Orders(client, 0) {
			if v.ClientOrderID == cid && v.Symbol == sym {
				return m, v, nil
			}
		}
		key := gateway.KeyOf(cid)
		v, e := h.restingView(client, m, func(o engine.OpenOrder) bool { return o.ClientID == key })
		return m, v, e
	}
	return 0, marketdata.OrderView{}, errf(400, CodeMandatoryParam, "Param 'origClientOrderId' or 'orderId' must be sent, but both were empty/null!")
}

func (h *Handler) restingView(client engine.ClientID, m engine.MarketID, match func(engine.OpenOrder) bool) (marketdata.OrderView, *Error) {
	var oo []engine.OpenOrder
	h.x.View(func(e *engine.Engine) { oo = e.OpenOrders(client, nil) })
	for _, o := range oo {
		if o.Market == m && match(o) {
			return h.openOrderView(client, o), nil
		}
	}
	return marketdata.OrderView{}, errNoOrder
}

func (h *Handler) openOrderView(client engine.ClientID, o engine.OpenOrder) marketdata.OrderView {
	if v, ok := h.md.Order(client, o.Market, o.ID); ok {
		return v
	}
	sp := &h.specs[o.Market].Spec
	return marketdata.OrderView{OrderID: strconv.FormatUint(uint64(o.ID), 10), ClientOrderID: h.md.ClientOrderID(client, o.ClientID),
		Symbol: h.specs[o.Market].Symbol, Side: o.Side.String(), Price: sp.FormatPrice(o.Price), Qty: sp.FormatQty(o.Qty),
		Filled: "0", Remaining: sp.FormatQty(o.Qty), Status: marketdata.StatusOpen, PostOnly: o.PostOnly, ReduceOnly: o.ReduceOnly}
}

func (h *Handler) getOrder(w http.ResponseWriter, _ *http.Request, p params, k *gateway.Key) *Error {
	client := engine.ClientID(k.Account)
	m, v, e := h.findOrder(p, client)
	if e != nil {
		return e
	}
	writeJSON(w, 200, h.orderJSON(client, m, v))
	return nil
}

func (h *Handler) getOpenOrder(w http.ResponseWriter, _ *http.Request, p params, k *gateway.Key) *Error {
	client := engine.ClientID(k.Account)
	m, v, e := h.findOrder(p, client)
	if e != nil {
		return e
	}
	if v.Status != marketdata.StatusOpen && v.Status != marketdata.StatusPartiallyFilled {
		return errf(400, CodeNoSuchOrder, "Order does not exist.")
	}
	writeJSON(w, 200, h.orderJSON(client, m, v))
	return nil
}

func (h *Handler) cancel(ctx context.Context, client engine.ClientID, m engine.MarketID, id book.OrderID, cid string) (map[string]any, *Error) {
	cmd := &engine.Command{Kind: engine.CmdCancelOrder, Client: client, Market: m, Order: id}
	if id == 0 {
		cmd.OrigKey = gateway.KeyOf(cid)
	}
	res, e := h.submit(ctx, cmd)
	if e != nil {
		return nil, e
	}
	if res.Code != engine.OK {
		if res.Code == engine.CodeUnknownOrder {
			return nil, errCancel
		}
		return nil, engineError(res.Code, 0)
	}
	h.settle(ctx)
	v, ok := h.md.Order(client, m, res.Order)
	if !ok {
		v = marketdata.OrderView{OrderID: strconv.FormatUint(uint64(res.Order), 10), ClientOrderID: cid, Symbol: h.specs[m].Symbol,
			Status: marketdata.StatusCancelled}
	}
	return h.orderJSON(client, m, v), nil
}

func (h *Handler) deleteOrder(w http.ResponseWriter, r *http.Request, p params, k *gateway.Key) *Error {
	m, e := h.market(p.get("symbol"))
	if e != nil {
		return e
	}
	var id uint64
	switch {
	case p.has("orderId"):
		var err error
		if id, err = strconv.ParseUint(p.get("orderId"), 10, 64); err != nil || id == 0 {
			return errf(400, CodeIllegalChars, "Illegal characters found in parameter 'orderId'; legal range is '^[0-9]{1,20}$'.")
		}
	case p.has("origClientOrderId"):
	default:
		return errf(400, CodeMandatoryParam, "Param 'origClientOrderId' or 'orderId' must be sent, but both were empty/null!")
	}
	v, e := h.cancel(r.Context(), engine.ClientID(k.Account), m, book.OrderID(id), p.get("origClientOrderId"))
	if e != nil {
		return e
	}
	writeJSON(w, 200, v)
	return nil
}

func (h *Handler) deleteBatchOrders(w http.ResponseWriter, r *http.Request, p params, k *gateway.Key) *Error {
	m, e := h.market(p.get("symbol"))
	if e != nil {
		return e
	}
	var ids []uint64
	var cids []string
	if p.has("orderIdList") && json.Unmarshal([]byte(p.get("orderIdList")), &ids) != nil {
		return invalidParam("orderIdList")
	}
	if p.has("origClientOrderIdList") && json.Unmarshal([]byte(p.get("origClientOrderIdList")), &cids) != nil {
		return invalidParam("origClientOrderIdList")
	}
	if len(ids)+len(cids) == 0 || len(ids)+len(cids) > 10 {
		return errf(400, CodeMandatoryParam, "Param 'orderIdList' or 'origClientOrderIdList' must be sent with 1 to 10 ids.")
	}
	out := make([]any, 0, len(ids)+len(cids))
	client := engine.ClientID(k.Account)
	for _, id := range ids {
		v, e := h.cancel(r.Context(), client, m, book.OrderID(id), "")
		if e != nil {
			out = append(out, e)
			continue
		}
		out = append(out, v)
	}
	for _, cid := range cids {
		v, e := h.cancel(r.Context(), client, m, 0, cid)
		if e != nil {
			out = append(out, e)
			continue
		}
		out = append(out, v)
	}
	writeJSON(w, 200, out)
	return nil
}

func (h *Handler) deleteAllOpenOrders(w http.ResponseWriter, r *http.Request, p params, k *gateway.Key) *Error {
	m, e := h.market(p.get("symbol"))
	if e != nil {
		return e
	}
	res, e := h.submit(r.Context(), &engine.Command{Kind: engine.CmdCancelAll, Client: engine.ClientID(k.Account), Market: m})
	if e != nil {
		return e
	}
	if res.Code != engine.OK {
		return engineError(res.Code, 0)
	}
	h.settle(r.Context())
	writeJSON(w, 200, map[string]any{"code": 200, "msg": "The operation of cancel all open order is done."})
	return nil
}

func (h *Handler) getOpenOrders(w http.ResponseWriter, _ *http.Request, p params, k *gateway.Key) *Error {
	only, e := h.optMarket(p)
	if e != nil {
		return e
	}
	client := engine.ClientID(k.Account)
	var oo []engine.OpenOrder
	h.x.View(func(e *engine.Engine) { oo = e.OpenOrders(client, nil) })
	out := make([]map[string]any, 0, len(oo))
	for _, o := range oo {
		if (only != engine.AllMarkets && o.Market != only) || !h.listed(o.Market) {
			continue // spot orders are not this futures API's
		}
		out = append(out, h.orderJSON(client, o.Market, h.openOrderView(client, o)))
	}
	writeJSON(w, 200, out)
	return nil
}

func (h *Handler) getAllOrders(w http.ResponseWriter, _ *http.Request, p params, k *gateway.Key) *Error {
	m, win, e := h.marketWindow(p, 500, 1000, "orderId")
	if e != nil {
		return e
	}
	client := engine.ClientID(k.Account)
	sym := h.specs[m].Symbol
	vs := h.md.Orders(client, 0)
	out := make([]map[string]any, 0)
	for i := len(vs) - 1; i >= 0; i-- { // oldest first
		v := vs[i]
		id, _ := strconv.ParseInt(v.OrderID, 10, 64)
		if v.Symbol != sym || !win.admits(id, v.Created) {
			continue
		}
		out = append(out, h.orderJSON(client, m, v))
	}
	// Binance: "If orderId is set, it will get orders >= that orderId.
	// Otherwise most recent orders are returned" — clip's rule.
	writeJSON(w, 200, clip(win, out))
	return nil
}

func (h *Handler) getUserTrades(w http.ResponseWriter, _ *http.Request, p params, k *gateway.Key) *Error {
	m, win, e := h.marketWindow(p, 500, 1000, "fromId")
	if e != nil {
		return e
	}
	oid := p.get("orderId")
	client := engine.ClientID(k.Account)
	sp := &h.specs[m].Spec
	sym := h.specs[m].Symbol
	fs := h.md.Fills(client, 0)
	out := make([]map[string]any, 0)
	for i := len(fs) - 1; i >= 0; i-- { // oldest first
		f := fs[i]
		id, _ := strconv.ParseInt(f.TradeID, 10, 64)
		if f.Symbol != sym || (oid != "" && f.OrderID != oid) || !win.admits(id, f.Time) {
			continue
		}
		orderID, _ := strconv.ParseUint(f.OrderID, 10, 64)
		side := "BUY"
		if f.Side == book.Sell.String() {
			side = "SELL"
		}
		out = append(out, map[string]any{"id": id, "symbol": h.names[m], "orderId": orderID, "side": side, "price": f.Price,
			"qty": f.Qty, "quoteQty": quoteQty(sp, f.Price, f.Qty), "realizedPnl": f.RealizedPnL, "commission": f.Fee,
			"commissionAsset": h.cfg.SettleAsset, "time": f.Time, "positionSide": "BOTH", "buyer": side == "BUY",
			"maker": f.Liquidity == "maker"})
	}
	writeJSON(w, 200, clip(win, out))
	return nil
}
