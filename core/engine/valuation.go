package engine

import (
	"github.com/sampan-hk/sampan/core/book"
	"github.com/sampan-hk/sampan/core/fixed"
	"github.com/sampan-hk/sampan/core/funding"
	"github.com/sampan-hk/sampan/core/ledger"
	"github.com/sampan-hk/sampan/core/oracle"
)

// Valuation: index, mark and funding in the engine (docs/methodology.md
// states the formulas; core/oracle and core/funding compute them).
//
// Prices reach the engine as Quote commands (one venue's last price for an
// underlying, in the market's ticks, with the venue's observation time),
// and the sequencer sends a Tick every second so that time alone (a quote
// going stale, a minute passing, a funding boundary) takes effect.
//
// On each Quote (for its underlying) and each Tick (for every underlying
// with feeds), in this order:
//  1. the index is recomputed (staleness, deviation, weighted median,
//     change bound) → EvIndex and one EvIndexSource per constituent;
//  2. the market's mode follows the index's health: fewer than the minimum
//     sources makes the market reduce-only (orders and amends that could
//     increase a position are rejected with CodeMarketReduceOnly; resting
//     orders stay) and pauses liquidations (LiquidationsPaused) → an
//     EvMarketMode on every change;
//  3. the mark is recomputed from the index, the last settled funding rate
//     and the time to the next settlement, the book's mid and the last
//     trade, clamped to the band around the index → EvMark; the book's
//     price band is re-centred on the new mark;
//  4. once per sample period (a minute) a premium sample is taken from the
//     impact bid/ask of the book at the market's impact notional →
//     EvFundingSample.
//
// Funding settles on interval boundaries (multiples of the interval since
// the epoch: hourly on the UTC hour). The first command stamped at or after
// a boundary, whatever its kind, settles first, before it runs (as PI
// expiries do): the interval's samples fix the rate (capped at
// CapFactor × (IMR − MMR) of the first tier), every position pays or
// receives |size| × mark × rate × interval / 8 h through one balanced
// ledger posting, payers rounded up, receivers down, the residue to the
// rounding account → EvFundingRate, then one EvFundingPayment per
// position. If commands stop across several boundaries (the 1 s tick makes
// that an outage), the missed intervals are settled once, at the first
// command after them.
//
// Manual mode. A market whose underlying has never received a quote is
// valued by SetMark alone (tests, the demo, and operations before feeds are
// wired): no index, no reduce-only gate, no funding. The first quote
// switches the underlying to oracle mode for good; from then on each
// index update recomputes the mark. SetMark still works there as an
// operator override: it sets the mark (and band) at once, and the next
// Quote or Tick replaces it with the oracle's mark. Only oracle marks are
// held to the "mark inside its band" invariant.

// FundingHistoryMax is how many settled funding rates a market keeps for
// queries (named limit): a week of hourly settlements.
const FundingHistoryMax = 168

// Valuation is the detail of a valuation event. Which fields are set
// depends on the event kind (see event.go); the rest are zero.
type Valuation struct {
	At int64 // index, mark: computation time; source: observation time; funding: settlement boundary

	// Index.
	Reference fixed.Price // weighted median of the fresh quotes
	Median    fixed.Price // weighted median of the included quotes, before the change bound
	Wanted    fixed.Price // the median a change bound held back (0: not bounded)
	Fresh     uint16
	Included  uint16
	Healthy   bool
	Bounded   bool

	// Index source (constituent).
	Source     oracle.SourceID
	Excluded   oracle.Exclusion
	Weight     uint32
	WeightUsed uint32
	Age        int64
	Deviation  fixed.Ppm

	// Mark inputs and intermediates.
	Index         fixed.Price
	Rate          funding.Rate // mark: the funding rate used; payment: the settled rate; sample: the premium
	TimeToFunding int64
	Mid           fixed.Price
	HasMid        bool
	Last          fixed.Price
	HasLast       bool
	FundingPrice  fixed.Price
	BasisAverage  fixed.Price
	BasisSamples  uint32
	SampleAdded   bool
	BasisPrice    fixed.Price
	LastPrice     fixed.Price
	MarkMedian    fixed.Price
	BandLow       fixed.Price
	BandHigh      fixed.Price
	Clamped       bool

	// Funding sample.
	ImpactBid fixed.Price
	HasBid    bool
	ImpactAsk fixed.Price
	HasAsk    bool

	// Funding rate (funding.RateResult) and settlement totals.
	Samples    uint32
	PremiumSum funding.Rate
	AvgPremium funding.Rate
	Interest   funding.Rate
	Adjustment funding.Rate
	Uncapped   funding.Rate
	Cap        funding.Rate
	Capped     bool
	Interval   int64
	Paid       fixed.Amount
	Received   fixed.Amount
	Residue    fixed.Amount

	// Funding payment.
	Notional fixed.Amount
}

// FundingRecord is one settled interval, kept for queries.
type FundingRecord struct {
	At         int64 // the boundary
	Rate       funding.Rate
	AvgPremium funding.Rate
	Samples    uint32
	Capped     bool
	Mark       fixed.Price
	Paid       fixed.Amount
	Received   fixed.Amount
	Residue    fixed.Amount
}

// underlying is one index and the markets valued on it.
type underlying struct {
	name    string
	index   *oracle.Index
	live    bool          // has had a quote: the oracle drives its markets
	last    oracle.Result // the last computation, for queries
	markets []MarketID
	// finAsset is the lending asset priced by this index (-1: none) and
	// finScale its quote minor units per tick (financing.go).
	finAsset int
	finScale int64
}

// valuation is a market's oracle and funding state.
type valuation struct {
	ul          int
	mark        *oracle.Mark
	sampler     *funding.Sampler
	capRate     funding.Rate
	rate        funding.Rate // settled at the last boundary, per 8 h
	nextFunding int64        // next boundary; 0 in manual mode
	lastTrade   fixed.Price  // 0 before the first trade
	markRes     oracle.MarkResult
	oracleMark  bool // the current mark is the oracle's (not a SetMark override)
	reduceOnly  bool // the mode last announced by EvMarketMode
	hist        [FundingHistoryMax]FundingRecord
	histHead    int
	histN       int
}

// noDue is "no funding boundary pending".
const noDue = int64(1<<63 - 1)

// buildValuation sets up indexes and per-market valuation state.
func (e *Engine) buildValuation() {
	for i := range e.markets {
		m := &e.markets[i]
		ul := -1
		for j := range e.unders {
			if e.unders[j].name == m.spec.Underlying {
				ul = j
			}
		}
		if ul < 0 {
			ix, err := oracle.NewIndex(e.cfg.Oracle, e.cfg.Sources)
			if err != nil {
				panic("engine: validated oracle config refused: " + err.Error())
			}
			e.unders = append(e.unders, underlying{name: m.spec.Underlying, index: ix, finAsset: -1})
			ul = len(e.unders) - 1
		}
		e.unders[ul].markets = append(e.unders[ul].markets, m.id)
		mk, err1 := oracle.NewMark(e.cfg.Mark)
		sm, err2 := funding.NewSampler(e.cfg.Funding)
		var capRate funding.Rate
		var err3 error
		if m.spec.Kind == Perpetual {
			b0 := &m.spec.Brackets[0]
			capRate, err3 = funding.Cap(fixed.PpmOne/fixed.Ppm(b0.MaxLeverage), b0.MMR, e.cfg.Funding.CapFactor)
		}
		if err1 != nil || err2 != nil || err3 != nil {
			panic("engine: validated valuation config refused")
		}
		m.val = valuation{ul: ul, mark: mk, sampler: sm, capRate: capRate}
	}
	e.nextDue = noDue
}

// LiquidationsPaused reports whether liquidations must not run in a market:
// its index is unhealthy (too few fresh or agreeing venues), so neither the
// mark nor the index can be trusted to decide that an account is
// under-margined. The liquidation engine must check it before acting.
func (e *Engine) LiquidationsPaused(m MarketID) bool { return e.marketReduceOnly(&e.markets[m]) }

// MarketReduceOnly reports whether a market only accepts orders that do
// not increase a position (its index is unhealthy).
func (e *Engine) MarketReduceOnly(m MarketID) bool { return e.marketReduceOnly(&e.markets[m]) }

func (e *Engine) marketReduceOnly(m *market) bool {
	u := &e.unders[m.val.ul]
	return u.live && u.index.ReduceOnly()
}

func (e *Engine) quote(cmd *Command) Result {
	if int(cmd.Market) >= len(e.markets) {
		return Result{Code: CodeUnknownMarket}
	}
	m := &e.markets[cmd.Market]
	if cmd.Price <= 0 || cmd.Price > m.spec.Spec.MaxPrice {
		return Result{Code: CodeInvalidPrice}
	}
	u := &e.unders[m.val.ul]
	// Update checks the source before changing anything; an older quote
	// than the one held is ignored but the index is still recomputed (time
	// moved).
	if _, err := u.index.Update(oracle.Quote{Source: oracle.SourceID(cmd.Source), Price: cmd.Price, Time: cmd.Observed}, e.now); err != nil {
		return Result{Code: CodeUnknownSource}
	}
	if !u.live {
		u.live = true
		for _, id := range u.markets {
			if e.markets[id].spec.Kind == Spot {
				continue // no funding on spot
			}
			mv := &e.markets[id].val
			mv.nextFunding = funding.NextSettlement(e.now, e.cfg.Funding.Interval)
			e.nextDue = min(e.nextDue, mv.nextFunding)
		}
	}
	e.revalue(u)
	return Result{}
}

func (e *Engine) tick() Result {
	for i := range e.unders {
		if e.unders[i].live {
			e.revalue(&e.unders[i])
		}
	}
	e.fundWorkout() // liquidate.go
	if e.now >= e.adlNext {
		e.publishAdl()
	}
	return Result{}
}

// revalue recomputes an underlying's index and, for each of its markets,
// the mode, the mark, the band and (once a minute) a premium sample.
func (e *Engine) revalue(u *underlying) {
	res := u.index.Compute(e.now)
	u.last = res
	wanted := fixed.Price(0)
	for _, x := range res.Events {
		if x.Kind == oracle.ChangeBounded {
			wanted = x.Wanted
		}
	}
	for _, id := range u.markets {
		m := &e.markets[id]
		e.emit(Event{Kind: EvIndex, Market: id, Price: res.Price, Flag: res.Healthy, Detail: &Valuation{At: res.Time,
			Reference: res.Reference, Median: res.Median, Wanted: wanted, Fresh: uint16(res.Fresh), Included: uint16(res.Included),
			Healthy: res.Healthy, Bounded: res.Bounded}})
		for _, c := range res.Constituents {
			e.emit(Event{Kind: EvIndexSource, Market: id, Price: c.Price, Detail: &Valuation{At: c.ObservedAt, Source: c.Source,
				Age: c.Age, Weight: c.Weight, WeightUsed: c.WeightUsed, Deviation: c.Deviation, Excluded: c.Excluded}})
		}
		if ro := e.marketReduceOnly(m); ro != m.val.reduceOnly {
			m.val.reduceOnly = ro
			e.emit(Event{Kind: EvMarketMode, Market: id, Flag: ro, Detail: &Valuation{At: e.now, Fresh: uint16(res.Fresh), Included: uint16(res.Included)}})
		}
		if !res.Valid {
			continue // no index yet: the mark stays as it is
		}
		if m.spec.Kind == Spot {
			// A spot book's band follows the index itself: no funding,
			// no basis, no mark of its own.
			m.mark = min(max(res.Price, 1), m.spec.Spec.MaxPrice)
			m.book.SetBand(m.mark, m.spec.BandPpm)
			continue
		}
		e.computeMark(m, res.Price)
		e.samplePremium(m, res.Price)
	}
	if res.Valid && res.Healthy {
		e.forwardIndex(u, res.Price)
	}
}

func (e *Engine) computeMark(m *market, index fixed.Price) {
	in := oracle.MarkInputs{Time: e.now, Index: index, FundingRate: m.val.rate, TimeToFunding: max(m.val.nextFunding-e.now, 0),
		Last: m.val.lastTrade, HasLast: m.val.lastTrade > 0}
	bid, _, okb := m.book.Best(book.Buy)
	ask, _, oka := m.book.Best(book.Sell)
	if okb && oka {
		in.Mid, in.HasMid = bid+(ask-bid)/2, true
	}
	r, err := m.val.mark.Compute(in)
	if err != nil {
		// Inputs are validated prices and monotone engine time.
		panic("engine: mark computation refused its inputs: " + err.Error())
	}
	// The band is around an index ≤ MaxPrice; its top may pass MaxPrice,
	// and no order can be priced above it anyway.
	mark := min(max(r.Mark, 1), m.spec.Spec.MaxPrice)
	m.mark, m.val.markRes, m.val.oracleMark = mark, r, true
	m.book.SetBand(mark, m.spec.BandPpm)
	e.markMoved(m)
	e.emit(Event{Kind: EvMark, Market: m.id, Price: mark, Detail: &Valuation{At: e.now, Index: in.Index, Rate: in.FundingRate,
		TimeToFunding: in.TimeToFunding, Mid: in.Mid, HasMid: in.HasMid, Last: in.Last, HasLast: in.HasLast,
		FundingPrice: r.FundingPrice, BasisAverage: r.BasisAverage, BasisSamples: uint32(r.BasisSamples), SampleAdded: r.SampleAdded,
		BasisPrice: r.BasisPrice, LastPrice: r.LastPrice, MarkMedian: r.Median, BandLow: r.BandLow, BandHigh: r.BandHigh, Clamped: r.Clamped}})
}

// samplePremium takes this minute's premium sample if it is not taken yet.
func (e *Engine) samplePremium(m *market, index fixed.Price) {
	st := m.val.sampler.State()
	if st.HasPeriod && floorDiv(e.now, e.cfg.Funding.SamplePeriod) <= st.LastPeriod {
		return
	}
	bid, hasBid := e.impact(m, book.Buy)
	ask, hasAsk := e.impact(m, book.Sell)
	s, ok, err := m.val.sampler.Sample(e.now, bid, hasBid, ask, hasAsk, index)
	if err != nil {
		panic("engine: premium sample refused: " + err.Error())
	}
	if ok {
		e.emit(Event{Kind: EvFundingSample, Market: m.id, Detail: &Valuation{At: e.now, Index: s.Index, ImpactBid: s.ImpactBid,
			HasBid: s.HasBid, ImpactAsk: s.ImpactAsk, HasAsk: s.HasAsk, Rate: s.Premium}})
	}
}

// impact walks one side of the book for the market's impact notional,
// reading more levels until it is filled or the side is exhausted.
func (e *Engine) impact(m *market, s book.Side) (fixed.Price, bool) {
	side := funding.Bid
	if s == book.Sell {
		side = funding.Ask
	}
	for n := 32; ; n *= 2 {
		e.depth = m.book.Depth(s, n, e.depth[:0])
		e.flevels = e.flevels[:0]
		for _, lv := range e.depth {
			e.flevels = append(e.flevels, funding.Level{Price: lv.Price, Qty: lv.Qty})
		}
		p, ok, err := funding.ImpactPrice(&m.spec.Spec, e.flevels, m.spec.ImpactNotional, side)
		if err != nil {
			panic("engine: impact price refused the book's depth: " + err.Error())
		}
		if ok || len(e.depth) < n {
			return p, ok
		}
	}
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && (a < 0) != (b < 0) {
		q--
	}
	return q
}

// settleDue settles funding in every market whose boundary has passed.
func (e *Engine) settleDue() {
	e.nextDue = noDue
	for i := range e.markets {
		m := &e.markets[i]
		if m.val.nextFunding == 0 {
			continue
		}
		if m.val.nextFunding <= e.now {
			e.settleFunding(m)
		}
		e.nextDue = min(e.nextDue, m.val.nextFunding)
	}
}

// settleFunding closes the interval that ended at m.val.nextFunding.
func (e *Engine) settleFunding(m *market) {
	at := m.val.nextFunding
	interval := e.cfg.Funding.Interval
	rr := m.val.sampler.Close(m.val.capRate)
	m.val.rate = rr.Rate
	m.val.nextFunding = funding.NextSettlement(e.now, interval)
	rec := FundingRecord{At: at, Rate: rr.Rate, AvgPremium: rr.AvgPremium, Samples: uint32(rr.Samples), Capped: rr.Capped, Mark: m.mark}
	d := &Valuation{At: at, Interval: interval, Rate: rr.Rate, Samples: uint32(rr.Samples), PremiumSum: rr.PremiumSum,
		AvgPremium: rr.AvgPremium, Interest: rr.Interest, Adjustment: rr.Adjustment, Uncapped: rr.Uncapped, Cap: rr.Cap, Capped: rr.Capped}
	var s funding.Settlement
	if m.mark > 0 {
		e.fpos = e.fpos[:0]
		for c := 0; c < len(e.clients); c++ { // client 0: the insurance fund's positions
			if sz := e.line(ClientID(c), m.id).Size; sz != 0 {
				e.fpos = append(e.fpos, funding.Position{Account: uint32(c), Size: sz})
			}
		}
		var err error
		s, err = funding.Settle(&m.spec.Spec, e.fpos, m.mark, rr.Rate, interval)
		if err != nil {
			panic("engine: funding settlement refused: " + err.Error()) // open interest is symmetric by invariant
		}
		e.legs = e.legs[:0]
		for _, p := range s.Payments {
			if p.Amount != 0 {
				e.legs = append(e.legs, ledger.Leg{Account: e.clients[p.Account].deriv, Amount: p.Amount})
			}
		}
		if s.Residue != 0 {
			e.legs = append(e.legs, ledger.Leg{Account: ledger.Rounding, Amount: s.Residue})
		}
		if len(e.legs) > 0 {
			e.led.Post(ledger.USD, e.legs...) // panics unless Σ payments + residue = 0
		}
		rec.Paid, rec.Received, rec.Residue = s.Paid, s.Received, s.Residue
		d.Paid, d.Received, d.Residue = s.Paid, s.Received, s.Residue
	}
	e.emit(Event{Kind: EvFundingRate, Market: m.id, Price: m.mark, Detail: d})
	for _, p := range s.Payments {
		c := ClientID(p.Account)
		e.emit(Event{Kind: EvFundingPayment, Market: m.id, Client: c, Size: p.Size, Amount: p.Amount, Price: m.mark,
			Balance: e.led.Balance(ledger.USD, e.clients[c].deriv), Detail: &Valuation{At: at, Rate: rr.Rate, Notional: p.Notional}})
		if p.Amount < 0 {
			e.reindex(c) // a payer's slack shrank
		}
	}
	v := &m.val
	if v.histN == FundingHistoryMax {
		v.hist[v.histHead] = rec
		v.histHead = (v.histHead + 1) % FundingHistoryMax
	} else {
		v.hist[(v.histHead+v.histN)%FundingHistoryMax] = rec
		v.histN++
	}
}

// IndexView explains a market's index: the last computation with every
// constituent.
type IndexView struct {
	Market     MarketID
	Underlying string
	Live       bool // feeds have quoted; false: manual mode (SetMark only)
	ReduceOnly bool // the market's mode
	oracle.Result
}

// Index returns the explanation of a market's last index computation.
func (e *Engine) Index(id MarketID) (IndexView, bool) {
	if int(id) >= len(e.markets) {
		return IndexView{}, false
	}
	m := &e.markets[id]
	u := &e.unders[m.val.ul]
	v := IndexView{Market: id, Underlying: u.name, Live: u.live, ReduceOnly: e.marketReduceOnly(m), Result: u.last}
	v.Constituents = append([]oracle.Constituent(nil), u.last.Constituents...)
	v.Events = append([]oracle.Event(nil), u.last.Events...)
	return v, true
}

// MarkView is a market's mark with the inputs of its last oracle
// computation.
type MarkView struct {
	Market MarketID
	Mark   fixed.Price
	// Oracle is false when the mark was set by SetMark (manual mode or an
	// operator override); Inputs is then the last oracle computation, if any.
	Oracle bool
	oracle.MarkResult
}

// MarkInputs returns a market's mark and the inputs it was computed from.
func (e *Engine) MarkInputs(id MarketID) (MarkView, bool) {
	if int(id) >= len(e.markets) {
		return MarkView{}, false
	}
	m := &e.markets[id]
	return MarkView{Market: id, Mark: m.mark, Oracle: m.val.oracleMark, MarkResult: m.val.markRes}, true
}

// FundingView is a market's funding state.
type FundingView struct {
	Market    MarketID
	Live      bool
	Interval  int64
	Next      int64        // next settlement time; 0 in manual mode
	Rate      funding.Rate // settled at the last boundary, per 8 h (used by the mark)
	Predicted funding.RateResult
	History   []FundingRecord // oldest first, at most FundingHistoryMax
}

// Funding returns a market's funding state and its settled-rate history.
func (e *Engine) Funding(id MarketID) (FundingView, bool) {
	if int(id) >= len(e.markets) {
		return FundingView{}, false
	}
	m := &e.markets[id]
	v := &m.val
	f := FundingView{Market: id, Live: e.unders[v.ul].live, Interval: e.cfg.Funding.Interval, Next: v.nextFunding,
		Rate: v.rate, Predicted: v.sampler.Predicted(v.capRate)}
	for i := 0; i < v.histN; i++ {
		f.History = append(f.History, v.hist[(v.histHead+i)%FundingHistoryMax])
	}
	return f, true
}
