package journal

import (
	"errors"
	"testing"
)

// ReplayLive rebuilds, while the node keeps running and taking load, the
// exact state the node had: same state hash, same audit chain head, with
// and without a snapshot, from the start and up to an index; once the node
// is shut down it fails with ErrStopped instead of reading closed stores.
func TestReplayLiveWhileRunning(t *testing.T) {
	n, b := openReady(t, fastConfig(t.TempDir()))
	defer n.Shutdown()
	acked, errs := load(n, 8, 0, 600)
	if len(errs) > 0 {
		t.Fatal(errs[0])
	}
	checkResults(t, acked)
	mid := n.Status()
	if err := n.Snapshot(); err != nil {
		t.Fatal(err)
	}
	// More load runs concurrently with the live replays below.
	done := make(chan []error)
	go func() { _, errs := load(n, 4, 600, 600); done <- errs }()

	for _, tc := range []struct {
		name string
		opt  ReplayOptions
	}{
		{"from start", ReplayOptions{}},
		{"from snapshot", ReplayOptions{FromSnapshot: true}},
		{"until the mid index", ReplayOptions{Until: mid.Index}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var observed uint64
			tc.opt.Observe = func(uint64, int64, []byte, []byte, []byte) { observed++ }
			sm := newBank()
			res, err := n.ReplayLive(sm, tc.opt)
			if err != nil {
				t.Fatal(err)
			}
			if res.Index < mid.Index || (tc.opt.Until != 0 && res.Index != tc.opt.Until) {
				t.Fatalf("replayed to index %d, node was at %d (until %d)", res.Index, mid.Index, tc.opt.Until)
			}
			if tc.opt.FromSnapshot != (res.SnapshotIndex != 0) || observed == 0 && res.Index > res.SnapshotIndex {
				t.Fatalf("snapshot index %d, observed %d commands", res.SnapshotIndex, observed)
			}
			if tc.opt.Until != 0 && (res.Chain != mid.Chain || res.StateHash != mid.StateHash) {
				t.Fatalf("state at index %d differs from the node's", mid.Index)
			}
			// Any index reached must match an offline replay of the
			// same prefix, which needs the node stopped: compare with a
			// second live replay instead, and with the node at the end.
			again, err := n.ReplayLive(newBank(), ReplayOptions{Until: res.Index})
			if err != nil || again.StateHash != res.StateHash || again.Chain != res.Chain {
				t.Fatalf("second replay to %d: %v, hash equal %v", res.Index, err, again.StateHash == res.StateHash)
			}
			sm.check()
		})
	}
	if errs := <-done; len(errs) > 0 {
		t.Fatal(errs[0])
	}
	if err := n.Barrier(5e9); err != nil {
		t.Fatal(err)
	}
	end := n.Status()
	res, err := n.ReplayLive(newBank(), ReplayOptions{FromSnapshot: true})
	if err != nil || res.Index != end.Index || res.StateHash != end.StateHash || res.Chain != end.Chain {
		t.Fatalf("replay at rest: %v index %d/%d, hash equal %v", err, res.Index, end.Index, res.StateHash == end.StateHash)
	}
	if res.StateHash != b.StateHash() {
		t.Fatal("replayed state differs from the node's machine")
	}
	if err := n.Shutdown(); err != nil {
		t.Fatal(err)
	}
	if _, err := n.ReplayLive(newBank(), ReplayOptions{}); !errors.Is(err, ErrStopped) {
		t.Fatalf("after shutdown: %v, want ErrStopped", err)
	}
}
