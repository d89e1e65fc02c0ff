package gateway

import (
	"net/http"
	"net/netip"
	"testing"
)

func TestClientIP(t *testing.T) {
	proxies, err := ParsePrefixes([]string{"10.0.0.0/8", "192.0.2.10", "2001:db8::/32"})
	if err != nil {
		t.Fatal(err)
	}
	trusted := Proxies(proxies)
	for _, c := range []struct {
		name, peer string
		xff        []string // header lines
		proxies    Proxies
		want       string
	}{
		{"no proxies: the header is ignored", "198.51.100.1:5000", []string{"203.0.113.7"}, nil, "198.51.100.1"},
		{"untrusted peer: ignored", "198.51.100.1:5000", []string{"203.0.113.7"}, trusted, "198.51.100.1"},
		{"trusted peer, no header", "10.1.2.3:5000", nil, trusted, "10.1.2.3"},
		{"trusted peer names the client", "10.1.2.3:5000", []string{"203.0.113.7"}, trusted, "203.0.113.7"},
		{"a spoofed entry left of the client is not believed", "10.1.2.3:5000", []string{"1.1.1.1, 203.0.113.7"}, trusted, "203.0.113.7"},
		{"trusted hops are skipped", "10.1.2.3:5000", []string{"203.0.113.7, 10.9.9.9,192.0.2.10"}, trusted, "203.0.113.7"},
		{"across header lines, right to left", "10.1.2.3:5000", []string{"1.1.1.1", "203.0.113.7, 10.9.9.9"}, trusted, "203.0.113.7"},
		{"every hop trusted: the leftmost", "10.1.2.3:5000", []string{"10.7.7.7, 10.8.8.8"}, trusted, "10.7.7.7"},
		{"garbage ends the walk at the peer", "10.1.2.3:5000", []string{"203.0.113.7, unknown"}, trusted, "10.1.2.3"},
		{"ports are dropped", "10.1.2.3:5000", []string{"203.0.113.7:4711"}, trusted, "203.0.113.7"},
		{"IPv6 with a port", "[2001:db8::1]:443", []string{"[2001:db8:ffff::9]:80, [2a00::7]:1234"}, trusted, "2a00::7"},
		{"IPv4-mapped is unmapped", "[::ffff:10.1.2.3]:5000", []string{"::ffff:203.0.113.7"}, trusted, "203.0.113.7"},
		{"empty entries are garbage", "10.1.2.3:5000", []string{"203.0.113.7,"}, trusted, "10.1.2.3"},
	} {
		r := &http.Request{RemoteAddr: c.peer, Header: http.Header{}}
		for _, v := range c.xff {
			r.Header.Add("X-Forwarded-For", v)
		}
		if got := c.proxies.ClientIP(r); got != netip.MustParseAddr(c.want) {
			t.Errorf("%s: %v, want %s", c.name, got, c.want)
		}
	}
}

func TestParsePrefixes(t *testing.T) {
	got, err := ParsePrefixes([]string{"10.1.2.3/8", "192.0.2.10", "::ffff:192.0.2.11", "2001:db8::/32"})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"10.0.0.0/8", "192.0.2.10/32", "192.0.2.11/32", "2001:db8::/32"}
	for i := range want {
		if got[i].String() != want[i] {
			t.Errorf("%d: %v, want %s", i, got[i], want[i])
		}
	}
	for _, bad := range []string{"", "10.0.0.0/33", "example.com", "10.0.0.1:80", " 10.0.0.1"} {
		if _, err := ParsePrefixes([]string{bad}); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}
