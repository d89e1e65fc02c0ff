package journal

import (
	"context"
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// fastConfig is a single-voter config with short raft timers so tests
// elect quickly.
func fastConfig(dir string) Config {
	return Config{
		Dir:              dir,
		Bootstrap:        true,
		HeartbeatTimeout: 50 * time.Millisecond,
		ElectionTimeout:  50 * time.Millisecond,
		LeaderLease:      50 * time.Millisecond,
		HWMInterval:      50 * time.Millisecond,
	}
}

// openReady opens a single-voter node and waits until it leads and has
// applied everything in its log.
func openReady(t *testing.T, cfg Config) (*Node, *bank) {
	t.Helper()
	b := newBank()
	n, err := Open(cfg, b)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for !n.IsLeader() {
		if ctx.Err() != nil {
			n.Shutdown()
			t.Fatal("node did not become leader")
		}
		time.Sleep(5 * time.Millisecond)
	}
	if err := n.Barrier(5 * time.Second); err != nil {
		t.Fatal(err)
	}
	return n, b
}

// load submits transfers with ids [base, base+count) from workers
// goroutines and returns the ids acknowledged with their results. Errors
// are returned, not fatal, because fault tests expect them.
func load(n *Node, workers int, base, count uint64) (acked map[uint64][]byte, errs []error) {
	var mu sync.Mutex
	acked = map[uint64][]byte{}
	var next atomic.Uint64
	next.Store(base)
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				id := next.Add(1) - 1
				if id >= base+count {
					return
				}
				res, err := n.Submit(context.Background(), transfer(id, uint8(id), uint8(id/7), uint32(id%1000)))
				mu.Lock()
				if err != nil {
					errs = append(errs, err)
				} else {
					acked[id] = res
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	return acked, errs
}

func checkResults(t *testing.T, acked map[uint64][]byte) {
	t.Helper()
	for id, res := range acked {
		if len(res) != 9 || binary.LittleEndian.Uint64(res[1:]) != id || (res[0] != resultOK && res[0] != resultRejected) {
			t.Fatalf("transfer %d: result %x is not the engine's answer to it", id, res)
		}
	}
}

// TestSingleNodeApplyAck: every Submit returns the engine's own result for
// that command, and the state holds exactly the acknowledged commands.
func TestSingleNodeApplyAck(t *testing.T) {
	n, b := openReady(t, fastConfig(t.TempDir()))
	defer n.Shutdown()
	acked, errs := load(n, 16, 0, 3000)
	if len(errs) > 0 {
		t.Fatalf("%d errors, first: %v", len(errs), errs[0])
	}
	checkResults(t, acked)
	st := n.Status()
	if st.Commands != 3000 {
		t.Fatalf("applied %d commands, want 3000", st.Commands)
	}
	if st.Batches >= 3000 {
		t.Fatalf("%d batches for 3000 concurrent commands: nothing was batched", st.Batches)
	}
	n.fsm.mu.Lock()
	defer n.fsm.mu.Unlock()
	for id := range acked {
		if !b.seen[id] {
			t.Fatalf("acknowledged transfer %d not in state", id)
		}
	}
	b.check()
}

// TestRestartFromSnapshotAndTail (D2): a node restarted from its latest
// snapshot plus the log after it reaches the same state hash and audit
// chain as before; Verify's two replays agree with it and with audit.log.
func TestRestartFromSnapshotAndTail(t *testing.T) {
	dir := t.TempDir()
	n, _ := openReady(t, fastConfig(dir))
	if _, errs := load(n, 8, 0, 1000); len(errs) > 0 {
		t.Fatal(errs[0])
	}
	if err := n.Snapshot(); err != nil {
		t.Fatal(err)
	}
	if _, errs := load(n, 8, 1000, 700); len(errs) > 0 {
		t.Fatal(errs[0])
	}
	before := n.Status()
	if err := n.Shutdown(); err != nil {
		t.Fatal(err)
	}

	n2, _ := openReady(t, fastConfig(dir))
	after := n2.Status()
	if err := n2.Shutdown(); err != nil {
		t.Fatal(err)
	}
	if after.StateHash != before.StateHash || after.Chain != before.Chain || after.Commands != before.Commands {
		t.Fatalf("after restart: %d commands, state %x, chain %x; before: %d, %x, %x",
			after.Commands, after.StateHash, after.Chain, before.Commands, before.StateHash, before.Chain)
	}

	rep, err := Verify(dir, newBankMachine)
	if err != nil {
		t.Fatal(err)
	}
	if !rep.OK || rep.FromSnapshot.SnapshotIndex == 0 || rep.AuditChecked == 0 {
		var sb strings.Builder
		rep.Print(&sb)
		t.Fatalf("verify:\n%s", sb.String())
	}
	if rep.FromStart.StateHash != before.StateHash || rep.FromStart.Chain != before.Chain {
		t.Fatalf("offline replay state %x, live %x", rep.FromStart.StateHash, before.StateHash)
	}
}

// TestReplayUntil: replay to entry N rebuilds exactly the state the live
// node had at N, and Observe sees each command with its result and events.
func TestReplayUntil(t *testing.T) {
	dir := t.TempDir()
	n, _ := openReady(t, fastConfig(dir))
	if _, errs := load(n, 4, 0, 300); len(errs) > 0 {
		t.Fatal(errs[0])
	}
	mid := n.Status()
	if _, errs := load(n, 4, 300, 300); len(errs) > 0 {
		t.Fatal(errs[0])
	}
	n.Shutdown()

	seen := 0
	res, err := Replay(dir, newBank(), ReplayOptions{Until: mid.Index, Observe: func(index uint64, now int64, cmd, result, events []byte) {
		seen++
		if index > mid.Index || binary.LittleEndian.Uint64(cmd) != binary.LittleEndian.Uint64(result[1:]) {
			t.Errorf("observed index %d cmd %x result %x", index, cmd, result)
		}
	}})
	if err != nil {
		t.Fatal(err)
	}
	if res.StateHash != mid.StateHash || res.Chain != mid.Chain || uint64(seen) != mid.Commands {
		t.Fatalf("replay to %d: state %x chain %x (%d observed); live had %x %x (%d)",
			mid.Index, res.StateHash, res.Chain, seen, mid.StateHash, mid.Chain, mid.Commands)
	}
}

// TestVerifyDetectsAuditTamper: changing one recorded chain hash in
// audit.log makes Verify fail and name the index.
func TestVerifyDetectsAuditTamper(t *testing.T) {
	dir := t.TempDir()
	n, _ := openReady(t, fastConfig(dir))
	if _, errs := load(n, 4, 0, 200); len(errs) > 0 {
		t.Fatal(errs[0])
	}
	n.Shutdown()
	recs, err := ReadAudit(dir)
	if err != nil || len(recs) < 3 {
		t.Fatalf("audit records: %d, %v", len(recs), err)
	}
	var exported strings.Builder
	if err := ExportAudit(dir, &exported); err != nil {
		t.Fatal(err)
	}
	if lines := strings.Count(exported.String(), "\n"); lines != len(recs) {
		t.Fatalf("export has %d lines for %d records", lines, len(recs))
	}
	p := filepath.Join(dir, auditFile)
	data, _ := os.ReadFile(p)
	r := recs[1]
	r.Chain[0] ^= 1
	copy(data[auditRecordLen:], r.appendTo(nil)) // valid CRC, wrong hash
	os.WriteFile(p, data, 0o644)
	rep, err := Verify(dir, newBankMachine)
	if err != nil {
		t.Fatal(err)
	}
	if rep.OK || len(rep.AuditMismatch) != 1 || rep.AuditMismatch[0] != r.Index {
		t.Fatalf("tampered record at %d: report OK=%v mismatches=%v", r.Index, rep.OK, rep.AuditMismatch)
	}
}

// TestStorageErrorStopsNode (F5, F6): when fsync fails, or a write fails
// because the disk is full, the node stops with a clear error, nothing is
// acknowledged afterwards, the failed call is never retried, and a restart
// finds every command that was acknowledged.
func TestStorageErrorStopsNode(t *testing.T) {
	cases := []struct {
		op, want string
		err      error
	}{
		{"sync", "fsync", syscall.EIO},
		{"write", "write", syscall.ENOSPC},
	}
	for _, c := range cases {
		t.Run(c.want, func(t *testing.T) {
			dir := t.TempDir()
			var calls, failing atomic.Int64
			cfg := fastConfig(dir)
			cfg.fault = func(op string) error {
				if op != c.op {
					return nil
				}
				if calls.Add(1) > 40 {
					failing.Add(1)
					return c.err
				}
				return nil
			}
			n, _ := openReady(t, cfg)
			acked, errs := load(n, 8, 0, 4000)
			if len(errs) == 0 {
				t.Fatal("no command failed; the fault was never hit")
			}
			select {
			case <-n.Dead():
			case <-time.After(5 * time.Second):
				t.Fatal("node did not stop after the storage error")
			}
			if err := n.Err(); !errors.Is(err, ErrStorage) || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), c.err.Error()) {
				t.Fatalf("fatal error = %v, want ErrStorage naming %s and %v", err, c.want, c.err)
			}
			if _, err := n.Submit(context.Background(), transfer(1<<40, 0, 1, 1)); err == nil {
				t.Fatal("command acknowledged after the storage error")
			}
			if f := failing.Load(); f != 1 {
				t.Fatalf("failed %s attempted %d times; it must not be retried", c.op, f)
			}
			n.Shutdown()

			n2, b := openReady(t, fastConfig(dir))
			defer n2.Shutdown()
			n2.fsm.mu.Lock()
			defer n2.fsm.mu.Unlock()
			for id := range acked {
				if !b.seen[id] {
					t.Fatalf("acknowledged transfer %d lost after the storage error", id)
				}
			}
			t.Logf("%d acknowledged before the fault, %d refused", len(acked), len(errs))
		})
	}
}

// TestCorruptSnapshotFallsBack (F4): if the latest snapshot fails its
// checksum, start-up uses the previous one and a longer replay, reaching
// the same state.
func TestCorruptSnapshotFallsBack(t *testing.T) {
	dir := t.TempDir()
	n, _ := openReady(t, fastConfig(dir))
	for i := range 3 {
		if _, errs := load(n, 4, uint64(i*200), 200); len(errs) > 0 {
			t.Fatal(errs[0])
		}
		if err := n.Snapshot(); err != nil {
			t.Fatal(err)
		}
	}
	before := n.Status()
	n.Shutdown()
	snaps, _ := filepath.Glob(filepath.Join(dir, "snapshots", "*", "state.bin"))
	if len(snaps) < 2 {
		t.Fatalf("%d snapshots on disk", len(snaps))
	}
	latest := snaps[len(snaps)-1] // names sort by term-index-time
	data, _ := os.ReadFile(latest)
	data[len(data)/2] ^= 0xff
	os.WriteFile(latest, data, 0o644)

	n2, _ := openReady(t, fastConfig(dir))
	after := n2.Status()
	n2.Shutdown()
	if after.StateHash != before.StateHash || after.Chain != before.Chain {
		t.Fatalf("after corrupt snapshot: state %x chain %x; before %x %x", after.StateHash, after.Chain, before.StateHash, before.Chain)
	}
	rep, err := Verify(dir, newBankMachine)
	if err != nil || !rep.OK {
		t.Fatalf("verify: %+v %v", rep, err)
	}
}

// TestReplayRefusesRunningNode: offline replay must not touch a live node's log.
func TestReplayRefusesRunningNode(t *testing.T) {
	dir := t.TempDir()
	n, _ := openReady(t, fastConfig(dir))
	defer n.Shutdown()
	if _, err := ReplayFromStart(dir, newBank(), 0); err == nil || !strings.Contains(err.Error(), "in use") {
		t.Fatalf("replay of a running node's dir: err = %v", err)
	}
}

// TestSnapshotScheduleByBytes: with the entry threshold out of reach, a
// snapshot is still taken once the applied command bytes pass SnapshotBytes.
func TestSnapshotScheduleByBytes(t *testing.T) {
	dir := t.TempDir()
	cfg := fastConfig(dir)
	cfg.SnapshotEntries = 1 << 40
	cfg.SnapshotBytes = 4 << 10
	n, _ := openReady(t, cfg)
	defer n.Shutdown()
	if _, errs := load(n, 4, 0, 400); len(errs) > 0 { // 400 × 14 bytes > 4 KiB
		t.Fatal(errs[0])
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		metas, err := n.snaps.List()
		if err != nil {
			t.Fatal(err)
		}
		if len(metas) > 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("no snapshot after passing SnapshotBytes")
		}
		time.Sleep(20 * time.Millisecond)
	}
}
