package book

import (
	"errors"
	"strconv"

	"github.com/sampan-hk/sampan/core/fixed"
)

// CheckInvariants recomputes the book from its slots and compares it with
// the incrementally kept structures. It is O(orders + levels) and meant for
// tests, simulation and audits, not the hot path. It returns the first
// violation found.
func (b *Book) CheckInvariants() error {
	fail := func(msg string, v ...int64) error {
		for _, x := range v {
			msg += " " + strconv.FormatInt(x, 10)
		}
		return errors.New("book invariant: " + msg)
	}
	if bb, ba := b.best[Buy], b.best[Sell]; bb != 0 && ba != 0 && bb >= ba {
		return fail("crossed: bid ≥ ask", int64(bb), int64(ba))
	}
	seen := 0
	levels := 0
	ownerCount := make([]int32, len(b.owners))
	for _, side := range [2]Side{Buy, Sell} {
		// Every set ladder bit is a non-empty level and vice versa; best is the extreme.
		p := b.ladders[side].next(1)
		if side == Buy {
			p = b.ladders[side].prev(int(b.spec.MaxPrice))
		}
		if p < 0 {
			p = 0
		}
		if fixed.Price(p) != b.best[side] {
			return fail("best price does not match ladder", int64(side), int64(p), int64(b.best[side]))
		}
		for p > 0 {
			lv := b.level(side, fixed.Price(p))
			if lv.count == 0 || lv.head == none {
				return fail("ladder bit set on empty level", int64(p))
			}
			levels++
			var sum fixed.Qty
			var n int32
			prev := none
			for i := lv.head; i != none; i = b.slots[i].next {
				s := &b.slots[i]
				if !s.live || s.side != side || s.price != fixed.Price(p) || s.qty <= 0 || s.prev != prev {
					return fail("bad order in level", int64(p), int64(i))
				}
				if s.id&slotMask != OrderID(i) {
					return fail("order id does not carry its slot", int64(i))
				}
				if int(s.owner) >= len(ownerCount) {
					return fail("order owner unknown", int64(s.owner))
				}
				ownerCount[s.owner]++
				if s.clientID != 0 {
					if j, ok := b.clientID[clientKey{s.owner, s.clientID}]; !ok || j != i {
						return fail("client id index wrong", int64(i))
					}
				}
				sum += s.qty
				n++
				prev = i
			}
			if lv.tail != prev || n != lv.count || sum != lv.qty {
				return fail("level totals wrong", int64(p), int64(n), int64(lv.count), int64(sum), int64(lv.qty))
			}
			seen += int(n)
			if side == Buy {
				p = b.ladders[side].prev(p - 1)
			} else {
				p = b.ladders[side].next(p + 1)
			}
		}
	}
	if seen != b.used {
		return fail("resting count wrong", int64(seen), int64(b.used))
	}
	if levels != b.levels {
		return fail("level count wrong", int64(levels), int64(b.levels))
	}
	for o := range b.owners {
		if ownerCount[o] != b.owners[o].count {
			return fail("owner count wrong", int64(o), int64(ownerCount[o]), int64(b.owners[o].count))
		}
		n := int32(0)
		for i := b.owners[o].head; i != none; i = b.slots[i].onext {
			if b.slots[i].owner != Owner(o) || !b.slots[i].live {
				return fail("owner list holds a foreign order", int64(o))
			}
			n++
		}
		if n != b.owners[o].count {
			return fail("owner list length wrong", int64(o))
		}
	}
	if len(b.clientID) > b.used {
		return fail("client id index has stale entries", int64(len(b.clientID)))
	}
	free := 0
	for i := b.free; i != none; i = b.slots[i].next {
		if b.slots[i].live {
			return fail("live slot on free list", int64(i))
		}
		free++
	}
	if free+b.used != b.limits.MaxOrders {
		return fail("slots leaked", int64(free), int64(b.used))
	}
	return nil
}
