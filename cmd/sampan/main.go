// Command sampan is Sampan's one binary: serve, demo, replay, verify,
// report and bench all live here as subcommands.
package main

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"
)

var rootCmd = &cobra.Command{
	Use:   "sampan",
	Short: "Sampan: perpetual contracts and margin financing core",
	Long: `Sampan is the open-source core a licensed virtual-asset firm runs to offer
perpetual contracts to professional investors and margin financing against
BTC/ETH and securities collateral.`,
	SilenceUsage: true,
}

func main() {
	if err := rootCmd.Execute(); err != nil {
		fmt.Fprintln(os.Stderr, "sampan:", err)
		os.Exit(1)
	}
}
