package main

import (
	"errors"
	"os"

	"github.com/spf13/cobra"

	"github.com/sampan-hk/sampan/journal"
)

// engineFactory makes an empty engine for offline replay. It stays nil
// until the engine's journal adapter sets it (from an init in its own
// file); verify and replay refuse to run without it rather than replay
// into a stand-in.
var engineFactory journal.Factory

var errNoEngine = errors.New("no engine state machine is linked into this build (engineFactory is nil)")

func init() {
	var dir string
	c := &cobra.Command{
		Use:   "verify --data DIR",
		Short: "Replay the log from the start and from the latest snapshot; compare state hashes and check the audit chain",
		Long: `verify rebuilds engine state twice from a stopped node's data directory:
from the first log entry, and from the latest snapshot plus the log after
it. It prints both state hashes and audit chain heads, whether they match,
whether the snapshot equals the from-start replay at the snapshot's index,
and rechecks every record of audit.log against the recomputed hash chain.
It exits non-zero unless everything matches.`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if engineFactory == nil {
				return errNoEngine
			}
			dir := journalDirOf(dir)
			factoryDir = dir
			rep, err := journal.Verify(dir, engineFactory)
			if err != nil {
				return err
			}
			rep.Print(os.Stdout)
			if !rep.OK {
				return errors.New("verification failed")
			}
			return nil
		},
	}
	c.Flags().StringVar(&dir, "data", "", "data directory of a stopped node (DATA or DATA/journal)")
	c.MarkFlagRequired("data")
	rootCmd.AddCommand(c)
}
