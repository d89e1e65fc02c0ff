package lending

import (
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"strconv"

	"github.com/sampan-hk/sampan/core/fixed"
)

// CheckInvariants recomputes the book from scratch and returns the first
// broken invariant (nil if none). Tests call it after every operation; the
// engine may call it in verify mode and panic on an error.
//
//  1. Per client and currency: Balance = Drawn − Repaid + Interest, all ≥ 0,
//     accrual remainder in [0, 10^6), and never both cash and a loan.
//  2. Holdings ≥ 0 and the financed quantity ≤ the holding.
//  3. Ledger: per asset all balances sum to zero; each client's holding
//     account equals its holding, each loan account equals −Balance, the
//     interest-income account equals all interest ever posted.
//  4. Lending value recomputed by a second, independent loop that counts
//     only eligible assets and never a virtual asset other than BTC/ETH
//     equals the valuation used for decisions; no non-BTC/ETH virtual asset
//     is held or marked eligible, and no eligible VA haircut is below 60%.
//  5. A margin call is open exactly when the client has a shortfall (every
//     operation ends by evaluating the clients it touched).
//  6. No advance or withdrawal was ever booked while a call was open.
func (b *Book) CheckInvariants() error {
	sums := make([]int64, len(b.assets))
	for k, v := range b.ledger { // order-free: integer sums only
		sums[k.asset] += int64(v)
	}
	for i, s := range sums {
		if s != 0 {
			return errors.New("ledger of " + b.assets[i].Code + " sums to " + strconv.FormatInt(s, 10))
		}
	}
	interest := make([]fixed.Amount, len(b.assets))
	for i, a := range b.assets {
		if a.Kind == VirtualAsset && !isEligibleVACode(a.Code) && b.coll[i].Eligible {
			return errors.New(a.Code + " is a virtual asset other than BTC/ETH but marked eligible")
		}
		if a.Kind == VirtualAsset && b.coll[i].Eligible && b.coll[i].Haircut < MinVAHaircut {
			return errors.New(a.Code + " haircut below the 60% floor")
		}
	}
	for _, id := range b.order {
		c := b.client(id)
		where := "client " + strconv.FormatUint(uint64(id), 10) + " "
		for i := range b.assets {
			a := AssetID(i)
			code := b.assets[i].Code
			l := c.loans[i]
			if l.Balance != l.Drawn-l.Repaid+l.Interest {
				return errors.New(where + code + " loan != drawn − repaid + interest")
			}
			if l.Balance < 0 || l.Drawn < 0 || l.Repaid < 0 || l.Interest < 0 || l.AccruedMinor < 0 ||
				l.AccruedFine < 0 || l.AccruedFine >= fineUnit {
				return errors.New(where + code + " loan field out of range")
			}
			if l.Balance > 0 && c.hold[i] > 0 {
				return errors.New(where + code + " holds both cash and a loan")
			}
			if c.hold[i] < 0 || c.financed[i] < 0 || c.financed[i] > c.hold[i] {
				return errors.New(where + code + " holding or financed quantity out of range")
			}
			if b.assets[i].Kind == VirtualAsset && !isEligibleVACode(code) && c.hold[i] != 0 {
				return errors.New(where + "holds " + code)
			}
			if got := b.ledger[ledgerKey{holdAcct(id), a}]; got != c.hold[i] {
				return errors.New(where + code + " ledger holding " + itoa(got) + " != " + itoa(c.hold[i]))
			}
			if got := b.ledger[ledgerKey{loanAcct(id), a}]; got != -l.Balance {
				return errors.New(where + code + " ledger loan " + itoa(got) + " != −" + itoa(l.Balance))
			}
			interest[i] += l.Interest
		}
		p := b.position(c)
		v := b.valuate(&p, nil)
		if lv := b.independentLending(c); lv != v.Lending {
			return errors.New(where + "lending value " + itoa(v.Lending) + " != recomputed " + itoa(lv))
		}
		if open := v.Shortfall() > 0; open != c.call.Open {
			return errors.New(where + "margin call state disagrees with shortfall")
		}
		if c.call.ClosingOut && !c.call.Open {
			return errors.New(where + "closing out without a call")
		}
	}
	for i := range b.assets {
		var all fixed.Amount
		if i < len(b.interestAll) {
			all = b.interestAll[i]
		}
		if all != interest[i] || b.ledger[ledgerKey{income(), AssetID(i)}] != all {
			return errors.New("interest income of " + b.assets[i].Code + " does not match the loans")
		}
	}
	if b.violations != 0 {
		return errors.New("an advance or withdrawal was booked while a margin call was open")
	}
	return nil
}

// independentLending recomputes a client's lending value without counts()
// or valuate(), as a cross-check: BTC and ETH are the only virtual assets
// it will count, by code.
func (b *Book) independentLending(c *Client) fixed.Amount {
	var total fixed.Amount
	for i, q := range c.hold {
		a := b.assets[i]
		if q == 0 || !b.coll[i].Eligible || !b.prices[i].Set || !b.prices[a.Quote].Set {
			continue
		}
		if a.Kind == VirtualAsset && a.Code != "BTC" && a.Code != "ETH" {
			continue
		}
		mv := fixed.MustMulDiv(int64(q), b.prices[i].Value, fixed.Pow10(a.Decimals), fixed.Floor)
		if i != int(BaseAsset) && a.Quote != BaseAsset {
			mv = fixed.MustMulDiv(mv, b.prices[a.Quote].Value, fixed.Pow10(b.assets[a.Quote].Decimals), fixed.Floor)
		}
		total += fixed.Amount(fixed.MustMulDiv(mv, int64(fixed.PpmOne-b.coll[i].Haircut), int64(fixed.PpmOne), fixed.Floor))
	}
	return total
}

func itoa(a fixed.Amount) string { return strconv.FormatInt(int64(a), 10) }

// Hash returns a SHA-256 over a canonical encoding of the whole book
// (parameters, registry, table, prices, terms, clients in id order, ledger
// in account order, counters). Equal books hash equal on any machine.
func (b *Book) Hash() [32]byte {
	var e enc
	b.encParams(&e)
	e.i(int64(len(b.assets)))
	for i := range b.assets {
		b.encAsset(&e, AssetID(i))
	}
	// lastTime is left out: it is a guard against time going backwards,
	// not business state, and a rejected command may still advance it.
	e.i(int64(b.capital), b2i(b.firmWarned), int64(b.seq), b.day, int64(b.postings), int64(b.violations))
	e.i(int64(len(b.interestAll)))
	for _, v := range b.interestAll {
		e.i(int64(v))
	}
	e.i(int64(len(b.order)))
	for _, id := range b.order {
		b.encClient(&e, b.client(id))
		for i := range b.assets {
			e.i(int64(b.ledger[ledgerKey{holdAcct(id), AssetID(i)}]), int64(b.ledger[ledgerKey{loanAcct(id), AssetID(i)}]))
		}
	}
	for i := range b.assets {
		for _, a := range [3]Account{ext(), spot(), income()} {
			e.i(int64(b.ledger[ledgerKey{a, AssetID(i)}]))
		}
	}
	return sha256.Sum256(e.buf)
}

// encParams, encAsset and encClient write the parts that Hash and
// AppendState share, so the two cannot drift apart field by field; each
// caller adds what only it covers (ledger balances, lastTime, the
// interest-posted list).
func (b *Book) encParams(e *enc) {
	p := b.params
	e.i(p.CallDeadline, p.CallReminder, int64(p.HardTrigger), int64(p.PriceProtection), int64(p.CloseOutBuffer),
		int64(p.ClientGroupLimit), int64(p.ClientGroupWarn), int64(p.FirmLimit), int64(p.FirmWarn),
		b2i(p.RequireSecuritiesVA), p.PriceMaxAge, p.DayOffset)
}

// encAsset writes one asset's registry entry, collateral row, price and
// interest terms.
func (b *Book) encAsset(e *enc, i AssetID) {
	a := b.assets[i]
	e.s(a.Code)
	e.i(int64(a.Kind), int64(a.Decimals), int64(a.Quote), int64(a.Lot))
	c := b.coll[i]
	e.i(b2i(c.Eligible), int64(c.Haircut), int64(c.Concentration))
	pr := b.prices[i]
	e.i(pr.Value, pr.At, b2i(pr.Set))
	e.i(int64(b.terms[i].AnnualRate), b.terms[i].DayBasis)
}

// encClient writes one client: identity, assessment, call and, per asset,
// holding, financed part and loan.
func (b *Book) encClient(e *enc, c *Client) {
	e.i(int64(c.id), int64(c.group), int64(c.other))
	a := c.assess
	e.i(int64(a.NetAssets), int64(a.AnnualIncome), int64(a.ExperienceYears), a.AssessedAt, a.NextReview,
		int64(a.Limit), b2i(a.Approved), b2i(c.assessed))
	e.s(a.Grade)
	e.s(a.Approver)
	k := c.call
	e.i(b2i(k.Open), k.OpenedAt, k.Deadline, k.LastNotice, b2i(k.ClosingOut), int64(k.Trigger))
	for i := range b.assets {
		l := c.loans[i]
		e.i(int64(c.hold[i]), int64(c.financed[i]), int64(l.Balance), int64(l.Drawn), int64(l.Repaid),
			int64(l.Interest), int64(l.AccruedMinor), l.AccruedFine)
	}
}

type enc struct{ buf []byte }

func (e *enc) i(vs ...int64) {
	for _, v := range vs {
		e.buf = binary.LittleEndian.AppendUint64(e.buf, uint64(v))
	}
}

func (e *enc) s(v string) {
	e.i(int64(len(v)))
	e.buf = append(e.buf, v...)
}

func b2i(v bool) int64 {
	if v {
		return 1
	}
	return 0
}
