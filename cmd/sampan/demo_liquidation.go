package main

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/sampan-hk/sampan/client"
	"github.com/sampan-hk/sampan/core/engine"
	"github.com/sampan-hk/sampan/core/fixed"
)

// The demo's liquidation scenario, on a fresh data directory: dave (about
// 7×) and frank (about 9.5×) open ETH-USD-PERP longs a few seconds after
// start, then the simulated ETH price falls 0.25% a second for 48 seconds
// (about −11%). frank's liquidation price is about 10% below his entry, so
// he is liquidated within the first minute; dave's is about 14% below, so
// he ends a few percent from it — near liquidation in the Risk view. The
// insurance fund is seeded first, so the fund (not ADL) absorbs what the
// book cannot. ETH only: BTC is the financing clients' collateral, and a
// BTC fall would turn erin's margin call into a close-out.
const (
	demoFallStart = 10 * time.Second
	demoFallSteps = 48
	demoFallPpm   = -2_500
	demoFundUSD   = 250_000
)

// demoLong is one scripted position: the client, its leverage in tenths.
type demoLong struct {
	name  string
	lev10 int64
}

var demoLongs = []demoLong{{"dave", 70}, {"frank", 95}}

// leveragedLongs seeds the insurance fund, opens the scripted longs once the
// makers quote, then runs the ETH fall.
func leveragedLongs(ctx context.Context, s *service, st *demoState, feeds *simFeeds) {
	ops := operatorClient(s, st, "operations")
	pay := map[string]any{"amount": strconv.Itoa(demoFundUSD), "idempotency_key": "demo-insurance-seed"}
	if err := ops.Do(ctx, "POST", "/v1/admin/insurance/deposits", pay, nil); err != nil && ctx.Err() == nil {
		fmt.Println("note: paying into the insurance fund failed:", err)
	}
	if !sleepCtx(ctx, 3*time.Second) {
		return
	}
	m, ok := demoMarket(s, "ETH-USD-PERP")
	if !ok {
		return
	}
	for _, l := range demoLongs {
		openLong(ctx, s, st, m, l)
	}
	if !sleepCtx(ctx, demoFallStart-3*time.Second) {
		return
	}
	for range demoFallSteps {
		feeds.shift("ETH", demoFallPpm)
		if !sleepCtx(ctx, time.Second) {
			return
		}
	}
}

// openLong buys, by an IOC a little above the mark, the quantity that puts
// the client's deposit at l.lev10/10 times leverage. (A market order would
// be checked at its band-edge worst price, which a nearly fully levered
// account cannot afford.)
func openLong(ctx context.Context, s *service, st *demoState, m engine.MarketSpec, l demoLong) {
	var tk map[string]any
	_ = client.New(s.URL(), "", "").Do(ctx, "GET", "/v1/markets/"+m.Symbol+"/ticker", nil, &tk)
	mark, _ := tk["mark"].(string)
	p, err := m.Spec.ParsePrice(mark)
	if err != nil {
		fmt.Printf("note: no mark yet for %s's opening order: %v\n", l.name, err)
		return
	}
	var dep string
	for _, d := range demoClients {
		if d.Name == l.name {
			dep = d.DepositUSD
		}
	}
	limit := m.Spec.FormatPrice(p + p/1000)
	cents, _ := fixed.ParseDecimal(dep, 2)
	notional := fixed.FormatDecimal(cents*l.lev10/10, 2)
	o := client.Order{Symbol: m.Symbol, Side: "buy", Type: "limit", TimeInForce: "IOC", Price: limit,
		Qty: demoQty(m, notional, limit), ClientOrderID: l.name + "-open"}
	if _, err := clientFor(s, st, l.name).Place(ctx, o); err != nil && ctx.Err() == nil {
		fmt.Printf("note: %s's opening order was refused: %v\n", l.name, err)
	}
}

func demoMarket(s *service, symbol string) (engine.MarketSpec, bool) {
	for _, m := range demoMarkets(s) {
		if m.Symbol == symbol {
			return m, true
		}
	}
	return engine.MarketSpec{}, false
}

// sleepCtx waits d unless ctx ends first (false).
func sleepCtx(ctx context.Context, d time.Duration) bool {
	select {
	case <-ctx.Done():
		return false
	case <-time.After(d):
		return true
	}
}
