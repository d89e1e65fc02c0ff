package gateway

import (
	"fmt"
	"net/http"
	"net/netip"
	"strings"
)

// Proxies are the peers trusted to name the client of a request in
// X-Forwarded-For: the load balancers or TLS terminators in front of the
// API. Behind them every connection comes from a proxy, so without this
// the per-IP rate limit would throttle all clients as one and a key's IP
// allow-list would see only the proxy.
type Proxies []netip.Prefix

// ClientIP is the address of the client that sent r. With no trusted
// proxies, or a peer that is not one, it is the peer's address and
// X-Forwarded-For is ignored (anyone can write it). From a trusted peer,
// X-Forwarded-For is read from its right end, where the nearest proxy
// appended what it saw: trusted proxies are skipped and the first address
// that is not one is the client. The addresses to its left were written
// by the client or by hops it chose, and are not believed. If every hop is
// a trusted proxy, the leftmost is the client; an entry that is not an
// address ends the walk at the peer's address.
func (p Proxies) ClientIP(r *http.Request) netip.Addr {
	peer := RemoteIP(r)
	if !p.trusts(peer) {
		return peer
	}
	fields := r.Header.Values("X-Forwarded-For")
	client := peer
	for i := len(fields) - 1; i >= 0; i-- {
		hops := strings.Split(fields[i], ",")
		for j := len(hops) - 1; j >= 0; j-- {
			a, ok := hopAddr(hops[j])
			if !ok {
				return peer
			}
			if client = a; !p.trusts(a) {
				return a
			}
		}
	}
	return client
}

func (p Proxies) trusts(a netip.Addr) bool { return anyContains(p, a) }

// anyContains reports whether one of the prefixes holds a.
func anyContains(prefixes []netip.Prefix, a netip.Addr) bool {
	for _, pre := range prefixes {
		if pre.Contains(a) {
			return true
		}
	}
	return false
}

// hopAddr reads one X-Forwarded-For entry: an address, or an address with
// a port as some proxies write it ("192.0.2.1:4711", "[2001:db8::1]:443").
func hopAddr(s string) (netip.Addr, bool) {
	s = strings.TrimSpace(s)
	if a, err := netip.ParseAddr(s); err == nil {
		return a.Unmap(), true
	}
	if ap, err := netip.ParseAddrPort(s); err == nil {
		return ap.Addr().Unmap(), true
	}
	return netip.Addr{}, false
}

// ParsePrefixes reads addresses or prefixes ("10.0.0.0/8", "192.0.2.10",
// "2001:db8::/32"; an address is a prefix of its full length): trusted
// proxies, a key's IP allow-list.
func ParsePrefixes(list []string) ([]netip.Prefix, error) {
	out := make([]netip.Prefix, 0, len(list))
	for _, s := range list {
		if pre, err := netip.ParsePrefix(s); err == nil {
			out = append(out, pre.Masked())
			continue
		}
		a, err := netip.ParseAddr(s)
		if err != nil {
			return nil, fmt.Errorf("%q is not an IP address or prefix (192.0.2.10, 10.0.0.0/8)", s)
		}
		a = a.Unmap()
		out = append(out, netip.PrefixFrom(a, a.BitLen()))
	}
	return out, nil
}
