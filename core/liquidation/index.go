// Package liquidation holds the pure parts of Sampan's liquidation engine:
// the trigger index that lets a mark update find crossed accounts without
// scanning, the price and size arithmetic of a liquidation step, and the
// auto-deleveraging (ADL) ranking. The engine (core/engine/liquidate.go)
// drives them; docs/liquidation.md explains the whole process.
//
// Like every core package it is deterministic: no maps, no clock, no
// randomness, integer arithmetic only, with each division's rounding named.
package liquidation

// Index keeps, per market, the accounts with a position in two binary
// heaps keyed by the mark price that would trigger a re-check of the
// account: longs trigger when mark ≤ trigger (a max-heap on the trigger),
// shorts when mark ≥ trigger (a min-heap). A mark update pops only the
// entries it crossed: O(1) when nothing crosses, O(k log n) for k crossed.
//
// Entries are addressed by line = client × markets + market, the engine's
// own flattening, so every account has at most one entry per market.
//
// The heap's array layout depends on the order of operations, which is
// deterministic; the engine never lets that layout decide an outcome (it
// re-checks popped accounts exactly and processes them in a sorted order),
// so the index need not be stored in snapshots: Restore rebuilds it.
type Index struct {
	markets int
	heaps   []heap  // 2 per market: [2m] longs, [2m+1] shorts
	pos     []int32 // per line: index+1 in its heap, 0 when absent
	side    []uint8 // per line: 0 absent, 1 long, 2 short
}

type entry struct {
	key    int64 // longs: −trigger; shorts: trigger (both min-heaps)
	client uint32
}

type heap struct{ e []entry }

// NewIndex returns an empty index for the given number of markets.
func NewIndex(markets int) *Index {
	return &Index{markets: markets, heaps: make([]heap, 2*markets)}
}

// Grow makes room for clients 0..n-1.
func (x *Index) Grow(n int) {
	for len(x.pos) < n*x.markets {
		x.pos = append(x.pos, 0)
		x.side = append(x.side, 0)
	}
}

// Len is the number of entries in all heaps.
func (x *Index) Len() int {
	n := 0
	for i := range x.heaps {
		n += len(x.heaps[i].e)
	}
	return n
}

func less(a, b entry) bool {
	if a.key != b.key {
		return a.key < b.key
	}
	return a.client < b.client
}

// Set inserts or moves client c's entry in market m: a long (mark ≤
// trigger crosses) or a short (mark ≥ trigger crosses).
func (x *Index) Set(c uint32, m int, long bool, trigger int64) {
	line := int(c)*x.markets + m
	s, key := uint8(2), trigger
	if long {
		s, key = 1, -trigger
	}
	if x.side[line] == s {
		h := &x.heaps[2*m+int(s)-1]
		i := int(x.pos[line]) - 1
		old := h.e[i].key
		h.e[i].key = key
		if key < old {
			x.up(h, m, i)
		} else {
			x.down(h, m, i)
		}
		return
	}
	if x.side[line] != 0 {
		x.Remove(c, m)
	}
	h := &x.heaps[2*m+int(s)-1]
	h.e = append(h.e, entry{key: key, client: c})
	x.side[line] = s
	x.pos[line] = int32(len(h.e))
	x.up(h, m, len(h.e)-1)
}

// Remove deletes client c's entry in market m, if any.
func (x *Index) Remove(c uint32, m int) {
	line := int(c)*x.markets + m
	s := x.side[line]
	if s == 0 {
		return
	}
	h := &x.heaps[2*m+int(s)-1]
	i := int(x.pos[line]) - 1
	last := len(h.e) - 1
	x.side[line], x.pos[line] = 0, 0
	if i != last {
		h.e[i] = h.e[last]
		x.pos[int(h.e[i].client)*x.markets+m] = int32(i + 1)
		h.e = h.e[:last]
		x.down(h, m, i)
		x.up(h, m, i)
		return
	}
	h.e = h.e[:last]
}

// Get returns client c's entry in market m.
func (x *Index) Get(c uint32, m int) (trigger int64, long, ok bool) {
	line := int(c)*x.markets + m
	if line >= len(x.side) || x.side[line] == 0 {
		return 0, false, false
	}
	h := &x.heaps[2*m+int(x.side[line])-1]
	k := h.e[x.pos[line]-1].key
	if x.side[line] == 1 {
		return -k, true, true
	}
	return k, false, true
}

// PopCrossed removes every entry of market m that mark crosses and
// appends its client to dst (in heap pop order; the caller sorts).
func (x *Index) PopCrossed(m int, mark int64, dst []uint32) []uint32 {
	lh := &x.heaps[2*m]
	for len(lh.e) > 0 && -lh.e[0].key >= mark {
		c := lh.e[0].client
		dst = append(dst, c)
		x.Remove(c, m)
	}
	sh := &x.heaps[2*m+1]
	for len(sh.e) > 0 && sh.e[0].key <= mark {
		c := sh.e[0].client
		dst = append(dst, c)
		x.Remove(c, m)
	}
	return dst
}

// Crossed reports whether any entry of market m is crossed by mark.
func (x *Index) Crossed(m int, mark int64) bool {
	lh, sh := &x.heaps[2*m], &x.heaps[2*m+1]
	return (len(lh.e) > 0 && -lh.e[0].key >= mark) || (len(sh.e) > 0 && sh.e[0].key <= mark)
}

func (x *Index) swap(h *heap, m, i, j int) {
	h.e[i], h.e[j] = h.e[j], h.e[i]
	x.pos[int(h.e[i].client)*x.markets+m] = int32(i + 1)
	x.pos[int(h.e[j].client)*x.markets+m] = int32(j + 1)
}

func (x *Index) up(h *heap, m, i int) {
	for i > 0 {
		p := (i - 1) / 2
		if !less(h.e[i], h.e[p]) {
			break
		}
		x.swap(h, m, i, p)
		i = p
	}
	x.pos[int(h.e[i].client)*x.markets+m] = int32(i + 1)
}

func (x *Index) down(h *heap, m, i int) {
	n := len(h.e)
	for {
		l := 2*i + 1
		if l >= n {
			break
		}
		j := l
		if r := l + 1; r < n && less(h.e[r], h.e[l]) {
			j = r
		}
		if !less(h.e[j], h.e[i]) {
			break
		}
		x.swap(h, m, i, j)
		i = j
	}
	if i < n {
		x.pos[int(h.e[i].client)*x.markets+m] = int32(i + 1)
	}
}
