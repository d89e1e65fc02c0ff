package engine

import (
	"github.com/sampan-hk/sampan/core/book"
	"github.com/sampan-hk/sampan/core/fixed"
	"github.com/sampan-hk/sampan/core/governance"
)

// idemTable remembers the results of the last IdemMax keyed commands that
// succeeded. It is a FIFO ring (oldest key forgotten first, so the window is
// deterministic) with an open-addressing index into it (linear probing,
// backward-shift deletion). It never allocates after New and is never
// iterated in hash order: the state hash walks the ring oldest first.
//
// Only successful commands are stored. A rejection changes nothing, so a
// retry after a rejection is evaluated afresh (e.g. after a deposit).
type idemTable struct {
	ring []idemEntry
	head int // oldest entry
	n    int
	// index slots hold hash<<32 | (ring position + 1); 0 = empty. Keeping
	// the hash in the slot means a probe rarely touches the ring (a cache
	// miss) for a key that is not the one sought, and deletion can find each
	// entry's home slot without reading the ring at all.
	index []uint64
	mask  uint64
	// ops numbers the operators for their scopes (see noteOperator).
	ops map[string]uint32
}

type idemEntry struct {
	scope uint32
	key   uint64
	fp    uint64
	res   Result
}

// Scopes: a client's orders use the client id; other client commands and
// operator commands live in their own scopes so their keys cannot collide
// with client order ids. The custody and onboarding commands of the first
// API share scopeOperator; governance-side commands are scoped per
// operator (operatorScope, below).
const (
	scopeClientRequest = 1 << 31
	scopeOperator      = 0xFFFFFFFF
)

func newIdemTable(max int) idemTable {
	size := 1
	for size < 2*max {
		size <<= 1
	}
	if size > 1<<31 {
		panic("engine: idempotency window too large")
	}
	return idemTable{ring: make([]idemEntry, max), index: make([]uint64, size), mask: uint64(size - 1)}
}

// idemHash is a 32-bit hash of (scope, key) (the murmur3 finalizer).
func idemHash(scope uint32, key uint64) uint64 {
	h := key ^ uint64(scope)*0x9e3779b97f4a7c15
	h ^= h >> 33
	h *= 0xff51afd7ed558ccd
	h ^= h >> 33
	return h & 0xFFFFFFFF
}

// find returns the index slot holding (scope, key) and its ring position,
// or the empty slot where it would go and −1.
func (t *idemTable) find(scope uint32, key uint64) (slot uint64, pos int) {
	h := idemHash(scope, key)
	for s := h & t.mask; ; s = (s + 1) & t.mask {
		v := t.index[s]
		if v == 0 {
			return s, -1
		}
		if v>>32 == h {
			if e := &t.ring[uint32(v)-1]; e.scope == scope && e.key == key {
				return s, int(uint32(v) - 1)
			}
		}
	}
}

// get returns the stored entry for (scope, key), or nil.
func (t *idemTable) get(scope uint32, key uint64) *idemEntry {
	if t.n == 0 {
		return nil
	}
	_, p := t.find(scope, key)
	if p < 0 {
		return nil
	}
	return &t.ring[p]
}

// put stores a result, forgetting the oldest entry when the window is full.
// The key must not be present.
func (t *idemTable) put(scope uint32, key, fp uint64, res Result) {
	if t.n == len(t.ring) {
		old := &t.ring[t.head]
		s, p := t.find(old.scope, old.key)
		if p != t.head {
			panic("engine: idempotency index lost its oldest entry")
		}
		t.remove(s)
		t.head++
		if t.head == len(t.ring) {
			t.head = 0
		}
		t.n--
	}
	pos := t.head + t.n
	if pos >= len(t.ring) {
		pos -= len(t.ring)
	}
	t.ring[pos] = idemEntry{scope: scope, key: key, fp: fp, res: res}
	s, p := t.find(scope, key)
	if p >= 0 {
		panic("engine: idempotency key stored twice")
	}
	t.index[s] = idemHash(scope, key)<<32 | uint64(pos+1)
	t.n++
}

// remove empties index slot s and shifts later members of its probe run
// back so every remaining key stays reachable without tombstones.
func (t *idemTable) remove(s uint64) {
	t.index[s] = 0
	for j := (s + 1) & t.mask; t.index[j] != 0; j = (j + 1) & t.mask {
		home := (t.index[j] >> 32) & t.mask
		// Move j back to s if its home is not in the cyclic range (s, j].
		if (j > s && (home <= s || home > j)) || (j < s && home <= s && home > j) {
			t.index[s] = t.index[j]
			t.index[j] = 0
			s = j
		}
	}
}

// each visits stored entries oldest first.
func (t *idemTable) each(fn func(*idemEntry)) {
	for i := 0; i < t.n; i++ {
		p := t.head + i
		if p >= len(t.ring) {
			p -= len(t.ring)
		}
		fn(&t.ring[p])
	}
}

// check verifies that every ring entry is reachable through the index and
// the index holds nothing else.
func (t *idemTable) check() bool {
	count := 0
	for _, v := range t.index {
		if v != 0 {
			count++
			if e := &t.ring[uint32(v)-1]; idemHash(e.scope, e.key) != v>>32 {
				return false
			}
		}
	}
	if count != t.n {
		return false
	}
	ok := true
	t.each(func(e *idemEntry) {
		if t.get(e.scope, e.key) != e {
			ok = false
		}
	})
	return ok
}

// Operator scopes. Governance, eligibility and the financing risk
// decisions (credit assessment, asset registration) are keyed per acting
// operator, so two operators may use the same key. An operator's scope is
// scopeOperator − 1 − n, where n is its position in the order operators
// were added (genesis order, then accepted AddOperator commands). That
// order is a function of the command log, so the numbering needs no state
// of its own in snapshots: Restore replays the governance log, which
// re-adds every operator in the same order. The numbers stay clear of the
// client scopes while MaxClients + operators < 2³¹ − 1 (MaxClients is
// capped far below that in practice; governance caps operators).
//
// ops maps operator id → n. It is only looked up, never iterated.

// noteOperator gives a newly added operator its scope number.
func (t *idemTable) noteOperator(id string) {
	if t.ops == nil {
		t.ops = map[string]uint32{}
	}
	if _, ok := t.ops[id]; !ok {
		t.ops[id] = uint32(len(t.ops))
	}
}

// operatorScope is the scope of an operator's keys.
func (t *idemTable) operatorScope(id string) (uint32, bool) {
	n, ok := t.ops[id]
	return scopeOperator - 1 - n, ok
}

// isOperatorScope reports a per-operator scope.
func (t *idemTable) isOperatorScope(scope uint32) bool {
	return scope < scopeOperator && scope >= scopeOperator-uint32(len(t.ops))
}

// govKeyScope is the scope of a keyed governance, eligibility or
// financing risk command: the acting operator's, or the client's request
// scope for a client's acceptance of a disclosure. A keyed command naming
// no operator, or one the engine does not know, is refused as the command
// itself would be.
func (e *Engine) govKeyScope(cmd *Command) (uint32, Code) {
	if cmd.Kind == CmdAcceptDisclosure {
		return scopeClientRequest | uint32(cmd.Client), OK
	}
	op := cmd.args().Operator
	if op == "" {
		return 0, CodeOperatorRequired
	}
	s, ok := e.idem.operatorScope(op)
	if !ok {
		return 0, FromGovernance(governance.RejectUnknownOperator)
	}
	return s, OK
}

// keyBegin starts a governance-side command under its idempotency key
// (Apply's own window, which does not scope by operator, leaves these
// kinds to their handlers). done reports an answer already: a stored key
// with the same fingerprint returns the original result marked Replayed
// and changes nothing; with another fingerprint the command is refused
// with CodeIdempotencyConflict. Otherwise the handler runs the command and
// calls keyEnd, which stores an accepted result, as Apply does. A command
// without a key just runs. (Begin/end rather than a wrapper taking the
// handler as a func value: a Command passed to an unknown function escapes
// to the heap, and that would reach every caller of Apply.)
func (e *Engine) keyBegin(cmd *Command) (k keyedRun, r Result, done bool) {
	if cmd.Key == 0 {
		return k, r, false
	}
	scope, code := e.govKeyScope(cmd)
	if code != OK {
		return k, Result{Code: code}, true
	}
	k = keyedRun{scope: scope, fp: cmd.fingerprint(), on: true}
	if ent := e.idem.get(scope, cmd.Key); ent != nil {
		if ent.fp != k.fp {
			return k, Result{Code: CodeIdempotencyConflict}, true
		}
		r = ent.res
		r.Replayed = true
		return k, r, true
	}
	return k, r, false
}

// keyedRun is a keyed command between keyBegin and keyEnd.
type keyedRun struct {
	scope uint32
	fp    uint64
	on    bool
}

// keyEnd stores an accepted keyed command's result.
func (e *Engine) keyEnd(k keyedRun, key uint64, r Result) Result {
	if k.on && r.Code == OK {
		e.idem.put(k.scope, key, k.fp, r)
	}
	return r
}

// orderOrID is the result number a snapshot and the state hash keep for
// an entry: the order id, or for an operator-scoped entry the governance
// id (a proposal id or emergency version). No command returns both, so
// the snapshot layout is unchanged; restoredResult undoes it.
func (t *idemTable) orderOrID(en *idemEntry) uint64 {
	if t.isOperatorScope(en.scope) {
		return en.res.ID
	}
	return uint64(en.res.Order)
}

// restoredResult rebuilds a stored result from a snapshot's fields.
func (t *idemTable) restoredResult(scope uint32, code Code, c ClientID, n uint64, qty fixed.Qty) Result {
	r := Result{Code: code, Client: c, Qty: qty}
	if t.isOperatorScope(scope) {
		r.ID = n
	} else {
		r.Order = book.OrderID(n)
	}
	return r
}
