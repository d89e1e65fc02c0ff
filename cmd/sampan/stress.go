package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/sampan-hk/sampan/client"
	"github.com/sampan-hk/sampan/core/engine"
	"github.com/sampan-hk/sampan/exchange"
	"github.com/sampan-hk/sampan/gateway"
	"github.com/sampan-hk/sampan/journal"
)

// `sampan stress` writes the margin book's stress test (the default
// scenarios, docs/margin-financing.md §8) as JSON or CSV: offline from a
// stopped node's data directory, rebuilt from its latest snapshot and the
// log after it with the directory's genesis configuration (as `verify` and
// `replay` do), or from a running node's API. Both give exactly what GET
// /v1/admin/financing/stress answers for the same state.

var errStressFormat = errors.New("--format must be json or csv")

func init() {
	var dir, format, out, url, key, secret string
	c := &cobra.Command{
		Use:   "stress (--data DIR | --url URL --key K --secret S) [--format json|csv] [--out FILE]",
		Short: "Run the margin-financing stress test (BTC/ETH −30%/−50%, equities −20%, combined) and write it as JSON or CSV",
		Long: `stress values every margin client's account under the default price shocks
and writes, per scenario, each client's debit, market value, lending value,
shortfall (the call the shock would raise) and loss (what the firm loses if
the client defaults), with an ALL total row and the loss as a share of
capital. With --data it replays a stopped node's data directory (the node's
--data or its journal directory); with --url it asks a running node (an
operator key with view_risk: risk officer, admin or auditor).`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if format != "json" && format != "csv" {
				return errStressFormat
			}
			var rep gateway.StressReport
			var err error
			switch {
			case dir != "" && url == "":
				rep, err = stressOffline(dir)
			case url != "" && dir == "":
				rep, err = stressOnline(cmd.Context(), url, key, secret)
			default:
				return errors.New("give either --data DIR or --url URL (with --key and --secret)")
			}
			if err != nil {
				return err
			}
			return writeStress(rep, format, out, cmd.OutOrStdout())
		},
	}
	c.Flags().StringVar(&dir, "data", "", "data directory of a stopped node (or its journal directory)")
	c.Flags().StringVar(&format, "format", "json", "json or csv")
	c.Flags().StringVar(&out, "out", "", "write to this file instead of standard output")
	c.Flags().StringVar(&url, "url", "", "base URL of a running node, e.g. http://127.0.0.1:8080")
	c.Flags().StringVar(&key, "key", "", "operator API key (with --url)")
	c.Flags().StringVar(&secret, "secret", "", "operator API secret (with --url)")
	rootCmd.AddCommand(c)
}

// stressOffline rebuilds the engine from the directory and runs the test.
func stressOffline(dir string) (gateway.StressReport, error) {
	jdir := journalDirOf(dir)
	if _, err := os.Stat(filepath.Join(jdir, "wal")); err != nil {
		return gateway.StressReport{}, fmt.Errorf("%s is not a data directory (no journal): %w", dir, err)
	}
	cfg, err := engineConfig(jdir, nil, false)
	if err != nil {
		return gateway.StressReport{}, err
	}
	m, err := exchange.NewMachine(cfg)
	if err != nil {
		return gateway.StressReport{}, err
	}
	if _, err := journal.Replay(jdir, m, journal.ReplayOptions{FromSnapshot: true}); err != nil {
		return gateway.StressReport{}, err
	}
	var rep gateway.StressReport
	var ok bool
	m.View(func(e *engine.Engine) { rep, ok = gateway.NewStressReport(e) })
	if !ok {
		return rep, fmt.Errorf("%s: margin financing is not enabled in this data directory (its genesis predates it)", dir)
	}
	return rep, nil
}

func stressOnline(ctx context.Context, url, key, secret string) (gateway.StressReport, error) {
	var rep gateway.StressReport
	if key == "" || secret == "" {
		return rep, errors.New("--url needs --key and --secret (an operator key with view_risk)")
	}
	err := client.New(url, key, secret).Do(ctx, "GET", "/v1/admin/financing/stress", nil, &rep)
	return rep, err
}

func writeStress(rep gateway.StressReport, format, out string, stdout io.Writer) error {
	var data []byte
	if format == "csv" {
		data = gateway.StressCSV(rep.Records)
	} else {
		var err error
		if data, err = json.MarshalIndent(rep, "", "  "); err != nil {
			return err
		}
		data = append(data, '\n')
	}
	if out == "" {
		_, err := stdout.Write(data)
		return err
	}
	return os.WriteFile(out, data, 0o600)
}
