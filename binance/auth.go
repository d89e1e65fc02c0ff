package binance

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"

	"github.com/sampan-hk/sampan/gateway"
)

// Binance signing (SIGNED endpoints):
//
//	X-MBX-APIKEY: <key id>
//	signature = hex(HMAC-SHA256(secret, totalParams))
//
// where totalParams is the raw query string followed directly by the raw
// request body, exactly as received, with the signature parameter taken
// out. Nothing is decoded, re-encoded or re-ordered before verifying: the
// client signs the bytes it sends, and so the server checks those bytes.
// timestamp (ms) must satisfy timestamp < now + 1000 ms and
// now − timestamp ≤ recvWindow (default 5000 ms, at most 60000 ms).

// HeaderAPIKey carries the key id.
const HeaderAPIKey = "X-MBX-APIKEY"

// keyIDMax bounds a key id; longer or non-printable ids are -2014.
const keyIDMax = 128

// params is a request's parameters from the query and the form body.
type params struct {
	vals     map[string]string
	rawQuery string
	rawBody  string
}

// parseParams parses the query and body as application/x-www-form-urlencoded.
// A parameter given twice (in either or across both) is -1101.
func parseParams(rawQuery, rawBody string) (params, *Error) {
	p := params{vals: map[string]string{}, rawQuery: rawQuery, rawBody: rawBody}
	for _, raw := range []string{rawQuery, rawBody} {
		if raw == "" {
			continue
		}
		for _, seg := range strings.Split(raw, "&") {
			if seg == "" {
				continue
			}
			k, v, _ := strings.Cut(seg, "=")
			key, err1 := url.QueryUnescape(k)
			val, err2 := url.QueryUnescape(v)
			if err1 != nil || err2 != nil || key == "" {
				return p, errf(400, CodeIllegalChars, "Illegal characters found in a parameter.")
			}
			if _, dup := p.vals[key]; dup {
				return p, errf(400, CodeDuplicateParam, "Duplicate values for parameter '"+key+"'.")
			}
			p.vals[key] = val
		}
	}
	return p, nil
}

func (p params) has(k string) bool   { _, ok := p.vals[k]; return ok }
func (p params) get(k string) string { return p.vals[k] }

// only rejects parameters outside allowed (-1104), so a misspelt option is
// an error rather than silently ignored.
func (p params) only(allowed ...string) *Error {
	var unknown []string
	for k := range p.vals {
		ok := false
		for _, a := range allowed {
			ok = ok || a == k
		}
		if !ok {
			unknown = append(unknown, k)
		}
	}
	if len(unknown) > 0 {
		sort.Strings(unknown)
		return errf(400, CodeUnknownParam, "Not all sent parameters were read; read '"+strconv.Itoa(len(p.vals)-len(unknown))+
			"' parameter(s) but was sent '"+strconv.Itoa(len(p.vals))+"'. Unknown: '"+strings.Join(unknown, "', '")+"'.")
	}
	return nil
}

// int64Param reads an optional integer parameter.
func (p params) int64Param(k string, def int64) (int64, *Error) {
	v, ok := p.vals[k]
	if !ok {
		return def, nil
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		return 0, errf(400, CodeIllegalChars, "Illegal characters found in parameter '"+k+"'; legal range is '^[0-9]{1,20}$'.")
	}
	return n, nil
}

// withoutSignature removes signature=... segments from a raw string and
// reports what they carried.
func withoutSignature(raw string) (rest string, sigs []string) {
	if raw == "" {
		return "", nil
	}
	segs := strings.Split(raw, "&")
	kept := segs[:0]
	for _, s := range segs {
		if v, ok := strings.CutPrefix(s, "signature="); ok {
			sigs = append(sigs, v)
			continue
		}
		kept = append(kept, s)
	}
	return strings.Join(kept, "&"), sigs
}

// Sign computes a Binance signature over totalParams (clients and tests).
func Sign(secret []byte, totalParams string) string {
	mac := hmac.New(sha256.New, secret)
	mac.Write([]byte(totalParams))
	return hex.EncodeToString(mac.Sum(nil))
}

// apiKey checks the X-MBX-APIKEY header and returns the key.
func (h *Handler) apiKey(r *http.Request) (*gateway.Key, *Error) {
	id := r.Header.Get(HeaderAPIKey)
	if id == "" || len(id) > keyIDMax {
		return nil, errKeyFormat
	}
	for i := 0; i < len(id); i++ {
		if id[i] <= ' ' || id[i] > '~' {
			return nil, errKeyFormat
		}
	}
	k, ok := h.keys.Lookup(id)
	if !ok || k.Role != gateway.RoleNone || k.Account == 0 {
		return nil, errKey
	}
	if !k.AllowsIP(h.cfg.TrustedProxies.ClientIP(r)) {
		return nil, errKey
	}
	return k, nil
}

// authenticate verifies a SIGNED request and the key's permission.
func (h *Handler) authenticate(r *http.Request, p params, perm gateway.Perm) (*gateway.Key, *Error) {
	k, e := h.apiKey(r)
	if e != nil {
		return nil, e
	}
	if !p.has("timestamp") {
		return nil, mandatory("timestamp")
	}
	ts, err := strconv.ParseInt(p.get("timestamp"), 10, 64)
	if err != nil {
		return nil, errf(400, CodeIllegalChars, "Illegal characters found in parameter 'timestamp'; legal range is '^[0-9]{1,20}$'.")
	}
	window := h.cfg.RecvWindowDefault.Milliseconds()
	if p.has("recvWindow") {
		if window, err = strconv.ParseInt(p.get("recvWindow"), 10, 64); err != nil || window <= 0 {
			return nil, errf(400, CodeIllegalChars, "Illegal characters found in parameter 'recvWindow'; legal range is '^[0-9]{1,20}$'.")
		}
		if window > h.cfg.RecvWindowMax.Milliseconds() {
			return nil, errf(400, CodeBadRecvWindow, "recvWindow must be less than "+strconv.FormatInt(h.cfg.RecvWindowMax.Milliseconds(), 10)+".")
		}
	}
	now := h.nowMs()
	if ts >= now+1000 {
		return nil, errf(400, CodeTimestamp, "Timestamp for this request was 1000ms ahead of the server's time.")
	}
	if now-ts > window {
		return nil, errf(400, CodeTimestamp, "Timestamp for this request is outside of the recvWindow.")
	}
	q, s1 := withoutSignature(p.rawQuery)
	b, s2 := withoutSignature(p.rawBody)
	sigs := append(s1, s2...)
	if len(sigs) != 1 || sigs[0] == "" {
		return nil, mandatory("signature")
	}
	want := Sign(k.Secret, q+b)
	if !hmac.Equal([]byte(strings.ToLower(sigs[0])), []byte(want)) {
		return nil, errSignature
	}
	if !k.Has(perm) {
		return nil, errKey
	}
	// A mutating request is accepted once: a replay of the same signed
	// bytes inside the window is refused (Binance relies on recvWindow
	// alone; Sampan's native API refuses replays, so this does too).
	if r.Method != http.MethodGet && !h.replay.Remember(k.ID+":"+want, h.cfg.Now(), 2*h.cfg.RecvWindowMax) {
		return nil, errf(400, CodeTimestamp, "This signed request was already used (replay); sign a new request with a fresh timestamp.")
	}
	if e := h.keyLim.Allow(k.ID, "API key"); e != nil {
		return nil, errf(429, CodeTooManyRequests, "Too many requests; current limit of API key is exceeded; please back off.")
	}
	return k, nil
}
