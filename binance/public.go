package binance

import (
	"encoding/json"
	"net/http"
	"strconv"
	"strings"

	"github.com/sampan-hk/sampan/core/book"
	"github.com/sampan-hk/sampan/core/engine"
	"github.com/sampan-hk/sampan/core/fixed"
	"github.com/sampan-hk/sampan/core/funding"
	"github.com/sampan-hk/sampan/marketdata"
)

// num is a JSON number written from an exact decimal string (Binance sends
// some figures as numbers; they never pass through float64 here).
func num(s string) json.Number {
	if s == "" {
		return "0"
	}
	return json.Number(s)
}

func orZero(s string) string {
	if s == "" {
		return "0"
	}
	return s
}

// ppm renders parts per million as a decimal fraction.
func ppm(p fixed.Ppm) string { return fixed.TrimDecimal(fixed.FormatDecimal(int64(p), 6)) }

func (h *Handler) usd(a fixed.Amount) string { return h.specs[0].Spec.FormatAmount(a) }

func (h *Handler) getTime(w http.ResponseWriter, _ *http.Request, _ params) *Error {
	writeJSON(w, 200, map[string]any{"serverTime": h.nowMs()})
	return nil
}

// decimals counts the fraction digits of a step ("0.001" → 3).
func decimals(s fixed.Step) int { return s.Scale }

func (h *Handler) getExchangeInfo(w http.ResponseWriter, _ *http.Request, _ params) *Error {
	syms := make([]map[string]any, 0, len(h.specs))
	for i := range h.specs {
		m := &h.specs[i]
		sp := &m.Spec
		base := strings.TrimSuffix(h.names[i], h.cfg.SettleAsset)
		up := fixed.PpmOne + m.BandPpm
		down := fixed.PpmOne - m.BandPpm
		syms = append(syms, map[string]any{
			"symbol": h.names[i], "pair": h.names[i], "contractType": "PERPETUAL", "deliveryDate": int64(4133404800000),
			"onboardDate": int64(1704067200000), "status": "TRADING",
			// First bracket: maintenance rate and 1/max leverage, in percent.
			"maintMarginPercent":    fixed.FormatDecimal(int64(m.Brackets[0].MMR), 4),
			"requiredMarginPercent": fixed.FormatDecimal(1_000_000/m.Brackets[0].MaxLeverage, 4),
			"baseAsset":             base, "quoteAsset": h.cfg.SettleAsset, "marginAsset": h.cfg.SettleAsset,
			"pricePrecision": decimals(sp.Tick), "quantityPrecision": decimals(sp.Lot), "baseAssetPrecision": 8, "quotePrecision": 8,
			"underlyingType": "COIN", "underlyingSubType": []string{}, "settlePlan": 0, "marketTakeBound": ppm(m.BandPpm),
			"filters": []map[string]any{
				{"filterType": "PRICE_FILTER", "minPrice": sp.Tick.String(), "maxPrice": sp.FormatPrice(sp.MaxPrice), "tickSize": sp.Tick.String()},
				{"filterType": "LOT_SIZE", "minQty": sp.Lot.String(), "maxQty": sp.FormatQty(sp.MaxQty), "stepSize": sp.Lot.String()},
				{"filterType": "MARKET_LOT_SIZE", "minQty": sp.Lot.String(), "maxQty": sp.FormatQty(sp.MaxQty), "stepSize": sp.Lot.String()},
				{"filterType": "MAX_NUM_ORDERS", "limit": m.Limits.MaxOrdersPerOwner},
				{"filterType": "MIN_NOTIONAL", "notional": "0"},
				{"filterType": "PERCENT_PRICE", "multiplierUp": fixed.FormatDecimal(int64(up)/100, 4),
					"multiplierDown": fixed.FormatDecimal(int64(down)/100, 4), "multiplierDecimal": "4"},
			},
			"orderTypes":  []string{"LIMIT", "MARKET"},
			"timeInForce": []string{"GTC", "IOC", "FOK", "GTX"},
			// Sampan-specific: who may trade it.
			"eligibility": "professional_investor",
		})
	}
	assets := []map[string]any{{"asset": h.cfg.SettleAsset, "marginAvailable": true, "autoAssetExchange": "0"}}
	writeJSON(w, 200, map[string]any{
		"timezone": "UTC", "serverTime": h.nowMs(), "futuresType": "U_MARGINED",
		"rateLimits": []map[string]any{
			{"rateLimitType": "REQUEST_WEIGHT", "interval": "SECOND", "intervalNum": 1, "limit": int64(h.cfg.IPRate)},
			{"rateLimitType": "ORDERS", "interval": "SECOND", "intervalNum": 1, "limit": int64(h.cfg.KeyRate)},
		},
		"exchangeFilters": []any{}, "assets": assets, "symbols": syms,
	})
	return nil
}

var depthLimits = map[int64]bool{5: true, 10: true, 20: true, 50: true, 100: true, 500: true, 1000: true}

func (h *Handler) getDepth(w http.ResponseWriter, _ *http.Request, p params) *Error {
	m, e := h.market(p.get("symbol"))
	if e != nil {
		return e
	}
	n, e := p.int64Param("limit", 500)
	if e != nil {
		return e
	}
	if !depthLimits[n] {
		return invalidParam("limit")
	}
	d := h.md.Depth(m, int(n))
	now := h.nowMs()
	writeJSON(w, 200, map[string]any{"lastUpdateId": d.Seq, "E": now, "T": d.Time, "bids": d.Bids, "asks": d.Asks})
	return nil
}

// writeEach answers with fn's object for the symbol parameter's market,
// or an array of one per market without it (Binance's ticker shape).
func (h *Handler) writeEach(w http.ResponseWriter, p params, fn func(m engine.MarketID) any) *Error {
	if p.has("symbol") {
		m, e := h.market(p.get("symbol"))
		if e != nil {
			return e
		}
		writeJSON(w, 200, fn(m))
		return nil
	}
	out := make([]any, 0, len(h.specs))
	for i := range h.specs {
		out = append(out, fn(engine.MarketID(i)))
	}
	writeJSON(w, 200, out)
	return nil
}

// priceDiff formats (a − b) in price units, signed.
func priceDiff(sp *fixed.Spec, a, b fixed.Price) string {
	return fixed.TrimDecimal(fixed.FormatDecimal(int64(a-b)*sp.Tick.Units, sp.Tick.Scale))
}

func (h *Handler) ticker24h(m engine.MarketID) any {
	t := h.md.Ticker(m)
	sp := &h.specs[m].Spec
	last, _ := sp.ParsePrice(t.Last)
	open, _ := sp.ParsePrice(t.Open24h)
	change, pct := "0", "0.000"
	if last > 0 && open > 0 {
		change = priceDiff(sp, last, open)
		pct = fixed.FormatDecimal(fixed.MustMulDiv(int64(last-open), 100_000, int64(open), fixed.Floor), 3)
	}
	var lastQty string
	if tr := h.md.Trades(m, 1); len(tr) > 0 {
		lastQty = tr[0].Qty
	}
	return map[string]any{"symbol": h.names[m], "priceChange": change, "priceChangePercent": pct,
		"weightedAvgPrice": orZero(t.Last), "lastPrice": orZero(t.Last), "lastQty": orZero(lastQty),
		"openPrice": orZero(t.Open24h), "highPrice": orZero(t.High24h), "lowPrice": orZero(t.Low24h),
		"volume": orZero(t.Volume24h), "quoteVolume": "0", "openTime": t.Time - 86_400_000, "closeTime": t.Time,
		"firstId": 0, "lastId": 0, "count": t.Trades24h}
}

func (h *Handler) getTicker24h(w http.ResponseWriter, _ *http.Request, p params) *Error {
	return h.writeEach(w, p, h.ticker24h)
}

func (h *Handler) getTickerPrice(w http.ResponseWriter, _ *http.Request, p params) *Error {
	return h.writeEach(w, p, func(m engine.MarketID) any {
		t := h.md.Ticker(m)
		return map[string]any{"symbol": h.names[m], "price": orZero(t.Last), "time": t.Time}
	})
}

func (h *Handler) getBookTicker(w http.ResponseWriter, _ *http.Request, p params) *Error {
	return h.writeEach(w, p, func(m engine.MarketID) any {
		t := h.md.Ticker(m)
		return map[string]any{"symbol": h.names[m], "bidPrice": orZero(t.BestBid), "bidQty": orZero(t.BestBidQty),
			"askPrice": orZero(t.BestAsk), "askQty": orZero(t.BestAskQty), "time": t.Time, "lastUpdateId": h.md.Depth(m, 1).Seq}
	})
}

// marketWindow reads the symbol, then the window (see windowParams): the
// history endpoints that report a bad symbol before a bad limit.
func (h *Handler) marketWindow(p params, def, max int64, idParam string) (engine.MarketID, window, *Error) {
	m, e := h.market(p.get("symbol"))
	if e != nil {
		return 0, window{}, e
	}
	win, e := windowParams(p, def, max, idParam)
	return m, win, e
}

func limitParam(p params, def, max int64) (int, *Error) {
	n, e := p.int64Param("limit", def)
	if e != nil {
		return 0, e
	}
	if n < 1 || n > max {
		return 0, invalidParam("limit")
	}
	return int(n), nil
}

// window is the paging a Binance history endpoint takes: at most n rows,
// ids from from on and times (ms) within [start, end]; −1 leaves a bound
// open.
type window struct {
	n                int
	from, start, end int64
}

// windowParams reads limit (default def, at most max), then the id
// parameter idParam (none when ""), startTime and endTime: the order in
// which these endpoints report the first bad parameter.
func windowParams(p params, def, max int64, idParam string) (window, *Error) {
	w := window{from: -1}
	var e *Error
	if w.n, e = limitParam(p, def, max); e != nil {
		return w, e
	}
	if idParam != "" {
		if w.from, e = p.int64Param(idParam, -1); e != nil {
			return w, e
		}
	}
	if w.start, e = p.int64Param("startTime", -1); e != nil {
		return w, e
	}
	w.end, e = p.int64Param("endTime", -1)
	return w, e
}

// admits reports whether a row with this id and time (ms) is inside the
// window's bounds.
func (w window) admits(id, t int64) bool {
	return (w.from < 0 || id >= w.from) && (w.start < 0 || t >= w.start) && (w.end < 0 || t <= w.end)
}

// clip cuts an oldest-first list to the window's limit as Binance does: the
// first n rows when the client anchored the start (an id or startTime),
// else the newest n.
func clip[T any](w window, out []T) []T {
	switch {
	case len(out) <= w.n:
		return out
	case w.from >= 0 || w.start >= 0:
		return out[:w.n]
	}
	return out[len(out)-w.n:]
}

// quote is price × qty in quote units, exact.
func quoteQty(sp *fixed.Spec, price, qty string) string {
	p, err1 := sp.ParsePrice(price)
	q, err2 := sp.ParseQty(qty)
	if err1 != nil || err2 != nil {
		return "0"
	}
	return sp.FormatAmount(sp.Notional(q, p))
}

func (h *Handler) getTrades(w http.ResponseWriter, _ *http.Request, p params) *Error {
	m, e := h.market(p.get("symbol"))
	if e != nil {
		return e
	}
	n, e := limitParam(p, 500, 1000)
	if e != nil {
		return e
	}
	sp := &h.specs[m].Spec
	ts := h.md.Trades(m, n)
	out := make([]map[string]any, 0, len(ts))
	for i := len(ts) - 1; i >= 0; i-- { // oldest first, as Binance
		t := ts[i]
		id, _ := strconv.ParseUint(t.ID, 10, 64)
		out = append(out, map[string]any{"id": id, "price": t.Price, "qty": t.Qty, "quoteQty": quoteQty(sp, t.Price, t.Qty),
			"time": t.Time, "isBuyerMaker": t.Side == book.Sell.String()})
	}
	writeJSON(w, 200, out)
	return nil
}

// getAggTrades serves trades as aggregate trades of one fill each (a =
// f = l = the trade id); Sampan does not merge same-price fills.
func (h *Handler) getAggTrades(w http.ResponseWriter, _ *http.Request, p params) *Error {
	m, win, e := h.marketWindow(p, 500, 1000, "fromId")
	if e != nil {
		return e
	}
	ts := h.md.Trades(m, 0)
	out := make([]map[string]any, 0)
	for i := len(ts) - 1; i >= 0 && len(out) < win.n; i-- {
		t := ts[i]
		id, _ := strconv.ParseInt(t.ID, 10, 64)
		if !win.admits(id, t.Time) {
			continue
		}
		out = append(out, aggTrade(t, id))
	}
	if win.from < 0 && win.start < 0 && len(out) > 0 { // newest n, oldest first
		out = out[:0]
		first := max(0, min(win.n, len(ts))-1)
		for i := first; i >= 0; i-- {
			id, _ := strconv.ParseInt(ts[i].ID, 10, 64)
			if win.end >= 0 && ts[i].Time > win.end {
				continue
			}
			out = append(out, aggTrade(ts[i], id))
		}
	}
	writeJSON(w, 200, out)
	return nil
}

func aggTrade(t marketdata.TradeView, id int64) map[string]any {
	return map[string]any{"a": id, "p": t.Price, "q": t.Qty, "f": id, "l": id, "T": t.Time, "m": t.Side == book.Sell.String()}
}

var klineIntervals = map[string]marketdata.Interval{"1m": marketdata.I1m, "5m": marketdata.I5m, "1h": marketdata.I1h, "1d": marketdata.I1d}
var intervalMs = map[marketdata.Interval]int64{marketdata.I1m: 60_000, marketdata.I5m: 300_000, marketdata.I1h: 3_600_000, marketdata.I1d: 86_400_000}

func (h *Handler) getKlines(w http.ResponseWriter, _ *http.Request, p params) *Error {
	m, e := h.market(p.get("symbol"))
	if e != nil {
		return e
	}
	if !p.has("interval") {
		return mandatory("interval")
	}
	iv, ok := klineIntervals[p.get("interval")]
	if !ok {
		return errf(400, CodeBadInterval, "Invalid interval.")
	}
	win, e := windowParams(p, 500, 1500, "")
	if e != nil {
		return e
	}
	ks := h.md.Klines(m, iv, 0)
	out := make([][]any, 0)
	for _, k := range ks {
		if !win.admits(0, k.Start) {
			continue
		}
		out = append(out, []any{k.Start, k.Open, k.High, k.Low, k.Close, k.Volume, k.Start + intervalMs[iv] - 1,
			"0", k.Trades, "0", "0", "0"})
	}
	writeJSON(w, 200, clip(win, out))
	return nil
}

// intervalRate converts Sampan's per-8-hour funding rate to the rate paid
// at each settlement (Binance's fundingRate), truncated toward zero.
func intervalRate(r funding.Rate, interval int64) string {
	v := int64(r) * (interval / 1e6) / (8 * 3_600_000)
	return fixed.TrimDecimal(fixed.FormatDecimal(v, 9))
}

func (h *Handler) premiumIndex(m engine.MarketID) any {
	var iv engine.IndexView
	var fv engine.FundingView
	var mark fixed.Price
	var now int64
	h.x.View(func(e *engine.Engine) {
		iv, _ = e.Index(m)
		fv, _ = e.Funding(m)
		mark = e.Mark(m)
		now = e.Now()
	})
	sp := &h.specs[m].Spec
	idx := "0"
	if iv.Valid {
		idx = sp.FormatPrice(iv.Price)
	} else if mark > 0 {
		idx = sp.FormatPrice(mark) // manual mode: the operator's mark is the only reference
	}
	var mk string
	if mark > 0 {
		mk = sp.FormatPrice(mark)
	}
	interest := intervalRate(fv.Predicted.Interest, fv.Interval)
	return map[string]any{"symbol": h.names[m], "markPrice": orZero(mk), "indexPrice": idx, "estimatedSettlePrice": idx,
		"lastFundingRate": intervalRate(fv.Rate, fv.Interval), "interestRate": interest, "nextFundingTime": fv.Next / 1e6,
		"time": now / 1e6}
}

func (h *Handler) getPremiumIndex(w http.ResponseWriter, _ *http.Request, p params) *Error {
	return h.writeEach(w, p, h.premiumIndex)
}

func (h *Handler) getFundingRate(w http.ResponseWriter, _ *http.Request, p params) *Error {
	win, e := windowParams(p, 100, 1000, "")
	if e != nil {
		return e
	}
	markets := []engine.MarketID{}
	if p.has("symbol") {
		m, e := h.market(p.get("symbol"))
		if e != nil {
			return e
		}
		markets = append(markets, m)
	} else {
		for i := range h.specs {
			markets = append(markets, engine.MarketID(i))
		}
	}
	out := make([]map[string]any, 0)
	for _, m := range markets {
		var fv engine.FundingView
		h.x.View(func(e *engine.Engine) { fv, _ = e.Funding(m) })
		for _, r := range fv.History { // oldest first, as Binance
			at := r.At / 1e6
			if !win.admits(0, at) {
				continue
			}
			mk := "0"
			if r.Mark > 0 {
				mk = h.specs[m].Spec.FormatPrice(r.Mark)
			}
			out = append(out, map[string]any{"symbol": h.names[m], "fundingRate": intervalRate(r.Rate, fv.Interval),
				"fundingTime": at, "markPrice": mk})
		}
	}
	writeJSON(w, 200, clip(win, out))
	return nil
}

func (h *Handler) getFundingInfo(w http.ResponseWriter, _ *http.Request, _ params) *Error {
	out := make([]map[string]any, 0, len(h.specs))
	for i := range h.specs {
		var fv engine.FundingView
		h.x.View(func(e *engine.Engine) { fv, _ = e.Funding(engine.MarketID(i)) })
		c := intervalRate(fv.Predicted.Cap, fv.Interval)
		out = append(out, map[string]any{"symbol": h.names[i], "adjustedFundingRateCap": c,
			"adjustedFundingRateFloor": "-" + strings.TrimPrefix(c, "-"), "fundingIntervalHours": fv.Interval / 3_600_000_000_000,
			"disclaimer": false})
	}
	writeJSON(w, 200, out)
	return nil
}
