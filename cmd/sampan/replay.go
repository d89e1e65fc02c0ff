package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/sampan-hk/sampan/journal"
)

// accountView is what the engine's state machine implements so that
// `replay --account` can print one account: its state, and a line for each
// event of a command that touched it. The journal sees events only as bytes.
type accountView interface {
	AccountState(id string) (string, error)
	AccountEvents(events []byte, id string) []string
}

func init() {
	var dir, account string
	var until uint64
	c := &cobra.Command{
		Use:   "replay --data DIR --until N [--account ID]",
		Short: "Rebuild state up to log entry N; print an account's state and the events that changed it",
		RunE: func(cmd *cobra.Command, args []string) error {
			if engineFactory == nil {
				return errNoEngine
			}
			dir := journalDirOf(dir)
			factoryDir = dir
			sm := engineFactory()
			view, _ := sm.(accountView)
			if account != "" && view == nil {
				return fmt.Errorf("the engine does not implement account views")
			}
			opt := journal.ReplayOptions{Until: until}
			if account != "" {
				opt.Observe = func(index uint64, now int64, cmd, result, events []byte) {
					for _, line := range view.AccountEvents(events, account) {
						fmt.Printf("%d\t%d\t%s\n", index, now, line)
					}
				}
			}
			res, err := journal.Replay(dir, sm, opt)
			if err != nil {
				return err
			}
			fmt.Printf("replayed to index %d (%d batches, %d commands), engine time %d\nstate %x\nchain %x\n",
				res.Index, res.Batches, res.Commands, res.Time, res.StateHash, res.Chain)
			if account != "" {
				st, err := view.AccountState(account)
				if err != nil {
					return err
				}
				fmt.Printf("account %s: %s\n", account, st)
			}
			return nil
		},
	}
	c.Flags().StringVar(&dir, "data", "", "data directory of a stopped node (DATA or DATA/journal)")
	c.Flags().Uint64Var(&until, "until", 0, "last log index to apply (0: the whole log)")
	c.Flags().StringVar(&account, "account", "", "account to show")
	c.MarkFlagRequired("data")
	rootCmd.AddCommand(c)
}
