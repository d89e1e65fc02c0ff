package gateway

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"

	"github.com/sampan-hk/sampan/core/engine"
)

// BenchmarkPlaceOrderHandler measures the server's order path without the
// network: signature check, rate limits, strict decode, command, engine
// apply (in-memory log), read-your-writes wait and the JSON answer. Its
// allocs/op is the per-order allocation count of the gateway path that
// `sampan bench api` exercises over loopback. Each request is signed
// afresh with its own client order id, as a real client signs.
func BenchmarkPlaceOrderHandler(b *testing.B) {
	ev := newEnv(b, nil)
	ev.setMark("BTC-USD-PERP", "65000")
	k := ev.client("perf", "100000000", true)
	ts := ev.stamp()
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		body := `{"symbol":"BTC-USD-PERP","side":"buy","type":"limit","time_in_force":"IOC","price":"64000","qty":"0.001","client_order_id":"p` + strconv.Itoa(i) + `"}`
		req := httptest.NewRequest("POST", "/v1/orders", strings.NewReader(body))
		req.RemoteAddr = "127.0.0.1:5555"
		req.Header.Set(HeaderKey, k.ID)
		req.Header.Set(HeaderTimestamp, strconv.FormatInt(ts, 10))
		req.Header.Set(HeaderSignature, Sign(k.Secret, ts, "POST", "/v1/orders", []byte(body)))
		w := httptest.NewRecorder()
		ev.srv.ServeHTTP(w, req)
		if w.Code != http.StatusOK {
			b.Fatalf("%d %s", w.Code, w.Body)
		}
	}
}

// BenchmarkPlaceBatch20 is the server's path for a batch of 20 orders
// (WebSocket place_batch, POST /v1/orders/batch) without the network:
// strict decode of the batch, 20 commands submitted as one run (in-memory
// log), one read-your-writes wait, and the JSON answer. ns/op and
// allocs/op are per batch; divide by 20 for per order.
func BenchmarkPlaceBatch20(b *testing.B) {
	ev := newEnv(b, nil)
	ev.setMark("BTC-USD-PERP", "65000")
	k := ev.client("perf", "100000000", true)
	b.ReportAllocs()
	b.ResetTimer()
	var body []byte
	for i := range b.N {
		body = append(body[:0], `{"orders":[`...)
		for j := range BatchMax {
			if j > 0 {
				body = append(body, ',')
			}
			body = append(body, `{"symbol":"BTC-USD-PERP","side":"buy","type":"limit","time_in_force":"IOC","price":"64000","qty":"0.001","client_order_id":"p`...)
			body = append(body, strconv.Itoa(i*BatchMax+j)...)
			body = append(body, `"}`...)
		}
		body = append(body, "]}"...)
		var br batchRequest
		if e := DecodeStrict(body, &br); e != nil {
			b.Fatal(e)
		}
		items := ev.srv.placeBatch(context.Background(), br.Orders, engine.ClientID(k.Account))
		out, _ := json.Marshal(wsReply{ID: "1", Op: "place_batch", Status: http.StatusOK, Result: batchResult{items}})
		if bytes.Count(out, []byte(`"status":200`)) != BatchMax+1 {
			b.Fatalf("%s", out)
		}
	}
}
