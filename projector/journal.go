package projector

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/sampan-hk/sampan/core/engine"
	"github.com/sampan-hk/sampan/exchange"
	"github.com/sampan-hk/sampan/journal"
)

// JournalBackfill re-derives past events by replaying a journal data
// directory offline into a scratch engine (journal.Replay with Observe):
// the engine is deterministic, so the replay emits exactly the events, with
// exactly the seqs, that the live engine emitted.
//
// Offline (Node nil) the directory must not be in use by a running node
// (the journal locks it): `sampan serve` calls Projector.CatchUp before it
// opens the journal. Once the node runs, Projector.AttachNode sets Node and
// the same replay reads the running node's snapshots and committed log
// (journal.Node.ReplayLive), so a gap that opens while the node runs (a
// slow-consumer drop, a snapshot install) is filled at once.
type JournalBackfill struct {
	Dir    string        // the journal's data directory (DIR/wal, DIR/snapshots)
	Config engine.Config // the engine configuration the node runs with
	Node   *journal.Node // the running node owning Dir, if any
}

// Events implements Backfill. It first replays from the latest snapshot,
// which suffices when the snapshot is older than from; otherwise it replays
// the whole log from its first entry, which fails if the log was compacted
// past the events needed (then the events are gone from this node).
func (j JournalBackfill) Events(ctx context.Context, from, to uint64, emit func([]engine.Event) error) error {
	if j.Node == nil {
		if _, err := os.Stat(filepath.Join(j.Dir, "wal")); errors.Is(err, os.ErrNotExist) {
			return nil // no journal yet: nothing to replay
		}
	}
	full, err := j.replay(ctx, true, from, to, emit)
	if err != nil || !full {
		return err
	}
	_, err = j.replay(ctx, false, from, to, emit)
	return err
}

// replay runs one offline replay and emits the events in [from, to]. With
// fromSnapshot it reports full=true, emitting nothing, when the snapshot
// already covers seq from (the tail after it does not hold the range).
func (j JournalBackfill) replay(ctx context.Context, fromSnapshot bool, from, to uint64,
	emit func([]engine.Event) error) (full bool, err error) {
	m, err := exchange.NewMachine(j.Config)
	if err != nil {
		return false, err
	}
	first := true
	var stop error
	seqNow := func() (s uint64) {
		m.View(func(e *engine.Engine) { s = e.Seq() })
		return s
	}
	opt := journal.ReplayOptions{FromSnapshot: fromSnapshot, Observe: func(_ uint64, _ int64, _, _, blob []byte) {
		if stop != nil || full {
			return
		}
		if stop = ctx.Err(); stop != nil {
			return
		}
		evs, err := exchange.DecodeEvents(blob)
		if err != nil {
			stop = err
			return
		}
		if first {
			first = false
			// The seq the replay started at: the snapshot's (or 0).
			if start := seqNow() - uint64(len(evs)); fromSnapshot && start >= from {
				full = true
				return
			}
		}
		lo := 0
		for lo < len(evs) && evs[lo].Seq < from {
			lo++
		}
		hi := lo
		for hi < len(evs) && (to == 0 || evs[hi].Seq <= to) {
			hi++
		}
		if hi > lo {
			stop = emit(evs[lo:hi])
		}
	}}
	var res journal.ReplayResult
	if j.Node != nil {
		res, err = j.Node.ReplayLive(m, opt)
	} else {
		res, err = journal.Replay(j.Dir, m, opt)
	}
	if err != nil {
		return false, fmt.Errorf("replay %s: %w", j.Dir, err)
	}
	if stop != nil {
		return false, stop
	}
	if first && fromSnapshot && res.SnapshotIndex != 0 && seqNow() >= from {
		full = true // nothing after the snapshot, and the snapshot covers from
	}
	return full, nil
}
