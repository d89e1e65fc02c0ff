package gateway

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"net"
	"net/http"
	"net/netip"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/coder/websocket"

	"github.com/sampan-hk/sampan/core/engine"
	"github.com/sampan-hk/sampan/marketdata"
)

// WebSocket protocol (GET /v1/ws), one JSON object per text message.
//
// Client → server: {"op": ..., "id": "<request id>", ...}
//
//	subscribe / unsubscribe  "channels": ["depth:BTC-USD-PERP", "trades:…", "ticker:…", "mark:…", "index:…",
//	                          "funding:…", "liquidations:…", "orders", "fills", "positions", "funding_payments",
//	                          "balances"] (private ones after login; "liquidations:…" carries every
//	                          liquidation, never throttled)
//	login                    "args": {"key", "timestamp", "signature"}; signature =
//	                          hex HMAC-SHA256(secret, timestamp + "LOGIN" + "/v1/ws")
//	place                    "args": the POST /v1/orders body
//	place_batch              "args": the POST /v1/orders/batch body ({"orders": [≤ 20]}); result
//	                          {"results": [...]}, one per order in request order, executed in that order (see placeBatch)
//	cancel                   "args": {"symbol", "order_id" | "client_order_id"}
//	cancel_all               "args": {"symbol"?}
//	ping
//
// Server → client: replies {"id", "op", "status", "result" | "error"} and
// stream messages {"channel", "symbol"?, "type"?, "data"}. Depth starts with
// a snapshot; each update has seq = prev_seq + 1.
//
// Pipelining: a connection may have up to wsInflightMax place / place_batch
// / cancel / cancel_all requests in flight (a batch is one request). They
// are executed in arrival order: places that are waiting together go to
// the log as one run, applied consecutively in that order (see
// submitLoop), so a cancel sent after a place, without waiting for its
// reply, applies after it. Each request is answered once its commands are
// durable; replies carry the request's "id" for matching (a request
// refused before execution, such as a malformed order, is answered at
// once, possibly before earlier requests). Beyond the limit the server
// stops reading the connection until a request completes. Every other op
// (login, subscribe, unsubscribe, ping) is handled in arrival order,
// before the next message is read, so a pipelined login is in effect for
// the requests after it.
//
// Each connection has a bounded send buffer; when it overflows the
// connection is closed with status 1008 and the reason. If the logged-in
// key has CancelOnDisconnect, the account's orders are cancelled when the
// connection ends for any reason.

const (
	wsLoginMethod = "LOGIN"
	wsPath        = "/v1/ws"
	wsWriteWait   = 10 * time.Second
	wsWriteRenew  = time.Second // see writeLoop
	// wsSubscriptionsMax bounds topics per connection.
	wsSubscriptionsMax = 64
	// wsInflightMax bounds the trading requests a connection has in flight.
	// Each waits for its command to be durable (about a millisecond or two),
	// so one-at-a-time handling caps a connection at 1/latency; a window
	// lets a pipelining client go as fast as the engine, while bounding the
	// goroutines and memory one connection can hold.
	wsInflightMax = 256
	// wsRunMax bounds the orders one run submits together (see
	// submitLoop): a run's replies are queued at once, and a long run
	// would hold the first order's reply back for the last one's.
	wsRunMax = 64
	// wsRepliesMax is the reply queue: room for every in-flight request's
	// answer plus the in-order ones, so a client that reads its replies is
	// never mistaken for a slow consumer.
	wsRepliesMax = wsInflightMax + 64
)

type wsRequest struct {
	Op       string          `json:"op"`
	ID       string          `json:"id,omitempty"`
	Channels []string        `json:"channels,omitempty"`
	Args     json.RawMessage `json:"args,omitempty"`
}

type wsReply struct {
	ID     string `json:"id,omitempty"`
	Op     string `json:"op"`
	Status int    `json:"status"`
	Result any    `json:"result,omitempty"`
	Error  *Error `json:"error,omitempty"`
}

type wsLogin struct {
	Key       string `json:"key"`
	Timestamp string `json:"timestamp"`
	Signature string `json:"signature"`
}

type wsSession struct {
	s       *Server
	conn    *websocket.Conn
	l       *marketdata.Listener
	remote  netip.Addr
	replies chan []byte
	cork    *corkConn // nil if the connection could not be wrapped

	// slots holds one token per trading request in flight (queued or
	// executing); queue is the trading requests in arrival order, for
	// submitLoop, which the session waits for before cancel-on-disconnect
	// so that no order placed by this connection lands after the cancel-all.
	slots chan struct{}
	queue chan *wsTrade
	cmds  []*engine.Command // submitLoop's run, reused

	mu       sync.Mutex // key and balances are set by the reader, read by the writer
	key      *Key
	balances bool
	subs     int
}

func (s *Server) serveWS(w http.ResponseWriter, r *http.Request) {
	if e := query(r); e != nil {
		WriteError(w, e)
		return
	}
	cw := &corkingResponseWriter{ResponseWriter: w}
	c, err := websocket.Accept(cw, r, &websocket.AcceptOptions{OriginPatterns: s.cfg.WSOriginPatterns})
	if err != nil {
		return // Accept has answered the request
	}
	c.SetReadLimit(s.cfg.BodyLimit)
	ws := &wsSession{s: s, conn: c, cork: cw.cork, l: s.md.NewListener(), remote: s.cfg.TrustedProxies.ClientIP(r),
		replies: make(chan []byte, wsRepliesMax), slots: make(chan struct{}, wsInflightMax),
		queue: make(chan *wsTrade, wsInflightMax)}
	ws.run()
}

func (ws *wsSession) run() {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	readDone, submitDone := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(readDone)
		defer cancel()
		ws.readLoop(ctx)
	}()
	go func() {
		defer close(submitDone)
		ws.submitLoop(ctx)
	}()
	code, reason := ws.writeLoop(ctx)
	ws.s.md.Close(ws.l)
	_ = ws.conn.Close(code, reason) // ends the reader, which cancels ctx
	// The reader is the only one that queues requests: once it is gone,
	// the queue is closed and the submitter finishes what it holds (a
	// request not yet submitted is dropped: the connection has ended), so
	// the cancel-all below comes after every order of this connection.
	<-readDone
	close(ws.queue)
	<-submitDone
	ws.mu.Lock()
	k := ws.key
	ws.mu.Unlock()
	if k != nil && k.CancelOnDisconnect {
		cctx, ccancel := context.WithTimeout(context.Background(), ws.s.cfg.SubmitTimeout)
		defer ccancel()
		res, e := ws.s.submit(cctx, &engine.Command{Kind: engine.CmdCancelAll, Client: engine.ClientID(k.Account), Market: engine.AllMarkets})
		if e != nil || res.Code != engine.OK {
			ws.s.log.Error("gateway: cancel-on-disconnect failed", "key", k.ID, "code", res.Code.String())
		}
	}
}

// writeLoop is the only writer. It returns the close status and reason.
func (ws *wsSession) writeLoop(ctx context.Context) (websocket.StatusCode, string) {
	dropped := func() (websocket.StatusCode, string) {
		if ws.l.Reason() == marketdata.ReasonShutdown {
			return websocket.StatusGoingAway, marketdata.ReasonShutdown
		}
		return websocket.StatusPolicyViolation, ws.l.Reason()
	}
	// coder/websocket flushes every message with its own write(2); when
	// more messages are already queued, the connection is corked so that a
	// burst goes out in one write, and uncorked once the queue is empty.
	corked := false
	defer func() {
		if corked {
			_ = ws.cork.set(false)
		}
	}()
	pending := func() bool { return len(ws.replies) > 0 || len(ws.l.C) > 0 }
	var dl writeDeadline
	if ws.cork != nil {
		dl.conn = ws.cork.Conn
	}
	defer dl.release()
	for {
		// A dropped listener wins over pending messages: its buffer
		// overflowed, so what is queued is already incomplete.
		select {
		case <-ws.l.Done:
			return dropped()
		default:
		}
		var msg []byte
		select {
		case <-ctx.Done():
			return websocket.StatusNormalClosure, ""
		case <-ws.l.Done:
			return dropped()
		case msg = <-ws.replies:
		case msg = <-ws.l.C:
		case <-ws.l.Account:
			msg = ws.balanceMsg()
			if msg == nil {
				continue
			}
		}
		if ws.cork != nil && !corked && (pending() || moreSoon(pending)) {
			_ = ws.cork.set(true)
			corked = true
		}
		err := ws.conn.Write(dl.get(ctx), websocket.MessageText, msg)
		idle := !pending()
		if err == nil && corked && idle {
			corked = false
			err = ws.cork.set(false)
		}
		if idle {
			dl.release()
		}
		if err != nil {
			return websocket.StatusGoingAway, "write failed"
		}
	}
}

// moreSoon yields the processor once and reports whether messages were
// queued meanwhile. Replies come in bursts (one commit answers many
// pipelined requests, whose goroutines are runnable at the same moment
// the first reply arrives); letting them run before the first write puts
// the burst in one write(2) instead of one each.
func moreSoon(pending func() bool) bool {
	runtime.Gosched()
	return pending()
}

// writeDeadline is the write loop's deadline. One serves a burst: a
// context with a timer per message cost more than writing a small message
// into the cork. It is renewed once older than wsWriteRenew, so every write
// still gets at least wsWriteWait − wsWriteRenew, and released when the
// queue is empty, so an idle connection holds no timer.
//
// With the hijacked connection at hand (conn), the deadline is the
// connection's own write deadline and writes get a context that never
// ends: coder/websocket arms a context.AfterFunc for every write whose
// context can end, which cost more than the write itself.
type writeDeadline struct {
	conn   net.Conn // nil: a context deadline instead
	ctx    context.Context
	cancel context.CancelFunc
	from   time.Time
}

func (d *writeDeadline) get(parent context.Context) context.Context {
	now := time.Now()
	if d.conn != nil {
		if d.from.IsZero() || now.Sub(d.from) > wsWriteRenew {
			_ = d.conn.SetWriteDeadline(now.Add(wsWriteWait))
			d.from = now
		}
		return context.Background()
	}
	if d.ctx == nil || now.Sub(d.from) > wsWriteRenew {
		d.release()
		d.ctx, d.cancel = context.WithTimeout(parent, wsWriteWait)
		d.from = now
	}
	return d.ctx
}

func (d *writeDeadline) release() {
	if d.conn != nil {
		if !d.from.IsZero() {
			_ = d.conn.SetWriteDeadline(time.Time{})
			d.from = time.Time{}
		}
		return
	}
	if d.cancel != nil {
		d.cancel()
	}
	d.ctx, d.cancel = nil, nil
}

// wsCorkMax bounds the bytes held while corked; past it they are written.
// wsCorkKeep is the buffer a connection keeps between bursts: with many
// connections, keeping wsCorkMax each would add up.
const (
	wsCorkMax  = 64 << 10
	wsCorkKeep = 8 << 10
)

// corkConn is the hijacked connection under coder/websocket, which has no
// API to write several messages with one flush. While corked, writes are
// collected (whole frames, in order) and sent together on uncork. Frames
// that coder/websocket writes on its own (pongs, close) pass through the
// same buffer, so the order on the wire is unchanged; the write loop never
// stays corked once its queue is empty.
type corkConn struct {
	net.Conn
	mu     sync.Mutex
	corked bool
	buf    []byte
}

func (c *corkConn) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.corked {
		return c.Conn.Write(p)
	}
	c.buf = append(c.buf, p...)
	if len(c.buf) >= wsCorkMax {
		if err := c.flushLocked(); err != nil {
			return 0, err
		}
	}
	return len(p), nil
}

// set corks or uncorks; uncorking writes what was collected, bounded by
// wsWriteWait like any other write.
func (c *corkConn) set(on bool) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.corked = on
	if on || len(c.buf) == 0 {
		return nil
	}
	_ = c.Conn.SetWriteDeadline(time.Now().Add(wsWriteWait))
	err := c.flushLocked()
	_ = c.Conn.SetWriteDeadline(time.Time{})
	return err
}

func (c *corkConn) flushLocked() error {
	_, err := c.Conn.Write(c.buf)
	if cap(c.buf) > wsCorkKeep {
		c.buf = nil // an idle connection should not hold a burst's memory
	} else {
		c.buf = c.buf[:0]
	}
	return err
}

// corkingResponseWriter interposes corkConn when coder/websocket hijacks
// the HTTP connection.
type corkingResponseWriter struct {
	http.ResponseWriter
	cork *corkConn
}

func (w *corkingResponseWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

func (w *corkingResponseWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	c, brw, err := http.NewResponseController(w.ResponseWriter).Hijack()
	if err != nil {
		return nil, nil, err
	}
	// net/http returns the writer empty; flush anyway before redirecting
	// it, so nothing already buffered can be lost.
	if err := brw.Writer.Flush(); err != nil {
		return nil, nil, err
	}
	w.cork = &corkConn{Conn: c}
	brw.Writer.Reset(w.cork)
	return w.cork, brw, nil
}

// balanceMsg recomputes the account once per signal (signals coalesce), and
// adds a margin alert when the account is at or past its limits.
func (ws *wsSession) balanceMsg() []byte {
	ws.mu.Lock()
	k, on := ws.key, ws.balances
	ws.mu.Unlock()
	if k == nil || !on {
		return nil
	}
	a, ok := ws.s.accountView(engine.ClientID(k.Account))
	if !ok {
		return nil
	}
	b, _ := json.Marshal(marketdata.Message{Channel: "balances", Data: a})
	if a.Liquidatable || strings.HasPrefix(a.Available, "-") {
		level := "margin_call"
		if a.Liquidatable {
			level = "liquidatable"
		}
		alert, _ := json.Marshal(marketdata.Message{Channel: "margin", Data: map[string]any{"level": level, "equity": a.Equity,
			"maintenance_margin": a.MM, "required_margin": a.Required, "available": a.Available}})
		ws.reply(alert)
	}
	return b
}

// reply queues a direct answer; a client that does not read its answers
// is a slow consumer like any other.
func (ws *wsSession) reply(b []byte) {
	select {
	case ws.replies <- b:
	default:
		ws.s.md.Drop(ws.l, "slow consumer: replies not read") // ends the write loop via Done
	}
}

func (ws *wsSession) answer(req *wsRequest, result any, e *Error) {
	if e == nil { // the order path's answers: hand-written encoders (orderjson.go)
		switch v := result.(type) {
		case *OrderResponse:
			if req.Op == "place" {
				ws.reply(appendWSPlaceReply(make([]byte, 0, 384), req.ID, v))
				return
			}
		case batchResult:
			if req.Op == "place_batch" {
				ws.reply(appendWSBatchReply(make([]byte, 0, 64+320*len(v.Results)), req.ID, v.Results))
				return
			}
		}
	}
	rep := wsReply{ID: req.ID, Op: req.Op, Status: http.StatusOK, Result: result}
	if e != nil {
		rep.Status, rep.Error, rep.Result = e.Status, e, nil
		if f := ws.s.cfg.OnWSError; f != nil {
			f(e.Code)
		}
	}
	b, _ := json.Marshal(rep)
	ws.reply(b)
}

// wsReadKeep is the read buffer a connection keeps between messages; one
// grown past it by a large message is dropped afterwards.
const wsReadKeep = 16 << 10

// readLoop reads each message into one reused buffer (conn.Read allocates
// and grows a fresh one per message). handle keeps nothing that points
// into it: decoded strings and args are copies (TestFastDecodeArgsAreCopied).
func (ws *wsSession) readLoop(ctx context.Context) {
	var buf bytes.Buffer
	for {
		// Not ctx: coder/websocket arms a context.AfterFunc per read
		// whose context can end. The read ends when the connection is
		// closed, which run does once the write loop stops.
		_, r, err := ws.conn.Reader(context.Background())
		if err != nil {
			return
		}
		buf.Reset()
		if _, err := buf.ReadFrom(r); err != nil {
			return // over the read limit, or the connection failed
		}
		ws.handle(ctx, buf.Bytes())
		if buf.Cap() > wsReadKeep {
			buf = bytes.Buffer{}
		}
	}
}

// handle runs one client message; a panic answers 500 and is logged, the
// connection stays up.
func (ws *wsSession) handle(ctx context.Context, data []byte) {
	var req wsRequest
	defer func() {
		if v := recover(); v != nil {
			ws.s.log.Error("gateway: websocket handler panic", "op", req.Op, "panic", v)
			ws.answer(&req, nil, Errf(http.StatusInternalServerError, CodeInternal, "", "internal error; it has been logged"))
		}
	}()
	if e := DecodeStrict(data, &req); e != nil {
		// Echo the request id when it can be read at all, so the client
		// can match the error to its request.
		var probe struct {
			ID string `json:"id"`
			Op string `json:"op"`
		}
		_ = json.Unmarshal(data, &probe)
		req.ID, req.Op = probe.ID, probe.Op
		ws.answer(&req, nil, e)
		return
	}
	lim, what := ws.remote.String(), "IP address"
	if k := ws.loggedIn(); k != nil {
		lim, what = k.ID, "API key"
	}
	if e := ws.limiter(what).Allow(lim, what); e != nil {
		ws.answer(&req, nil, e)
		return
	}
	switch req.Op {
	case "place", "place_batch", "cancel", "cancel_all":
		t, e := ws.newTrade(&req)
		if e != nil {
			ws.answer(&req, nil, e)
			return
		}
		select {
		case ws.slots <- struct{}{}:
		case <-ctx.Done():
			return
		}
		ws.queue <- t // never blocks: slots bounds what is queued
		return
	}
	result, e := ws.dispatch(ctx, &req)
	ws.answer(&req, result, e)
}

func (ws *wsSession) limiter(what string) *Limiter {
	if what == "API key" {
		return ws.s.keyLim
	}
	return ws.s.ipLim
}

func (ws *wsSession) loggedIn() *Key {
	ws.mu.Lock()
	defer ws.mu.Unlock()
	return ws.key
}

func (ws *wsSession) dispatch(ctx context.Context, req *wsRequest) (any, *Error) {
	switch req.Op {
	case "ping":
		return map[string]any{"pong": true}, nil
	case "subscribe", "unsubscribe":
		return ws.subscribe(req)
	case "login":
		return ws.login(req)
	case "place", "place_batch", "cancel", "cancel_all":
		client, e := ws.tradeClient()
		if e != nil {
			return nil, e
		}
		return ws.trade(ctx, req, client)
	}
	return nil, badField(CodeInvalidField, "op", "op must be one of ping, subscribe, unsubscribe, login, place, place_batch, cancel, cancel_all")
}

func (ws *wsSession) login(req *wsRequest) (any, *Error) {
	var a wsLogin
	if e := DecodeStrict(req.Args, &a); e != nil {
		return nil, e
	}
	if ws.loggedIn() != nil {
		return nil, Errf(http.StatusConflict, CodeInvalidField, "", "this connection is already logged in")
	}
	k, e := ws.s.auth.CheckSigned(a.Key, a.Timestamp, a.Signature, wsLoginMethod, wsPath, nil, ws.remote)
	if e != nil {
		return nil, e
	}
	if k.Role != RoleNone || k.Account == 0 || !k.Has(PermRead) {
		return nil, Errf(http.StatusForbidden, CodeForbidden, "", "streams need a client key with the read permission")
	}
	ws.mu.Lock()
	ws.key = k
	ws.mu.Unlock()
	ws.s.md.Login(ws.l, engine.ClientID(k.Account))
	return map[string]any{"client_id": k.Account, "cancel_on_disconnect": k.CancelOnDisconnect}, nil
}

// subscribe handles "depth:SYMBOL"-style public channels and bare private
// channel names.
func (ws *wsSession) subscribe(req *wsRequest) (any, *Error) {
	if len(req.Channels) == 0 {
		return nil, badField(CodeMissingField, "channels", "channels is required")
	}
	on := req.Op == "subscribe"
	for i, name := range req.Channels {
		field := "channels[" + itoa(int64(i)) + "]"
		if e := ws.subscribeOne(name, field, on); e != nil {
			return nil, e
		}
	}
	return map[string]any{"channels": req.Channels}, nil
}

func (ws *wsSession) subscribeOne(name, field string, on bool) *Error {
	chName, sym, public := strings.Cut(name, ":")
	switch chName {
	case "balances":
		if ws.loggedIn() == nil {
			return Errf(http.StatusUnauthorized, CodeUnauthorized, field, "log in before subscribing to private channels")
		}
		ws.mu.Lock()
		ws.balances = on
		ws.mu.Unlock()
		if on {
			select {
			case ws.l.Account <- struct{}{}: // send the current balances at once
			default:
			}
		}
		return nil
	}
	ch, ok := marketdata.ParseChannel(chName)
	if !ok || ch.Private() == public {
		return badField(CodeInvalidField, field, "unknown channel "+quote(name)+"; public: depth|trades|ticker|mark|index|funding|liquidations:SYMBOL, private: orders, fills, positions, funding_payments, balances")
	}
	if ch.Private() && ws.loggedIn() == nil {
		return Errf(http.StatusUnauthorized, CodeUnauthorized, field, "log in before subscribing to private channels")
	}
	var m engine.MarketID
	if public {
		var e *Error
		if m, e = ws.s.market(sym, field); e != nil {
			return e
		}
		if ws.s.specs[m].Kind == engine.Spot && perpOnly(ch) {
			return Errf(http.StatusNotFound, CodeNotPerpetual, field, sym+" is a spot market: it has no "+chName+" channel")
		}
	}
	if !on {
		ws.s.md.Unsubscribe(ws.l, ch, m)
		return nil
	}
	ws.mu.Lock()
	ws.subs++
	n := ws.subs
	ws.mu.Unlock()
	if n > wsSubscriptionsMax {
		return Errf(http.StatusBadRequest, CodeTooManyItems, field, "at most "+itoa(wsSubscriptionsMax)+" subscriptions per connection")
	}
	if public {
		ws.s.md.SubscribePublic(ws.l, ch, m)
	} else {
		ws.s.md.SubscribePrivate(ws.l, ch)
	}
	return nil
}

// perpOnly: channels whose data only a perpetual has (mark, funding,
// liquidations); subscribing to one on a spot market would never emit.
func perpOnly(ch marketdata.Channel) bool {
	return ch == marketdata.ChanMark || ch == marketdata.ChanFunding || ch == marketdata.ChanLiquidations
}
