package gateway

import (
	"bytes"
	"encoding/json"
	"reflect"
	"testing"
)

// fastAgrees checks the hot-path decoder against encoding/json on body:
// whenever the fast path takes a body, the standard decoder must accept it
// too and produce the same value.
func fastAgrees(t testing.TB, body []byte) (taken bool) {
	t.Helper()
	for _, dst := range []any{&OrderRequest{}, &wsRequest{}, &batchRequest{}} {
		typ := reflect.TypeOf(dst).Elem()
		var s scanner
		if !s.scan(body, typ) {
			continue // the fast path never sees what the scanner rejects
		}
		fast := reflect.New(typ).Interface()
		if !fastDecode(body, fast) {
			continue
		}
		taken = true
		slow := reflect.New(typ).Interface()
		d := json.NewDecoder(bytes.NewReader(body))
		d.DisallowUnknownFields()
		if err := d.Decode(slow); err != nil {
			t.Fatalf("%T %q: fast path accepted, encoding/json says %v", dst, body, err)
		}
		if !reflect.DeepEqual(fast, slow) {
			t.Fatalf("%T %q: fast %+v, encoding/json %+v", dst, body, fast, slow)
		}
	}
	return taken
}

var fastCases = []string{
	`{"symbol":"BTC-USD-PERP","side":"buy","type":"limit","time_in_force":"IOC","price":"64000","qty":"0.001","client_order_id":"w1-2"}`,
	` { "symbol" : "BTC-USD-PERP" ,"side":"sell","type":"market","qty":"1","post_only":true,"reduce_only":false,"stp":"expire_maker"} `,
	`{}`, `{"post_only":false}`, `{"qty":""}`,
	// shapes the fast path must leave to the decoder (errors or escapes)
	`{"qty":1}`, `{"qty":null}`, `{"post_only":"true"}`, `{"post_only":null}`, `{"side":"b\u0075y"}`, `{"side":"bü"}`,
	`{"symbol":["x"]}`, `[]`, `"x"`, `{"Qty":"1"}`, `{"qty":"1","qty":"2"}`, `{"qty":"1"} x`,
	`{"op":"place","id":"7","args":{"symbol":"BTC-USD-PERP","side":"buy","qty":"1","nested":{"a":"}\"]"}}}`,
	`{"op":"place","id":"7","args":[1,2,{"a":[]}]}`, `{"op":"ping"}`, `{"op":"place","args":null}`, `{"op":"place","args":"x"}`,
	`{"op":"subscribe","id":"s","channels":["trades:BTC-USD-PERP"]}`, `{"op":1}`, `{"id":"a\\b","op":"ping"}`,
	// batches
	`{"orders":[{"symbol":"BTC-USD-PERP","side":"buy","type":"limit","price":"64000","qty":"0.001"} , {"side":"sell","post_only":true},{}]}`,
	`{"orders":[]}`, `{ "orders" : [ ] }`, `{"orders":null}`, `{"orders":[null]}`, `{"orders":[{"qty":"1"},null]}`, `{"orders":{}}`,
	`{"orders":[{"qty":1}]}`, `{"orders":[{"qty":"1"}],"x":1}`, `{"orders":[[]]}`, `{"orders":[{"side":"b\u0075y"}]}`,
}

func TestFastDecodeMatchesEncodingJSON(t *testing.T) {
	taken := 0
	for _, c := range fastCases {
		if fastAgrees(t, []byte(c)) {
			taken++
		}
	}
	if taken < 8 {
		t.Fatalf("fast path took only %d of the plain cases: it is not exercised", taken)
	}
	if !fastAgrees(t, []byte(batchPlain)) || !fastAgrees(t, []byte(`{"orders":[]}`)) {
		t.Fatal("fast path did not take a plain batch")
	}
	// Every single-byte mutation of the plain bodies (deleted, replaced
	// by each JSON-significant byte) must agree as well.
	subs := []byte(`{}[]":,\ 0tfnu` + "\x00\x80")
	for _, c := range append(fastCases[:2:2], batchPlain) {
		for i := range len(c) {
			fastAgrees(t, []byte(c[:i]+c[i+1:]))
			for _, b := range subs {
				fastAgrees(t, []byte(c[:i]+string(b)+c[i+1:]))
			}
		}
	}
}

// batchPlain is a plain batch body, mutated byte by byte above.
const batchPlain = `{"orders":[{"symbol":"BTC-USD-PERP","side":"buy","qty":"1","reduce_only":true},{"price":"1"}]}`

func FuzzFastDecode(f *testing.F) {
	for _, c := range fastCases {
		f.Add([]byte(c))
	}
	f.Fuzz(func(t *testing.T, body []byte) { fastAgrees(t, body) })
}

// Args must not alias the message buffer: callers may reuse it.
func TestFastDecodeArgsAreCopied(t *testing.T) {
	body := []byte(`{"op":"place","args":{"qty":"1"}}`)
	var r wsRequest
	if e := DecodeStrict(body, &r); e != nil {
		t.Fatal(e)
	}
	copy(body, bytes.Repeat([]byte("x"), len(body)))
	if string(r.Args) != `{"qty":"1"}` {
		t.Fatalf("args changed with the buffer: %s", r.Args)
	}
}
