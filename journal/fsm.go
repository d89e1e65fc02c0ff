package journal

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"hash"
	"io"
	"sync"
	"sync/atomic"

	"github.com/hashicorp/raft"
)

// fsm adapts a StateMachine to raft.FSM. It owns the journal's own part of
// the replicated state: the last applied index, engine time and the audit
// chain head. Those travel in every snapshot, so a node restored from a
// snapshot continues the same chain.
//
// Invariants (checked or maintained on every apply):
//   - time never decreases: a batch stamped earlier than the last applied
//     time is applied at the last applied time (all replicas clamp alike);
//   - chain = SHA-256(prev chain ‖ index ‖ time ‖ count ‖ per command:
//     len ‖ cmd ‖ len ‖ result ‖ len ‖ events), over every applied batch.
type fsm struct {
	// mu serialises raft's FSM goroutine against readers (Status) and the
	// snapshot capture. Apply takes it once per batch, not per command.
	mu    sync.Mutex
	sm    StateMachine
	state chainState
	audit *auditWriter // nil when not recording (offline replay)

	h       hash.Hash
	scratch [32]byte
	hbuf    []byte // audit hash input, reused across batches
	cmds    [][]byte

	// appliedIndex and lastTime are read without mu by the sequencer and
	// the high-water-mark writer.
	appliedIndex atomic.Uint64
	lastTime     atomic.Int64
	// bytesSinceSnap counts applied command bytes since the last snapshot;
	// the node snapshots when it passes Config.SnapshotBytes.
	bytesSinceSnap atomic.Int64
}

// chainState is the journal's replicated bookkeeping.
type chainState struct {
	Index    uint64   // raft index of the last applied batch or snapshot
	Time     int64    // engine time of the last applied batch
	Batches  uint64   // batches applied since the beginning of the log
	Commands uint64   // commands applied since the beginning of the log
	Chain    [32]byte // audit chain head
}

// batchResponse is what raft's ApplyFuture.Response returns for a batch.
type batchResponse struct {
	results [][]byte
}

func newFSM(sm StateMachine, audit *auditWriter) *fsm {
	return &fsm{sm: sm, audit: audit, h: sha256.New()}
}

// Apply implements raft.FSM. A batch that fails to decode here was committed
// corrupt (the open-time scan checks every stored entry, so this means a
// bug or corruption after open); continuing would fork the replicas, so it
// panics.
func (f *fsm) Apply(l *raft.Log) interface{} {
	f.mu.Lock()
	defer f.mu.Unlock()
	res, err := f.applyLocked(l.Index, l.Data)
	if err != nil {
		panic(fmt.Sprintf("journal: committed entry %d cannot be applied: %v", l.Index, err))
	}
	return res
}

// applyLocked applies one batch entry; shared by the live FSM and replay.
func (f *fsm) applyLocked(index uint64, data []byte) (*batchResponse, error) {
	h, cmds, err := DecodeBatch(data, f.cmds)
	f.cmds = cmds[:0]
	if err != nil {
		return nil, err
	}
	if index <= f.state.Index {
		return nil, fmt.Errorf("index %d not after last applied %d", index, f.state.Index)
	}
	now := max(h.Time, f.state.Time)

	f.h.Reset()
	f.h.Write(f.state.Chain[:])
	b := f.scratch[:0]
	b = binary.LittleEndian.AppendUint64(b, index)
	b = binary.LittleEndian.AppendUint64(b, uint64(now))
	b = binary.LittleEndian.AppendUint32(b, uint32(len(cmds)))
	f.h.Write(b)

	resp := &batchResponse{results: make([][]byte, len(cmds))}
	var n int64
	// Hash input is gathered into one buffer and hashed in large writes:
	// three small Write calls per command cost more than the copy.
	buf := f.hbuf[:0]
	for i, c := range cmds {
		result, events := f.sm.Apply(now, c)
		resp.results[i] = result
		buf = binary.LittleEndian.AppendUint32(buf, uint32(len(c)))
		buf = append(buf, c...)
		buf = binary.LittleEndian.AppendUint32(buf, uint32(len(result)))
		buf = append(buf, result...)
		buf = binary.LittleEndian.AppendUint32(buf, uint32(len(events)))
		buf = append(buf, events...)
		if len(buf) >= 64<<10 {
			f.h.Write(buf)
			buf = buf[:0]
		}
		n += int64(len(c))
	}
	f.h.Write(buf)
	f.hbuf = buf[:0]
	f.h.Sum(f.state.Chain[:0])
	f.state.Index = index
	f.state.Time = now
	f.state.Batches++
	f.state.Commands += uint64(len(cmds))
	f.appliedIndex.Store(index)
	f.lastTime.Store(now)
	f.bytesSinceSnap.Add(n)
	if f.audit != nil {
		f.audit.record(AuditRecord{Index: index, Time: now, Count: uint32(len(cmds)), Chain: f.state.Chain})
	}
	return resp, nil
}

// status returns the journal state and the engine's state hash, consistent
// with each other (taken under the apply lock).
func (f *fsm) status() (chainState, [32]byte) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.state, f.sm.StateHash()
}

// Snapshot format, version 1 (little-endian):
//
//	0   4  magic "SMPS"
//	4   2  version = 1
//	6   2  reserved = 0
//	8   8  index      last applied raft index
//	16  8  time       engine time of that batch
//	24  8  batches
//	32  8  commands
//	40  32 chain      audit chain head
//	72  8  payloadLen
//	80  …  payload    StateMachine.Snapshot output
//	…   32 SHA-256 of everything before it
//
// The raft file snapshot store adds its own CRC-64; the trailing SHA-256
// makes the format self-checking when read outside that store.
const (
	snapMagic     = "SMPS"
	snapVersion   = 1
	snapHeaderLen = 80
)

// ErrCorruptSnapshot wraps every snapshot decode failure.
var ErrCorruptSnapshot = errors.New("journal: corrupt snapshot")

// Snapshot implements raft.FSM. The engine has no copy-on-write state yet,
// so the state is serialised here, under the apply lock, and Persist only
// writes the bytes. That blocks apply for the length of one serialisation.
func (f *fsm) Snapshot() (raft.FSMSnapshot, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var buf bytes.Buffer
	if err := f.encodeSnapshotLocked(&buf); err != nil {
		return nil, err
	}
	f.bytesSinceSnap.Store(0)
	return &fsmSnapshot{data: buf.Bytes()}, nil
}

func (f *fsm) encodeSnapshotLocked(buf *bytes.Buffer) error {
	buf.Write(make([]byte, snapHeaderLen))
	if err := f.sm.Snapshot(buf); err != nil {
		return fmt.Errorf("journal: engine snapshot: %w", err)
	}
	b := buf.Bytes()
	copy(b, snapMagic)
	binary.LittleEndian.PutUint16(b[4:], snapVersion)
	binary.LittleEndian.PutUint64(b[8:], f.state.Index)
	binary.LittleEndian.PutUint64(b[16:], uint64(f.state.Time))
	binary.LittleEndian.PutUint64(b[24:], f.state.Batches)
	binary.LittleEndian.PutUint64(b[32:], f.state.Commands)
	copy(b[40:72], f.state.Chain[:])
	binary.LittleEndian.PutUint64(b[72:], uint64(len(b)-snapHeaderLen))
	sum := sha256.Sum256(b)
	buf.Write(sum[:])
	return nil
}

// Restore implements raft.FSM: it replaces all state with the snapshot's.
func (f *fsm) Restore(rc io.ReadCloser) error {
	defer rc.Close()
	data, err := io.ReadAll(rc)
	if err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.restoreLocked(data)
}

func (f *fsm) restoreLocked(data []byte) error {
	st, payload, err := decodeSnapshot(data)
	if err != nil {
		return err
	}
	if err := f.sm.Restore(bytes.NewReader(payload)); err != nil {
		return fmt.Errorf("journal: engine restore at index %d: %w", st.Index, err)
	}
	f.state = st
	f.appliedIndex.Store(st.Index)
	f.lastTime.Store(st.Time)
	f.bytesSinceSnap.Store(0)
	return nil
}

// decodeSnapshot checks a snapshot and returns its journal state and the
// engine payload (aliasing data). It never panics.
func decodeSnapshot(data []byte) (chainState, []byte, error) {
	var st chainState
	if len(data) < snapHeaderLen+sha256.Size {
		return st, nil, fmt.Errorf("%w: %d bytes is too short", ErrCorruptSnapshot, len(data))
	}
	body, sum := data[:len(data)-sha256.Size], data[len(data)-sha256.Size:]
	if got := sha256.Sum256(body); !bytes.Equal(got[:], sum) {
		return st, nil, fmt.Errorf("%w: checksum mismatch", ErrCorruptSnapshot)
	}
	if string(body[:4]) != snapMagic {
		return st, nil, fmt.Errorf("%w: bad magic %q", ErrCorruptSnapshot, body[:4])
	}
	if v := binary.LittleEndian.Uint16(body[4:]); v != snapVersion {
		return st, nil, fmt.Errorf("%w: unknown version %d", ErrCorruptSnapshot, v)
	}
	st.Index = binary.LittleEndian.Uint64(body[8:])
	st.Time = int64(binary.LittleEndian.Uint64(body[16:]))
	st.Batches = binary.LittleEndian.Uint64(body[24:])
	st.Commands = binary.LittleEndian.Uint64(body[32:])
	copy(st.Chain[:], body[40:72])
	if n := binary.LittleEndian.Uint64(body[72:]); n != uint64(len(body)-snapHeaderLen) {
		return st, nil, fmt.Errorf("%w: payload length %d, snapshot holds %d", ErrCorruptSnapshot, n, len(body)-snapHeaderLen)
	}
	return st, body[snapHeaderLen:], nil
}

type fsmSnapshot struct{ data []byte }

func (s *fsmSnapshot) Persist(sink raft.SnapshotSink) error {
	if _, err := sink.Write(s.data); err != nil {
		sink.Cancel()
		return err
	}
	return sink.Close()
}

func (s *fsmSnapshot) Release() {}
