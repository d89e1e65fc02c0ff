package engine

import (
	"github.com/sampan-hk/sampan/core/book"
	"github.com/sampan-hk/sampan/core/fixed"
)

// EventKind says what an Event reports. The numbers are the encoding's type
// byte and never change.
type EventKind uint8

const (
	EvClientCreated     EventKind = 1  // Client
	EvDeposited         EventKind = 2  // Client, Amount, Balance
	EvWithdrawn         EventKind = 3  // Client, Amount, Balance
	EvTransferred       EventKind = 4  // Client, From, To, Amount, Balance (derivatives)
	EvClassificationSet EventKind = 5  // Client, Class, Expiry
	EvKnowledgeSet      EventKind = 6  // Client, Flag
	EvLeverageSet       EventKind = 7  // Client, Market, Leverage
	EvMarkSet           EventKind = 8  // Market, Price
	EvOrderAccepted     EventKind = 9  // Client, Market, Order, ClientOrderID, Side, Price, Qty, Flags
	EvTrade             EventKind = 10 // taker (Client, Order, ...) and maker fields, fees, realized PnL
	EvOrderCancelled    EventKind = 11 // Client, Market, Order, Side, Price, Qty (unfilled), Code
	EvOrderExpired      EventKind = 12 // Client, Market, Order, Side, Price, Qty (unfilled), Code
	EvOrderAmended      EventKind = 13 // Client, Market, Order, Price, Qty
	EvBookLevel         EventKind = 14 // Market, Side, Price, Qty (0: level gone)
	EvPosition          EventKind = 15 // Client, Market, Size, Cost, Realized, Price (mark), LiqPrice
	evKindEnd           EventKind = 16
)

var evNames = [...]string{"?", "client_created", "deposited", "withdrawn", "transferred", "classification_set",
	"knowledge_set", "leverage_set", "mark_set", "order_accepted", "trade", "order_cancelled", "order_expired",
	"order_amended", "book_level", "position"}

func (k EventKind) String() string {
	if k < evKindEnd {
		return evNames[k]
	}
	return "?"
}

// Event is one state change. It is a flat value so the engine can hand out
// a reused slice of them; each kind sets the fields listed above and leaves
// the rest zero. Seq increases by one per event for the engine's lifetime.
type Event struct {
	Seq    uint64
	Time   int64
	Kind   EventKind
	Side   book.Side
	Flags  uint8
	Class  Classification
	From   AccountKind
	To     AccountKind
	Flag   bool
	Code   Code
	Market MarketID
	Client ClientID

	Order         book.OrderID
	ClientOrderID uint64
	Price         fixed.Price
	Qty           fixed.Qty
	Remaining     fixed.Qty

	MakerClient        ClientID
	MakerOrder         book.OrderID
	MakerClientOrderID uint64
	MakerRemaining     fixed.Qty
	TakerFee           fixed.Amount
	MakerFee           fixed.Amount
	TakerRealized      fixed.Amount
	MakerRealized      fixed.Amount

	Amount   fixed.Amount
	Balance  fixed.Amount
	Size     fixed.Qty
	Cost     fixed.Amount
	Realized fixed.Amount
	LiqPrice fixed.Price
	Leverage int64
	Expiry   int64
}
