package main

import (
	"github.com/sampan-hk/sampan/core/engine"
	"github.com/sampan-hk/sampan/exchange"
	"github.com/sampan-hk/sampan/journal"
)

// The engine is the journal's state machine: verify and replay rebuild it
// from a data directory with the same configuration serve runs with.
func init() {
	engineFactory = func() journal.StateMachine {
		m, err := exchange.NewMachine(engine.DefaultConfig())
		if err != nil {
			panic(err) // the default configuration is validated by tests
		}
		return m
	}
}
