package gateway

import (
	"net/http"
	"slices"
	"strconv"

	"github.com/sampan-hk/sampan/core/engine"
	"github.com/sampan-hk/sampan/core/fixed"
	"github.com/sampan-hk/sampan/core/liquidation"
	"github.com/sampan-hk/sampan/marketdata"
)

// Liquidation endpoints (docs/liquidation.md, docs/api.md):
//
//   - GET /v1/markets/{symbol}/liquidations: the public tape, every
//     liquidation (book fills, fund take-overs, ADL), no client ids;
//   - GET /v1/admin/risk/insurance: the fund now (engine) and its balance
//     history (read model);
//   - GET /v1/admin/risk/liquidations: each liquidation's chain, with
//     client ids;
//   - GET /v1/admin/risk/adl?symbol=: a market's ADL queue, both sides
//     ranked as the engine would deleverage them now.
const (
	// InsuranceHistoryMax bounds ?limit= on /v1/admin/risk/insurance.
	InsuranceHistoryMax = 2000
	// LiquidationChainsMax bounds ?limit= on /v1/admin/risk/liquidations.
	LiquidationChainsMax = 500
	// AdlRowsMax bounds ?limit= (rows per side) on /v1/admin/risk/adl.
	AdlRowsMax = 500
)

func (s *Server) getLiquidations(w http.ResponseWriter, r *http.Request) *Error {
	m, e := s.perpMarket(r, "limit")
	if e != nil {
		return e
	}
	n, e := limitParam(r, 100, ListLimitMax)
	if e != nil {
		return e
	}
	WriteJSON(w, http.StatusOK, map[string]any{"symbol": s.specs[m].Symbol, "liquidations": s.md.Liquidations(m, n)})
	return nil
}

type insuranceJSON struct {
	Time      int64                       `json:"time"`
	Seq       uint64                      `json:"seq"`
	Balance   string                      `json:"balance"`
	Equity    string                      `json:"equity"`
	Positions []riskPositionJSON          `json:"positions"`
	Queue     []string                    `json:"liquidation_queue"`
	History   []marketdata.InsurancePoint `json:"history"`
}

// getRiskInsurance reports the fund now, from the engine (balance, equity,
// the positions it took over, the accounts in liquidation), and its
// balance over time from the read model (bounded, oldest first).
func (s *Server) getRiskInsurance(w http.ResponseWriter, r *http.Request, c *call) *Error {
	if e := query(r, "limit"); e != nil {
		return e
	}
	limit, e := limitParam(r, 500, InsuranceHistoryMax)
	if e != nil {
		return e
	}
	var f engine.InsuranceView
	var q []engine.ClientID
	out := insuranceJSON{Positions: []riskPositionJSON{}, Queue: []string{}}
	s.x.View(func(en *engine.Engine) {
		out.Seq, out.Time = en.Seq(), en.Now()/1e6
		f = en.InsuranceFund()
		q = en.LiquidationQueue(nil)
	})
	out.Balance, out.Equity = s.usd(f.Balance), s.usd(f.Equity)
	for _, p := range f.Positions {
		out.Positions = append(out.Positions, s.riskPosition(p))
	}
	for _, id := range q {
		out.Queue = append(out.Queue, strconv.FormatUint(uint64(id), 10))
	}
	out.History = s.md.InsuranceHistory(limit)
	WriteJSON(w, http.StatusOK, out)
	return nil
}

func (s *Server) riskPosition(p engine.PositionView) riskPositionJSON {
	sp := &s.specs[p.Market].Spec
	return riskPositionJSON{Symbol: s.specs[p.Market].Symbol, Side: sideOf(p.Size), Size: sp.FormatQty(p.Size),
		Mark: sp.FormatPrice(p.Mark), Notional: sp.FormatAmount(p.Notional), Unrealized: sp.FormatAmount(p.Unrealized),
		MM: sp.FormatAmount(p.MM), Leverage: p.Leverage, LiqPrice: s.priceStr(p.Market, p.LiqPrice),
		Distance: distancePct(p.Size, p.Mark, p.LiqPrice), AdlQuantile: p.AdlQuantile}
}

func sideOf(size fixed.Qty) string {
	if size < 0 {
		return "short"
	}
	return "long"
}

// getRiskLiquidations lists liquidation chains, newest first, optionally
// of one client or touching one market.
func (s *Server) getRiskLiquidations(w http.ResponseWriter, r *http.Request, c *call) *Error {
	if e := query(r, "limit", "symbol", "client_id"); e != nil {
		return e
	}
	limit, e := limitParam(r, 50, LiquidationChainsMax)
	if e != nil {
		return e
	}
	var f marketdata.ChainFilter
	qv := r.URL.Query()
	if qv.Has("symbol") {
		if f.Market, e = s.market(qv.Get("symbol"), "symbol"); e != nil {
			return e
		}
		f.ByMkt = true
	}
	if qv.Has("client_id") {
		if f.Client, e = clientParam(qv.Get("client_id"), "client_id"); e != nil {
			return e
		}
	}
	var seq uint64
	var now int64
	s.x.View(func(en *engine.Engine) { seq, now = en.Seq(), en.Now() })
	WriteJSON(w, http.StatusOK, map[string]any{"time": now / 1e6, "seq": seq, "liquidations": s.md.LiquidationChains(f, limit)})
	return nil
}

// adlRow is one position in a market's ADL queue.
type adlRow struct {
	id       engine.ClientID
	tier     int // 0 ordinary, 1 in liquidation (after every ordinary one)
	score    int64
	size     fixed.Qty
	upnl     fixed.Amount
	equity   fixed.Amount
	quantile uint8 // as the engine last published it
}

// before is the engine's deleveraging order (core/engine adlRank): tier,
// then score (highest first), then client id.
func (a adlRow) before(b adlRow) bool {
	if a.tier != b.tier {
		return a.tier < b.tier
	}
	if a.score != b.score {
		return a.score > b.score
	}
	return a.id < b.id
}

type adlRowJSON struct {
	Rank        int    `json:"rank"`
	ClientID    string `json:"client_id"`
	Size        string `json:"size"`
	Unrealized  string `json:"unrealized_pnl"`
	Equity      string `json:"equity"`
	Score       string `json:"score"`
	AdlQuantile uint8  `json:"adl_quantile"`
	Liquidating bool   `json:"liquidating"`
}

type adlSideJSON struct {
	Positions int          `json:"positions"`
	Rows      []adlRowJSON `json:"rows"`
}

// getRiskADL ranks a market's longs and shorts in the order the engine
// would deleverage them now (liquidation.Score at current marks: profit
// ratio × effective leverage), first to be closed first, with the quantile
// the engine last published (by its publication cycle). It scans every
// client like the accounts ranking (see risk.go), keeping at most 2×limit
// rows per side between trims.
func (s *Server) getRiskADL(w http.ResponseWriter, r *http.Request, c *call) *Error {
	if e := query(r, "symbol", "limit"); e != nil {
		return e
	}
	if !r.URL.Query().Has("symbol") {
		return badField(CodeMissingField, "symbol", "symbol is required")
	}
	m, e := s.market(r.URL.Query().Get("symbol"), "symbol")
	if e != nil {
		return e
	}
	limit, e := limitParam(r, 50, AdlRowsMax)
	if e != nil {
		return e
	}
	var sides [2][]adlRow // 0 longs, 1 shorts
	var counts [2]int
	trim := func(rs []adlRow) []adlRow {
		slices.SortFunc(rs, func(a, b adlRow) int {
			if a.before(b) {
				return -1
			}
			if b.before(a) {
				return 1
			}
			return 0
		})
		return rs[:min(len(rs), limit)]
	}
	var ps []engine.PositionView
	if _, e := s.scanClients(r.Context(), func(en *engine.Engine, id engine.ClientID) {
		ps = en.Positions(id, ps[:0])
		for _, p := range ps {
			if p.Market != m {
				continue
			}
			a, _ := en.Account(id)
			row := adlRow{id: id, score: liquidation.Score(p.Unrealized, p.Cost, p.Notional, a.Equity), size: p.Size,
				upnl: p.Unrealized, equity: a.Equity, quantile: p.AdlQuantile}
			if a.Liquidating {
				row.tier = 1
			}
			i := 0
			if p.Size < 0 {
				i = 1
			}
			counts[i]++
			sides[i] = append(sides[i], row)
			if len(sides[i]) >= 2*limit {
				sides[i] = trim(sides[i])
			}
		}
	}); e != nil {
		return e
	}
	var seq uint64
	var now int64
	s.x.View(func(en *engine.Engine) { seq, now = en.Seq(), en.Now() })
	sp := &s.specs[m].Spec
	out := map[string]any{"symbol": s.specs[m].Symbol, "time": now / 1e6, "seq": seq}
	for i, name := range []string{"longs", "shorts"} {
		side := adlSideJSON{Positions: counts[i], Rows: []adlRowJSON{}}
		for rank, row := range trim(sides[i]) {
			side.Rows = append(side.Rows, adlRowJSON{Rank: rank + 1, ClientID: strconv.FormatUint(uint64(row.id), 10),
				Size: sp.FormatQty(row.size), Unrealized: s.usd(row.upnl), Equity: s.usd(row.equity),
				Score: fixed.FormatDecimal(row.score, 6), AdlQuantile: row.quantile, Liquidating: row.tier == 1})
		}
		out[name] = side
	}
	WriteJSON(w, http.StatusOK, out)
	return nil
}
