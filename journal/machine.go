package journal

import "io"

// StateMachine is the port the engine implements. The journal calls it from
// one goroutine at a time (raft's FSM goroutine, or the replay loop), so an
// implementation needs no locking of its own.
//
// Contract, which every replica relies on to reach the same state hash:
//
//   - Apply is deterministic: its output depends only on the prior state, now
//     and cmd. No clock, randomness, map-order or I/O.
//   - cmd aliases the decoded log entry and is valid only during the call;
//     copy what must be kept. Commands are opaque to the journal.
//   - The returned result and events slices are owned by the journal after
//     Apply returns (the engine must not reuse or mutate them): result goes
//     back to the submitter, and both are hashed into the audit chain. Either
//     may be nil. A business rejection is a result, never a panic.
//   - A broken invariant panics. The journal does not recover that panic: the
//     process stops and restarts from snapshot plus log.
//   - now is engine time in nanoseconds since the Unix epoch, identical for
//     all commands of a batch, and non-decreasing along the log.
//   - Snapshot writes the complete state; Restore replaces the complete state
//     with what Snapshot wrote (discarding whatever was there). Apply is not
//     called concurrently with either.
//   - StateHash is a pure function of the state: two machines that applied the
//     same commands (or restored the same snapshot) return the same hash.
type StateMachine interface {
	Apply(now int64, cmd []byte) (result []byte, events []byte)
	Snapshot(w io.Writer) error
	Restore(r io.Reader) error
	StateHash() [32]byte
}

// Factory makes a fresh, empty StateMachine. Offline tools (replay, verify)
// need two independent machines, so they take a Factory rather than a value.
type Factory func() StateMachine
