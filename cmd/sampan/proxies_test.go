package main

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/sampan-hk/sampan/client"
	"github.com/sampan-hk/sampan/gateway"
)

// Behind a trusted proxy (trusted_proxies), a key's IP allow-list and the
// per-IP rate limit see the client X-Forwarded-For names, on the native and
// the Binance-compatible APIs; without it the header is ignored. A key's
// allow-list is set when the key is issued over the operator API.
func TestServeTrustedProxies(t *testing.T) {
	for _, trusted := range []bool{true, false} {
		t.Run("trusted="+strconv.FormatBool(trusted), func(t *testing.T) {
			cfg := serveConfig{IPRate: 0.5, IPBurst: 40}
			if trusted {
				cfg.TrustedProxies = []string{"127.0.0.1"}
			}
			s, ops := testNode(t, cfg)
			base := s.URL()
			id := setupClient(t, base, ops)
			var key map[string]any
			err := at(ops[gateway.RoleAdmin], base).Do(context.Background(), "POST", "/v1/admin/clients/"+id+"/keys",
				map[string]any{"perms": []string{"read", "trade"}, "allow": []string{"203.0.113.0/24"}}, &key)
			if err != nil {
				t.Fatal(err)
			}
			if allow, _ := key["allow"].([]any); len(allow) != 1 || allow[0] != "203.0.113.0/24" {
				t.Fatalf("issued key %v, want its allow-list", key)
			}
			err = at(ops[gateway.RoleAdmin], base).Do(context.Background(), "POST", "/v1/admin/clients/"+id+"/keys",
				map[string]any{"perms": []string{"read"}, "allow": []string{"203.0.113.0/24", "office"}}, nil)
			if e, ok := err.(*client.APIError); !ok || e.Status != http.StatusBadRequest || e.Field != "allow[1]" {
				t.Fatalf("a key with an allow-list entry that is not an address: %v", err)
			}
			kid, secret := key["key"].(string), []byte(key["secret"].(string))
			trader := client.New(base, kid, string(secret))
			native := func(xff string) int {
				return status(t, base, "GET", "/v1/account", xff, trader.Sign)
			}
			binance := func(xff string) int {
				// Binance signing: the query, HMAC'd (its GETs are not
				// refused as replays, so the clock's millisecond will do).
				q := "timestamp=" + strconv.FormatInt(time.Now().UnixMilli(), 10)
				mac := hmac.New(sha256.New, secret)
				mac.Write([]byte(q))
				return status(t, base, "GET", "/fapi/v2/account?"+q+"&signature="+hex.EncodeToString(mac.Sum(nil)), xff,
					func(req *http.Request, _ []byte) { req.Header.Set("X-MBX-APIKEY", kid) })
			}
			inside, want := http.StatusOK, http.StatusForbidden
			if !trusted {
				inside = http.StatusForbidden // the header names nobody
			}
			for _, c := range []struct {
				xff        string
				native     int
				binanceBad bool
			}{
				{"203.0.113.7", inside, !trusted},
				{"198.51.100.1, 203.0.113.7", inside, !trusted}, // the left entry is the client's own say
				{"203.0.113.7, 198.51.100.1", want, true},
				{"", want, true},
			} {
				if got := native(c.xff); got != c.native {
					t.Errorf("native, X-Forwarded-For %q: %d, want %d", c.xff, got, c.native)
				}
				if got := binance(c.xff); (got != http.StatusOK) != c.binanceBad {
					t.Errorf("binance, X-Forwarded-For %q: %d", c.xff, got)
				}
			}
			// The per-IP bucket (burst 40, 0.5/s) is the named client's:
			// one client spending it leaves the next one's whole.
			limited := 0
			for range 45 {
				if status(t, base, "GET", "/v1/markets", "203.0.113.50", nil) == http.StatusTooManyRequests {
					limited++
				}
			}
			other := status(t, base, "GET", "/v1/markets", "203.0.113.51", nil)
			switch {
			case limited == 0:
				t.Fatal("45 requests within a burst of 40 were never limited")
			case trusted && other != http.StatusOK:
				t.Fatalf("another client behind the proxy was limited too (%d): the proxy's address was throttled", other)
			case !trusted && other != http.StatusTooManyRequests:
				t.Fatalf("without trusted proxies every request is the peer's; got %d", other)
			}
		})
	}
}

// status sends a bodiless request with the given X-Forwarded-For, signed
// by sign when there is one, and returns the answer's status.
func status(t *testing.T, base, method, target, xff string, sign func(*http.Request, []byte)) int {
	t.Helper()
	req, err := http.NewRequest(method, base+target, nil)
	if err != nil {
		t.Fatal(err)
	}
	if xff != "" {
		req.Header.Set("X-Forwarded-For", xff)
	}
	if sign != nil {
		sign(req, nil)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}
