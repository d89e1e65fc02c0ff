package binance

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/sampan-hk/sampan/core/engine"
	"github.com/sampan-hk/sampan/core/fixed"
	"github.com/sampan-hk/sampan/gateway"
)

func (h *Handler) postLeverage(w http.ResponseWriter, r *http.Request, p params, k *gateway.Key) *Error {
	m, e := h.market(p.get("symbol"))
	if e != nil {
		return e
	}
	if !p.has("leverage") {
		return mandatory("leverage")
	}
	lev, err := strconv.ParseInt(p.get("leverage"), 10, 64)
	if err != nil {
		return errf(400, CodeIllegalChars, "Illegal characters found in parameter 'leverage'; legal range is '^[0-9]{1,20}$'.")
	}
	if lev < 1 || lev > engine.LeverageMax {
		return engineError(engine.CodeLeverageOutOfRange, lev)
	}
	res, e := h.submit(r.Context(), &engine.Command{Kind: engine.CmdSetLeverage, Client: engine.ClientID(k.Account), Market: m, Leverage: uint16(lev)})
	if e != nil {
		return e
	}
	if res.Code != engine.OK {
		return engineError(res.Code, lev)
	}
	sp := &h.specs[m].Spec
	writeJSON(w, 200, map[string]any{"leverage": lev, "maxNotionalValue": sp.FormatAmount(h.maxNotional(m, lev)), "symbol": h.names[m]})
	return nil
}

// maxNotional is the largest bracket cap whose maximum leverage allows lev.
func (h *Handler) maxNotional(m engine.MarketID, lev int64) fixed.Amount {
	var cap fixed.Amount
	for _, b := range h.specs[m].Brackets {
		if b.MaxLeverage >= lev {
			cap = b.Cap
		}
	}
	return cap
}

// postMarginType: Sampan margins every derivatives account cross, so
// CROSSED is "no need to change" (as Binance answers when already set) and
// ISOLATED is not supported.
func (h *Handler) postMarginType(w http.ResponseWriter, _ *http.Request, p params, _ *gateway.Key) *Error {
	if _, e := h.market(p.get("symbol")); e != nil {
		return e
	}
	switch p.get("marginType") {
	case "CROSSED", "CROSS":
		return errf(400, CodeNoNeedMarginType, "No need to change margin type.")
	case "ISOLATED":
		return errf(400, CodeUnsupportedOp, "This operation is not supported: Sampan margins each derivatives account in cross mode only.")
	case "":
		return mandatory("marginType")
	}
	return invalidParam("marginType")
}

func (h *Handler) brackets(m engine.MarketID) map[string]any {
	sp := &h.specs[m].Spec
	out := []map[string]any{}
	var floor fixed.Amount
	for i, b := range h.specs[m].Brackets {
		out = append(out, map[string]any{"bracket": i + 1, "initialLeverage": b.MaxLeverage, "notionalCap": num(sp.FormatAmount(b.Cap)),
			"notionalFloor": num(sp.FormatAmount(floor)), "maintMarginRatio": num(ppm(b.MMR)), "cum": num(sp.FormatAmount(b.MaintAmount))})
		floor = b.Cap
	}
	return map[string]any{"symbol": h.names[m], "brackets": out}
}

func (h *Handler) getLeverageBracket(w http.ResponseWriter, _ *http.Request, p params, _ *gateway.Key) *Error {
	if p.has("symbol") {
		m, e := h.market(p.get("symbol"))
		if e != nil {
			return e
		}
		writeJSON(w, 200, []any{h.brackets(m)})
		return nil
	}
	out := []any{}
	for i := range h.specs {
		out = append(out, h.brackets(engine.MarketID(i)))
	}
	writeJSON(w, 200, out)
	return nil
}

func (h *Handler) getDual(w http.ResponseWriter, _ *http.Request, _ params, _ *gateway.Key) *Error {
	writeJSON(w, 200, map[string]any{"dualSidePosition": false})
	return nil
}

func (h *Handler) getMultiAssets(w http.ResponseWriter, _ *http.Request, _ params, _ *gateway.Key) *Error {
	writeJSON(w, 200, map[string]any{"multiAssetsMargin": false})
	return nil
}

func (h *Handler) getCommissionRate(w http.ResponseWriter, _ *http.Request, p params, _ *gateway.Key) *Error {
	m, e := h.market(p.get("symbol"))
	if e != nil {
		return e
	}
	writeJSON(w, 200, map[string]any{"symbol": h.names[m], "makerCommissionRate": ppm(h.specs[m].MakerFee),
		"takerCommissionRate": ppm(h.specs[m].TakerFee)})
	return nil
}

// snapshot reads a client's account and positions in one engine view.
func (h *Handler) snapshot(client engine.ClientID) (engine.AccountView, []engine.PositionView, []int64, int64, bool) {
	var a engine.AccountView
	var ps []engine.PositionView
	var ok bool
	var now int64
	levs := make([]int64, len(h.specs))
	h.x.View(func(e *engine.Engine) {
		a, ok = e.Account(client)
		ps = e.Positions(client, nil)
		now = e.Now()
		for i := range levs {
			levs[i] = e.Leverage(client, engine.MarketID(i))
		}
	})
	return a, ps, levs, now / 1e6, ok
}

func signed(size fixed.Qty, a fixed.Amount) fixed.Amount {
	if (size < 0) != (a < 0) && a != 0 {
		return -a
	}
	return a
}

func nonNeg(a fixed.Amount) fixed.Amount { return max(a, 0) }

func (h *Handler) getAccount(w http.ResponseWriter, _ *http.Request, _ params, k *gateway.Key, version string) *Error {
	a, ps, levs, now, ok := h.snapshot(engine.ClientID(k.Account))
	if !ok {
		return errKey
	}
	u := h.usd
	asset := map[string]any{"asset": h.cfg.SettleAsset, "walletBalance": u(a.Collateral), "unrealizedProfit": u(a.Unrealized),
		"marginBalance": u(a.Equity), "maintMargin": u(a.MM), "initialMargin": u(a.Required), "positionInitialMargin": u(a.IM),
		"openOrderInitialMargin": u(a.OrderMargin), "crossWalletBalance": u(a.Collateral), "crossUnPnl": u(a.Unrealized),
		"availableBalance": u(nonNeg(a.Available)), "maxWithdrawAmount": u(nonNeg(min(a.Available, a.Collateral))),
		"marginAvailable": true, "updateTime": now}
	positions := []map[string]any{}
	byMarket := map[engine.MarketID]engine.PositionView{}
	for _, p := range ps {
		byMarket[p.Market] = p
	}
	for i := range h.specs {
		m := engine.MarketID(i)
		p, open := byMarket[m]
		if !open && version == "v3" {
			continue
		}
		sp := &h.specs[m].Spec
		j := map[string]any{"symbol": h.names[m], "positionSide": "BOTH", "positionAmt": sp.FormatQty(p.Size),
			"unrealizedProfit": sp.FormatAmount(p.Unrealized), "isolatedMargin": "0", "notional": sp.FormatAmount(signed(p.Size, p.Notional)),
			"isolatedWallet": "0", "initialMargin": sp.FormatAmount(p.IM), "maintMargin": sp.FormatAmount(p.MM), "updateTime": now}
		if version == "v2" {
			j["leverage"] = strconv.FormatInt(levs[m], 10)
			j["entryPrice"] = sp.FormatPrice(p.EntryPrice)
			j["maxNotional"] = sp.FormatAmount(h.maxNotional(m, levs[m]))
			j["isolated"] = false
			j["positionInitialMargin"] = sp.FormatAmount(p.IM)
			j["openOrderInitialMargin"] = "0"
			j["bidNotional"], j["askNotional"] = "0", "0"
		}
		positions = append(positions, j)
	}
	out := map[string]any{"totalInitialMargin": u(a.Required), "totalMaintMargin": u(a.MM), "totalWalletBalance": u(a.Collateral),
		"totalUnrealizedProfit": u(a.Unrealized), "totalMarginBalance": u(a.Equity), "totalPositionInitialMargin": u(a.IM),
		"totalOpenOrderInitialMargin": u(a.OrderMargin), "totalCrossWalletBalance": u(a.Collateral), "totalCrossUnPnl": u(a.Unrealized),
		"availableBalance": u(nonNeg(a.Available)), "maxWithdrawAmount": u(nonNeg(min(a.Available, a.Collateral))),
		"assets": []any{asset}, "positions": positions}
	if version == "v2" {
		out["feeTier"], out["canTrade"], out["canDeposit"], out["canWithdraw"] = 0, a.Eligible, false, k.Has(gateway.PermWithdraw)
		out["feeBurn"], out["tradeGroupId"], out["updateTime"], out["multiAssetsMargin"] = false, -1, 0, false
	}
	writeJSON(w, 200, out)
	return nil
}

func (h *Handler) getBalance(w http.ResponseWriter, _ *http.Request, _ params, k *gateway.Key) *Error {
	a, _, _, now, ok := h.snapshot(engine.ClientID(k.Account))
	if !ok {
		return errKey
	}
	u := h.usd
	writeJSON(w, 200, []any{map[string]any{"accountAlias": "SAMPAN", "asset": h.cfg.SettleAsset, "balance": u(a.Collateral),
		"crossWalletBalance": u(a.Collateral), "crossUnPnl": u(a.Unrealized), "availableBalance": u(nonNeg(a.Available)),
		"maxWithdrawAmount": u(nonNeg(min(a.Available, a.Collateral))), "marginAvailable": true, "updateTime": now}})
	return nil
}

// getPositionRisk: v2 lists every market (zero rows included) with
// leverage and margin type; v3 lists open positions only, and — beyond
// Binance's v3 — also carries leverage and marginType, which Sampan users
// asked to see next to the liquidation price.
func (h *Handler) getPositionRisk(w http.ResponseWriter, _ *http.Request, p params, k *gateway.Key, version string) *Error {
	only, e := h.optMarket(p)
	if e != nil {
		return e
	}
	_, ps, levs, now, ok := h.snapshot(engine.ClientID(k.Account))
	if !ok {
		return errKey
	}
	byMarket := map[engine.MarketID]engine.PositionView{}
	for _, p := range ps {
		byMarket[p.Market] = p
	}
	var mark fixed.Price
	out := []map[string]any{}
	for i := range h.specs {
		m := engine.MarketID(i)
		if only != engine.AllMarkets && m != only {
			continue
		}
		pv, open := byMarket[m]
		if !open && version == "v3" {
			continue
		}
		sp := &h.specs[m].Spec
		mark = pv.Mark
		if !open {
			h.x.View(func(e *engine.Engine) { mark = e.Mark(m) })
		}
		liq := "0"
		if pv.LiqPrice > 0 {
			liq = sp.FormatPrice(pv.LiqPrice)
		}
		j := map[string]any{"symbol": h.names[m], "positionSide": "BOTH", "positionAmt": sp.FormatQty(pv.Size),
			"entryPrice": sp.FormatPrice(pv.EntryPrice), "breakEvenPrice": sp.FormatPrice(pv.EntryPrice),
			"markPrice": sp.FormatPrice(mark), "unRealizedProfit": sp.FormatAmount(pv.Unrealized), "liquidationPrice": liq,
			"isolatedMargin": "0", "notional": sp.FormatAmount(signed(pv.Size, pv.Notional)), "marginAsset": h.cfg.SettleAsset,
			"isolatedWallet": "0", "initialMargin": sp.FormatAmount(pv.IM), "maintMargin": sp.FormatAmount(pv.MM),
			"positionInitialMargin": sp.FormatAmount(pv.IM), "openOrderInitialMargin": "0", "adl": pv.AdlQuantile,
			"bidNotional": "0", "askNotional": "0", "updateTime": now,
			"leverage": strconv.FormatInt(levs[m], 10), "marginType": "cross"}
		if version == "v2" {
			j["maxNotionalValue"] = sp.FormatAmount(h.maxNotional(m, levs[m]))
			j["isolated"] = false
			j["isAutoAddMargin"] = "false"
		}
		out = append(out, j)
	}
	writeJSON(w, 200, out)
	return nil
}

// getAdlQuantile answers GET /fapi/v1/adlQuantile: per market with an
// open position, the engine's last published ADL quantile (1–5; 0 before
// the first ranking). Sampan is one-way mode only, so the quantile is under
// "BOTH" and LONG/SHORT are 0, as Binance answers for one-way positions.
func (h *Handler) getAdlQuantile(w http.ResponseWriter, _ *http.Request, p params, k *gateway.Key) *Error {
	only, e := h.optMarket(p)
	if e != nil {
		return e
	}
	_, ps, _, _, ok := h.snapshot(engine.ClientID(k.Account))
	if !ok {
		return errKey
	}
	out := []map[string]any{}
	for _, pv := range ps {
		if only != engine.AllMarkets && pv.Market != only {
			continue
		}
		out = append(out, map[string]any{"symbol": h.names[pv.Market],
			"adlQuantile": map[string]any{"LONG": 0, "SHORT": 0, "BOTH": pv.AdlQuantile}})
	}
	writeJSON(w, 200, out)
	return nil
}

// getCapitalConfig answers GET /sapi/v1/capital/config/getall, which ccxt
// calls while loading markets when keys are set: the settlement asset and
// the underlyings, none depositable or withdrawable through this API.
func (h *Handler) getCapitalConfig(w http.ResponseWriter, _ *http.Request, _ params, _ *gateway.Key) *Error {
	coins := []string{h.cfg.SettleAsset}
	seen := map[string]bool{h.cfg.SettleAsset: true}
	for i := range h.specs {
		base := strings.TrimSuffix(h.names[i], h.cfg.SettleAsset)
		if !seen[base] {
			seen[base] = true
			coins = append(coins, base)
		}
	}
	out := []map[string]any{}
	for _, c := range coins {
		out = append(out, map[string]any{"coin": c, "name": c, "depositAllEnable": false, "withdrawAllEnable": false,
			"free": "0", "locked": "0", "freeze": "0", "withdrawing": "0", "ipoing": "0", "ipoable": "0", "storage": "0",
			"isLegalMoney": false, "trading": true, "networkList": []any{}})
	}
	writeJSON(w, 200, out)
	return nil
}
