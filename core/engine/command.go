package engine

import (
	"github.com/sampan-hk/sampan/core/book"
	"github.com/sampan-hk/sampan/core/eligibility"
	"github.com/sampan-hk/sampan/core/fixed"
	"github.com/sampan-hk/sampan/core/governance"
)

// ClientID is a dense client number assigned by CreateClient, from 1. It is
// also the client's owner number in every book.
type ClientID uint32

// MarketID is a market's index in Config.Markets.
type MarketID uint16

// AllMarkets in CancelAll means every market.
const AllMarkets MarketID = 0xFFFF

// CommandKind says what a Command asks for. The numbers are the encoding's
// type byte and never change.
type CommandKind uint8

const (
	CmdCreateClient      CommandKind = 1  // operator: Key, Ref → Result.Client
	CmdDeposit           CommandKind = 2  // operator (custody): Client, Key, Amount
	CmdWithdraw          CommandKind = 3  // Client, Key, Amount
	CmdTransfer          CommandKind = 4  // Client, Key, Amount, From, To
	CmdSetClassification CommandKind = 5  // operator: Client, Key, Class, Expiry
	CmdSetKnowledge      CommandKind = 6  // operator: Client, Key, Flag
	CmdSetLeverage       CommandKind = 7  // Client, Market, Leverage
	CmdSetMark           CommandKind = 8  // operator (oracle): Market, Price
	CmdPlaceOrder        CommandKind = 9  // Client, Market, Key (client order id hash), order fields; Ref (the id's text, optional, ignored by the engine)
	CmdCancelOrder       CommandKind = 10 // Client, Market, Order or OrigKey
	CmdCancelAll         CommandKind = 11 // Client, Market (AllMarkets: every market)
	CmdAmendOrder        CommandKind = 12 // Client, Market, Key, Order or OrigKey, Price, Qty
	CmdQuote             CommandKind = 13 // feed: Market (any market on the underlying), Source, Price (ticks), Observed
	CmdTick              CommandKind = 14 // sequencer, every second: time only
	CmdFundInsurance     CommandKind = 15 // operator (custody): Key, Amount: money paid into the insurance fund
	// Governance (governance.go, docs/governance.md). Operator is the
	// acting operator's id, filled by the gateway from the API key; the
	// engine re-checks its role and permission for every one of them.
	// Each may carry an idempotency Key, scoped to the acting operator
	// (AcceptDisclosure: to the client); so may CreditAssessment and
	// RegisterAsset (idem.go, keyBegin).
	CmdAddOperator       CommandKind = 16 // Operator, Target, Role (every governance kind: and Key)
	CmdDisableOperator   CommandKind = 17 // Operator, Target
	CmdProposeParams     CommandKind = 18 // Operator, Set, Value, At (effective time), Note → Result.ID (proposal)
	CmdApproveProposal   CommandKind = 19 // Operator, ID (proposal)
	CmdRejectProposal    CommandKind = 20 // Operator, ID, Note
	CmdWithdrawProposal  CommandKind = 21 // Operator, ID
	CmdEmergencyTighten  CommandKind = 22 // Operator, Set, Value, Note → Result.ID (version)
	CmdReviewEmergency   CommandKind = 23 // Operator, Set, ID (version), Note
	CmdClassifyClient    CommandKind = 24 // Operator, Client, PIClass, Evidence, At (evidence date), Portfolio, TotalAssets, Note (reference)
	CmdRecordKnowledge   CommandKind = 25 // Operator, Client, Basis, Trades, Note (reference)
	CmdPublishDisclosure CommandKind = 26 // Operator, ID (version), Digest
	CmdAcceptDisclosure  CommandKind = 27 // client: Client, ID (version)
	// Margin financing (financing.go, docs/margin-financing.md). Ref is an
	// asset code of the financing registry ("BTC", "USD", "0700.HK");
	// amounts are the asset's minor units.
	CmdFinDeposit       CommandKind = 28 // operator (custody): Client, Key, Ref (asset), Amount
	CmdFinWithdraw      CommandKind = 29 // client: Client, Key, Ref (asset), Amount
	CmdRepayLoan        CommandKind = 30 // operator (custody): Client, Key, Ref (currency), Amount: a repayment from outside
	CmdSetAssetPrice    CommandKind = 31 // operator (oracle): Ref (asset), Amount (quote minor units per whole unit; FX: base per unit)
	CmdCreditAssessment CommandKind = 32 // operator (risk officer, checked): Operator, Client, Flag (approved), Grade, CreditLimit, NetAssets, Income, Experience, Review, Note
	CmdRegisterAsset    CommandKind = 33 // operator (risk officer, checked): Operator, Asset, AssetKind, Decimals, Quote, Lot
	CmdBookSecuritySale CommandKind = 34 // operator (custody): Client, Key, Ref (security), Qty (minor units sold), Amount (proceeds)
	cmdKindEnd          CommandKind = 35
)

var cmdNames = [...]string{"?", "create_client", "deposit", "withdraw", "transfer", "set_classification",
	"set_knowledge", "set_leverage", "set_mark", "place_order", "cancel_order", "cancel_all", "amend_order", "quote", "tick", "fund_insurance",
	"add_operator", "disable_operator", "propose_parameters", "approve_proposal", "reject_proposal", "withdraw_proposal",
	"emergency_tighten", "review_emergency", "classify_client", "record_knowledge", "publish_disclosure", "accept_disclosure",
	"financing_deposit", "financing_withdraw", "repay_loan", "set_asset_price", "credit_assessment", "register_asset",
	"book_security_sale"}

func (k CommandKind) String() string {
	if k < cmdKindEnd {
		return cmdNames[k]
	}
	return "?"
}

// Order flags.
const (
	FlagPostOnly   uint8 = 1 << 0
	FlagReduceOnly uint8 = 1 << 1
	flagsKnown           = FlagPostOnly | FlagReduceOnly
)

// AccountKind names one of a client's two accounts (kept separate, as
// regulated firms do): derivatives collateral and margin financing.
type AccountKind uint8

const (
	Derivatives AccountKind = 1
	Financing   AccountKind = 2
)

// Classification is a client's investor classification.
type Classification uint8

const (
	Retail Classification = iota
	IndividualPI
	CorporatePI
	InstitutionalPI
	classEnd
)

var classNames = [...]string{"retail", "individual_pi", "corporate_pi", "institutional_pi"}

func (c Classification) String() string {
	if c < classEnd {
		return classNames[c]
	}
	return "?"
}

// Command is one request to the engine: a flat value with a Kind; each kind
// reads only the fields listed for it above (the encoding carries exactly
// those). A flat struct keeps Apply allocation-free: no interface boxing,
// no per-kind heap objects.
//
// Key is the idempotency key, scoped to the client (or to the operator for
// operator commands): for PlaceOrder it is the client order id. Zero means
// "no key". A repeated key with the same payload returns the stored result
// and changes nothing; with a different payload it is rejected. Commands
// whose effect is absolute and repeatable (set leverage, set mark, cancel,
// cancel all) carry no key: applying them twice is the same as once.
type Command struct {
	Kind     CommandKind
	Side     book.Side
	Type     book.Type
	TIF      book.TIF
	STP      book.STP
	Flags    uint8
	Class    Classification
	From, To AccountKind
	Flag     bool
	Market   MarketID
	Leverage uint16
	Client   ClientID
	Key      uint64
	Order    book.OrderID // cancel/amend target; 0: use OrigKey
	OrigKey  uint64       // target's client order id
	Price    fixed.Price
	Qty      fixed.Qty
	Amount   fixed.Amount
	Expiry   int64 // unix ns; classification valid while now < Expiry
	// Ref is a short text (≤ RefMax bytes): a new client's external
	// reference, a financing asset code, or a place's client order id
	// text. The last is carried only so the log holds it for the read
	// models (history, replays); the engine keeps no state from it.
	Ref string
	// Quote fields. Quotes carry no idempotency key (a repeated quote is
	// harmless: the index keeps the newest per venue), so they are not
	// part of the fingerprint.
	Source   uint16 // oracle venue id (oracle.SourceID)
	Observed int64  // the venue's observation time, unix ns

	// Gov carries the governance and eligibility commands' arguments
	// (nil for every other kind), out of line so the trading commands
	// stay small: the hot path copies and clears Commands.
	Gov *GovArgs
}

// Result is a command's outcome.
type Result struct {
	Code     Code
	Replayed bool // an idempotent retry: the stored original result
	Client   ClientID
	Order    book.OrderID
	Qty      fixed.Qty // accepted quantity (after a reduce-only trim)
	ID       uint64    // governance: the proposal id or emergency version created
}

// fingerprint hashes every payload field, so an idempotent retry can be
// told from a reuse of the key with other content. It is a cheap
// multiply-xor mix, deterministic across machines; collisions only matter
// for a key reused with different content, which is a client bug anyway.
func (c *Command) fingerprint() uint64 {
	h := uint64(0x9e3779b97f4a7c15)
	mix := func(v uint64) {
		h ^= v
		h *= 0xbf58476d1ce4e5b9
		h ^= h >> 31
	}
	mix(uint64(c.Kind) | uint64(c.Side)<<8 | uint64(c.Type)<<16 | uint64(c.TIF)<<24 | uint64(c.STP)<<32 | uint64(c.Flags)<<40 | uint64(c.Class)<<48 | uint64(c.From)<<56)
	mix(uint64(c.To) | uint64(b2u(c.Flag))<<8 | uint64(c.Market)<<16 | uint64(c.Leverage)<<32)
	mix(uint64(c.Client))
	mix(c.Key)
	mix(uint64(c.Order))
	mix(c.OrigKey)
	mix(uint64(c.Price))
	mix(uint64(c.Qty))
	mix(uint64(c.Amount))
	mix(uint64(c.Expiry))
	// A place's Ref is the text its Key hashes (gateway.KeyOf), so two
	// places with one key carry one text and Ref tells nothing more apart.
	// Leaving it out also keeps the stored fingerprint (engine state,
	// hashed) the same whether or not the text was sent: a retry of an
	// order logged without it is still a retry.
	if c.Kind != CmdPlaceOrder {
		for i := 0; i < len(c.Ref); i++ {
			mix(uint64(c.Ref[i]))
		}
	}
	if c.Gov != nil {
		h = c.Gov.fingerprint(h)
	}
	return h
}

// fingerprint continues a command's fingerprint over every governance
// argument. Strings are length-prefixed so adjacent fields cannot trade
// bytes ("ab"+"c" and "a"+"bc" differ).
func (a *GovArgs) fingerprint(h uint64) uint64 {
	mix := func(v uint64) {
		h ^= v
		h *= 0xbf58476d1ce4e5b9
		h ^= h >> 31
	}
	for _, s := range [...]string{a.Operator, a.Target, a.Set, a.Value, a.Note, a.Grade, a.Asset, a.Quote} {
		mix(uint64(len(s)) | 1<<63)
		for i := 0; i < len(s); i++ {
			mix(uint64(s[i]))
		}
	}
	for _, v := range [...]int64{int64(a.Role), int64(a.ID), a.At, int64(a.PIClass), int64(a.Evidence), int64(a.Basis),
		int64(a.Portfolio), int64(a.TotalAssets), a.Trades, int64(a.CreditLimit), int64(a.NetAssets), int64(a.Income),
		a.Experience, a.Review, int64(a.AssetKind), int64(a.Decimals), int64(a.Lot)} {
		mix(uint64(v))
	}
	for i := 0; i < len(a.Digest); i += 8 {
		mix(uint64(a.Digest[i]) | uint64(a.Digest[i+1])<<8 | uint64(a.Digest[i+2])<<16 | uint64(a.Digest[i+3])<<24 |
			uint64(a.Digest[i+4])<<32 | uint64(a.Digest[i+5])<<40 | uint64(a.Digest[i+6])<<48 | uint64(a.Digest[i+7])<<56)
	}
	return h
}

func b2u(b bool) uint8 {
	if b {
		return 1
	}
	return 0
}

// EncodeValue is a governed value in the form Command.Value carries.
func EncodeValue(v governance.Value) string { return string(v.Encode(nil)) }

// GovArgs are the arguments of the governance and eligibility commands
// (see the command kinds for which each reads).
type GovArgs struct {
	Operator    string          // acting operator id (≤ governance.MaxOperatorIDLen)
	Target      string          // operator added or disabled
	Role        governance.Role // role of an added operator
	Set         string          // parameter set id ("market:BTC-USD-PERP", "eligibility", ...)
	Value       string          // proposed or emergency value: its canonical encoding (EncodeValue); keeps Command comparable
	ID          uint64          // proposal id, version number or disclosure version
	At          int64           // effective time (proposal) or evidence date (classification), unix ns
	Note        string          // justification or document reference (≤ governance.MaxNoteLen)
	PIClass     eligibility.Class
	Evidence    eligibility.EvidenceKind
	Basis       eligibility.Basis
	Portfolio   fixed.Amount // HKD cents
	TotalAssets fixed.Amount // HKD cents
	Trades      int64
	Digest      [32]byte // SHA-256 of a published disclosure's text

	// Credit assessment (CmdCreditAssessment); money in base minor units
	// (micro-HKD).
	Grade       string // internal credit grade, ≤ 16 bytes
	CreditLimit fixed.Amount
	NetAssets   fixed.Amount
	Income      fixed.Amount
	Experience  int64 // years
	Review      int64 // next review (the assessment expires then), unix ns
	// Asset registration (CmdRegisterAsset).
	Asset     string // code, [A-Z0-9.-], ≤ 16 bytes
	Quote     string // code of the cash asset its price is quoted in
	AssetKind uint8  // lending.AssetKind: 1 cash, 2 virtual asset, 3 security
	Decimals  uint8
	Lot       fixed.Amount // minor units
}

// isFinCommand reports the financing command kinds.
func isFinCommand(k CommandKind) bool { return k >= CmdFinDeposit && k <= CmdBookSecuritySale }

// hasGovArgs reports the kinds whose arguments are in Command.Gov.
func hasGovArgs(k CommandKind) bool {
	return isGovCommand(k) || k == CmdCreditAssessment || k == CmdRegisterAsset
}

var noGovArgs GovArgs

// args returns the command's governance arguments (zero when absent);
// callers only read them.
func (c *Command) args() *GovArgs {
	if c.Gov == nil {
		return &noGovArgs
	}
	return c.Gov
}
