package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sampan-hk/sampan/client"
	"github.com/sampan-hk/sampan/gateway"
)

// A node's margin book, stressed three ways: the running node's API, the
// same API through `stress --url`, and `stress --data` on the stopped
// node's directory (replayed from its genesis). All give the same records;
// the CSV is the API's CSV byte for byte.
//
// By hand: carol holds 100 × 0700.HK at HK$500 and buys 0.05 BTC at
// US$100,000 on margin: debit US$5,000 × 7.8 = HK$39,000. Under va-50 her
// BTC is worth 0.05 × 50,000 × 7.8 = 19,500 and lends 40% of it, 7,800: L =
// 35,000 + 7,800 = 42,800 ≥ 39,000, no shortfall. Under combined-50 the
// shares also fall 20%: L = 28,000 + 7,800 = 35,800, shortfall 3,200.
func TestStressOfflineMatchesAPI(t *testing.T) {
	dir := t.TempDir()
	ops := testKeys(t, dir)
	log := quietLog()
	s, err := startService(serveConfig{Data: dir, HTTP: "127.0.0.1:0", Raft: "127.0.0.1:0", Operators: testOperators()}, log)
	if err != nil {
		t.Fatal(err)
	}
	url := s.URL()
	carol, mm := marginBook(t, url, ops)
	ctx := context.Background()
	if _, err := mm.Place(ctx, client.Order{Symbol: "BTC-USD", Side: "sell", Type: "limit", Price: "100000", Qty: "0.05"}); err != nil {
		t.Fatal(err)
	}
	if _, err := carol.Place(ctx, client.Order{Symbol: "BTC-USD", Side: "buy", Type: "limit", TimeInForce: "IOC", Price: "100000", Qty: "0.05"}); err != nil {
		t.Fatal(err)
	}
	var live gateway.StressReport
	if err := at(ops[gateway.RoleRisk], url).Do(ctx, "GET", "/v1/admin/financing/stress", nil, &live); err != nil {
		t.Fatal(err)
	}
	viaURL, err := stressOnline(ctx, url, ops[gateway.RoleAdmin].Key, string(ops[gateway.RoleAdmin].Secret))
	if err != nil {
		t.Fatal(err)
	}
	s.Close()

	row := func(rep gateway.StressReport, scenario, client string) string {
		for _, r := range rep.Records {
			if r.Scenario == scenario && r.Client == client {
				return r.Shortfall + "/" + r.Debit + "/" + r.LendingValue
			}
		}
		return "missing"
	}
	if got := row(live, "va-50", "1"); got != "0.000000/39000.000000/42800.000000" {
		t.Fatalf("va-50: %s\n%+v", got, live.Records)
	}
	if got := row(live, "combined-50", "1"); got != "3200.000000/39000.000000/35800.000000" {
		t.Fatalf("combined-50: %s", got)
	}
	for _, d := range []string{dir, filepath.Join(dir, "journal")} {
		off, err := stressOffline(d)
		if err != nil {
			t.Fatal(err)
		}
		if a, b := mustJSON(t, off.Records), mustJSON(t, live.Records); a != b || off.Capital != live.Capital {
			t.Fatalf("offline (%s) %s\nlive %s", d, a, b)
		}
	}
	if mustJSON(t, viaURL.Records) != mustJSON(t, live.Records) {
		t.Fatal("--url differs from the API")
	}

	out := filepath.Join(t.TempDir(), "stress.csv")
	c := rootCmd
	c.SetArgs([]string{"stress", "--data", dir, "--format", "csv", "--out", out})
	if err := c.Execute(); err != nil {
		t.Fatal(err)
	}
	got, _ := os.ReadFile(out)
	if !bytes.Equal(got, gateway.StressCSV(live.Records)) || !strings.HasPrefix(string(got), "scenario,client,debit,market_value,") {
		t.Fatalf("csv:\n%s", got)
	}
	var stdout bytes.Buffer
	c.SetOut(&stdout)
	c.SetArgs([]string{"stress", "--data", dir, "--format", "json", "--out", ""}) // flags persist between Executes
	if err := c.Execute(); err != nil {
		t.Fatal(err)
	}
	var fromCLI gateway.StressReport
	if err := json.Unmarshal(stdout.Bytes(), &fromCLI); err != nil || mustJSON(t, fromCLI.Records) != mustJSON(t, live.Records) {
		t.Fatalf("json: %v\n%s", err, stdout.String())
	}
	c.SetOut(nil)
	for _, args := range [][]string{{"stress", "--data", dir, "--format", "xml"}, {"stress", "--data", "", "--format", "json"}, {"stress", "--data", t.TempDir()}} {
		c.SetArgs(args)
		if err := c.Execute(); err == nil {
			t.Errorf("%v: accepted", args)
		}
	}
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// marginBook prices the collateral (USD 7.80, 0700.HK 500, BTC 100,000 by
// hand: no feeds run here), creates carol (approved assessment, 100 ×
// 0700.HK) and a market maker holding 1 BTC, and returns their trading
// clients.
func marginBook(t *testing.T, url string, ops map[gateway.Role]*client.Client) (*client.Client, *client.Client) {
	t.Helper()
	ctx := context.Background()
	do := func(role gateway.Role, path string, body, out any) {
		t.Helper()
		if err := at(ops[role], url).Do(ctx, "POST", path, body, out); err != nil {
			t.Fatalf("POST %s: %v", path, err)
		}
	}
	for asset, px := range map[string]string{"USD": "7.80", "0700.HK": "500", "BTC": "100000"} {
		do(gateway.RoleRisk, "/v1/admin/asset-prices", map[string]string{"asset": asset, "price": px}, nil)
	}
	do(gateway.RoleRisk, "/v1/admin/marks", map[string]string{"symbol": "BTC-USD", "price": "100000"}, nil)
	keyFor := func(name string) (string, *client.Client) {
		var created, key map[string]any
		do(gateway.RoleAdmin, "/v1/admin/clients", map[string]string{"ref": name, "idempotency_key": "c-" + name}, &created)
		id := created["client_id"].(string)
		do(gateway.RoleAdmin, "/v1/admin/clients/"+id+"/keys", map[string]any{"perms": []string{"read", "trade"}}, &key)
		return id, client.New(url, key["key"].(string), key["secret"].(string))
	}
	carolID, carol := keyFor("carol")
	mmID, mm := keyFor("mm")
	do(gateway.RoleRisk, "/v1/admin/clients/"+carolID+"/credit-assessment", map[string]any{"approved": true, "grade": "A",
		"credit_limit_hkd": "1000000", "experience": 5, "next_review": "2099-01-01"}, nil)
	do(gateway.RoleOperations, "/v1/admin/financing/deposits", map[string]string{"client_id": carolID, "asset": "0700.HK", "qty": "100", "idempotency_key": "d1"}, nil)
	do(gateway.RoleOperations, "/v1/admin/financing/deposits", map[string]string{"client_id": mmID, "asset": "BTC", "qty": "1", "idempotency_key": "d2"}, nil)
	return carol, mm
}
