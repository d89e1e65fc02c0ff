package journal

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func clusterConfig(dir string, bootstrap bool) Config {
	return Config{
		Dir:              dir,
		Bootstrap:        bootstrap,
		HeartbeatTimeout: 200 * time.Millisecond,
		ElectionTimeout:  200 * time.Millisecond,
		LeaderLease:      100 * time.Millisecond,
		HWMInterval:      100 * time.Millisecond,
	}
}

type member struct {
	n    *Node
	b    *bank
	dead atomic.Bool
}

func leaderOf(ms []*member) *member {
	for _, m := range ms {
		if !m.dead.Load() && m.n.IsLeader() {
			return m
		}
	}
	return nil
}

// TestClusterLeaderKilled (F7): three voters on loopback under load; the
// leader is stopped mid-load. Every command acknowledged (by either
// leader) is in the new leader's state, and the two survivors reach the
// same state hash and audit chain.
func TestClusterLeaderKilled(t *testing.T) {
	ms := make([]*member, 3)
	for i := range ms {
		b := newBank()
		n, err := Open(clusterConfig(t.TempDir(), i == 0), b)
		if err != nil {
			t.Fatal(err)
		}
		ms[i] = &member{n: n, b: b}
		defer func(m *member) {
			if !m.dead.Load() {
				m.n.Shutdown()
			}
		}(ms[i])
	}
	deadline := time.Now().Add(10 * time.Second)
	for !ms[0].n.IsLeader() {
		if time.Now().After(deadline) {
			t.Fatal("bootstrap node did not lead")
		}
		time.Sleep(10 * time.Millisecond)
	}
	// The second node joins through the leader, the third through the
	// second (a follower, which forwards the request to the leader).
	jctx, jcancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer jcancel()
	if err := ms[1].n.Join(jctx, ms[0].n.Addr()); err != nil {
		t.Fatal(err)
	}
	if err := ms[2].n.Join(jctx, ms[1].n.Addr()); err != nil {
		t.Fatal(err)
	}
	for _, m := range ms {
		for deadline := time.Now().Add(5 * time.Second); m.n.raft.GetConfiguration().Error() != nil || len(m.n.raft.GetConfiguration().Configuration().Servers) != 3; {
			if time.Now().After(deadline) {
				t.Fatalf("node %s does not see three voters", m.n.ID())
			}
			time.Sleep(10 * time.Millisecond)
		}
	}

	// Workers retry a failed command with the same id on whichever node
	// leads; the bank's idempotency turns a retry of a command that did
	// commit into a "duplicate" answer rather than a second transfer.
	var mu sync.Mutex
	acked := map[uint64]bool{}
	var next atomic.Uint64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				id := next.Add(1)
				for try := 0; try < 200; try++ {
					m := leaderOf(ms)
					if m == nil {
						time.Sleep(10 * time.Millisecond)
						continue
					}
					ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
					_, err := m.n.Submit(ctx, transfer(id, uint8(id), uint8(id>>3), uint32(id%500)))
					cancel()
					if err == nil {
						mu.Lock()
						acked[id] = true
						mu.Unlock()
						break
					}
					time.Sleep(5 * time.Millisecond)
				}
			}
		}()
	}
	ackedCount := func() int { mu.Lock(); defer mu.Unlock(); return len(acked) }
	for ackedCount() < 500 {
		time.Sleep(5 * time.Millisecond)
	}
	old := leaderOf(ms)
	old.dead.Store(true)
	old.n.Shutdown() // the leader goes away mid-load
	before := ackedCount()
	deadline = time.Now().Add(15 * time.Second)
	for ackedCount() < before+500 {
		if time.Now().After(deadline) {
			t.Fatalf("no progress after the leader stopped: %d acknowledged", ackedCount())
		}
		time.Sleep(5 * time.Millisecond)
	}
	close(stop)
	wg.Wait()

	nl := leaderOf(ms)
	if nl == nil || nl == old {
		t.Fatal("no new leader")
	}
	if err := nl.n.Barrier(5 * time.Second); err != nil {
		t.Fatal(err)
	}
	lst := nl.n.Status()
	var other *member
	for _, m := range ms {
		if m != nl && m != old {
			other = m
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := other.n.WaitApplied(ctx, lst.Index); err != nil {
		t.Fatal(err)
	}
	ost := other.n.Status()
	if ost.Index != lst.Index || ost.StateHash != lst.StateHash || ost.Chain != lst.Chain {
		t.Fatalf("survivors differ: leader index %d state %x chain %x; follower %d %x %x",
			lst.Index, lst.StateHash, lst.Chain, ost.Index, ost.StateHash, ost.Chain)
	}
	nl.n.fsm.mu.Lock()
	defer nl.n.fsm.mu.Unlock()
	for id := range acked {
		if !nl.b.seen[id] {
			t.Fatalf("acknowledged command %d missing on the new leader", id)
		}
	}
	nl.b.check()
	t.Logf("%d acknowledged (%d before the leader stopped); survivors agree at index %d", len(acked), before, lst.Index)
}
