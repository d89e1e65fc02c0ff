package lending

import (
	"github.com/sampan-hk/sampan/core/fixed"
)

// Assessment is a client's documented credit assessment (R5). It sets the
// credit limit; only an approved assessment whose next review is still in
// the future lets the client borrow.
type Assessment struct {
	NetAssets       fixed.Amount // base minor units, as evidenced
	AnnualIncome    fixed.Amount // base minor units, as evidenced
	ExperienceYears int32        // trading experience
	Grade           string       // internal credit grade, e.g. "A"
	Approver        string       // who approved it (maker-checker is governance's job)
	AssessedAt      int64        // engine time of the assessment
	NextReview      int64        // the assessment expires at this time
	Limit           fixed.Amount // credit limit, base minor units
	Approved        bool
}

// Loan is one currency's debit balance and its history.
//
// Invariant: Balance = Drawn − Repaid + Interest. Accrued interest not yet
// posted is AccruedMinor whole minor units plus AccruedFine millionths of a
// minor unit (0 ≤ AccruedFine < 10^6).
type Loan struct {
	Balance      fixed.Amount
	Drawn        fixed.Amount
	Repaid       fixed.Amount
	Interest     fixed.Amount
	AccruedMinor fixed.Amount
	AccruedFine  int64
}

// accruedCeil is the accrued interest rounded up to whole minor units: what
// risk checks treat as owed before it is posted.
func (l *Loan) accruedCeil() fixed.Amount {
	if l.AccruedFine > 0 {
		return l.AccruedMinor + 1
	}
	return l.AccruedMinor
}

// Call is a client's margin-call state.
type Call struct {
	Open       bool
	OpenedAt   int64
	Deadline   int64
	LastNotice int64
	ClosingOut bool
	Trigger    Trigger
}

// Client is one margin client's margin-financing account.
type Client struct {
	id       ClientID
	group    GroupID
	hold     []fixed.Amount // per asset, minor units
	financed []fixed.Amount // per VA: quantity bought with borrowed money and not yet sold
	loans    []Loan         // per currency
	assess   Assessment
	assessed bool
	other    fixed.Amount // debit in the client's other accounts (base), for aggregate limits
	call     Call
}

func (b *Book) grow(c *Client) {
	for len(c.hold) < len(b.assets) {
		c.hold = append(c.hold, 0)
		c.financed = append(c.financed, 0)
		c.loans = append(c.loans, Loan{})
	}
}

func (b *Book) client(id ClientID) *Client {
	c := b.clients[id]
	if c != nil {
		b.grow(c)
	}
	return c
}

// OpenClient opens a margin-financing account. group links related
// clients for the group limit (0: the client alone).
func (b *Book) OpenClient(now int64, id ClientID, group GroupID) Outcome {
	b.clock(now)
	if _, dup := b.clients[id]; dup {
		return reject(ReasonDuplicateClient)
	}
	c := &Client{id: id, group: group}
	b.grow(c)
	b.clients[id] = c
	// Keep order sorted: insertion by shifting is O(n) but opening a
	// client is rare next to everything that iterates.
	i := len(b.order)
	b.order = append(b.order, id)
	for i > 0 && b.order[i-1] > id {
		b.order[i] = b.order[i-1]
		i--
	}
	b.order[i] = id
	var out Outcome
	b.emit(&out, Event{Kind: EvClientOpened, Time: now, Client: id})
	return out
}

// Clients returns the client ids in ascending order (a copy).
func (b *Book) Clients() []ClientID { return append([]ClientID(nil), b.order...) }

// SetAssessment records a credit assessment, replacing the previous one.
func (b *Book) SetAssessment(now int64, id ClientID, a Assessment) Outcome {
	b.clock(now)
	c := b.client(id)
	if c == nil {
		return reject(ReasonUnknownClient)
	}
	if a.Grade == "" || len(a.Grade) > 16 || len(a.Approver) > 64 || (a.Approved && a.Approver == "") ||
		a.AssessedAt > now || a.NextReview <= a.AssessedAt ||
		a.Limit < 0 || a.Limit > MaxAmount || a.NetAssets < 0 || a.AnnualIncome < 0 || a.ExperienceYears < 0 {
		return reject(ReasonBadAssessment)
	}
	c.assess, c.assessed = a, true
	var out Outcome
	b.emit(&out, Event{Kind: EvAssessmentSet, Time: now, Client: id, Base: a.Limit})
	return out
}

// SetOtherExposure records the client's debit in its other accounts (base
// minor units), so credit, client/group and firm limits aggregate per
// client across accounts (R33).
func (b *Book) SetOtherExposure(now int64, id ClientID, debit fixed.Amount) Outcome {
	b.clock(now)
	c := b.client(id)
	if c == nil {
		return reject(ReasonUnknownClient)
	}
	if debit < 0 || debit > MaxAmount {
		return reject(ReasonBadAmount)
	}
	c.other = debit
	var out Outcome
	b.emit(&out, Event{Kind: EvOtherExposureSet, Time: now, Client: id, Base: debit})
	return out
}

// position is a client's holdings and loans, copied so an operation can be
// judged on the state it would leave before anything changes.
type position struct {
	hold    []fixed.Amount
	loan    []fixed.Amount // Balance + accrued interest rounded up, per currency
	balance []fixed.Amount // Balance only
}

func (b *Book) position(c *Client) position {
	p := position{
		hold:    append([]fixed.Amount(nil), c.hold...),
		loan:    make([]fixed.Amount, len(c.loans)),
		balance: make([]fixed.Amount, len(c.loans)),
	}
	for i := range c.loans {
		p.balance[i] = c.loans[i].Balance
		p.loan[i] = c.loans[i].Balance + c.loans[i].accruedCeil()
	}
	return p
}

func (p *position) addLoan(ccy AssetID, x fixed.Amount) {
	p.loan[ccy] += x
	p.balance[ccy] += x
}

// Valuation is a client's account valued in base minor units.
type Valuation struct {
	MarketValue    fixed.Amount // Σ market value of priced holdings (cash included), rounded down
	Lending        fixed.Amount // Σ market value × (1 − haircut) of eligible holdings, rounded down
	CapitalLending fixed.Amount // the same with virtual assets at a 100% haircut (the firm's capital view)
	Debit          fixed.Amount // Σ loans + accrued interest, converted rounding up
	PerAsset       []fixed.Amount
}

// Shortfall is debit − lending value when positive, else 0.
func (v *Valuation) Shortfall() fixed.Amount {
	if v.Debit > v.Lending {
		return v.Debit - v.Lending
	}
	return 0
}

func (b *Book) valuate(p *position, shock []fixed.Ppm) Valuation {
	v := Valuation{PerAsset: make([]fixed.Amount, len(p.hold))}
	for i, q := range p.hold {
		id := AssetID(i)
		if q == 0 || !b.priced(id) {
			continue // an unpriced holding is worth nothing to the lender
		}
		px := b.prices[id].Value
		if shock != nil && shock[i] != 0 {
			px = fixed.MustMulDiv(px, int64(fixed.PpmOne+shock[i]), int64(fixed.PpmOne), fixed.Floor)
		}
		mv := b.value(id, q, px, fixed.Floor)
		v.MarketValue += mv
		if !b.counts(id) {
			continue
		}
		lv := fixed.MustApplyRate(mv, fixed.PpmOne-b.coll[id].Haircut, fixed.Floor)
		v.PerAsset[i] = lv
		v.Lending += lv
		if b.assets[id].Kind != VirtualAsset {
			v.CapitalLending += lv
		}
	}
	for i, l := range p.loan {
		if l == 0 {
			continue
		}
		id := AssetID(i)
		if !b.priced(id) {
			panic("lending: loan in a currency without an FX rate")
		}
		v.Debit += b.value(id, l, b.prices[id].Value, fixed.Ceil)
	}
	return v
}

// Valuation values a client's account now.
func (b *Book) Valuation(id ClientID) (Valuation, bool) {
	c := b.client(id)
	if c == nil {
		return Valuation{}, false
	}
	p := b.position(c)
	return b.valuate(&p, nil), true
}

// Holding returns a client's holding of an asset in minor units.
func (b *Book) Holding(id ClientID, asset AssetID) fixed.Amount {
	c := b.client(id)
	if c == nil || !b.known(asset) {
		return 0
	}
	return c.hold[asset]
}

// Financed returns the quantity of an asset the client bought with borrowed money.
func (b *Book) Financed(id ClientID, asset AssetID) fixed.Amount {
	c := b.client(id)
	if c == nil || !b.known(asset) {
		return 0
	}
	return c.financed[asset]
}

// Loan returns a client's loan in a currency.
func (b *Book) Loan(id ClientID, ccy AssetID) Loan {
	c := b.client(id)
	if c == nil || !b.known(ccy) {
		return Loan{}
	}
	return c.loans[ccy]
}

// CallState returns a client's margin-call state.
func (b *Book) CallState(id ClientID) Call {
	c := b.client(id)
	if c == nil {
		return Call{}
	}
	return c.call
}

// clientDebit is a client's debit in this book plus its other accounts.
func (b *Book) clientDebit(c *Client) fixed.Amount {
	p := b.position(c)
	v := b.valuate(&p, nil)
	return v.Debit + c.other
}

// totals returns the aggregate debit of c's group and of the firm, with
// c's own debit replaced by cDebit (what it would be after the operation).
func (b *Book) totals(c *Client, cDebit fixed.Amount) (group, firm fixed.Amount) {
	for _, id := range b.order {
		o := b.clients[id]
		d := cDebit
		if o != c {
			d = b.clientDebit(o)
		}
		firm += d
		if o == c || (c.group != 0 && o.group == c.group) {
			group += d
		}
	}
	return group, firm
}

func (b *Book) ofCapital(rate fixed.Ppm) fixed.Amount {
	return fixed.MustApplyRate(b.capital, rate, fixed.Floor)
}

// checkAdvance judges a loan increase on the position it would leave.
// vaBuy is true when the borrowed money buys a virtual asset.
func (b *Book) checkAdvance(c *Client, now int64, post *position, vaBuy bool) Reason {
	switch {
	case !c.assessed:
		return ReasonNoAssessment
	case !c.assess.Approved:
		return ReasonAssessmentNotApproved
	case now >= c.assess.NextReview:
		return ReasonAssessmentExpired
	case c.call.Open:
		return ReasonMarginCallOpen
	case b.capital == 0:
		return ReasonNoCapital
	}
	if r := b.checkPrices(post, now); r != ReasonOK {
		return r
	}
	v := b.valuate(post, nil)
	if vaBuy && b.params.RequireSecuritiesVA {
		has := false
		for i, lv := range v.PerAsset {
			if lv > 0 && b.assets[i].Kind == Security {
				has = true
			}
		}
		if !has {
			return ReasonNeedsSecuritiesCollateral
		}
	}
	for _, l := range post.balance {
		if l > MaxAmount {
			return ReasonBadAmount
		}
	}
	if v.Debit+c.other > c.assess.Limit {
		return ReasonCreditLimit
	}
	if v.Debit > v.Lending {
		return ReasonLendingValue
	}
	for i, lv := range v.PerAsset {
		if lv > fixed.MustApplyRate(v.Lending, b.coll[i].Concentration, fixed.Floor) {
			return ReasonConcentration
		}
	}
	group, firm := b.totals(c, v.Debit+c.other)
	if group > b.ofCapital(b.params.ClientGroupLimit) {
		return ReasonClientGroupLimit
	}
	if firm > b.ofCapital(b.params.FirmLimit) {
		return ReasonFirmLimit
	}
	return ReasonOK
}

// checkPrices requires a fresh price for every loan currency and every
// eligible holding of a position with a debit: lending against a stale
// price is refused (R15).
func (b *Book) checkPrices(post *position, now int64) Reason {
	debt := false
	for i, l := range post.loan {
		if l == 0 {
			continue
		}
		debt = true
		if !b.priced(AssetID(i)) {
			return ReasonNoPrice
		}
		if !b.fresh(AssetID(i), now) {
			return ReasonStalePrice
		}
	}
	if !debt {
		return ReasonOK
	}
	for i, q := range post.hold {
		id := AssetID(i)
		if q > 0 && b.coll[id].Eligible && b.priced(id) && !b.fresh(id, now) {
			return ReasonStalePrice
		}
	}
	return ReasonOK
}

// afterAdvance emits the limit warnings an advance may have crossed.
func (b *Book) afterAdvance(out *Outcome, c *Client, now int64) {
	d := b.clientDebit(c)
	group, _ := b.totals(c, d)
	if group >= b.ofCapital(b.params.ClientGroupWarn) {
		b.emit(out, Event{Kind: EvClientGroupWarning, Time: now, Client: c.id, Base: group})
	}
	b.checkFirmWarning(out, now)
}

// checkFirmWarning emits a warning when total loans first reach FirmWarn ×
// capital, and re-arms when they fall back below.
func (b *Book) checkFirmWarning(out *Outcome, now int64) {
	if b.capital == 0 {
		return
	}
	var firm fixed.Amount
	for _, id := range b.order {
		firm += b.clientDebit(b.clients[id])
	}
	above := firm >= b.ofCapital(b.params.FirmWarn)
	if above && !b.firmWarned {
		b.emit(out, Event{Kind: EvFirmLoansWarning, Time: now, Base: firm,
			Ppm: fixed.Ppm(fixed.MustMulDiv(int64(firm), int64(fixed.PpmOne), int64(b.capital), fixed.Floor))})
	}
	b.firmWarned = above
}

func validAmount(a fixed.Amount) bool { return a > 0 && a <= MaxAmount }

// draw books an advance of x in ccy: {loan −x, client +x}.
func (b *Book) draw(out *Outcome, c *Client, now int64, ccy AssetID, x fixed.Amount) {
	if c.call.Open {
		b.violations++ // the guard above every caller should make this impossible
	}
	l := &c.loans[ccy]
	l.Balance += x
	l.Drawn += x
	c.hold[ccy] += x
	b.post(out, ccy, move(loanAcct(c.id), -x), move(holdAcct(c.id), x))
	b.emit(out, Event{Kind: EvAdvanced, Time: now, Client: c.id, Asset: ccy, Amount: x})
}

// net repays a currency's loan from the client's cash in that currency, so
// no currency ever shows both cash and a loan (the account is one signed
// balance per currency, split in two for clarity).
func (b *Book) net(out *Outcome, c *Client, now int64, ccy AssetID) {
	l := &c.loans[ccy]
	r := min(c.hold[ccy], l.Balance)
	if r <= 0 {
		return
	}
	c.hold[ccy] -= r
	l.Balance -= r
	l.Repaid += r
	b.post(out, ccy, move(holdAcct(c.id), -r), move(loanAcct(c.id), r))
	b.emit(out, Event{Kind: EvRepaid, Time: now, Client: c.id, Asset: ccy, Amount: r})
}

// Deposit credits an asset to the account. Cash repays a loan in the same
// currency first. A virtual asset other than BTC/ETH is refused.
func (b *Book) Deposit(now int64, id ClientID, asset AssetID, qty fixed.Amount) Outcome {
	b.clock(now)
	c := b.client(id)
	switch r := b.clientAsset(c, asset); {
	case r != ReasonOK:
		return reject(r)
	case b.assets[asset].Kind == VirtualAsset && !isEligibleVACode(b.assets[asset].Code):
		return reject(ReasonVANotEligible)
	case !validAmount(qty) || c.hold[asset]+qty > MaxAmount:
		return reject(ReasonBadAmount)
	}
	return b.payIn(c, now, asset, qty)
}

// payIn credits qty of an asset paid in from outside; cash then repays a
// loan in the same currency (a repayment is a deposit against the loan).
func (b *Book) payIn(c *Client, now int64, asset AssetID, qty fixed.Amount) Outcome {
	var out Outcome
	c.hold[asset] += qty
	b.post(&out, asset, move(ext(), -qty), move(holdAcct(c.id), qty))
	b.emit(&out, Event{Kind: EvDeposited, Time: now, Client: c.id, Asset: asset, Qty: qty})
	b.net(&out, c, now, asset)
	b.evaluate(&out, c, now)
	b.checkFirmWarning(&out, now)
	return out
}

// Withdraw pays an asset out of the account. Refused while a margin call is
// open, and when the debit would exceed the lending value left.
func (b *Book) Withdraw(now int64, id ClientID, asset AssetID, qty fixed.Amount) Outcome {
	b.clock(now)
	c := b.client(id)
	switch r := b.clientAsset(c, asset); {
	case r != ReasonOK:
		return reject(r)
	case !validAmount(qty):
		return reject(ReasonBadAmount)
	case c.call.Open:
		return reject(ReasonMarginCallOpen)
	case qty > c.hold[asset]:
		return reject(ReasonInsufficientHolding)
	}
	post := b.position(c)
	post.hold[asset] -= qty
	if r := b.checkKeep(&post, now); r != ReasonOK {
		return reject(r)
	}
	var out Outcome
	b.payOut(&out, c, now, asset, qty)
	b.evaluate(&out, c, now)
	return out
}

// checkKeep requires that a position with a debit keeps it within the
// lending value, on fresh prices.
func (b *Book) checkKeep(post *position, now int64) Reason {
	if r := b.checkPrices(post, now); r != ReasonOK {
		return r
	}
	v := b.valuate(post, nil)
	if v.Debit > v.Lending {
		return ReasonLendingValue
	}
	return ReasonOK
}

func (b *Book) payOut(out *Outcome, c *Client, now int64, asset AssetID, qty fixed.Amount) {
	if c.call.Open {
		b.violations++
	}
	c.hold[asset] -= qty
	if c.financed[asset] > c.hold[asset] {
		c.financed[asset] = c.hold[asset]
	}
	b.post(out, asset, move(holdAcct(c.id), -qty), move(ext(), qty))
	b.emit(out, Event{Kind: EvWithdrawn, Time: now, Client: c.id, Asset: asset, Qty: qty})
}

// Advance pays amount of a currency out to the client, from its own cash
// first and borrowing the rest: a cash loan. The borrowed part passes every
// advance check.
func (b *Book) Advance(now int64, id ClientID, ccy AssetID, amount fixed.Amount) Outcome {
	b.clock(now)
	c := b.client(id)
	switch r := b.clientAsset(c, ccy); {
	case r != ReasonOK:
		return reject(r)
	case b.assets[ccy].Kind != Cash:
		return reject(ReasonNotCash)
	case !validAmount(amount):
		return reject(ReasonBadAmount)
	case c.call.Open:
		return reject(ReasonMarginCallOpen)
	}
	use := min(c.hold[ccy], amount)
	x := amount - use
	post := b.position(c)
	post.hold[ccy] -= use
	post.addLoan(ccy, x)
	r := ReasonOK
	if x > 0 {
		r = b.checkAdvance(c, now, &post, false)
	} else {
		r = b.checkKeep(&post, now)
	}
	if r != ReasonOK {
		return reject(r)
	}
	var out Outcome
	if x > 0 {
		b.draw(&out, c, now, ccy, x)
	}
	b.payOut(&out, c, now, ccy, amount)
	if x > 0 {
		b.afterAdvance(&out, c, now)
	}
	b.evaluate(&out, c, now)
	return out
}

// Repay takes a payment of amount in a currency from outside against the
// loan in that currency. Accrued interest becomes repayable once posted.
func (b *Book) Repay(now int64, id ClientID, ccy AssetID, amount fixed.Amount) Outcome {
	b.clock(now)
	c := b.client(id)
	switch r := b.clientAsset(c, ccy); {
	case r != ReasonOK:
		return reject(r)
	case b.assets[ccy].Kind != Cash:
		return reject(ReasonNotCash)
	case !validAmount(amount):
		return reject(ReasonBadAmount)
	case amount > c.loans[ccy].Balance:
		return reject(ReasonRepayExceedsLoan)
	}
	return b.payIn(c, now, ccy, amount)
}

// Buy settles a spot purchase of qty of asset for cost in the asset's quote
// currency, paid from the client's cash first and borrowing the rest (buying
// on margin). The borrowed part passes every advance check, judged on the
// position after the trade (the asset bought counts at its haircut). Any
// purchase is refused while a margin call is open. The engine runs
// CheckBuy before it lets the order match and Buy for each fill.
func (b *Book) Buy(now int64, id ClientID, asset AssetID, qty, cost fixed.Amount) Outcome {
	return b.buy(now, id, asset, qty, cost, false)
}

// CheckBuy reports whether Buy with the same arguments would be accepted,
// changing nothing (the pre-trade check for a margin order at its limit
// price).
func (b *Book) CheckBuy(now int64, id ClientID, asset AssetID, qty, cost fixed.Amount) Reason {
	o := b.buy(now, id, asset, qty, cost, true)
	return o.Reason
}

// BuyWithCash settles a fill of a resting buy order that the engine
// accepted fully paid: cost is taken from the client's cash in the quote
// currency and never borrowed (ReasonInsufficientHolding if the cash is not
// there). Unlike Buy it is not refused while a margin call is open: the
// order was a commitment made before the call, and the engine cancels a
// client's resting buys in the same command that opens a call, so only
// fills matched inside that one command can reach here under a call. No
// advance happens, so R10 (no new advances while a call is open) holds.
func (b *Book) BuyWithCash(now int64, id ClientID, asset AssetID, qty, cost fixed.Amount) Outcome {
	b.clock(now)
	c := b.client(id)
	if r := b.buyReason(c, asset, qty, cost); r != ReasonOK {
		return reject(r)
	}
	if cost > c.hold[b.assets[asset].Quote] {
		return reject(ReasonInsufficientHolding)
	}
	var out Outcome
	b.settleBuy(&out, c, now, asset, qty, cost)
	b.evaluate(&out, c, now)
	return out
}

// clientAsset is the check every command on one client's asset starts
// with: both must exist.
func (b *Book) clientAsset(c *Client, asset AssetID) Reason {
	switch {
	case c == nil:
		return ReasonUnknownClient
	case !b.known(asset):
		return ReasonUnknownAsset
	}
	return ReasonOK
}

// tradeReason is the check every spot trade starts with: a known client
// and a known asset that is not cash (cash is the other side of a trade).
func (b *Book) tradeReason(c *Client, asset AssetID) Reason {
	switch r := b.clientAsset(c, asset); {
	case r != ReasonOK:
		return r
	case b.assets[asset].Kind == Cash:
		return ReasonBadAsset
	}
	return ReasonOK
}

// buyReason adds what every purchase, margin or fully paid, must also
// pass: only BTC and ETH among virtual assets may be held, and the
// amounts, and the holding after the trade, stay in range. Callers add
// their own last check (margin call, cash on hand) after it, so the
// order in which reasons are reported is the same for both.
func (b *Book) buyReason(c *Client, asset AssetID, qty, cost fixed.Amount) Reason {
	switch r := b.tradeReason(c, asset); {
	case r != ReasonOK:
		return r
	case b.assets[asset].Kind == VirtualAsset && !isEligibleVACode(b.assets[asset].Code):
		return ReasonVANotEligible
	case !validAmount(qty) || !validAmount(cost) || c.hold[asset]+qty > MaxAmount:
		return ReasonBadAmount
	}
	return ReasonOK
}

// settleBuy moves cost of the quote currency to the spot account and qty
// of the asset to the client.
func (b *Book) settleBuy(out *Outcome, c *Client, now int64, asset AssetID, qty, cost fixed.Amount) {
	q := b.assets[asset].Quote
	c.hold[q] -= cost
	c.hold[asset] += qty
	b.post(out, q, move(holdAcct(c.id), -cost), move(spot(), cost))
	b.post(out, asset, move(spot(), -qty), move(holdAcct(c.id), qty))
	b.emit(out, Event{Kind: EvBought, Time: now, Client: c.id, Asset: asset, Currency: q, Qty: qty, Amount: cost})
}

// Assessment returns a client's credit assessment and whether one is on record.
func (b *Book) Assessment(id ClientID) (Assessment, bool) {
	c := b.client(id)
	if c == nil {
		return Assessment{}, false
	}
	return c.assess, c.assessed
}

func (b *Book) buy(now int64, id ClientID, asset AssetID, qty, cost fixed.Amount, dry bool) Outcome {
	b.clock(now)
	c := b.client(id)
	if r := b.buyReason(c, asset, qty, cost); r != ReasonOK {
		return reject(r)
	}
	if c.call.Open {
		return reject(ReasonMarginCallOpen)
	}
	q := b.assets[asset].Quote
	use := min(c.hold[q], cost)
	x := cost - use
	if x > 0 {
		post := b.position(c)
		post.hold[asset] += qty
		post.hold[q] -= use
		post.addLoan(q, x)
		if r := b.checkAdvance(c, now, &post, b.assets[asset].Kind == VirtualAsset); r != ReasonOK {
			return reject(r)
		}
	}
	if dry {
		return Outcome{}
	}
	var out Outcome
	if x > 0 {
		b.draw(&out, c, now, q, x)
		// The share of the quantity bought with borrowed money is the
		// financed part that a close-out sells first.
		c.financed[asset] += fixed.Amount(fixed.MustMulDiv(int64(qty), int64(x), int64(cost), fixed.Floor))
	}
	b.settleBuy(&out, c, now, asset, qty, cost)
	if x > 0 {
		b.afterAdvance(&out, c, now)
	}
	b.evaluate(&out, c, now)
	return out
}

// Sell settles a client's spot sale of qty of asset for proceeds in the
// asset's quote currency; proceeds repay a loan in that currency first.
func (b *Book) Sell(now int64, id ClientID, asset AssetID, qty, proceeds fixed.Amount) Outcome {
	return b.sell(now, id, asset, qty, proceeds, 0)
}

// ApplySale books the fill of a close-out sell instruction (step from the
// plan). It is Sell with the step recorded in the event, so the client's
// statement shows each close-out step.
func (b *Book) ApplySale(now int64, id ClientID, asset AssetID, qty, proceeds fixed.Amount, step CloseOutStep) Outcome {
	if step == 0 || step > StepSecurity {
		return reject(ReasonBadParams)
	}
	return b.sell(now, id, asset, qty, proceeds, step)
}

func (b *Book) sell(now int64, id ClientID, asset AssetID, qty, proceeds fixed.Amount, step CloseOutStep) Outcome {
	b.clock(now)
	c := b.client(id)
	switch r := b.tradeReason(c, asset); {
	case r != ReasonOK:
		return reject(r)
	case !validAmount(qty) || !validAmount(proceeds):
		return reject(ReasonBadAmount)
	case qty > c.hold[asset]:
		return reject(ReasonInsufficientHolding)
	}
	q := b.assets[asset].Quote
	if c.hold[q]+proceeds > MaxAmount+c.loans[q].Balance {
		return reject(ReasonBadAmount)
	}
	var out Outcome
	c.hold[asset] -= qty
	c.financed[asset] -= min(c.financed[asset], qty)
	c.hold[q] += proceeds
	b.post(&out, asset, move(holdAcct(id), -qty), move(spot(), qty))
	b.post(&out, q, move(spot(), -proceeds), move(holdAcct(id), proceeds))
	b.emit(&out, Event{Kind: EvSold, Time: now, Client: id, Asset: asset, Currency: q, Qty: qty, Amount: proceeds, Step: step})
	b.net(&out, c, now, q)
	b.evaluate(&out, c, now)
	b.checkFirmWarning(&out, now)
	return out
}
