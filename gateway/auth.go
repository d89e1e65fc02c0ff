package gateway

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"hash"
	"net/http"
	"net/netip"
	"strconv"
	"sync"
	"time"
	"unsafe"
)

// Native API signing. A signed request carries three headers:
//
//	X-Sampan-Key:        the key id
//	X-Sampan-Timestamp:  milliseconds since the Unix epoch
//	X-Sampan-Signature:  hex(HMAC-SHA256(secret, timestamp + METHOD + path?query + body))
//
// The timestamp must lie within the receive window of the server's clock,
// and a signature is accepted once: a replay inside the window is refused.
const (
	HeaderKey       = "X-Sampan-Key"
	HeaderTimestamp = "X-Sampan-Timestamp"
	HeaderSignature = "X-Sampan-Signature"
	// RecvWindow is how far a request's timestamp may be from the server's
	// clock, either way.
	RecvWindow = 5 * time.Second
	// replayCacheMax bounds the memory of seen signatures.
	replayCacheMax = 1 << 20
)

// Perm is a permission carried by an API key.
type Perm uint8

const (
	PermRead Perm = 1 << iota
	PermTrade
	PermWithdraw
)

// Role is an operator role; zero means the key is a client key.
type Role string

const (
	RoleNone       Role = ""
	RoleAdmin      Role = "admin"
	RoleRisk       Role = "risk_officer"
	RoleCompliance Role = "compliance_officer"
	RoleOperations Role = "operations"
	RoleAuditor    Role = "auditor"
)

// Key is one API key.
type Key struct {
	ID      string
	Secret  []byte
	Account uint64 // client account the key acts for (client keys)
	Perms   Perm
	Role    Role // operator role (operator keys)
	// Operator is the governance operator id the key acts as (operator
	// keys): the engine's Config.Governance.Operators must hold the same
	// id with the same role. Governance actions need it; the gateway puts
	// it in every governance command, never taking it from the request.
	Operator string
	Allow    []netip.Prefix // optional IP allow-list; empty means any
	// CancelOnDisconnect cancels the account's open orders when a WebSocket
	// session logged in with this key ends, however it ends.
	CancelOnDisconnect bool
}

// Has reports whether the key carries permission p.
func (k *Key) Has(p Perm) bool { return k.Perms&p == p }

// KeyStore looks keys up by id.
type KeyStore interface {
	Lookup(id string) (*Key, bool)
}

// MemKeys is an in-memory KeyStore.
type MemKeys struct {
	mu   sync.RWMutex
	keys map[string]*Key
}

// NewMemKeys returns a store holding keys.
func NewMemKeys(keys ...*Key) *MemKeys {
	m := &MemKeys{keys: map[string]*Key{}}
	for _, k := range keys {
		m.keys[k.ID] = k
	}
	return m
}

// Put adds or replaces a key.
func (m *MemKeys) Put(k *Key) {
	m.mu.Lock()
	m.keys[k.ID] = k
	m.mu.Unlock()
}

// Lookup implements KeyStore.
func (m *MemKeys) Lookup(id string) (*Key, bool) {
	m.mu.RLock()
	k, ok := m.keys[id]
	m.mu.RUnlock()
	return k, ok
}

// Sign computes the native signature; clients and tests use it.
func Sign(secret []byte, tsMillis int64, method, pathQuery string, body []byte) string {
	mac := hmac.New(sha256.New, secret)
	mac.Write([]byte(strconv.FormatInt(tsMillis, 10)))
	mac.Write([]byte(method))
	mac.Write([]byte(pathQuery))
	mac.Write(body)
	return hex.EncodeToString(mac.Sum(nil))
}

// Authenticator checks signed requests.
type Authenticator struct {
	Keys KeyStore
	Now  func() time.Time

	replay *ReplayCache
	// macs holds, per key id, a pool of HMAC-SHA256 states keyed with
	// that key's secret (a macEntry): hmac.New costs two SHA-256 states
	// and the key schedule, a tenth of a signed request's allocations;
	// Reset reuses them. A key whose secret changed gets a fresh entry, so
	// there is at most one entry per key id ever seen.
	macs sync.Map
}

type macEntry struct {
	secret []byte
	pool   sync.Pool
}

// macPool returns the pool of HMAC states for k's current secret.
func (a *Authenticator) macPool(k *Key) *sync.Pool {
	if e, ok := a.macs.Load(k.ID); ok && hmac.Equal(e.(*macEntry).secret, k.Secret) {
		return &e.(*macEntry).pool
	}
	e := &macEntry{secret: append([]byte(nil), k.Secret...)}
	e.pool.New = func() any { return hmac.New(sha256.New, e.secret) }
	a.macs.Store(k.ID, e)
	return &e.pool
}

// verify reports whether sig is the signature of the message under k's
// secret, as Sign writes it: exactly 64 lowercase hex digits (another
// spelling of the same bytes would be a second, unreplayed signature).
func (a *Authenticator) verify(k *Key, sig string, ts int64, method, pathQuery string, body []byte) bool {
	var got, want [sha256.Size]byte
	if len(sig) != 2*len(got) {
		return false
	}
	for i := 0; i < len(sig); i++ {
		if c := sig[i]; !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	if _, err := hex.Decode(got[:], unsafeBytes(sig)); err != nil {
		return false
	}
	pool := a.macPool(k)
	mac := pool.Get().(hash.Hash)
	mac.Reset()
	var scratch [20]byte
	mac.Write(strconv.AppendInt(scratch[:0], ts, 10))
	mac.Write(unsafeBytes(method))
	mac.Write(unsafeBytes(pathQuery))
	mac.Write(body)
	mac.Sum(want[:0])
	pool.Put(mac)
	return hmac.Equal(got[:], want[:])
}

// unsafeBytes views a string as bytes for hashing (never written to).
func unsafeBytes(s string) []byte { return unsafe.Slice(unsafe.StringData(s), len(s)) }

// NewAuthenticator returns an Authenticator using the wall clock.
func NewAuthenticator(keys KeyStore) *Authenticator {
	return &Authenticator{Keys: keys, Now: time.Now, replay: NewReplayCache(replayCacheMax)}
}

// Check authenticates r with its already-read body and returns the key.
// Every failure is a 401 with a message that says which check failed, except
// an IP outside the key's allow-list, which is a 403.
func (a *Authenticator) Check(r *http.Request, body []byte, remote netip.Addr) (*Key, *Error) {
	return a.CheckSigned(r.Header.Get(HeaderKey), r.Header.Get(HeaderTimestamp), r.Header.Get(HeaderSignature),
		r.Method, r.URL.RequestURI(), body, remote)
}

// CheckSigned authenticates the parts of a signed message; Check and the
// WebSocket login use it, so both get the same window and replay checks.
func (a *Authenticator) CheckSigned(id, tsText, sig, method, pathQuery string, body []byte, remote netip.Addr) (*Key, *Error) {
	if id == "" {
		return nil, Errf(http.StatusUnauthorized, CodeUnauthorized, "", "missing "+HeaderKey+" header")
	}
	k, ok := a.Keys.Lookup(id)
	if !ok {
		return nil, Errf(http.StatusUnauthorized, CodeUnauthorized, "", "unknown API key")
	}
	ts, err := strconv.ParseInt(tsText, 10, 64)
	if err != nil {
		return nil, Errf(http.StatusUnauthorized, CodeUnauthorized, "", "missing or malformed "+HeaderTimestamp+" header (milliseconds since the epoch)")
	}
	now := a.Now()
	skew := now.Sub(time.UnixMilli(ts))
	if skew > RecvWindow || skew < -RecvWindow {
		return nil, Errf(http.StatusUnauthorized, CodeUnauthorized, "", "timestamp outside the receive window of "+RecvWindow.String())
	}
	if !a.verify(k, sig, ts, method, pathQuery, body) {
		return nil, Errf(http.StatusUnauthorized, CodeUnauthorized, "", "signature does not match")
	}
	if !k.AllowsIP(remote) {
		return nil, Errf(http.StatusForbidden, CodeForbidden, "", "this key may not be used from "+remote.String())
	}
	if !a.replay.Remember(id+":"+sig, now, 2*RecvWindow) {
		return nil, Errf(http.StatusUnauthorized, CodeUnauthorized, "", "this signed request was already used (replay)")
	}
	return k, nil
}

// AllowsIP reports whether the key may be used from ip: always, when the
// key has no allow-list.
func (k *Key) AllowsIP(ip netip.Addr) bool {
	return len(k.Allow) == 0 || anyContains(k.Allow, ip.Unmap())
}

// ReplayCache remembers accepted request signatures until they expire, so
// a signed request is accepted once. Entries are dropped oldest first once
// expired; the cache never exceeds its bound (when full, the oldest entry
// goes even if unexpired, which is safe because its timestamp is by then
// almost always outside the receive window). Both APIs (native and
// Binance-compatible) use it.
type ReplayCache struct {
	mu   sync.Mutex
	max  int
	seen map[string]time.Time // signature → expiry
	fifo []string
}

// NewReplayCache returns a cache holding at most max signatures.
func NewReplayCache(max int) *ReplayCache {
	return &ReplayCache{max: max, seen: map[string]time.Time{}}
}

// Remember records sig until now+ttl and reports whether it was new.
func (c *ReplayCache) Remember(sig string, now time.Time, ttl time.Duration) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	for len(c.fifo) > 0 {
		old := c.fifo[0]
		if exp, ok := c.seen[old]; ok && now.Before(exp) && len(c.fifo) < c.max {
			break
		}
		delete(c.seen, old)
		c.fifo = c.fifo[1:]
	}
	if _, dup := c.seen[sig]; dup {
		return false
	}
	c.seen[sig] = now.Add(ttl)
	c.fifo = append(c.fifo, sig)
	return true
}
