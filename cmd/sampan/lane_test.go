package main

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/sampan-hk/sampan/client"
	"github.com/sampan-hk/sampan/gateway"
)

// The API answers the same with and without the HTTP lane (http_server:
// net/http), and /metrics shows which requests the lane took (the signed
// REST requests, not /metrics itself, which is net/http's), API errors by
// API and code, the insurance fund and the liquidation counters.
func TestServeHTTPServersAndMetrics(t *testing.T) {
	for _, server := range []string{"", "net/http"} {
		t.Run("http_server="+server, func(t *testing.T) {
			s, ops := testNode(t, serveConfig{HTTPServer: server})
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
			apiErr, ok := err.(*client.APIError)
			if !ok || apiErr.Status != http.StatusBadRequest {
				t.Fatalf("a malformed order: %v, want a 400", err)
			}
			// An unsigned Binance-compatible request: its error has a
			// numeric code.
			if resp, err := http.Get(s.URL() + "/fapi/v2/account"); err != nil || resp.StatusCode < 400 {
				t.Fatalf("unsigned /fapi/v2/account: %v %v", resp, err)
			} else {
				resp.Body.Close()
			}
			metrics := scrape(t, s.URL())
			if v := counterValue(metrics, `sampan_api_errors_total{api="native",code="`+apiErr.Code+`"}`); v != 1 {
				t.Fatalf("the %s error counted %v times:\n%s", apiErr.Code, v, metrics)
			}
			if !regexp.MustCompile(`(?m)^sampan_api_errors_total\{api="binance",code="-\d+"\} 1$`).MatchString(metrics) {
				t.Fatalf("the Binance-compatible error was not counted by its code:\n%s", metrics)
			}
			// A WebSocket request refused: counted under api="websocket".
			ws, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(s.URL(), "http")+"/v1/ws", nil)
			if err != nil {
				t.Fatal(err)
			}
			defer ws.CloseNow()
			if err := ws.Write(ctx, websocket.MessageText, []byte(`{"id":"1","op":"place","args":{}}`)); err != nil {
				t.Fatal(err)
			}
			var reply struct {
				Status int
				Error  struct{ Code string }
			}
			if _, b, err := ws.Read(ctx); err != nil || json.Unmarshal(b, &reply) != nil || reply.Status < 400 || reply.Error.Code == "" {
				t.Fatalf("a place before login: %s %v", b, err)
			}
			metrics = scrape(t, s.URL())
			if v := counterValue(metrics, `sampan_api_errors_total{api="websocket",code="`+reply.Error.Code+`"}`); v != 1 {
				t.Fatalf("the WebSocket %s error counted %v times", reply.Error.Code, v)
			}
			if counterValue(metrics, `sampan_liquidations_total{stage="started"}`) != 0 {
				t.Fatalf("liquidations on a fresh node:\n%s", metrics)
			}
			if err := at(ops[gateway.RoleOperations], s.URL()).Do(ctx, "POST", "/v1/admin/insurance/deposits",
				map[string]any{"amount": "250000.25", "idempotency_key": "fund-1"}, nil); err != nil {
				t.Fatal(err)
			}
			metrics = scrape(t, s.URL())
			for _, sample := range []string{`sampan_insurance_fund_balance_usd`, `sampan_insurance_fund_equity_usd`} {
				if v := counterValue(metrics, sample); v != 250000.25 {
					t.Fatalf("%s = %v after a 250,000.25 deposit", sample, v)
				}
			}
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

// Requests whose HTTP framing net/http refuses by itself, before any
// handler, are answered like every other API error: JSON {code, message}
// and a 4xx (net/http alone says 501 to an unknown transfer coding and 505
// to an HTTP/2.0 request line, in plain text).
func TestServeMalformedHTTPAnswersJSON(t *testing.T) {
	s, _ := testNode(t, serveConfig{})
	addr := strings.TrimPrefix(s.URL(), "http://")
	for _, c := range []struct {
		name, req, code string
		status          int
	}{
		{"invalid field name", "GET /v1/markets HTTP/1.1\r\nHost: x\r\nBad Name: y\r\n\r\n", "MALFORMED_REQUEST", 400},
		{"no Host", "GET /v1/markets HTTP/1.1\r\n\r\n", "MALFORMED_REQUEST", 400},
		{"bad Content-Length", "POST /v1/orders HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n", "MALFORMED_REQUEST", 400},
		{"two Content-Lengths", "POST /v1/orders HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nx", "MALFORMED_REQUEST", 400},
		{"unknown transfer coding", "POST /v1/orders HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\n", "MALFORMED_REQUEST", 400},
		{"HTTP/2.0 request line", "GET /v1/markets HTTP/2.0\r\nHost: x\r\n\r\n", "MALFORMED_REQUEST", 400},
		{"bad escape in the path", "GET /v1/mar%zzkets HTTP/1.1\r\nHost: x\r\n\r\n", "MALFORMED_REQUEST", 400},
		{"header block too large", "GET /v1/markets HTTP/1.1\r\nHost: x\r\nX-Big: " + strings.Repeat("b", 2<<20) + "\r\n\r\n", "HEADERS_TOO_LARGE", 431},
	} {
		resp := rawRequest(t, addr, c.req)
		var e struct{ Code, Message string }
		if resp == nil || resp.StatusCode != c.status || resp.Header.Get("Content-Type") != "application/json" ||
			json.NewDecoder(resp.Body).Decode(&e) != nil || e.Code != c.code || e.Message == "" {
			t.Errorf("%s: %+v %+v", c.name, resp, e)
		}
	}
	// Counted like every other API error.
	metrics := scrape(t, s.URL())
	if counterValue(metrics, `sampan_api_errors_total{api="native",code="MALFORMED_REQUEST"}`) != 7 ||
		counterValue(metrics, `sampan_api_errors_total{api="native",code="HEADERS_TOO_LARGE"}`) != 1 ||
		counterValue(metrics, `sampan_http_responses_total{status="431"}`) != 1 {
		t.Errorf("framing errors not counted:\n%s", metrics)
	}
}

// rawRequest writes req on a new connection and reads one answer.
func rawRequest(t *testing.T, addr, req string) *http.Response {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	c.SetDeadline(time.Now().Add(5 * time.Second))
	go io.WriteString(c, req) // a large header may be answered before it is all sent
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Errorf("no answer: %v", err)
		return nil
	}
	return resp
}
