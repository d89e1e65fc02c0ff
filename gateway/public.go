package gateway

import (
	"net/http"

	"github.com/sampan-hk/sampan/core/engine"
	"github.com/sampan-hk/sampan/core/fixed"
	"github.com/sampan-hk/sampan/marketdata"
)

type bracketJSON struct {
	NotionalCap       string `json:"notional_cap"`
	MaxLeverage       int64  `json:"max_leverage"`
	MaintenanceRate   string `json:"maintenance_rate"`
	MaintenanceAmount string `json:"maintenance_amount"`
}

type marketJSON struct {
	Symbol             string        `json:"symbol"`
	Kind               string        `json:"kind"` // "perpetual" or "spot"
	BaseAsset          string        `json:"base_asset,omitempty"`
	QuoteAsset         string        `json:"quote_asset,omitempty"`
	SettlementAsset    string        `json:"settlement_asset"`
	Tick               string        `json:"tick"`
	Lot                string        `json:"lot"`
	MaxPrice           string        `json:"max_price"`
	MaxQty             string        `json:"max_qty"`
	MaxLeverage        int64         `json:"max_leverage"`
	DefaultLeverage    int64         `json:"default_leverage"`
	MakerFee           string        `json:"maker_fee"`
	TakerFee           string        `json:"taker_fee"`
	PriceBand          string        `json:"price_band"`
	MaxOpenOrders      int           `json:"max_open_orders"`
	Brackets           []bracketJSON `json:"brackets"`
	EligibilityRequire string        `json:"eligibility"`
}

// rate renders parts per million as a decimal fraction ("0.0005").
func rate(p fixed.Ppm) string { return fixed.TrimDecimal(fixed.FormatDecimal(int64(p), 6)) }

func (s *Server) getMarkets(w http.ResponseWriter, r *http.Request) *Error {
	if e := query(r); e != nil {
		return e
	}
	out := make([]marketJSON, 0, len(s.specs))
	for i := range s.specs {
		out = append(out, marketOf(&s.specs[i]))
	}
	WriteJSON(w, http.StatusOK, map[string]any{"markets": out})
	return nil
}

// marketOf describes one market. A spot market exchanges its base asset for
// its quote asset between margin-financing accounts: no leverage brackets,
// no funding, no fees, and any client may trade it with assets held (buying
// on margin needs an approved credit assessment, which the engine checks).
func marketOf(m *engine.MarketSpec) marketJSON {
	sp := &m.Spec
	j := marketJSON{Symbol: m.Symbol, Kind: m.Kind.String(), SettlementAsset: "USD", Tick: sp.Tick.String(), Lot: sp.Lot.String(),
		MaxPrice: sp.FormatPrice(sp.MaxPrice), MaxQty: sp.FormatQty(sp.MaxQty), MaxLeverage: 1,
		DefaultLeverage: m.DefaultLeverage, MakerFee: rate(m.MakerFee), TakerFee: rate(m.TakerFee), PriceBand: rate(m.BandPpm),
		MaxOpenOrders: m.Limits.MaxOrdersPerOwner, EligibilityRequire: "professional_investor", Brackets: []bracketJSON{}}
	if m.Kind == engine.Spot {
		j.BaseAsset, j.QuoteAsset, j.SettlementAsset, j.EligibilityRequire = m.Base, m.Quote, m.Quote, "none"
		return j
	}
	j.MaxLeverage = m.Brackets[0].MaxLeverage
	for _, b := range m.Brackets {
		j.Brackets = append(j.Brackets, bracketJSON{NotionalCap: sp.FormatAmount(b.Cap), MaxLeverage: b.MaxLeverage,
			MaintenanceRate: rate(b.MMR), MaintenanceAmount: sp.FormatAmount(b.MaintAmount)})
	}
	return j
}

// perpMarket resolves {symbol} like pathMarket but refuses a spot market:
// marks, funding and liquidations exist only for perpetuals. The spot
// markets' index is served (they share the perpetual's underlying index).
func (s *Server) perpMarket(r *http.Request, params ...string) (engine.MarketID, *Error) {
	m, e := s.pathMarket(r, params...)
	if e == nil && s.specs[m].Kind == engine.Spot {
		sym := s.specs[m].Symbol
		e = Errf(http.StatusNotFound, CodeNotPerpetual, "symbol", sym+" is a spot market: it has no mark price, funding, open interest or liquidations (its index is at /v1/markets/"+sym+"/index)")
	}
	return m, e
}

// pathMarket resolves {symbol} after checking the allowed query parameters.
func (s *Server) pathMarket(r *http.Request, params ...string) (engine.MarketID, *Error) {
	if e := query(r, params...); e != nil {
		return 0, e
	}
	return s.market(r.PathValue("symbol"), "symbol")
}

func (s *Server) getDepth(w http.ResponseWriter, r *http.Request) *Error {
	m, e := s.pathMarket(r, "limit")
	if e != nil {
		return e
	}
	n, e := limitParam(r, 100, DepthLimitMax)
	if e != nil {
		return e
	}
	WriteJSON(w, http.StatusOK, s.md.Depth(m, n))
	return nil
}

func (s *Server) getTrades(w http.ResponseWriter, r *http.Request) *Error {
	m, e := s.pathMarket(r, "limit")
	if e != nil {
		return e
	}
	n, e := limitParam(r, 100, ListLimitMax)
	if e != nil {
		return e
	}
	WriteJSON(w, http.StatusOK, map[string]any{"symbol": s.specs[m].Symbol, "trades": s.md.Trades(m, n)})
	return nil
}

func (s *Server) getTicker(w http.ResponseWriter, r *http.Request) *Error {
	m, e := s.pathMarket(r)
	if e != nil {
		return e
	}
	WriteJSON(w, http.StatusOK, s.md.Ticker(m))
	return nil
}

func (s *Server) getKlines(w http.ResponseWriter, r *http.Request) *Error {
	m, e := s.pathMarket(r, "interval", "limit")
	if e != nil {
		return e
	}
	iv, ok := marketdata.ParseInterval(r.URL.Query().Get("interval"))
	if !ok {
		return Errf(http.StatusBadRequest, CodeInvalidField, "interval", "interval must be one of 1m, 5m, 1h, 1d")
	}
	n, e := limitParam(r, 500, ListLimitMax)
	if e != nil {
		return e
	}
	WriteJSON(w, http.StatusOK, map[string]any{"symbol": s.specs[m].Symbol, "interval": iv.String(), "klines": s.md.Klines(m, iv, n)})
	return nil
}
