package engine

import (
	"encoding/binary"
	"errors"

	"github.com/sampan-hk/sampan/core/book"
	"github.com/sampan-hk/sampan/core/eligibility"
	"github.com/sampan-hk/sampan/core/fixed"
	"github.com/sampan-hk/sampan/core/governance"
	"github.com/sampan-hk/sampan/core/lending"
	"github.com/sampan-hk/sampan/core/oracle"
)

// Binary encoding of commands and events (the journal format).
//
// A record is: 1 byte kind, 1 byte version, then the fields of that kind
// and version in a fixed order, each fixed-width little-endian; the one
// variable field (Ref) is a 1-byte length then that many bytes, at most
// RefMax. Events add seq (u64) and time (i64) after the version byte. The
// layouts below are version 1; a change adds version 2 next to it and the
// decoder keeps reading version 1 forever. Fields a kind does not list are
// not encoded (they must be zero for a lossless round trip). Decoding
// rejects unknown kinds and versions, short or trailing bytes, a bool that
// is not 0 or 1 and an oversized string; it never panics. Canonical bytes
// decode and re-encode to the same bytes (fuzzed).
//
// Command version 2 is a kind's version 1 layout followed by one more
// field (cmdV2Field), for the kinds that have one:
//   - the governance, eligibility and financing risk commands (the kinds
//     whose arguments are in Command.Gov) add the idempotency key (u64);
//   - PlaceOrder adds Ref, the client order id text the key is the hash of
//     (≤ RefMax bytes here; the gateways allow 36), so views, history and
//     replays can show it after a restart. The engine keeps none of it; it
//     copies it onto the order's acceptance event.
//
// Event version 2 exists for EvOrderAccepted only (evRefV2): version 1
// followed by Ref, the accepted order's text.
//
// The encoder writes version 2 only when that field is set (a non-zero
// key, a non-empty Ref), so records without it stay version 1 byte for
// byte; a version 2 record with the field unset is not canonical and is
// refused.

// Encoding errors.
var (
	ErrShort         = errors.New("engine: record too short")
	ErrTrailing      = errors.New("engine: trailing bytes after record")
	ErrUnknownKind   = errors.New("engine: unknown record kind")
	ErrUnknownVer    = errors.New("engine: unknown record version")
	ErrBadBool       = errors.New("engine: bool byte is not 0 or 1")
	ErrStringTooLong = errors.New("engine: string longer than its limit")
	ErrDetail        = errors.New("engine: event detail present on a kind without one, or missing")
	ErrBadValue      = errors.New("engine: parameter value is not canonical")
	ErrNonCanonical  = errors.New("engine: record is not in its canonical version")
)

// Version is the record version of every event and command that does not
// set its kind's version 2 field.
const Version = 1

// Version2 is the record version carrying a kind's version 2 field: a
// governance-side command's idempotency key, a place's (and its accepted
// event's) client order id text.
const Version2 = 2

type field uint8

const (
	fClient   field = iota + 1 // u32
	fMarket                    // u16
	fKey                       // u64
	fOrder                     // u64
	fOrigKey                   // u64
	fSide                      // u8
	fType                      // u8
	fTIF                       // u8
	fSTP                       // u8
	fFlags                     // u8
	fPrice                     // i64
	fQty                       // i64
	fAmount                    // i64
	fLeverage                  // u16
	fClass                     // u8
	fExpiry                    // i64
	fFlag                      // bool
	fFrom                      // u8
	fTo                        // u8
	fRef                       // u8 length + bytes
	// Event-only fields.
	fCode               // u16
	fClientOrderID      // u64
	fRemaining          // i64
	fMakerClient        // u32
	fMakerOrder         // u64
	fMakerClientOrderID // u64
	fMakerRemaining     // i64
	fTakerFee           // i64
	fMakerFee           // i64
	fTakerRealized      // i64
	fMakerRealized      // i64
	fBalance            // i64
	fSize               // i64
	fCost               // i64
	fRealized           // i64
	fLiqPrice           // i64
	fLeverage64         // i64
	fSource             // u16
	fObserved           // i64
	fDetail             // the Valuation detail, fixed layout (valuationLayout)
	fEquity             // i64
	fMargin             // i64
	fQuantile           // u8
	// Governance (command fields, then the event's audit payload).
	fOperator    // u8 length + bytes, ≤ governance.MaxOperatorIDLen
	fTarget      // u8 length + bytes, ≤ governance.MaxOperatorIDLen
	fRole        // u8
	fSet         // u8 length + bytes
	fValue       // u16 length + governance.Value encoding (0: no value)
	fID          // u64
	fAt          // i64
	fNote        // u16 length + bytes, ≤ governance.MaxNoteLen
	fPIClass     // u8
	fEvidence    // u8
	fBasis       // u8
	fPortfolio   // i64
	fTotalAssets // i64
	fTrades      // i64
	fDigest      // [32]byte
	fAudit       // u32 length + the store event's canonical encoding
	// Financing.
	fAsset       // u8 length + bytes, ≤ 16
	fQuote       // u8 length + bytes, ≤ 16
	fAssetKind   // u8
	fDecimals    // u8
	fLot         // i64
	fGrade       // u8 length + bytes, ≤ 16
	fCreditLimit // i64
	fNetAssets   // i64
	fIncome      // i64
	fExperience  // i64
	fReview      // i64
	fFin         // the lending event, fixed layout (appendFin)
)

// finCodeMax bounds asset codes and grades in the encoding (lending's own limit).
const finCodeMax = 16

// maxAudit bounds an audit payload (a governance event with its value).
const maxAudit = 1 << 16

var cmdLayoutV1 = [cmdKindEnd][]field{
	CmdCreateClient:      {fKey, fRef},
	CmdDeposit:           {fClient, fKey, fAmount},
	CmdWithdraw:          {fClient, fKey, fAmount},
	CmdTransfer:          {fClient, fKey, fFrom, fTo, fAmount},
	CmdSetClassification: {fClient, fKey, fClass, fExpiry},
	CmdSetKnowledge:      {fClient, fKey, fFlag},
	CmdSetLeverage:       {fClient, fMarket, fLeverage},
	CmdSetMark:           {fMarket, fPrice},
	CmdPlaceOrder:        {fClient, fMarket, fKey, fSide, fType, fTIF, fSTP, fFlags, fPrice, fQty},
	CmdCancelOrder:       {fClient, fMarket, fOrder, fOrigKey},
	CmdCancelAll:         {fClient, fMarket},
	CmdAmendOrder:        {fClient, fMarket, fKey, fOrder, fOrigKey, fPrice, fQty},
	CmdQuote:             {fMarket, fSource, fPrice, fObserved},
	CmdTick:              {},
	CmdFundInsurance:     {fKey, fAmount},
	CmdAddOperator:       {fOperator, fTarget, fRole},
	CmdDisableOperator:   {fOperator, fTarget},
	CmdProposeParams:     {fOperator, fSet, fValue, fAt, fNote},
	CmdApproveProposal:   {fOperator, fID},
	CmdRejectProposal:    {fOperator, fID, fNote},
	CmdWithdrawProposal:  {fOperator, fID},
	CmdEmergencyTighten:  {fOperator, fSet, fValue, fNote},
	CmdReviewEmergency:   {fOperator, fSet, fID, fNote},
	CmdClassifyClient:    {fOperator, fClient, fPIClass, fEvidence, fAt, fPortfolio, fTotalAssets, fNote},
	CmdRecordKnowledge:   {fOperator, fClient, fBasis, fTrades, fNote},
	CmdPublishDisclosure: {fOperator, fID, fDigest},
	CmdAcceptDisclosure:  {fClient, fID},
	CmdFinDeposit:        {fClient, fKey, fRef, fAmount},
	CmdFinWithdraw:       {fClient, fKey, fRef, fAmount},
	CmdRepayLoan:         {fClient, fKey, fRef, fAmount},
	CmdSetAssetPrice:     {fRef, fAmount},
	CmdCreditAssessment:  {fOperator, fClient, fFlag, fGrade, fCreditLimit, fNetAssets, fIncome, fExperience, fReview, fNote},
	CmdRegisterAsset:     {fOperator, fAsset, fAssetKind, fDecimals, fQuote, fLot},
	CmdBookSecuritySale:  {fClient, fKey, fRef, fQty, fAmount},
}

// cmdV2Field is the field a kind's version 2 appends to its version 1
// layout (0: the kind has no version 2). Neither field is in the kind's
// version 1 layout, so version 1 records mean "unset".
var cmdV2Field = func() (f [cmdKindEnd]field) {
	for k := CommandKind(1); k < cmdKindEnd; k++ {
		if hasGovArgs(k) {
			f[k] = fKey
		}
	}
	f[CmdPlaceOrder] = fRef
	return f
}()

// cmdLayoutV2 is version 1 plus the kind's version 2 field.
var cmdLayoutV2 = func() (l [cmdKindEnd][]field) {
	for k, f := range cmdV2Field {
		if f != 0 {
			l[k] = append(append([]field(nil), cmdLayoutV1[k]...), f)
		}
	}
	return l
}()

// cmdLayout is the layout of a kind in a version (nil: no such version).
func cmdLayout(k CommandKind, ver uint8) []field {
	switch ver {
	case Version:
		return cmdLayoutV1[k]
	case Version2:
		return cmdLayoutV2[k]
	}
	return nil
}

// hasV2Field reports whether c sets its kind's version 2 field: the one
// condition under which it is encoded as version 2.
func (c *Command) hasV2Field() bool {
	switch cmdV2Field[c.Kind] {
	case fKey:
		return c.Key != 0
	case fRef:
		return c.Ref != ""
	}
	return false
}

var evLayoutV1 = [evKindEnd][]field{
	EvClientCreated:     {fClient},
	EvDeposited:         {fClient, fAmount, fBalance},
	EvWithdrawn:         {fClient, fAmount, fBalance},
	EvTransferred:       {fClient, fFrom, fTo, fAmount, fBalance},
	EvClassificationSet: {fClient, fClass, fExpiry},
	EvKnowledgeSet:      {fClient, fFlag},
	EvLeverageSet:       {fClient, fMarket, fLeverage64},
	EvMarkSet:           {fMarket, fPrice},
	EvOrderAccepted:     {fClient, fMarket, fOrder, fClientOrderID, fSide, fFlags, fPrice, fQty, fRemaining},
	EvTrade: {fClient, fMarket, fSide, fOrder, fClientOrderID, fPrice, fQty, fRemaining, fMakerClient, fMakerOrder,
		fMakerClientOrderID, fMakerRemaining, fTakerFee, fMakerFee, fTakerRealized, fMakerRealized},
	EvOrderCancelled:     {fClient, fMarket, fOrder, fClientOrderID, fCode, fSide, fPrice, fQty},
	EvOrderExpired:       {fClient, fMarket, fOrder, fClientOrderID, fCode, fSide, fPrice, fQty},
	EvOrderAmended:       {fClient, fMarket, fOrder, fClientOrderID, fSide, fPrice, fQty, fRemaining},
	EvBookLevel:          {fMarket, fSide, fPrice, fQty},
	EvPosition:           {fClient, fMarket, fSize, fCost, fRealized, fPrice, fLiqPrice},
	EvIndex:              {fMarket, fPrice, fFlag, fDetail},
	EvIndexSource:        {fMarket, fPrice, fDetail},
	EvMark:               {fMarket, fPrice, fDetail},
	EvFundingSample:      {fMarket, fDetail},
	EvFundingRate:        {fMarket, fPrice, fDetail},
	EvFundingPayment:     {fClient, fMarket, fSize, fAmount, fBalance, fPrice, fDetail},
	EvMarketMode:         {fMarket, fFlag, fDetail},
	EvLiquidationStarted: {fClient, fMarket, fPrice, fEquity, fMargin, fBalance},
	EvLiquidationOrder: {fClient, fMarket, fSide, fPrice, fQty, fRemaining, fLiqPrice, fCost, fAmount, fBalance,
		fEquity, fMargin},
	EvInsuranceTakeover: {fClient, fMarket, fSide, fPrice, fQty, fAmount, fRealized, fBalance},
	EvInsuranceFund:     {fClient, fFlags, fAmount, fBalance},
	EvDeleveraged: {fClient, fMakerClient, fMarket, fSide, fPrice, fQty, fTakerRealized, fMakerRealized, fAmount,
		fQuantile},
	EvLiquidationFinished: {fClient, fFlag, fEquity, fMargin, fBalance},
	EvAdlQuantile:         {fClient, fMarket, fSide, fSize, fQuantile, fAmount},
	EvGovernance:          {fFlags, fMarket, fAudit},
	EvEligibility:         {fFlags, fClient, fAudit},
	EvFinancing:           {fFlags, fClient, fFin},
	EvCloseOutOrder:       {fClient, fMarket, fFlags, fPrice, fQty, fRemaining, fAmount, fCode},
	EvSecuritySale:        {fClient, fFlags, fFin},
}

func put8(dst []byte, v uint8) []byte { return append(dst, v) }
func put16(dst []byte, v uint16) []byte {
	return binary.LittleEndian.AppendUint16(dst, v)
}
func put32(dst []byte, v uint32) []byte {
	return binary.LittleEndian.AppendUint32(dst, v)
}
func put64(dst []byte, v uint64) []byte {
	return binary.LittleEndian.AppendUint64(dst, v)
}

// AppendCommand appends cmd's encoding to dst.
func AppendCommand(dst []byte, c *Command) ([]byte, error) {
	if c.Kind == 0 || c.Kind >= cmdKindEnd {
		return dst, ErrUnknownKind
	}
	if len(c.Ref) > RefMax || len(c.args().Operator) > governance.MaxOperatorIDLen || len(c.args().Target) > governance.MaxOperatorIDLen ||
		len(c.args().Set) > 255 || len(c.args().Note) > governance.MaxNoteLen || len(c.args().Value) > 0xFFFF ||
		len(c.args().Asset) > finCodeMax || len(c.args().Quote) > finCodeMax || len(c.args().Grade) > finCodeMax {
		return dst, ErrStringTooLong
	}
	ver := uint8(Version)
	if c.hasV2Field() {
		ver = Version2
	}
	dst = append(dst, byte(c.Kind), ver)
	for _, f := range cmdLayout(c.Kind, ver) {
		dst = putCmdField(dst, c, f)
	}
	return dst, nil
}

func putCmdField(dst []byte, c *Command, f field) []byte {
	switch f {
	case fClient:
		return put32(dst, uint32(c.Client))
	case fMarket:
		return put16(dst, uint16(c.Market))
	case fKey:
		return put64(dst, c.Key)
	case fOrder:
		return put64(dst, uint64(c.Order))
	case fOrigKey:
		return put64(dst, c.OrigKey)
	case fSide:
		return put8(dst, uint8(c.Side))
	case fType:
		return put8(dst, uint8(c.Type))
	case fTIF:
		return put8(dst, uint8(c.TIF))
	case fSTP:
		return put8(dst, uint8(c.STP))
	case fFlags:
		return put8(dst, c.Flags)
	case fPrice:
		return put64(dst, uint64(c.Price))
	case fQty:
		return put64(dst, uint64(c.Qty))
	case fAmount:
		return put64(dst, uint64(c.Amount))
	case fLeverage:
		return put16(dst, c.Leverage)
	case fClass:
		return put8(dst, uint8(c.Class))
	case fExpiry:
		return put64(dst, uint64(c.Expiry))
	case fFlag:
		return put8(dst, b2u(c.Flag))
	case fFrom:
		return put8(dst, uint8(c.From))
	case fTo:
		return put8(dst, uint8(c.To))
	case fRef:
		dst = put8(dst, uint8(len(c.Ref)))
		return append(dst, c.Ref...)
	case fSource:
		return put16(dst, c.Source)
	case fObserved:
		return put64(dst, uint64(c.Observed))
	case fOperator:
		dst = put8(dst, uint8(len(c.args().Operator)))
		return append(dst, c.args().Operator...)
	case fTarget:
		dst = put8(dst, uint8(len(c.args().Target)))
		return append(dst, c.args().Target...)
	case fRole:
		return put8(dst, uint8(c.args().Role))
	case fSet:
		dst = put8(dst, uint8(len(c.args().Set)))
		return append(dst, c.args().Set...)
	case fValue:
		dst = put16(dst, uint16(len(c.args().Value)))
		return append(dst, c.args().Value...)
	case fID:
		return put64(dst, c.args().ID)
	case fAt:
		return put64(dst, uint64(c.args().At))
	case fNote:
		dst = put16(dst, uint16(len(c.args().Note)))
		return append(dst, c.args().Note...)
	case fPIClass:
		return put8(dst, uint8(c.args().PIClass))
	case fEvidence:
		return put8(dst, uint8(c.args().Evidence))
	case fBasis:
		return put8(dst, uint8(c.args().Basis))
	case fPortfolio:
		return put64(dst, uint64(c.args().Portfolio))
	case fTotalAssets:
		return put64(dst, uint64(c.args().TotalAssets))
	case fTrades:
		return put64(dst, uint64(c.args().Trades))
	case fDigest:
		return append(dst, c.args().Digest[:]...)
	case fAsset:
		dst = put8(dst, uint8(len(c.args().Asset)))
		return append(dst, c.args().Asset...)
	case fQuote:
		dst = put8(dst, uint8(len(c.args().Quote)))
		return append(dst, c.args().Quote...)
	case fAssetKind:
		return put8(dst, c.args().AssetKind)
	case fDecimals:
		return put8(dst, c.args().Decimals)
	case fLot:
		return put64(dst, uint64(c.args().Lot))
	case fGrade:
		dst = put8(dst, uint8(len(c.args().Grade)))
		return append(dst, c.args().Grade...)
	case fCreditLimit:
		return put64(dst, uint64(c.args().CreditLimit))
	case fNetAssets:
		return put64(dst, uint64(c.args().NetAssets))
	case fIncome:
		return put64(dst, uint64(c.args().Income))
	case fExperience:
		return put64(dst, uint64(c.args().Experience))
	case fReview:
		return put64(dst, uint64(c.args().Review))
	}
	panic("engine: command layout names an unknown field")
}

// reader consumes a record; the first error sticks.
type reader struct {
	b   []byte
	err error
}

func (r *reader) take(n int) []byte {
	if r.err != nil {
		return nil
	}
	if len(r.b) < n {
		r.err = ErrShort
		return nil
	}
	v := r.b[:n]
	r.b = r.b[n:]
	return v
}

func (r *reader) u8() uint8 {
	if v := r.take(1); v != nil {
		return v[0]
	}
	return 0
}
func (r *reader) u16() uint16 {
	if v := r.take(2); v != nil {
		return binary.LittleEndian.Uint16(v)
	}
	return 0
}
func (r *reader) u32() uint32 {
	if v := r.take(4); v != nil {
		return binary.LittleEndian.Uint32(v)
	}
	return 0
}
func (r *reader) u64() uint64 {
	if v := r.take(8); v != nil {
		return binary.LittleEndian.Uint64(v)
	}
	return 0
}
func (r *reader) str(n, limit int) string {
	if n > limit && r.err == nil {
		r.err = ErrStringTooLong
	}
	return string(r.take(n))
}

func (r *reader) boolean() bool {
	v := r.u8()
	if v > 1 && r.err == nil {
		r.err = ErrBadBool
	}
	return v == 1
}

// DecodeCommand decodes one command record occupying all of b.
func DecodeCommand(b []byte) (Command, error) {
	var c Command
	if len(b) < 2 {
		return c, ErrShort
	}
	k := CommandKind(b[0])
	if k == 0 || k >= cmdKindEnd {
		return c, ErrUnknownKind
	}
	layout := cmdLayout(k, b[1])
	if layout == nil {
		return c, ErrUnknownVer
	}
	c.Kind = k
	r := reader{b: b[2:]}
	if hasGovArgs(k) {
		c.Gov = new(GovArgs)
	}
	for _, f := range layout {
		switch f {
		case fClient:
			c.Client = ClientID(r.u32())
		case fMarket:
			c.Market = MarketID(r.u16())
		case fKey:
			c.Key = r.u64()
		case fOrder:
			c.Order = book.OrderID(r.u64())
		case fOrigKey:
			c.OrigKey = r.u64()
		case fSide:
			c.Side = book.Side(r.u8())
		case fType:
			c.Type = book.Type(r.u8())
		case fTIF:
			c.TIF = book.TIF(r.u8())
		case fSTP:
			c.STP = book.STP(r.u8())
		case fFlags:
			c.Flags = r.u8()
		case fPrice:
			c.Price = fixed.Price(r.u64())
		case fQty:
			c.Qty = fixed.Qty(r.u64())
		case fAmount:
			c.Amount = fixed.Amount(r.u64())
		case fLeverage:
			c.Leverage = r.u16()
		case fClass:
			c.Class = Classification(r.u8())
		case fExpiry:
			c.Expiry = int64(r.u64())
		case fFlag:
			c.Flag = r.boolean()
		case fFrom:
			c.From = AccountKind(r.u8())
		case fTo:
			c.To = AccountKind(r.u8())
		case fRef:
			n := int(r.u8())
			if n > RefMax && r.err == nil {
				r.err = ErrStringTooLong
			}
			c.Ref = string(r.take(n))
		case fSource:
			c.Source = r.u16()
		case fObserved:
			c.Observed = int64(r.u64())
		case fOperator:
			c.Gov.Operator = r.str(int(r.u8()), governance.MaxOperatorIDLen)
		case fTarget:
			c.Gov.Target = r.str(int(r.u8()), governance.MaxOperatorIDLen)
		case fRole:
			c.Gov.Role = governance.Role(r.u8())
		case fSet:
			c.Gov.Set = r.str(int(r.u8()), 255)
		case fValue:
			if n := int(r.u16()); n > 0 {
				b := r.take(n)
				if r.err == nil {
					if _, reason := governance.DecodeValue(b); reason != governance.ReasonNone {
						r.err = ErrBadValue
					}
					c.Gov.Value = string(b)
				}
			}
		case fID:
			c.Gov.ID = r.u64()
		case fAt:
			c.Gov.At = int64(r.u64())
		case fNote:
			c.Gov.Note = r.str(int(r.u16()), governance.MaxNoteLen)
		case fPIClass:
			c.Gov.PIClass = eligibility.Class(r.u8())
		case fEvidence:
			c.Gov.Evidence = eligibility.EvidenceKind(r.u8())
		case fBasis:
			c.Gov.Basis = eligibility.Basis(r.u8())
		case fPortfolio:
			c.Gov.Portfolio = fixed.Amount(r.u64())
		case fTotalAssets:
			c.Gov.TotalAssets = fixed.Amount(r.u64())
		case fTrades:
			c.Gov.Trades = int64(r.u64())
		case fDigest:
			copy(c.Gov.Digest[:], r.take(32))
		case fAsset:
			c.Gov.Asset = r.str(int(r.u8()), finCodeMax)
		case fQuote:
			c.Gov.Quote = r.str(int(r.u8()), finCodeMax)
		case fAssetKind:
			c.Gov.AssetKind = r.u8()
		case fDecimals:
			c.Gov.Decimals = r.u8()
		case fLot:
			c.Gov.Lot = fixed.Amount(r.u64())
		case fGrade:
			c.Gov.Grade = r.str(int(r.u8()), finCodeMax)
		case fCreditLimit:
			c.Gov.CreditLimit = fixed.Amount(r.u64())
		case fNetAssets:
			c.Gov.NetAssets = fixed.Amount(r.u64())
		case fIncome:
			c.Gov.Income = fixed.Amount(r.u64())
		case fExperience:
			c.Gov.Experience = int64(r.u64())
		case fReview:
			c.Gov.Review = int64(r.u64())
		}
	}
	if r.err != nil {
		return Command{}, r.err
	}
	if len(r.b) != 0 {
		return Command{}, ErrTrailing
	}
	if b[1] == Version2 && !c.hasV2Field() {
		return Command{}, ErrNonCanonical
	}
	return c, nil
}

// evRefV2 marks the event kinds with a version 2 layout: version 1 plus
// the text Ref (u8 length + bytes), written only when Ref is set. Only a
// named place's accepted order has one; a version 2 record with an empty
// Ref is not canonical and is refused.
var evRefV2 = [evKindEnd]bool{EvOrderAccepted: true}

// AppendEvent appends ev's encoding to dst.
func AppendEvent(dst []byte, ev *Event) ([]byte, error) {
	if ev.Kind == 0 || ev.Kind >= evKindEnd {
		return dst, ErrUnknownKind
	}
	if hasDetail[ev.Kind] != (ev.Detail != nil) || hasAudit[ev.Kind] != (ev.Gov != nil) || hasFin[ev.Kind] != (ev.Fin != nil) {
		return dst, ErrDetail
	}
	if ev.Gov != nil && len(ev.Gov.Audit) > maxAudit {
		return dst, ErrStringTooLong
	}
	if len(ev.Ref) > RefMax {
		return dst, ErrStringTooLong
	}
	named := evRefV2[ev.Kind] && ev.Ref != ""
	ver := uint8(Version)
	if named {
		ver = Version2
	}
	dst = append(dst, byte(ev.Kind), ver)
	dst = put64(dst, ev.Seq)
	dst = put64(dst, uint64(ev.Time))
	dst = appendEventFields(dst, ev)
	if named {
		dst = append(put8(dst, uint8(len(ev.Ref))), ev.Ref...)
	}
	return dst, nil
}

func appendEventFields(dst []byte, ev *Event) []byte {
	for _, f := range evLayoutV1[ev.Kind] {
		switch f {
		case fClient:
			dst = put32(dst, uint32(ev.Client))
		case fMarket:
			dst = put16(dst, uint16(ev.Market))
		case fOrder:
			dst = put64(dst, uint64(ev.Order))
		case fSide:
			dst = put8(dst, uint8(ev.Side))
		case fFlags:
			dst = put8(dst, ev.Flags)
		case fPrice:
			dst = put64(dst, uint64(ev.Price))
		case fQty:
			dst = put64(dst, uint64(ev.Qty))
		case fAmount:
			dst = put64(dst, uint64(ev.Amount))
		case fClass:
			dst = put8(dst, uint8(ev.Class))
		case fExpiry:
			dst = put64(dst, uint64(ev.Expiry))
		case fFlag:
			dst = put8(dst, b2u(ev.Flag))
		case fFrom:
			dst = put8(dst, uint8(ev.From))
		case fTo:
			dst = put8(dst, uint8(ev.To))
		case fCode:
			dst = put16(dst, uint16(ev.Code))
		case fClientOrderID:
			dst = put64(dst, ev.ClientOrderID)
		case fRemaining:
			dst = put64(dst, uint64(ev.Remaining))
		case fMakerClient:
			dst = put32(dst, uint32(ev.MakerClient))
		case fMakerOrder:
			dst = put64(dst, uint64(ev.MakerOrder))
		case fMakerClientOrderID:
			dst = put64(dst, ev.MakerClientOrderID)
		case fMakerRemaining:
			dst = put64(dst, uint64(ev.MakerRemaining))
		case fTakerFee:
			dst = put64(dst, uint64(ev.TakerFee))
		case fMakerFee:
			dst = put64(dst, uint64(ev.MakerFee))
		case fTakerRealized:
			dst = put64(dst, uint64(ev.TakerRealized))
		case fMakerRealized:
			dst = put64(dst, uint64(ev.MakerRealized))
		case fBalance:
			dst = put64(dst, uint64(ev.Balance))
		case fSize:
			dst = put64(dst, uint64(ev.Size))
		case fCost:
			dst = put64(dst, uint64(ev.Cost))
		case fRealized:
			dst = put64(dst, uint64(ev.Realized))
		case fLiqPrice:
			dst = put64(dst, uint64(ev.LiqPrice))
		case fLeverage64:
			dst = put64(dst, uint64(ev.Leverage))
		case fDetail:
			dst = appendValuation(dst, ev.Detail)
		case fEquity:
			dst = put64(dst, uint64(ev.Equity))
		case fMargin:
			dst = put64(dst, uint64(ev.Margin))
		case fQuantile:
			dst = put8(dst, ev.Quantile)
		case fAudit:
			dst = put32(dst, uint32(len(ev.Gov.Audit)))
			dst = append(dst, ev.Gov.Audit...)
		case fFin:
			dst = appendFin(dst, ev.Fin)
		default:
			panic("engine: event layout names an unknown field")
		}
	}
	return dst
}

// DecodeEvent decodes one event record occupying all of b.
func DecodeEvent(b []byte) (Event, error) {
	var ev Event
	if len(b) < 2 {
		return ev, ErrShort
	}
	k := EventKind(b[0])
	if k == 0 || k >= evKindEnd {
		return ev, ErrUnknownKind
	}
	if b[1] != Version && (b[1] != Version2 || !evRefV2[k]) {
		return ev, ErrUnknownVer
	}
	ev.Kind = k
	r := reader{b: b[2:]}
	ev.Seq = r.u64()
	ev.Time = int64(r.u64())
	for _, f := range evLayoutV1[k] {
		switch f {
		case fClient:
			ev.Client = ClientID(r.u32())
		case fMarket:
			ev.Market = MarketID(r.u16())
		case fOrder:
			ev.Order = book.OrderID(r.u64())
		case fSide:
			ev.Side = book.Side(r.u8())
		case fFlags:
			ev.Flags = r.u8()
		case fPrice:
			ev.Price = fixed.Price(r.u64())
		case fQty:
			ev.Qty = fixed.Qty(r.u64())
		case fAmount:
			ev.Amount = fixed.Amount(r.u64())
		case fClass:
			ev.Class = Classification(r.u8())
		case fExpiry:
			ev.Expiry = int64(r.u64())
		case fFlag:
			ev.Flag = r.boolean()
		case fFrom:
			ev.From = AccountKind(r.u8())
		case fTo:
			ev.To = AccountKind(r.u8())
		case fCode:
			ev.Code = Code(r.u16())
		case fClientOrderID:
			ev.ClientOrderID = r.u64()
		case fRemaining:
			ev.Remaining = fixed.Qty(r.u64())
		case fMakerClient:
			ev.MakerClient = ClientID(r.u32())
		case fMakerOrder:
			ev.MakerOrder = book.OrderID(r.u64())
		case fMakerClientOrderID:
			ev.MakerClientOrderID = r.u64()
		case fMakerRemaining:
			ev.MakerRemaining = fixed.Qty(r.u64())
		case fTakerFee:
			ev.TakerFee = fixed.Amount(r.u64())
		case fMakerFee:
			ev.MakerFee = fixed.Amount(r.u64())
		case fTakerRealized:
			ev.TakerRealized = fixed.Amount(r.u64())
		case fMakerRealized:
			ev.MakerRealized = fixed.Amount(r.u64())
		case fBalance:
			ev.Balance = fixed.Amount(r.u64())
		case fSize:
			ev.Size = fixed.Qty(r.u64())
		case fCost:
			ev.Cost = fixed.Amount(r.u64())
		case fRealized:
			ev.Realized = fixed.Amount(r.u64())
		case fLiqPrice:
			ev.LiqPrice = fixed.Price(r.u64())
		case fLeverage64:
			ev.Leverage = int64(r.u64())
		case fDetail:
			ev.Detail = readValuation(&r)
		case fEquity:
			ev.Equity = fixed.Amount(r.u64())
		case fMargin:
			ev.Margin = fixed.Amount(r.u64())
		case fQuantile:
			ev.Quantile = r.u8()
		case fAudit:
			n := r.u32()
			if n > maxAudit && r.err == nil {
				r.err = ErrStringTooLong
			}
			ev.Gov = &GovDetail{Audit: append([]byte{}, r.take(int(n))...)}
		case fFin:
			ev.Fin = readFin(&r)
		}
	}
	if b[1] == Version2 {
		n := int(r.u8())
		switch {
		case r.err != nil:
		case n == 0:
			r.err = ErrNonCanonical
		case n > RefMax:
			r.err = ErrStringTooLong
		}
		ev.Ref = string(r.take(n))
	}
	if r.err != nil {
		return Event{}, r.err
	}
	if len(r.b) != 0 {
		return Event{}, ErrTrailing
	}
	return ev, nil
}

// hasDetail says which event kinds carry a Valuation detail.
var hasDetail = func() (h [evKindEnd]bool) {
	for k, l := range evLayoutV1 {
		for _, f := range l {
			if f == fDetail {
				h[k] = true
			}
		}
	}
	return h
}()

// hasFin says which event kinds carry a lending event.
var hasFin = func() (h [evKindEnd]bool) {
	for k, l := range evLayoutV1 {
		for _, f := range l {
			if f == fFin {
				h[k] = true
			}
		}
	}
	return h
}()

// The lending event is encoded whole: u8 kind | u64 seq | i64 time |
// u64 client | u16 asset | u16 currency | i64 qty, amount, fine, base,
// debit, lending, short, deadline | u8 step | u8 trigger | i64 ppm | i64 day.
func appendFin(dst []byte, f *lending.Event) []byte {
	dst = put8(dst, uint8(f.Kind))
	dst = put64(dst, f.Seq)
	dst = put64(dst, uint64(f.Time))
	dst = put64(dst, uint64(f.Client))
	dst = put16(dst, uint16(f.Asset))
	dst = put16(dst, uint16(f.Currency))
	for _, v := range [...]int64{int64(f.Qty), int64(f.Amount), f.Fine, int64(f.Base), int64(f.Debit), int64(f.Lending),
		int64(f.Short), f.Deadline} {
		dst = put64(dst, uint64(v))
	}
	dst = put8(dst, uint8(f.Step))
	dst = put8(dst, uint8(f.Trigger))
	dst = put64(dst, uint64(f.Ppm))
	return put64(dst, uint64(f.Day))
}

func readFin(r *reader) *lending.Event {
	f := &lending.Event{Kind: lending.EventKind(r.u8()), Seq: r.u64(), Time: int64(r.u64()), Client: lending.ClientID(r.u64()),
		Asset: lending.AssetID(r.u16()), Currency: lending.AssetID(r.u16())}
	f.Qty, f.Amount, f.Fine = fixed.Amount(r.u64()), fixed.Amount(r.u64()), int64(r.u64())
	f.Base, f.Debit, f.Lending, f.Short = fixed.Amount(r.u64()), fixed.Amount(r.u64()), fixed.Amount(r.u64()), fixed.Amount(r.u64())
	f.Deadline = int64(r.u64())
	f.Step, f.Trigger = lending.CloseOutStep(r.u8()), lending.Trigger(r.u8())
	f.Ppm, f.Day = fixed.Ppm(r.u64()), int64(r.u64())
	if (f.Step > lending.StepSecurity || f.Trigger > lending.TriggerHard) && r.err == nil {
		r.err = ErrDetail
	}
	return f
}

// hasAudit says which event kinds carry a store event (GovDetail).
var hasAudit = func() (h [evKindEnd]bool) {
	for k, l := range evLayoutV1 {
		for _, f := range l {
			if f == fAudit {
				h[k] = true
			}
		}
	}
	return h
}()

// The Valuation detail is encoded whole, whatever the kind: a flags word
// (u16: Healthy, Bounded, HasMid, HasLast, SampleAdded, Clamped, HasBid,
// HasAsk, Capped), the small fields (Fresh u16, Included u16, Source u16,
// Excluded u8, Weight u32, WeightUsed u32, BasisSamples u32, Samples u32),
// then valuationInts' 31 i64s in order. It is a rare event's payload, so
// simplicity wins over size.
func valuationInts(v *Valuation) [31]*int64 {
	return [...]*int64{&v.At, (*int64)(&v.Reference), (*int64)(&v.Median), (*int64)(&v.Wanted), &v.Age, (*int64)(&v.Deviation),
		(*int64)(&v.Index), (*int64)(&v.Rate), &v.TimeToFunding, (*int64)(&v.Mid), (*int64)(&v.Last), (*int64)(&v.FundingPrice),
		(*int64)(&v.BasisAverage), (*int64)(&v.BasisPrice), (*int64)(&v.LastPrice), (*int64)(&v.MarkMedian), (*int64)(&v.BandLow),
		(*int64)(&v.BandHigh), (*int64)(&v.ImpactBid), (*int64)(&v.ImpactAsk), (*int64)(&v.PremiumSum), (*int64)(&v.AvgPremium),
		(*int64)(&v.Interest), (*int64)(&v.Adjustment), (*int64)(&v.Uncapped), (*int64)(&v.Cap), &v.Interval, (*int64)(&v.Paid),
		(*int64)(&v.Received), (*int64)(&v.Residue), (*int64)(&v.Notional)}
}

func valuationFlags(v *Valuation) [9]*bool {
	return [...]*bool{&v.Healthy, &v.Bounded, &v.HasMid, &v.HasLast, &v.SampleAdded, &v.Clamped, &v.HasBid, &v.HasAsk, &v.Capped}
}

func appendValuation(dst []byte, v *Valuation) []byte {
	var fl uint16
	for i, b := range valuationFlags(v) {
		if *b {
			fl |= 1 << i
		}
	}
	dst = put16(dst, fl)
	dst = put16(dst, v.Fresh)
	dst = put16(dst, v.Included)
	dst = put16(dst, uint16(v.Source))
	dst = put8(dst, uint8(v.Excluded))
	dst = put32(dst, v.Weight)
	dst = put32(dst, v.WeightUsed)
	dst = put32(dst, v.BasisSamples)
	dst = put32(dst, v.Samples)
	for _, p := range valuationInts(v) {
		dst = put64(dst, uint64(*p))
	}
	return dst
}

func readValuation(r *reader) *Valuation {
	v := new(Valuation)
	fl := r.u16()
	if fl>>len(valuationFlags(v)) != 0 && r.err == nil {
		r.err = ErrBadBool
	}
	for i, b := range valuationFlags(v) {
		*b = fl&(1<<i) != 0
	}
	v.Fresh, v.Included, v.Source = r.u16(), r.u16(), oracle.SourceID(r.u16())
	v.Excluded = oracle.Exclusion(r.u8())
	if v.Excluded > oracle.Disabled && r.err == nil {
		r.err = ErrDetail
	}
	v.Weight, v.WeightUsed, v.BasisSamples, v.Samples = r.u32(), r.u32(), r.u32(), r.u32()
	for _, p := range valuationInts(v) {
		*p = int64(r.u64())
	}
	return v
}
