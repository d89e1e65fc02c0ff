package gateway

// Order entry over a WebSocket: the trading requests of a connection
// (place, place_batch, cancel, cancel_all) are checked by the read loop,
// queued, and executed in arrival order by the connection's submitter,
// which sends the places and batches waiting together to the log as one
// run (docs/api.md, "Order entry"; docs/performance.md).

import (
	"context"
	"net/http"

	"github.com/sampan-hk/sampan/core/engine"
)

// batchResult is a place_batch reply's result.
type batchResult struct {
	Results []BatchItem `json:"results"`
}

type wsCancel struct {
	Symbol        string `json:"symbol"`
	OrderID       string `json:"order_id,omitempty"`
	ClientOrderID string `json:"client_order_id,omitempty"`
}

// wsTrade is a trading request waiting in a connection's queue.
type wsTrade struct {
	req    wsRequest
	client engine.ClientID
	order  OrderRequest    // place: the order
	cmd    *engine.Command // place: its validated command
	batch  *batchRun       // place_batch: its validated orders
}

// runs says whether the request goes to the log in a run of orders (a
// place or a place_batch) rather than alone.
func (t *wsTrade) runs() bool { return t.cmd != nil || t.batch != nil }

// commands is the number of commands the request adds to a run.
func (t *wsTrade) commands() int {
	if t.batch != nil {
		return len(t.batch.cmds)
	}
	return 1
}

// newTrade checks a trading request as far as it can be checked before
// execution: the key's permission and, for a place or a place_batch,
// every order.
func (ws *wsSession) newTrade(req *wsRequest) (*wsTrade, *Error) {
	client, e := ws.tradeClient()
	if e != nil {
		return nil, e
	}
	t := &wsTrade{req: *req, client: client}
	switch req.Op {
	case "place":
		if e := DecodeStrict(req.Args, &t.order); e != nil {
			return nil, e
		}
		if t.cmd, e = ws.s.orderCommand(&t.order, client); e != nil {
			return nil, e
		}
	case "place_batch":
		var b batchRequest
		if e := DecodeStrict(req.Args, &b); e != nil {
			return nil, e
		}
		if e := b.checkSize(); e != nil {
			return nil, e
		}
		t.batch = ws.s.prepareBatch(b.Orders, client)
	}
	return t, nil
}

// submitLoop executes the connection's trading requests in arrival order.
// The places and place_batches waiting together (up to wsRunMax commands)
// go to the log as one run (Exchange.SubmitMany) with one wait for the
// commit and one for the read models, where a goroutine, a commit wait and
// a read-model wait per order were most of the WebSocket order path's own
// CPU. Any other trading request runs alone, in its place in the order.
// Once the connection has ended (ctx), what is still queued is dropped
// unexecuted.
func (ws *wsSession) submitLoop(ctx context.Context) {
	var batch []*wsTrade
	var carry *wsTrade // taken from the queue, but over the last run's size
	for {
		t := carry
		if carry = nil; t == nil {
			var ok bool
			if t, ok = <-ws.queue; !ok {
				return
			}
		}
		batch = append(batch[:0], t)
		cmds := t.commands()
	more:
		for cmds < wsRunMax {
			select {
			case t, ok := <-ws.queue:
				if !ok {
					break more
				}
				if cmds += t.commands(); cmds > wsRunMax {
					carry = t
					break more
				}
				batch = append(batch, t)
			default:
				break more
			}
		}
		for len(batch) > 0 {
			n := 0
			for n < len(batch) && batch[n].runs() {
				n++
			}
			switch {
			case ctx.Err() != nil:
				n = len(batch)
				ws.release(n)
			case n > 0:
				ws.placeRun(ctx, batch[:n])
			default:
				n = 1
				ws.tradeOne(ctx, batch[0])
			}
			clear(batch[:n])
			batch = batch[n:]
		}
	}
}

// release frees the slots of n requests that have been answered or dropped.
func (ws *wsSession) release(n int) {
	for range n {
		<-ws.slots
	}
}

// placeRun submits the commands of a run of places and place_batches as
// one run and answers each request.
func (ws *wsSession) placeRun(ctx context.Context, run []*wsTrade) {
	answered := 0
	defer func() {
		if v := recover(); v != nil {
			ws.s.log.Error("gateway: websocket handler panic", "op", "place", "panic", v)
			for _, t := range run[answered:] {
				ws.answer(&t.req, nil, Errf(http.StatusInternalServerError, CodeInternal, "", "internal error; it has been logged"))
			}
		}
		ws.release(len(run))
	}()
	ws.cmds = ws.cmds[:0]
	for _, t := range run {
		if t.batch != nil {
			ws.cmds = append(ws.cmds, t.batch.cmds...)
		} else {
			ws.cmds = append(ws.cmds, t.cmd)
		}
	}
	var results []engine.Result
	var e *Error
	if len(ws.cmds) > 0 { // a run of batches whose every order was refused has nothing to submit
		if results, e = ws.s.submitMany(ctx, ws.cmds); e == nil {
			ws.s.settle(ctx)
		}
	}
	clear(ws.cmds)
	k := 0 // the next request's first result
	for _, t := range run {
		n := t.commands()
		switch {
		case t.batch != nil:
			var res []engine.Result
			if e == nil {
				res = results[k : k+n]
			}
			ws.answer(&t.req, batchResult{ws.s.finishBatch(ctx, t.batch, res, e)}, nil)
		case e != nil:
			ws.answer(&t.req, nil, e)
		case results[k].Code != engine.OK:
			ws.answer(&t.req, nil, engineError(results[k].Code))
		default:
			ws.answer(&t.req, ws.s.orderResponse(ctx, &t.order, t.cmd, results[k]), nil)
		}
		k += n
		answered++
	}
}

// tradeOne runs one trading request other than a place and answers it; a
// panic answers 500 and is logged.
func (ws *wsSession) tradeOne(ctx context.Context, t *wsTrade) {
	defer ws.release(1)
	defer func() {
		if v := recover(); v != nil {
			ws.s.log.Error("gateway: websocket handler panic", "op", t.req.Op, "panic", v)
			ws.answer(&t.req, nil, Errf(http.StatusInternalServerError, CodeInternal, "", "internal error; it has been logged"))
		}
	}()
	result, e := ws.trade(ctx, &t.req, t.client)
	ws.answer(&t.req, result, e)
}

// tradeClient is the account trading requests act for, or why there is none.
func (ws *wsSession) tradeClient() (engine.ClientID, *Error) {
	k := ws.loggedIn()
	if k == nil || !k.Has(PermTrade) {
		return 0, Errf(http.StatusUnauthorized, CodeUnauthorized, "", "log in with a key that has the trade permission first")
	}
	return engine.ClientID(k.Account), nil
}

func (ws *wsSession) trade(ctx context.Context, req *wsRequest, client engine.ClientID) (any, *Error) {
	switch req.Op {
	case "cancel":
		var c wsCancel
		if e := DecodeStrict(req.Args, &c); e != nil {
			return nil, e
		}
		return ws.cancel(ctx, &c, client)
	}
	var c struct {
		Symbol string `json:"symbol,omitempty"`
	}
	if len(req.Args) > 0 {
		if e := DecodeStrict(req.Args, &c); e != nil {
			return nil, e
		}
	}
	m := engine.AllMarkets
	if c.Symbol != "" {
		var e *Error
		if m, e = ws.s.market(c.Symbol, "symbol"); e != nil {
			return nil, e
		}
	}
	res, e := ws.s.submit(ctx, &engine.Command{Kind: engine.CmdCancelAll, Client: client, Market: m})
	if e == nil && res.Code != engine.OK {
		e = engineError(res.Code)
	}
	return map[string]any{"cancelled_all": e == nil}, e
}

func (ws *wsSession) cancel(ctx context.Context, c *wsCancel, client engine.ClientID) (any, *Error) {
	m, e := ws.s.market(c.Symbol, "symbol")
	if e != nil {
		return nil, e
	}
	cmd := &engine.Command{Kind: engine.CmdCancelOrder, Client: client, Market: m}
	switch {
	case c.OrderID != "" && c.ClientOrderID == "":
		if cmd.Order, e = parseOrderID(c.OrderID, "order_id"); e != nil {
			return nil, e
		}
	case c.ClientOrderID != "" && c.OrderID == "" && validClientOrderID(c.ClientOrderID):
		cmd.OrigKey = KeyOf(c.ClientOrderID)
	default:
		return nil, badField(CodeInvalidField, "order_id", "give exactly one of order_id or a valid client_order_id")
	}
	res, e := ws.s.submit(ctx, cmd)
	if e != nil {
		return nil, e
	}
	if res.Code != engine.OK {
		return nil, engineError(res.Code)
	}
	ws.s.settle(ctx)
	v, _ := ws.s.md.Order(client, m, res.Order)
	return v, nil
}
