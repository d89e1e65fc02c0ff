package gateway

import (
	"net/http"

	"github.com/sampan-hk/sampan/core/engine"
	"github.com/sampan-hk/sampan/core/fixed"
	"github.com/sampan-hk/sampan/core/funding"
)

// Index, mark and funding explanations, read straight from the engine's
// valuation queries (core/engine/valuation.go). This file is the gateway's
// only user of those types, so a change there is absorbed here.

// fundingRate renders a funding.Rate (1e-9 units) as a decimal fraction.
func fundingRate(r funding.Rate) string { return fixed.TrimDecimal(fixed.FormatDecimal(int64(r), 9)) }

func (s *Server) priceStr(m engine.MarketID, p fixed.Price) string {
	if p == 0 {
		return ""
	}
	return s.specs[m].Spec.FormatPrice(p)
}

type constituentJSON struct {
	Source     uint16 `json:"source"`
	Name       string `json:"name"`
	Price      string `json:"price,omitempty"`
	ObservedAt int64  `json:"observed_at,omitempty"`
	AgeMillis  int64  `json:"age_ms"`
	Weight     uint32 `json:"weight"`
	WeightUsed uint32 `json:"weight_used"`
	Deviation  string `json:"deviation"`
	Status     string `json:"status"`
}

type indexJSON struct {
	Symbol       string            `json:"symbol"`
	Underlying   string            `json:"underlying"`
	Mode         string            `json:"mode"` // "oracle" once feeds quote, "manual" before
	Time         int64             `json:"time,omitempty"`
	Price        string            `json:"price,omitempty"`
	Healthy      bool              `json:"healthy"`
	ReduceOnly   bool              `json:"reduce_only"`
	Reference    string            `json:"reference,omitempty"`
	Median       string            `json:"median,omitempty"`
	Fresh        int               `json:"fresh_sources"`
	Included     int               `json:"included_sources"`
	Bounded      bool              `json:"change_bounded"`
	Constituents []constituentJSON `json:"constituents"`
}

func mode(live bool) string {
	if live {
		return "oracle"
	}
	return "manual"
}

func (s *Server) getIndex(w http.ResponseWriter, r *http.Request) *Error {
	m, e := s.pathMarket(r)
	if e != nil {
		return e
	}
	var v engine.IndexView
	s.x.View(func(en *engine.Engine) { v, _ = en.Index(m) })
	out := indexJSON{Symbol: s.specs[m].Symbol, Underlying: v.Underlying, Mode: mode(v.Live), Time: v.Time / 1e6,
		Healthy: v.Healthy, ReduceOnly: v.ReduceOnly, Reference: s.priceStr(m, v.Reference), Median: s.priceStr(m, v.Median),
		Fresh: v.Fresh, Included: v.Included, Bounded: v.Bounded, Constituents: []constituentJSON{}}
	if v.Valid {
		out.Price = s.priceStr(m, v.Price)
	}
	for _, c := range v.Constituents {
		out.Constituents = append(out.Constituents, constituentJSON{Source: uint16(c.Source), Name: c.Name, Price: s.priceStr(m, c.Price),
			ObservedAt: c.ObservedAt / 1e6, AgeMillis: c.Age / 1e6, Weight: c.Weight, WeightUsed: c.WeightUsed,
			Deviation: rate(c.Deviation), Status: c.Excluded.String()})
	}
	WriteJSON(w, http.StatusOK, out)
	return nil
}

type markInputsJSON struct {
	Index           string `json:"index,omitempty"`
	FundingRate     string `json:"funding_rate"`
	TimeToFundingMs int64  `json:"time_to_funding_ms"`
	Mid             string `json:"mid,omitempty"`
	Last            string `json:"last_trade,omitempty"`
	FundingPrice    string `json:"funding_price,omitempty"`
	BasisAverage    string `json:"basis_average"`
	BasisSamples    int    `json:"basis_samples"`
	BasisPrice      string `json:"basis_price,omitempty"`
	LastPrice       string `json:"last_price,omitempty"`
	Median          string `json:"median,omitempty"`
	BandLow         string `json:"band_low,omitempty"`
	BandHigh        string `json:"band_high,omitempty"`
	Clamped         bool   `json:"clamped"`
}

type markJSON struct {
	Symbol string `json:"symbol"`
	Mark   string `json:"mark,omitempty"`
	// Source is "oracle" when the last computation set the mark, "operator"
	// when it was set by hand (manual mode or an override).
	Source string          `json:"source"`
	Time   int64           `json:"time,omitempty"`
	Inputs *markInputsJSON `json:"inputs,omitempty"`
}

// signedPrice formats a price difference, which may be negative or zero.
func (s *Server) signedPrice(m engine.MarketID, p fixed.Price) string {
	sp := &s.specs[m].Spec
	return fixed.TrimDecimal(fixed.FormatDecimal(int64(p)*sp.Tick.Units, sp.Tick.Scale))
}

func (s *Server) getMark(w http.ResponseWriter, r *http.Request) *Error {
	m, e := s.perpMarket(r)
	if e != nil {
		return e
	}
	var v engine.MarkView
	s.x.View(func(en *engine.Engine) { v, _ = en.MarkInputs(m) })
	out := markJSON{Symbol: s.specs[m].Symbol, Mark: s.priceStr(m, v.Mark), Source: "operator"}
	if v.Oracle {
		out.Source = "oracle"
	}
	if res := v.MarkResult; res.Mark != 0 { // the oracle has computed at least once
		in := res.Inputs
		out.Time = in.Time / 1e6
		out.Inputs = &markInputsJSON{Index: s.priceStr(m, in.Index), FundingRate: fundingRate(in.FundingRate),
			TimeToFundingMs: in.TimeToFunding / 1e6, FundingPrice: s.priceStr(m, res.FundingPrice),
			BasisAverage: s.signedPrice(m, res.BasisAverage), BasisSamples: res.BasisSamples, BasisPrice: s.priceStr(m, res.BasisPrice),
			LastPrice: s.priceStr(m, res.LastPrice), Median: s.priceStr(m, res.Median), BandLow: s.priceStr(m, res.BandLow),
			BandHigh: s.priceStr(m, res.BandHigh), Clamped: res.Clamped}
		if in.HasMid {
			out.Inputs.Mid = s.priceStr(m, in.Mid)
		}
		if in.HasLast {
			out.Inputs.Last = s.priceStr(m, in.Last)
		}
	}
	WriteJSON(w, http.StatusOK, out)
	return nil
}

type rateJSON struct {
	Rate       string `json:"rate"`
	Samples    int    `json:"samples"`
	AvgPremium string `json:"average_premium"`
	Interest   string `json:"interest"`
	Adjustment string `json:"adjustment"`
	Uncapped   string `json:"uncapped"`
	Cap        string `json:"cap"`
	Capped     bool   `json:"capped"`
}

type fundingRecordJSON struct {
	Time       int64  `json:"time"`
	Rate       string `json:"rate"`
	AvgPremium string `json:"average_premium"`
	Samples    uint32 `json:"samples"`
	Capped     bool   `json:"capped"`
	Mark       string `json:"mark,omitempty"`
	Paid       string `json:"paid"`
	Received   string `json:"received"`
	Residue    string `json:"residue"`
}

type fundingJSON struct {
	Symbol     string              `json:"symbol"`
	Mode       string              `json:"mode"`
	IntervalMs int64               `json:"interval_ms"`
	NextTime   int64               `json:"next_funding_time,omitempty"`
	LastRate   string              `json:"last_rate"`
	Predicted  rateJSON            `json:"predicted"`
	History    []fundingRecordJSON `json:"history"`
}

// getFunding serves the funding state. Rates are per 8 hours as decimal
// fractions ("0.0001" = 0.01%), whatever the settlement interval.
func (s *Server) getFunding(w http.ResponseWriter, r *http.Request) *Error {
	m, e := s.perpMarket(r)
	if e != nil {
		return e
	}
	var v engine.FundingView
	s.x.View(func(en *engine.Engine) { v, _ = en.Funding(m) })
	p := v.Predicted
	out := fundingJSON{Symbol: s.specs[m].Symbol, Mode: mode(v.Live), IntervalMs: v.Interval / 1e6, NextTime: v.Next / 1e6,
		LastRate: fundingRate(v.Rate), History: []fundingRecordJSON{},
		Predicted: rateJSON{Rate: fundingRate(p.Rate), Samples: p.Samples, AvgPremium: fundingRate(p.AvgPremium),
			Interest: fundingRate(p.Interest), Adjustment: fundingRate(p.Adjustment), Uncapped: fundingRate(p.Uncapped),
			Cap: fundingRate(p.Cap), Capped: p.Capped}}
	for i := len(v.History) - 1; i >= 0; i-- { // newest first
		h := v.History[i]
		out.History = append(out.History, fundingRecordJSON{Time: h.At / 1e6, Rate: fundingRate(h.Rate),
			AvgPremium: fundingRate(h.AvgPremium), Samples: h.Samples, Capped: h.Capped, Mark: s.priceStr(m, h.Mark),
			Paid: s.usd(h.Paid), Received: s.usd(h.Received), Residue: s.usd(h.Residue)})
	}
	WriteJSON(w, http.StatusOK, out)
	return nil
}
