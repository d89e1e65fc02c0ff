package binance

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/coder/websocket"

	"github.com/sampan-hk/sampan/core/engine"
	"github.com/sampan-hk/sampan/gateway"
	"github.com/sampan-hk/sampan/marketdata"
)

// Named limits of the streams.
const (
	StreamsPerConnMax = 200 // Binance's limit of streams per connection
	wsWriteWait       = 10 * time.Second
)

// listenKeys are user-data stream tokens: one live key per account, valid
// for ListenKeyTTL after creation or the last keepalive.
type listenKeys struct {
	mu      sync.Mutex
	max     int
	byKey   map[string]*listenKey
	byOwner map[uint64]*listenKey
}

type listenKey struct {
	key     string
	account uint64
	expires time.Time
}

func newListenKeys(max int) *listenKeys {
	return &listenKeys{max: max, byKey: map[string]*listenKey{}, byOwner: map[uint64]*listenKey{}}
}

func (l *listenKeys) create(account uint64, now time.Time, ttl time.Duration) (string, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if k, ok := l.byOwner[account]; ok && now.Before(k.expires) {
		k.expires = now.Add(ttl)
		return k.key, true
	}
	for key, k := range l.byKey { // drop expired keys before counting
		if !now.Before(k.expires) {
			delete(l.byKey, key)
			delete(l.byOwner, k.account)
		}
	}
	if len(l.byKey) >= l.max {
		return "", false
	}
	var b [32]byte
	_, _ = rand.Read(b[:])
	k := &listenKey{key: hex.EncodeToString(b[:]), account: account, expires: now.Add(ttl)}
	l.byKey[k.key], l.byOwner[account] = k, k
	return k.key, true
}

func (l *listenKeys) keepalive(account uint64, now time.Time, ttl time.Duration) (string, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	k, ok := l.byOwner[account]
	if !ok || !now.Before(k.expires) {
		return "", false
	}
	k.expires = now.Add(ttl)
	return k.key, true
}

func (l *listenKeys) close(account uint64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if k, ok := l.byOwner[account]; ok {
		delete(l.byKey, k.key)
		delete(l.byOwner, account)
	}
}

// lookup returns the account of a live key and its expiry.
func (l *listenKeys) lookup(key string, now time.Time) (uint64, time.Time, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	k, ok := l.byKey[key]
	if !ok || !now.Before(k.expires) {
		return 0, time.Time{}, false
	}
	return k.account, k.expires, true
}

func (h *Handler) listenKeyHandler(fn func(w http.ResponseWriter, k *gateway.Key) *Error) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		p, e := h.readParams(w, r)
		var k *gateway.Key
		if e == nil {
			k, e = h.apiKey(r)
		}
		if e == nil && !k.Has(gateway.PermRead) {
			e = errKey
		}
		if e == nil {
			e = p.only("listenKey", "timestamp", "recvWindow", "signature")
		}
		if e == nil {
			if h.keyLim.Allow(k.ID, "API key") != nil {
				e = errf(429, CodeTooManyRequests, "Too many requests; current limit of API key is exceeded; please back off.")
			}
		}
		if e == nil {
			e = fn(w, k)
		}
		if e != nil {
			writeError(w, e)
		}
	}
}

func (h *Handler) postListenKey(w http.ResponseWriter, k *gateway.Key) *Error {
	key, ok := h.lkeys.create(k.Account, h.cfg.Now(), h.cfg.ListenKeyTTL)
	if !ok {
		return errf(429, CodeTooManyRequests, "Too many listen keys are open; close unused ones.")
	}
	writeJSON(w, 200, map[string]any{"listenKey": key})
	return nil
}

func (h *Handler) putListenKey(w http.ResponseWriter, k *gateway.Key) *Error {
	key, ok := h.lkeys.keepalive(k.Account, h.cfg.Now(), h.cfg.ListenKeyTTL)
	if !ok {
		return errf(400, -1125, "This listenKey does not exist.")
	}
	writeJSON(w, 200, map[string]any{"listenKey": key})
	return nil
}

func (h *Handler) deleteListenKey(w http.ResponseWriter, k *gateway.Key) *Error {
	h.lkeys.close(k.Account)
	writeJSON(w, 200, map[string]any{})
	return nil
}

// stream is one parsed market stream name.
type stream struct {
	name   string
	ch     marketdata.Channel
	market engine.MarketID
	all    bool // !forceOrder@arr, !markPrice@arr
}

// parseStream reads "btcusdt@aggTrade", "btcusdt@depth@100ms",
// "btcusdt@markPrice@1s", "btcusdt@forceOrder", "!forceOrder@arr",
// "!markPrice@arr[@1s]".
func (h *Handler) parseStream(name string) ([]stream, bool) {
	switch name {
	case "!forceOrder@arr":
		var out []stream
		for i := range h.specs {
			out = append(out, stream{name: name, ch: marketdata.ChanLiquidations, market: engine.MarketID(i), all: true})
		}
		return out, true
	case "!markPrice@arr", "!markPrice@arr@1s":
		var out []stream
		for i := range h.specs {
			out = append(out, stream{name: name, ch: marketdata.ChanMark, market: engine.MarketID(i), all: true})
		}
		return out, true
	}
	sym, kind, ok := strings.Cut(name, "@")
	if !ok {
		return nil, false
	}
	m, ok := h.bySym[strings.ToUpper(sym)]
	if !ok || sym != strings.ToLower(sym) {
		return nil, false
	}
	s := stream{name: name, market: m}
	switch kind {
	case "aggTrade", "trade":
		s.ch = marketdata.ChanTrades
	case "depth", "depth@100ms", "depth@250ms", "depth@500ms":
		s.ch = marketdata.ChanDepth
	case "markPrice", "markPrice@1s":
		s.ch = marketdata.ChanMark
	case "forceOrder":
		s.ch = marketdata.ChanLiquidations
	default:
		return nil, false
	}
	return []stream{s}, true
}

// wsConn is one WebSocket connection: market streams, or a user-data
// stream when opened on /ws/<listenKey>.
type wsConn struct {
	h        *Handler
	conn     *websocket.Conn
	l        *marketdata.Listener
	combined bool
	out      chan []byte // replies to SUBSCRIBE etc.

	mu      sync.Mutex
	streams map[string][]stream // name → parsed
	byTopic map[topicKey][]string

	// user-data stream
	account   uint64
	listenKey string
	expires   time.Time
	fills     map[string]marketdata.FillView // order id → last fill, joined with the order update that follows
}

type topicKey struct {
	ch     marketdata.Channel
	market engine.MarketID
}

func (h *Handler) serveStreams(w http.ResponseWriter, r *http.Request) {
	c := &wsConn{h: h, l: h.md.NewListener(), out: make(chan []byte, 64), streams: map[string][]stream{},
		byTopic: map[topicKey][]string{}, fills: map[string]marketdata.FillView{}}
	var names []string
	name := r.PathValue("name")
	switch {
	case strings.HasPrefix(r.URL.Path, "/private/"):
		// User data only: /private/ws?listenKey=<key> or /private/ws/<key>.
		key := r.URL.Query().Get("listenKey")
		if name != "" {
			key = name
		}
		acct, exp, ok := h.lkeys.lookup(key, h.cfg.Now())
		if !ok {
			writeError(w, errf(400, -1125, "This listenKey does not exist."))
			return
		}
		c.account, c.listenKey, c.expires = acct, key, exp
	case strings.HasSuffix(r.URL.Path, "/stream"):
		c.combined = true
		if v := r.URL.Query().Get("streams"); v != "" {
			names = strings.Split(v, "/")
		}
	case name != "":
		if acct, exp, ok := h.lkeys.lookup(name, h.cfg.Now()); ok && r.URL.Path == "/ws/"+name {
			c.account, c.listenKey, c.expires = acct, name, exp // legacy user-data URL
		} else {
			names = strings.Split(name, "/")
		}
	}
	if len(names) > StreamsPerConnMax {
		writeError(w, errf(400, CodeInvalidParam, "At most 200 streams per connection."))
		return
	}
	if !strings.EqualFold(r.Header.Get("Upgrade"), "websocket") {
		writeError(w, errf(400, CodeUnsupportedOp, "This is a WebSocket endpoint; open it with a WebSocket client."))
		return
	}
	// Subscribe before the handshake completes, so nothing that happens
	// after the client sees the connection open is missed.
	if c.account != 0 {
		h.md.Login(c.l, engine.ClientID(c.account))
		for _, ch := range []marketdata.Channel{marketdata.ChanOrders, marketdata.ChanFills, marketdata.ChanPositions} {
			h.md.SubscribePrivate(c.l, ch)
		}
	}
	// Names in the URL that are no stream are ignored, as Binance does
	// (ccxt opens /ws/<n> with a connection index n and then SUBSCRIBEs);
	// SUBSCRIBE itself rejects unknown names.
	for _, n := range names {
		c.subscribe(n)
	}
	conn, err := websocket.Accept(w, r, &websocket.AcceptOptions{OriginPatterns: h.cfg.WSOriginPatterns})
	if err != nil {
		h.md.Close(c.l)
		return
	}
	conn.SetReadLimit(h.cfg.BodyLimit)
	c.conn = conn
	c.run()
}

func (c *wsConn) subscribe(name string) bool {
	ss, ok := c.h.parseStream(name)
	if !ok {
		return false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, dup := c.streams[name]; dup {
		return true
	}
	if len(c.streams) >= StreamsPerConnMax {
		return false
	}
	c.streams[name] = ss
	for _, s := range ss {
		t := topicKey{s.ch, s.market}
		if len(c.byTopic[t]) == 0 {
			c.h.md.SubscribePublic(c.l, s.ch, s.market)
		}
		c.byTopic[t] = append(c.byTopic[t], name)
	}
	return true
}

func (c *wsConn) unsubscribe(name string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	ss, ok := c.streams[name]
	if !ok {
		return
	}
	delete(c.streams, name)
	for _, s := range ss {
		t := topicKey{s.ch, s.market}
		names := c.byTopic[t][:0]
		for _, n := range c.byTopic[t] {
			if n != name {
				names = append(names, n)
			}
		}
		c.byTopic[t] = names
		if len(names) == 0 {
			delete(c.byTopic, t)
			c.h.md.Unsubscribe(c.l, s.ch, s.market)
		}
	}
}

func (c *wsConn) run() {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		defer cancel()
		c.readLoop(ctx)
	}()
	code, reason := c.writeLoop(ctx)
	c.h.md.Close(c.l)
	_ = c.conn.Close(code, reason)
}

type wsRequest struct {
	Method string          `json:"method"`
	Params []string        `json:"params"`
	ID     json.RawMessage `json:"id"`
}

func (c *wsConn) readLoop(ctx context.Context) {
	for {
		_, data, err := c.conn.Read(ctx)
		if err != nil {
			return
		}
		var req wsRequest
		var reply map[string]any
		if json.Unmarshal(data, &req) != nil {
			reply = map[string]any{"error": map[string]any{"code": 3, "msg": "Invalid JSON: expected a request object"}}
		} else {
			reply = c.handleRequest(&req)
		}
		b, _ := json.Marshal(reply)
		select {
		case c.out <- b:
		case <-ctx.Done():
			return
		}
	}
}

func (c *wsConn) handleRequest(req *wsRequest) map[string]any {
	id := any(req.ID)
	if req.ID == nil {
		id = nil
	}
	bad := func(msg string) map[string]any {
		return map[string]any{"error": map[string]any{"code": 2, "msg": msg}, "id": id}
	}
	switch req.Method {
	case "SUBSCRIBE":
		for _, n := range req.Params {
			if _, ok := c.h.parseStream(n); !ok {
				return bad("Invalid request: unknown stream '" + n + "'")
			}
		}
		for _, n := range req.Params {
			if !c.subscribe(n) {
				return bad("Invalid request: at most 200 streams per connection")
			}
		}
		return map[string]any{"result": nil, "id": id}
	case "UNSUBSCRIBE":
		for _, n := range req.Params {
			c.unsubscribe(n)
		}
		return map[string]any{"result": nil, "id": id}
	case "LIST_SUBSCRIPTIONS":
		c.mu.Lock()
		names := make([]string, 0, len(c.streams))
		for n := range c.streams {
			names = append(names, n)
		}
		c.mu.Unlock()
		sort.Strings(names)
		return map[string]any{"result": names, "id": id}
	}
	return bad("Invalid request: unknown method '" + req.Method + "'")
}

func (c *wsConn) writeLoop(ctx context.Context) (websocket.StatusCode, string) {
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		var msgs [][]byte
		select {
		case <-ctx.Done():
			return websocket.StatusNormalClosure, ""
		case <-c.h.done:
			return websocket.StatusGoingAway, "server shutting down"
		case <-c.l.Done:
			return websocket.StatusPolicyViolation, c.l.Reason()
		case b := <-c.out:
			msgs = [][]byte{b}
		case b := <-c.l.C:
			msgs = c.translate(b)
		case <-c.l.Account:
			if c.account != 0 {
				msgs = [][]byte{c.accountUpdate(nil)}
			}
		case <-tick.C:
			if c.account != 0 {
				if _, exp, ok := c.h.lkeys.lookup(c.listenKey, c.h.cfg.Now()); !ok {
					b, _ := json.Marshal(map[string]any{"e": "listenKeyExpired", "E": c.h.nowMs(), "listenKey": c.listenKey})
					_ = c.write(ctx, b)
					return websocket.StatusNormalClosure, "listen key expired"
				} else {
					c.expires = exp
				}
			}
		}
		for _, b := range msgs {
			if err := c.write(ctx, b); err != nil {
				return websocket.StatusGoingAway, "write failed"
			}
		}
	}
}

func (c *wsConn) write(ctx context.Context, b []byte) error {
	wctx, cancel := context.WithTimeout(ctx, wsWriteWait)
	defer cancel()
	return c.conn.Write(wctx, websocket.MessageText, b)
}

// sampanMsg is the read model's message envelope.
type sampanMsg struct {
	Channel string          `json:"channel"`
	Symbol  string          `json:"symbol"`
	Type    string          `json:"type"`
	Data    json.RawMessage `json:"data"`
}

func (h *Handler) marketOf(sym string) (engine.MarketID, bool) {
	for i := range h.specs {
		if h.specs[i].Symbol == sym {
			return engine.MarketID(i), true
		}
	}
	return 0, false
}

// translate turns one read-model message into Binance stream messages.
func (c *wsConn) translate(b []byte) [][]byte {
	var msg sampanMsg
	if json.Unmarshal(b, &msg) != nil {
		return nil
	}
	ch, ok := marketdata.ParseChannel(msg.Channel)
	if !ok {
		return nil
	}
	if ch.Private() {
		return c.translatePrivate(ch, msg.Data)
	}
	m, ok := c.h.marketOf(msg.Symbol)
	if !ok {
		return nil
	}
	var payload any
	now := c.h.nowMs()
	sym := c.h.names[m]
	switch ch {
	case marketdata.ChanDepth:
		if msg.Type != "update" {
			return nil // a (re)snapshot: clients resync from REST when pu breaks
		}
		var u marketdata.DepthUpdate
		if json.Unmarshal(msg.Data, &u) != nil {
			return nil
		}
		payload = map[string]any{"e": "depthUpdate", "E": now, "T": u.Time, "s": sym, "U": u.PrevSeq, "u": u.Seq, "pu": u.PrevSeq,
			"b": u.Bids, "a": u.Asks}
	case marketdata.ChanTrades:
		var t marketdata.TradeView
		if json.Unmarshal(msg.Data, &t) != nil {
			return nil
		}
		var id int64
		for _, d := range t.ID {
			id = id*10 + int64(d-'0')
		}
		a := aggTrade(t, id)
		a["e"], a["E"], a["s"] = "aggTrade", now, sym
		payload = a
	case marketdata.ChanLiquidations:
		// Every liquidation, unthrottled (Binance sends at most one per
		// symbol per second). Sampan's tape entry is what was done: the
		// quantity filled at its average price (or at the bankruptcy price
		// for a take-over or ADL fill), so the order is reported FILLED
		// with q = l = z.
		var l marketdata.LiquidationView
		if json.Unmarshal(msg.Data, &l) != nil {
			return nil
		}
		payload = map[string]any{"e": "forceOrder", "E": now, "o": map[string]any{"s": sym, "S": strings.ToUpper(l.Side),
			"o": "LIMIT", "f": "IOC", "q": l.Qty, "p": l.Price, "ap": l.Price, "X": "FILLED", "l": l.Qty, "z": l.Qty, "T": l.Time}}
	case marketdata.ChanMark:
		pi := c.h.premiumIndex(m).(map[string]any)
		payload = map[string]any{"e": "markPriceUpdate", "E": now, "s": sym, "p": pi["markPrice"], "i": pi["indexPrice"],
			"P": pi["estimatedSettlePrice"], "r": pi["lastFundingRate"], "T": pi["nextFundingTime"]}
	default:
		return nil
	}
	c.mu.Lock()
	names := append([]string(nil), c.byTopic[topicKey{ch, m}]...)
	c.mu.Unlock()
	var out [][]byte
	for _, n := range names {
		if !c.combined && len(out) > 0 {
			break // a raw connection gets each event once
		}
		var v any = payload
		if c.combined {
			v = map[string]any{"stream": n, "data": payload}
		}
		if enc, err := json.Marshal(v); err == nil {
			out = append(out, enc)
		}
	}
	return out
}

func (c *wsConn) translatePrivate(ch marketdata.Channel, data json.RawMessage) [][]byte {
	switch ch {
	case marketdata.ChanFills:
		var f marketdata.FillView
		if json.Unmarshal(data, &f) == nil {
			c.fills[f.OrderID] = f
		}
	case marketdata.ChanOrders:
		var v marketdata.OrderView
		if json.Unmarshal(data, &v) != nil {
			return nil
		}
		if m, ok := c.h.marketOf(v.Symbol); ok {
			return [][]byte{c.orderUpdate(m, v)}
		}
	case marketdata.ChanPositions:
		var p marketdata.PositionUpdate
		if json.Unmarshal(data, &p) != nil {
			return nil
		}
		if m, ok := c.h.marketOf(p.Symbol); ok {
			return [][]byte{c.accountUpdate(&m)}
		}
	}
	return nil
}

func (c *wsConn) orderUpdate(m engine.MarketID, v marketdata.OrderView) []byte {
	client := engine.ClientID(c.account)
	o := c.h.orderJSON(client, m, v)
	exec := "NEW"
	switch v.Status {
	case marketdata.StatusCancelled:
		exec = "CANCELED"
	case marketdata.StatusExpired:
		exec = "EXPIRED"
	}
	f, traded := c.fills[v.OrderID]
	if traded && (v.Status == marketdata.StatusFilled || v.Status == marketdata.StatusPartiallyFilled) {
		exec = "TRADE"
		delete(c.fills, v.OrderID)
	} else {
		f = marketdata.FillView{Qty: "0", Price: "0", Fee: "0", RealizedPnL: "0"}
	}
	var tid int64
	for _, d := range f.TradeID {
		tid = tid*10 + int64(d-'0')
	}
	now := c.h.nowMs()
	side := o["side"]
	b, _ := json.Marshal(map[string]any{"e": "ORDER_TRADE_UPDATE", "E": now, "T": v.Updated, "o": map[string]any{
		"s": o["symbol"], "c": o["clientOrderId"], "S": side, "o": o["type"], "f": o["timeInForce"], "q": o["origQty"],
		"p": o["price"], "ap": o["avgPrice"], "sp": "0", "x": exec, "X": o["status"], "i": o["orderId"], "l": f.Qty,
		"z": o["executedQty"], "L": f.Price, "N": c.h.cfg.SettleAsset, "n": f.Fee, "T": v.Updated, "t": tid, "b": "0", "a": "0",
		"m": f.Liquidity == "maker", "R": v.ReduceOnly, "wt": "CONTRACT_PRICE", "ot": o["type"], "ps": "BOTH", "cp": false,
		"rp": f.RealizedPnL, "pP": false, "si": 0, "ss": 0, "V": o["selfTradePreventionMode"], "pm": "NONE", "gtd": 0}})
	return b
}

// accountUpdate is ACCOUNT_UPDATE with the balance and, when m is set,
// that market's position.
func (c *wsConn) accountUpdate(m *engine.MarketID) []byte {
	a, ps, _, now, _ := c.h.snapshot(engine.ClientID(c.account))
	positions := []map[string]any{}
	if m != nil {
		sp := &c.h.specs[*m].Spec
		var pv engine.PositionView
		for _, p := range ps {
			if p.Market == *m {
				pv = p
			}
		}
		positions = append(positions, map[string]any{"s": c.h.names[*m], "pa": sp.FormatQty(pv.Size), "ep": sp.FormatPrice(pv.EntryPrice),
			"bep": sp.FormatPrice(pv.EntryPrice), "cr": sp.FormatAmount(pv.Realized), "up": sp.FormatAmount(pv.Unrealized),
			"mt": "cross", "iw": "0", "ps": "BOTH"})
	}
	b, _ := json.Marshal(map[string]any{"e": "ACCOUNT_UPDATE", "E": c.h.nowMs(), "T": now, "a": map[string]any{"m": "ORDER",
		"B": []any{map[string]any{"a": c.h.cfg.SettleAsset, "wb": c.h.usd(a.Collateral), "cw": c.h.usd(a.Collateral), "bc": "0"}},
		"P": positions}})
	return b
}
