package marketdata

import (
	"strconv"

	"github.com/sampan-hk/sampan/core/book"
	"github.com/sampan-hk/sampan/core/engine"
	"github.com/sampan-hk/sampan/core/fixed"
)

// Liquidation read models, fed by the engine's liquidation events
// (docs/liquidation.md):
//
//   - a per-market tape: one entry per liquidation order that filled on the
//     book (at its average price; the fund's work-out orders included), per
//     insurance-fund take-over and per ADL fill (at the bankruptcy price),
//     published unthrottled on the public "liquidations" channel. The
//     public view has no client id: who was liquidated is for operators.
//   - per liquidated account, the chain of one liquidation (start → orders
//     → take-overs / ADL → finish) for operators, with client ids.
//   - the insurance fund's balance after every movement (a bounded ring).
//   - each open position's latest ADL queue quantile, so position stream
//     messages carry it and change when it does.
//
// Everything is bounded by Config (LiquidationsMax, LiqChainsMax,
// LiqChainStepsMax, InsuranceMax); the quantile map holds one entry per
// open position and drops it when the position closes.

// Chain statuses.
const (
	ChainInProgress     = "in_progress"
	ChainMarginRestored = "margin_restored"
	ChainClosedOut      = "closed_out"
	// ChainIncomplete: the read model was rebuilt while the chain ran and
	// the engine had finished it meanwhile; the rest is in the journal.
	ChainIncomplete = "incomplete"
)

// LiquidationView is one public tape entry, like Binance's forceOrder: the
// side is the liquidation order's (sell: a long was liquidated), the price
// the average at which it was done.
type LiquidationView struct {
	ID     string `json:"id"`
	Time   int64  `json:"time"`
	Symbol string `json:"symbol"`
	Side   string `json:"side"`
	Price  string `json:"price"`
	Qty    string `json:"qty"`
}

type liqRec struct {
	id     uint64 // the engine event sequence
	time   int64
	market engine.MarketID
	side   book.Side
	price  fixed.Price
	qty    fixed.Qty
}

// ChainOrder is one liquidation order (IOC) of a chain.
type ChainOrder struct {
	Time        int64  `json:"time"`
	Symbol      string `json:"symbol"`
	Side        string `json:"side"`
	Limit       string `json:"limit_price"`
	Qty         string `json:"qty"`
	Filled      string `json:"filled"`
	AvgPrice    string `json:"avg_price,omitempty"`
	Bankruptcy  string `json:"bankruptcy_price"`
	Notional    string `json:"filled_notional"`
	Fee         string `json:"fee"`
	EquityAfter string `json:"equity_after"`
	MMAfter     string `json:"maintenance_margin_after"`
}

// ChainTakeover is what the insurance fund took over at the bankruptcy
// price.
type ChainTakeover struct {
	Time     int64  `json:"time"`
	Symbol   string `json:"symbol"`
	Side     string `json:"side"` // the liquidated position's closing side
	Price    string `json:"price"`
	Qty      string `json:"qty"`
	FundLoss string `json:"fund_loss_at_mark"` // signed; < 0: a gain
	Fund     string `json:"fund_balance"`
}

// ChainADL is one counterparty's position closed by auto-deleveraging.
type ChainADL struct {
	Time         int64  `json:"time"`
	Symbol       string `json:"symbol"`
	Counterparty string `json:"counterparty_client_id"`
	Side         string `json:"side"` // the liquidated position's closing side
	Price        string `json:"price"`
	Qty          string `json:"qty"`
	Quantile     uint8  `json:"counterparty_quantile"`
}

// ChainEnd is the account at the end of its liquidation.
type ChainEnd struct {
	Equity     string `json:"equity"`
	MM         string `json:"maintenance_margin"`
	Collateral string `json:"collateral"`
}

// LiquidationChain is one account's liquidation from start to finish, for
// operators.
type LiquidationChain struct {
	ID          string          `json:"id"` // the liquidation_started event's sequence
	ClientID    string          `json:"client_id"`
	Status      string          `json:"status"`
	Started     int64           `json:"started"`
	Finished    int64           `json:"finished,omitempty"`
	Symbol      string          `json:"symbol"` // the riskiest position's market
	TriggerMark string          `json:"trigger_mark"`
	Equity      string          `json:"equity"`
	MM          string          `json:"maintenance_margin"`
	Collateral  string          `json:"collateral"`
	Orders      []ChainOrder    `json:"orders"`
	Takeovers   []ChainTakeover `json:"takeovers"`
	Deleveraged []ChainADL      `json:"deleveraged"`
	// Totals over the whole chain, including steps dropped by the limit.
	Filled       string    `json:"filled_notional"`
	Fees         string    `json:"fees"`
	Covered      string    `json:"covered_by_fund"`
	VenueCovered string    `json:"covered_by_venue"`
	End          *ChainEnd `json:"end,omitempty"`
	// Truncated counts orders, take-overs and ADL fills not listed because
	// the chain reached Config.LiqChainStepsMax.
	Truncated int `json:"truncated_steps"`
}

type chainRec struct {
	client                         engine.ClientID
	market                         engine.MarketID
	v                              LiquidationChain
	filled, fees, covered, byVenue fixed.Amount
}

// InsurancePoint is the fund's balance after one movement.
type InsurancePoint struct {
	Seq      uint64 `json:"seq"`
	Time     int64  `json:"time"`
	Balance  string `json:"balance"`
	Amount   string `json:"amount,omitempty"` // signed, into the fund; "" when not known
	Reason   string `json:"reason"`
	ClientID string `json:"client_id,omitempty"`
}

type fundPoint struct {
	seq     uint64
	time    int64
	balance fixed.Amount
	amount  fixed.Amount
	known   bool // amount is exact (false: only the balance is)
	reason  string
	client  engine.ClientID
}

var fundReasons = [...]string{"?", "fee", "cover", "deposit", "venue"}

func fundReason(f uint8) string {
	if int(f) < len(fundReasons) {
		return fundReasons[f]
	}
	return "?"
}

type posKey struct {
	client engine.ClientID
	market engine.MarketID
}

// posRec is the last position event of an open position and its latest
// ADL quantile (0: not ranked yet).
type posRec struct {
	ev       engine.Event // EvPosition; Kind 0 when none was seen since the store started
	quantile uint8
}

func (s *Store) usd(a fixed.Amount) string { return s.specs[0].Spec.FormatAmount(a) }

// avgPrice is notional / (qty × K), to the nearest tick (display only).
func avgPrice(sp *fixed.Spec, notional fixed.Amount, qty fixed.Qty) fixed.Price {
	q := int64(qty)
	if q <= 0 || notional <= 0 {
		return 0
	}
	v, err := fixed.MulDiv(int64(notional), 1, q*sp.NotionalPerLotTick(), fixed.Floor)
	if err != nil {
		return 0
	}
	return fixed.Price(v)
}

// liquidationEvent applies one of the liquidation events (23–29) and
// returns a client whose account it changed (0: none).
func (s *Store) liquidationEvent(ev *engine.Event) engine.ClientID {
	if ev.Kind != engine.EvInsuranceFund && ev.Kind != engine.EvLiquidationFinished && int(ev.Market) >= len(s.markets) {
		return 0
	}
	switch ev.Kind {
	case engine.EvLiquidationStarted:
		sp := &s.specs[ev.Market].Spec
		c := &chainRec{client: ev.Client, market: ev.Market, v: LiquidationChain{ID: strconv.FormatUint(ev.Seq, 10),
			ClientID: strconv.FormatUint(uint64(ev.Client), 10), Status: ChainInProgress, Started: ms(ev.Time),
			Symbol: s.specs[ev.Market].Symbol, TriggerMark: px(sp, ev.Price), Equity: s.usd(ev.Equity), MM: s.usd(ev.Margin),
			Collateral: s.usd(ev.Balance), Orders: []ChainOrder{}, Takeovers: []ChainTakeover{}, Deleveraged: []ChainADL{}}}
		s.liqActive[ev.Client] = c
		s.liqChains.push(c)
		return ev.Client
	case engine.EvLiquidationOrder:
		s.liquidationOrder(ev)
		return ev.Client
	case engine.EvInsuranceTakeover:
		// The fund's side is ev.Side; the liquidated position closes the
		// other way.
		side := ev.Side.Opposite()
		s.tape(ev, side, ev.Price, ev.Qty)
		s.fund.push(fundPoint{seq: ev.Seq, time: ev.Time, balance: ev.Balance, reason: "takeover", client: ev.Client})
		if c := s.liqActive[ev.Client]; c != nil {
			sp := &s.specs[ev.Market].Spec
			if s.chainRoom(c) {
				c.v.Takeovers = append(c.v.Takeovers, ChainTakeover{Time: ms(ev.Time), Symbol: s.specs[ev.Market].Symbol,
					Side: side.String(), Price: sp.FormatPrice(ev.Price), Qty: sp.FormatQty(ev.Qty), FundLoss: s.usd(ev.Amount),
					Fund: s.usd(ev.Balance)})
			}
		}
		return ev.Client
	case engine.EvDeleveraged:
		// Client is the counterparty; MakerClient the liquidated account
		// (0: the fund's own position). ev.Side is the counterparty's.
		side := ev.Side.Opposite()
		s.tape(ev, side, ev.Price, ev.Qty)
		if c := s.liqActive[ev.MakerClient]; c != nil && ev.MakerClient != 0 {
			sp := &s.specs[ev.Market].Spec
			if s.chainRoom(c) {
				c.v.Deleveraged = append(c.v.Deleveraged, ChainADL{Time: ms(ev.Time), Symbol: s.specs[ev.Market].Symbol,
					Counterparty: strconv.FormatUint(uint64(ev.Client), 10), Side: side.String(), Price: sp.FormatPrice(ev.Price),
					Qty: sp.FormatQty(ev.Qty), Quantile: ev.Quantile})
			}
		}
		s.fan.touchAccount(ev.MakerClient) // the liquidated account changed too
		return ev.Client
	case engine.EvInsuranceFund:
		s.fund.push(fundPoint{seq: ev.Seq, time: ev.Time, balance: ev.Balance, amount: ev.Amount, known: ev.Flags != engine.FundVenue || ev.Client == 0,
			reason: fundReason(ev.Flags), client: ev.Client})
		if ev.Flags == engine.FundVenue && ev.Client != 0 {
			// The venue paid the client, not the fund: the fund's balance
			// did not move, the point only records the event.
			if c := s.liqActive[ev.Client]; c != nil {
				c.byVenue += ev.Amount
			}
		} else if ev.Flags == engine.FundCover {
			if c := s.liqActive[ev.Client]; c != nil {
				c.covered -= ev.Amount
			}
		}
		return ev.Client
	case engine.EvLiquidationFinished:
		if c := s.liqActive[ev.Client]; c != nil {
			c.v.Status = ChainClosedOut
			if ev.Flag {
				c.v.Status = ChainMarginRestored
			}
			c.v.Finished = ms(ev.Time)
			c.v.End = &ChainEnd{Equity: s.usd(ev.Equity), MM: s.usd(ev.Margin), Collateral: s.usd(ev.Balance)}
			delete(s.liqActive, ev.Client)
		}
		return ev.Client
	case engine.EvAdlQuantile:
		k := posKey{ev.Client, ev.Market}
		p := s.positions[k]
		if p == nil {
			p = &posRec{}
			s.positions[k] = p
		}
		p.quantile = ev.Quantile
		if p.ev.Kind == engine.EvPosition {
			pe := p.ev
			pe.Time = ev.Time
			s.fan.publish(topic{ch: ChanPositions, client: ev.Client}, func() []byte { return s.positionMsg(&pe, p.quantile) })
		}
	}
	return 0
}

// chainRoom reports whether c may list one more step, counting the ones
// it may not.
func (s *Store) chainRoom(c *chainRec) bool {
	if len(c.v.Orders)+len(c.v.Takeovers)+len(c.v.Deleveraged) < s.cfg.LiqChainStepsMax {
		return true
	}
	c.v.Truncated++
	return false
}

func (s *Store) liquidationOrder(ev *engine.Event) {
	sp := &s.specs[ev.Market].Spec
	filled := ev.Qty - ev.Remaining
	avg := avgPrice(sp, ev.Cost, filled)
	if filled > 0 {
		s.tape(ev, ev.Side, avg, filled)
	}
	if ev.Client == 0 {
		// The fund's workout of a position it took over: its realized
		// PnL moved the fund's balance.
		if filled > 0 {
			s.fund.push(fundPoint{seq: ev.Seq, time: ev.Time, balance: ev.Balance, reason: "workout"})
		}
		return
	}
	c := s.liqActive[ev.Client]
	if c == nil {
		return
	}
	c.filled += ev.Cost
	c.fees += ev.Amount
	if !s.chainRoom(c) {
		return
	}
	c.v.Orders = append(c.v.Orders, ChainOrder{Time: ms(ev.Time), Symbol: s.specs[ev.Market].Symbol, Side: ev.Side.String(),
		Limit: sp.FormatPrice(ev.Price), Qty: sp.FormatQty(ev.Qty), Filled: sp.FormatQty(filled), AvgPrice: px(sp, avg),
		Bankruptcy: px(sp, ev.LiqPrice), Notional: sp.FormatAmount(ev.Cost), Fee: sp.FormatAmount(ev.Amount),
		EquityAfter: s.usd(ev.Equity), MMAfter: s.usd(ev.Margin)})
}

// tape records one liquidation on its market's tape and publishes it.
func (s *Store) tape(ev *engine.Event, side book.Side, price fixed.Price, qty fixed.Qty) {
	m := s.markets[ev.Market]
	r := liqRec{id: ev.Seq, time: ev.Time, market: ev.Market, side: side, price: price, qty: qty}
	m.liqs.push(r)
	s.fan.publish(topic{ch: ChanLiquidations, market: m.id}, func() []byte {
		return encode(Message{Channel: ChanLiquidations.String(), Symbol: m.spec.Symbol, Data: m.liqView(&r)})
	})
}

func (m *market) liqView(r *liqRec) LiquidationView {
	sp := &m.spec.Spec
	return LiquidationView{ID: strconv.FormatUint(r.id, 10), Time: ms(r.time), Symbol: m.spec.Symbol, Side: r.side.String(),
		Price: px(sp, r.price), Qty: sp.FormatQty(r.qty)}
}

// positionEvent keeps the last position event of an open position (for
// the quantile's stream messages) and publishes it with the quantile.
func (s *Store) positionEvent(ev *engine.Event) {
	k := posKey{ev.Client, ev.Market}
	p := s.positions[k]
	if ev.Size == 0 {
		// Closed: the engine drops its quantile at the next publication.
		delete(s.positions, k)
		s.fan.publish(topic{ch: ChanPositions, client: ev.Client}, func() []byte { return s.positionMsg(ev, 0) })
		return
	}
	if p == nil {
		p = &posRec{}
		s.positions[k] = p
	}
	p.ev = *ev
	p.ev.Detail = nil
	s.fan.publish(topic{ch: ChanPositions, client: ev.Client}, func() []byte { return s.positionMsg(ev, p.quantile) })
}

// resyncLiquidations runs after a rebuild (caller holds mu): chains whose
// end the store missed are marked incomplete, and the kept positions take
// the engine's current size and quantile (closed ones are dropped), since
// the engine publishes a quantile only when it changes.
func (s *Store) resyncLiquidations(queued map[engine.ClientID]bool, open map[posKey]engine.PositionView) {
	for id, c := range s.liqActive {
		if !queued[id] {
			c.v.Status = ChainIncomplete
			delete(s.liqActive, id)
		}
	}
	for k, p := range s.positions {
		pv, ok := open[k]
		if !ok {
			delete(s.positions, k)
			continue
		}
		p.quantile = pv.AdlQuantile
		p.ev = engine.Event{Kind: engine.EvPosition, Client: k.client, Market: k.market, Size: pv.Size, Cost: pv.Cost,
			Realized: pv.Realized, Price: pv.Mark, LiqPrice: pv.LiqPrice}
	}
}

// Liquidations returns a market's public liquidation tape, newest first.
func (s *Store) Liquidations(m engine.MarketID, limit int) []LiquidationView {
	s.mu.RLock()
	defer s.mu.RUnlock()
	mk := s.markets[m]
	n := clamp(limit, mk.liqs.n)
	out := make([]LiquidationView, 0, n)
	for i := 0; i < n; i++ {
		out = append(out, mk.liqView(mk.liqs.at(i)))
	}
	return out
}

// ChainFilter selects liquidation chains; zero fields match all.
type ChainFilter struct {
	Client engine.ClientID
	Market engine.MarketID
	ByMkt  bool // Market is set
}

// LiquidationChains returns the kept liquidation chains, newest first,
// deep-copied so the caller may keep them.
func (s *Store) LiquidationChains(f ChainFilter, limit int) []LiquidationChain {
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := []LiquidationChain{}
	for i := 0; i < s.liqChains.n && (limit <= 0 || len(out) < limit); i++ {
		c := *s.liqChains.at(i)
		if (f.Client != 0 && c.client != f.Client) || (f.ByMkt && !c.touches(f.Market, s.specs)) {
			continue
		}
		v := c.v
		v.Orders = append([]ChainOrder{}, v.Orders...)
		v.Takeovers = append([]ChainTakeover{}, v.Takeovers...)
		v.Deleveraged = append([]ChainADL{}, v.Deleveraged...)
		if v.End != nil {
			e := *v.End
			v.End = &e
		}
		v.Filled, v.Fees, v.Covered, v.VenueCovered = s.usd(c.filled), s.usd(c.fees), s.usd(c.covered), s.usd(c.byVenue)
		out = append(out, v)
	}
	return out
}

// touches reports whether the chain started in market m or did anything
// there.
func (c *chainRec) touches(m engine.MarketID, specs []engine.MarketSpec) bool {
	if c.market == m {
		return true
	}
	sym := specs[m].Symbol
	for _, o := range c.v.Orders {
		if o.Symbol == sym {
			return true
		}
	}
	for _, o := range c.v.Takeovers {
		if o.Symbol == sym {
			return true
		}
	}
	for _, o := range c.v.Deleveraged {
		if o.Symbol == sym {
			return true
		}
	}
	return false
}

// InsuranceHistory returns up to limit of the newest fund balance points,
// oldest first (ready to chart).
func (s *Store) InsuranceHistory(limit int) []InsurancePoint {
	s.mu.RLock()
	defer s.mu.RUnlock()
	n := clamp(limit, s.fund.n)
	out := make([]InsurancePoint, 0, n)
	for i := n - 1; i >= 0; i-- {
		p := s.fund.at(i)
		v := InsurancePoint{Seq: p.seq, Time: ms(p.time), Balance: s.usd(p.balance), Reason: p.reason}
		if p.known {
			v.Amount = s.usd(p.amount)
		}
		if p.client != 0 {
			v.ClientID = strconv.FormatUint(uint64(p.client), 10)
		}
		out = append(out, v)
	}
	return out
}

// AdlQuantile returns the latest ADL quantile the store saw for a
// client's position (0: none yet).
func (s *Store) AdlQuantile(c engine.ClientID, m engine.MarketID) uint8 {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if p := s.positions[posKey{c, m}]; p != nil {
		return p.quantile
	}
	return 0
}
