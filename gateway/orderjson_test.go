package gateway

import (
	"bytes"
	"encoding/json"
	"math"
	"net/http"
	"reflect"
	"strconv"
	"testing"

	"github.com/sampan-hk/sampan/marketdata"
)

// The hand-written encoders are checked against encoding/json itself, never
// against stored strings: whatever json.Marshal writes for a value is the
// expected answer.

// trickyStrings covers each branch of encoding/json's string escaping.
var trickyStrings = []string{
	"", "a", "BTC-USD-PERP", "0.001", "/path", " ~", "\x7f",
	`"quoted" \back\slash`, "<script>alert(1)</script>", "a&b", ">",
	"\b\f\n\r\t", "\x00\x01\x1f", "nul\x00mid",
	"\u2028", "x\u2029y", "\u2027\u202a", // neighbours of the escaped separators stay literal
	"日本語", "é", "😀", "\ufffd", // valid multi-byte, including a real U+FFFD
	"\xff", "a\xffb", "\xc0\xaf", "\xe2\x80", "\xed\xa0\x80", "\xf4\x90\x80\x80", // invalid UTF-8
	"ok\xe2\x80\xa8<\xff>",
}

var trickyInts = []int64{0, 1, -1, 9, 10, -10, 1700000000123, math.MaxInt64, math.MinInt64, math.MinInt64 + 1}

func sampleOrder() *OrderResponse {
	return &OrderResponse{OrderView: marketdata.OrderView{OrderID: "1048577", ClientOrderID: "my-order-1",
		Symbol: "BTC-USD-PERP", Side: "buy", Price: "64000", Qty: "0.001", Filled: "0", Remaining: "0.001",
		Status: "open", PostOnly: true, Created: 1700000000123, Updated: 1700000000456}, AcceptedQty: "0.001"}
}

func mustMarshal(t testing.TB, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// sameAppend checks that got appended want after prefix (so an encoder
// appends, never overwrites).
func sameAppend(t testing.TB, what string, prefix, got, want []byte) {
	t.Helper()
	if !bytes.HasPrefix(got, prefix) || !bytes.Equal(got[len(prefix):], want) {
		t.Fatalf("%s:\n got %q\nwant %s%q", what, got, prefix, want)
	}
}

// checkOrder compares every encoder that carries r with encoding/json.
func checkOrder(t testing.TB, id string, r *OrderResponse) {
	t.Helper()
	prefix := []byte("pre:")
	p := func() []byte { return append(make([]byte, 0, 8), prefix...) }
	sameAppend(t, "order", prefix, appendOrderResponse(p(), r), mustMarshal(t, r))
	sameAppend(t, "ws place", prefix, appendWSPlaceReply(p(), id, r),
		mustMarshal(t, wsReply{ID: id, Op: "place", Status: http.StatusOK, Result: r}))
	if r != nil {
		checkBatch(t, id, []BatchItem{{Status: http.StatusOK, Order: r}})
	}
}

func checkBatch(t testing.TB, id string, items []BatchItem) {
	t.Helper()
	prefix := []byte("[")
	sameAppend(t, "batch", prefix, appendBatchResults([]byte("["), items), mustMarshal(t, map[string]any{"results": items}))
	sameAppend(t, "ws batch", prefix, appendWSBatchReply([]byte("["), id, items),
		mustMarshal(t, wsReply{ID: id, Op: "place_batch", Status: http.StatusOK, Result: batchResult{items}}))
}

func TestOrderJSONTable(t *testing.T) {
	cases := []struct {
		name string
		id   string
		edit func(r *OrderResponse)
	}{
		{"typical", "req-1", func(*OrderResponse) {}},
		{"empty id", "", func(*OrderResponse) {}},
		{"zero value", "", func(r *OrderResponse) { *r = OrderResponse{} }},
		{"no client order id", "1", func(r *OrderResponse) { r.ClientOrderID = "" }},
		{"reason set", "1", func(r *OrderResponse) { r.Reason, r.Status = "POST_ONLY_WOULD_TAKE", "rejected" }},
		{"both omitempty set", "1", func(r *OrderResponse) { r.Reason = "X" }},
		{"all bools true", "1", func(r *OrderResponse) { r.PostOnly, r.ReduceOnly, r.Replayed = true, true, true }},
		{"all bools false", "1", func(r *OrderResponse) { r.PostOnly, r.ReduceOnly, r.Replayed = false, false, false }},
		{"replayed only", "1", func(r *OrderResponse) { r.PostOnly, r.Replayed = false, true }},
		{"escaped id", "<&>\u2028\xff\"", func(*OrderResponse) {}},
		{"unknown fallback", "", func(r *OrderResponse) {
			r.OrderView = marketdata.OrderView{OrderID: "7", Symbol: "ETH-USD", Side: "sell", Qty: "1", Status: "unknown"}
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := sampleOrder()
			c.edit(r)
			checkOrder(t, c.id, r)
		})
	}
	t.Run("nil order", func(t *testing.T) { checkOrder(t, "x", nil) })
}

// TestOrderJSONStrings puts every tricky string in every string field, and
// as the WebSocket id.
func TestOrderJSONStrings(t *testing.T) {
	fields := stringFields(reflect.TypeFor[OrderResponse]())
	for _, s := range trickyStrings {
		checkOrder(t, s, sampleOrder())
		for _, f := range fields {
			r := sampleOrder()
			reflect.ValueOf(r).Elem().FieldByIndex(f).SetString(s)
			checkOrder(t, "", r)
		}
	}
}

// stringFields lists the index paths of t's string fields, embedded
// structs included.
func stringFields(t reflect.Type) [][]int {
	var out [][]int
	for _, f := range reflect.VisibleFields(t) {
		if f.Type.Kind() == reflect.String {
			out = append(out, f.Index)
		}
	}
	return out
}

func TestOrderJSONInts(t *testing.T) {
	for _, n := range trickyInts {
		for _, m := range []int64{0, n, -n} {
			r := sampleOrder()
			r.Created, r.Updated = n, m
			checkOrder(t, "", r)
		}
	}
}

// TestAppendJSONStringEveryByte covers each single byte and each byte
// after a plain prefix (the fast path's hand-over to the escaper).
func TestAppendJSONStringEveryByte(t *testing.T) {
	for c := range 256 {
		for _, s := range []string{string([]byte{byte(c)}), "abc" + string([]byte{byte(c)}) + "xyz"} {
			sameAppend(t, strconv.Quote(s), nil, appendJSONString(nil, s), mustMarshal(t, s))
		}
	}
}

func TestBatchJSONTable(t *testing.T) {
	r := sampleOrder()
	rej := &Error{Status: 422, Code: "POST_ONLY_WOULD_TAKE", Message: "the order would take liquidity"}
	bad := &Error{Status: 400, Code: CodeInvalidField, Field: "orders[2].price", Message: `price "<1>" off the tick`}
	busy := &Error{Status: 503, Code: CodeUnavailable, Message: "try later", RetryAfter: 3}
	neg := &Error{Status: 0, Code: "", Message: "", RetryAfter: -1}
	cases := []struct {
		name  string
		items []BatchItem
	}{
		{"nil", nil},
		{"empty", []BatchItem{}},
		{"one order", []BatchItem{{Status: 200, Order: r}}},
		{"one error", []BatchItem{{Status: 422, Error: rej}}},
		{"mixed", []BatchItem{{Status: 200, Order: r}, {Status: 400, Error: bad}, {Status: 200, Order: sampleOrder()},
			{Status: 503, Error: busy}, {Status: 0, Error: neg}}},
		{"neither set", []BatchItem{{}, {Status: -7}}},
		{"both set", []BatchItem{{Status: 200, Order: r, Error: rej}}},
		{"zero order", []BatchItem{{Status: 200, Order: &OrderResponse{}}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			for _, id := range []string{"", "b-1", "\u2029"} {
				checkBatch(t, id, c.items)
			}
		})
	}
}

// TestOrderJSONEveryField fills every field of the encoded types by
// reflection, so a field added to OrderView, OrderResponse, BatchItem or
// Error that the encoders do not know about fails here.
func TestOrderJSONEveryField(t *testing.T) {
	for _, seed := range []int{0, 1, 2} {
		var r OrderResponse
		n := seed
		fillAll(t, reflect.ValueOf(&r).Elem(), &n)
		checkOrder(t, "", &r)
		var it BatchItem
		fillAll(t, reflect.ValueOf(&it).Elem(), &n)
		checkBatch(t, "id", []BatchItem{it, {}})
	}
}

// fillAll sets every field of v to a distinct non-zero value (escapes
// included), allocating pointed-to structs.
func fillAll(t *testing.T, v reflect.Value, n *int) {
	*n++
	switch v.Kind() {
	case reflect.String:
		v.SetString(trickyStrings[*n%len(trickyStrings)] + "v" + strconv.Itoa(*n))
	case reflect.Bool:
		v.SetBool(*n%2 == 0)
	case reflect.Int, reflect.Int64, reflect.Int32:
		v.SetInt(int64(*n) * -1234567)
	case reflect.Pointer:
		v.Set(reflect.New(v.Type().Elem()))
		fillAll(t, v.Elem(), n)
	case reflect.Struct:
		for i := range v.NumField() {
			fillAll(t, v.Field(i), n)
		}
	default:
		t.Fatalf("fillAll: a %s field: teach the encoders and this test about it", v.Type())
	}
}

func TestOrderJSONAllocFree(t *testing.T) {
	r := sampleOrder()
	r.Reason = "a<b>\u2028\xff" // the escaper must not allocate either
	items := benchBatch(20)
	items[3] = BatchItem{Status: 400, Error: &Error{Code: CodeInvalidField, Field: "orders[3].qty", Message: "bad", RetryAfter: 1}}
	buf := make([]byte, 0, 64<<10)
	for name, f := range map[string]func(){
		"order":    func() { buf = appendOrderResponse(buf[:0], r) },
		"ws place": func() { buf = appendWSPlaceReply(buf[:0], "id-1", r) },
		"batch":    func() { buf = appendBatchResults(buf[:0], items) },
		"ws batch": func() { buf = appendWSBatchReply(buf[:0], "id-2", items) },
	} {
		if a := testing.AllocsPerRun(100, f); a != 0 {
			t.Errorf("%s: %v allocs per run, want 0", name, a)
		}
	}
}

func FuzzOrderJSON(f *testing.F) {
	f.Add("req-1", "1048577", "my-order-1", "BTC-USD-PERP", "buy", "64000", "0.001", "0", "0.001", "open", "",
		"0.001", true, false, false, int64(1700000000123), int64(1700000000456), 422, 0)
	f.Add("", "", "", "", "", "", "", "", "", "", "", "", false, false, false, int64(0), int64(0), 0, 0)
	f.Add("<&>", "\u2028", "\xff\xfe", "\x00\x1f", `"\`, "日本", "\b\f\n\r\t", "\xe2\x80", "😀", "\x7f", "r<",
		"\ufffd", true, true, true, int64(math.MinInt64), int64(math.MaxInt64), -1, -5)
	f.Fuzz(func(t *testing.T, id, orderID, clientID, symbol, side, price, qty, filled, remaining, status, reason,
		accepted string, postOnly, reduceOnly, replayed bool, created, updated int64, errStatus, retry int) {
		r := &OrderResponse{OrderView: marketdata.OrderView{OrderID: orderID, ClientOrderID: clientID, Symbol: symbol,
			Side: side, Price: price, Qty: qty, Filled: filled, Remaining: remaining, Status: status, Reason: reason,
			PostOnly: postOnly, ReduceOnly: reduceOnly, Created: created, Updated: updated},
			AcceptedQty: accepted, Replayed: replayed}
		checkOrder(t, id, r)
		e := &Error{Status: errStatus, Code: Code(status), Message: reason, Field: clientID, RetryAfter: retry}
		checkBatch(t, id, []BatchItem{{Status: errStatus, Error: e}, {Status: 200, Order: r}})
	})
}

// benchBatch is n accepted orders, as a full batch answer holds.
func benchBatch(n int) []BatchItem {
	items := make([]BatchItem, n)
	for i := range items {
		r := sampleOrder()
		r.OrderID = strconv.Itoa(1048577 + i)
		r.ClientOrderID = "p" + strconv.Itoa(i)
		items[i] = BatchItem{Status: http.StatusOK, Order: r}
	}
	return items
}

// BenchmarkOrderJSON compares each hand-written encoder with the
// json.Marshal call it replaces.
func BenchmarkOrderJSON(b *testing.B) {
	r := sampleOrder()
	items := benchBatch(BatchMax)
	buf := make([]byte, 0, 16<<10)
	cases := []struct {
		name    string
		append  func()
		marshal func() ([]byte, error)
	}{
		{"order", func() { buf = appendOrderResponse(buf[:0], r) },
			func() ([]byte, error) { return json.Marshal(r) }},
		{"ws_place", func() { buf = appendWSPlaceReply(buf[:0], "req-1", r) },
			func() ([]byte, error) {
				return json.Marshal(wsReply{ID: "req-1", Op: "place", Status: http.StatusOK, Result: r})
			}},
		{"batch20", func() { buf = appendBatchResults(buf[:0], items) },
			func() ([]byte, error) { return json.Marshal(map[string]any{"results": items}) }},
		{"ws_batch20", func() { buf = appendWSBatchReply(buf[:0], "req-2", items) },
			func() ([]byte, error) {
				return json.Marshal(wsReply{ID: "req-2", Op: "place_batch", Status: http.StatusOK, Result: batchResult{items}})
			}},
	}
	for _, c := range cases {
		b.Run("append/"+c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				c.append()
			}
		})
		b.Run("marshal/"+c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := c.marshal(); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
