package feed

import (
	"bufio"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sampan-hk/sampan/core/fixed"
	"github.com/sampan-hk/sampan/core/oracle"
)

var recv = time.Date(2026, 11, 20, 8, 0, 2, 0, time.UTC)

func lines(t *testing.T, name string) [][]byte {
	t.Helper()
	f, err := os.Open(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out [][]byte
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<16), 1<<20)
	for sc.Scan() {
		if l := strings.TrimSpace(sc.Text()); l != "" {
			out = append(out, []byte(l))
		}
	}
	return out
}

type want struct {
	under, symbol, currency, price string
	at                             string // RFC3339Nano; "" means the receive time
}

// Every recorded message must parse; data messages give exactly these
// quotes, control messages none.
func TestRecordedMessages(t *testing.T) {
	for _, tc := range []struct {
		venue Venue
		file  string
		want  []want
	}{
		{NewCoinbase(), "coinbase.jsonl", []want{
			{"BTC", "BTC-USD", "USD", "91234.56", "2026-11-20T08:00:00.311297163Z"},
			{"ETH", "ETH-USD", "USD", "3105.2", "2026-11-20T08:00:01.004512877Z"},
			{"BTC", "BTC-USD", "USD", "91235.01", "2026-11-20T08:00:01.004512877Z"},
		}},
		{NewKraken(), "kraken.jsonl", []want{
			{"BTC", "BTC/USD", "USD", "91230.2", "2026-11-20T08:00:00.104598Z"},
			{"ETH", "ETH/USD", "USD", "3105.02", "2026-11-20T08:00:01.002871Z"},
			{"BTC", "BTC/USD", "USD", "91231", ""}, // no timestamp: receive time
		}},
		{NewBitstamp(), "bitstamp.jsonl", []want{
			{"BTC", "btcusd", "USD", "91228", "2026-11-20T08:00:00.402133Z"},
			{"ETH", "ethusd", "USD", "3104.9", "2026-11-20T08:00:01.07741Z"},
		}},
		{NewOKX(), "okx.jsonl", []want{
			{"BTC", "BTC-USDT", "USDT", "91241.3", "2026-11-20T08:00:00.512Z"},
			{"ETH", "ETH-USDT", "USDT", "3105.47", "2026-11-20T08:00:01.003Z"},
		}},
		{NewBinance(), "binance.jsonl", []want{
			{"BTC", "BTCUSDT", "USDT", "91240.01000000", "2026-11-20T08:00:00.214Z"},
			{"ETH", "ETHUSDT", "USDT", "3105.50000000", "2026-11-20T08:00:00.989Z"},
		}},
	} {
		t.Run(tc.venue.Name(), func(t *testing.T) {
			var got []Quote
			for i, l := range lines(t, tc.file) {
				qs, err := tc.venue.Parse(l, recv)
				if err != nil {
					t.Fatalf("line %d: %v", i+1, err)
				}
				got = append(got, qs...)
			}
			if len(got) != len(tc.want) {
				t.Fatalf("%d quotes, want %d: %+v", len(got), len(tc.want), got)
			}
			for i, w := range tc.want {
				q := got[i]
				at := recv
				if w.at != "" {
					at, _ = time.Parse(time.RFC3339Nano, w.at)
				}
				if q.Venue != tc.venue.Name() || q.Underlying != w.under || q.Symbol != w.symbol || q.Currency != w.currency ||
					q.Price != w.price || !q.Time.Equal(at) || !q.Received.Equal(recv) {
					t.Errorf("quote %d: %+v, want %+v", i, q, w)
				}
			}
		})
	}
}

// Malformed or hostile messages are errors of the right kind, never quotes.
func TestBadMessages(t *testing.T) {
	for _, tc := range []struct {
		name  string
		venue Venue
		msg   string
		err   error
	}{
		{"coinbase not json", NewCoinbase(), `{"channel":"ticker",`, ErrMessage},
		{"coinbase float-looking exponent price", NewCoinbase(), `{"channel":"ticker","timestamp":"2026-11-20T08:00:00Z","events":[{"type":"update","tickers":[{"product_id":"BTC-USD","price":"9.1e4"}]}]}`, ErrMessage},
		{"coinbase negative price", NewCoinbase(), `{"channel":"ticker","timestamp":"2026-11-20T08:00:00Z","events":[{"type":"update","tickers":[{"product_id":"BTC-USD","price":"-1"}]}]}`, ErrMessage},
		{"coinbase bad timestamp", NewCoinbase(), `{"channel":"ticker","timestamp":"yesterday","events":[]}`, ErrMessage},
		{"coinbase error", NewCoinbase(), `{"type":"error","message":"failure to subscribe"}`, ErrVenue},
		{"kraken number with exponent", NewKraken(), `{"channel":"ticker","type":"update","data":[{"symbol":"BTC/USD","last":9.1e4}]}`, ErrMessage},
		{"kraken string price", NewKraken(), `{"channel":"ticker","type":"update","data":[{"symbol":"BTC/USD","last":"91000"}]}`, ErrMessage},
		{"kraken unknown ticker type", NewKraken(), `{"channel":"ticker","type":"delta","data":[]}`, ErrMessage},
		{"kraken subscribe failure", NewKraken(), `{"method":"subscribe","success":false,"error":"Currency pair not supported"}`, ErrVenue},
		{"bitstamp zero price", NewBitstamp(), `{"data":{"price_str":"0","microtimestamp":"1795161600402133"},"channel":"live_trades_btcusd","event":"trade"}`, ErrMessage},
		{"bitstamp missing time", NewBitstamp(), `{"data":{"price_str":"91000"},"channel":"live_trades_btcusd","event":"trade"}`, ErrMessage},
		{"bitstamp asks to reconnect", NewBitstamp(), `{"event":"bts:request_reconnect","channel":"","data":""}`, ErrReconnect},
		{"bitstamp error", NewBitstamp(), `{"event":"bts:error","channel":"","data":{"code":null,"message":"Bad subscription string."}}`, ErrVenue},
		{"okx error", NewOKX(), `{"event":"error","code":"60012","msg":"Invalid request"}`, ErrVenue},
		{"okx bad ts", NewOKX(), `{"arg":{"channel":"tickers","instId":"BTC-USDT"},"data":[{"instId":"BTC-USDT","last":"91000","ts":"soon"}]}`, ErrMessage},
		{"okx empty price", NewOKX(), `{"arg":{"channel":"tickers","instId":"BTC-USDT"},"data":[{"instId":"BTC-USDT","last":"","ts":"1795161600512"}]}`, ErrMessage},
		{"binance error", NewBinance(), `{"code":2,"msg":"Invalid request"}`, ErrVenue},
		{"binance price with spaces", NewBinance(), `{"stream":"btcusdt@trade","data":{"e":"trade","s":"BTCUSDT","p":" 91000","T":1795161600214}}`, ErrMessage},
	} {
		t.Run(tc.name, func(t *testing.T) {
			qs, err := tc.venue.Parse([]byte(tc.msg), recv)
			if !errors.Is(err, tc.err) || qs != nil {
				t.Errorf("got %v, %v; want error %v", qs, err, tc.err)
			}
		})
	}
}

func TestSubscriptionsAndURLs(t *testing.T) {
	for _, tc := range []struct {
		venue Venue
		url   string
		subs  []string
	}{
		{NewCoinbase(), "wss://advanced-trade-ws.coinbase.com", []string{
			`{"type":"subscribe","product_ids":["BTC-USD","ETH-USD"],"channel":"ticker"}`,
			`{"type":"subscribe","product_ids":["BTC-USD","ETH-USD"],"channel":"heartbeats"}`}},
		{NewKraken(), "wss://ws.kraken.com/v2", []string{
			`{"method":"subscribe","params":{"channel":"ticker","symbol":["BTC/USD","ETH/USD"]}}`}},
		{NewBitstamp(), "wss://ws.bitstamp.net", []string{
			`{"event":"bts:subscribe","data":{"channel":"live_trades_btcusd"}}`,
			`{"event":"bts:subscribe","data":{"channel":"live_trades_ethusd"}}`}},
		{NewOKX(), "wss://ws.okx.com:8443/ws/v5/public", []string{
			`{"op":"subscribe","args":[{"channel":"tickers","instId":"BTC-USDT"},{"channel":"tickers","instId":"ETH-USDT"}]}`}},
		{NewBinance(), "wss://stream.binance.com:9443/stream?streams=btcusdt@trade/ethusdt@trade", nil},
	} {
		if tc.venue.URL() != tc.url {
			t.Errorf("%s url %s", tc.venue.Name(), tc.venue.URL())
		}
		subs := tc.venue.Subscribe()
		if len(subs) != len(tc.subs) {
			t.Fatalf("%s: %d subscriptions", tc.venue.Name(), len(subs))
		}
		for i := range subs {
			if string(subs[i]) != tc.subs[i] {
				t.Errorf("%s sub %d: %s", tc.venue.Name(), i, subs[i])
			}
		}
	}
	if len(Venues()) < 4 {
		t.Error("fewer than four venues")
	}
}

func TestQuoteUnitsAndTicks(t *testing.T) {
	spec := &fixed.Spec{Tick: fixed.Step{Units: 5, Scale: 1}, Lot: fixed.Step{Units: 1, Scale: 3}, Multiplier: 1,
		QuoteDecimals: 6, BaseDecimals: 8, MaxPrice: 100_000_000, MaxQty: 10_000_000}
	if err := spec.Validate(); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		price string
		units int64 // at scale 2
		ticks fixed.Price
		ok    bool
	}{
		{"91234.56", 9123456, 182469, true}, // 912345.6 tenths / 5 → 182469 (truncated)
		{"91240.01000000", 9124001, 182480, true},
		{"3105", 310500, 6210, true},
		{"0.01", 1, 0, false}, // below one tick of 0.5
		{"0", 0, 0, false},
		{"-5", 0, 0, false},
		{"1e5", 0, 0, false},
		{"", 0, 0, false},
	} {
		q := Quote{Price: tc.price, Time: recv}
		u, err := q.Units(2)
		if (err == nil) != (tc.units != 0) || u != tc.units {
			t.Errorf("Units(%q) = %d, %v", tc.price, u, err)
		}
		tk, err := q.Ticks(spec)
		if (err == nil) != tc.ok || tk != tc.ticks {
			t.Errorf("Ticks(%q) = %d, %v", tc.price, tk, err)
		}
		if tc.ok {
			oq, err := q.OracleQuote(7, spec)
			if err != nil || oq.Source != 7 || oq.Price != tc.ticks || oq.Time != recv.UnixNano() {
				t.Errorf("OracleQuote(%q) = %+v, %v", tc.price, oq, err)
			}
		}
	}
}

func TestBackoff(t *testing.T) {
	top := func(n int64) int64 { return n - 1 } // the largest draw
	low := func(int64) int64 { return 0 }
	ms := time.Millisecond
	for _, tc := range []struct {
		n      int
		lo, hi time.Duration
	}{
		{0, 250 * ms, 500 * ms},
		{1, 500 * ms, 1000 * ms},
		{5, 8 * time.Second, 16 * time.Second},
		{6, 15 * time.Second, 30 * time.Second}, // capped
		{60, 15 * time.Second, 30 * time.Second},
	} {
		if got := Backoff(500*ms, 30*time.Second, tc.n, low); got != tc.lo {
			t.Errorf("n=%d low draw: %v, want %v", tc.n, got, tc.lo)
		}
		if got := Backoff(500*ms, 30*time.Second, tc.n, top); got != tc.hi {
			t.Errorf("n=%d high draw: %v, want %v", tc.n, got, tc.hi)
		}
	}
}

// The default adapters are exactly the default index constituents, in id
// order, so every real quote has a constituent to go to.
func TestVenuesMatchDefaultSources(t *testing.T) {
	vs, src := Venues(), oracle.DefaultSources()
	if len(vs) != len(src) {
		t.Fatalf("%d venues, %d sources", len(vs), len(src))
	}
	for i, v := range vs {
		id, ok := SourceFor(src, v.Name())
		if !ok || id != src[i].ID {
			t.Errorf("venue %s → %d, %v", v.Name(), id, ok)
		}
	}
	if _, ok := SourceFor(src, "mtgox"); ok {
		t.Error("unknown venue mapped")
	}
}
