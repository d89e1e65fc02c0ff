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
	Kind               string        `json:"kind"`
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
		m := &s.specs[i]
		sp := &m.Spec
		j := marketJSON{Symbol: m.Symbol, Kind: "perpetual", SettlementAsset: "USD", Tick: sp.Tick.String(), Lot: sp.Lot.String(),
			MaxPrice: sp.FormatPrice(sp.MaxPrice), MaxQty: sp.FormatQty(sp.MaxQty), MaxLeverage: m.Brackets[0].MaxLeverage,
			DefaultLeverage: m.DefaultLeverage, MakerFee: rate(m.MakerFee), TakerFee: rate(m.TakerFee), PriceBand: rate(m.BandPpm),
			MaxOpenOrders: m.Limits.MaxOrdersPerOwner, EligibilityRequire: "professional_investor"}
		for _, b := range m.Brackets {
			j.Brackets = append(j.Brackets, bracketJSON{NotionalCap: sp.FormatAmount(b.Cap), MaxLeverage: b.MaxLeverage,
				MaintenanceRate: rate(b.MMR), MaintenanceAmount: sp.FormatAmount(b.MaintAmount)})
		}
		out = append(out, j)
	}
	WriteJSON(w, http.StatusOK, map[string]any{"markets": out})
	return nil
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
