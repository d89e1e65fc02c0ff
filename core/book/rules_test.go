package book

import (
	"fmt"
	"reflect"
	"testing"

	"github.com/sampan-hk/sampan/core/fixed"
)

// Specification tests: each rule of the book as a hand-written scenario.
// Every step runs through the differential harness too (so the reference
// model is itself checked against these hand-written expectations), and the
// real book's events must read exactly as written.
//
// Event notation: #k is the k-th accepted order.
//
//	accepted #k buy 100x5         (price is the resolved price for a market order)
//	rejected <reason>
//	trade #taker 100x2 maker #m rem=<taker left> mrem=<maker left>
//	cancelled #k <reason> <qty>
//	expired #k <reason> <qty>
//	amended #k 101x4
//	level sell 100=7
//
// The book after the scenario is listed in Walk order as "#k buy 100x5".

const (
	alice Owner = 1
	bob   Owner = 2
	carol Owner = 3
)

func evString(h *harness, e Event) string {
	k := func(id OrderID) string { return fmt.Sprintf("#%d", h.trID(id)) }
	switch e.Kind {
	case EvAccepted:
		return fmt.Sprintf("accepted %s %v %dx%d", k(e.Order), e.Side, e.Price, e.Qty)
	case EvRejected:
		return fmt.Sprintf("rejected %v", e.Reason)
	case EvTrade:
		return fmt.Sprintf("trade %s %dx%d maker %s rem=%d mrem=%d", k(e.Order), e.Price, e.Qty, k(e.Maker), e.Remaining, e.MakerRemaining)
	case EvCancelled:
		return fmt.Sprintf("cancelled %s %v %d", k(e.Order), e.Reason, e.Qty)
	case EvExpired:
		return fmt.Sprintf("expired %s %v %d", k(e.Order), e.Reason, e.Qty)
	case EvAmended:
		return fmt.Sprintf("amended %s %dx%d", k(e.Order), e.Price, e.Qty)
	case EvLevel:
		return fmt.Sprintf("level %v %d=%d", e.Side, e.Price, e.Qty)
	}
	return "?"
}

func bookStrings(h *harness) []string {
	var out []string
	h.real.Walk(func(v OrderView) bool {
		out = append(out, fmt.Sprintf("#%d %v %dx%d", h.trID(v.ID), v.Side, v.Price, v.Qty))
		return true
	})
	return out
}

// Op constructors for scenarios.
func sub(o Order) op { return op{kind: opSubmit, order: o} }
func gtc(ow Owner, s Side, p fixed.Price, q fixed.Qty) op {
	return sub(Order{Owner: ow, Side: s, Price: p, Qty: q})
}
func cancelOp(ow Owner, k int) op {
	return op{kind: opCancel, owner: ow, target: k, reason: CancelByOwner}
}
func cancelRaw(ow Owner, id OrderID) op {
	return op{kind: opCancel, owner: ow, raw: id, reason: CancelByOwner}
}
func cancelCID(ow Owner, cid uint64) op {
	return op{kind: opCancelCID, owner: ow, cid: cid, reason: CancelByOwner}
}
func cancelAll(ow Owner) op { return op{kind: opCancelAll, owner: ow, reason: CancelByOwner} }
func amendOp(ow Owner, k int, p fixed.Price, q fixed.Qty) op {
	return op{kind: opAmend, owner: ow, target: k, price: p, qty: q}
}
func bandOp(ref fixed.Price, ppm fixed.Ppm) op { return op{kind: opSetBand, price: ref, ppm: ppm} }

type specStep struct {
	op   op
	want []string // nil: not checked (setup)
}

type scenario struct {
	name   string
	limits Limits // zero: generous
	steps  []specStep
	book   []string
}

func setup(ops ...op) []specStep {
	s := make([]specStep, len(ops))
	for i, o := range ops {
		s[i] = specStep{op: o}
	}
	return s
}

func then(o op, want ...string) specStep {
	if want == nil {
		want = []string{}
	}
	return specStep{op: o, want: want}
}

func steps(groups ...[]specStep) []specStep {
	var out []specStep
	for _, g := range groups {
		out = append(out, g...)
	}
	return out
}

func runScenario(t *testing.T, sc scenario) {
	t.Helper()
	lim := sc.limits
	if lim == (Limits{}) {
		lim = Limits{MaxOrders: 100, MaxOrdersPerOwner: 20, MaxLevels: 50}
	}
	h := newHarness(t, config{spec: specWith(1000, 100), limits: lim, center: 100})
	for i, st := range sc.steps {
		got := h.step(st.op)
		if st.want == nil {
			continue
		}
		gs := []string{}
		for _, e := range got {
			gs = append(gs, evString(h, e))
		}
		if !reflect.DeepEqual(gs, st.want) {
			t.Fatalf("step %d %v:\n got  %q\n want %q", i, st.op, gs, st.want)
		}
	}
	if b := bookStrings(h); sc.book != nil && !reflect.DeepEqual(b, sc.book) || sc.book == nil && len(b) != 0 {
		t.Fatalf("book after scenario:\n got  %q\n want %q", b, sc.book)
	}
	h.finish()
}

func TestRules(t *testing.T) {
	for _, sc := range rules {
		t.Run(sc.name, func(t *testing.T) { runScenario(t, sc) })
	}
}

var rules = []scenario{
	{
		name: "FIFO within a level",
		steps: steps(setup(gtc(alice, Sell, 100, 2), gtc(bob, Sell, 100, 3), gtc(carol, Sell, 100, 1)),
			[]specStep{then(sub(Order{Owner: 4, Side: Buy, TIF: IOC, Price: 100, Qty: 4}),
				"accepted #4 buy 100x4",
				"trade #4 100x2 maker #1 rem=2 mrem=0",
				"trade #4 100x2 maker #2 rem=0 mrem=1",
				"level sell 100=2")}),
		book: []string{"#2 sell 100x1", "#3 sell 100x1"},
	},
	{
		name: "price before time, partial fills across levels, remainder rests",
		steps: steps(setup(gtc(alice, Sell, 101, 2), gtc(bob, Sell, 100, 2), gtc(carol, Sell, 103, 5)),
			[]specStep{then(gtc(4, Buy, 102, 6),
				"accepted #4 buy 102x6",
				"trade #4 100x2 maker #2 rem=4 mrem=0",
				"level sell 100=0",
				"trade #4 101x2 maker #1 rem=2 mrem=0",
				"level sell 101=0",
				"level buy 102=2")}),
		book: []string{"#4 buy 102x2", "#3 sell 103x5"},
	},
	{
		name: "sell taker walks bids downward",
		steps: steps(setup(gtc(alice, Buy, 99, 1), gtc(bob, Buy, 100, 1), gtc(carol, Buy, 98, 1)),
			[]specStep{then(sub(Order{Owner: 4, Side: Sell, TIF: IOC, Price: 99, Qty: 3}),
				"accepted #4 sell 99x3",
				"trade #4 100x1 maker #2 rem=2 mrem=0",
				"level buy 100=0",
				"trade #4 99x1 maker #1 rem=1 mrem=0",
				"level buy 99=0",
				"expired #4 ioc_remainder_expired 1")}),
		book: []string{"#3 buy 98x1"},
	},
	{
		name: "post-only rests when passive and is rejected when it would cross",
		steps: steps(setup(gtc(alice, Sell, 100, 2)),
			[]specStep{
				then(sub(Order{Owner: bob, Side: Buy, PostOnly: true, Price: 100, Qty: 1}), "rejected post_only_would_cross"),
				then(sub(Order{Owner: bob, Side: Buy, PostOnly: true, Price: 99, Qty: 1}), "accepted #2 buy 99x1", "level buy 99=1"),
				then(sub(Order{Owner: bob, Side: Sell, PostOnly: true, Price: 99, Qty: 1}), "rejected post_only_would_cross"),
				then(sub(Order{Owner: bob, Side: Buy, PostOnly: true, TIF: IOC, Price: 98, Qty: 1}), "rejected invalid_order"),
			}),
		book: []string{"#2 buy 99x1", "#1 sell 100x2"},
	},
	{
		name: "FOK is all or nothing",
		steps: steps(setup(gtc(alice, Sell, 100, 2), gtc(bob, Sell, 101, 2)),
			[]specStep{
				then(sub(Order{Owner: carol, Side: Buy, TIF: FOK, Price: 101, Qty: 5}),
					"accepted #3 buy 101x5", "expired #3 fok_not_fillable 5"),
				then(sub(Order{Owner: carol, Side: Buy, TIF: FOK, Price: 100, Qty: 3}),
					"accepted #4 buy 100x3", "expired #4 fok_not_fillable 3"),
				then(sub(Order{Owner: carol, Side: Buy, TIF: FOK, Price: 101, Qty: 4}),
					"accepted #5 buy 101x4",
					"trade #5 100x2 maker #1 rem=2 mrem=0", "level sell 100=0",
					"trade #5 101x2 maker #2 rem=0 mrem=0", "level sell 101=0"),
			}),
	},
	{
		name: "FOK with expire-maker skips the self order when counting",
		steps: steps(setup(gtc(alice, Sell, 100, 2), gtc(bob, Sell, 101, 3)),
			[]specStep{then(sub(Order{Owner: alice, Side: Buy, TIF: FOK, STP: STPExpireMaker, Price: 101, Qty: 3}),
				"accepted #3 buy 101x3",
				"cancelled #1 self_trade_prevented_maker 2", "level sell 100=0",
				"trade #3 101x3 maker #2 rem=0 mrem=0", "level sell 101=0")}),
	},
	{
		name: "FOK with expire-maker is not fillable by its own liquidity",
		steps: steps(setup(gtc(alice, Sell, 100, 2), gtc(bob, Sell, 101, 3)),
			[]specStep{then(sub(Order{Owner: alice, Side: Buy, TIF: FOK, STP: STPExpireMaker, Price: 101, Qty: 4}),
				"accepted #3 buy 101x4", "expired #3 fok_not_fillable 4")}),
		book: []string{"#1 sell 100x2", "#2 sell 101x3"},
	},
	{
		name: "FOK with expire-taker stops at the self order",
		steps: steps(setup(gtc(alice, Sell, 100, 2), gtc(bob, Sell, 101, 3)),
			[]specStep{
				then(sub(Order{Owner: alice, Side: Buy, TIF: FOK, STP: STPExpireTaker, Price: 101, Qty: 3}),
					"accepted #3 buy 101x3", "expired #3 fok_not_fillable 3"),
				then(sub(Order{Owner: alice, Side: Buy, TIF: FOK, STP: STPExpireBoth, Price: 101, Qty: 3}),
					"accepted #4 buy 101x3", "expired #4 fok_not_fillable 3"),
				// Without STP the owner may trade with itself, so it fills.
				then(sub(Order{Owner: alice, Side: Buy, TIF: FOK, STP: STPNone, Price: 101, Qty: 3}),
					"accepted #5 buy 101x3",
					"trade #5 100x2 maker #1 rem=1 mrem=0", "level sell 100=0",
					"trade #5 101x1 maker #2 rem=0 mrem=2", "level sell 101=2"),
			}),
		book: []string{"#2 sell 101x2"},
	},
	{
		name: "FOK with expire-taker fills when enough liquidity comes before the self order",
		steps: steps(setup(gtc(bob, Sell, 100, 3), gtc(alice, Sell, 101, 2)),
			[]specStep{then(sub(Order{Owner: alice, Side: Buy, TIF: FOK, STP: STPExpireTaker, Price: 101, Qty: 3}),
				"accepted #3 buy 101x3", "trade #3 100x3 maker #1 rem=0 mrem=0", "level sell 100=0")}),
		book: []string{"#2 sell 101x2"},
	},
	{
		name: "market order trades up to the band edge and expires the rest",
		steps: steps(setup(gtc(alice, Sell, 104, 1), gtc(alice, Sell, 105, 1), gtc(alice, Sell, 106, 1), bandOp(100, 50_000)),
			[]specStep{
				then(sub(Order{Owner: bob, Side: Buy, Type: Market, Qty: 5}),
					"accepted #4 buy 105x5",
					"trade #4 104x1 maker #1 rem=4 mrem=0", "level sell 104=0",
					"trade #4 105x1 maker #2 rem=3 mrem=0", "level sell 105=0",
					"expired #4 ioc_remainder_expired 3"),
				// One tick past the band edge is clamped to the edge.
				then(sub(Order{Owner: bob, Side: Buy, Type: Market, Price: 106, Qty: 1}),
					"accepted #5 buy 105x1", "expired #5 ioc_remainder_expired 1"),
			}),
		book: []string{"#3 sell 106x1"},
	},
	{
		name: "market worst price beyond the band is clamped to the band",
		steps: steps(setup(gtc(alice, Buy, 94, 1), gtc(alice, Buy, 96, 1), bandOp(100, 50_000)),
			[]specStep{
				then(sub(Order{Owner: bob, Side: Sell, Type: Market, Price: 1, Qty: 5}),
					"accepted #3 sell 95x5",
					"trade #3 96x1 maker #2 rem=4 mrem=0", "level buy 96=0",
					"expired #3 ioc_remainder_expired 4"),
				then(sub(Order{Owner: bob, Side: Buy, Type: Market, Price: 999, Qty: 1}),
					"accepted #4 buy 105x1", "expired #4 ioc_remainder_expired 1"),
			}),
		book: []string{"#1 buy 94x1"},
	},
	{
		name: "market worst price inside the band bounds the fill",
		steps: steps(setup(gtc(alice, Sell, 101, 1), gtc(alice, Sell, 102, 1), bandOp(100, 50_000)),
			[]specStep{then(sub(Order{Owner: bob, Side: Buy, Type: Market, TIF: GTC, Price: 101, Qty: 2}),
				"accepted #3 buy 101x2", "trade #3 101x1 maker #1 rem=1 mrem=0", "level sell 101=0",
				"expired #3 ioc_remainder_expired 1")}),
		book: []string{"#2 sell 102x1"},
	},
	{
		name: "market FOK is allowed",
		steps: steps(setup(gtc(alice, Sell, 101, 1)),
			[]specStep{
				then(sub(Order{Owner: bob, Side: Buy, Type: Market, TIF: FOK, Price: 101, Qty: 2}),
					"accepted #2 buy 101x2", "expired #2 fok_not_fillable 2"),
				then(sub(Order{Owner: bob, Side: Buy, Type: Market, PostOnly: true, Price: 101, Qty: 1}), "rejected invalid_order"),
			}),
		book: []string{"#1 sell 101x1"},
	},
	{
		name: "market order without worst price or band has no price protection",
		steps: steps(setup(gtc(alice, Sell, 101, 1)),
			[]specStep{
				then(sub(Order{Owner: bob, Side: Buy, Type: Market, Qty: 1}), "rejected no_price_protection"),
				then(bandOp(0, 50_000)),
				then(sub(Order{Owner: bob, Side: Buy, Type: Market, Qty: 1}), "rejected no_price_protection"),
				then(bandOp(100, 0)),
				then(sub(Order{Owner: bob, Side: Sell, Type: Market, Qty: 1}), "rejected no_price_protection"),
				then(sub(Order{Owner: bob, Side: Buy, Type: Market, Price: -1, Qty: 1}), "rejected invalid_price"),
				then(sub(Order{Owner: bob, Side: Buy, Type: Market, Price: 1001, Qty: 1}), "rejected invalid_price"),
			}),
		book: []string{"#1 sell 101x1"},
	},
	{
		name: "band edges are inclusive, outside is rejected",
		steps: steps(setup(bandOp(100, 50_000)), []specStep{
			then(gtc(alice, Buy, 94, 1), "rejected price_out_of_band"),
			then(gtc(alice, Buy, 95, 1), "accepted #1 buy 95x1", "level buy 95=1"),
			then(gtc(alice, Sell, 105, 1), "accepted #2 sell 105x1", "level sell 105=1"),
			then(gtc(alice, Sell, 106, 1), "rejected price_out_of_band"),
			then(sub(Order{Owner: alice, Side: Sell, TIF: IOC, Price: 106, Qty: 1}), "rejected price_out_of_band"),
			// Rounding: 101 × (1 ± 3%) = [97.97, 104.03] → [98, 104].
			then(bandOp(101, 30_000)),
			then(gtc(alice, Buy, 97, 1), "rejected price_out_of_band"),
			then(gtc(alice, Buy, 98, 1), "accepted #3 buy 98x1", "level buy 98=1"),
			then(gtc(alice, Sell, 104, 1), "accepted #4 sell 104x1", "level sell 104=1"),
			then(gtc(alice, Sell, 105, 1), "rejected price_out_of_band"),
			// Amending out of the band is rejected; shrinking in place is not.
			then(amendOp(alice, 2, 106, 1), "rejected price_out_of_band"),
			then(amendOp(alice, 2, 105, 1), "amended #2 105x1", "level sell 105=1"),
		}),
		book: []string{"#3 buy 98x1", "#1 buy 95x1", "#4 sell 104x1", "#2 sell 105x1"},
	},
	{
		name: "STP none: an owner trades with itself",
		steps: steps(setup(gtc(alice, Sell, 100, 2)),
			[]specStep{then(gtc(alice, Buy, 100, 1),
				"accepted #2 buy 100x1", "trade #2 100x1 maker #1 rem=0 mrem=1", "level sell 100=1")}),
		book: []string{"#1 sell 100x1"},
	},
	{
		name: "STP expire taker: taker remainder expires, makers stay",
		steps: steps(setup(gtc(bob, Sell, 100, 1), gtc(alice, Sell, 100, 2), gtc(bob, Sell, 100, 2)),
			[]specStep{then(sub(Order{Owner: alice, Side: Buy, STP: STPExpireTaker, Price: 100, Qty: 4}),
				"accepted #4 buy 100x4",
				"trade #4 100x1 maker #1 rem=3 mrem=0",
				"level sell 100=4",
				"expired #4 self_trade_prevented_taker 3")}),
		book: []string{"#2 sell 100x2", "#3 sell 100x2"},
	},
	{
		name: "STP expire maker: self order cancelled, matching goes on, remainder rests",
		steps: steps(setup(gtc(alice, Sell, 100, 2), gtc(bob, Sell, 100, 1)),
			[]specStep{then(sub(Order{Owner: alice, Side: Buy, STP: STPExpireMaker, Price: 100, Qty: 3}),
				"accepted #3 buy 100x3",
				"cancelled #1 self_trade_prevented_maker 2",
				"trade #3 100x1 maker #2 rem=2 mrem=0",
				"level sell 100=0",
				"level buy 100=2")}),
		book: []string{"#3 buy 100x2"},
	},
	{
		name: "STP expire both: self order cancelled and taker expired",
		steps: steps(setup(gtc(alice, Sell, 100, 2), gtc(bob, Sell, 100, 1)),
			[]specStep{then(sub(Order{Owner: alice, Side: Buy, STP: STPExpireBoth, Price: 100, Qty: 3}),
				"accepted #3 buy 100x3",
				"cancelled #1 self_trade_prevented_maker 2",
				"level sell 100=1",
				"expired #3 self_trade_prevented_taker 3")}),
		book: []string{"#2 sell 100x1"},
	},
	{
		name: "amend down at the same price keeps priority",
		steps: steps(setup(gtc(alice, Sell, 100, 5), gtc(bob, Sell, 100, 5)),
			[]specStep{
				then(amendOp(alice, 1, 100, 3), "amended #1 100x3", "level sell 100=8"),
				then(amendOp(alice, 1, 100, 3), "amended #1 100x3", "level sell 100=8"),
				then(sub(Order{Owner: carol, Side: Buy, TIF: IOC, Price: 100, Qty: 3}),
					"accepted #3 buy 100x3", "trade #3 100x3 maker #1 rem=0 mrem=0", "level sell 100=5"),
			}),
		book: []string{"#2 sell 100x5"},
	},
	{
		name: "amend up at the same price loses priority",
		steps: steps(setup(gtc(alice, Sell, 100, 5), gtc(bob, Sell, 100, 5)),
			[]specStep{
				then(amendOp(alice, 1, 100, 6), "amended #1 100x6", "level sell 100=11"),
				then(sub(Order{Owner: carol, Side: Buy, TIF: IOC, Price: 100, Qty: 3}),
					"accepted #3 buy 100x3", "trade #3 100x3 maker #2 rem=0 mrem=2", "level sell 100=8"),
			}),
		book: []string{"#2 sell 100x2", "#1 sell 100x6"},
	},
	{
		name: "amend to another price goes to the back of that level",
		steps: steps(setup(gtc(alice, Sell, 101, 5), gtc(bob, Sell, 100, 5)),
			[]specStep{
				then(amendOp(alice, 1, 100, 2), "amended #1 100x2", "level sell 101=0", "level sell 100=7"),
				then(amendOp(alice, 1, 99, 2), "amended #1 99x2", "level sell 100=5", "level sell 99=2"),
			}),
		book: []string{"#1 sell 99x2", "#2 sell 100x5"},
	},
	{
		name: "amend through the spread trades like a fresh limit and rests the rest",
		steps: steps(setup(gtc(bob, Buy, 99, 5), gtc(alice, Sell, 101, 2), gtc(carol, Sell, 102, 2)),
			[]specStep{then(amendOp(bob, 1, 101, 5),
				"amended #1 101x5", "level buy 99=0",
				"trade #1 101x2 maker #2 rem=3 mrem=0", "level sell 101=0",
				"level buy 101=3")}),
		book: []string{"#1 buy 101x3", "#3 sell 102x2"},
	},
	{
		name: "amend through the spread that fills completely leaves the book",
		steps: steps(setup(gtc(bob, Buy, 99, 5), gtc(alice, Sell, 101, 8)),
			[]specStep{
				then(amendOp(bob, 1, 101, 3),
					"amended #1 101x3", "level buy 99=0",
					"trade #1 101x3 maker #2 rem=0 mrem=5", "level sell 101=5"),
				then(cancelOp(bob, 1), "rejected unknown_order"),
			}),
		book: []string{"#2 sell 101x5"},
	},
	{
		name: "amend through the spread applies the order's STP",
		steps: steps(setup(sub(Order{Owner: alice, Side: Buy, STP: STPExpireTaker, Price: 99, Qty: 5}), gtc(alice, Sell, 101, 2)),
			[]specStep{then(amendOp(alice, 1, 101, 5),
				"amended #1 101x5", "level buy 99=0", "level sell 101=2",
				"expired #1 self_trade_prevented_taker 5")}),
		book: []string{"#2 sell 101x2"},
	},
	{
		name: "amend of a post-only order that would cross is rejected and changes nothing",
		steps: steps(setup(sub(Order{Owner: bob, Side: Buy, PostOnly: true, Price: 99, Qty: 5}), gtc(alice, Sell, 101, 2)),
			[]specStep{
				then(amendOp(bob, 1, 101, 5), "rejected post_only_would_cross"),
				then(amendOp(bob, 1, 100, 5), "amended #1 100x5", "level buy 99=0", "level buy 100=5"),
			}),
		book: []string{"#1 buy 100x5", "#2 sell 101x2"},
	},
	{
		name: "amend with invalid values is rejected",
		steps: steps(setup(gtc(alice, Sell, 101, 2)),
			[]specStep{
				then(amendOp(alice, 1, 101, 0), "rejected invalid_quantity"),
				then(amendOp(alice, 1, 101, -1), "rejected invalid_quantity"),
				then(amendOp(alice, 1, 101, 101), "rejected quantity_too_large"),
				then(amendOp(alice, 1, 0, 1), "rejected invalid_price"),
				then(amendOp(alice, 1, 1001, 1), "rejected invalid_price"),
				then(amendOp(bob, 1, 101, 1), "rejected unknown_order"),
			}),
		book: []string{"#1 sell 101x2"},
	},
	{
		name: "cancel by client id",
		steps: steps(setup(sub(Order{Owner: alice, ClientID: 7, Side: Sell, Price: 101, Qty: 2}), sub(Order{Owner: bob, ClientID: 7, Side: Sell, Price: 101, Qty: 3})),
			[]specStep{
				then(cancelCID(carol, 7), "rejected unknown_order"),
				then(cancelCID(alice, 0), "rejected unknown_order"),
				then(cancelCID(alice, 7), "cancelled #1 cancelled_by_owner 2", "level sell 101=3"),
				then(cancelCID(alice, 7), "rejected unknown_order"),
				// The client id is free again once the order is gone.
				then(sub(Order{Owner: alice, ClientID: 7, Side: Buy, Price: 99, Qty: 1}), "accepted #3 buy 99x1", "level buy 99=1"),
				then(sub(Order{Owner: alice, ClientID: 7, Side: Buy, Price: 98, Qty: 1}), "rejected duplicate_client_order_id"),
				then(sub(Order{Owner: alice, ClientID: 7, Side: Buy, TIF: IOC, Price: 98, Qty: 1}), "rejected duplicate_client_order_id"),
			}),
		book: []string{"#3 buy 99x1", "#2 sell 101x3"},
	},
	{
		name: "a filled order frees its client id",
		steps: steps(setup(sub(Order{Owner: alice, ClientID: 9, Side: Sell, Price: 101, Qty: 2})),
			[]specStep{
				then(gtc(bob, Buy, 101, 2), "accepted #2 buy 101x2", "trade #2 101x2 maker #1 rem=0 mrem=0", "level sell 101=0"),
				then(sub(Order{Owner: alice, ClientID: 9, Side: Sell, Price: 102, Qty: 1}), "accepted #3 sell 102x1", "level sell 102=1"),
			}),
		book: []string{"#3 sell 102x1"},
	},
	{
		name: "cancel all cancels one owner's orders in placement order",
		steps: steps(setup(gtc(alice, Sell, 102, 1), gtc(bob, Sell, 102, 4), gtc(alice, Buy, 98, 2), gtc(alice, Sell, 101, 3), amendOp(alice, 1, 103, 1)),
			[]specStep{
				then(cancelAll(alice),
					"cancelled #1 cancelled_by_owner 1", "level sell 103=0",
					"cancelled #3 cancelled_by_owner 2", "level buy 98=0",
					"cancelled #4 cancelled_by_owner 3", "level sell 101=0"),
				then(cancelAll(alice)),
				then(cancelAll(99)),
			}),
		book: []string{"#2 sell 102x4"},
	},
	{
		name: "cancel by id",
		steps: steps(setup(gtc(alice, Sell, 101, 2), gtc(bob, Sell, 101, 3)),
			[]specStep{
				then(op{kind: opCancel, owner: alice, target: 1, reason: CancelByEngine}, "cancelled #1 cancelled_by_engine 2", "level sell 101=3"),
			}),
		book: []string{"#2 sell 101x3"},
	},
	{
		name: "unknown orders are rejected",
		steps: steps(setup(gtc(alice, Sell, 101, 2), sub(Order{Owner: alice, Side: Buy, TIF: IOC, Price: 90, Qty: 1})),
			[]specStep{
				then(cancelOp(bob, 1), "rejected unknown_order"),            // someone else's
				then(cancelOp(alice, 2), "rejected unknown_order"),          // an IOC never rests
				then(cancelRaw(alice, 0), "rejected unknown_order"),         // zero id
				then(cancelRaw(alice, 1), "rejected unknown_order"),         // a bare slot number
				then(cancelRaw(alice, 3<<20|1), "rejected unknown_order"),   // right slot, unissued sequence
				then(cancelRaw(alice, 1<<20|200), "rejected unknown_order"), // slot out of range
				then(amendOp(bob, 1, 101, 1), "rejected unknown_order"),
				then(cancelOp(alice, 1), "cancelled #1 cancelled_by_owner 2", "level sell 101=0"),
				then(cancelOp(alice, 1), "rejected unknown_order"), // already gone
				then(amendOp(alice, 1, 101, 1), "rejected unknown_order"),
				// A new order in the freed slot does not answer to the old id.
				then(gtc(bob, Sell, 105, 1), "accepted #3 sell 105x1", "level sell 105=1"),
				then(op{kind: opCancel, owner: bob, target: 1, reason: CancelByOwner}, "rejected unknown_order"),
			}),
		book: []string{"#3 sell 105x1"},
	},
	{
		name: "invalid submissions are typed rejections",
		steps: []specStep{
			then(gtc(alice, Buy, 100, 0), "rejected invalid_quantity"),
			then(gtc(alice, Buy, 100, -5), "rejected invalid_quantity"),
			then(gtc(alice, Buy, 100, 101), "rejected quantity_too_large"),
			then(gtc(alice, Buy, 0, 1), "rejected invalid_price"),
			then(gtc(alice, Buy, -1, 1), "rejected invalid_price"),
			then(gtc(alice, Buy, 1001, 1), "rejected invalid_price"),
			then(sub(Order{Owner: alice, Side: 2, Price: 100, Qty: 1}), "rejected invalid_order"),
			then(sub(Order{Owner: alice, Type: 2, Price: 100, Qty: 1}), "rejected invalid_order"),
			then(sub(Order{Owner: alice, TIF: 3, Price: 100, Qty: 1}), "rejected invalid_order"),
			then(sub(Order{Owner: alice, STP: 4, Price: 100, Qty: 1}), "rejected invalid_order"),
			then(sub(Order{Owner: alice, PostOnly: true, TIF: FOK, Price: 100, Qty: 1}), "rejected invalid_order"),
			then(gtc(alice, Buy, 1000, 100), "accepted #1 buy 1000x100", "level buy 1000=100"),
			then(gtc(alice, Sell, 1001, 1), "rejected invalid_price"),
		},
		book: []string{"#1 buy 1000x100"},
	},
	{
		name: "IOC remainder expires and never rests",
		steps: steps(setup(gtc(alice, Sell, 101, 1)),
			[]specStep{
				then(sub(Order{Owner: bob, Side: Buy, TIF: IOC, Price: 101, Qty: 3}),
					"accepted #2 buy 101x3", "trade #2 101x1 maker #1 rem=2 mrem=0", "level sell 101=0",
					"expired #2 ioc_remainder_expired 2"),
				then(sub(Order{Owner: bob, Side: Buy, TIF: IOC, Price: 101, Qty: 3}),
					"accepted #3 buy 101x3", "expired #3 ioc_remainder_expired 3"),
			}),
	},
	{
		name:  "reduce-only is carried",
		steps: steps(setup(sub(Order{Owner: alice, Side: Sell, ReduceOnly: true, PostOnly: true, Price: 101, Qty: 1}))),
		book:  []string{"#1 sell 101x1"},
	},
}

// TestReduceOnlyCarried checks the flags survive on the resting order.
func TestReduceOnlyCarried(t *testing.T) {
	b := New(specWith(1000, 100), Limits{MaxOrders: 4, MaxOrdersPerOwner: 4, MaxLevels: 4})
	ev := b.Submit(Order{Owner: alice, Side: Sell, ReduceOnly: true, PostOnly: true, Price: 101, Qty: 1})
	v, ok := b.Get(ev[0].Order)
	if !ok || !v.ReduceOnly || !v.PostOnly || v.Owner != alice || v.Side != Sell {
		t.Fatalf("Get = %+v %v", v, ok)
	}
	ev = b.Amend(alice, v.ID, 102, 1)
	if v, _ = b.Get(v.ID); !v.ReduceOnly || !v.PostOnly || v.Price != 102 {
		t.Fatalf("after amend %+v (%v)", v, ev)
	}
}
