package lending

import (
	"strconv"

	"github.com/sampan-hk/sampan/core/fixed"
)

// EventKind names an event. Numeric values are stable (encoding); add at the end.
type EventKind uint8

// Event kinds.
const (
	EvAssetRegistered EventKind = iota + 1
	EvCollateralSet
	EvPriceSet
	EvParamsSet
	EvCapitalSet
	EvInterestTermsSet
	EvClientOpened
	EvAssessmentSet
	EvOtherExposureSet
	EvDeposited
	EvWithdrawn
	EvAdvanced // a loan was drawn: Amount in Asset (a currency)
	EvRepaid   // a loan was repaid: Amount in Asset
	EvBought   // Qty of Asset bought for Amount of Currency
	EvSold     // Qty of Asset sold for Amount of Currency; Step > 0 for a close-out sale
	EvInterestAccrued
	EvInterestPosted
	EvMarginCallOpened
	EvMarginCallReminder
	EvMarginCallCured
	EvCloseOutStarted
	EvClientGroupWarning
	EvFirmLoansWarning
	evKindCount
)

var evNames = [evKindCount]string{
	"", "asset_registered", "collateral_set", "price_set", "params_set", "capital_set",
	"interest_terms_set", "client_opened", "assessment_set", "other_exposure_set",
	"deposited", "withdrawn", "advanced", "repaid", "bought", "sold",
	"interest_accrued", "interest_posted", "margin_call_opened", "margin_call_reminder",
	"margin_call_cured", "close_out_started", "client_group_warning", "firm_loans_warning",
}

func (k EventKind) String() string {
	if k < evKindCount && k > 0 {
		return evNames[k]
	}
	return "event" + strconv.Itoa(int(k))
}

// Trigger says why a close-out started.
type Trigger uint8

// Close-out triggers.
const (
	TriggerNone     Trigger = iota
	TriggerDeadline         // the call's deadline passed uncured
	TriggerHard             // debit ≥ HardTrigger × lending value
)

// Event is one state change, flat so it encodes simply. Fields that do not
// apply to a kind are zero. Every event names its client when it concerns
// one, so a client statement is the client's events in Seq order.
type Event struct {
	Seq      uint64
	Time     int64
	Kind     EventKind
	Client   ClientID
	Asset    AssetID      // asset concerned (the loan currency for loan events)
	Currency AssetID      // settlement currency of a trade
	Qty      fixed.Amount // asset minor units (trades, deposits, withdrawals)
	Amount   fixed.Amount // money in Asset or Currency minor units
	Fine     int64        // interest in 10^-6 minor units (accrual events)
	Base     fixed.Amount // a base-currency figure (capital, limit, total)
	Debit    fixed.Amount // client debit in base (loans + accrued interest) after the event
	Lending  fixed.Amount // client lending value in base after the event
	Short    fixed.Amount // shortfall in base (debit − lending value), calls and close-outs
	Deadline int64        // margin-call deadline
	Step     CloseOutStep // close-out sale step (0 = ordinary trade)
	Trigger  Trigger
	Ppm      fixed.Ppm // a rate: haircut, multiple of capital
	Day      int64     // accrual day index (days since 1970-01-01 in the book's day zone)
}

// AccountKind is the kind of a posting account.
type AccountKind uint8

// Posting account kinds. A client's loan is the negative balance of its
// loan account, so lending creates no money: the advance posting is
// {loan −X, client asset +X}.
const (
	AcctExternal       AccountKind = iota + 1 // custody clearing: deposits and withdrawals
	AcctSpot                                  // the spot book's settlement counterparty
	AcctClientAsset                           // a client's holding in the margin-financing account
	AcctClientLoan                            // a client's loan (balance = −loan)
	AcctInterestIncome                        // the firm's interest income
)

// Account is one posting account; Client is zero for firm accounts.
type Account struct {
	Kind   AccountKind
	Client ClientID
}

// Leg adds Amount to Account's balance in the posting's asset.
type Leg struct {
	Account Account
	Amount  fixed.Amount
}

// Posting is a balanced movement of one asset: its legs sum to zero.
type Posting struct {
	Asset AssetID
	Legs  []Leg
}

type ledgerKey struct {
	acct  Account
	asset AssetID
}

// post applies a posting to the book's balances and records it in out. An
// unbalanced posting is a bug.
func (b *Book) post(out *Outcome, asset AssetID, legs ...Leg) {
	var sum int64
	for _, l := range legs {
		sum = fixed.MustAdd(sum, int64(l.Amount))
	}
	if sum != 0 {
		panic("lending: unbalanced posting")
	}
	for _, l := range legs {
		if l.Amount == 0 {
			continue
		}
		k := ledgerKey{l.Account, asset}
		b.ledger[k] = fixed.Amount(fixed.MustAdd(int64(b.ledger[k]), int64(l.Amount)))
	}
	b.postings++
	out.Postings = append(out.Postings, Posting{Asset: asset, Legs: legs})
}

func ext() Account                       { return Account{Kind: AcctExternal} }
func spot() Account                      { return Account{Kind: AcctSpot} }
func income() Account                    { return Account{Kind: AcctInterestIncome} }
func holdAcct(c ClientID) Account        { return Account{Kind: AcctClientAsset, Client: c} }
func loanAcct(c ClientID) Account        { return Account{Kind: AcctClientLoan, Client: c} }
func move(a Account, v fixed.Amount) Leg { return Leg{Account: a, Amount: v} }

// LedgerBalance returns the book's balance of an account in an asset.
func (b *Book) LedgerBalance(a Account, asset AssetID) fixed.Amount {
	return b.ledger[ledgerKey{a, asset}]
}

// Postings returns how many postings have been applied.
func (b *Book) Postings() uint64 { return b.postings }
