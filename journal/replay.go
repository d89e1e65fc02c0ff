package journal

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"syscall"

	"github.com/hashicorp/raft"
)

// ReplayResult describes the state an offline replay reached.
type ReplayResult struct {
	SnapshotIndex uint64   // index of the snapshot restored first (0: none)
	FirstIndex    uint64   // first log index applied (0: none)
	Index         uint64   // last applied index
	Time          int64    // engine time of the last applied batch
	Batches       uint64   // batches applied since the beginning of the log
	Commands      uint64   // commands applied since the beginning of the log
	Chain         [32]byte // audit chain head
	StateHash     [32]byte // engine state hash
}

// ReplayOptions select what Replay does.
type ReplayOptions struct {
	// Until is the last log index to apply; 0 means the end of the log.
	Until uint64
	// FromSnapshot restores the latest snapshot at or below Until (or the
	// latest, when Until is 0) first, then applies the log after it.
	FromSnapshot bool
	// Observe, if set, sees every applied command with its result and
	// events (valid only during the call), e.g. to print one account's events.
	Observe func(index uint64, now int64, cmd, result, events []byte)
	// onBatch, if set, sees the journal state after each batch (Verify).
	onBatch func(st chainState, sm StateMachine)
}

// ReplayFromStart applies the log of dir from its first entry to until (0:
// to the end) to sm, which must be empty. It needs the whole log: it fails
// if the log was compacted.
func ReplayFromStart(dir string, sm StateMachine, until uint64) (ReplayResult, error) {
	return Replay(dir, sm, ReplayOptions{Until: until})
}

// ReplayFromSnapshot restores the latest snapshot of dir into sm and applies
// the rest of the log.
func ReplayFromSnapshot(dir string, sm StateMachine) (ReplayResult, error) {
	return Replay(dir, sm, ReplayOptions{FromSnapshot: true})
}

// observingMachine passes commands through to the engine and shows each
// one to an observer.
type observingMachine struct {
	StateMachine
	index   *uint64
	observe func(index uint64, now int64, cmd, result, events []byte)
}

func (o observingMachine) Apply(now int64, cmd []byte) ([]byte, []byte) {
	r, e := o.StateMachine.Apply(now, cmd)
	o.observe(*o.index, now, cmd, r, e)
	return r, e
}

// Replay rebuilds state from a data directory offline. The directory must
// not be in use by a running node. It opens the log read-mostly: raft-wal's
// open may discard a torn tail, exactly as a node start would.
func Replay(dir string, sm StateMachine, opt ReplayOptions) (ReplayResult, error) {
	var res ReplayResult
	if _, err := os.Stat(filepath.Join(dir, "wal")); err != nil {
		return res, fmt.Errorf("journal: %s is not a data directory: %w", dir, err)
	}
	w, err := openWAL(dir, nil)
	if err != nil {
		return res, err
	}
	defer w.Close()

	f := newFSM(sm, nil)
	var cur uint64
	if opt.Observe != nil {
		f.sm = observingMachine{StateMachine: sm, index: &cur, observe: opt.Observe}
	}
	if opt.FromSnapshot {
		store, err := raft.NewFileSnapshotStore(dir, 1<<30, io.Discard)
		if err != nil {
			return res, err
		}
		idx, err := restoreLatest(store, f, opt.Until)
		if err != nil {
			return res, err
		}
		res.SnapshotIndex = idx
	}
	first, err := w.FirstIndex()
	if err != nil {
		return res, err
	}
	last, err := w.LastIndex()
	if err != nil {
		return res, err
	}
	hwm, err := readHWM(dir)
	if err != nil {
		return res, err
	}
	if end := max(last, res.SnapshotIndex); end < hwm {
		return res, fmt.Errorf("%w: log ends at index %d below the high-water mark %d", ErrCorruptLog, end, hwm)
	}
	if opt.Until != 0 && opt.Until < last {
		last = opt.Until
	}
	return applyEntries(w, f, sm, &cur, first, last, opt, res, nil)
}

// applyEntries applies the log entries after f's state up to last (the
// log holds first..), for Replay and Node.ReplayLive. A closed stop
// channel aborts it with ErrStopped.
func applyEntries(w raft.LogStore, f *fsm, sm StateMachine, cur *uint64, first, last uint64, opt ReplayOptions,
	res ReplayResult, stop <-chan struct{}) (ReplayResult, error) {
	start := f.state.Index + 1
	if last >= start && first > start {
		if !opt.FromSnapshot && start == 1 {
			return res, fmt.Errorf("journal: log starts at index %d (compacted); replay from the beginning needs entry 1", first)
		}
		return res, fmt.Errorf("%w: log starts at index %d, entries %d-%d are missing", ErrCorruptLog, first, start, first-1)
	}
	var l raft.Log
	for i := start; i <= last; i++ {
		select {
		case <-stop:
			return res, ErrStopped
		default:
		}
		if err := w.GetLog(i, &l); err != nil {
			return res, fmt.Errorf("%w: entry %d unreadable: %v", ErrCorruptLog, i, err)
		}
		if l.Type != raft.LogCommand {
			continue
		}
		*cur = i
		if _, err := f.applyLocked(i, l.Data); err != nil {
			return res, fmt.Errorf("%w: entry %d: %v", ErrCorruptLog, i, err)
		}
		if res.FirstIndex == 0 {
			res.FirstIndex = i
		}
		if opt.onBatch != nil {
			opt.onBatch(f.state, sm)
		}
	}
	st := f.state
	res.Index, res.Time, res.Batches, res.Commands, res.Chain = st.Index, st.Time, st.Batches, st.Commands, st.Chain
	res.StateHash = sm.StateHash()
	return res, nil
}

// restoreLatest restores the newest snapshot at or below until (0: any)
// that passes its checks, falling back to older ones (F4: never load a bad
// snapshot; an older one plus a longer replay gives the same state).
func restoreLatest(store *raft.FileSnapshotStore, f *fsm, until uint64) (uint64, error) {
	metas, err := store.List()
	if err != nil {
		return 0, err
	}
	var errs []error
	for _, m := range metas {
		if until != 0 && m.Index > until {
			continue
		}
		_, rc, err := store.Open(m.ID)
		if err != nil {
			errs = append(errs, fmt.Errorf("snapshot %s: %w", m.ID, err))
			continue
		}
		data, err := io.ReadAll(rc)
		rc.Close()
		if err == nil {
			err = f.restoreLocked(data)
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("snapshot %s: %w", m.ID, err))
			continue
		}
		return m.Index, nil
	}
	if len(errs) > 0 {
		return 0, fmt.Errorf("journal: no usable snapshot: %w", errors.Join(errs...))
	}
	return 0, nil // no snapshot: replay the whole log
}

// checkNotRunning fails if a node holds the log's meta DB lock. bbolt
// would otherwise wait for the lock forever.
func checkNotRunning(dir string) error {
	p := filepath.Join(dir, "wal", "wal-meta.db")
	fh, err := os.Open(p)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	defer fh.Close()
	if err := syscall.Flock(int(fh.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		return fmt.Errorf("journal: %s is in use by a running node (stop it first): %w", dir, err)
	}
	return syscall.Flock(int(fh.Fd()), syscall.LOCK_UN)
}

// VerifyReport is what `sampan verify` prints.
type VerifyReport struct {
	FromStart    ReplayResult
	FromSnapshot ReplayResult
	// Match: both replays reached the same index, state hash and chain head.
	Match bool
	// SnapshotMatches: at the snapshot's index the from-start replay had the
	// state hash and chain head stored in the snapshot (only if one exists).
	SnapshotMatches bool
	// AuditChecked counts audit.log records compared with the recomputed
	// chain; AuditMismatch lists the indexes that differ (or are recorded
	// but absent from the log).
	AuditChecked  int
	AuditMismatch []uint64
	// OK: everything above holds.
	OK bool
}

// Verify replays dir from the beginning and from the latest snapshot with
// two fresh machines, compares their state hashes and chain heads, and
// rechecks every audit record against the recomputed chain.
func Verify(dir string, newMachine Factory) (VerifyReport, error) {
	var rep VerifyReport
	recs, err := ReadAudit(dir)
	if err != nil {
		return rep, err
	}
	byIndex := make(map[uint64][32]byte, len(recs))
	for _, r := range recs {
		byIndex[r.Index] = r.Chain
	}

	// Replay from the snapshot first so the start replay can check the
	// state at the snapshot's index on the way past.
	snapSM := newMachine()
	rep.FromSnapshot, err = ReplayFromSnapshot(dir, snapSM)
	if err != nil {
		return rep, fmt.Errorf("replay from snapshot: %w", err)
	}
	var snapState chainState
	var snapHash [32]byte
	if rep.FromSnapshot.SnapshotIndex != 0 {
		// Restore again to read the state exactly as stored in the snapshot.
		f := newFSM(newMachine(), nil)
		store, err := raft.NewFileSnapshotStore(dir, 1<<30, io.Discard)
		if err != nil {
			return rep, err
		}
		if _, err := restoreLatest(store, f, 0); err != nil {
			return rep, err
		}
		snapState, snapHash = f.state, f.sm.StateHash()
	}

	rep.SnapshotMatches = rep.FromSnapshot.SnapshotIndex == 0
	seen := make(map[uint64]bool, len(recs))
	rep.FromStart, err = Replay(dir, newMachine(), ReplayOptions{onBatch: func(st chainState, sm StateMachine) {
		if want, ok := byIndex[st.Index]; ok {
			rep.AuditChecked++
			seen[st.Index] = true
			if want != st.Chain {
				rep.AuditMismatch = append(rep.AuditMismatch, st.Index)
			}
		}
		if snapState.Index != 0 && st.Index == snapState.Index {
			rep.SnapshotMatches = st.Chain == snapState.Chain && sm.StateHash() == snapHash
		}
	}})
	if err != nil {
		return rep, fmt.Errorf("replay from start: %w", err)
	}
	for _, r := range recs {
		if !seen[r.Index] {
			rep.AuditMismatch = append(rep.AuditMismatch, r.Index)
		}
	}
	a, b := rep.FromStart, rep.FromSnapshot
	rep.Match = a.Index == b.Index && a.StateHash == b.StateHash && a.Chain == b.Chain
	rep.OK = rep.Match && rep.SnapshotMatches && len(rep.AuditMismatch) == 0
	return rep, nil
}

// Print writes the report in the human-readable form `sampan verify` uses.
func (r VerifyReport) Print(w io.Writer) {
	var b bytes.Buffer
	fmt.Fprintf(&b, "from start:    index %d, %d batches, %d commands, state %x, chain %x\n",
		r.FromStart.Index, r.FromStart.Batches, r.FromStart.Commands, r.FromStart.StateHash, r.FromStart.Chain)
	fmt.Fprintf(&b, "from snapshot: snapshot %d + log to %d, state %x, chain %x\n",
		r.FromSnapshot.SnapshotIndex, r.FromSnapshot.Index, r.FromSnapshot.StateHash, r.FromSnapshot.Chain)
	fmt.Fprintf(&b, "state hashes match: %v; snapshot matches replay at its index: %v\n", r.Match, r.SnapshotMatches)
	fmt.Fprintf(&b, "audit chain: %d records checked, %d mismatched\n", r.AuditChecked, len(r.AuditMismatch))
	if len(r.AuditMismatch) > 0 {
		fmt.Fprintf(&b, "  first mismatch at index %d\n", r.AuditMismatch[0])
	}
	if r.OK {
		b.WriteString("OK\n")
	} else {
		b.WriteString("FAILED\n")
	}
	w.Write(b.Bytes())
}
