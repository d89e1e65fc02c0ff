package binance

import (
	"net/netip"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sampan-hk/sampan/gateway"
)

// Binance's documented example (USDⓈ-M futures, "SIGNED endpoint
// examples"): the signature of this totalParams with this secret.
func TestSignMatchesBinanceExample(t *testing.T) {
	secret := []byte("2b5eb11e18796d12d88f13dc27dbbd02c2cc51ff7059765ed9821957d82bb4d9")
	total := "symbol=BTCUSDT&side=BUY&type=LIMIT&quantity=1&price=9000&timeInForce=GTC&recvWindow=5000&timestamp=1591702613943"
	want := "3c661234138461fcc7a7d8746c6558c9842d4e10870d2ecbedf7777cad694af9"
	if got := Sign(secret, total); got != want {
		t.Fatalf("Sign = %s, want %s", got, want)
	}
}

func TestWithoutSignature(t *testing.T) {
	for _, c := range []struct{ in, rest, sig string }{
		{"a=1&signature=ab", "a=1", "ab"},
		{"signature=ab&a=1", "a=1", "ab"},
		{"a=1&signature=ab&b=2", "a=1&b=2", "ab"},
		{"a=1", "a=1", ""},
		{"", "", ""},
		{"xsignature=1&a=2", "xsignature=1&a=2", ""}, // only the exact parameter name
	} {
		rest, sigs := withoutSignature(c.in)
		sig := strings.Join(sigs, ",")
		if rest != c.rest || sig != c.sig {
			t.Errorf("withoutSignature(%q) = %q, %q; want %q, %q", c.in, rest, sig, c.rest, c.sig)
		}
	}
}

// TestSigning covers where parameters go, their order, and URL-encoding:
// the signature is checked over the raw bytes received, never over a
// re-encoding of the decoded parameters.
func TestSigning(t *testing.T) {
	ev := newEnv(t)
	ev.setMark(0, "50000")
	k := ev.client("sig", 10_000, true)
	ts := func() string { return strconv.FormatInt(ev.stamp(), 10) }
	hdr := map[string]string{HeaderAPIKey: k.ID}
	sign := func(total string) string { return Sign(k.Secret, total) }

	type tc struct {
		name         string
		method, path string
		parts        func() (string, string) // raw query, raw body
		code         int                     // 0: success
	}
	cases := []tc{
		{"GET, params in query", "GET", "/fapi/v2/balance", func() (string, string) {
			q := "recvWindow=5000&timestamp=" + ts()
			return q + "&signature=" + sign(q), ""
		}, 0},
		{"POST, params in body", "POST", "/fapi/v1/leverage", func() (string, string) {
			b := "symbol=BTCUSDT&leverage=3&timestamp=" + ts()
			return "", b + "&signature=" + sign(b)
		}, 0},
		{"POST, split between query and body: query then body, no separator", "POST", "/fapi/v1/leverage", func() (string, string) {
			q, b := "symbol=BTCUSDT", "leverage=4&timestamp="+ts()
			return q, b + "&signature=" + sign(q+b)
		}, 0},
		{"POST, split but signed with a '&' between", "POST", "/fapi/v1/leverage", func() (string, string) {
			q, b := "symbol=BTCUSDT", "leverage=4&timestamp="+ts()
			return q, b + "&signature=" + sign(q+"&"+b)
		}, CodeSignature},
		{"signature first", "GET", "/fapi/v2/balance", func() (string, string) {
			q := "timestamp=" + ts()
			return "signature=" + sign(q) + "&" + q, ""
		}, 0},
		{"signature in the middle", "GET", "/fapi/v2/positionRisk", func() (string, string) {
			a, b := "symbol=BTCUSDT", "timestamp="+ts()
			return a + "&signature=" + sign(a+"&"+b) + "&" + b, ""
		}, 0},
		{"uppercase hex signature", "GET", "/fapi/v2/balance", func() (string, string) {
			q := "timestamp=" + ts()
			return q + "&signature=" + strings.ToUpper(sign(q)), ""
		}, 0},
		{"parameters re-ordered after signing", "GET", "/fapi/v2/positionRisk", func() (string, string) {
			t := ts()
			return "timestamp=" + t + "&symbol=BTCUSDT&signature=" + sign("symbol=BTCUSDT&timestamp="+t), ""
		}, CodeSignature},
		{"percent-encoded value signed as sent", "GET", "/fapi/v1/openOrders", func() (string, string) {
			q := "symbol=%42TCUSDT&timestamp=" + ts() // %42 is 'B'
			return q + "&signature=" + sign(q), ""
		}, 0},
		{"percent-encoded value signed decoded", "GET", "/fapi/v1/openOrders", func() (string, string) {
			t := ts()
			return "symbol=%42TCUSDT&timestamp=" + t + "&signature=" + sign("symbol=BTCUSDT&timestamp="+t), ""
		}, CodeSignature},
		{"%3A and ':' are different bytes", "POST", "/fapi/v1/order", func() (string, string) {
			b := "symbol=BTCUSDT&side=BUY&type=LIMIT&timeInForce=GTC&quantity=0.001&price=49000&newClientOrderId=a%3Ab%2Fc&timestamp=" + ts()
			return "", b + "&signature=" + sign(strings.ReplaceAll(b, "%3A", ":"))
		}, CodeSignature},
		{"encoded client order id signed raw", "POST", "/fapi/v1/order", func() (string, string) {
			b := "symbol=BTCUSDT&side=BUY&type=LIMIT&timeInForce=GTC&quantity=0.001&price=49000&newClientOrderId=a%3Ab%2Fc&timestamp=" + ts()
			return "", b + "&signature=" + sign(b)
		}, 0},
		{"tampered body", "POST", "/fapi/v1/leverage", func() (string, string) {
			b := "symbol=BTCUSDT&leverage=3&timestamp=" + ts()
			return "", strings.Replace(b, "leverage=3", "leverage=9", 1) + "&signature=" + sign(b)
		}, CodeSignature},
		{"wrong secret", "GET", "/fapi/v2/balance", func() (string, string) {
			q := "timestamp=" + ts()
			return q + "&signature=" + Sign([]byte("nope"), q), ""
		}, CodeSignature},
		{"missing signature", "GET", "/fapi/v2/balance", func() (string, string) { return "timestamp=" + ts(), "" }, CodeMandatoryParam},
		{"signature in query and body", "POST", "/fapi/v1/leverage", func() (string, string) {
			b := "symbol=BTCUSDT&leverage=3&timestamp=" + ts()
			return "signature=" + sign(b), b + "&signature=" + sign(b)
		}, CodeDuplicateParam},
		{"missing timestamp", "GET", "/fapi/v2/balance", func() (string, string) {
			q := "recvWindow=5000"
			return q + "&signature=" + sign(q), ""
		}, CodeMandatoryParam},
		{"timestamp too old", "GET", "/fapi/v2/balance", func() (string, string) {
			q := "timestamp=" + strconv.FormatInt(time.Now().Add(-6*time.Second).UnixMilli(), 10)
			return q + "&signature=" + sign(q), ""
		}, CodeTimestamp},
		{"timestamp old but inside a larger recvWindow", "GET", "/fapi/v2/balance", func() (string, string) {
			q := "recvWindow=20000&timestamp=" + strconv.FormatInt(time.Now().Add(-6*time.Second).UnixMilli(), 10)
			return q + "&signature=" + sign(q), ""
		}, 0},
		{"timestamp 1s ahead", "GET", "/fapi/v2/balance", func() (string, string) {
			q := "timestamp=" + strconv.FormatInt(time.Now().Add(1500*time.Millisecond).UnixMilli(), 10)
			return q + "&signature=" + sign(q), ""
		}, CodeTimestamp},
		{"recvWindow above 60000", "GET", "/fapi/v2/balance", func() (string, string) {
			q := "recvWindow=60001&timestamp=" + ts()
			return q + "&signature=" + sign(q), ""
		}, CodeBadRecvWindow},
		{"malformed timestamp", "GET", "/fapi/v2/balance", func() (string, string) {
			q := "timestamp=12x"
			return q + "&signature=" + sign(q), ""
		}, CodeIllegalChars},
		{"malformed percent-encoding", "GET", "/fapi/v2/balance", func() (string, string) {
			q := "timestamp=" + ts() + "&x=%zz"
			return q + "&signature=" + sign(q), ""
		}, CodeIllegalChars},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ev := ev.with(t)
			q, b := c.parts()
			target := c.path
			if q != "" {
				target += "?" + q
			}
			r := ev.raw(c.method, target, b, hdr)
			if c.code == 0 {
				if r.status != 200 {
					t.Fatalf("status %d: %s", r.status, r.body)
				}
				return
			}
			if r.code() != c.code {
				t.Fatalf("code %d, want %d: %s", r.code(), c.code, r.body)
			}
		})
	}
}

// TestAPIKeys: the header's format, unknown keys, operator keys, missing
// permissions and IP allow-lists.
func TestAPIKeys(t *testing.T) {
	ev := newEnv(t)
	k := ev.client("keys", 10_000, true)
	ro := &gateway.Key{ID: "read-only", Secret: []byte("ro"), Account: k.Account, Perms: gateway.PermRead}
	op := &gateway.Key{ID: "operator", Secret: []byte("op"), Role: gateway.RoleAdmin}
	fenced := &gateway.Key{ID: "fenced", Secret: []byte("f"), Account: k.Account, Perms: gateway.PermRead | gateway.PermTrade,
		Allow: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}}
	for _, x := range []*gateway.Key{ro, op, fenced} {
		ev.keys.Put(x)
	}
	if r := ev.raw("GET", "/fapi/v2/balance?timestamp=1&signature=00", "", nil); r.code() != CodeKeyFormat || r.status != 401 {
		t.Fatalf("no key header: %d %s", r.status, r.body)
	}
	if r := ev.raw("GET", "/fapi/v2/balance?timestamp=1&signature=00", "", map[string]string{HeaderAPIKey: "bad key"}); r.code() != CodeKeyFormat {
		t.Fatalf("malformed key: %s", r.body)
	}
	if r := ev.signed("GET", "/fapi/v2/balance", "", &gateway.Key{ID: "nobody", Secret: []byte("x")}); r.code() != CodeRejectedMBXKey {
		t.Fatalf("unknown key: %s", r.body)
	}
	if r := ev.signed("GET", "/fapi/v2/balance", "", op); r.code() != CodeRejectedMBXKey {
		t.Fatalf("operator key: %s", r.body)
	}
	ev.must(ev.signed("GET", "/fapi/v2/balance", "", ro), 200)
	if r := ev.signed("POST", "/fapi/v1/leverage", "symbol=BTCUSDT&leverage=2", ro); r.code() != CodeRejectedMBXKey {
		t.Fatalf("read-only key trading: %s", r.body)
	}
	if r := ev.signed("GET", "/fapi/v2/balance", "", fenced); r.code() != CodeRejectedMBXKey {
		t.Fatalf("key outside its IP allow-list: %s", r.body)
	}
}

// A signed mutating request is accepted once.
func TestReplayRefused(t *testing.T) {
	ev := newEnv(t)
	k := ev.client("replay", 10_000, true)
	b := "symbol=BTCUSDT&leverage=3&timestamp=" + strconv.FormatInt(ev.stamp(), 10)
	b += "&signature=" + Sign(k.Secret, b)
	h := map[string]string{HeaderAPIKey: k.ID}
	ev.must(ev.raw("POST", "/fapi/v1/leverage", b, h), 200)
	if r := ev.raw("POST", "/fapi/v1/leverage", b, h); r.code() != CodeTimestamp {
		t.Fatalf("replay: %s", r.body)
	}
}
