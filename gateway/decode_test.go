package gateway

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

type testOrder struct {
	Symbol   string `json:"symbol"`
	Side     string `json:"side"`
	Price    string `json:"price"`
	Qty      string `json:"qty"`
	PostOnly bool   `json:"post_only"`
	Nested   *struct {
		Tag string `json:"tag"`
	} `json:"nested,omitempty"`
}

type testBatch struct {
	Orders []testOrder `json:"orders"`
}

// Each bad-input class from the reliability reference (B1–B4, B6, B8) gets a
// precise 400 with a stable code and the offending field named.
func TestDecodeStrictRejects(t *testing.T) {
	for _, tc := range []struct {
		name, body string
		code       Code
		field      string
	}{
		{"empty body", "", CodeMalformedJSON, ""},
		{"whitespace body", "  \n", CodeMalformedJSON, ""},
		{"truncated", `{"symbol":"BTC-USD-PERP"`, CodeMalformedJSON, ""},
		{"trailing garbage", `{"symbol":"BTC-USD-PERP"} x`, CodeMalformedJSON, ""},
		{"two values", `{"symbol":"a"}{"symbol":"b"}`, CodeMalformedJSON, ""},
		{"duplicate key", `{"qty":"1","qty":"-5"}`, CodeDuplicateField, "qty"},
		{"wrong-case key", `{"QTY":"7"}`, CodeUnknownField, "QTY"},
		{"unknown key", `{"qty":"1","x":1}`, CodeUnknownField, "x"},
		{"nested unknown", `{"nested":{"tag":"a","Tag":"b"}}`, CodeUnknownField, "nested.Tag"},
		{"number for decimal string", `{"price":65000.5}`, CodeInvalidField, "price"},
		{"exponent number", `{"price":1e3}`, CodeInvalidField, "price"},
		{"NaN literal", `{"price":NaN}`, CodeMalformedJSON, ""},
		{"string for bool", `{"post_only":"yes"}`, CodeInvalidField, "post_only"},
		{"array for object", `[1,2]`, CodeInvalidField, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var o testOrder
			e := DecodeStrict([]byte(tc.body), &o)
			if e == nil {
				t.Fatalf("accepted %q as %+v", tc.body, o)
			}
			if e.Status != http.StatusBadRequest || e.Code != tc.code || e.Field != tc.field {
				t.Fatalf("got %d %s field %q (%s), want 400 %s field %q", e.Status, e.Code, e.Field, e.Message, tc.code, tc.field)
			}
		})
	}
}

func TestDecodeStrictBatchPaths(t *testing.T) {
	var b testBatch
	e := DecodeStrict([]byte(`{"orders":[{"qty":"1"},{"qty":"1","qty":"2"}]}`), &b)
	if e == nil || e.Code != CodeDuplicateField || e.Field != "orders[1].qty" {
		t.Fatalf("got %+v", e)
	}
}

func TestDecodeStrictAccepts(t *testing.T) {
	var o testOrder
	if e := DecodeStrict([]byte(` {"symbol":"BTC-USD-PERP","side":"buy","price":"65000.5","qty":"0.001","post_only":true} `), &o); e != nil {
		t.Fatal(e)
	}
	if o.Symbol != "BTC-USD-PERP" || o.Price != "65000.5" || o.Qty != "0.001" || !o.PostOnly {
		t.Fatalf("decoded %+v", o)
	}
}

func TestReadBodyLimit(t *testing.T) {
	for _, n := range []int{MaxBodyBytes, MaxBodyBytes + 1} {
		r := httptest.NewRequest("POST", "/", strings.NewReader(strings.Repeat(" ", n)))
		w := httptest.NewRecorder()
		_, e := ReadBody(r, w, MaxBodyBytes)
		if (e != nil) != (n > MaxBodyBytes) {
			t.Fatalf("size %d: err %v", n, e)
		}
		if e != nil && (e.Status != http.StatusRequestEntityTooLarge || e.Code != CodeBodyTooLarge) {
			t.Fatalf("size %d: got %+v", n, e)
		}
	}
}
