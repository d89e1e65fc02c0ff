package marketdata

import (
	"github.com/sampan-hk/sampan/core/engine"
	"github.com/sampan-hk/sampan/core/fixed"
	"github.com/sampan-hk/sampan/core/funding"
)

// Valuation events (index, oracle mark, funding) become stream messages;
// the REST views of the same state come from the engine's queries.

// IndexUpdate is pushed on the index channel after each computation.
type IndexUpdate struct {
	Symbol     string `json:"symbol"`
	Time       int64  `json:"time"`
	Price      string `json:"price,omitempty"`
	Healthy    bool   `json:"healthy"`
	Reference  string `json:"reference,omitempty"`
	Median     string `json:"median,omitempty"`
	Fresh      uint16 `json:"fresh_sources"`
	Included   uint16 `json:"included_sources"`
	Bounded    bool   `json:"change_bounded"`
	ReduceOnly bool   `json:"reduce_only"`
}

// FundingUpdate is pushed when a funding interval settles.
type FundingUpdate struct {
	Symbol   string `json:"symbol"`
	Time     int64  `json:"time"`
	Rate     string `json:"rate"`
	Mark     string `json:"mark,omitempty"`
	Paid     string `json:"paid"`
	Received string `json:"received"`
}

// FundingPaymentView is one funding payment of a client (amount < 0: paid).
type FundingPaymentView struct {
	Time     int64  `json:"time"`
	Symbol   string `json:"symbol"`
	Size     string `json:"size"`
	Rate     string `json:"rate"`
	Notional string `json:"notional"`
	Amount   string `json:"amount"`
	Balance  string `json:"balance"`
	Mark     string `json:"mark,omitempty"`
}

// FundingRate renders a funding.Rate (1e-9 units) as a decimal fraction.
func FundingRate(r funding.Rate) string { return fixed.TrimDecimal(fixed.FormatDecimal(int64(r), 9)) }

func (s *Store) valuation(ev *engine.Event) {
	if int(ev.Market) >= len(s.markets) || ev.Detail == nil {
		return
	}
	m := s.markets[ev.Market]
	sp, d := &m.spec.Spec, ev.Detail
	switch ev.Kind {
	case engine.EvMark:
		m.mark = ev.Price
		m.markSource = "oracle"
		m.sampleValuation(ev.Time)
		s.fan.publish(topic{ch: ChanMark, market: m.id}, func() []byte { return m.markMsg(ev.Time) })
	case engine.EvIndex:
		if ev.Price != 0 {
			m.index = ev.Price
			m.sampleValuation(ev.Time)
		}
		u := IndexUpdate{Symbol: m.spec.Symbol, Time: ms(d.At), Price: px(sp, ev.Price), Healthy: ev.Flag,
			Reference: px(sp, d.Reference), Median: px(sp, d.Median), Fresh: d.Fresh, Included: d.Included,
			Bounded: d.Bounded, ReduceOnly: !ev.Flag}
		s.fan.publish(topic{ch: ChanIndex, market: m.id}, func() []byte {
			return encode(Message{Channel: ChanIndex.String(), Symbol: m.spec.Symbol, Data: u})
		})
	case engine.EvFundingRate:
		u := FundingUpdate{Symbol: m.spec.Symbol, Time: ms(d.At), Rate: FundingRate(d.Rate), Mark: px(sp, ev.Price),
			Paid: sp.FormatAmount(d.Paid), Received: sp.FormatAmount(d.Received)}
		s.fan.publish(topic{ch: ChanFunding, market: m.id}, func() []byte {
			return encode(Message{Channel: ChanFunding.String(), Symbol: m.spec.Symbol, Data: u})
		})
	}
}

func (s *Store) paymentView(p *payment) FundingPaymentView {
	sp := &s.specs[p.market].Spec
	return FundingPaymentView{Time: ms(p.at), Symbol: s.specs[p.market].Symbol, Size: sp.FormatQty(p.size), Rate: FundingRate(p.rate),
		Notional: sp.FormatAmount(p.notional), Amount: sp.FormatAmount(p.amount), Balance: sp.FormatAmount(p.balance), Mark: px(sp, p.mark)}
}

// FundingPayments returns a client's funding payments, newest first.
func (s *Store) FundingPayments(c engine.ClientID, limit int) []FundingPaymentView {
	s.mu.RLock()
	defer s.mu.RUnlock()
	cl := s.clients[c]
	if cl == nil {
		return []FundingPaymentView{}
	}
	n := clamp(limit, cl.payments.n)
	out := make([]FundingPaymentView, 0, n)
	for i := 0; i < n; i++ {
		out = append(out, s.paymentView(cl.payments.at(i)))
	}
	return out
}
