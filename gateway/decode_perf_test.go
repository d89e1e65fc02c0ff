package gateway

import (
	"reflect"
	"strings"
	"testing"
)

// scanAgrees checks the byte scanner against the token walk it replaces on
// the hot path: both must accept and reject the same bodies, for each type.
func scanAgrees(t testing.TB, body []byte) {
	t.Helper()
	for _, dst := range []any{&testOrder{}, &testBatch{}, &wsRequest{}, &OrderRequest{}, &map[string]any{}, new(any), &[]testOrder{}} {
		typ := reflect.TypeOf(dst).Elem()
		var s scanner
		fast := s.scan(body, typ)
		slow := checkStream(body, typ)
		if fast != (slow == nil) {
			t.Fatalf("%T %q: scanner accepts=%v, token walk says %v", dst, body, fast, slow)
		}
	}
}

var scanCases = []string{
	`{"symbol":"BTC-USD-PERP","side":"buy","price":"65000.5","qty":"0.001","post_only":true}`,
	`{"op":"place","id":"x","args":{"symbol":"BTC-USD-PERP","side":"buy","type":"limit","time_in_force":"IOC","price":"64000","qty":"0.001"}}`,
	`{"op":"place","args":{"a":1,"a":2}}`, `{"op":"place","args":[{"a":1,"a":2}]}`,
	`{"q\u0074y":"1","qty":"2"}`, `{"q\u0074y":"1"}`, "{\"\xff\":1,\"\xfe\":2}", "{\"\xff\":1}",
	`{"\ud800":1,"\udc00":2}`, `{"a\/b":1,"a/b":2}`,
	`{"orders":[{"qty":"1"},{"qty":"1","qty":"2"}]}`, `{"orders":[{"qty":"1"},{"qty":"2"}]}`,
	`{"nested":{"tag":"a","Tag":"b"}}`, `{"nested":null}`, `{"nested":{"tag":"a"},"nested":{}}`,
	`[]`, `[1,]`, `{"a":1,}`, `{,}`, `[,1]`, `{"a" 1}`, `{"a":}`, `{1:2}`, `null`, `nul`, `truex`, `true false`,
	`-`, `-0`, `01`, `1.`, `1.e3`, `1e`, `1e+`, `1E-7`, `-0.0e0`, `"\x"`, `"\u12"`, `"\u12g4"`, "\"a\x01\"", `"\"`,
	`{"a":[1,2,{"b":[]}]}`, `{"a":{"b":{"c":{}}}}`, " {} \n\t\r", `{} x`, `{}{}`, `[[[[]]]]`, `[[[[]]]`,
	strings.Repeat("[", 20000) + strings.Repeat("]", 20000),
	bigObject(40, false), bigObject(40, true),
}

func bigObject(n int, dup bool) string {
	var b strings.Builder
	b.WriteString("{")
	for i := range n {
		if i > 0 {
			b.WriteString(",")
		}
		b.WriteString(`"k` + itoa(int64(i)) + `":1`)
	}
	if dup {
		b.WriteString(`,"k3":2`)
	}
	b.WriteString("}")
	return b.String()
}

func TestScannerMatchesTokenWalk(t *testing.T) {
	for _, c := range scanCases {
		scanAgrees(t, []byte(c))
	}
}

// FuzzScanMatchesTokenWalk: go test ./gateway -run '^$' -fuzz FuzzScanMatchesTokenWalk -fuzztime 30s
func FuzzScanMatchesTokenWalk(f *testing.F) {
	for _, c := range scanCases {
		f.Add([]byte(c))
	}
	f.Fuzz(func(t *testing.T, body []byte) { scanAgrees(t, body) })
}

// The hot path should allocate only for the final decode.
func TestScannerAllocs(t *testing.T) {
	body := []byte(scanCases[1])
	typ := reflect.TypeOf(wsRequest{})
	n := testing.AllocsPerRun(100, func() {
		s := scanPool.Get().(*scanner)
		ok := s.scan(body, typ)
		s.release()
		if !ok {
			t.Fatal("rejected")
		}
	})
	if n != 0 {
		t.Fatalf("scanner allocates %v times per body", n)
	}
}

func BenchmarkDecodeStrictOrder(b *testing.B) {
	body := []byte(`{"symbol":"BTC-USD-PERP","side":"buy","type":"limit","time_in_force":"IOC","price":"64000","qty":"0.001","client_order_id":"c1"}`)
	b.ReportAllocs()
	for b.Loop() {
		var o OrderRequest
		if e := DecodeStrict(body, &o); e != nil {
			b.Fatal(e)
		}
	}
}

func BenchmarkDecodeStrictWSPlace(b *testing.B) {
	body := []byte(scanCases[1])
	b.ReportAllocs()
	for b.Loop() {
		var r wsRequest
		if e := DecodeStrict(body, &r); e != nil {
			b.Fatal(e)
		}
		var o OrderRequest
		if e := DecodeStrict(r.Args, &o); e != nil {
			b.Fatal(e)
		}
	}
}
