package main

import (
	"bufio"
	"context"
	"errors"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/sampan-hk/sampan/core/book"
	"github.com/sampan-hk/sampan/core/engine"
	"github.com/sampan-hk/sampan/core/fixed"
	"github.com/sampan-hk/sampan/exchange"
	"github.com/sampan-hk/sampan/gateway"
	"github.com/sampan-hk/sampan/gateway/h1"
)

// metrics are the node's Prometheus metrics, served at /metrics. Counters
// that the engine already knows (open interest, depth) are read at scrape
// time under the engine's read lock; the rest are counted at the edge.
type metrics struct {
	reg       *prometheus.Registry
	submitted *prometheus.CounterVec
	latency   prometheus.Histogram
	responses *prometheus.CounterVec
	apiErrors *prometheus.CounterVec
	// The counters of each status and result code, found once: a label
	// lookup hashes its values on every request and command.
	byStatus sync.Map // int → prometheus.Counter
	byCode   sync.Map // engine.Code → prometheus.Counter
}

// counter returns vec's counter for key, labelled label(), from cache.
func counter[K comparable](cache *sync.Map, vec *prometheus.CounterVec, key K, label func() string) prometheus.Counter {
	if c, ok := cache.Load(key); ok {
		return c.(prometheus.Counter)
	}
	c := vec.WithLabelValues(label())
	cache.Store(key, c)
	return c
}

// liquidations counts the liquidation events the state machine applied,
// by stage (every one: a subscriber can be dropped and miss some, the
// machine cannot).
func (m *metrics) liquidations(machine *exchange.Machine) {
	vec := prometheus.NewDesc("sampan_liquidations_total",
		"Liquidation events applied since the process started, by stage: started (an account crossed maintenance), "+
			"order (a liquidation order), takeover (the insurance fund took a position), deleveraged (an ADL fill), finished.",
		[]string{"stage"}, nil)
	stages := []struct {
		name string
		kind engine.EventKind
	}{{"started", engine.EvLiquidationStarted}, {"order", engine.EvLiquidationOrder}, {"takeover", engine.EvInsuranceTakeover},
		{"deleveraged", engine.EvDeleveraged}, {"finished", engine.EvLiquidationFinished}}
	m.reg.MustRegister(collectorFunc{desc: vec, collect: func(ch chan<- prometheus.Metric) {
		n := machine.EventCounts()
		for _, st := range stages {
			ch <- prometheus.MustNewConstMetric(vec, prometheus.CounterValue, float64(n[st.kind]), st.name)
		}
	}})
}

// framingError answers a request net/http refused before any handler (the
// lane's ErrorAnswer) as gateway.FramingError says, and counts it as the
// wrapped handlers count theirs.
func (m *metrics) framingError(status int, text string) (int, []byte) {
	e := gateway.FramingError(status, text)
	m.apiError("native", string(e.Code))
	counter(&m.byStatus, m.responses, e.Status, func() string { return strconv.Itoa(e.Status) }).Inc()
	return e.Status, e.Encode()
}

// collectorFunc is a Prometheus collector of one family read on scrape.
type collectorFunc struct {
	desc    *prometheus.Desc
	collect func(chan<- prometheus.Metric)
}

func (c collectorFunc) Describe(ch chan<- *prometheus.Desc) { ch <- c.desc }
func (c collectorFunc) Collect(ch chan<- prometheus.Metric) { c.collect(ch) }

// lane counts the requests the lean HTTP lane answered and the
// connections it handed to net/http.
func (m *metrics) lane(l *h1.Server) {
	m.reg.MustRegister(
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "sampan_http_lane_requests_total",
			Help: "API requests answered on the lean HTTP/1.1 lane (gateway/h1)."},
			func() float64 { served, _ := l.Stats(); return float64(served) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "sampan_http_lane_handovers_total",
			Help: "Connections the lane handed to net/http (WebSockets, the console, unusual requests)."},
			func() float64 { _, handed := l.Stats(); return float64(handed) }))
}

func newMetrics(x *exchange.Exchange) *metrics {
	m := &metrics{reg: prometheus.NewRegistry()}
	m.submitted = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "sampan_commands_total",
		Help: "Commands acknowledged (durable and applied), by engine result code."}, []string{"code"})
	m.latency = prometheus.NewHistogram(prometheus.HistogramOpts{Name: "sampan_commit_latency_seconds",
		Help:    "Time from submitting a command to its durable, applied result.",
		Buckets: prometheus.ExponentialBuckets(50e-6, 2, 16)})
	m.responses = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "sampan_http_responses_total",
		Help: "HTTP responses by status; API errors carry their code in the body and the status here."}, []string{"status"})
	m.apiErrors = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "sampan_api_errors_total",
		Help: "Error answers by API (native and binance REST, websocket replies) and error code (the code in the body: INVALID_FIELD, insufficient_margin, -2010, ...)."},
		[]string{"api", "code"})
	m.reg.MustRegister(m.submitted, m.latency, m.responses, m.apiErrors, prometheus.NewGoCollector(), prometheus.NewProcessCollector(prometheus.ProcessCollectorOpts{}))
	var specs []engine.MarketSpec
	x.View(func(e *engine.Engine) { specs = append(specs, e.Markets()...) })
	// The insurance fund in the settlement currency (US dollars), read from
	// the engine's fixed-point amounts; floats only here, for Prometheus.
	usd := func(a fixed.Amount) float64 {
		v, _ := strconv.ParseFloat(specs[0].Spec.FormatAmount(a), 64)
		return v
	}
	m.reg.MustRegister(
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "sampan_insurance_fund_balance_usd",
			Help: "The insurance fund's cash balance."}, func() float64 {
			var v fixed.Amount
			x.View(func(e *engine.Engine) { v = e.InsuranceFund().Balance })
			return usd(v)
		}),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "sampan_insurance_fund_equity_usd",
			Help: "The insurance fund's equity: balance plus the unrealized PnL at mark of positions it took over."}, func() float64 {
			var v fixed.Amount
			x.View(func(e *engine.Engine) { v = e.InsuranceFund().Equity })
			return usd(v)
		}))
	for i, s := range specs {
		id, sym := engine.MarketID(i), s.Symbol
		gauge := func(name, help string, f func(e *engine.Engine) float64) {
			m.reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: name, Help: help, ConstLabels: prometheus.Labels{"market": sym}},
				func() float64 {
					var v float64
					x.View(func(e *engine.Engine) { v = f(e) })
					return v
				}))
		}
		gauge("sampan_open_interest_lots", "Long open interest in lots (equal to short by invariant).", func(e *engine.Engine) float64 {
			l, _ := e.OpenInterest(id)
			return float64(l)
		})
		gauge("sampan_book_orders", "Resting orders in the book.", func(e *engine.Engine) float64 { return float64(e.Book(id).Len()) })
		gauge("sampan_book_levels", "Non-empty price levels in the book.", func(e *engine.Engine) float64 { return float64(e.Book(id).LevelCount()) })
		gauge("sampan_book_best_bid_ticks", "Best bid in ticks (0: none).", func(e *engine.Engine) float64 {
			p, _, _ := e.Book(id).Best(book.Buy)
			return float64(p)
		})
	}
	return m
}

// observe wraps a Log so every acknowledged command is counted and timed.
type observedLog struct {
	exchange.Log
	m *metrics
}

func (l observedLog) Submit(ctx context.Context, cmd []byte) ([]byte, error) {
	t := time.Now()
	out, err := l.Log.Submit(ctx, cmd)
	if err == nil {
		l.count(out, time.Since(t).Seconds())
	}
	return out, err
}

// SubmitMany counts and times each command of a run; they share one
// commit, so each observes the run's latency.
func (l observedLog) SubmitMany(ctx context.Context, cmds [][]byte) ([][]byte, error) {
	t := time.Now()
	outs, err := l.Log.SubmitMany(ctx, cmds)
	if err == nil {
		d := time.Since(t).Seconds()
		for _, out := range outs {
			l.count(out, d)
		}
	}
	return outs, err
}

// count records one acknowledged command: its commit latency and its
// result code.
func (l observedLog) count(out []byte, seconds float64) {
	l.m.latency.Observe(seconds)
	r, err := exchange.DecodeResult(out)
	if err != nil {
		l.m.submitted.WithLabelValues("malformed").Inc()
		return
	}
	counter(&l.m.byCode, l.m.submitted, r.Code, r.Code.String).Inc()
}

type statusRecorder struct {
	http.ResponseWriter
	status int
	m      *metrics
}

// RecordError implements gateway.ErrorRecorder.
func (r *statusRecorder) RecordError(api, code string) { r.m.apiError(api, code) }

// apiError counts one error answer of an API (native, binance, websocket).
func (m *metrics) apiError(api, code string) { m.apiErrors.WithLabelValues(api, code).Inc() }

func (r *statusRecorder) WriteHeader(s int) { r.status = s; r.ResponseWriter.WriteHeader(s) }

// Unwrap lets http.ResponseController reach the underlying writer (the
// WebSocket upgrade needs its Hijacker).
func (r *statusRecorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

func (m *metrics) wrap(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK, m: m}
		h.ServeHTTP(rec, r)
		counter(&m.byStatus, m.responses, rec.status, func() string { return strconv.Itoa(rec.status) }).Inc()
	})
}

func (m *metrics) handler() http.Handler { return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{}) }

// Hijack passes the WebSocket upgrade through to the real connection.
func (r *statusRecorder) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	h, ok := r.ResponseWriter.(http.Hijacker)
	if !ok {
		return nil, nil, errors.New("response writer cannot hijack")
	}
	r.status = http.StatusSwitchingProtocols
	return h.Hijack()
}

// Flush passes streaming flushes through.
func (r *statusRecorder) Flush() {
	if f, ok := r.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}
