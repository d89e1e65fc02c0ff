package feed

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// venueServer is a loopback WebSocket server that plays one scripted
// behaviour per connection: conns[i] runs for the i-th connection (the last
// one repeats).
type venueServer struct {
	t     *testing.T
	mu    sync.Mutex
	n     int
	subs  []string
	conns []func(ctx context.Context, c *websocket.Conn)
}

func (s *venueServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	c, err := websocket.Accept(w, r, nil)
	if err != nil {
		return
	}
	defer c.CloseNow()
	s.mu.Lock()
	i := s.n
	s.n++
	s.mu.Unlock()
	if i >= len(s.conns) {
		i = len(s.conns) - 1
	}
	s.conns[i](r.Context(), c)
}

func (s *venueServer) connections() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.n
}

func start(t *testing.T, s *venueServer) string {
	srv := httptest.NewServer(s) // listens on 127.0.0.1 only
	t.Cleanup(srv.Close)
	return "ws" + strings.TrimPrefix(srv.URL, "http")
}

// readSubs reads the client's subscription messages and records them.
func (s *venueServer) readSubs(ctx context.Context, c *websocket.Conn, n int) bool {
	for i := 0; i < n; i++ {
		_, m, err := c.Read(ctx)
		if err != nil {
			return false
		}
		s.mu.Lock()
		s.subs = append(s.subs, string(m))
		s.mu.Unlock()
	}
	return true
}

type recorder struct {
	mu     sync.Mutex
	quotes []Quote
	states []State
}

func (r *recorder) quote(q Quote) { r.mu.Lock(); r.quotes = append(r.quotes, q); r.mu.Unlock() }
func (r *recorder) status(s Status) {
	r.mu.Lock()
	r.states = append(r.states, s.State)
	r.mu.Unlock()
}
func (r *recorder) snapshot() ([]Quote, []State) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Quote(nil), r.quotes...), append([]State(nil), r.states...)
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func has(states []State, s State) int {
	n := 0
	for _, x := range states {
		if x == s {
			n++
		}
	}
	return n
}

// The venue drops the connection after one trade: the client reconnects,
// resubscribes and keeps delivering quotes.
func TestClientReconnects(t *testing.T) {
	trade := lines(t, "bitstamp.jsonl")[2]
	srv := &venueServer{t: t}
	srv.conns = []func(context.Context, *websocket.Conn){
		func(ctx context.Context, c *websocket.Conn) {
			if srv.readSubs(ctx, c, 2) {
				c.Write(ctx, websocket.MessageText, trade)
			}
			c.Close(websocket.StatusGoingAway, "maintenance")
		},
	}
	url := start(t, srv)
	rec := &recorder{}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- Run(ctx, ClientConfig{Venue: NewBitstamp(), URL: url, MinBackoff: 5 * time.Millisecond, MaxBackoff: 20 * time.Millisecond, StaleAfter: 2 * time.Second}, rec.quote, rec.status)
	}()
	waitFor(t, "three connections", func() bool { q, _ := rec.snapshot(); return len(q) >= 3 })
	cancel()
	if err := <-done; err != context.Canceled {
		t.Errorf("Run returned %v", err)
	}
	q, st := rec.snapshot()
	if q[0].Price != "91228" || q[0].Venue != "bitstamp" {
		t.Errorf("quote %+v", q[0])
	}
	if has(st, Disconnected) < 2 || has(st, Live) < 3 || has(st, Connected) < 3 {
		t.Errorf("states %v", st)
	}
	srv.mu.Lock()
	defer srv.mu.Unlock()
	if len(srv.subs) < 6 || srv.subs[0] != `{"event":"bts:subscribe","data":{"channel":"live_trades_btcusd"}}` {
		t.Errorf("subscriptions %v", srv.subs)
	}
}

// A venue that accepts the connection and then says nothing is reported
// stale and replaced; when quotes flow again it is live again.
func TestClientReportsStale(t *testing.T) {
	trade := lines(t, "okx.jsonl")[2]
	srv := &venueServer{t: t}
	silent := func(ctx context.Context, c *websocket.Conn) {
		srv.readSubs(ctx, c, 1)
		// Only heartbeat-like traffic ("pong"), never a quote.
		for ctx.Err() == nil {
			if c.Write(ctx, websocket.MessageText, []byte("pong")) != nil {
				return
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	talkative := func(ctx context.Context, c *websocket.Conn) {
		srv.readSubs(ctx, c, 1)
		for ctx.Err() == nil {
			if c.Write(ctx, websocket.MessageText, trade) != nil {
				return
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	srv.conns = []func(context.Context, *websocket.Conn){silent, talkative}
	url := start(t, srv)
	rec := &recorder{}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go Run(ctx, ClientConfig{Venue: NewOKX(), URL: url, MinBackoff: 5 * time.Millisecond, MaxBackoff: 10 * time.Millisecond, StaleAfter: 150 * time.Millisecond}, rec.quote, rec.status)
	waitFor(t, "quotes after the stale connection", func() bool { q, _ := rec.snapshot(); return len(q) >= 2 })
	_, st := rec.snapshot()
	// connecting, connected, stale, disconnected, connecting, connected, live
	want := []State{Connecting, Connected, Stale, Disconnected, Connecting, Connected, Live}
	if len(st) < len(want) {
		t.Fatalf("states %v", st)
	}
	for i, s := range want {
		if st[i] != s {
			t.Fatalf("states %v, want prefix %v", st, want)
		}
	}
	if srv.connections() != 2 {
		t.Errorf("%d connections, want 2", srv.connections())
	}
}

// A message the parser cannot read is reported and skipped; the connection
// stays up and later quotes still arrive. A venue error ends the session.
func TestClientRejectsBadMessagesAndStopsOnVenueError(t *testing.T) {
	good := lines(t, "binance.jsonl")[0]
	srv := &venueServer{t: t}
	srv.conns = []func(context.Context, *websocket.Conn){
		func(ctx context.Context, c *websocket.Conn) {
			c.Write(ctx, websocket.MessageText, []byte(`{"stream":`))
			c.Write(ctx, websocket.MessageText, good)
			c.Write(ctx, websocket.MessageText, []byte(`{"code":2,"msg":"Invalid request"}`))
			c.Read(ctx) // wait for the client to hang up
		},
	}
	url := start(t, srv)
	rec := &recorder{}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go Run(ctx, ClientConfig{Venue: NewBinance(), URL: url, MinBackoff: time.Hour, MaxBackoff: time.Hour}, rec.quote, rec.status)
	waitFor(t, "disconnect after the venue error", func() bool { _, st := rec.snapshot(); return has(st, Disconnected) == 1 })
	q, st := rec.snapshot()
	if len(q) != 1 || has(st, Rejected) != 1 {
		t.Errorf("quotes %v states %v", q, st)
	}
}

// Dial failures back off and retry.
func TestClientDialFailureBacksOff(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	url := "ws" + strings.TrimPrefix(srv.URL, "http")
	srv.Close() // nothing listens any more
	rec := &recorder{}
	var mu sync.Mutex
	var attempts []int
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go Run(ctx, ClientConfig{Venue: NewKraken(), URL: url, MinBackoff: time.Millisecond, MaxBackoff: 4 * time.Millisecond}, rec.quote, func(s Status) {
		if s.State == Disconnected {
			mu.Lock()
			attempts = append(attempts, s.Attempt)
			mu.Unlock()
		}
	})
	waitFor(t, "five retries", func() bool { mu.Lock(); defer mu.Unlock(); return len(attempts) >= 5 })
	mu.Lock()
	defer mu.Unlock()
	for i := 0; i < 5; i++ {
		if attempts[i] != i+1 {
			t.Fatalf("attempts %v", attempts)
		}
	}
}
