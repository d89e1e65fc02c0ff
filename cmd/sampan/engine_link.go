package main

import (
	"github.com/sampan-hk/sampan/exchange"
	"github.com/sampan-hk/sampan/journal"
)

// factoryDir is the journal directory the offline tools (verify, replay,
// audit export) work on; the engine they rebuild must use that directory's
// genesis configuration, exactly as the node that wrote it did.
var factoryDir string

// The engine is the journal's state machine: verify and replay rebuild it
// from a data directory with the configuration recorded there.
func init() {
	engineFactory = func() journal.StateMachine {
		cfg, err := engineConfig(factoryDir, nil, false)
		if err != nil {
			panic(err)
		}
		m, err := exchange.NewMachine(cfg)
		if err != nil {
			panic(err) // the configuration was validated by engineConfig
		}
		return m
	}
}
