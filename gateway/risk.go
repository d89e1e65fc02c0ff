package gateway

import (
	"container/heap"
	"context"
	"math/bits"
	"net/http"
	"slices"
	"strconv"

	"github.com/sampan-hk/sampan/core/engine"
	"github.com/sampan-hk/sampan/core/fixed"
)

// Operator risk endpoints: read-only views of engine state for the risk
// officer (and admin and auditor), computed on request under x.View.
//
// Cost. The engine keeps no ranking of accounts by margin, so ranking means
// visiting every client: O(clients × markets) arithmetic, no allocation per
// client beyond a heap of the `limit` riskiest. BenchmarkRiskScan measures
// about 110 ns per client for the accounts scan and 15 ns for the markets
// counts (2 markets, one CPU of a shared EPYC): about 0.1 s of CPU at the
// engine's MaxClients (2^20). Two things keep it from hurting trading:
//   - the scan takes the engine's read lock in chunks of riskScanChunk
//     clients, so a command waits at most one chunk (about 0.25 ms), never
//     the whole scan;
//   - scans are serialised (riskScans), so several consoles polling at
//     once cost one scan at a time, not one each.
//
// The price of chunking is that the ranking is assembled from reads a few
// commands apart; the rows returned are then re-read together under one
// lock, so every figure in the answer is from the same engine state (seq).
const (
	// RiskAccountsMax bounds ?limit= on /v1/admin/risk/accounts: rows, and
	// so the size of the heap kept during the scan and of the final read.
	RiskAccountsMax = 500
	// riskAccountsDefault is the page a console asks for by default.
	riskAccountsDefault = 50
	// riskScanChunk is how many clients one read lock covers.
	riskScanChunk = 2048
)

// scanClients calls fn for every client id, riskScanChunk clients per read
// lock, stopping early when ctx ends (the operator went away). It returns
// the number of clients visited. New clients created during the scan are
// not visited; they will be on the next poll.
func (s *Server) scanClients(ctx context.Context, fn func(e *engine.Engine, id engine.ClientID)) (int, *Error) {
	select {
	case s.riskScans <- struct{}{}:
		defer func() { <-s.riskScans }()
	case <-ctx.Done():
		return 0, scanCancelled()
	}
	var n int
	s.x.View(func(e *engine.Engine) { n = e.Clients() })
	for lo := 1; lo <= n; lo += riskScanChunk {
		if ctx.Err() != nil {
			return 0, scanCancelled()
		}
		hi := min(lo+riskScanChunk-1, n)
		s.x.View(func(e *engine.Engine) {
			for id := lo; id <= hi; id++ {
				fn(e, engine.ClientID(id))
			}
		})
	}
	return n, nil
}

// scanCancelled answers a request whose client left (or whose deadline
// passed) while it waited for or ran a scan; nobody normally reads it.
func scanCancelled() *Error {
	e := Errf(http.StatusServiceUnavailable, CodeUnavailable, "", "the risk scan was cancelled before it finished; retry")
	e.RetryAfter = 1
	return e
}

// riskKey is what the ranking needs of one account: O(1) to compare.
type riskKey struct {
	id     engine.ClientID
	mm, eq fixed.Amount
	liq    bool // the engine's flag: below maintenance, or liquidation under way
}

// riskier reports whether a is closer to liquidation than b. Accounts the
// engine flags liquidatable come first (one whose liquidation is under way
// may already be back under a ratio of 1), then a higher margin ratio
// MM/equity. Equity ≤ 0 with a maintenance requirement is an unbounded
// ratio and ranks above every positive equity (lower equity first). Ratios are compared exactly by cross-multiplying in 128 bits
// (both operands are positive there, so unsigned products are exact).
// Ties go to the lower client id, so the order is total and stable.
func riskier(a, b riskKey) bool {
	ap, bp := a.eq > 0, b.eq > 0
	switch {
	case a.liq != b.liq:
		return a.liq
	case !ap && !bp:
		if a.eq != b.eq {
			return a.eq < b.eq
		}
	case !ap || !bp:
		return !ap
	default:
		// a.mm/a.eq > b.mm/b.eq  ⇔  a.mm·b.eq > b.mm·a.eq
		h1, l1 := bits.Mul64(uint64(a.mm), uint64(b.eq))
		h2, l2 := bits.Mul64(uint64(b.mm), uint64(a.eq))
		if h1 != h2 {
			return h1 > h2
		}
		if l1 != l2 {
			return l1 > l2
		}
	}
	return a.id < b.id
}

// safestFirst is a heap whose root is the least risky account kept, so
// the scan can drop it when a riskier one arrives.
type safestFirst []riskKey

func (h safestFirst) Len() int           { return len(h) }
func (h safestFirst) Less(i, j int) bool { return riskier(h[j], h[i]) }
func (h safestFirst) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *safestFirst) Push(x any)        { *h = append(*h, x.(riskKey)) }
func (h *safestFirst) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}

type riskPositionJSON struct {
	Symbol     string `json:"symbol"`
	Side       string `json:"side"`
	Size       string `json:"size"`
	Mark       string `json:"mark"`
	Notional   string `json:"notional"`
	Unrealized string `json:"unrealized_pnl"`
	MM         string `json:"maintenance_margin"`
	Leverage   int64  `json:"leverage"`
	LiqPrice   string `json:"liquidation_price,omitempty"`
	Distance   string `json:"distance_to_mark_pct,omitempty"`
	// AdlQuantile is the engine's last published ADL queue quantile (1–5;
	// 0 before the first ranking).
	AdlQuantile uint8 `json:"adl_quantile"`
}

type riskAccountJSON struct {
	ClientID     string             `json:"client_id"`
	Ref          string             `json:"ref"`
	Collateral   string             `json:"collateral"`
	Unrealized   string             `json:"unrealized_pnl"`
	Equity       string             `json:"equity"`
	IM           string             `json:"initial_margin"`
	MM           string             `json:"maintenance_margin"`
	Notional     string             `json:"notional"`
	MarginRatio  string             `json:"margin_ratio,omitempty"`
	Liquidatable bool               `json:"liquidatable"`
	Positions    []riskPositionJSON `json:"positions"`
}

type riskAccountsJSON struct {
	Time          int64             `json:"time"`
	Seq           uint64            `json:"seq"`
	Scanned       int               `json:"clients_scanned"`
	WithPositions int               `json:"accounts_with_positions"`
	Liquidatable  int               `json:"liquidatable_accounts"`
	Accounts      []riskAccountJSON `json:"accounts"`
}

// marginRatio renders MM/equity as a decimal fraction with 6 places,
// rounded up so the ratio is never understated; "" when equity ≤ 0 (the
// ratio is unbounded) or the quotient does not fit.
func marginRatio(mm, eq fixed.Amount) string {
	if eq <= 0 {
		return ""
	}
	v, err := fixed.MulDiv(int64(mm), 1_000_000, int64(eq), fixed.Ceil)
	if err != nil {
		return ""
	}
	return fixed.FormatDecimal(v, 6)
}

// distancePct is the adverse move of the mark, in percent of the mark with
// two decimals, that would reach the liquidation price: down for a long,
// up for a short. Negative when the mark is already past it. Rounded down
// so the distance is never overstated.
func distancePct(size fixed.Qty, mark, liq fixed.Price) string {
	if liq <= 0 || mark <= 0 {
		return ""
	}
	d := int64(mark - liq)
	if size < 0 {
		d = -d
	}
	v, err := fixed.MulDiv(d, 10_000, int64(mark), fixed.Floor)
	if err != nil {
		return ""
	}
	return fixed.FormatDecimal(v, 2)
}

// getRiskAccounts ranks accounts with positions (or already liquidatable)
// by margin ratio, riskiest first, and returns the first `limit` with their
// positions. See the cost note at the top of this file.
func (s *Server) getRiskAccounts(w http.ResponseWriter, r *http.Request, c *call) *Error {
	if e := query(r, "limit"); e != nil {
		return e
	}
	limit, e := limitParam(r, riskAccountsDefault, RiskAccountsMax)
	if e != nil {
		return e
	}
	out := riskAccountsJSON{Accounts: []riskAccountJSON{}}
	top := make(safestFirst, 0, limit)
	n, e := s.scanClients(r.Context(), func(en *engine.Engine, id engine.ClientID) {
		a, _ := en.Account(id)
		// Every bracket has a positive maintenance rate, so an account
		// holds a position exactly when its maintenance margin is positive.
		if a.MM <= 0 && !a.Liquidatable {
			return
		}
		out.WithPositions++
		if a.Liquidatable {
			out.Liquidatable++
		}
		k := riskKey{id: id, mm: a.MM, eq: a.Equity, liq: a.Liquidatable}
		if len(top) < limit {
			heap.Push(&top, k)
		} else if riskier(k, top[0]) {
			top[0] = k
			heap.Fix(&top, 0)
		}
	})
	if e != nil {
		return e
	}
	out.Scanned = n
	// Re-read the kept accounts together, so the rows agree with each
	// other, and re-rank on those figures.
	keys := make([]riskKey, len(top))
	views := make(map[engine.ClientID]engine.AccountView, len(top))
	var ps []engine.PositionView
	pos := make(map[engine.ClientID][]engine.PositionView, len(top))
	s.x.View(func(en *engine.Engine) {
		out.Seq, out.Time = en.Seq(), en.Now()/1e6
		for i, k := range top {
			a, _ := en.Account(k.id)
			views[k.id] = a
			keys[i] = riskKey{id: k.id, mm: a.MM, eq: a.Equity, liq: a.Liquidatable}
			start := len(ps)
			ps = en.Positions(k.id, ps)
			pos[k.id] = ps[start:len(ps):len(ps)]
		}
	})
	slices.SortFunc(keys, func(a, b riskKey) int {
		if riskier(a, b) {
			return -1
		}
		if riskier(b, a) {
			return 1
		}
		return 0
	})
	for _, k := range keys {
		a := views[k.id]
		j := riskAccountJSON{ClientID: strconv.FormatUint(uint64(k.id), 10), Ref: a.Ref, Collateral: s.usd(a.Collateral),
			Unrealized: s.usd(a.Unrealized), Equity: s.usd(a.Equity), IM: s.usd(a.IM), MM: s.usd(a.MM),
			MarginRatio: marginRatio(a.MM, a.Equity), Liquidatable: a.Liquidatable, Positions: []riskPositionJSON{}}
		var notional fixed.Amount
		for _, p := range pos[k.id] {
			notional += p.Notional
			j.Positions = append(j.Positions, s.riskPosition(p))
		}
		j.Notional = s.usd(notional)
		out.Accounts = append(out.Accounts, j)
	}
	WriteJSON(w, http.StatusOK, out)
	return nil
}

type riskIndexJSON struct {
	Mode     string `json:"mode"`
	Price    string `json:"price,omitempty"`
	Healthy  bool   `json:"healthy"`
	Fresh    int    `json:"fresh_sources"`
	Included int    `json:"included_sources"`
}

type riskFundingJSON struct {
	Mode       string `json:"mode"`
	LastRate   string `json:"last_rate"`
	Predicted  string `json:"predicted_rate"`
	IntervalMs int64  `json:"interval_ms"`
	NextTime   int64  `json:"next_funding_time,omitempty"`
}

type riskMarketJSON struct {
	Symbol             string          `json:"symbol"`
	Mark               string          `json:"mark,omitempty"`
	MarkSource         string          `json:"mark_source"`
	OpenInterest       string          `json:"open_interest"`
	OINotional         string          `json:"open_interest_notional"`
	ReduceOnly         bool            `json:"reduce_only"`
	LiquidationsPaused bool            `json:"liquidations_paused"`
	Index              riskIndexJSON   `json:"index"`
	Funding            riskFundingJSON `json:"funding"`
	Accounts           int             `json:"accounts_with_positions"`
	Longs              int             `json:"long_accounts"`
	Shorts             int             `json:"short_accounts"`
}

type riskMarketsJSON struct {
	Time    int64            `json:"time"`
	Seq     uint64           `json:"seq"`
	Markets []riskMarketJSON `json:"markets"`
}

// getRiskMarkets reports each market's risk state. Everything but the
// account counts is O(markets) under one read lock; the counts need the
// same client scan as the accounts ranking (see the cost note above).
func (s *Server) getRiskMarkets(w http.ResponseWriter, r *http.Request, c *call) *Error {
	if e := query(r); e != nil {
		return e
	}
	out := riskMarketsJSON{Markets: make([]riskMarketJSON, 0, len(s.specs))}
	longs, shorts := make([]int, len(s.specs)), make([]int, len(s.specs))
	var ps []engine.PositionView
	if _, e := s.scanClients(r.Context(), func(en *engine.Engine, id engine.ClientID) {
		ps = en.Positions(id, ps[:0])
		for _, p := range ps {
			if p.Size > 0 {
				longs[p.Market]++
			} else {
				shorts[p.Market]++
			}
		}
	}); e != nil {
		return e
	}
	s.x.View(func(en *engine.Engine) {
		out.Seq, out.Time = en.Seq(), en.Now()/1e6
		for i := range s.specs {
			if s.specs[i].Kind == engine.Spot {
				continue // derivatives risk: spot books carry no positions (financing: /v1/admin/financing/*)
			}
			m := engine.MarketID(i)
			sp := &s.specs[i].Spec
			long, short := en.OpenInterest(m)
			if long != short {
				// The engine checks this invariant after every command in
				// tests; seeing it here is an engine bug worth a page.
				s.log.Error("gateway: open interest differs between sides", "symbol", s.specs[i].Symbol, "long", long, "short", short)
			}
			mk, _ := en.MarkInputs(m)
			ix, _ := en.Index(m)
			f, _ := en.Funding(m)
			j := riskMarketJSON{Symbol: s.specs[i].Symbol, Mark: s.priceStr(m, mk.Mark), MarkSource: "operator",
				OpenInterest: sp.FormatQty(long), OINotional: sp.FormatAmount(sp.Notional(long, mk.Mark)),
				ReduceOnly: en.MarketReduceOnly(m), LiquidationsPaused: en.LiquidationsPaused(m),
				Index: riskIndexJSON{Mode: mode(ix.Live), Healthy: ix.Healthy, Fresh: ix.Fresh, Included: ix.Included},
				Funding: riskFundingJSON{Mode: mode(f.Live), LastRate: fundingRate(f.Rate), Predicted: fundingRate(f.Predicted.Rate),
					IntervalMs: f.Interval / 1e6, NextTime: f.Next / 1e6},
				Accounts: longs[i] + shorts[i], Longs: longs[i], Shorts: shorts[i]}
			if mk.Oracle {
				j.MarkSource = "oracle"
			}
			if ix.Valid {
				j.Index.Price = s.priceStr(m, ix.Price)
			}
			out.Markets = append(out.Markets, j)
		}
	})
	WriteJSON(w, http.StatusOK, out)
	return nil
}

// getWhoami tells an operator console who its key is: the role and the
// actions the permission matrix grants it, so the console shows only what
// the role may see and do. The server still checks every request.
func (s *Server) getWhoami(w http.ResponseWriter, r *http.Request, c *call) *Error {
	if e := query(r); e != nil {
		return e
	}
	acts := []string{}
	for a := range Permissions {
		if Allowed(c.key.Role, a) {
			acts = append(acts, string(a))
		}
	}
	slices.Sort(acts)
	WriteJSON(w, http.StatusOK, map[string]any{"key": c.key.ID, "role": string(c.key.Role), "operator": c.key.Operator, "actions": acts})
	return nil
}
