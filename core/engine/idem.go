package engine

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
}

type idemEntry struct {
	scope uint32
	key   uint64
	fp    uint64
	res   Result
}

// Scopes: a client's orders use the client id; other client commands and
// operator commands live in their own scopes so their keys cannot collide
// with client order ids.
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
