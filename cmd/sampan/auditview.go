package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/sampan-hk/sampan/exchange"
	"github.com/sampan-hk/sampan/gateway"
	"github.com/sampan-hk/sampan/journal"
)

// auditSubscriptionBuffer is how many event batches the live audit trail
// may fall behind the engine before the exchange drops it. Chaining a
// batch is a few hashes, so only a stalled process gets there.
const auditSubscriptionBuffer = 1 << 16

// startAuditTrail builds the node's live audit trail (GET /v1/admin/audit)
// so that it holds exactly the records `sampan audit export` would write:
//
//  1. Before the node opens its journal (journal.Replay must not run
//     while a node has the log open), replay the whole journal into a
//     scratch engine built from the directory's genesis, as the export
//     does, chaining every event.
//  2. Subscribe to the live machine, still before the node opens, and
//     follow it: the events raft re-applies on start-up are already in
//     the chain and are skipped by sequence number, later ones extend it.
//
// A fresh data directory has nothing to replay. A journal that cannot be
// replayed from its first entry (compacted) cannot be chained; the node
// still starts and the trail reports why it has no chain, as the export
// would fail on the same directory.
func startAuditTrail(jdir string, m *exchange.Machine) *gateway.AuditTrail {
	trail := gateway.NewAuditTrail(gateway.DefaultAuditKeep)
	if err := seedAuditTrail(jdir, trail); err != nil {
		trail.Fail(fmt.Errorf("audit trail unavailable: %w", err))
		return trail
	}
	go trail.Follow(m.Subscribe(auditSubscriptionBuffer))
	return trail
}

func seedAuditTrail(jdir string, trail *gateway.AuditTrail) error {
	if _, err := os.Stat(filepath.Join(jdir, "wal")); errors.Is(err, os.ErrNotExist) {
		return nil // a new data directory: the chain starts with the first event
	}
	cfg, err := engineConfig(jdir, nil, false)
	if err != nil {
		return err
	}
	sm, err := exchange.NewMachine(cfg)
	if err != nil {
		return err
	}
	var appendErr error
	_, err = journal.Replay(jdir, sm, journal.ReplayOptions{Observe: func(_ uint64, _ int64, _, _, events []byte) {
		if appendErr != nil {
			return
		}
		evs, err := exchange.DecodeEvents(events)
		if err != nil {
			appendErr = err
			return
		}
		appendErr = trail.AppendBatch(evs)
	}})
	if err != nil {
		return err
	}
	return appendErr
}
