package main

import (
	"context"
	"io"
	"net/http"
	"regexp"
	"strconv"
	"testing"

	"github.com/sampan-hk/sampan/client"
)

// The API answers the same with and without the HTTP lane (http_server:
// net/http), and /metrics shows which requests the lane took: the
// signed REST requests, not /metrics itself (handed to net/http).
func TestServeHTTPServers(t *testing.T) {
	for _, server := range []string{"", "net/http"} {
		t.Run("http_server="+server, func(t *testing.T) {
			dir := t.TempDir()
			ops := testKeys(t, dir)
			s, err := startService(serveConfig{Data: dir, HTTP: "127.0.0.1:0", Raft: "127.0.0.1:0", Operators: testOperators(), HTTPServer: server}, quietLog())
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			trader := setupTrader(t, s.URL(), ops)
			ctx := context.Background()
			placed, err := trader.Place(ctx, client.Order{Symbol: "BTC-USD-PERP", Side: "buy", Type: "limit", Price: "64000", Qty: "0.01", ClientOrderID: "lane-1"})
			if err != nil {
				t.Fatal(err)
			}
			var open struct{ Orders []map[string]any }
			if err := trader.Do(ctx, "GET", "/v1/orders?symbol=BTC-USD-PERP", nil, &open); err != nil {
				t.Fatal(err)
			}
			if len(open.Orders) != 1 || open.Orders[0]["order_id"] != placed["order_id"] || open.Orders[0]["client_order_id"] != "lane-1" {
				t.Fatalf("open orders %v after placing %v", open, placed)
			}
			err = trader.Do(ctx, "POST", "/v1/orders", map[string]any{"symbol": "BTC-USD-PERP", "side": "buy"}, nil)
			if apiErr, ok := err.(*client.APIError); !ok || apiErr.Status != http.StatusBadRequest {
				t.Fatalf("a malformed order: %v, want a 400", err)
			}
			metrics := scrape(t, s.URL())
			lane := counterValue(metrics, `sampan_http_lane_requests_total`)
			if server == "" && lane < 3 {
				t.Fatalf("the lane answered %v requests; want the place, the open orders and the bad order at least\n%s", lane, metrics)
			}
			if server == "net/http" && lane != -1 {
				t.Fatalf("http_server: net/http still reports a lane (%v)", lane)
			}
			if counterValue(metrics, `sampan_http_responses_total{status="400"}`) < 1 {
				t.Fatalf("the 400 was not counted:\n%s", metrics)
			}
		})
	}
}

func scrape(t *testing.T, base string) string {
	t.Helper()
	resp, err := http.Get(base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("/metrics: %d %v", resp.StatusCode, err)
	}
	return string(b)
}

// counterValue reads one sample from a Prometheus text page; -1 if absent.
func counterValue(page, sample string) float64 {
	m := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(sample) + ` (\S+)$`).FindStringSubmatch(page)
	if m == nil {
		return -1
	}
	v, _ := strconv.ParseFloat(m[1], 64)
	return v
}
