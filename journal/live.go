package journal

import (
	"fmt"

	"github.com/hashicorp/raft"
)

// ReplayLive is Replay on a running node: it rebuilds state into sm (an
// empty machine of its own, never the node's) from the node's snapshots and
// committed log while the node keeps running. The offline Replay cannot do
// this: the journal is locked while a node runs. Readers use it to re-derive
// events they missed (the projector's live catch-up).
//
// It applies entries up to the commit index read when it starts (opt.Until
// lowers that bound): committed entries never change, so the result is the
// same state the node itself had at that index. Raft-wal serves reads
// concurrently with appends; a snapshot the node reaps while it is being
// read stays readable through the open file, and a snapshot that fails to
// open falls back to an older one, as offline. A log compacted past the
// entries needed fails as offline. Shutdown waits for a running ReplayLive
// to notice (it checks between entries) and fail with ErrStopped.
func (n *Node) ReplayLive(sm StateMachine, opt ReplayOptions) (ReplayResult, error) {
	var res ReplayResult
	n.liveMu.RLock()
	defer n.liveMu.RUnlock()
	select {
	case <-n.quit:
		return res, ErrStopped
	default:
	}
	last := n.raft.CommitIndex()
	if opt.Until != 0 && opt.Until < last {
		last = opt.Until
	}
	f := newFSM(sm, nil)
	var cur uint64
	if opt.Observe != nil {
		f.sm = observingMachine{StateMachine: sm, index: &cur, observe: opt.Observe}
	}
	if last == 0 {
		res.StateHash = sm.StateHash()
		return res, nil // nothing committed yet
	}
	if opt.FromSnapshot {
		idx, err := restoreLatest(n.snaps, f, last)
		if err != nil {
			return res, err
		}
		res.SnapshotIndex = idx
	}
	first, err := n.wal.FirstIndex()
	if err != nil {
		return res, fmt.Errorf("journal: live replay: %w", err)
	}
	var logs raft.LogStore = n.wal
	return applyEntries(logs, f, sm, &cur, first, last, opt, res, n.quit)
}
