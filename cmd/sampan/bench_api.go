package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"runtime"
	"runtime/pprof"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"
	"github.com/spf13/cobra"

	"github.com/sampan-hk/sampan/client"
	"github.com/sampan-hk/sampan/gateway"
)

// apiBench is what `sampan bench api` prints: order entry over REST and over
// WebSocket, and market-data fan-out, all against a real node (journal on
// local disk, one voter) on loopback, client and server sharing the machine.
type apiBench struct {
	Name       string       `json:"name"`
	GOMAXPROCS int          `json:"gomaxprocs"`
	REST       entryResult  `json:"rest"`
	WebSocket  entryResult  `json:"websocket"`
	Fanout     fanoutResult `json:"fanout"`
	Notes      string       `json:"notes"`
}

type entryResult struct {
	Clients   int     `json:"clients"`
	Orders    int64   `json:"orders"`
	Errors    int64   `json:"errors"`
	OrdersSec float64 `json:"orders_per_sec"`
	P50Ns     int64   `json:"p50_ns"`
	P99Ns     int64   `json:"p99_ns"`
	FirstErr  string  `json:"first_error,omitempty"`
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
	var profile string
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
			r, err := runAPIBench(clients, subs, dur)
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
	c.Flags().StringVar(&profile, "cpuprofile", "", "write a CPU profile of the whole run (client and server) to this file")
	benchCmd.AddCommand(c)
}

func runAPIBench(nClients, nSubs int, dur time.Duration) (*apiBench, error) {
	dir, err := os.MkdirTemp("", "sampan-bench-api")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	cfg := defaultServeConfig()
	cfg.Data, cfg.HTTP, cfg.Raft = dir, "127.0.0.1:0", "127.0.0.1:0"
	cfg.KeyRate, cfg.KeyBurst, cfg.IPRate, cfg.IPBurst = 1e9, 1e9, 1e9, 1e9
	s, err := startService(cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		return nil, err
	}
	defer s.Close()
	ops := map[gateway.Role]*client.Client{}
	for _, role := range []gateway.Role{gateway.RoleAdmin, gateway.RoleOperations, gateway.RoleCompliance, gateway.RoleRisk} {
		id, secret := newSecretKey()
		s.keys.Put(&gateway.Key{ID: id, Secret: []byte(secret), Role: role, Perms: gateway.PermRead})
		ops[role] = client.New(s.URL(), id, secret)
	}
	ctx := context.Background()
	if err := ops[gateway.RoleRisk].Do(ctx, "POST", "/v1/admin/marks", map[string]any{"symbol": "BTC-USD-PERP", "price": "65000"}, nil); err != nil {
		return nil, err
	}
	traders := make([]*client.Client, nClients+2)
	for i := range traders {
		if traders[i], err = provisionTrader(ctx, ops, "bench-"+strconv.Itoa(i)); err != nil {
			return nil, err
		}
	}
	r := &apiBench{Name: "api", GOMAXPROCS: runtime.GOMAXPROCS(0),
		Notes: "orders are IOC buys priced below the book (accepted, durable, then expired), so the book does not grow; " +
			"client and server share this machine's cores; one raft voter on local disk"}
	r.REST = benchREST(traders[:nClients], dur)
	if r.WebSocket, err = benchWS(s.URL(), traders[:nClients], dur); err != nil {
		return nil, err
	}
	if r.Fanout, err = benchFanout(s.URL(), traders[nClients], traders[nClients+1], nSubs); err != nil {
		return nil, err
	}
	return r, nil
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
		{gateway.RoleCompliance, "/classification", map[string]any{"classification": "institutional_pi", "expires_at": time.Now().AddDate(0, 6, 0).UnixMilli(), "idempotency_key": "cls-" + ref}, nil, true},
		{gateway.RoleCompliance, "/knowledge", map[string]any{"passed": true, "idempotency_key": "kn-" + ref}, nil, true},
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
	return client.New(ops[gateway.RoleAdmin].Base, key["key"].(string), key["secret"].(string)), nil
}

func percentiles(lat []int64) (p50, p99 int64) {
	if len(lat) == 0 {
		return 0, 0
	}
	slices.Sort(lat)
	return lat[len(lat)/2], lat[min(len(lat)-1, len(lat)*99/100)]
}

func benchREST(traders []*client.Client, dur time.Duration) entryResult {
	var n, errs atomic.Int64
	var firstErr atomic.Value
	lats := make([][]int64, len(traders))
	var wg sync.WaitGroup
	stop := time.Now().Add(dur)
	t0 := time.Now()
	for i, c := range traders {
		wg.Add(1)
		go func(i int, c *client.Client) {
			defer wg.Done()
			ctx := context.Background()
			for k := 0; time.Now().Before(stop); k++ {
				a := time.Now()
				// A unique client order id per order: two identical requests
				// signed in the same millisecond would be refused as a replay.
				_, err := c.Place(ctx, client.Order{Symbol: "BTC-USD-PERP", Side: "buy", Type: "limit", TimeInForce: "IOC", Price: "64000", Qty: "0.001",
					ClientOrderID: "r" + strconv.Itoa(i) + "-" + strconv.Itoa(k)})
				lats[i] = append(lats[i], time.Since(a).Nanoseconds())
				if err != nil {
					errs.Add(1)
					firstErr.CompareAndSwap(nil, err.Error())
				}
				n.Add(1)
			}
		}(i, c)
	}
	wg.Wait()
	el := time.Since(t0)
	p50, p99 := percentiles(slices.Concat(lats...))
	fe, _ := firstErr.Load().(string)
	return entryResult{Clients: len(traders), Orders: n.Load(), Errors: errs.Load(), OrdersSec: float64(n.Load()) / el.Seconds(), P50Ns: p50, P99Ns: p99, FirstErr: fe}
}

func wsURL(base string) string { return "ws" + base[len("http"):] + "/v1/ws" }

// wsLogin opens a WebSocket and logs in with the client's key.
func wsLogin(ctx context.Context, base string, c *client.Client) (*websocket.Conn, error) {
	conn, _, err := websocket.Dial(ctx, wsURL(base), nil)
	if err != nil {
		return nil, err
	}
	conn.SetReadLimit(1 << 20)
	ts := time.Now().UnixMilli()
	sig := gateway.Sign(c.Secret, ts, "LOGIN", "/v1/ws", nil)
	msg, _ := json.Marshal(map[string]any{"op": "login", "id": "login", "args": map[string]any{"key": c.Key, "timestamp": strconv.FormatInt(ts, 10), "signature": sig}})
	if err := conn.Write(ctx, websocket.MessageText, msg); err != nil {
		return nil, err
	}
	var rep struct {
		Status int `json:"status"`
	}
	_, data, err := conn.Read(ctx)
	if err != nil {
		return nil, err
	}
	if json.Unmarshal(data, &rep) != nil || rep.Status != 200 {
		return nil, fmt.Errorf("websocket login refused: %s", data)
	}
	return conn, nil
}

// benchWS pipelines orders over one WebSocket per client with a bounded
// window of requests in flight, timing each from send to reply.
func benchWS(base string, traders []*client.Client, dur time.Duration) (entryResult, error) {
	const window = 64
	var n, errs atomic.Int64
	lats := make([][]int64, len(traders))
	var wg sync.WaitGroup
	ctx := context.Background()
	conns := make([]*websocket.Conn, len(traders))
	for i, c := range traders {
		var err error
		if conns[i], err = wsLogin(ctx, base, c); err != nil {
			return entryResult{}, err
		}
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
			// connection's orders), so each is matched to its send time by
			// id; the window bounds requests in flight.
			var mu sync.Mutex
			sentAt := map[string]time.Time{}
			slots := make(chan struct{}, window)
			sent := make(chan struct{}, 1<<20)
			done := make(chan struct{})
			go func() { // reader: one reply per request
				defer close(done)
				for range sent {
					_, data, err := conn.Read(ctx)
					if err != nil {
						errs.Add(1)
						return
					}
					var rep struct {
						ID     string `json:"id"`
						Status int    `json:"status"`
					}
					if json.Unmarshal(data, &rep) != nil || rep.Status != 200 {
						errs.Add(1)
					}
					mu.Lock()
					at, ok := sentAt[rep.ID]
					delete(sentAt, rep.ID)
					mu.Unlock()
					if ok {
						lats[i] = append(lats[i], time.Since(at).Nanoseconds())
					}
					n.Add(1)
					<-slots
				}
			}()
			for k := 0; time.Now().Before(stop); k++ {
				slots <- struct{}{}
				id := strconv.Itoa(k)
				req := []byte(`{"op":"place","id":"` + id + `","args":{"symbol":"BTC-USD-PERP","side":"buy","type":"limit","time_in_force":"IOC","price":"64000","qty":"0.001","client_order_id":"w` +
					strconv.Itoa(i) + "-" + id + `"}}`)
				mu.Lock()
				sentAt[id] = time.Now()
				mu.Unlock()
				sent <- struct{}{}
				if err := conn.Write(ctx, websocket.MessageText, req); err != nil {
					errs.Add(1)
					break
				}
			}
			close(sent)
			<-done
		}(i)
	}
	wg.Wait()
	el := time.Since(t0)
	p50, p99 := percentiles(slices.Concat(lats...))
	return entryResult{Clients: len(traders), Orders: n.Load(), Errors: errs.Load(), OrdersSec: float64(n.Load()) / el.Seconds(), P50Ns: p50, P99Ns: p99}, nil
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
