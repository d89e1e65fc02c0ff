package main

import (
	"bufio"
	"bytes"
	"cmp"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"hash"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"runtime"
	"runtime/pprof"
	"runtime/trace"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/coder/websocket"
	"github.com/spf13/cobra"

	"github.com/sampan-hk/sampan/client"
	"github.com/sampan-hk/sampan/gateway"
	"github.com/sampan-hk/sampan/gateway/h1"
)

// apiBench is what `sampan bench api` prints: order entry over REST and over
// WebSocket, one order per request (the headline figures, compared with
// issue 7's targets) and batchOrders per request (what a market maker
// quoting a ladder would use), and market-data fan-out, all against a real
// node (journal on local disk, one voter) on loopback, client and server
// sharing the machine.
type apiBench struct {
	Name       string `json:"name"`
	GOMAXPROCS int    `json:"gomaxprocs"`
	// ReadStore is "sqlite" (the node's projector writes DATA/read.db on
	// the same cores, as `sampan serve` does by default) or "none" (the
	// node runs with read_store: none, as a leader does when a follower
	// keeps the read store).
	ReadStore string `json:"read_store"`
	// HTTPServer is "lane" (gateway/h1 in front of net/http, as `sampan
	// serve` runs by default) or "net/http" (http_server: net/http).
	HTTPServer string      `json:"http_server"`
	RESTSingle entryResult `json:"rest_single_order,omitzero"`
	// RESTPool is RESTSingle with restPool keep-alive connections per
	// trader (a client's connection pool), still one request in flight
	// per connection: at 32 connections REST is bound by the commit
	// latency with a core idle; this is its throughput bound by CPU.
	RESTPool        entryResult `json:"rest_single_order_pool,omitzero"`
	RESTBatch       entryResult `json:"rest_batch,omitzero"`
	WebSocketSingle entryResult `json:"websocket_single_order,omitzero"`
	WebSocketBatch  entryResult `json:"websocket_batch,omitzero"`
	// The floors: what the transport alone costs on this machine, so the
	// order-entry figures can be read against them. RESTNoop is the same
	// client against a bare net/http server that reads the body and
	// answers a fixed order (no auth, no engine, no log); WebSocketPing is
	// the same pipelining client sending ping messages the size of a place
	// to the real node, which answers them in its read loop (framing,
	// decode, reply queue, corked writes; no engine, no log).
	RESTNoop      entryResult  `json:"rest_noop_floor,omitzero"`
	WebSocketPing entryResult  `json:"websocket_ping_floor,omitzero"`
	Fanout        fanoutResult `json:"fanout,omitzero"` // phases not run (--only) are left out
	Notes         string       `json:"notes"`
}

// restPool is the connections per trader of the rest_pool phase.
const restPool = 4

// pooled lists each trader restPool times: one connection each.
func pooled(traders []*client.Client) []*client.Client {
	out := make([]*client.Client, 0, restPool*len(traders))
	for range restPool {
		out = append(out, traders...)
	}
	return out
}

// batchOrders is the orders per batched request: the API's limit.
const batchOrders = gateway.BatchMax

type entryResult struct {
	Clients          int     `json:"clients"`
	OrdersPerRequest int     `json:"orders_per_request"`
	Requests         int64   `json:"requests"`
	Orders           int64   `json:"orders"`
	Errors           int64   `json:"errors"` // requests that failed or were not wholly accepted
	OrdersSec        float64 `json:"orders_per_sec"`
	RequestsSec      float64 `json:"requests_per_sec"`
	// Latency from sending a request to reading its reply. An order's
	// result comes in its request's reply, so an order's latency is its
	// request's: the per-order figures equal the per-request ones and are
	// spelled out so that single and batched entry compare field by field.
	OrderP50Ns   int64  `json:"order_latency_p50_ns"`
	OrderP99Ns   int64  `json:"order_latency_p99_ns"`
	RequestP50Ns int64  `json:"request_latency_p50_ns"`
	RequestP99Ns int64  `json:"request_latency_p99_ns"`
	FirstErr     string `json:"first_error,omitempty"`
	// CommitMeanNs is the server's mean submit-to-applied time over the
	// phase (sampan_commit_latency_seconds): the rest of the latency is
	// HTTP/WebSocket, decoding, signing, the read models and the client.
	CommitMeanNs int64 `json:"server_commit_mean_ns"`
	// CPUPerOrderUs is the process's CPU time (user + system, client and
	// server together) over the phase divided by the orders: unlike
	// orders/s it hardly moves when other work shares the machine.
	CPUPerOrderUs   float64 `json:"cpu_us_per_order"`
	CPUPerRequestUs float64 `json:"cpu_us_per_request"`
	// DrainMs is how long the process stayed busy after the last reply
	// (background work catching up, mostly the read-store projector):
	// well above zero means the phase's rate was not sustainable for
	// the whole node.
	DrainMs int64 `json:"drain_after_ms"`
}

// quiesceMax bounds the wait for the process to go quiet.
const quiesceMax = 20 * time.Second

// quiesce waits until the process uses under a tenth of a core over a
// 200 ms window (the node idles far below that), or limit passes, and
// returns how long the process stayed busy, to the window (0: quiet at
// the first check).
func quiesce(limit time.Duration) time.Duration {
	const window = 200 * time.Millisecond
	t0 := time.Now()
	prev := processCPU()
	for time.Since(t0) < limit {
		time.Sleep(window)
		cur := processCPU()
		if cur-prev < window/10 {
			break
		}
		prev = cur
	}
	return max(time.Since(t0)-window, 0) // the first window is the check itself
}

// finish fills the derived figures from the raw counts.
func (e *entryResult) finish(clients, perRequest int, requests, errs int64, el time.Duration, lats [][]int64, firstErr string) {
	e.Clients, e.OrdersPerRequest, e.Requests, e.Errors, e.FirstErr = clients, perRequest, requests, errs, firstErr
	e.Orders = requests * int64(perRequest)
	e.OrdersSec, e.RequestsSec = float64(e.Orders)/el.Seconds(), float64(requests)/el.Seconds()
	e.RequestP50Ns, e.RequestP99Ns = percentiles(slices.Concat(lats...))
	e.OrderP50Ns, e.OrderP99Ns = e.RequestP50Ns, e.RequestP99Ns
}

type fanoutResult struct {
	Subscribers int     `json:"subscribers"`
	Trades      int     `json:"trades"`
	Delivered   int64   `json:"messages_delivered"`
	MsgsSec     float64 `json:"messages_per_sec"`
	P50Ns       int64   `json:"delivery_p50_ns"`
	P99Ns       int64   `json:"delivery_p99_ns"`
	Dropped     int64   `json:"subscribers_disconnected"`
}

func init() {
	var clients, subs int
	var dur time.Duration
	var profile, only, traceOut, readStore, httpServer string
	c := &cobra.Command{
		Use:   "api",
		Short: "REST and WebSocket order entry, and WebSocket fan-out, against a real node on loopback",
		RunE: func(cmd *cobra.Command, args []string) error {
			if profile != "" {
				f, err := os.Create(profile)
				if err != nil {
					return err
				}
				defer f.Close()
				if err := pprof.StartCPUProfile(f); err != nil {
					return err
				}
				defer pprof.StopCPUProfile()
			}
			if traceOut != "" {
				f, err := os.Create(traceOut)
				if err != nil {
					return err
				}
				defer f.Close()
				if err := trace.Start(f); err != nil {
					return err
				}
				defer trace.Stop()
			}
			r, err := runAPIBench(clients, subs, dur, only, readStore, httpServer)
			if err != nil {
				return err
			}
			if benchJSON {
				return json.NewEncoder(os.Stdout).Encode(r)
			}
			b, _ := json.MarshalIndent(r, "", "  ")
			fmt.Println(string(b))
			return nil
		},
	}
	c.Flags().IntVar(&clients, "clients", 32, "concurrent order-entry clients")
	c.Flags().IntVar(&subs, "subscribers", 1000, "WebSocket subscribers for the fan-out test")
	c.Flags().DurationVar(&dur, "duration", 5*time.Second, "length of each order-entry phase")
	c.Flags().StringVar(&profile, "cpuprofile", "", "write a CPU profile of the whole run (client and server; client goroutines carry the label side=client) to this file")
	c.Flags().StringVar(&traceOut, "trace", "", "write a runtime execution trace of the whole run to this file (go tool trace)")
	c.Flags().StringVar(&only, "only", "", "run one phase only: rest, rest_pool, rest_batch, websocket, websocket_batch, fanout, rest_noop or websocket_ping (default: all eight)")
	c.Flags().StringVar(&readStore, "read-store", "", "none: run the node without its read-store projector (read_store: none), as a leader whose read store a follower keeps")
	c.Flags().StringVar(&httpServer, "http-server", "", "net/http: serve every request with net/http alone (http_server: net/http), without the lean HTTP/1.1 lane")
	benchCmd.AddCommand(c)
}

func runAPIBench(nClients, nSubs int, dur time.Duration, only, readStore, httpServer string) (*apiBench, error) {
	switch only {
	case "", "rest", "rest_pool", "rest_batch", "websocket", "websocket_batch", "fanout", "rest_noop", "websocket_ping":
	default:
		return nil, fmt.Errorf("--only %q: want rest, rest_pool, rest_batch, websocket, websocket_batch, fanout, rest_noop or websocket_ping", only)
	}
	dir, err := os.MkdirTemp("", "sampan-bench-api")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	cfg := defaultServeConfig()
	cfg.Data, cfg.HTTP, cfg.Raft = dir, "127.0.0.1:0", "127.0.0.1:0"
	cfg.KeyRate, cfg.KeyBurst, cfg.IPRate, cfg.IPBurst = 1e9, 1e9, 1e9, 1e9
	cfg.ReadStore, cfg.HTTPServer = readStore, httpServer
	if err := cfg.checkChoices(); err != nil {
		return nil, fmt.Errorf("--read-store %q, --http-server %q: %w", readStore, httpServer, err)
	}
	// Each operator key acts as a governance operator of the same role,
	// as the operator API requires.
	roles := []gateway.Role{gateway.RoleAdmin, gateway.RoleOperations, gateway.RoleCompliance, gateway.RoleRisk}
	for _, role := range roles {
		cfg.Operators = append(cfg.Operators, genesisOperator{ID: "bench-" + string(role), Role: string(role)})
	}
	s, err := startService(cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		return nil, err
	}
	defer s.Close()
	ops := map[gateway.Role]*client.Client{}
	for _, role := range roles {
		id, secret := newSecretKey()
		s.keys.Put(&gateway.Key{ID: id, Secret: []byte(secret), Role: role, Perms: gateway.PermRead, Operator: "bench-" + string(role)})
		ops[role] = client.New(s.URL(), id, secret)
	}
	ctx := context.Background()
	if err := ops[gateway.RoleRisk].Do(ctx, "POST", "/v1/admin/marks", map[string]any{"symbol": "BTC-USD-PERP", "price": "65000"}, nil); err != nil {
		return nil, err
	}
	if err := ops[gateway.RoleCompliance].Do(ctx, "POST", "/v1/admin/disclosures", map[string]any{"version": 1}, nil); err != nil {
		return nil, fmt.Errorf("publish risk disclosure: %w", err)
	}
	traders := make([]*client.Client, nClients+2)
	for i := range traders {
		if traders[i], err = provisionTrader(ctx, ops, "bench-"+strconv.Itoa(i)); err != nil {
			return nil, err
		}
	}
	r := &apiBench{Name: "api", GOMAXPROCS: runtime.GOMAXPROCS(0), ReadStore: cmp.Or(readStore, "sqlite"), HTTPServer: cmp.Or(httpServer, "lane"),
		Notes: "orders are IOC buys priced below the book (accepted, durable, then expired), so the book does not grow; " +
			"*_single_order sends one order per request (the figures issue 7's targets are about); *_batch sends " + strconv.Itoa(batchOrders) +
			" per request (POST /v1/orders/batch, WebSocket place_batch), and an order's latency is its request's; " +
			"client and server share this machine's cores (cpu_us_per_order counts both; --cpuprofile labels client goroutines side=client); " +
			"each phase starts with the process quiet and its CPU is read once it is quiet again (drain_after_ms), so background work " +
			"its orders caused (read-store projector, audit trail) is billed to it; " +
			"each REST client keeps one connection and signs every request afresh; each WebSocket client pipelines a window of about 64 orders " +
			"and sends the requests that fit in it with one write; one raft voter on local disk"}
	// Client goroutines carry the profiler label side=client (goroutines
	// they start inherit it; the server's do not), so a --cpuprofile
	// splits client from server CPU: go tool pprof -tagfocus side=client.
	runPhase := func(phase string, f func()) {
		if only != "" && only != phase {
			return
		}
		pprof.Do(context.Background(), pprof.Labels("side", "client", "phase", phase), func(context.Context) { f() })
	}
	// entry runs one order-entry phase and adds the server's commit
	// latency and the CPU per order and per request over it. The node
	// keeps working after the last reply (the projector and the audit
	// trail trail the engine), so the CPU is read once the process is
	// quiet again, and the next phase starts from quiet: each phase is
	// billed for all the work its orders caused, and only that.
	entry := func(phase string, out *entryResult, f func() (entryResult, error)) {
		runPhase(phase, func() {
			quiesce(quiesceMax)
			c0, s0, cpu0 := commitLatency(s)
			var e error
			*out, e = f()
			if e != nil && err == nil {
				err = e
			}
			out.CommitMeanNs = commitMean(s, c0, s0)
			out.DrainMs = quiesce(quiesceMax).Milliseconds()
			out.CPUPerOrderUs = cpuPer(cpu0, out.Orders)
			out.CPUPerRequestUs = out.CPUPerOrderUs * float64(out.OrdersPerRequest)
		})
	}
	entry("rest", &r.RESTSingle, func() (entryResult, error) { return benchREST(traders[:nClients], dur, 1), nil })
	entry("rest_pool", &r.RESTPool, func() (entryResult, error) { return benchREST(pooled(traders[:nClients]), dur, 1), nil })
	entry("rest_batch", &r.RESTBatch, func() (entryResult, error) { return benchREST(traders[:nClients], dur, batchOrders), nil })
	entry("websocket", &r.WebSocketSingle, func() (entryResult, error) { return benchWS(s.URL(), traders[:nClients], dur, 1) })
	entry("websocket_batch", &r.WebSocketBatch, func() (entryResult, error) { return benchWS(s.URL(), traders[:nClients], dur, batchOrders) })
	entry("rest_noop", &r.RESTNoop, func() (entryResult, error) { return benchRESTNoop(traders[:nClients], dur, httpServer) })
	entry("websocket_ping", &r.WebSocketPing, func() (entryResult, error) { return benchWS(s.URL(), traders[:nClients], dur, 0) })
	if err != nil {
		return nil, err
	}
	runPhase("fanout", func() { r.Fanout, err = benchFanout(s.URL(), traders[nClients], traders[nClients+1], nSubs) })
	if err != nil {
		return nil, err
	}
	return r, nil
}

// commitLatency reads the node's commit-latency histogram (count, sum in
// seconds) and the process's CPU time so far.
func commitLatency(s *service) (uint64, float64, time.Duration) {
	cpu := processCPU()
	mfs, err := s.metrics.reg.Gather()
	if err != nil {
		return 0, 0, cpu
	}
	for _, mf := range mfs {
		if mf.GetName() == "sampan_commit_latency_seconds" && len(mf.GetMetric()) == 1 {
			h := mf.GetMetric()[0].GetHistogram()
			return h.GetSampleCount(), h.GetSampleSum(), cpu
		}
	}
	return 0, 0, cpu
}

// processCPU is the user + system CPU time this process has used.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// cpuPer is the CPU time since cpu0 per order, in µs.
func cpuPer(cpu0 time.Duration, orders int64) float64 {
	if orders == 0 {
		return 0
	}
	return float64((processCPU() - cpu0).Microseconds()) / float64(orders)
}

func commitMean(s *service, c0 uint64, s0 float64) int64 {
	c1, s1, _ := commitLatency(s)
	if c1 <= c0 {
		return 0
	}
	return int64((s1 - s0) / float64(c1-c0) * 1e9)
}

// provisionTrader creates a funded, eligible professional investor with a
// trading key through the operator API.
func provisionTrader(ctx context.Context, ops map[gateway.Role]*client.Client, ref string) (*client.Client, error) {
	var created, key map[string]any
	steps := []struct {
		role       gateway.Role
		path       string
		body       map[string]any
		out        *map[string]any
		needClient bool
	}{
		{gateway.RoleAdmin, "/v1/admin/clients", map[string]any{"ref": ref, "idempotency_key": "create-" + ref}, &created, false},
		{gateway.RoleOperations, "/v1/admin/deposits", map[string]any{"amount": "100000000", "idempotency_key": "dep-" + ref}, nil, true},
		// Professional investor on evidence dated today (Hong Kong date),
		// derivatives knowledge from training.
		{gateway.RoleCompliance, "/classification", map[string]any{"class": "individual_pi", "evidence": "custodian_statement",
			"evidence_date": time.Now().In(time.FixedZone("HKT", 8*3600)).Format(time.DateOnly), "portfolio_hkd": "9000000", "reference": "bench-" + ref}, nil, true},
		{gateway.RoleCompliance, "/knowledge", map[string]any{"basis": "training", "reference": "bench-" + ref}, nil, true},
		{gateway.RoleAdmin, "/keys", map[string]any{"perms": []string{"read", "trade"}}, &key, true},
	}
	id := ""
	for _, st := range steps {
		path := st.path
		if st.needClient {
			if st.path == "/v1/admin/deposits" {
				st.body["client_id"] = id
			} else {
				path = "/v1/admin/clients/" + id + st.path
			}
		}
		var out map[string]any
		if err := ops[st.role].Do(ctx, "POST", path, st.body, &out); err != nil {
			return nil, fmt.Errorf("%s %s: %w", ref, path, err)
		}
		if st.out != nil {
			*st.out = out
		}
		if id == "" {
			id, _ = created["client_id"].(string)
		}
	}
	c := client.New(ops[gateway.RoleAdmin].Base, key["key"].(string), key["secret"].(string))
	// The client accepts the current risk disclosure (published once by
	// runAPIBench) before its first trade.
	if err := c.Do(ctx, "POST", "/v1/account/disclosure/accept", map[string]any{"version": 1}, nil); err != nil {
		return nil, fmt.Errorf("%s: accept disclosure: %w", ref, err)
	}
	return c, nil
}

func percentiles(lat []int64) (p50, p99 int64) {
	if len(lat) == 0 {
		return 0, 0
	}
	slices.Sort(lat)
	return lat[len(lat)/2], lat[min(len(lat)-1, len(lat)*99/100)]
}

// restClient is the bench's order-entry client: what a careful bot does,
// with the overhead of a load generator rather than of a general HTTP
// library. Every request is signed afresh (its own timestamp and client
// order ids) and sent as plain HTTP/1.1 over one keep-alive connection;
// the HMAC state and the request and response buffers are reused. Go's
// http.Client spent about 20 µs of CPU per request (two goroutines and
// their hand-offs per connection, header maps, a Request and a Response
// per call): a quarter of the machine's CPU went to the client rather than
// to the node under test. httpConn is what wrk and h2load do instead.
type restClient struct {
	addr, key string
	conn      *httpConn
	mac       hash.Hash
	body      []byte
	sig       []byte
	pre       []byte // signature input before the body: timestamp ‖ method ‖ path
}

func newRESTClient(c *client.Client) *restClient {
	return &restClient{addr: strings.TrimPrefix(c.Base, "http://"), key: c.Key, mac: hmac.New(sha256.New, c.Secret)}
}

func (rc *restClient) close() {
	if rc.conn != nil {
		rc.conn.c.Close()
		rc.conn = nil
	}
}

// httpConn is one keep-alive HTTP/1.1 connection: a request written with
// one write(2), its answer read through a buffer. Only what the node
// answers is understood: a status line, headers with Content-Length, a
// body; "Connection: close" ends the connection after the answer.
type httpConn struct {
	c    net.Conn
	r    *bufio.Reader
	req  []byte
	resp []byte
}

func dialHTTP(addr string) (*httpConn, error) {
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		return nil, err
	}
	return &httpConn{c: c, r: bufio.NewReaderSize(c, 16<<10)}, nil
}

// do sends one request and returns the status and body (valid until the
// next call) and whether the connection may be used again.
func (h *httpConn) do(req []byte) (status int, body []byte, keep bool, err error) {
	_ = h.c.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err = h.c.Write(req); err != nil {
		return 0, nil, false, err
	}
	line, err := h.r.ReadSlice('\n')
	if err != nil {
		return 0, nil, false, err
	}
	if len(line) < 12 || !bytes.HasPrefix(line, []byte("HTTP/1.1 ")) {
		return 0, nil, false, fmt.Errorf("bad status line %q", line)
	}
	if status, err = strconv.Atoi(string(line[9:12])); err != nil {
		return 0, nil, false, fmt.Errorf("bad status line %q", line)
	}
	n, keep := -1, true
	for {
		line, err = h.r.ReadSlice('\n')
		if err != nil {
			return 0, nil, false, err
		}
		line = bytes.TrimRight(line, "\r\n")
		if len(line) == 0 {
			break
		}
		name, value, _ := bytes.Cut(line, []byte(":"))
		value = bytes.TrimSpace(value)
		switch {
		case bytes.EqualFold(name, []byte("Content-Length")):
			if n, err = strconv.Atoi(string(value)); err != nil || n < 0 {
				return 0, nil, false, fmt.Errorf("bad Content-Length %q", value)
			}
		case bytes.EqualFold(name, []byte("Connection")) && bytes.EqualFold(value, []byte("close")):
			keep = false
		case bytes.EqualFold(name, []byte("Transfer-Encoding")):
			if !bytes.EqualFold(value, []byte("chunked")) {
				return 0, nil, false, fmt.Errorf("unexpected Transfer-Encoding %q", value)
			}
			n = -2
		}
	}
	if n == -2 {
		body, err = h.readChunked()
		return status, body, keep && err == nil, err
	}
	if n < 0 {
		return 0, nil, false, fmt.Errorf("answer without Content-Length")
	}
	h.resp = slices.Grow(h.resp[:0], n)[:n]
	if _, err = io.ReadFull(h.r, h.resp); err != nil {
		return 0, nil, false, err
	}
	return status, h.resp, keep, nil
}

// readChunked reads a chunked body (net/http chunks an answer written
// without a Content-Length once it outgrows its buffer).
func (h *httpConn) readChunked() ([]byte, error) {
	h.resp = h.resp[:0]
	for {
		line, err := h.r.ReadSlice('\n')
		if err != nil {
			return nil, err
		}
		size, _, _ := bytes.Cut(bytes.TrimRight(line, "\r\n"), []byte(";"))
		n, err := strconv.ParseUint(string(size), 16, 31)
		if err != nil {
			return nil, fmt.Errorf("bad chunk size %q", line)
		}
		if n == 0 {
			break
		}
		at := len(h.resp)
		h.resp = slices.Grow(h.resp, int(n))[:at+int(n)]
		if _, err := io.ReadFull(h.r, h.resp[at:]); err != nil {
			return nil, err
		}
		if _, err := h.r.Discard(2); err != nil { // the chunk's CRLF
			return nil, err
		}
	}
	for { // trailers, up to the blank line
		line, err := h.r.ReadSlice('\n')
		if err != nil {
			return nil, err
		}
		if len(bytes.TrimRight(line, "\r\n")) == 0 {
			return h.resp, nil
		}
	}
}

// benchOrder appends the bench's order: an IOC buy below the book, so it
// is accepted, made durable, then expires, and the book does not grow.
func benchOrder(b []byte, coid []byte) []byte {
	b = append(b, `{"symbol":"BTC-USD-PERP","side":"buy","type":"limit","time_in_force":"IOC","price":"64000","qty":"0.001","client_order_id":"`...)
	b = append(b, coid...)
	return append(b, `"}`...)
}

// benchCOID appends a unique client order id: two identical requests
// signed in the same millisecond would be refused as a replay.
func benchCOID(b []byte, prefix byte, client, k, item int) []byte {
	b = strconv.AppendInt(append(b, prefix), int64(client), 10)
	b = strconv.AppendInt(append(b, '-'), int64(k), 10)
	return strconv.AppendInt(append(b, '-'), int64(item), 10)
}

// place sends request k of client i: one order to POST /v1/orders, or n
// orders to POST /v1/orders/batch, and checks every order was accepted.
func (rc *restClient) place(i, k, n int) error {
	path := "/v1/orders"
	var coid [48]byte
	if n == 1 {
		rc.body = benchOrder(rc.body[:0], benchCOID(coid[:0], 'r', i, k, 0))
	} else {
		path = "/v1/orders/batch"
		rc.body = append(rc.body[:0], `{"orders":[`...)
		for j := range n {
			if j > 0 {
				rc.body = append(rc.body, ',')
			}
			rc.body = benchOrder(rc.body, benchCOID(coid[:0], 'b', i, k, j))
		}
		rc.body = append(rc.body, "]}"...)
	}
	ts := strconv.AppendInt(nil, time.Now().UnixMilli(), 10)
	rc.mac.Reset()
	rc.pre = append(append(append(rc.pre[:0], ts...), "POST"...), path...)
	rc.mac.Write(rc.pre)
	rc.mac.Write(rc.body)
	rc.sig = hex.AppendEncode(rc.sig[:0], rc.mac.Sum(rc.pre[:0]))
	var err error
	if rc.conn == nil {
		if rc.conn, err = dialHTTP(rc.addr); err != nil {
			return err
		}
	}
	h := rc.conn
	h.req = append(h.req[:0], "POST "...)
	h.req = append(h.req, path...)
	h.req = append(h.req, " HTTP/1.1\r\nHost: "...)
	h.req = append(h.req, rc.addr...)
	h.req = append(h.req, "\r\nContent-Type: application/json\r\n"+gateway.HeaderKey+": "...)
	h.req = append(h.req, rc.key...)
	h.req = append(h.req, "\r\n"+gateway.HeaderTimestamp+": "...)
	h.req = append(h.req, ts...)
	h.req = append(h.req, "\r\n"+gateway.HeaderSignature+": "...)
	h.req = append(h.req, rc.sig...)
	h.req = append(h.req, "\r\nContent-Length: "...)
	h.req = strconv.AppendInt(h.req, int64(len(rc.body)), 10)
	h.req = append(h.req, "\r\n\r\n"...)
	h.req = append(h.req, rc.body...)
	status, resp, keep, err := h.do(h.req)
	if err != nil || !keep {
		rc.close()
	}
	if err != nil {
		return err
	}
	if status != http.StatusOK {
		return fmt.Errorf("HTTP %d: %s", status, resp)
	}
	if n > 1 {
		return batchAccepted(resp, n)
	}
	return orderAccepted(resp)
}

// orderAccepted checks a single order's answer names an order and
// accepted the bench's size, without a JSON decode (a load generator's
// check: the decode cost the client more than the request's write).
func orderAccepted(b []byte) error {
	if !bytes.HasPrefix(b, []byte(`{"order_id":"`)) || bytes.HasPrefix(b, []byte(`{"order_id":""`)) ||
		!bytes.Contains(b, []byte(`"accepted_qty":"0.001"`)) {
		return fmt.Errorf("unexpected answer %.300s", b)
	}
	return nil
}

// batchAccepted checks a batch answer holds n accepted orders. Each item
// carries "status":200 when accepted (an order's own status is a string),
// and the bench's orders are all the same size.
func batchAccepted(b []byte, n int) error {
	if bytes.Count(b, []byte(`"status":200`)) != n || bytes.Count(b, []byte(`"accepted_qty":"0.001"`)) != n {
		return fmt.Errorf("batch of %d not wholly accepted: %.300s", n, b)
	}
	return nil
}

// benchREST runs one client per trader, each sending requests of n orders
// back to back over its own connection.
func benchREST(traders []*client.Client, dur time.Duration, n int) entryResult {
	var reqs, errs atomic.Int64
	var firstErr atomic.Value
	lats := make([][]int64, len(traders))
	var wg sync.WaitGroup
	stop := time.Now().Add(dur)
	t0 := time.Now()
	for i, c := range traders {
		wg.Add(1)
		go func(i int, rc *restClient) {
			defer wg.Done()
			defer rc.close()
			lats[i] = make([]int64, 0, 1<<14)
			for k := 0; time.Now().Before(stop); k++ {
				a := time.Now()
				err := rc.place(i, k, n)
				lats[i] = append(lats[i], time.Since(a).Nanoseconds())
				if err != nil {
					errs.Add(1)
					firstErr.CompareAndSwap(nil, err.Error())
				}
				reqs.Add(1)
			}
		}(i, newRESTClient(c))
	}
	wg.Wait()
	var r entryResult
	fe, _ := firstErr.Load().(string)
	r.finish(len(traders), n, reqs.Load(), errs.Load(), time.Since(t0), lats, fe)
	return r
}

func wsURL(base string) string { return "ws" + base[len("http"):] + "/v1/ws" }

// wsLogin opens a WebSocket and logs in with the client's key.
func wsLogin(ctx context.Context, base string, c *client.Client) (*websocket.Conn, error) {
	conn, _, err := websocket.Dial(ctx, wsURL(base), nil)
	if err != nil {
		return nil, err
	}
	return conn, wsAuth(ctx, conn, c)
}

// wsLoginCorked is wsLogin over a connection whose writes the caller can
// hold back and send together (see clientCork).
func wsLoginCorked(ctx context.Context, base string, c *client.Client) (*websocket.Conn, *clientCork, error) {
	var cork *clientCork
	tr := &http.Transport{DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
		nc, err := (&net.Dialer{}).DialContext(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		cork = &clientCork{Conn: nc}
		return cork, nil
	}}
	conn, _, err := websocket.Dial(ctx, wsURL(base), &websocket.DialOptions{HTTPClient: &http.Client{Transport: tr}})
	if err != nil {
		return nil, nil, err
	}
	return conn, cork, wsAuth(ctx, conn, c)
}

// clientCork lets the bench's WebSocket client send a burst of requests
// with one write(2), as a pipelining trading client does: coder/websocket
// flushes every message on its own. While corked, writes (whole frames,
// in order, including the library's own control frames) are collected;
// uncorking sends them. The sender uncorks before it waits for anything,
// so nothing is held back while it is idle.
type clientCork struct {
	net.Conn
	mu     sync.Mutex
	corked bool
	buf    []byte
}

func (c *clientCork) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.corked {
		return c.Conn.Write(p)
	}
	c.buf = append(c.buf, p...)
	return len(p), nil
}

func (c *clientCork) set(on bool) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.corked = on
	if on || len(c.buf) == 0 {
		return nil
	}
	_, err := c.Conn.Write(c.buf)
	c.buf = c.buf[:0]
	return err
}

// wsAuth logs conn in with the client's key.
func wsAuth(ctx context.Context, conn *websocket.Conn, c *client.Client) error {
	conn.SetReadLimit(1 << 20)
	ts := time.Now().UnixMilli()
	sig := gateway.Sign(c.Secret, ts, "LOGIN", "/v1/ws", nil)
	msg, _ := json.Marshal(map[string]any{"op": "login", "id": "login", "args": map[string]any{"key": c.Key, "timestamp": strconv.FormatInt(ts, 10), "signature": sig}})
	if err := conn.Write(ctx, websocket.MessageText, msg); err != nil {
		return err
	}
	var rep struct {
		Status int `json:"status"`
	}
	_, data, err := conn.Read(ctx)
	if err != nil {
		return err
	}
	if json.Unmarshal(data, &rep) != nil || rep.Status != 200 {
		return fmt.Errorf("websocket login refused: %s", data)
	}
	return nil
}

// wsWindow is the requests a bench client keeps in flight: about 64
// orders either way, so single and batched entry put the same load of
// orders in flight.
func wsWindow(n int) int { return max(64/max(n, 1), 2) }

// wsRequest appends request k of client i: a place of one order, or a
// place_batch of n.
func wsRequest(b []byte, i, k, n int) []byte {
	var coid [48]byte
	if n == 0 { // the floor: a ping carrying a place's args, which ping ignores
		b = append(b, `{"op":"ping","id":"`...)
		b = strconv.AppendInt(b, int64(k), 10)
		b = append(b, `","args":`...)
		b = benchOrder(b, benchCOID(coid[:0], 'w', i, k, 0))
		return append(b, '}')
	}
	if n == 1 {
		b = append(b, `{"op":"place","id":"`...)
		b = strconv.AppendInt(b, int64(k), 10)
		b = append(b, `","args":`...)
		b = benchOrder(b, benchCOID(coid[:0], 'w', i, k, 0))
		return append(b, '}')
	}
	b = append(b, `{"op":"place_batch","id":"`...)
	b = strconv.AppendInt(b, int64(k), 10)
	b = append(b, `","args":{"orders":[`...)
	for j := range n {
		if j > 0 {
			b = append(b, ',')
		}
		b = benchOrder(b, benchCOID(coid[:0], 'v', i, k, j))
	}
	return append(b, "]}}"...)
}

// benchWS pipelines requests of n orders over one WebSocket per client
// with a bounded window of requests in flight, timing each from send to
// reply.
func benchWS(base string, traders []*client.Client, dur time.Duration, n int) (entryResult, error) {
	window := wsWindow(n)
	var reqs, errs atomic.Int64
	var firstErr atomic.Value
	lats := make([][]int64, len(traders))
	var wg sync.WaitGroup
	ctx := context.Background()
	conns := make([]*websocket.Conn, len(traders))
	corks := make([]*clientCork, len(traders))
	for i, c := range traders {
		var err error
		if conns[i], corks[i], err = wsLoginCorked(ctx, base, c); err != nil {
			return entryResult{}, err
		}
	}
	fail := func(err error) {
		errs.Add(1)
		firstErr.CompareAndSwap(nil, err.Error())
	}
	stop := time.Now().Add(dur)
	t0 := time.Now()
	for i := range traders {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			conn := conns[i]
			defer conn.Close(websocket.StatusNormalClosure, "")
			// Replies may arrive out of order (the server pipelines a
			// connection's requests), so each is matched to its send time
			// by id: ids are the send counter, so send times live in a
			// ring indexed by id. A slot is reused only after 4096 later
			// sends, far more reordering than the server's pipelining
			// produces (window requests in flight). The window bounds
			// requests in flight.
			var sentAt [4096]atomic.Int64
			slots := make(chan struct{}, window)
			sent := make(chan struct{}, 1<<20)
			done := make(chan struct{})
			go func() { // reader: one reply per request
				defer close(done)
				for range sent {
					_, data, err := conn.Read(ctx)
					if err != nil {
						fail(err)
						return
					}
					id, err := wsReplyID(data, n)
					if err != nil {
						fail(err)
					}
					if at := sentAt[id%len(sentAt)].Swap(0); err == nil && at != 0 {
						lats[i] = append(lats[i], time.Now().UnixNano()-at)
					}
					reqs.Add(1)
					<-slots
				}
			}()
			req := make([]byte, 0, 256*n)
			cork := corks[i]
			for k := 0; time.Now().Before(stop); k++ {
				// Requests that fit in the window go out together; before
				// waiting for a free slot, what is held is sent.
				select {
				case slots <- struct{}{}:
				default:
					if err := cork.set(false); err != nil {
						fail(err)
					}
					slots <- struct{}{}
					_ = cork.set(true)
				}
				req = wsRequest(req[:0], i, k, n)
				sentAt[k%len(sentAt)].Store(time.Now().UnixNano())
				sent <- struct{}{}
				if err := conn.Write(ctx, websocket.MessageText, req); err != nil {
					fail(err)
					break
				}
			}
			if err := cork.set(false); err != nil {
				fail(err)
			}
			close(sent)
			<-done
		}(i)
	}
	wg.Wait()
	var r entryResult
	fe, _ := firstErr.Load().(string)
	r.finish(len(traders), max(n, 1), reqs.Load(), errs.Load(), time.Since(t0), lats, fe)
	return r, nil
}

// noopOrderAnswer is what the floor server answers: an accepted order as
// the node writes it.
const noopOrderAnswer = `{"order_id":"1048577","client_order_id":"r0-0-0","symbol":"BTC-USD-PERP","side":"buy","price":"64000",` +
	`"qty":"0.001","filled":"0","remaining":"0","status":"expired","reason":"IOC_UNFILLED","post_only":false,"reduce_only":false,` +
	`"created":1795000000000,"updated":1795000000000,"accepted_qty":"0.001","replayed":false}` + "\n"

// benchRESTNoop runs the REST phase against a bare server that reads each
// body and answers noopOrderAnswer: the cost of HTTP/1.1 itself (both
// sides) on this machine, the floor under rest_single_order. The server is
// the one the node runs: the HTTP lane in front of net/http, or net/http
// alone (--http-server net/http).
func benchRESTNoop(traders []*client.Client, dur time.Duration, httpServer string) (entryResult, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return entryResult{}, err
	}
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		h := w.Header()
		h["Content-Type"] = []string{"application/json"}
		h["Content-Length"] = []string{strconv.Itoa(len(noopOrderAnswer))}
		_, _ = io.WriteString(w, noopOrderAnswer)
	})
	srv := &http.Server{Handler: h}
	if httpServer == "" {
		lane := &h1.Server{Handler: h, Lane: gateway.OnLane, Fallback: srv}
		go lane.Serve(ln)
		defer lane.Close()
	} else {
		go srv.Serve(ln)
		defer srv.Close()
	}
	noop := make([]*client.Client, len(traders))
	for i, c := range traders {
		cc := *c
		cc.Base = "http://" + ln.Addr().String()
		noop[i] = &cc
	}
	return benchREST(noop, dur, 1), nil
}

// wsReplyID reads the id of a reply ({"id":"<n>","op":...,"status":200,
// ...}, as the server's encoder writes it) without a JSON decode, and
// checks it is a successful answer to a place of one order or a
// place_batch of n with every order accepted; anything else is an error
// the bench counts.
func wsReplyID(data []byte, n int) (int, error) {
	const head = `{"id":"`
	bad := func() (int, error) { return 0, fmt.Errorf("unexpected reply %.300s", data) }
	if !bytes.HasPrefix(data, []byte(head)) {
		return bad()
	}
	rest := data[len(head):]
	end := bytes.IndexByte(rest, '"')
	if end <= 0 {
		return bad()
	}
	id, err := strconv.Atoi(string(rest[:end]))
	if err != nil || id < 0 {
		return bad()
	}
	tail := rest[end:]
	if n == 0 {
		if !bytes.HasPrefix(tail, []byte(`","op":"ping","status":200,`)) {
			return id, fmt.Errorf("unexpected reply %.300s", data)
		}
		return id, nil
	}
	if n == 1 {
		if !bytes.HasPrefix(tail, []byte(`","op":"place","status":200,"result":{`)) {
			return id, fmt.Errorf("unexpected reply %.300s", data)
		}
		return id, nil
	}
	const batchHead = `","op":"place_batch","status":200,"result":{"results":[`
	if !bytes.HasPrefix(tail, []byte(batchHead)) {
		return id, fmt.Errorf("unexpected reply %.300s", data)
	}
	return id, batchAccepted(tail[len(batchHead):], n)
}

// benchFanout connects subscribers to the BTC trades channel, makes trades
// between a maker and a taker, and times each delivery from the moment the
// taker's order was acknowledged.
func benchFanout(base string, maker, taker *client.Client, nSubs int) (fanoutResult, error) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	res := fanoutResult{Subscribers: nSubs, Trades: 200}
	var delivered, dropped atomic.Int64
	acked := make([]atomic.Int64, res.Trades)
	var mu sync.Mutex
	var lat []int64
	var ready, wg sync.WaitGroup
	for i := 0; i < nSubs; i++ {
		conn, _, err := websocket.Dial(ctx, wsURL(base), nil)
		if err != nil {
			return res, fmt.Errorf("subscriber %d: %w", i, err)
		}
		conn.SetReadLimit(1 << 20)
		sub := []byte(`{"op":"subscribe","id":"s","channels":["trades:BTC-USD-PERP"]}`)
		if err := conn.Write(ctx, websocket.MessageText, sub); err != nil {
			return res, err
		}
		ready.Add(1)
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer conn.CloseNow()
			first := true
			seen := 0 // trades arrive in order: the n-th is the n-th taker order
			for {
				_, data, err := conn.Read(ctx)
				if first {
					ready.Done()
					first = false
				}
				if err != nil {
					if ctx.Err() == nil {
						dropped.Add(1)
					}
					return
				}
				var m struct {
					Channel string `json:"channel"`
				}
				if json.Unmarshal(data, &m) != nil || m.Channel != "trades" {
					continue
				}
				now := time.Now().UnixNano()
				delivered.Add(1)
				if seen < len(acked) {
					if a := acked[seen].Load(); a > 0 {
						mu.Lock()
						lat = append(lat, now-a)
						mu.Unlock()
					}
				}
				seen++
			}
		}()
	}
	ready.Wait()
	t0 := time.Now()
	for k := 0; k < res.Trades; k++ {
		if _, err := maker.Place(ctx, client.Order{Symbol: "BTC-USD-PERP", Side: "sell", Type: "limit", Price: "65000", Qty: "0.001", ClientOrderID: "m" + strconv.Itoa(k)}); err != nil {
			return res, err
		}
		send := time.Now().UnixNano()
		acked[k].Store(send)
		if _, err := taker.Place(ctx, client.Order{Symbol: "BTC-USD-PERP", Side: "buy", Type: "limit", TimeInForce: "IOC", Price: "65000", Qty: "0.001", ClientOrderID: strconv.Itoa(k)}); err != nil {
			return res, err
		}
	}
	deadline := time.Now().Add(10 * time.Second)
	for delivered.Load() < int64(res.Trades*nSubs)-dropped.Load()*int64(res.Trades) && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	el := time.Since(t0)
	cancel()
	wg.Wait()
	res.Delivered, res.Dropped = delivered.Load(), dropped.Load()
	res.MsgsSec = float64(res.Delivered) / el.Seconds()
	res.P50Ns, res.P99Ns = percentiles(lat)
	return res, nil
}
