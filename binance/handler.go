// Package binance serves a faithful subset of Binance's USDⓈ-M futures API
// (REST /fapi, the /sapi calls ccxt makes while loading markets, and
// WebSocket market and user-data streams) over the same exchange, keys and
// read models as the native API: tools built on Binance's API — above all
// ccxt's binanceusdm — trade on Sampan after changing only their base URL.
//
// It is an adapter, not a second venue: orders become the same engine
// commands the native gateway builds, keys are the native API keys, and the
// engine applies the professional-investor gate, governance and every risk
// check exactly as for native orders. docs/binance-compat.md says what is
// supported and what differs.
package binance

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/sampan-hk/sampan/core/engine"
	"github.com/sampan-hk/sampan/exchange"
	"github.com/sampan-hk/sampan/gateway"
	"github.com/sampan-hk/sampan/marketdata"
)

// Config configures the adapter. Zero fields take DefaultConfig's values.
type Config struct {
	// Symbols maps Sampan market symbols to Binance symbols. Markets not
	// listed get Underlying + SettleAsset ("BTC-USD-PERP" → "BTCUSDT").
	Symbols map[string]string
	// SettleAsset is the name the settlement currency is shown under. Sampan
	// settles in USD; tools built for Binance USDⓈ-M expect "USDT", and one
	// unit shown is one US dollar.
	SettleAsset string
	// RecvWindowMax bounds the recvWindow a client may ask for (Binance:
	// 60000 ms); RecvWindowDefault applies when it sends none (5000 ms).
	RecvWindowMax, RecvWindowDefault time.Duration
	// BodyLimit bounds request bodies and WebSocket messages, in bytes.
	BodyLimit int64
	// Rate limits per API key and per client IP (token buckets).
	KeyRate, KeyBurst, IPRate, IPBurst float64
	// SubmitTimeout bounds the wait for a command to be durable and applied.
	SubmitTimeout time.Duration
	// ListenKeyTTL is how long a listen key lives without keepalive (60 min).
	ListenKeyTTL time.Duration
	// ListenKeysMax bounds live listen keys across all accounts.
	ListenKeysMax int
	// OrderMetaMax bounds the remembered order type/time-in-force records.
	OrderMetaMax int
	// Now is the clock for timestamps, listen keys and rate limits.
	Now    func() time.Time
	Logger *slog.Logger
	// WSOriginPatterns lists browser origins allowed to open WebSockets.
	WSOriginPatterns []string
	// TrustedProxies may name the client in X-Forwarded-For, as for the
	// native API (gateway.Proxies).
	TrustedProxies gateway.Proxies
}

// DefaultConfig returns production defaults.
func DefaultConfig() Config {
	return Config{SettleAsset: "USDT", RecvWindowMax: 60 * time.Second, RecvWindowDefault: 5 * time.Second,
		BodyLimit: gateway.MaxBodyBytes, KeyRate: 50, KeyBurst: 100, IPRate: 100, IPBurst: 200,
		SubmitTimeout: 10 * time.Second, ListenKeyTTL: 60 * time.Minute, ListenKeysMax: 1 << 16,
		OrderMetaMax: 1 << 18, Now: time.Now, Logger: slog.Default()}
}

func (c Config) withDefaults() Config {
	d := DefaultConfig()
	if c.SettleAsset == "" {
		c.SettleAsset = d.SettleAsset
	}
	orDefault(&c.RecvWindowMax, d.RecvWindowMax)
	orDefault(&c.RecvWindowDefault, d.RecvWindowDefault)
	orDefault(&c.BodyLimit, d.BodyLimit)
	if c.KeyRate <= 0 || c.KeyBurst <= 0 { // a bucket needs both
		c.KeyRate, c.KeyBurst = d.KeyRate, d.KeyBurst
	}
	if c.IPRate <= 0 || c.IPBurst <= 0 {
		c.IPRate, c.IPBurst = d.IPRate, d.IPBurst
	}
	orDefault(&c.SubmitTimeout, d.SubmitTimeout)
	orDefault(&c.ListenKeyTTL, d.ListenKeyTTL)
	orDefault(&c.ListenKeysMax, d.ListenKeysMax)
	orDefault(&c.OrderMetaMax, d.OrderMetaMax)
	if c.Now == nil {
		c.Now = d.Now
	}
	if c.Logger == nil {
		c.Logger = d.Logger
	}
	return c
}

// orDefault replaces a zero or negative setting (never meaningful for a
// size, rate or duration) with the default.
func orDefault[T ~int | ~int64](v *T, d T) {
	if *v <= 0 {
		*v = d
	}
}

// Patterns are the path prefixes the handler serves; mount each on the
// root mux in front of the native server (see docs/binance-compat.md).
var Patterns = []string{"/fapi/", "/sapi/", "/ws", "/ws/", "/stream", "/public/", "/market/", "/private/"}

// Handler is the Binance-compatible API. It implements http.Handler.
type Handler struct {
	x      *exchange.Exchange
	keys   gateway.KeyStore
	md     *marketdata.Store
	cfg    Config
	log    *slog.Logger
	mux    *http.ServeMux
	specs  []engine.MarketSpec
	bySym  map[string]engine.MarketID // Binance symbol → market
	names  []string                   // market → Binance symbol
	keyLim *gateway.Limiter
	ipLim  *gateway.Limiter
	meta   *orderMeta
	lkeys  *listenKeys
	replay *gateway.ReplayCache
	// done is closed by Close: streams end.
	done     chan struct{}
	doneOnce sync.Once
}

// NewHandler builds the adapter over x with the native key store and the
// running read models md (gateway.Server.MarketData()).
func NewHandler(x *exchange.Exchange, keys gateway.KeyStore, md *marketdata.Store, cfg Config) *Handler {
	cfg = cfg.withDefaults()
	h := &Handler{x: x, keys: keys, md: md, cfg: cfg, log: cfg.Logger, mux: http.NewServeMux(),
		specs: perpetuals(md.Specs()), bySym: map[string]engine.MarketID{}, done: make(chan struct{})}
	for i, m := range h.specs {
		name := cfg.Symbols[m.Symbol]
		if name == "" {
			name = strings.ToUpper(strings.ReplaceAll(m.Underlying, "-", "")) + cfg.SettleAsset
		}
		h.bySym[name] = engine.MarketID(i)
		h.names = append(h.names, name)
	}
	h.keyLim, h.ipLim = gateway.NewLimiter(cfg.KeyRate, cfg.KeyBurst), gateway.NewLimiter(cfg.IPRate, cfg.IPBurst)
	h.keyLim.Now, h.ipLim.Now = cfg.Now, cfg.Now
	h.meta = newOrderMeta(cfg.OrderMetaMax)
	h.lkeys = newListenKeys(cfg.ListenKeysMax)
	h.replay = gateway.NewReplayCache(1 << 20)
	h.register()
	return h
}

// perpetuals returns the leading perpetual markets. This adapter is
// Binance's USDⓈ-M futures API (fapi): it lists, quotes and trades
// perpetuals only, so spot markets (which engine.WithFinancing appends after
// the perpetuals, so market ids still index this slice) are left out: they
// would otherwise take the perpetual's Binance symbol (both trade the same
// underlying). Every market id at or past len(specs) is unknown here.
func perpetuals(specs []engine.MarketSpec) []engine.MarketSpec {
	n := 0
	for n < len(specs) && specs[n].Kind == engine.Perpetual {
		n++
	}
	return specs[:n:n]
}

// listed reports whether the adapter serves market m (a perpetual).
func (h *Handler) listed(m engine.MarketID) bool { return int(m) < len(h.specs) }

// Close ends the handler's WebSocket streams.
func (h *Handler) Close() { h.doneOnce.Do(func() { close(h.done) }) }

// Symbol returns the Binance symbol of a market.
func (h *Handler) Symbol(m engine.MarketID) string { return h.names[m] }

type publicFn func(w http.ResponseWriter, r *http.Request, p params) *Error
type privateFn func(w http.ResponseWriter, r *http.Request, p params, k *gateway.Key) *Error

func (h *Handler) register() {
	pub := func(pattern string, fn publicFn, allowed ...string) {
		h.mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
			p, e := h.readParams(w, r)
			if e == nil {
				e = p.only(allowed...)
			}
			if e == nil {
				e = fn(w, r, p)
			}
			if e != nil {
				writeError(w, e)
			}
		})
	}
	priv := func(pattern string, perm gateway.Perm, fn privateFn, allowed ...string) {
		allowed = append(allowed, "timestamp", "recvWindow", "signature")
		h.mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
			p, e := h.readParams(w, r)
			var k *gateway.Key
			if e == nil {
				k, e = h.authenticate(r, p, perm)
			}
			if e == nil {
				e = p.only(allowed...)
			}
			if e == nil {
				e = fn(w, r, p, k)
			}
			if e != nil {
				writeError(w, e)
			}
		})
	}
	orderParams := []string{"symbol", "side", "positionSide", "type", "timeInForce", "quantity", "price", "reduceOnly",
		"newClientOrderId", "newOrderRespType", "selfTradePreventionMode", "stopPrice", "closePosition",
		"activationPrice", "callbackRate", "workingType", "priceProtect", "priceMatch", "goodTillDate"}

	pub("GET /fapi/v1/ping", func(w http.ResponseWriter, _ *http.Request, _ params) *Error {
		writeJSON(w, 200, map[string]any{})
		return nil
	})
	pub("GET /fapi/v1/time", h.getTime)
	pub("GET /fapi/v1/exchangeInfo", h.getExchangeInfo)
	pub("GET /fapi/v1/depth", h.getDepth, "symbol", "limit")
	pub("GET /fapi/v1/ticker/24hr", h.getTicker24h, "symbol")
	pub("GET /fapi/v1/ticker/price", h.getTickerPrice, "symbol")
	pub("GET /fapi/v2/ticker/price", h.getTickerPrice, "symbol")
	pub("GET /fapi/v1/ticker/bookTicker", h.getBookTicker, "symbol")
	pub("GET /fapi/v1/trades", h.getTrades, "symbol", "limit")
	pub("GET /fapi/v1/aggTrades", h.getAggTrades, "symbol", "limit", "fromId", "startTime", "endTime")
	pub("GET /fapi/v1/klines", h.getKlines, "symbol", "interval", "limit", "startTime", "endTime")
	pub("GET /fapi/v1/premiumIndex", h.getPremiumIndex, "symbol")
	pub("GET /fapi/v1/fundingRate", h.getFundingRate, "symbol", "limit", "startTime", "endTime")
	pub("GET /fapi/v1/fundingInfo", h.getFundingInfo)

	priv("POST /fapi/v1/order", gateway.PermTrade, h.postOrder, orderParams...)
	priv("GET /fapi/v1/order", gateway.PermRead, h.getOrder, "symbol", "orderId", "origClientOrderId")
	priv("GET /fapi/v1/openOrder", gateway.PermRead, h.getOpenOrder, "symbol", "orderId", "origClientOrderId")
	priv("DELETE /fapi/v1/order", gateway.PermTrade, h.deleteOrder, "symbol", "orderId", "origClientOrderId")
	priv("POST /fapi/v1/batchOrders", gateway.PermTrade, h.postBatchOrders, "batchOrders")
	priv("DELETE /fapi/v1/batchOrders", gateway.PermTrade, h.deleteBatchOrders, "symbol", "orderIdList", "origClientOrderIdList")
	priv("DELETE /fapi/v1/allOpenOrders", gateway.PermTrade, h.deleteAllOpenOrders, "symbol")
	priv("GET /fapi/v1/openOrders", gateway.PermRead, h.getOpenOrders, "symbol")
	priv("GET /fapi/v1/allOrders", gateway.PermRead, h.getAllOrders, "symbol", "orderId", "startTime", "endTime", "limit")
	priv("GET /fapi/v1/userTrades", gateway.PermRead, h.getUserTrades, "symbol", "orderId", "startTime", "endTime", "fromId", "limit")
	priv("POST /fapi/v1/leverage", gateway.PermTrade, h.postLeverage, "symbol", "leverage")
	priv("POST /fapi/v1/marginType", gateway.PermTrade, h.postMarginType, "symbol", "marginType")
	priv("GET /fapi/v1/leverageBracket", gateway.PermRead, h.getLeverageBracket, "symbol")
	priv("GET /fapi/v1/positionSide/dual", gateway.PermRead, h.getDual)
	priv("GET /fapi/v1/multiAssetsMargin", gateway.PermRead, h.getMultiAssets)
	priv("GET /fapi/v1/commissionRate", gateway.PermRead, h.getCommissionRate, "symbol")
	for _, v := range []string{"v2", "v3"} {
		v := v
		priv("GET /fapi/"+v+"/account", gateway.PermRead, func(w http.ResponseWriter, r *http.Request, p params, k *gateway.Key) *Error {
			return h.getAccount(w, r, p, k, v)
		})
		priv("GET /fapi/"+v+"/balance", gateway.PermRead, h.getBalance)
		priv("GET /fapi/"+v+"/positionRisk", gateway.PermRead, func(w http.ResponseWriter, r *http.Request, p params, k *gateway.Key) *Error {
			return h.getPositionRisk(w, r, p, k, v)
		}, "symbol")
	}
	priv("GET /fapi/v1/adlQuantile", gateway.PermRead, h.getAdlQuantile, "symbol")
	priv("GET /sapi/v1/capital/config/getall", gateway.PermRead, h.getCapitalConfig)
	// ccxt asks for Binance's spot-margin pairs while loading currencies;
	// Sampan's margin financing is a separate product, so there are none.
	priv("GET /sapi/v1/margin/allPairs", gateway.PermRead, func(w http.ResponseWriter, _ *http.Request, _ params, _ *gateway.Key) *Error {
		writeJSON(w, 200, []any{})
		return nil
	})

	// User-data stream: the API key header only, no signature (as Binance).
	h.mux.HandleFunc("POST /fapi/v1/listenKey", h.listenKeyHandler(h.postListenKey))
	h.mux.HandleFunc("PUT /fapi/v1/listenKey", h.listenKeyHandler(h.putListenKey))
	h.mux.HandleFunc("DELETE /fapi/v1/listenKey", h.listenKeyHandler(h.deleteListenKey))

	// WebSocket streams. Binance splits USDⓈ-M streams by category since
	// 2026-04: /public (depth, bookTicker), /market (aggTrade, markPrice,
	// forceOrder, ...) and /private (user data); the legacy /ws and /stream
	// serve everything. Each market path accepts every market stream.
	for _, pre := range []string{"", "/public", "/market"} {
		h.mux.HandleFunc("GET "+pre+"/ws", h.serveStreams)
		h.mux.HandleFunc("GET "+pre+"/ws/{name}", h.serveStreams)
		h.mux.HandleFunc("GET "+pre+"/stream", h.serveStreams)
	}
	h.mux.HandleFunc("GET /private/ws", h.serveStreams)
	h.mux.HandleFunc("GET /private/ws/{name}", h.serveStreams)
}

// ServeHTTP applies the per-IP limit, routes, and answers unknown routes,
// wrong methods and panics with Binance-style JSON errors.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	sw := &gateway.StatusWriter{ResponseWriter: w}
	defer gateway.RecoverPanic(h.log, "binance", r, sw, func(w http.ResponseWriter) {
		writeError(w, errf(500, CodeUnknown, "An unknown error occurred while processing the request."))
	})
	if e := h.ipLim.Allow(h.cfg.TrustedProxies.ClientIP(r).String(), "IP"); e != nil {
		writeError(sw, errf(429, CodeTooManyRequests, "Too many requests; current limit of IP is exceeded; please back off."))
		return
	}
	if _, pattern := h.mux.Handler(r); pattern == "" {
		if allow, ok := gateway.MethodNotAllowed(h.mux, r); ok {
			sw.Header().Set("Allow", allow)
			writeError(sw, errf(405, CodeUnsupportedOp, "This operation is not supported: method "+r.Method+" is not allowed on "+r.URL.Path+"."))
			return
		}
		writeError(sw, errf(404, CodeUnsupportedOp, "This operation is not supported: no endpoint "+r.URL.Path+" (see docs/binance-compat.md)."))
		return
	}
	h.mux.ServeHTTP(sw, r)
}

// readParams reads the raw query and body and parses both.
func (h *Handler) readParams(w http.ResponseWriter, r *http.Request) (params, *Error) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, h.cfg.BodyLimit))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return params{}, errf(413, CodeIllegalChars, "Request body too large.")
		}
		return params{}, errf(400, CodeIllegalChars, "Could not read the request body.")
	}
	return parseParams(r.URL.RawQuery, string(body))
}

// market resolves a Binance symbol.
func (h *Handler) market(sym string) (engine.MarketID, *Error) {
	if sym == "" {
		return 0, mandatory("symbol")
	}
	if m, ok := h.bySym[sym]; ok {
		return m, nil
	}
	return 0, errSymbol
}

// optMarket resolves an optional symbol (AllMarkets when absent).
func (h *Handler) optMarket(p params) (engine.MarketID, *Error) {
	if !p.has("symbol") {
		return engine.AllMarkets, nil
	}
	return h.market(p.get("symbol"))
}

// submit sends a command; a transport failure is Binance's -1007 (the
// request was fine; its outcome is unknown until the client checks).
func (h *Handler) submit(ctx context.Context, c *engine.Command) (engine.Result, *Error) {
	ctx, cancel := context.WithTimeout(ctx, h.cfg.SubmitTimeout)
	defer cancel()
	res, err := h.x.Submit(ctx, c)
	if err != nil {
		h.log.Warn("binance: submit failed", "kind", c.Kind.String(), "err", err)
		return res, errTimeout
	}
	return res, nil
}

// settle waits until the read models reflect everything applied so far.
func (h *Handler) settle(ctx context.Context) {
	var seq uint64
	h.x.View(func(e *engine.Engine) { seq = e.Seq() })
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	h.md.WaitSeq(ctx, seq)
}

func (h *Handler) nowMs() int64 { return h.cfg.Now().UnixMilli() }
