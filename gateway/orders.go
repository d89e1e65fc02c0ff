package gateway

import (
	"context"
	"errors"
	"hash/fnv"
	"net/http"
	"strconv"

	"github.com/sampan-hk/sampan/core/book"
	"github.com/sampan-hk/sampan/core/engine"
	"github.com/sampan-hk/sampan/core/fixed"
	"github.com/sampan-hk/sampan/marketdata"
)

// OrderRequest is the body of POST /v1/orders and one item of a batch.
type OrderRequest struct {
	Symbol        string `json:"symbol"`
	Side          string `json:"side"`
	Type          string `json:"type"`
	TimeInForce   string `json:"time_in_force,omitempty"`
	PostOnly      bool   `json:"post_only,omitempty"`
	ReduceOnly    bool   `json:"reduce_only,omitempty"`
	Price         string `json:"price,omitempty"`
	Qty           string `json:"qty"`
	ClientOrderID string `json:"client_order_id,omitempty"`
	STP           string `json:"stp,omitempty"`
}

// OrderResponse is an order's state right after the command applied.
type OrderResponse struct {
	marketdata.OrderView
	AcceptedQty string `json:"accepted_qty"`
	Replayed    bool   `json:"replayed"`
}

// KeyOf maps a client string (client_order_id, idempotency_key) to the
// engine's uint64 key: FNV-1a 64, never 0 (0 means "no key" to the engine).
// The same string always gives the same key, so a retry after a restart is
// still recognised; the string itself is kept in the read model.
func KeyOf(s string) uint64 {
	h := fnv.New64a()
	h.Write([]byte(s))
	if k := h.Sum64(); k != 0 {
		return k
	}
	return 1
}

func badField(code Code, field, msg string) *Error {
	return Errf(http.StatusBadRequest, code, field, msg)
}

// parseNum maps the decimal parser's errors to the API's codes.
func parseNum(err error, field, step string, stepCode Code) *Error {
	switch {
	case errors.Is(err, fixed.ErrOffStep):
		return badField(stepCode, field, field+" must be a multiple of "+step)
	case errors.Is(err, fixed.ErrRange):
		return badField(CodeOutOfRange, field, field+" is out of range")
	case errors.Is(err, fixed.ErrNotPositive):
		return badField(CodeInvalidField, field, field+" must be greater than zero")
	}
	return badField(CodeInvalidField, field, field+" must be a decimal string like \"1.5\" (no exponent, sign '+', spaces or leading zeros)")
}

var sides = map[string]book.Side{"buy": book.Buy, "sell": book.Sell}
var types = map[string]book.Type{"limit": book.Limit, "market": book.Market}
var tifs = map[string]book.TIF{"GTC": book.GTC, "IOC": book.IOC, "FOK": book.FOK}
var stps = map[string]book.STP{"none": book.STPNone, "expire_taker": book.STPExpireTaker, "expire_maker": book.STPExpireMaker, "expire_both": book.STPExpireBoth}

func enum[T any](m map[string]T, v, field, allowed string) (T, *Error) {
	t, ok := m[v]
	if !ok {
		return t, badField(CodeInvalidField, field, field+" must be one of "+allowed)
	}
	return t, nil
}

func validClientOrderID(s string) bool {
	if len(s) == 0 || len(s) > ClientOrderIDMax {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.' || c == ':') {
			return false
		}
	}
	return true
}

// command validates an order request completely before anything reaches
// the engine.
func (s *Server) orderCommand(o *OrderRequest, client engine.ClientID) (*engine.Command, *Error) {
	m, e := s.market(o.Symbol, "symbol")
	if e != nil {
		return nil, e
	}
	sp := &s.specs[m].Spec
	c := &engine.Command{Kind: engine.CmdPlaceOrder, Client: client, Market: m}
	if c.Side, e = enum(sides, o.Side, "side", "buy, sell"); e != nil {
		return nil, e
	}
	if c.Type, e = enum(types, o.Type, "type", "limit, market"); e != nil {
		return nil, e
	}
	tif := o.TimeInForce
	if tif == "" {
		tif = "GTC"
		if c.Type == book.Market {
			tif = "IOC"
		}
	}
	if c.TIF, e = enum(tifs, tif, "time_in_force", "GTC, IOC, FOK"); e != nil {
		return nil, e
	}
	stp := o.STP
	if stp == "" {
		stp = "none"
	}
	if c.STP, e = enum(stps, stp, "stp", "none, expire_taker, expire_maker, expire_both"); e != nil {
		return nil, e
	}
	if o.PostOnly {
		c.Flags |= engine.FlagPostOnly
	}
	if o.ReduceOnly {
		c.Flags |= engine.FlagReduceOnly
	}
	var err error
	if c.Qty, err = sp.ParseQty(o.Qty); err != nil {
		return nil, parseNum(err, "qty", sp.Lot.String(), CodeInvalidQtyStep)
	}
	switch {
	case o.Price != "":
		if c.Price, err = sp.ParsePrice(o.Price); err != nil {
			return nil, parseNum(err, "price", sp.Tick.String(), CodeInvalidPriceStep)
		}
	case c.Type == book.Limit:
		return nil, badField(CodeMissingField, "price", "price is required for a limit order")
	}
	if o.ClientOrderID != "" {
		if !validClientOrderID(o.ClientOrderID) {
			return nil, badField(CodeInvalidField, "client_order_id", "client_order_id must be 1 to 36 characters from A-Z a-z 0-9 - _ . :")
		}
		// The text rides in the log next to its hash, so every node's read
		// models name the order from the log itself (marketdata, names).
		c.Key, c.Ref = KeyOf(o.ClientOrderID), o.ClientOrderID
	}
	return c, nil
}

// place submits one order and reports its state once applied.
func (s *Server) place(ctx context.Context, o *OrderRequest, client engine.ClientID) (*OrderResponse, *Error) {
	c, e := s.orderCommand(o, client)
	if e != nil {
		return nil, e
	}
	res, e := s.submit(ctx, c)
	if e != nil {
		return nil, e
	}
	if res.Code != engine.OK {
		return nil, engineError(res.Code)
	}
	s.settle(ctx)
	return s.orderResponse(ctx, o, c, res), nil
}

// orderResponse is an accepted order as the read model shows it once
// settled. An order the memory no longer holds (a retry answered with the
// first result after the order left the bounded history, or after a
// restart) is folded from the read store.
func (s *Server) orderResponse(ctx context.Context, o *OrderRequest, c *engine.Command, res engine.Result) *OrderResponse {
	sp := &s.specs[c.Market].Spec
	v, ok := s.md.Order(c.Client, c.Market, res.Order)
	if !ok {
		v, ok = s.storedOrder(ctx, c.Client, c.Market, res.Order)
	}
	if !ok { // not in the read store either (none, or it has not caught up)
		v = marketdata.OrderView{OrderID: strconv.FormatUint(uint64(res.Order), 10),
			Symbol: o.Symbol, Side: o.Side, Price: o.Price, Qty: sp.FormatQty(res.Qty), Status: "unknown",
			PostOnly: o.PostOnly, ReduceOnly: o.ReduceOnly}
	}
	if v.ClientOrderID == "" {
		// A retry of an order logged before the log carried texts: the
		// request's text is the same (same key).
		v.ClientOrderID = o.ClientOrderID
	}
	return &OrderResponse{OrderView: v, AcceptedQty: sp.FormatQty(res.Qty), Replayed: res.Replayed}
}

func (s *Server) postOrder(w http.ResponseWriter, r *http.Request, c *call) *Error {
	if e := query(r); e != nil {
		return e
	}
	var o OrderRequest
	if e := DecodeStrict(c.body, &o); e != nil {
		return e
	}
	resp, e := s.place(r.Context(), &o, engine.ClientID(c.key.Account))
	if e != nil {
		return e
	}
	writeJSONWith(w, func(b []byte) []byte { return appendOrderResponse(b, resp) })
	return nil
}

type batchRequest struct {
	Orders []OrderRequest `json:"orders"`
}

// BatchItem is one result of a batch: the order, or the error it got.
type BatchItem struct {
	Status int            `json:"status"`
	Order  *OrderResponse `json:"order,omitempty"`
	Error  *Error         `json:"error,omitempty"`
}

// postBatch places up to BatchMax orders, executed in the order given
// (placeBatch); each succeeds or fails on its own (no atomicity across
// items).
func (s *Server) postBatch(w http.ResponseWriter, r *http.Request, c *call) *Error {
	if e := query(r); e != nil {
		return e
	}
	var b batchRequest
	if e := DecodeStrict(c.body, &b); e != nil {
		return e
	}
	if e := b.checkSize(); e != nil {
		return e
	}
	out := s.placeBatch(r.Context(), b.Orders, engine.ClientID(c.key.Account))
	writeJSONWith(w, func(b []byte) []byte { return appendBatchResults(b, out) })
	return nil
}

// checkSize refuses an empty batch and one over BatchMax.
func (b *batchRequest) checkSize() *Error {
	if len(b.Orders) == 0 {
		return badField(CodeMissingField, "orders", "orders must hold 1 to "+strconv.Itoa(BatchMax)+" orders")
	}
	if len(b.Orders) > BatchMax {
		return Errf(http.StatusRequestEntityTooLarge, CodeTooManyItems, "orders", "a batch holds at most "+strconv.Itoa(BatchMax)+" orders")
	}
	return nil
}

// batchItem is item i's result; an error's field is prefixed with the
// item's place in the batch.
func batchItem(i int, resp *OrderResponse, e *Error) BatchItem {
	if e == nil {
		return BatchItem{Status: http.StatusOK, Order: resp}
	}
	if e.Field != "" {
		e.Field = "orders[" + strconv.Itoa(i) + "]." + e.Field
	}
	return BatchItem{Status: e.Status, Error: e}
}

// placeBatch validates every order of a batch, then hands the valid ones
// to the log as one run (Exchange.SubmitMany) and waits once, for the log
// and then for the read model. The run is applied consecutively in
// request order with no other command in between, so a later order sees
// the earlier ones (it can trade against them) and the batch costs about
// one commit's latency instead of one per order. Each order gets its own
// result: one the engine refuses does not affect the others. A
// client_order_id used twice in one batch is refused for the later item
// before anything is submitted. Results are in request order.
func (s *Server) placeBatch(ctx context.Context, orders []OrderRequest, client engine.ClientID) []BatchItem {
	b := s.prepareBatch(orders, client)
	if len(b.cmds) == 0 {
		return b.out
	}
	results, e := s.submitMany(ctx, b.cmds)
	if e == nil {
		s.settle(ctx)
	}
	return s.finishBatch(ctx, b, results, e)
}

// batchRun is a batch validated for submission: the items refused before
// submission already answered in out, the valid orders' commands in cmds.
type batchRun struct {
	orders []OrderRequest
	out    []BatchItem
	cmds   []*engine.Command
	at     []int // at[k] is the item cmds[k] came from
}

// prepareBatch validates every order of a batch on its own.
func (s *Server) prepareBatch(orders []OrderRequest, client engine.ClientID) *batchRun {
	b := &batchRun{orders: orders, out: make([]BatchItem, len(orders)),
		cmds: make([]*engine.Command, 0, len(orders)), at: make([]int, 0, len(orders))}
	for i := range orders {
		c, e := s.orderCommand(&orders[i], client)
		if e == nil {
			e = duplicateClientOrderID(orders, i)
		}
		if e != nil {
			b.out[i] = batchItem(i, nil, e)
			continue
		}
		b.cmds, b.at = append(b.cmds, c), append(b.at, i)
	}
	return b
}

// storedOrder folds one order from the read store, if there is one and it
// holds the order.
func (s *Server) storedOrder(ctx context.Context, client engine.ClientID, m engine.MarketID, id book.OrderID) (marketdata.OrderView, bool) {
	if s.history == nil {
		return marketdata.OrderView{}, false
	}
	h, err := s.history.Store().OrdersByID(ctx, client, []book.OrderID{id})
	if err != nil {
		return marketdata.OrderView{}, false
	}
	want := strconv.FormatUint(uint64(id), 10)
	for _, v := range s.foldOrders(client, &h) {
		if v.Symbol == s.specs[m].Symbol && v.OrderID == want {
			return v, true
		}
	}
	return marketdata.OrderView{}, false
}

// finishBatch fills the submitted items' results: the results of b.cmds
// in order, or the run's transport error e for each.
func (s *Server) finishBatch(ctx context.Context, b *batchRun, results []engine.Result, e *Error) []BatchItem {
	for k, c := range b.cmds {
		i := b.at[k]
		switch {
		case e != nil:
			ec := *e // each item owns its error
			b.out[i] = batchItem(i, nil, &ec)
		case results[k].Code != engine.OK:
			b.out[i] = batchItem(i, nil, engineError(results[k].Code))
		default:
			b.out[i] = batchItem(i, s.orderResponse(ctx, &b.orders[i], c, results[k]), nil)
		}
	}
	return b.out
}

// submitMany is submit for a run of commands: one deadline and one wait
// for all, and a transport failure (503) for the whole run.
func (s *Server) submitMany(ctx context.Context, cmds []*engine.Command) ([]engine.Result, *Error) {
	ctx, cancel := context.WithTimeout(ctx, s.cfg.SubmitTimeout)
	defer cancel()
	res, err := s.x.SubmitMany(ctx, cmds)
	if err != nil {
		s.log.Warn("gateway: batch submit failed", "commands", len(cmds), "err", err)
		e := Errf(http.StatusServiceUnavailable, CodeUnavailable, "", "the batch could not be committed in time; retry with the same client_order_ids")
		e.RetryAfter = 1
		return nil, e
	}
	return res, nil
}

// duplicateClientOrderID refuses item i when an earlier item of the batch
// carries the same client_order_id.
func duplicateClientOrderID(orders []OrderRequest, i int) *Error {
	id := orders[i].ClientOrderID
	if id == "" {
		return nil
	}
	for j := range orders[:i] {
		if orders[j].ClientOrderID == id {
			return badField(CodeInvalidField, "client_order_id", "client_order_id repeats orders["+strconv.Itoa(j)+"] of this batch")
		}
	}
	return nil
}

type amendRequest struct {
	Symbol string `json:"symbol"`
	Price  string `json:"price,omitempty"`
	Qty    string `json:"qty,omitempty"`
}

func orderIDParam(r *http.Request) (book.OrderID, *Error) {
	return parseOrderID(r.PathValue("id"), "id")
}

func parseOrderID(v, field string) (book.OrderID, *Error) {
	id, err := strconv.ParseUint(v, 10, 64)
	if err != nil || id == 0 || (len(v) > 1 && v[0] == '0') {
		return 0, badField(CodeInvalidField, field, "order id must be a positive decimal integer string")
	}
	return book.OrderID(id), nil
}

func (s *Server) postAmend(w http.ResponseWriter, r *http.Request, c *call) *Error {
	id, e := orderIDParam(r)
	if e != nil {
		return e
	}
	var a amendRequest
	if e = query(r); e == nil {
		e = DecodeStrict(c.body, &a)
	}
	if e != nil {
		return e
	}
	m, e := s.market(a.Symbol, "symbol")
	if e != nil {
		return e
	}
	if a.Price == "" && a.Qty == "" {
		return badField(CodeMissingField, "price", "give a new price, a new qty, or both")
	}
	sp := &s.specs[m].Spec
	cmd := &engine.Command{Kind: engine.CmdAmendOrder, Client: engine.ClientID(c.key.Account), Market: m, Order: id}
	var err error
	if a.Price != "" {
		if cmd.Price, err = sp.ParsePrice(a.Price); err != nil {
			return parseNum(err, "price", sp.Tick.String(), CodeInvalidPriceStep)
		}
	}
	if a.Qty != "" {
		if cmd.Qty, err = sp.ParseQty(a.Qty); err != nil {
			return parseNum(err, "qty", sp.Lot.String(), CodeInvalidQtyStep)
		}
	}
	return s.orderOutcome(w, r, cmd)
}

// orderOutcome submits a cancel or amend and answers with the order record.
func (s *Server) orderOutcome(w http.ResponseWriter, r *http.Request, cmd *engine.Command) *Error {
	res, e := s.submit(r.Context(), cmd)
	if e != nil {
		return e
	}
	if res.Code != engine.OK {
		return engineError(res.Code)
	}
	s.settle(r.Context())
	v, ok := s.md.Order(cmd.Client, cmd.Market, res.Order)
	if !ok {
		v = marketdata.OrderView{OrderID: strconv.FormatUint(uint64(res.Order), 10), Symbol: s.specs[cmd.Market].Symbol, Status: "unknown"}
	}
	WriteJSON(w, http.StatusOK, v)
	return nil
}

// symbolParam reads the required ?symbol= of cancel routes (order ids are
// unique per market, not across markets).
func (s *Server) symbolParam(r *http.Request) (engine.MarketID, *Error) {
	if e := query(r, "symbol"); e != nil {
		return 0, e
	}
	sym := r.URL.Query().Get("symbol")
	if sym == "" {
		return 0, badField(CodeMissingField, "symbol", "the symbol query parameter is required")
	}
	return s.market(sym, "symbol")
}

func (s *Server) deleteOrder(w http.ResponseWriter, r *http.Request, c *call) *Error {
	id, e := orderIDParam(r)
	if e != nil {
		return e
	}
	m, e := s.symbolParam(r)
	if e != nil {
		return e
	}
	return s.orderOutcome(w, r, &engine.Command{Kind: engine.CmdCancelOrder, Client: engine.ClientID(c.key.Account), Market: m, Order: id})
}

func (s *Server) deleteOrderByClientID(w http.ResponseWriter, r *http.Request, c *call) *Error {
	cid := r.PathValue("client_order_id")
	if !validClientOrderID(cid) {
		return badField(CodeInvalidField, "client_order_id", "client_order_id must be 1 to 36 characters from A-Z a-z 0-9 - _ . :")
	}
	m, e := s.symbolParam(r)
	if e != nil {
		return e
	}
	return s.orderOutcome(w, r, &engine.Command{Kind: engine.CmdCancelOrder, Client: engine.ClientID(c.key.Account), Market: m, OrigKey: KeyOf(cid)})
}

func (s *Server) deleteOrders(w http.ResponseWriter, r *http.Request, c *call) *Error {
	if e := query(r, "symbol"); e != nil {
		return e
	}
	m := engine.AllMarkets
	if sym := r.URL.Query().Get("symbol"); sym != "" {
		var e *Error
		if m, e = s.market(sym, "symbol"); e != nil {
			return e
		}
	}
	res, e := s.submit(r.Context(), &engine.Command{Kind: engine.CmdCancelAll, Client: engine.ClientID(c.key.Account), Market: m})
	if e != nil {
		return e
	}
	if res.Code != engine.OK {
		return engineError(res.Code)
	}
	s.settle(r.Context())
	WriteJSON(w, http.StatusOK, map[string]any{"cancelled_all": true, "symbol": r.URL.Query().Get("symbol")})
	return nil
}

type leverageRequest struct {
	Symbol   string `json:"symbol"`
	Leverage string `json:"leverage"`
}

func (s *Server) postLeverage(w http.ResponseWriter, r *http.Request, c *call) *Error {
	var l leverageRequest
	e := query(r)
	if e == nil {
		e = DecodeStrict(c.body, &l)
	}
	if e != nil {
		return e
	}
	m, e := s.market(l.Symbol, "symbol")
	if e != nil {
		return e
	}
	lev, err := fixed.ParseDecimal(l.Leverage, 0)
	if err != nil || lev < 1 || lev > engine.LeverageMax {
		return badField(CodeOutOfRange, "leverage", "leverage must be a whole number from 1 to the market's maximum, as a string (e.g. \"5\")")
	}
	res, e := s.submit(r.Context(), &engine.Command{Kind: engine.CmdSetLeverage, Client: engine.ClientID(c.key.Account), Market: m, Leverage: uint16(lev)})
	if e != nil {
		return e
	}
	if res.Code != engine.OK {
		return engineError(res.Code)
	}
	WriteJSON(w, http.StatusOK, map[string]any{"symbol": l.Symbol, "leverage": strconv.FormatInt(lev, 10)})
	return nil
}

type withdrawalRequest struct {
	Amount         string `json:"amount"`
	IdempotencyKey string `json:"idempotency_key"`
}

// parseAmount reads a positive USD amount.
func (s *Server) parseAmount(v, field string) (fixed.Amount, *Error) {
	a, err := fixed.ParseDecimal(v, s.specs[0].Spec.QuoteDecimals)
	if err == nil && a <= 0 {
		err = fixed.ErrNotPositive
	}
	if errors.Is(err, fixed.ErrTooManyDecimals) {
		return 0, badField(CodeInvalidField, field, field+" has more than "+strconv.Itoa(s.specs[0].Spec.QuoteDecimals)+" decimal places")
	}
	if err != nil {
		return 0, parseNum(err, field, "", CodeInvalidField)
	}
	return fixed.Amount(a), nil
}

func idemKey(v string) (uint64, *Error) {
	if v == "" {
		return 0, badField(CodeMissingField, "idempotency_key", "idempotency_key is required: retries with the same key and payload return the first result")
	}
	if len(v) > IdempotencyKeyMax {
		return 0, badField(CodeInvalidField, "idempotency_key", "idempotency_key must be at most "+strconv.Itoa(IdempotencyKeyMax)+" bytes")
	}
	return KeyOf(v), nil
}

func (s *Server) postWithdrawal(w http.ResponseWriter, r *http.Request, c *call) *Error {
	var q withdrawalRequest
	e := query(r)
	if e == nil {
		e = DecodeStrict(c.body, &q)
	}
	if e != nil {
		return e
	}
	amt, e := s.parseAmount(q.Amount, "amount")
	if e != nil {
		return e
	}
	key, e := idemKey(q.IdempotencyKey)
	if e != nil {
		return e
	}
	res, e := s.submit(r.Context(), &engine.Command{Kind: engine.CmdWithdraw, Client: engine.ClientID(c.key.Account), Key: key, Amount: amt})
	if e != nil {
		return e
	}
	if res.Code != engine.OK {
		return engineError(res.Code)
	}
	WriteJSON(w, http.StatusOK, map[string]any{"amount": s.usd(amt), "idempotency_key": q.IdempotencyKey, "replayed": res.Replayed, "status": "withdrawn"})
	return nil
}
