// Package bots holds the demo's simulated traders. They trade through the
// real REST API with signed requests (package client), exactly as an
// external bot would: a market maker quoting a ladder around a fair price,
// and takers that cross the spread at random.
package bots

import (
	"context"
	"log/slog"
	"math/rand/v2"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/sampan-hk/sampan/client"
	"github.com/sampan-hk/sampan/core/fixed"
)

// Market is what a bot needs to know about one market.
type Market struct {
	Symbol string
	Spec   fixed.Spec
	// Fair returns the current fair price in ticks (the simulated feed).
	Fair func() fixed.Price
}

// Stats counts what the bots did, for the demo's status line.
type Stats struct {
	Orders, Rejected atomic.Int64
}

// Maker requotes a ladder of post-only orders around fair every Every.
type Maker struct {
	C      *client.Client
	M      Market
	Levels int
	// SpreadTicks is the distance of the first level from fair; StepTicks
	// separates levels.
	SpreadTicks, StepTicks int64
	Size                   fixed.Qty // lots per level
	Every                  time.Duration
	Stats                  *Stats
	Log                    *slog.Logger
}

// Run quotes until ctx ends, then cancels its orders.
func (b *Maker) Run(ctx context.Context) {
	t := time.NewTicker(b.Every)
	defer t.Stop()
	defer func() {
		c, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		_ = b.C.CancelAll(c, b.M.Symbol)
	}()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			b.requote(ctx)
		}
	}
}

func (b *Maker) requote(ctx context.Context) {
	if err := b.C.CancelAll(ctx, b.M.Symbol); err != nil && ctx.Err() == nil {
		b.Log.Debug("maker cancel-all", "symbol", b.M.Symbol, "err", err)
	}
	fair := b.M.Fair()
	orders := make([]client.Order, 0, 2*b.Levels)
	for i := 0; i < b.Levels; i++ {
		off := fixed.Price(b.SpreadTicks + int64(i)*b.StepTicks)
		q := b.M.Spec.FormatQty(b.Size * fixed.Qty(1+i))
		orders = append(orders,
			client.Order{Symbol: b.M.Symbol, Side: "buy", Type: "limit", PostOnly: true, Price: b.M.Spec.FormatPrice(fair - off), Qty: q},
			client.Order{Symbol: b.M.Symbol, Side: "sell", Type: "limit", PostOnly: true, Price: b.M.Spec.FormatPrice(fair + off), Qty: q})
	}
	var out map[string]any
	err := b.C.Do(ctx, "POST", "/v1/orders/batch", map[string]any{"orders": orders}, &out)
	b.Stats.Orders.Add(int64(len(orders)))
	if err != nil && ctx.Err() == nil {
		b.Stats.Rejected.Add(int64(len(orders)))
		b.Log.Debug("maker batch", "symbol", b.M.Symbol, "err", err)
	}
}

// Taker sends a market order of random size and side at random intervals
// averaging Every.
type Taker struct {
	C     *client.Client
	M     Market
	Max   fixed.Qty // largest order, in lots
	Every time.Duration
	Seed  uint64
	Stats *Stats
	Log   *slog.Logger
	n     int
}

// Run trades until ctx ends.
func (b *Taker) Run(ctx context.Context) {
	rng := rand.New(rand.NewPCG(b.Seed, b.Seed^0x7a))
	for {
		d := time.Duration(rng.Int64N(int64(2*b.Every)) + 1)
		select {
		case <-ctx.Done():
			return
		case <-time.After(d):
		}
		side := "buy"
		if rng.IntN(2) == 0 {
			side = "sell"
		}
		b.n++
		q := fixed.Qty(1 + rng.Int64N(int64(b.Max)))
		o := client.Order{Symbol: b.M.Symbol, Side: side, Type: "market", Qty: b.M.Spec.FormatQty(q),
			ClientOrderID: "taker-" + strconv.FormatUint(b.Seed, 10) + "-" + strconv.Itoa(b.n)}
		_, err := b.C.Place(ctx, o)
		b.Stats.Orders.Add(1)
		if err != nil && ctx.Err() == nil {
			b.Stats.Rejected.Add(1)
			b.Log.Debug("taker order", "symbol", b.M.Symbol, "err", err)
		}
	}
}
