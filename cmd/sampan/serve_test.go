package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/sampan-hk/sampan/client"
	"github.com/sampan-hk/sampan/gateway"
)

// These tests run the real binary: `sampan serve` as a child process on
// loopback, driven through its REST API with signed requests.

var (
	binOnce sync.Once
	binPath string
	binErr  error
)

func sampanBinary(t *testing.T) string {
	t.Helper()
	binOnce.Do(func() {
		dir, err := os.MkdirTemp("", "sampan-bin")
		if err != nil {
			binErr = err
			return
		}
		binPath = filepath.Join(dir, "sampan")
		out, err := exec.Command("go", "build", "-o", binPath, ".").CombinedOutput()
		if err != nil {
			binErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if binErr != nil {
		t.Fatal(binErr)
	}
	return binPath
}

// testNode starts an in-process node on a fresh data directory holding
// operator keys (cfg's data directory, addresses and operators are filled
// in), stopped when the test ends.
func testNode(t *testing.T, cfg serveConfig) (*service, map[gateway.Role]*client.Client) {
	t.Helper()
	cfg.Data = t.TempDir()
	ops := testKeys(t, cfg.Data)
	cfg.HTTP, cfg.Raft, cfg.Operators = "127.0.0.1:0", "127.0.0.1:0", testOperators()
	s, err := startService(cfg, quietLog())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s, ops
}

// binaryNode builds the binary and a data directory holding operator
// keys, for a test that runs `sampan serve` as a process of its own
// (skipped with -short).
func binaryNode(t *testing.T) (bin, dir string, ops map[gateway.Role]*client.Client) {
	t.Helper()
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	bin, dir = sampanBinary(t), t.TempDir()
	return bin, dir, testKeys(t, dir)
}

// testKeys writes operator keys for every role into a fresh data dir, so the
// test can act as admin, operations, compliance and risk.
func testKeys(t *testing.T, dir string) map[gateway.Role]*client.Client {
	t.Helper()
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	ks, err := openKeys(dir)
	if err != nil {
		t.Fatal(err)
	}
	out := map[gateway.Role]*client.Client{}
	for _, role := range []gateway.Role{gateway.RoleAdmin, gateway.RoleOperations, gateway.RoleCompliance, gateway.RoleRisk} {
		id, secret := newSecretKey()
		ks.Put(&gateway.Key{ID: id, Secret: []byte(secret), Role: role, Perms: gateway.PermRead, Operator: "test-" + string(role)})
		out[role] = client.New("", id, secret)
	}
	return out
}

// testOperators are the governance operators behind testKeys: a data
// directory must start with them (serveConfig.Operators, or the config
// file's operators) for the keys to act.
func testOperators() []genesisOperator {
	var out []genesisOperator
	for _, role := range []gateway.Role{gateway.RoleAdmin, gateway.RoleOperations, gateway.RoleCompliance, gateway.RoleRisk} {
		out = append(out, genesisOperator{ID: "test-" + string(role), Role: string(role)})
	}
	return out
}

type proc struct {
	cmd *exec.Cmd
	url string
}

var servingRE = regexp.MustCompile(`serving (http://\S+)`)

func startServe(t *testing.T, bin, dir string) *proc {
	t.Helper()
	return startServeArgs(t, bin, []string{"serve", "--data", dir, "--http", "127.0.0.1:0", "--raft", "127.0.0.1:0"})
}

// startServeArgs runs the binary with args plus a config raising the rate
// limits (load tests need more than the per-key default) and waits until it
// serves.
func startServeArgs(t *testing.T, bin string, args []string) *proc {
	t.Helper()
	return startServeLimits(t, bin, args, "key_rate: 100000\nkey_burst: 100000\n")
}

// startServeLimits is startServeArgs with the per-key limits given (YAML).
func startServeLimits(t *testing.T, bin string, args []string, keyLimits string) *proc {
	t.Helper()
	conf := filepath.Join(t.TempDir(), "test.yaml")
	if err := os.WriteFile(conf, []byte(keyLimits+"ip_rate: 100000\nip_burst: 100000\noperators:\n"+
		"  - {id: test-admin, role: admin}\n  - {id: test-operations, role: operations}\n"+
		"  - {id: test-compliance_officer, role: compliance_officer}\n  - {id: test-risk_officer, role: risk_officer}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, append(args, "--config", conf)...)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// Never leave a server behind, even when the test fails half-way.
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	lines := make(chan string, 16)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	deadline := time.After(30 * time.Second)
	for {
		select {
		case l, ok := <-lines:
			if !ok {
				t.Fatal("serve exited before it was serving")
			}
			if m := servingRE.FindStringSubmatch(l); m != nil {
				go func() {
					for range lines {
					}
				}()
				return &proc{cmd: cmd, url: m[1]}
			}
		case <-deadline:
			cmd.Process.Kill()
			t.Fatal("serve did not start in 30 s")
		}
	}
}

func (p *proc) kill() {
	p.cmd.Process.Signal(syscall.SIGKILL)
	p.cmd.Wait()
}

func (p *proc) stop(t *testing.T) {
	p.cmd.Process.Signal(syscall.SIGTERM)
	if err := p.cmd.Wait(); err != nil {
		t.Fatalf("serve did not stop cleanly: %v", err)
	}
}

func at(c *client.Client, url string) *client.Client {
	n := *c
	n.Base = url
	return &n
}

// setupTrader creates a funded, eligible professional investor with a trading
// key, and sets a mark, all through the operator API.
func setupTrader(t *testing.T, url string, ops map[gateway.Role]*client.Client) *client.Client {
	t.Helper()
	return setupTraderRef(t, url, ops, "trader")
}

// setupTraderRef is setupTrader for a client of its own (ref names it).
func setupTraderRef(t *testing.T, url string, ops map[gateway.Role]*client.Client, ref string) *client.Client {
	t.Helper()
	id := setupClientRef(t, url, ops, ref)
	var key map[string]any
	if err := at(ops[gateway.RoleAdmin], url).Do(context.Background(), "POST", "/v1/admin/clients/"+id+"/keys", map[string]any{"perms": []string{"read", "trade"}}, &key); err != nil {
		t.Fatal(err)
	}
	trader := client.New(url, key["key"].(string), key["secret"].(string))
	if err := trader.AcceptDisclosure(context.Background(), 1); err != nil {
		t.Fatal(err)
	}
	return trader
}

// setupClient creates a funded, eligible professional investor and sets a
// mark, through the operator API, and returns the client id.
func setupClient(t *testing.T, url string, ops map[gateway.Role]*client.Client) string {
	t.Helper()
	return setupClientRef(t, url, ops, "trader")
}

// setupClientRef is setupClient for a client of its own (ref names it; the
// same ref again is the same client).
func setupClientRef(t *testing.T, url string, ops map[gateway.Role]*client.Client, ref string) string {
	t.Helper()
	ctx := context.Background()
	var created map[string]any
	do := func(role gateway.Role, method, path string, body, out any) {
		t.Helper()
		if err := at(ops[role], url).Do(ctx, method, path, body, out); err != nil {
			t.Fatalf("%s %s: %v", method, path, err)
		}
	}
	do(gateway.RoleAdmin, "POST", "/v1/admin/clients", map[string]any{"ref": ref, "idempotency_key": "c-" + ref}, &created)
	id := created["client_id"].(string)
	do(gateway.RoleOperations, "POST", "/v1/admin/deposits", map[string]any{"client_id": id, "amount": "10000000", "idempotency_key": "d-" + ref}, nil)
	do(gateway.RoleCompliance, "POST", "/v1/admin/clients/"+id+"/classification", client.Classification{Class: "institutional_pi",
		Evidence: "regulatory_status", EvidenceDate: time.Now().In(hongKong).AddDate(0, -1, 0).Format(time.DateOnly), Reference: "licence"}, nil)
	do(gateway.RoleCompliance, "POST", "/v1/admin/clients/"+id+"/knowledge", client.Knowledge{Basis: "work_experience"}, nil)
	if err := at(ops[gateway.RoleCompliance], url).PublishDisclosure(ctx, 1); err != nil && !isAPICode(err, "disclosure_version_not_current") {
		t.Fatal(err)
	}
	do(gateway.RoleRisk, "POST", "/v1/admin/marks", map[string]any{"symbol": "BTC-USD-PERP", "price": "65000"}, nil)
	return id
}

func openOrderIDs(t *testing.T, c *client.Client) map[string]bool {
	t.Helper()
	var out struct {
		Orders []struct {
			OrderID string `json:"order_id"`
		} `json:"orders"`
	}
	if err := c.Do(context.Background(), "GET", "/v1/orders", nil, &out); err != nil {
		t.Fatal(err)
	}
	ids := map[string]bool{}
	for _, o := range out.Orders {
		ids[o.OrderID] = true
	}
	return ids
}

// TestServeSurvivesSIGKILL places resting orders under load, kills the
// serving process with SIGKILL at a random point, restarts it on the same
// data, and checks that every acknowledged order is still there. Finally the
// offline verifier must agree with itself over the whole log.
func TestServeSurvivesSIGKILL(t *testing.T) {
	bin, dir, ops := binaryNode(t)
	p := startServe(t, bin, dir)
	trader := setupTrader(t, p.url, ops)
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 1))
	rounds, total := 3, 0
	for round := 0; round < rounds; round++ {
		// Start each round from an empty book for this trader, so the
		// per-account open-order limit never stops the load.
		if err := at(trader, p.url).CancelAll(context.Background(), ""); err != nil {
			t.Fatal(err)
		}
		acked := map[string]bool{}
		ctx, cancel := context.WithCancel(context.Background())
		var mu sync.Mutex
		var wg sync.WaitGroup
		for w := 0; w < 4; w++ {
			wg.Add(1)
			go func(w int) {
				defer wg.Done()
				for i := 0; ctx.Err() == nil && i < 240; i++ { // 4×240 stays under the 1,000 open-order limit
					price := fmt.Sprintf("%d", 62000+rng.IntN(2000))
					out, err := at(trader, p.url).Place(ctx, client.Order{Symbol: "BTC-USD-PERP", Side: "buy", Type: "limit",
						PostOnly: true, Price: price, Qty: "0.001", ClientOrderID: fmt.Sprintf("r%d-w%d-%d", round, w, i)})
					if err != nil {
						continue // killed mid-request: unknown outcome, not acknowledged
					}
					mu.Lock()
					acked[out["order_id"].(string)] = true
					mu.Unlock()
				}
			}(w)
		}
		time.Sleep(time.Duration(30+rng.IntN(250)) * time.Millisecond)
		p.kill()
		cancel()
		wg.Wait()
		if os.Getenv("SAMPAN_DEBUG_KILL") != "" {
			out, _ := exec.Command(bin, "replay", "--data", filepath.Join(dir, "journal"), "--account", "1").CombinedOutput()
			t.Logf("replay after kill:\n%s", tail(string(out), 12))
		}
		p = startServe(t, bin, dir)
		have := openOrderIDs(t, at(trader, p.url))
		for id := range acked {
			if !have[id] {
				t.Fatalf("round %d: acknowledged order %s lost after SIGKILL (%d acked, %d open)", round, id, len(acked), len(have))
			}
		}
		t.Logf("round %d: %d acknowledged orders all present after SIGKILL and restart", round, len(acked))
		total += len(acked)
	}
	if total == 0 {
		t.Fatal("no order was acknowledged: the test exercised nothing")
	}
	p.stop(t)
	out, err := exec.Command(bin, "verify", "--data", filepath.Join(dir, "journal")).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "OK") {
		t.Fatalf("verify after the kills: %v\n%s", err, out)
	}
}

// The first start of a node with no keys prints one admin key.
func TestServePrintsFirstAdminKey(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	bin := sampanBinary(t)
	dir := t.TempDir()
	cmd := exec.Command(bin, "serve", "--data", dir, "--http", "127.0.0.1:0", "--raft", "127.0.0.1:0")
	stdout, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { cmd.Process.Signal(syscall.SIGTERM); cmd.Wait() }()
	sc := bufio.NewScanner(stdout)
	var text strings.Builder
	for sc.Scan() {
		text.WriteString(sc.Text() + "\n")
		if strings.Contains(sc.Text(), "serving") {
			break
		}
	}
	if !strings.Contains(text.String(), "first operator key (admin)") {
		t.Fatalf("no admin key printed:\n%s", text.String())
	}
	data, err := os.ReadFile(filepath.Join(dir, "keys.json"))
	if err != nil {
		t.Fatal(err)
	}
	var keys []storedKey
	if err := json.Unmarshal(data, &keys); err != nil || len(keys) != 1 || keys[0].Role != "admin" {
		t.Fatalf("keys.json: %v %s", err, data)
	}
	if fi, _ := os.Stat(filepath.Join(dir, "keys.json")); fi.Mode().Perm() != 0o600 {
		t.Fatalf("keys.json mode %v, want 0600", fi.Mode().Perm())
	}
}

func tail(s string, n int) string {
	l := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(l) > n {
		l = l[len(l)-n:]
	}
	return strings.Join(l, "\n")
}

// quietLog is the logger of the services tests start in process.
func quietLog() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }
