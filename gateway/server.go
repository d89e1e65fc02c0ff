package gateway

import (
	"context"
	"log/slog"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/sampan-hk/sampan/core/engine"
	"github.com/sampan-hk/sampan/exchange"
	"github.com/sampan-hk/sampan/marketdata"
)

// ServerConfig is everything NewServer needs besides the exchange.
type ServerConfig struct {
	Keys KeyStore
	// Token buckets: per API key (signed requests and WebSocket commands)
	// and per client IP (every request, before authentication).
	KeyRate, KeyBurst float64
	IPRate, IPBurst   float64
	// BodyLimit bounds request bodies and WebSocket messages, in bytes.
	BodyLimit int64
	// Now is the clock for signatures and rate limits.
	Now func() time.Time
	// Logger receives recovered panics and stream errors.
	Logger *slog.Logger
	// Market configures the read models and the per-connection WebSocket
	// send buffer (Market.ListenerBuffer).
	Market marketdata.Config
	// SubmitTimeout bounds how long a request waits for its command to be
	// durable and applied before answering 503.
	SubmitTimeout time.Duration
	// WSOriginPatterns lists browser origins allowed to open WebSockets
	// (clients without an Origin header, such as bots, are always allowed).
	WSOriginPatterns []string
	// Audit, when set, is the node's live audit chain served at
	// GET /v1/admin/audit (transparency.go); nil answers 404 there.
	Audit *AuditTrail
	// OnWSError, when set, is told the code of every error reply a
	// WebSocket request gets (REST errors reach the ErrorRecorder of the
	// response writer instead): the binary's /metrics counts both.
	OnWSError func(code Code)
	// TrustedProxies may name the client in X-Forwarded-For (clientip.go):
	// the per-IP limit and key allow-lists then see the client, not the
	// proxy. Empty: the connection's peer is the client.
	TrustedProxies Proxies
}

// Named limits of the API.
const (
	BatchMax          = 20   // orders per batch request
	ClientOrderIDMax  = 36   // bytes in a client_order_id
	IdempotencyKeyMax = 64   // bytes in an idempotency_key
	ListLimitMax      = 1000 // items per list request
	DepthLimitMax     = 1000 // levels per side per depth request
)

// DefaultServerConfig returns production defaults around a key store.
func DefaultServerConfig(keys KeyStore) ServerConfig {
	return ServerConfig{Keys: keys, KeyRate: 50, KeyBurst: 100, IPRate: 100, IPBurst: 200,
		BodyLimit: MaxBodyBytes, Now: time.Now, Logger: slog.Default(), SubmitTimeout: 10 * time.Second}
}

// Server is the HTTP and WebSocket API. It implements http.Handler.
type Server struct {
	x       *exchange.Exchange
	cfg     ServerConfig
	md      *marketdata.Store
	auth    *Authenticator
	keyLim  *Limiter
	ipLim   *Limiter
	mux     *http.ServeMux
	specs   []engine.MarketSpec
	symbols map[string]engine.MarketID
	log     *slog.Logger
	routes  []string
	stop    context.CancelFunc
	done    chan struct{}
	// riskScans admits one client scan at a time (risk.go).
	riskScans chan struct{}
	history   HistorySource // read store for history pages, nil: memory only (history.go)
}

// NewServer builds the API over x and starts its market-data consumer; it
// returns once the read models reflect the engine. Call Close to stop it.
func NewServer(x *exchange.Exchange, cfg ServerConfig) *Server {
	def := DefaultServerConfig(cfg.Keys)
	if cfg.Now == nil {
		cfg.Now = def.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = def.Logger
	}
	if cfg.BodyLimit <= 0 {
		cfg.BodyLimit = def.BodyLimit
	}
	if cfg.KeyRate <= 0 || cfg.KeyBurst <= 0 {
		cfg.KeyRate, cfg.KeyBurst = def.KeyRate, def.KeyBurst
	}
	if cfg.IPRate <= 0 || cfg.IPBurst <= 0 {
		cfg.IPRate, cfg.IPBurst = def.IPRate, def.IPBurst
	}
	if cfg.SubmitTimeout <= 0 {
		cfg.SubmitTimeout = def.SubmitTimeout
	}
	s := &Server{x: x, cfg: cfg, md: marketdata.New(x, cfg.Market), mux: http.NewServeMux(),
		symbols: map[string]engine.MarketID{}, log: cfg.Logger, done: make(chan struct{}), riskScans: make(chan struct{}, 1)}
	s.auth = NewAuthenticator(cfg.Keys)
	s.auth.Now = cfg.Now
	s.keyLim, s.ipLim = NewLimiter(cfg.KeyRate, cfg.KeyBurst), NewLimiter(cfg.IPRate, cfg.IPBurst)
	s.keyLim.Now, s.ipLim.Now = cfg.Now, cfg.Now
	s.specs = s.md.Specs()
	for i, m := range s.specs {
		s.symbols[m.Symbol] = engine.MarketID(i)
	}
	s.register()
	ctx, stop := context.WithCancel(context.Background())
	s.stop = stop
	ready := make(chan struct{})
	go func() {
		defer close(s.done)
		s.md.Run(ctx, ready)
	}()
	<-ready
	return s
}

// Close stops the market-data consumer and disconnects WebSocket clients.
func (s *Server) Close() {
	s.stop()
	<-s.done
}

// MarketData exposes the read models (for metrics and the console).
func (s *Server) MarketData() *marketdata.Store { return s.md }

// Routes lists the registered patterns ("METHOD /path").
func (s *Server) Routes() []string { return append([]string(nil), s.routes...) }

func (s *Server) handle(pattern string, h http.HandlerFunc) {
	s.routes = append(s.routes, pattern)
	s.mux.HandleFunc(pattern, h)
}

// ServeHTTP applies the per-IP limit, routes, answers unknown routes and
// methods in JSON, and turns a panic into a logged 500 so one bad request
// never takes the process down.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	sw := &StatusWriter{ResponseWriter: w}
	defer RecoverPanic(s.log, "gateway", r, sw, answerInternal)
	if e := s.ipLim.Allow(s.cfg.TrustedProxies.ClientIP(r).String(), "IP address"); e != nil {
		WriteError(sw, e)
		return
	}
	if _, pattern := s.mux.Handler(r); pattern == "" {
		s.noRoute(sw, r)
		return
	}
	s.mux.ServeHTTP(sw, r)
}

// answerInternal is the JSON 500 for a recovered handler panic.
func answerInternal(w http.ResponseWriter) {
	WriteError(w, Errf(http.StatusInternalServerError, CodeInternal, "", "internal error; it has been logged"))
}

// noRoute answers 404 or 405 (with Allow) as JSON.
func (s *Server) noRoute(w http.ResponseWriter, r *http.Request) {
	if allow, ok := MethodNotAllowed(s.mux, r); ok {
		w.Header().Set("Allow", allow)
		WriteError(w, Errf(http.StatusMethodNotAllowed, CodeMethodNotAllowed, "", "method "+r.Method+" is not allowed here; allowed: "+allow))
		return
	}
	WriteError(w, Errf(http.StatusNotFound, CodeNotFound, "", "no such endpoint; see /v1/openapi.json"))
}

type headerProbe struct {
	h      http.Header
	status int
}

func (p *headerProbe) Header() http.Header         { return p.h }
func (p *headerProbe) Write(b []byte) (int, error) { return len(b), nil }
func (p *headerProbe) WriteHeader(code int)        { p.status = code }

// RemoteIP is the address of a request's peer (unspecified when the server
// cannot tell): the client, unless it came through a proxy (see
// Proxies.ClientIP).
func RemoteIP(r *http.Request) netip.Addr {
	ap, err := netip.ParseAddrPort(r.RemoteAddr)
	if err != nil {
		return netip.IPv4Unspecified()
	}
	return ap.Addr().Unmap()
}

// call is an authenticated request.
type call struct {
	key  *Key
	body []byte
}

type publicHandler func(w http.ResponseWriter, r *http.Request) *Error
type privateHandler func(w http.ResponseWriter, r *http.Request, c *call) *Error

func (s *Server) public(h publicHandler) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if e := h(w, r); e != nil {
			WriteError(w, e)
		}
	}
}

// signed reads the body, authenticates and rate-limits by key; the role
// check decides between client and operator routes.
func (s *Server) signed(check func(*Key) *Error, h privateHandler) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		body, e := ReadBody(r, w, s.cfg.BodyLimit)
		if e == nil {
			var k *Key
			if k, e = s.auth.Check(r, body, s.cfg.TrustedProxies.ClientIP(r)); e == nil {
				if e = s.keyLim.Allow(k.ID, "API key"); e == nil {
					if e = check(k); e == nil {
						e = h(w, r, &call{key: k, body: body})
					}
				}
			}
		}
		if e != nil {
			WriteError(w, e)
		}
	}
}

// private is a client route needing permission p.
func (s *Server) private(p Perm, h privateHandler) http.HandlerFunc {
	return s.signed(func(k *Key) *Error {
		if k.Role != RoleNone || k.Account == 0 {
			return Errf(http.StatusForbidden, CodeForbidden, "", "this endpoint needs a client account key; operator keys use /v1/admin")
		}
		if !k.Has(p) {
			return Errf(http.StatusForbidden, CodeForbidden, "", "this API key lacks the "+permName(p)+" permission")
		}
		return nil
	}, h)
}

func permName(p Perm) string {
	switch p {
	case PermRead:
		return "read"
	case PermTrade:
		return "trade"
	}
	return "withdraw"
}

// query checks that only allowed parameters are present, each at most
// once, so a misspelt parameter is an error rather than silently ignored.
func query(r *http.Request, allowed ...string) *Error {
	if r.URL.RawQuery == "" {
		return nil // the common case; parsing would allocate a map
	}
	for k, v := range r.URL.Query() {
		ok := false
		for _, a := range allowed {
			ok = ok || a == k
		}
		if !ok {
			return Errf(http.StatusBadRequest, CodeUnknownField, k, "unknown query parameter "+quote(k))
		}
		if len(v) > 1 {
			return Errf(http.StatusBadRequest, CodeDuplicateField, k, "query parameter "+quote(k)+" appears more than once")
		}
	}
	return nil
}

// limitParam parses ?limit= (default def, 1..max).
func limitParam(r *http.Request, def, max int) (int, *Error) {
	v := r.URL.Query().Get("limit")
	if v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > max || strings.HasPrefix(v, "+") || (len(v) > 1 && v[0] == '0') {
		return 0, Errf(http.StatusBadRequest, CodeInvalidField, "limit", "limit must be an integer from 1 to "+strconv.Itoa(max))
	}
	return n, nil
}

// OnLane picks the requests `sampan serve` answers on the lean HTTP/1.1
// lane (gateway/h1): the native REST API and the Binance-compatible one
// (/fapi/, /sapi/). The console, /metrics, /healthz and every WebSocket
// (an upgrade, which the lane hands over anyway) stay with net/http.
func OnLane(method, path string) bool {
	return strings.HasPrefix(path, "/v1/") || strings.HasPrefix(path, "/fapi/") || strings.HasPrefix(path, "/sapi/")
}

// market resolves a symbol.
func (s *Server) market(sym, field string) (engine.MarketID, *Error) {
	if m, ok := s.symbols[sym]; ok {
		return m, nil
	}
	return 0, &Error{Status: http.StatusNotFound, Code: Code(engine.CodeUnknownMarket.String()), Field: field,
		Message: "no market " + quote(sym) + "; see GET /v1/markets"}
}

// submit sends a command and maps transport failures to 503 (the request
// was fine; the log could not take it in time).
func (s *Server) submit(ctx context.Context, c *engine.Command) (engine.Result, *Error) {
	ctx, cancel := context.WithTimeout(ctx, s.cfg.SubmitTimeout)
	defer cancel()
	res, err := s.x.Submit(ctx, c)
	if err != nil {
		s.log.Warn("gateway: submit failed", "kind", c.Kind.String(), "err", err)
		e := Errf(http.StatusServiceUnavailable, CodeUnavailable, "", "the command could not be committed in time; retry with the same idempotency key")
		e.RetryAfter = 1
		return res, e
	}
	return res, nil
}

// settled is an already-ended context: WaitSeq with it only checks.
var settled = func() context.Context {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	return ctx
}()

// settle waits until the read models reflect everything the engine has
// applied so far (read-your-writes for the response), bounded in time.
func (s *Server) settle(ctx context.Context) {
	var seq uint64
	s.x.View(func(e *engine.Engine) { seq = e.Seq() })
	if s.md.WaitSeq(settled, seq) {
		return // already there: no timer needed
	}
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	s.md.WaitSeq(ctx, seq)
}
