package gateway

import (
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strconv"
	"strings"
	"testing"
	"time"
)

func signedReq(k *Key, ts time.Time, method, target, body string) *http.Request {
	r := httptest.NewRequest(method, target, strings.NewReader(body))
	ms := ts.UnixMilli()
	r.Header.Set(HeaderKey, k.ID)
	r.Header.Set(HeaderTimestamp, strconv.FormatInt(ms, 10))
	r.Header.Set(HeaderSignature, Sign(k.Secret, ms, method, r.URL.RequestURI(), []byte(body)))
	return r
}

func TestAuthenticator(t *testing.T) {
	now := time.Unix(1_790_000_000, 0)
	k := &Key{ID: "k1", Secret: []byte("s3cret"), Perms: PermRead | PermTrade}
	ipk := &Key{ID: "k2", Secret: []byte("x"), Perms: PermRead, Allow: []netip.Prefix{netip.MustParsePrefix("10.1.0.0/16")}}
	a := NewAuthenticator(NewMemKeys(k, ipk))
	a.Now = func() time.Time { return now }
	local := netip.MustParseAddr("127.0.0.1")
	body := `{"symbol":"BTC-USD-PERP"}`

	type tc struct {
		name   string
		req    func() *http.Request
		body   string
		remote netip.Addr
		status int
	}
	for _, c := range []tc{
		{"good", func() *http.Request { return signedReq(k, now, "POST", "/v1/orders?x=1", body) }, body, local, 0},
		{"replay of the same signed request", func() *http.Request { return signedReq(k, now, "POST", "/v1/orders?x=1", body) }, body, local, 401},
		{"missing key header", func() *http.Request { return httptest.NewRequest("GET", "/v1/balances", nil) }, "", local, 401},
		{"unknown key", func() *http.Request {
			return signedReq(&Key{ID: "nope", Secret: []byte("s")}, now, "GET", "/v1/balances", "")
		}, "", local, 401},
		{"wrong secret", func() *http.Request {
			return signedReq(&Key{ID: "k1", Secret: []byte("wrong")}, now.Add(time.Millisecond), "GET", "/v1/balances", "")
		}, "", local, 401},
		{"body changed after signing", func() *http.Request { return signedReq(k, now.Add(2*time.Millisecond), "POST", "/v1/orders", body) }, `{"symbol":"ETH-USD-PERP"}`, local, 401},
		{"path changed after signing", func() *http.Request {
			r := signedReq(k, now.Add(3*time.Millisecond), "GET", "/v1/balances", "")
			r.URL.Path = "/v1/positions"
			return r
		}, "", local, 401},
		{"timestamp at the edge of the window", func() *http.Request { return signedReq(k, now.Add(-RecvWindow), "GET", "/v1/balances", "") }, "", local, 0},
		{"timestamp just outside the window", func() *http.Request {
			return signedReq(k, now.Add(-RecvWindow-time.Millisecond), "GET", "/v1/balances", "")
		}, "", local, 401},
		{"timestamp from the future", func() *http.Request { return signedReq(k, now.Add(RecvWindow+time.Second), "GET", "/v1/balances", "") }, "", local, 401},
		{"ip outside allow-list", func() *http.Request { return signedReq(ipk, now, "GET", "/v1/balances", "") }, "", local, 403},
		{"ip inside allow-list", func() *http.Request { return signedReq(ipk, now.Add(time.Millisecond), "GET", "/v1/balances", "") }, "", netip.MustParseAddr("10.1.2.3"), 0},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, e := a.Check(c.req(), []byte(c.body), c.remote)
			if c.status == 0 {
				if e != nil || got == nil {
					t.Fatalf("refused: %v", e)
				}
				return
			}
			if e == nil || e.Status != c.status {
				t.Fatalf("got %v, want status %d", e, c.status)
			}
		})
	}
}

func TestLimiter(t *testing.T) {
	now := time.Unix(0, 0)
	l := NewLimiter(10, 3)
	l.Now = func() time.Time { return now }
	for i := 0; i < 3; i++ {
		if e := l.Allow("k", "key"); e != nil {
			t.Fatalf("request %d within burst refused: %v", i, e)
		}
	}
	e := l.Allow("k", "key")
	if e == nil || e.Status != http.StatusTooManyRequests || e.RetryAfter != 1 {
		t.Fatalf("4th request: %+v", e)
	}
	if l.Allow("other", "key") != nil {
		t.Fatal("keys must not share buckets")
	}
	now = now.Add(100 * time.Millisecond) // one token back
	if e := l.Allow("k", "key"); e != nil {
		t.Fatalf("after refill: %v", e)
	}
	if l.Allow("k", "key") == nil {
		t.Fatal("only one token should have refilled")
	}
	w := httptest.NewRecorder()
	WriteError(w, e2(l))
	if w.Code != 429 || w.Header().Get("Retry-After") == "" || !strings.Contains(w.Body.String(), `"code":"RATE_LIMITED"`) {
		t.Fatalf("429 answer: %d %v %s", w.Code, w.Header(), w.Body)
	}
}

func e2(l *Limiter) *Error { return l.Allow("k", "key") }
