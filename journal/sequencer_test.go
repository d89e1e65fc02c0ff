package journal

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/raft"
)

// fakeRaft applies proposals straight to an fsm, optionally holding every
// future open until release is closed (to model a slow or stuck log).
type fakeRaft struct {
	mu      sync.Mutex
	fsm     *fsm
	index   uint64
	release chan struct{}
	times   []int64
	sizes   []int
}

type fakeFuture struct {
	release <-chan struct{}
	resp    interface{}
	err     error
	index   uint64
}

func (f *fakeFuture) Error() error {
	if f.release != nil {
		<-f.release
	}
	return f.err
}
func (f *fakeFuture) Response() interface{} { return f.resp }
func (f *fakeFuture) Index() uint64         { return f.index }

func (r *fakeRaft) Apply(data []byte, _ time.Duration) raft.ApplyFuture {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.index++
	h, _, err := DecodeBatch(data, nil)
	if err != nil {
		return &fakeFuture{err: err}
	}
	r.times = append(r.times, h.Time)
	r.sizes = append(r.sizes, h.Count)
	resp := r.fsm.Apply(&raft.Log{Index: r.index, Data: data})
	return &fakeFuture{release: r.release, resp: resp, index: r.index}
}

// TestSequencerTimeNeverGoesBack injects a wall clock that steps back by
// an hour halfway through: stamped times must not decrease (T1), and the
// bank (which panics on a backwards step) must see a monotone clock.
func TestSequencerTimeNeverGoesBack(t *testing.T) {
	fr := &fakeRaft{fsm: newFSM(newBank(), nil)}
	var mu sync.Mutex
	now := int64(1_000_000_000_000)
	calls := 0
	clock := func() int64 {
		mu.Lock()
		defer mu.Unlock()
		calls++
		if calls == 20 {
			now -= int64(time.Hour) // the step back
		}
		now += 1000
		return now
	}
	s := newSequencer(SequencerConfig{BatchCommandsMax: 3}, fr, clock, fr.fsm.lastTime.Load)
	defer func() { s.stop(ErrStopped); s.wait() }()
	for i := range 100 {
		if _, err := s.Submit(context.Background(), transfer(uint64(i), 0, 1, 1)); err != nil {
			t.Fatal(err)
		}
	}
	if calls < 20 {
		t.Fatalf("clock read only %d times; the step back was never exercised", calls)
	}
	if s.ClockBehind() == 0 {
		t.Fatal("the clock stepped back but ClockBehind stayed 0 (no alert)")
	}
	for i := 1; i < len(fr.times); i++ {
		if fr.times[i] < fr.times[i-1] {
			t.Fatalf("batch %d stamped %d after %d", i, fr.times[i], fr.times[i-1])
		}
	}
}

// TestFSMClampsTime: a batch stamped before the last applied time (a new
// leader whose clock is behind) is applied at the last applied time.
func TestFSMClampsTime(t *testing.T) {
	f := newFSM(newBank(), nil)
	late, _ := AppendBatch(nil, 2000, [][]byte{transfer(1, 0, 1, 1)})
	early, _ := AppendBatch(nil, 1000, [][]byte{transfer(2, 0, 1, 1)})
	f.Apply(&raft.Log{Index: 1, Data: late})
	f.Apply(&raft.Log{Index: 2, Data: early}) // bank panics if time went back
	if got := f.lastTime.Load(); got != 2000 {
		t.Fatalf("time after early batch = %d, want 2000", got)
	}
}

// TestSequencerBatchLimits: no batch exceeds the command or byte limit,
// and commands larger than CommandBytesMax are refused at the limit + 1.
func TestSequencerBatchLimits(t *testing.T) {
	fr := &fakeRaft{fsm: newFSM(newBank(), nil)}
	release := make(chan struct{})
	fr.release = release
	cfg := SequencerConfig{BatchCommandsMax: 8, BatchBytesMax: 5 * (4 + bankCmdLen), CommandBytesMax: bankCmdLen}
	s := newSequencer(cfg, fr, func() int64 { return 1 }, fr.fsm.lastTime.Load)
	defer func() { s.stop(ErrStopped); s.wait() }()

	if _, err := s.Submit(context.Background(), make([]byte, bankCmdLen+1)); !errors.Is(err, ErrCommandTooLarge) {
		t.Fatalf("oversized command: err = %v", err)
	}
	var wg sync.WaitGroup
	for i := range 200 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := s.Submit(context.Background(), transfer(uint64(i), 0, 1, 1)); err != nil {
				t.Error(err)
			}
		}()
	}
	time.Sleep(20 * time.Millisecond) // let batches pile up behind the held futures
	close(release)
	wg.Wait()
	total := 0
	for _, n := range fr.sizes {
		if n > 5 {
			t.Fatalf("batch of %d commands; byte limit allows 5", n)
		}
		total += n
	}
	if total != 200 {
		t.Fatalf("%d commands proposed, want 200", total)
	}
}

// TestSequencerOverload: with the log stuck, the queue fills to QueueMax
// and the next Submit fails fast with ErrOverloaded (F11) instead of growing.
func TestSequencerOverload(t *testing.T) {
	fr := &fakeRaft{fsm: newFSM(newBank(), nil), release: make(chan struct{})}
	const queueMax = 64
	s := newSequencer(SequencerConfig{QueueMax: queueMax, BatchCommandsMax: 4, InflightMax: 1}, fr, func() int64 { return 1 }, fr.fsm.lastTime.Load)
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for i := range queueMax {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s.Submit(ctx, transfer(uint64(i), 0, 1, 1))
		}()
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		s.mu.Lock()
		q := s.queued
		s.mu.Unlock()
		if q == queueMax {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("queue reached %d, want %d", q, queueMax)
		}
		time.Sleep(time.Millisecond)
	}
	start := time.Now()
	if _, err := s.Submit(context.Background(), transfer(999, 0, 1, 1)); !errors.Is(err, ErrOverloaded) {
		t.Fatalf("submit past the queue limit: err = %v, want ErrOverloaded", err)
	}
	if d := time.Since(start); d > 100*time.Millisecond {
		t.Fatalf("overload rejection took %v; it must not wait", d)
	}
	cancel()
	close(fr.release)
	wg.Wait()
	s.stop(ErrStopped)
	s.wait()
}
