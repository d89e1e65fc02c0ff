package book

import (
	"encoding/binary"
	"errors"
	"slices"

	"github.com/sampan-hk/sampan/core/fixed"
)

// Snapshots. A restored book must behave exactly like the original, so the
// snapshot carries everything that decides future behaviour, not just the
// resting orders:
//   - the id sequence (the next order's id);
//   - every resting order with its exact id (so its slot), owner, client
//     id, side, price, remaining quantity, post-only, reduce-only and STP
//     mode (STP matters when an amend crosses), in Walk order: bids best
//     first, asks best first, FIFO within a level;
//   - the free-slot list in order (it decides which slot, hence which id,
//     the next resting order gets), run-length encoded as runs of
//     consecutive ascending slots: a fresh book is one run, and churn adds
//     a run per out-of-order release;
//   - the band reference and width.
//
// An owner's list (WalkOwner, CancelAll) is not stored: orders join it when
// they rest, in acceptance order, and an amend keeps its place, so it is
// always in ascending id order and is rebuilt by sorting. Everything else
// (levels, ladders, best prices, the client-id index) is derived.
//
// Layout, little-endian, fixed width:
//
//	u8 version (1) | u64 seq | i64 band ref | i64 band ppm | u32 n
//	n × { u64 id | u32 owner | u64 client id | u8 side | u8 flags (1 post-only, 2 reduce-only) | u8 stp | i64 price | i64 qty }
//	u32 runs | runs × { u32 first slot | u32 length }

// SnapshotVersion is the version byte of AppendSnapshot's layout.
const SnapshotVersion = 1

const restOrderBytes = 8 + 4 + 8 + 1 + 1 + 1 + 8 + 8

// ErrSnapshot is returned by Restore for data that is not a valid snapshot
// of a book with the given spec and limits.
var ErrSnapshot = errors.New("book: corrupt or incompatible snapshot")

// AppendSnapshot appends the book's complete state to dst.
func (b *Book) AppendSnapshot(dst []byte) []byte {
	dst = append(dst, SnapshotVersion)
	dst = binary.LittleEndian.AppendUint64(dst, b.seq)
	dst = binary.LittleEndian.AppendUint64(dst, uint64(b.bandRef))
	dst = binary.LittleEndian.AppendUint64(dst, uint64(b.bandPpm))
	dst = binary.LittleEndian.AppendUint32(dst, uint32(b.used))
	for _, s := range [2]Side{Buy, Sell} {
		p := int(b.best[s])
		for p > 0 {
			for i := b.level(s, fixed.Price(p)).head; i != none; i = b.slots[i].next {
				o := &b.slots[i]
				dst = binary.LittleEndian.AppendUint64(dst, uint64(o.id))
				dst = binary.LittleEndian.AppendUint32(dst, uint32(o.owner))
				dst = binary.LittleEndian.AppendUint64(dst, o.clientID)
				dst = append(dst, byte(o.side), b2u(o.postOnly)|b2u(o.reduceOnly)<<1, byte(o.stp))
				dst = binary.LittleEndian.AppendUint64(dst, uint64(o.price))
				dst = binary.LittleEndian.AppendUint64(dst, uint64(o.qty))
			}
			if s == Buy {
				p = b.ladders[s].prev(p - 1)
			} else {
				p = b.ladders[s].next(p + 1)
			}
		}
	}
	// Free list as runs; the count is patched in after the walk.
	at := len(dst)
	dst = binary.LittleEndian.AppendUint32(dst, 0)
	runs := uint32(0)
	for i := b.free; i != none; {
		n := int32(1)
		for b.slots[i+n-1].next == i+n {
			n++
		}
		dst = binary.LittleEndian.AppendUint32(dst, uint32(i))
		dst = binary.LittleEndian.AppendUint32(dst, uint32(n))
		runs++
		i = b.slots[i+n-1].next
	}
	binary.LittleEndian.PutUint32(dst[at:], runs)
	return dst
}

func b2u(v bool) byte {
	if v {
		return 1
	}
	return 0
}

// Restore rebuilds a book from the front of data (written by
// AppendSnapshot for a book with the same spec and limits) and returns the
// bytes after it. Owners must be below maxOwner. Any data that could not
// have come from a valid book (truncated, out of range, crossed, out of
// order, a slot used twice or leaked) is an error; Restore never panics on
// bad input and never allocates more than New does plus O(len(data)).
func Restore(spec fixed.Spec, limits Limits, maxOwner Owner, data []byte) (*Book, []byte, error) {
	r := data
	take := func(n int) []byte {
		if len(r) < n {
			r = nil
			return nil
		}
		v := r[:n]
		r = r[n:]
		return v
	}
	hdr := take(1 + 8 + 8 + 8 + 4)
	if hdr == nil || hdr[0] != SnapshotVersion {
		return nil, nil, ErrSnapshot
	}
	if limits.MaxOrders <= 0 || limits.MaxOrders > MaxOrdersLimit || spec.MaxPrice <= 0 || spec.MaxPrice > 1<<40 {
		return nil, nil, ErrSnapshot
	}
	seq := binary.LittleEndian.Uint64(hdr[1:])
	bandRef := fixed.Price(binary.LittleEndian.Uint64(hdr[9:]))
	bandPpm := fixed.Ppm(binary.LittleEndian.Uint64(hdr[17:]))
	n := int(binary.LittleEndian.Uint32(hdr[25:]))
	if seq >= 1<<(64-slotBits) || bandRef < 0 || bandRef > spec.MaxPrice || bandPpm < 0 || bandPpm >= fixed.PpmOne ||
		n > limits.MaxOrders || len(r) < n*restOrderBytes {
		return nil, nil, ErrSnapshot
	}
	b := New(spec, limits)
	b.SetBand(bandRef, bandPpm)
	b.seq = seq
	inUse := make([]bool, len(b.slots))
	order := make([]int32, 0, n)
	var last fixed.Price
	var lastSide Side
	for k := 0; k < n; k++ {
		v := take(restOrderBytes)
		id := OrderID(binary.LittleEndian.Uint64(v))
		s := slot{id: id, owner: Owner(binary.LittleEndian.Uint32(v[8:])), clientID: binary.LittleEndian.Uint64(v[12:]),
			side: Side(v[20]), postOnly: v[21]&1 != 0, reduceOnly: v[21]&2 != 0, stp: STP(v[22]),
			price: fixed.Price(binary.LittleEndian.Uint64(v[23:])), qty: fixed.Qty(binary.LittleEndian.Uint64(v[31:])), live: true}
		i := int32(id & slotMask)
		if i <= 0 || int(i) >= len(b.slots) || inUse[i] || uint64(id>>slotBits) == 0 || uint64(id>>slotBits) > seq ||
			s.owner >= maxOwner || s.side > Sell || v[21] > 3 || s.stp > STPExpireBoth ||
			s.price <= 0 || s.price > spec.MaxPrice || s.qty <= 0 || s.qty > spec.MaxQty {
			return nil, nil, ErrSnapshot
		}
		// Walk order: all bids by falling price, then asks by rising price.
		if k > 0 && (s.side < lastSide || (s.side == lastSide && ((s.side == Buy && s.price > last) || (s.side == Sell && s.price < last)))) {
			return nil, nil, ErrSnapshot
		}
		if s.side == Sell && b.best[Buy] != 0 && s.price <= b.best[Buy] {
			return nil, nil, ErrSnapshot
		}
		last, lastSide = s.price, s.side
		if s.clientID != 0 {
			if _, dup := b.clientID[clientKey{s.owner, s.clientID}]; dup {
				return nil, nil, ErrSnapshot
			}
			b.clientID[clientKey{s.owner, s.clientID}] = i
		}
		if b.level(s.side, s.price).count == 0 && b.levels >= limits.MaxLevels {
			return nil, nil, ErrSnapshot
		}
		inUse[i] = true
		b.slots[i] = s
		b.linkLevel(i)
		order = append(order, i)
	}
	b.used = n
	// Owner lists in acceptance (id) order.
	slices.SortFunc(order, func(x, y int32) int {
		if b.slots[x].id < b.slots[y].id {
			return -1
		}
		return 1
	})
	for k, i := range order {
		if k > 0 && b.slots[order[k-1]].id == b.slots[i].id {
			return nil, nil, ErrSnapshot
		}
		if b.OpenOrders(b.slots[i].owner) >= limits.MaxOrdersPerOwner {
			return nil, nil, ErrSnapshot
		}
		b.linkOwner(i)
	}
	// Free list: every slot not in use, exactly once, in the stored order.
	hr := take(4)
	if hr == nil {
		return nil, nil, ErrSnapshot
	}
	runs := int(binary.LittleEndian.Uint32(hr))
	if runs > limits.MaxOrders || len(r) < runs*8 {
		return nil, nil, ErrSnapshot
	}
	free := 0
	tail := none
	b.free = none
	for k := 0; k < runs; k++ {
		v := take(8)
		first, cnt := int64(binary.LittleEndian.Uint32(v)), int64(binary.LittleEndian.Uint32(v[4:]))
		if first <= 0 || cnt <= 0 || first+cnt > int64(len(b.slots)) {
			return nil, nil, ErrSnapshot
		}
		for j := int32(first); j < int32(first+cnt); j++ {
			if inUse[j] {
				return nil, nil, ErrSnapshot
			}
			inUse[j] = true
			b.slots[j] = slot{}
			if tail == none {
				b.free = j
			} else {
				b.slots[tail].next = j
			}
			tail = j
			free++
		}
	}
	if free+n != limits.MaxOrders {
		return nil, nil, ErrSnapshot
	}
	b.reset()
	if err := b.CheckInvariants(); err != nil {
		return nil, nil, ErrSnapshot
	}
	return b, r, nil
}

// Seq returns the sequence number of the last order id the book assigned.
func (b *Book) Seq() uint64 { return b.seq }
