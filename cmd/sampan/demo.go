package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/sampan-hk/sampan/core/book"
	"github.com/sampan-hk/sampan/core/fixed"
	"github.com/sampan-hk/sampan/sim/market"
)

func init() {
	var duration time.Duration
	var seed uint64
	c := &cobra.Command{
		Use:   "demo",
		Short: "Run a simulated BTC-USD market and print its book and trades",
		Long: `demo runs Sampan's order book with simulated market makers and takers
around a random-walk fair price, printing the top of the book and the trades
once a second. Stop it with Ctrl-C (or --duration).`,
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			if duration > 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, duration)
				defer cancel()
			}
			return runDemo(ctx, seed)
		},
	}
	c.Flags().DurationVar(&duration, "duration", 0, "stop after this long (0: run until Ctrl-C)")
	c.Flags().Uint64Var(&seed, "seed", uint64(time.Now().UnixNano()), "simulation seed")
	rootCmd.AddCommand(c)
}

func demoSpec() fixed.Spec {
	s := fixed.Spec{Tick: fixed.Step{Units: 1, Scale: 1}, Lot: fixed.Step{Units: 1, Scale: 3}, Multiplier: 1,
		QuoteDecimals: 6, BaseDecimals: 8, MaxPrice: 1<<24 - 1, MaxQty: 1_000_000}
	if err := s.Validate(); err != nil {
		panic(err)
	}
	return s
}

func runDemo(ctx context.Context, seed uint64) error {
	spec := demoSpec()
	sim := market.New(spec, 650_000, seed)
	fmt.Printf("Sampan demo: simulated BTC-USD-PERP book (seed %d). Ctrl-C to stop.\n", seed)
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	step := time.NewTicker(20 * time.Millisecond)
	defer step.Stop()
	for {
		select {
		case <-ctx.Done():
			fmt.Printf("\nstopped after %d steps; volume %s BTC\n", sim.Steps, spec.FormatQty(sim.Volume))
			return nil
		case <-step.C:
			sim.Step()
		case <-tick.C:
			fmt.Print(renderDemo(&spec, sim))
		}
	}
}

func renderDemo(spec *fixed.Spec, sim *market.Sim) string {
	var sb strings.Builder
	fmt.Fprintf(&sb, "\n— fair %s — %d resting orders on %d levels — volume %s BTC —\n",
		spec.FormatPrice(sim.Fair), sim.Book.Len(), sim.Book.LevelCount(), spec.FormatQty(sim.Volume))
	asks := sim.Book.Depth(book.Sell, 5, nil)
	bids := sim.Book.Depth(book.Buy, 5, nil)
	for i := len(asks) - 1; i >= 0; i-- {
		fmt.Fprintf(&sb, "  ask %12s  %10s\n", px(spec, asks[i].Price), qx(spec, asks[i].Qty))
	}
	fmt.Fprintln(&sb, "  ---------------------------")
	for _, l := range bids {
		fmt.Fprintf(&sb, "  bid %12s  %10s\n", px(spec, l.Price), qx(spec, l.Qty))
	}
	trades := sim.Drain()
	shown := trades
	if len(shown) > 5 {
		shown = shown[len(shown)-5:]
	}
	fmt.Fprintf(&sb, "  %d trades this second; last:", len(trades))
	for _, t := range shown {
		fmt.Fprintf(&sb, " %s %s@%s", t.Side, spec.FormatQty(t.Qty), spec.FormatPrice(t.Price))
	}
	sb.WriteString("\n")
	return sb.String()
}

// px and qx format with all decimals so columns line up.
func px(s *fixed.Spec, p fixed.Price) string {
	return fixed.FormatDecimal(int64(p)*s.Tick.Units, s.Tick.Scale)
}

func qx(s *fixed.Spec, q fixed.Qty) string {
	return fixed.FormatDecimal(int64(q)*s.Lot.Units, s.Lot.Scale)
}
