package book

import (
	"fmt"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"

	"github.com/sampan-hk/sampan/core/fixed"
)

// The differential test drives the real Book and the naive refBook with the
// same operations and demands identical events and identical books after
// every operation, plus CheckInvariants and per-order quantity conservation.

type opKind uint8

const (
	opSubmit opKind = iota
	opCancel
	opCancelCID
	opCancelAll
	opAmend
	opSetBand
)

// op is one operation. Orders are named by acceptance number (target ≥ 1)
// so the same op applies to both books; target 0 means the raw id garbage.
type op struct {
	kind   opKind
	order  Order
	owner  Owner
	target int
	raw    OrderID
	cid    uint64
	reason Reason
	price  fixed.Price
	qty    fixed.Qty
	ppm    fixed.Ppm
}

func (o op) String() string {
	switch o.kind {
	case opSubmit:
		return fmt.Sprintf("Submit(%+v)", o.order)
	case opCancel:
		return fmt.Sprintf("Cancel(owner=%d #%d raw=%#x %v)", o.owner, o.target, uint64(o.raw), o.reason)
	case opCancelCID:
		return fmt.Sprintf("CancelByClientID(owner=%d cid=%d %v)", o.owner, o.cid, o.reason)
	case opCancelAll:
		return fmt.Sprintf("CancelAll(owner=%d %v)", o.owner, o.reason)
	case opAmend:
		return fmt.Sprintf("Amend(owner=%d #%d raw=%#x price=%d qty=%d)", o.owner, o.target, uint64(o.raw), o.price, o.qty)
	case opSetBand:
		return fmt.Sprintf("SetBand(%d, %d)", o.price, o.ppm)
	}
	return "?"
}

// source yields the choices that make up an op stream: random for the
// seeded test, bytes for the fuzz target.
type source interface {
	intn(n int) int // in [0, n)
	done() bool
}

type randSource struct{ r *rand.Rand }

func (s randSource) intn(n int) int { return s.r.IntN(n) }
func (s randSource) done() bool     { return false }

type byteSource struct {
	b []byte
	i int
}

func (s *byteSource) intn(n int) int {
	if n <= 1 {
		return 0
	}
	var v int
	if s.i < len(s.b) {
		v = int(s.b[s.i])
		s.i++
	}
	if n > 256 && s.i < len(s.b) {
		v = v<<8 | int(s.b[s.i])
		s.i++
	}
	return v % n
}
func (s *byteSource) done() bool { return s.i >= len(s.b) }

// config is the instrument and limits of one stream. Prices cluster around
// center so orders cross often.
type config struct {
	spec   fixed.Spec
	limits Limits
	center fixed.Price
	spread int
}

func specWith(maxPrice fixed.Price, maxQty fixed.Qty) fixed.Spec {
	s := fixed.Spec{Tick: fixed.Step{Units: 1, Scale: 1}, Lot: fixed.Step{Units: 1, Scale: 3}, Multiplier: 1, QuoteDecimals: 6, BaseDecimals: 8, MaxPrice: maxPrice, MaxQty: maxQty}
	if err := s.Validate(); err != nil {
		panic(err)
	}
	return s
}

func pickConfig(g source) config {
	var c config
	// Centers near 1, the 64 and 4096 ladder word boundaries, and MaxPrice.
	switch g.intn(8) {
	case 0:
		c.spec, c.center = specWith(100, 40), 5
	case 1, 2:
		c.spec, c.center = specWith(130, 40), 64
	case 3:
		c.spec, c.center = specWith(100, 40), 95
	case 4, 5:
		c.spec, c.center = specWith(5000, 40), 4096
	case 6:
		c.spec, c.center = specWith(4200, 40), 4090
	default:
		c.spec, c.center = specWith(300, 40), 150
	}
	c.spread = 2 + g.intn(6)
	c.limits = Limits{MaxOrders: 1 + g.intn(16), MaxOrdersPerOwner: 1 + g.intn(8), MaxLevels: 1 + g.intn(10)}
	if g.intn(4) == 0 {
		c.limits = Limits{MaxOrders: 64, MaxOrdersPerOwner: 64, MaxLevels: 64}
	}
	return c
}

// harness runs one stream against both books.
type harness struct {
	t    testing.TB
	cfg  config
	real *Book
	ref  *refBook

	ids   []OrderID           // real id by acceptance number (index 0 unused)
	tr    map[OrderID]OrderID // real id → acceptance number
	acct  []qtyAcct           // by acceptance number
	log   []op
	touch []int
}

// qtyAcct tracks one order's quantity from the real book's events:
// total (accepted ± amends) = filled + resting + cancelled + expired.
type qtyAcct struct {
	owner                      Owner
	total, filled, cxl, expire fixed.Qty
}

func (a *qtyAcct) open() fixed.Qty { return a.total - a.filled - a.cxl - a.expire }

func newHarness(t testing.TB, cfg config) *harness {
	return &harness{t: t, cfg: cfg, real: New(cfg.spec, cfg.limits), ref: newRef(cfg.spec, cfg.limits),
		ids: []OrderID{0}, tr: map[OrderID]OrderID{}, acct: []qtyAcct{{}}}
}

const garbageFlag = OrderID(1) << 62

// trID maps a real id to the reference id space.
func (h *harness) trID(id OrderID) OrderID {
	if k, ok := h.tr[id]; ok {
		return k
	}
	return id | garbageFlag
}

func (h *harness) fail(format string, args ...any) {
	h.t.Helper()
	var sb strings.Builder
	start := max(0, len(h.log)-25)
	for i := start; i < len(h.log); i++ {
		fmt.Fprintf(&sb, "  op %d: %v\n", i, h.log[i])
	}
	h.t.Fatalf("config %+v limits %+v\nlast ops:\n%s%s", h.cfg.center, h.cfg.limits, sb.String(), fmt.Sprintf(format, args...))
}

func (h *harness) liveIDs() []OrderID {
	var ids []OrderID
	for _, o := range h.ref.orders {
		ids = append(ids, o.id)
	}
	return ids
}

func (h *harness) genPrice(g source) fixed.Price {
	switch g.intn(40) {
	case 0:
		return 0
	case 1:
		return -1
	case 2:
		return h.cfg.spec.MaxPrice
	case 3:
		return h.cfg.spec.MaxPrice + 1
	case 4:
		return 1
	}
	p := h.cfg.center + fixed.Price(g.intn(2*h.cfg.spread+1)-h.cfg.spread)
	if p < 1 {
		p = 1
	}
	return p
}

func (h *harness) genQty(g source) fixed.Qty {
	switch g.intn(30) {
	case 0:
		return 0
	case 1:
		return -3
	case 2:
		return h.cfg.spec.MaxQty
	case 3:
		return h.cfg.spec.MaxQty + 1
	}
	return fixed.Qty(1 + g.intn(10))
}

func (h *harness) genOwner(g source) Owner { return Owner(g.intn(4)) }

func (h *harness) genCID(g source) uint64 {
	if g.intn(2) == 0 {
		return 0
	}
	return uint64(1 + g.intn(4))
}

func (h *harness) genReason(g source) Reason {
	if g.intn(4) == 0 {
		return CancelByEngine
	}
	return CancelByOwner
}

// genTarget picks an order: usually a live one, sometimes a past one, and
// sometimes an id that was never issued or is malformed.
func (h *harness) genTarget(g source) (int, OrderID, Owner) {
	live := h.liveIDs()
	switch x := g.intn(20); {
	case x < 15 && len(live) > 0:
		k := int(live[g.intn(len(live))])
		ow := h.acct[k].owner
		if g.intn(8) == 0 {
			ow = h.genOwner(g)
		}
		return k, 0, ow
	case x < 18 && len(h.ids) > 1:
		k := 1 + g.intn(len(h.ids)-1)
		return k, 0, h.acct[k].owner
	default:
		var raw OrderID
		switch g.intn(4) {
		case 0:
			raw = 0
		case 1: // a future sequence number in a plausible slot
			raw = OrderID(h.real.seq+1+uint64(g.intn(3)))<<slotBits | OrderID(1+g.intn(h.cfg.limits.MaxOrders))
		case 2: // slot out of range
			raw = OrderID(1)<<slotBits | OrderID(h.cfg.limits.MaxOrders+1+g.intn(3))
		default: // slot mask only
			raw = OrderID(g.intn(h.cfg.limits.MaxOrders + 2))
		}
		return 0, raw, h.genOwner(g)
	}
}

func (h *harness) genOp(g source) op {
	x := g.intn(100)
	switch {
	case x < 62:
		o := Order{Owner: h.genOwner(g), ClientID: h.genCID(g), Side: Side(g.intn(2)), STP: STP(g.intn(4)), ReduceOnly: g.intn(5) == 0}
		o.Price = h.genPrice(g)
		o.Qty = h.genQty(g)
		switch y := g.intn(100); {
		case y < 40: // GTC limit
		case y < 50:
			o.TIF = IOC
		case y < 60:
			o.TIF = FOK
		case y < 72:
			o.PostOnly = true
		case y < 90:
			o.Type = Market
			o.TIF = TIF(g.intn(3))
			if g.intn(2) == 0 {
				o.Price = 0
			}
		default: // contradictory or malformed
			switch g.intn(7) {
			case 0:
				o.PostOnly, o.TIF = true, IOC
			case 1:
				o.PostOnly, o.TIF = true, FOK
			case 2:
				o.PostOnly, o.Type = true, Market
			case 3:
				o.Side = 2
			case 4:
				o.Type = 2
			case 5:
				o.TIF = 3
			default:
				o.STP = 4
			}
		}
		return op{kind: opSubmit, order: o}
	case x < 72:
		k, raw, ow := h.genTarget(g)
		return op{kind: opCancel, target: k, raw: raw, owner: ow, reason: h.genReason(g)}
	case x < 77:
		return op{kind: opCancelCID, owner: h.genOwner(g), cid: uint64(g.intn(5)), reason: h.genReason(g)}
	case x < 79:
		return op{kind: opCancelAll, owner: h.genOwner(g), reason: h.genReason(g)}
	case x < 97:
		k, raw, ow := h.genTarget(g)
		o := op{kind: opAmend, target: k, raw: raw, owner: ow, price: h.genPrice(g), qty: h.genQty(g)}
		if k > 0 {
			if cur := h.ref.find(OrderID(k)); cur != nil {
				switch g.intn(6) {
				case 0, 1:
					o.price = cur.price
				case 2: // at or through the opposite best
					if p := h.ref.best(cur.side.Opposite()); p != 0 {
						o.price = p + fixed.Price(g.intn(3)-1)
					}
				}
				switch g.intn(5) {
				case 0:
					o.qty = cur.qty
				case 1:
					o.qty = max(1, cur.qty-fixed.Qty(1+g.intn(3)))
				case 2:
					o.qty = cur.qty + fixed.Qty(1+g.intn(3))
				}
			}
		}
		return o
	default:
		o := op{kind: opSetBand}
		switch g.intn(6) {
		case 0: // off
			if g.intn(2) == 0 {
				o.price = 0
				o.ppm = 100000
			} else {
				o.price = h.cfg.center
			}
		case 1: // very wide: 50% to just under 100%
			o.price, o.ppm = h.cfg.center, fixed.Ppm(500_000+g.intn(499_999))
		default: // a few ticks each way
			o.price = h.cfg.center + fixed.Price(g.intn(7)-3)
			o.ppm = min(fixed.Ppm(int64(1+g.intn(6))*1_000_000/int64(max(o.price, 1))), 999_999)
		}
		return o
	}
}

// step applies one op to both books, checks everything and returns the
// real book's events.
func (h *harness) step(o op) []Event {
	h.t.Helper()
	h.log = append(h.log, o)
	var got, want []Event
	realID, refID := o.raw, o.raw|garbageFlag
	if o.target > 0 {
		realID, refID = h.ids[o.target], OrderID(o.target)
	}
	switch o.kind {
	case opSubmit:
		got, want = h.real.Submit(o.order), h.ref.Submit(o.order)
	case opCancel:
		got, want = h.real.Cancel(o.owner, realID, o.reason), h.ref.Cancel(o.owner, refID, o.reason)
	case opCancelCID:
		got, want = h.real.CancelByClientID(o.owner, o.cid, o.reason), h.ref.CancelByClientID(o.owner, o.cid, o.reason)
	case opCancelAll:
		got, want = h.real.CancelAll(o.owner, o.reason), h.ref.CancelAll(o.owner, o.reason)
	case opAmend:
		got, want = h.real.Amend(o.owner, realID, o.price, o.qty), h.ref.Amend(o.owner, refID, o.price, o.qty)
	case opSetBand:
		h.real.SetBand(o.price, o.ppm)
		h.ref.SetBand(o.price, o.ppm)
	}
	h.compareEvents(got, want)
	h.account(got)
	if err := h.real.CheckInvariants(); err != nil {
		h.fail("%v", err)
	}
	h.compareBooks()
	return got
}

func fmtEvents(evs []Event) string {
	var sb strings.Builder
	for _, e := range evs {
		fmt.Fprintf(&sb, "    %-9v %-28v %v id=%d own=%d cid=%d px=%d q=%d rem=%d mk=%d mkown=%d mkcid=%d mkrem=%d\n",
			e.Kind, e.Reason, e.Side, uint64(e.Order), e.Owner, e.ClientID, e.Price, e.Qty, e.Remaining, uint64(e.Maker), e.MakerOwner, e.MakerClientID, e.MakerRemaining)
	}
	return sb.String()
}

func (h *harness) compareEvents(got, want []Event) {
	h.t.Helper()
	tr := make([]Event, len(got))
	for i, e := range got {
		if e.Kind == EvAccepted {
			if _, dup := h.tr[e.Order]; dup {
				h.fail("real book reused id %#x", uint64(e.Order))
			}
			k := OrderID(len(h.ids))
			if uint64(e.Order)>>slotBits != uint64(k) {
				h.fail("id %#x does not carry acceptance number %d", uint64(e.Order), k)
			}
			h.tr[e.Order] = k
			h.ids = append(h.ids, e.Order)
			h.acct = append(h.acct, qtyAcct{owner: e.Owner})
		}
		e.Order = h.trID(e.Order)
		if e.Maker != 0 {
			e.Maker = h.trID(e.Maker)
		}
		if e.Order == garbageFlag {
			e.Order = 0
		}
		tr[i] = e
	}
	for i := range want {
		if want[i].Order == garbageFlag {
			want[i].Order = 0
		}
	}
	if !reflect.DeepEqual(tr, want) && !(len(tr) == 0 && len(want) == 0) {
		h.fail("events differ\n  real (translated):\n%s  reference:\n%s", fmtEvents(tr), fmtEvents(want))
	}
}

// account updates and checks per-order conservation from the real events.
func (h *harness) account(evs []Event) {
	h.t.Helper()
	h.touch = h.touch[:0]
	for _, e := range evs {
		k, ok := h.tr[e.Order]
		if !ok {
			continue
		}
		a := &h.acct[k]
		switch e.Kind {
		case EvAccepted:
			a.total = e.Qty
		case EvTrade:
			a.filled += e.Qty
			if a.open() != e.Remaining {
				h.fail("taker #%d remaining %d, accounted %d", k, e.Remaining, a.open())
			}
			m := &h.acct[h.tr[e.Maker]]
			m.filled += e.Qty
			if m.open() != e.MakerRemaining {
				h.fail("maker #%d remaining %d, accounted %d", h.tr[e.Maker], e.MakerRemaining, m.open())
			}
			h.touch = append(h.touch, int(h.tr[e.Maker]))
		case EvCancelled:
			a.cxl += e.Qty
		case EvExpired:
			a.expire += e.Qty
		case EvAmended:
			a.total += e.Qty - a.open()
		}
		if a.open() < 0 {
			h.fail("order #%d over-filled: %+v", k, *a)
		}
		h.touch = append(h.touch, int(k))
	}
	for _, k := range h.touch {
		h.checkConserved(k)
	}
}

func (h *harness) checkConserved(k int) {
	h.t.Helper()
	var resting fixed.Qty
	if v, ok := h.real.Get(h.ids[k]); ok {
		resting = v.Qty
	}
	if a := h.acct[k]; a.total != a.filled+resting+a.cxl+a.expire {
		h.fail("order #%d not conserved: total %d = filled %d + resting %d + cancelled %d + expired %d", k, a.total, a.filled, resting, a.cxl, a.expire)
	}
}

func (h *harness) translateViews(vs []OrderView) []OrderView {
	for i := range vs {
		vs[i].ID = h.trID(vs[i].ID)
	}
	return vs
}

func (h *harness) compareBooks() {
	h.t.Helper()
	var got []OrderView
	h.real.Walk(func(v OrderView) bool { got = append(got, v); return true })
	got = h.translateViews(got)
	want := h.ref.walk()
	if !reflect.DeepEqual(got, want) {
		h.fail("books differ\n  real: %+v\n  ref:  %+v", got, want)
	}
	for _, s := range [2]Side{Buy, Sell} {
		d := h.real.Depth(s, 1<<30, nil)
		if w := h.ref.depth(s); !reflect.DeepEqual(d, w) {
			h.fail("depth %v differs\n  real: %+v\n  ref:  %+v", s, d, w)
		}
		if w := h.ref.depth(s); len(w) > 1 {
			if d := h.real.Depth(s, 1, nil); len(d) != 1 || d[0] != w[0] {
				h.fail("Depth(%v, 1) = %+v", s, d)
			}
		}
		p, q, ok := h.real.Best(s)
		wp := h.ref.best(s)
		if p != wp || ok != (wp != 0) || q != h.ref.levelQty(s, wp) {
			h.fail("Best(%v) = %d %d %v, want %d", s, p, q, ok, wp)
		}
	}
	if h.real.Len() != len(h.ref.orders) || h.real.LevelCount() != h.ref.levelCount() {
		h.fail("Len/LevelCount %d/%d, want %d/%d", h.real.Len(), h.real.LevelCount(), len(h.ref.orders), h.ref.levelCount())
	}
	if h.real.Len() > h.cfg.limits.MaxOrders || h.real.LevelCount() > h.cfg.limits.MaxLevels {
		h.fail("limits exceeded: %d orders, %d levels", h.real.Len(), h.real.LevelCount())
	}
	for ow := Owner(0); ow < 5; ow++ {
		n := h.real.OpenOrders(ow)
		if n != h.ref.ownerCount(ow) || n > h.cfg.limits.MaxOrdersPerOwner {
			h.fail("OpenOrders(%d) = %d, want %d", ow, n, h.ref.ownerCount(ow))
		}
		var mine []OrderView
		h.real.WalkOwner(ow, func(v OrderView) bool { mine = append(mine, v); return true })
		if w := h.ref.ownerOrders(ow); !reflect.DeepEqual(h.translateViews(mine), w) {
			h.fail("WalkOwner(%d) = %+v, want %+v", ow, mine, w)
		}
		for cid := uint64(0); cid < 5; cid++ {
			v, ok := h.real.GetByClientID(ow, cid)
			w := h.ref.findClient(ow, cid)
			if ok != (w != nil) || (ok && h.trID(v.ID) != w.id) {
				h.fail("GetByClientID(%d, %d) = %+v %v", ow, cid, v, ok)
			}
		}
	}
	for _, o := range h.ref.orders {
		v, ok := h.real.Get(h.ids[o.id])
		if !ok {
			h.fail("Get(#%d) missing", o.id)
		}
		v.ID = h.trID(v.ID)
		if v != o.view() {
			h.fail("Get(#%d) = %+v, want %+v", o.id, v, o.view())
		}
	}
}

// finish checks conservation for every order ever accepted.
func (h *harness) finish() {
	h.t.Helper()
	for k := 1; k < len(h.ids); k++ {
		h.checkConserved(k)
	}
}

func runStream(t testing.TB, g source, nops int) {
	t.Helper()
	h := newHarness(t, pickConfig(g))
	for i := 0; i < nops && !g.done(); i++ {
		h.step(h.genOp(g))
	}
	h.finish()
}

func TestDifferential(t *testing.T) {
	seeds, nops := 2000, 300
	if testing.Short() {
		seeds = 200
	}
	for seed := range seeds {
		g := randSource{rand.New(rand.NewPCG(uint64(seed), 0x5a3b))}
		ok := t.Run(fmt.Sprint(seed), func(t *testing.T) { runStream(t, g, nops) })
		if !ok {
			return
		}
	}
}

// TestDifferentialLong runs a few long streams so the book reaches states
// that need many operations (slot reuse, deep queues, long-lived amends).
func TestDifferentialLong(t *testing.T) {
	seeds := 16
	if testing.Short() {
		seeds = 2
	}
	for seed := range seeds {
		g := randSource{rand.New(rand.NewPCG(uint64(seed), 0x10a9))}
		t.Run(fmt.Sprint(seed), func(t *testing.T) { runStream(t, g, 4000) })
	}
}

// TestDifferentialLargeLadder runs a few streams on a book with the full
// 2^24-tick price range (four ladder layers), centered on layer boundaries.
func TestDifferentialLargeLadder(t *testing.T) {
	centers := []fixed.Price{1 << 12, 1 << 18, 1<<24 - 3, 5}
	for i, c := range centers {
		g := randSource{rand.New(rand.NewPCG(uint64(i), 77))}
		cfg := config{spec: specWith(1<<24, 40), center: c, spread: 4, limits: Limits{MaxOrders: 12, MaxOrdersPerOwner: 6, MaxLevels: 6}}
		h := newHarness(t, cfg)
		for range 400 {
			h.step(h.genOp(g))
		}
		h.finish()
	}
}

func FuzzBook(f *testing.F) {
	f.Add([]byte{})
	f.Add([]byte("\x01\x02\x03\x04\x05\x06\x07\x08\x09\x0a\x0b\x0c\x0d\x0e\x0f"))
	for seed := range 8 {
		r := rand.New(rand.NewPCG(uint64(seed), 9))
		b := make([]byte, 600)
		for i := range b {
			b[i] = byte(r.UintN(256))
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		runStream(t, &byteSource{b: data}, 2000)
	})
}
