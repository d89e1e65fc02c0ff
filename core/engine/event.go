package engine

import (
	"github.com/sampan-hk/sampan/core/book"
	"github.com/sampan-hk/sampan/core/eligibility"
	"github.com/sampan-hk/sampan/core/fixed"
	"github.com/sampan-hk/sampan/core/governance"
	"github.com/sampan-hk/sampan/core/lending"
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
	// Liquidation (liquidate.go, docs/liquidation.md).
	EvLiquidationStarted  EventKind = 23 // Client, Market (the riskiest position), Price (its mark), Equity, Margin (MM), Balance (collateral)
	EvLiquidationOrder    EventKind = 24 // Client, Market, Side, Price (limit), Qty, Remaining (unfilled), LiqPrice (bankruptcy), Cost (filled notional), Amount (fee), Balance (fund), Equity, Margin (after)
	EvInsuranceTakeover   EventKind = 25 // Client, Market, Side (the fund's), Price (bankruptcy), Qty, Amount (fund loss at mark, signed), Realized (client's), Balance (fund)
	EvInsuranceFund       EventKind = 26 // Client (0: none), Flags (FundFee, FundCover, FundDeposit, FundVenue), Amount (signed, into the fund; FundVenue: paid by the venue), Balance (fund)
	EvDeleveraged         EventKind = 27 // Client (ADL counterparty), MakerClient (liquidated), Market, Side (counterparty's), Price (bankruptcy), Qty, TakerRealized, MakerRealized, Amount (rank score), Quantile
	EvLiquidationFinished EventKind = 28 // Client, Flag (margin restored; false: closed out), Equity, Margin, Balance (collateral)
	EvAdlQuantile         EventKind = 29 // Client, Market, Side (position's), Size, Quantile (1–5), Amount (rank score): a changed ADL queue quantile
	// Governance and eligibility (governance.go): the store's own event,
	// renumbered into the engine's sequence. Flags is the store's event
	// kind (governance.EventKind / eligibility.EventKind); Market is the
	// market a market set belongs to (AllMarkets: another set); Client the
	// eligibility client; Gov the store event and its canonical encoding.
	EvGovernance  EventKind = 30 // Flags, Market, Gov
	EvEligibility EventKind = 31 // Flags, Client, Gov
	// Margin financing (financing.go, closeout.go).
	EvFinancing     EventKind = 32 // Flags (lending.EventKind), Client, Fin (the lending event: loans, interest, calls, sales, ...)
	EvCloseOutOrder EventKind = 33 // Client, Market (spot), Flags (lending.CloseOutStep), Price (IOC limit, ticks), Qty, Remaining (unfilled), Amount (proceeds, quote minor units), Code (book rejection, if any)
	EvSecuritySale  EventKind = 34 // Client, Flags (step), Fin: Asset, Currency, Qty (to sell), Amount (worst price per whole unit), Short (estimated cure, base), Step
	evKindEnd       EventKind = 35
)

var evNames = [...]string{"?", "client_created", "deposited", "withdrawn", "transferred", "classification_set",
	"knowledge_set", "leverage_set", "mark_set", "order_accepted", "trade", "order_cancelled", "order_expired",
	"order_amended", "book_level", "position", "index", "index_source", "mark", "funding_sample", "funding_rate",
	"funding_payment", "market_mode", "liquidation_started", "liquidation_order", "insurance_takeover",
	"insurance_fund", "deleveraged", "liquidation_finished", "adl_quantile", "governance", "eligibility",
	"financing", "close_out_order", "security_sale_instruction"}

func (k EventKind) String() string {
	if k < evKindEnd {
		return evNames[k]
	}
	return "?"
}

// Reasons of an EvInsuranceFund movement (its Flags).
const (
	FundFee     uint8 = 1 // liquidation fee paid in
	FundCover   uint8 = 2 // a client's deficit covered
	FundDeposit uint8 = 3 // operator top-up (CmdFundInsurance)
	FundVenue   uint8 = 4 // the venue's fee revenue paid Amount: to the client (Client ≠ 0) or to the fund (Client 0)
)

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
	// Ref is set on the EvOrderAccepted of a place that carried its
	// client order id text (Command.Ref): the text, for the read models
	// and history. The engine itself keeps only ClientOrderID, its hash.
	Ref       string
	Price     fixed.Price
	Qty       fixed.Qty
	Remaining fixed.Qty

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

	// Liquidation: the account's equity and maintenance margin at the
	// event, and an ADL counterparty's queue quantile (1–5).
	Equity   fixed.Amount
	Margin   fixed.Amount
	Quantile uint8

	// Detail is set on valuation events only. It is allocated per event and
	// never changed after emission, so holders of an Event may keep it;
	// keeping it out of line keeps Event small on the trading hot path
	// (valuation events come a few per second).
	Detail *Valuation

	// Gov is set on EvGovernance and EvEligibility only (out of line like
	// Detail, and likewise never changed after emission).
	Gov *GovDetail

	// Fin is set on EvFinancing and EvSecuritySale only (out of line, never
	// changed after emission). Its Seq is the lending book's own counter.
	Fin *lending.Event
}

// GovDetail carries a governance or eligibility store event: Audit is its
// canonical encoding (what the journal stores); Gov or Elig is the event
// itself in process (both nil after DecodeEvent).
type GovDetail struct {
	Audit []byte
	Gov   *governance.Event
	Elig  *eligibility.Event
}
