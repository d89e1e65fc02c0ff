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
	// Valuation (valuation.go). Their details are in Detail.
	EvIndex          EventKind = 16 // Market, Price (published index), Flag (healthy), Detail: At, Reference, Median, Wanted, Fresh, Included, Bounded
	EvIndexSource    EventKind = 17 // Market, Price (venue's last quote), Detail: At (observed), Source, Age, Weight, WeightUsed, Deviation, Excluded
	EvMark           EventKind = 18 // Market, Price (mark), Detail: every input and intermediate (oracle.MarkResult)
	EvFundingSample  EventKind = 19 // Market, Detail: Index, ImpactBid/HasBid, ImpactAsk/HasAsk, Premium
	EvFundingRate    EventKind = 20 // Market, Price (mark), Detail: At (boundary), Interval, rate formula (oracle.RateResult), Paid, Received, Residue
	EvFundingPayment EventKind = 21 // Client, Market, Size, Amount (signed: < 0 paid), Balance, Price (mark), Detail: At, Rate, Notional
	EvMarketMode     EventKind = 22 // Market, Flag (reduce-only), Detail: Fresh, Included
	evKindEnd        EventKind = 23
)

var evNames = [...]string{"?", "client_created", "deposited", "withdrawn", "transferred", "classification_set",
	"knowledge_set", "leverage_set", "mark_set", "order_accepted", "trade", "order_cancelled", "order_expired",
	"order_amended", "book_level", "position", "index", "index_source", "mark", "funding_sample", "funding_rate",
	"funding_payment", "market_mode"}

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

	// Detail is set on valuation events only. It is allocated per event and
	// never changed after emission, so holders of an Event may keep it;
	// keeping it out of line keeps Event small on the trading hot path
	// (valuation events come a few per second).
	Detail *Valuation
}
