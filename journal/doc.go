// Package journal is Sampan's durability layer: it sequences commands into
// batches, replicates each batch as one hashicorp/raft log entry stored in
// raft-wal, applies committed batches to a deterministic StateMachine (the
// engine) and keeps a SHA-256 audit chain over every applied batch.
//
// Data directory layout (one node):
//
//	DIR/wal/        raft-wal segments and meta DB (raft log + stable store)
//	DIR/snapshots/  raft file snapshot store (journal snapshot format v1)
//	DIR/audit.log   one fixed-size record per applied batch (index, time, chain hash)
//	DIR/hwm         durable high-water mark: an applied index known to be on disk
//	DIR/node-id     this node's raft server ID (fixed at first open)
//
// One TCP port per node carries raft and a tiny join service (join.go), so
// a new node joins with the address of any member (Node.Join).
//
// Guarantees, and where they come from:
//
//   - A command is acknowledged only after the raft entry holding it is
//     committed and applied; Submit returns the engine's result for it.
//   - Engine time, stamped by the sequencer, never moves backwards: the
//     sequencer stamps max(last, clock) and the FSM clamps again on apply, so
//     a new leader with a slower clock cannot move time back either.
//   - Every batch carries a CRC-32C; every entry is checked when the node opens.
//     raft-wal truncates its tail segment at the first unreadable frame header
//     without complaint (it assumes that only a torn write can produce one), so
//     the node also keeps a durable high-water mark and refuses to start when the
//     log ends below it. A torn tail past the high-water mark is recovered.
//   - A failed write or fsync is fatal and sticky: the node stops and never
//     retries the fsync (fsyncgate), so nothing is acknowledged after it.
package journal
