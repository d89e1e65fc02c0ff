package book

import "github.com/sampan-hk/sampan/core/fixed"

// Side is the side of an order: Buy bids, Sell asks.
type Side uint8

const (
	Buy Side = iota
	Sell
)

func (s Side) String() string {
	if s == Buy {
		return "buy"
	}
	return "sell"
}

// Opposite returns the other side.
func (s Side) Opposite() Side { return 1 - s }

// Type is the order type.
type Type uint8

const (
	// Limit rests at its price unless its time in force says otherwise.
	Limit Type = iota
	// Market takes liquidity up to a worst-price protection bound and never
	// rests; it behaves as IOC.
	Market
)

// TIF is an order's time in force.
type TIF uint8

const (
	GTC TIF = iota // good till cancelled: the remainder rests
	IOC            // immediate or cancel: the remainder expires
	FOK            // fill or kill: all at once or nothing
)

// STP is the self-trade prevention mode applied when a taker would match a
// resting order of the same owner.
type STP uint8

const (
	// STPNone lets an owner trade with itself.
	STPNone STP = iota
	// STPExpireTaker expires the taker's remainder; the maker stays.
	STPExpireTaker
	// STPExpireMaker cancels the resting order and keeps matching.
	STPExpireMaker
	// STPExpireBoth cancels the resting order and expires the taker.
	STPExpireBoth
)

// OrderID identifies a resting or past order within one book. It is
// sequence<<slotBits | slot: monotonic in acceptance order (so it reads as a
// plain increasing number) and resolves to its slot without a map lookup.
type OrderID uint64

// Slot returns the book slot an id resolves to: a dense index below
// MaxOrdersLimit+1, unique among resting orders. Callers may key their own
// per-order tables by it (the engine does).
func (id OrderID) Slot() int { return int(id & slotMask) }

// Owner is the dense index of an account, assigned by the engine. The book
// keeps per-owner state in a slice indexed by Owner, so owners must be small
// dense numbers (the engine's account indexes), not arbitrary ids.
type Owner uint32

// Order is a request to submit an order.
type Order struct {
	Owner      Owner
	ClientID   uint64 // 0 means none; unique among an owner's open orders otherwise
	Side       Side
	Type       Type
	TIF        TIF
	PostOnly   bool // rejected if it would take liquidity
	ReduceOnly bool // carried for the engine, which enforces it
	STP        STP
	Price      fixed.Price // limit price; for Market the worst price (0: the band edge)
	Qty        fixed.Qty
}

// Reason is a typed reason for a rejection, cancellation or expiry.
type Reason uint8

const (
	ReasonNone Reason = iota
	// Rejections.
	RejectInvalidQty         // quantity ≤ 0
	RejectQtyTooLarge        // quantity above the instrument's maximum
	RejectInvalidPrice       // price ≤ 0 or above the instrument's maximum
	RejectPriceOutOfBand     // outside [ref×(1−band), ref×(1+band)]
	RejectPostOnlyWouldCross // post-only order would take liquidity
	RejectInvalidOrder       // contradictory flags (post-only IOC, FOK market, ...)
	RejectNoPriceProtection  // market order with neither a worst price nor a band
	RejectTooManyOrders      // the owner is at its open-order limit
	RejectTooManyLevels      // the book is at its price-level limit
	RejectBookFull           // no free order slot in the book
	RejectDuplicateClientID  // the owner already has an open order with this client id
	RejectUnknownOrder       // no such open order of this owner
	// Cancellations.
	CancelByOwner   // the owner asked
	CancelSelfTrade // the resting order was removed by self-trade prevention
	CancelByEngine  // the engine removed it (liquidation, risk, halt)
	// Expiries.
	ExpireIOC       // IOC or market remainder did not fill
	ExpireFOK       // FOK could not fill completely
	ExpireSelfTrade // the taker's remainder was expired by self-trade prevention
	ExpireNoRoom    // a crossing GTC remainder found no free slot or level to rest in
)

var reasonNames = [...]string{
	ReasonNone:               "none",
	RejectInvalidQty:         "invalid_quantity",
	RejectQtyTooLarge:        "quantity_too_large",
	RejectInvalidPrice:       "invalid_price",
	RejectPriceOutOfBand:     "price_out_of_band",
	RejectPostOnlyWouldCross: "post_only_would_cross",
	RejectInvalidOrder:       "invalid_order",
	RejectNoPriceProtection:  "no_price_protection",
	RejectTooManyOrders:      "too_many_open_orders",
	RejectTooManyLevels:      "too_many_price_levels",
	RejectBookFull:           "book_full",
	RejectDuplicateClientID:  "duplicate_client_order_id",
	RejectUnknownOrder:       "unknown_order",
	CancelByOwner:            "cancelled_by_owner",
	CancelSelfTrade:          "self_trade_prevented_maker",
	CancelByEngine:           "cancelled_by_engine",
	ExpireIOC:                "ioc_remainder_expired",
	ExpireFOK:                "fok_not_fillable",
	ExpireSelfTrade:          "self_trade_prevented_taker",
	ExpireNoRoom:             "no_room_to_rest",
}

func (r Reason) String() string {
	if int(r) < len(reasonNames) {
		return reasonNames[r]
	}
	return "unknown"
}

// EventKind says what an Event reports.
type EventKind uint8

const (
	// EvAccepted: a submitted order passed validation (Qty is its quantity).
	EvAccepted EventKind = iota + 1
	// EvRejected: a request was refused; nothing changed.
	EvRejected
	// EvTrade: Order (taker) traded Qty at Price with Maker.
	EvTrade
	// EvCancelled: a resting order left the book with Qty unfilled.
	EvCancelled
	// EvExpired: a taker's unfilled Qty expired (IOC, FOK, market, STP).
	EvExpired
	// EvAmended: a resting order now has Price and Qty (remaining).
	EvAmended
	// EvLevel: the total resting quantity at Side/Price is now Qty (0: gone).
	EvLevel
)

var kindNames = [...]string{"?", "accepted", "rejected", "trade", "cancelled", "expired", "amended", "level"}

func (k EventKind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return "?"
}

// Event is one thing that happened in the book. It is a flat value so the
// book can hand out a reused slice of them without allocating.
type Event struct {
	Kind     EventKind
	Reason   Reason
	Side     Side // the order's side; for a trade, the taker's (aggressor) side
	Order    OrderID
	Owner    Owner
	ClientID uint64
	Price    fixed.Price
	Qty      fixed.Qty
	// Remaining is the order's open quantity after this event.
	Remaining fixed.Qty
	// ReduceOnly is the order's flag (on trades: the taker's), carried so
	// the engine needs no side table to enforce it.
	ReduceOnly bool
	// Maker fields are set on trades.
	Maker           OrderID
	MakerOwner      Owner
	MakerClientID   uint64
	MakerRemaining  fixed.Qty
	MakerReduceOnly bool
}

// OrderView is a read-only copy of a resting order.
type OrderView struct {
	ID         OrderID
	Owner      Owner
	ClientID   uint64
	Side       Side
	Price      fixed.Price
	Qty        fixed.Qty // remaining
	PostOnly   bool
	ReduceOnly bool
}

// Level is one aggregated price level.
type Level struct {
	Price  fixed.Price
	Qty    fixed.Qty
	Orders int
}
