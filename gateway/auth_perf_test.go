package gateway

import (
	"net/netip"
	"strconv"
	"strings"
	"testing"
	"time"
)

// The pooled verifier accepts exactly Sign's output: the same signature
// in upper case or with a stray byte is refused (it would otherwise be a
// second, unreplayed spelling of one signature), and a key whose secret
// is replaced is checked against the new secret at once.
func TestVerifyAcceptsOnlySignsSpelling(t *testing.T) {
	k := &Key{ID: "k1", Secret: []byte("first"), Account: 1, Perms: PermRead}
	keys := NewMemKeys(k)
	a := NewAuthenticator(keys)
	now := time.Now()
	a.Now = func() time.Time { return now }
	ip := netip.MustParseAddr("127.0.0.1")
	ts := now.UnixMilli()
	body := []byte(`{"qty":"1"}`)
	good := Sign(k.Secret, ts, "POST", "/v1/orders", body)
	tsText := strconv.FormatInt(ts, 10)
	for _, tc := range []struct {
		name, sig string
		ok        bool
	}{
		{"upper case", strings.ToUpper(good), false},
		{"one digit off", good[:63] + string("0123456789abcdef"[(strings.IndexByte("0123456789abcdef", good[63])+1)%16]), false},
		{"short", good[:62], false},
		{"long", good + "0", false},
		{"non-hex", good[:63] + "g", false},
		{"empty", "", false},
		{"as signed", good, true},
		{"as signed, again (replay)", good, false},
	} {
		_, e := a.CheckSigned(k.ID, tsText, tc.sig, "POST", "/v1/orders", body, ip)
		if (e == nil) != tc.ok {
			t.Fatalf("%s: error %v, want ok=%v", tc.name, e, tc.ok)
		}
	}
	// Rotate the secret under the same id: the old signature stops
	// working, the new one works (the pooled MAC state is not stale).
	keys.Put(&Key{ID: "k1", Secret: []byte("second"), Account: 1, Perms: PermRead})
	ts++
	tsText = strconv.FormatInt(ts, 10)
	if _, e := a.CheckSigned(k.ID, tsText, Sign([]byte("first"), ts, "POST", "/v1/orders", body), "POST", "/v1/orders", body, ip); e == nil {
		t.Fatal("old secret still accepted after rotation")
	}
	if _, e := a.CheckSigned(k.ID, tsText, Sign([]byte("second"), ts, "POST", "/v1/orders", body), "POST", "/v1/orders", body, ip); e != nil {
		t.Fatalf("new secret refused: %v", e)
	}
}

// BenchmarkVerify is the per-request signature check.
func BenchmarkVerify(b *testing.B) {
	k := &Key{ID: "k1", Secret: []byte("secret"), Account: 1}
	a := NewAuthenticator(NewMemKeys(k))
	body := []byte(`{"symbol":"BTC-USD-PERP","side":"buy","type":"limit","time_in_force":"IOC","price":"64000","qty":"0.001"}`)
	sig := Sign(k.Secret, 1, "POST", "/v1/orders", body)
	b.ReportAllocs()
	for range b.N {
		if !a.verify(k, sig, 1, "POST", "/v1/orders", body) {
			b.Fatal("refused")
		}
	}
}

// Sharding keeps the limiter's meaning: every key has its own bucket, a
// key's burst is exactly Burst whatever shard it lands in, and idle
// buckets are forgotten (memory bounded) in every shard.
func TestShardedLimiter(t *testing.T) {
	now := time.Unix(0, 0)
	l := NewLimiter(1, 2)
	l.Now = func() time.Time { return now }
	const keys = 200
	for k := range keys {
		key := "key-" + strconv.Itoa(k)
		for i := range 3 {
			e := l.Allow(key, "key")
			if (e == nil) != (i < 2) {
				t.Fatalf("%s request %d: %v", key, i, e)
			}
		}
	}
	used := 0
	for i := range l.shards {
		if len(l.shards[i].buckets) > 0 {
			used++
		}
	}
	if used < limiterShards/2 {
		t.Fatalf("keys landed in %d of %d shards", used, limiterShards)
	}
	now = now.Add(10 * time.Second) // every bucket full again: all forgettable
	l.Allow("key-0", "key")         // sweeps key-0's shard, then recreates key-0
	for i := range l.shards {
		l.forget(&l.shards[i], now) // at most once a second: a no-op for that shard
	}
	total := 0
	for i := range l.shards {
		total += len(l.shards[i].buckets)
	}
	if total != 1 {
		t.Fatalf("%d buckets after the sweep, want 1 (key-0, used since)", total)
	}
}

// BenchmarkLimiterParallel is two token takes per request (IP and key)
// from many goroutines.
func BenchmarkLimiterParallel(b *testing.B) {
	l := NewLimiter(1e12, 1e12)
	b.RunParallel(func(pb *testing.PB) {
		key := "key-" + strconv.FormatInt(time.Now().UnixNano()%1000, 10)
		for pb.Next() {
			l.Allow("127.0.0.1", "IP address")
			l.Allow(key, "API key")
		}
	})
}
