package gateway

import (
	"context"
	"encoding/json"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/sampan-hk/sampan/core/engine"
	"github.com/sampan-hk/sampan/core/governance"
	"github.com/sampan-hk/sampan/exchange"
)

// recordingLog passes commands to a MemLog and keeps each encoded command
// with the engine time it ran at: the log a restarted node replays.
type recordingLog struct {
	*exchange.MemLog
	mu   sync.Mutex
	cmds [][]byte
}

// Submit records under l.mu, which spans the MemLog's apply, so the
// records are in the order the engine applied the commands.
func (l *recordingLog) Submit(ctx context.Context, cmd []byte) ([]byte, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.cmds = append(l.cmds, append([]byte(nil), cmd...))
	return l.MemLog.Submit(ctx, cmd)
}

func (l *recordingLog) SubmitMany(ctx context.Context, cmds [][]byte) ([][]byte, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, c := range cmds {
		l.cmds = append(l.cmds, append([]byte(nil), c...))
	}
	return l.MemLog.SubmitMany(ctx, cmds)
}

// envEngineConfig is the engine config newEnv runs, rebuilt from the
// env's operator keys (a replay must run the same state machine; the
// state hash comparison below catches a mismatch).
func envEngineConfig(ev *env) engine.Config {
	cfg := engine.WithFinancing(engine.DefaultConfig())
	for _, k := range []*Key{ev.ops[RoleAdmin], ev.ops[RoleRisk], ev.ops[RoleCompliance], ev.ops[RoleOperations], ev.ops[RoleAuditor], ev.risk2} {
		cfg.Governance.Operators = append(cfg.Governance.Operators, governance.Operator{ID: k.Operator, Role: govRole(k.Role), Active: true})
	}
	return cfg
}

// serve puts srv (over x) behind a new loopback server, as a view of ev.
func (ev *env) serve(x *exchange.Exchange, srv *Server) *env {
	n := *ev
	n.x, n.srv, n.hs = x, srv, httptest.NewServer(srv)
	ev.t.Cleanup(func() { n.hs.Close(); srv.Close() })
	return &n
}

// cids returns the client_order_id of each row of a list endpoint.
func (ev *env) cids(path, field string, k *Key) []string {
	ev.t.Helper()
	r := ev.must(ev.do("GET", path, "", k), 200)
	var body map[string][]struct {
		CID string `json:"client_order_id"`
	}
	if err := json.Unmarshal(r.body, &body); err != nil {
		ev.t.Fatal(err)
	}
	var out []string
	for _, row := range body[field] {
		out = append(out, row.CID)
	}
	return out
}

// A client_order_id travels in the command log: a node that rebuilds its
// read models by replaying the log (a restart, a follower) shows it in
// open orders, order history and fills, for orders placed over REST,
// REST batch and WebSocket, as the node that took the orders does.
func TestClientOrderIDSurvivesReplay(t *testing.T) {
	ev := newEnv(t, nil)
	now := time.Now().UnixNano()
	ev.log.Clock = func() int64 { return now }
	rec := &recordingLog{MemLog: ev.log}
	x := exchange.New(ev.x.M, rec)
	live := ev.serve(x, NewServer(x, ev.srv.cfg))

	live.setMark(btc, "65000")
	a, b := live.client("cid-a", "100000", true), live.client("cid-b", "100000", true)
	if r := live.must(live.do("POST", "/v1/orders", order(btc, "sell", "65000", "0.03", "mm-ask.1"), a), 200); r.str("client_order_id") != "mm-ask.1" {
		t.Fatalf("place answer: %s", r.body)
	}
	live.must(live.do("POST", "/v1/orders", order(btc, "sell", "65100", "0.01", ""), a), 200)
	batch := `{"orders":[` + order(btc, "sell", "65200", "0.01", "grid:2") + `,` + order(btc, "sell", "65300", "0.01", "grid:3") + `]}`
	live.must(live.do("POST", "/v1/orders/batch", batch, a), 200)
	w := live.dialWS(0)
	w.send(loginMsg(b, live.stamp()))
	if r := w.reply("login"); r["status"].(float64) != 200 {
		t.Fatalf("login: %v", r)
	}
	w.send(`{"op":"place","id":"t1","args":` + order(btc, "buy", "65000", "0.01", "tk_1") + `}`)
	if r := w.reply("t1"); r["status"].(float64) != 200 || r["result"].(map[string]any)["client_order_id"] != "tk_1" {
		t.Fatalf("ws place: %v", r)
	}
	live.waitStore()

	// A new node replays the same log into a fresh engine and read models.
	m2, err := exchange.NewMachine(envEngineConfig(ev))
	if err != nil {
		t.Fatal(err)
	}
	x2 := exchange.New(m2, exchange.NewMemLog(m2))
	replayed := ev.serve(x2, NewServer(x2, ev.srv.cfg))
	rec.mu.Lock()
	for _, cmd := range rec.cmds {
		m2.Apply(now, cmd)
	}
	rec.mu.Unlock()
	if m2.StateHash() != ev.x.M.StateHash() {
		t.Fatal("the replay reached another state")
	}
	replayed.waitStore()

	for name, n := range map[string]*env{"live": live, "replayed": replayed} {
		for _, c := range []struct {
			path, field string
			k           *Key
			want        []string
		}{
			{"/v1/orders", "orders", a, []string{"mm-ask.1", "", "grid:2", "grid:3"}},
			{"/v1/orders/history", "orders", a, []string{"grid:3", "grid:2", "", "mm-ask.1"}},
			{"/v1/orders/history", "orders", b, []string{"tk_1"}},
			{"/v1/fills", "fills", a, []string{"mm-ask.1"}},
			{"/v1/fills", "fills", b, []string{"tk_1"}},
		} {
			got := n.cids(c.path, c.field, c.k)
			if len(got) != len(c.want) {
				t.Fatalf("%s %s %s: %q, want %q", name, c.k.ID, c.path, got, c.want)
			}
			for i := range got {
				if got[i] != c.want[i] {
					t.Fatalf("%s %s %s: %q, want %q", name, c.k.ID, c.path, got, c.want)
				}
			}
		}
	}
}
