package journal

import (
	"context"
	"encoding/binary"
	"errors"
	"math/rand/v2"
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

// orderRaft is fakeRaft that also records the transfer ids of every
// proposed entry, in proposal order, which is the order the fsm applies
// them (Apply runs the fsm under the lock).
type orderRaft struct {
	fakeRaft
	entries [][]uint64
}

func (r *orderRaft) Apply(data []byte, d time.Duration) raft.ApplyFuture {
	_, cmds, err := DecodeBatch(data, nil)
	f := r.fakeRaft.Apply(data, d)
	if err == nil {
		ids := make([]uint64, len(cmds))
		for i, c := range cmds {
			if len(c) >= 8 { // a malformed command records as id 0
				ids[i] = binary.LittleEndian.Uint64(c)
			}
		}
		r.mu.Lock()
		r.entries = append(r.entries, ids)
		r.mu.Unlock()
	}
	return f
}

// applied is every applied transfer id in apply order.
func (r *orderRaft) applied() []uint64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []uint64
	for _, e := range r.entries {
		out = append(out, e...)
	}
	return out
}

func newOrderRaft() *orderRaft {
	return &orderRaft{fakeRaft: fakeRaft{fsm: newFSM(newBank(), nil)}}
}

// run is the transfers id, id+1, … id+n-1 from account `from`.
func run(id uint64, n int, from uint8) [][]byte {
	cmds := make([][]byte, n)
	for i := range cmds {
		cmds[i] = transfer(id+uint64(i), from, from+1, 1)
	}
	return cmds
}

// TestSequencerSubmitManyConsecutive races single submitters against
// SubmitMany callers, with a small batch limit so runs longer than a batch
// are split: every run must be applied consecutively and in order, and
// every caller must get its own commands' results.
func TestSequencerSubmitManyConsecutive(t *testing.T) {
	for _, seed := range []uint64{1, 2, 3} {
		rng := rand.New(rand.NewPCG(seed, 7))
		fr := newOrderRaft()
		s := newSequencer(SequencerConfig{BatchCommandsMax: 8, InflightMax: 2}, fr, func() int64 { return 1 }, fr.fsm.lastTime.Load)
		const singles, runs = 200, 60
		lens := make([]int, runs)
		for i := range lens {
			lens[i] = 1 + rng.IntN(20) // up to 20: some span three batches of 8
		}
		var wg sync.WaitGroup
		for g := range 4 { // single submitters, ids 1_000_000+
			wg.Go(func() {
				for i := g; i < singles; i += 4 {
					id := uint64(1_000_000 + i)
					res, err := s.Submit(context.Background(), transfer(id, 9, 10, 1))
					if err != nil || res[0] != resultOK || binary.LittleEndian.Uint64(res[1:]) != id {
						t.Errorf("single %d: %v %v", id, res, err)
					}
				}
			})
		}
		for g := range 3 { // run submitters, run r has ids r*100 …
			wg.Go(func() {
				for r := g; r < runs; r += 3 {
					cmds := run(uint64(r*100), lens[r], uint8(r%8))
					res, err := s.SubmitMany(context.Background(), cmds)
					if err != nil || len(res) != len(cmds) {
						t.Errorf("run %d: %d results, err %v", r, len(res), err)
						return
					}
					for i, out := range res {
						if out[0] != resultOK || binary.LittleEndian.Uint64(out[1:]) != uint64(r*100+i) {
							t.Errorf("run %d item %d: result %v", r, i, out)
						}
					}
				}
			})
		}
		wg.Wait()
		s.stop(ErrStopped)
		s.wait()
		checkRunsConsecutive(t, fr.applied(), lens, singles)
	}
}

// checkRunsConsecutive: each run's ids appear once, back to back, in order;
// every command appears exactly once.
func checkRunsConsecutive(t *testing.T, order []uint64, lens []int, singles int) {
	t.Helper()
	want := singles
	for _, n := range lens {
		want += n
	}
	if len(order) != want {
		t.Fatalf("%d commands applied, want %d", len(order), want)
	}
	pos := map[uint64]int{}
	for i, id := range order {
		if _, dup := pos[id]; dup {
			t.Fatalf("id %d applied twice", id)
		}
		pos[id] = i
	}
	for r, n := range lens {
		first, ok := pos[uint64(r*100)]
		if !ok {
			t.Fatalf("run %d never applied", r)
		}
		for i := range n {
			if got := order[first+i]; got != uint64(r*100+i) {
				t.Fatalf("run %d: position %d holds %d, want %d (interleaved or reordered)", r, i, got, r*100+i)
			}
		}
	}
}

// TestSequencerSubmitManyOneEntry: a run that does not fit what is left of
// the open batch is not split: the open batch is sealed and the run goes
// into one entry of its own. Refused commands inside the run get their own
// results and do not affect the others.
func TestSequencerSubmitManyOneEntry(t *testing.T) {
	fr := newOrderRaft()
	release := make(chan struct{})
	fr.release = release
	s := newSequencer(SequencerConfig{BatchCommandsMax: 8, BatchWaitMax: time.Hour}, fr, func() int64 { return 1 }, fr.fsm.lastTime.Load)
	defer func() { s.stop(ErrStopped); s.wait() }()
	var wg sync.WaitGroup
	submit := func(id uint64) {
		wg.Go(func() { s.Submit(context.Background(), transfer(id, 0, 1, 1)) })
	}
	submit(1) // proposed at once, then held in flight
	waitQueued(t, s, 1, func() bool { return len(fr.entries) == 1 })
	for id := range uint64(5) {
		submit(10 + id) // these wait in the open batch (something is in flight)
	}
	waitQueued(t, s, 6, nil)
	cmds := [][]byte{
		transfer(20, 2, 3, 5),
		transfer(21, 2, 3, bankOpening), // refused: 2 holds bankOpening-5 by now
		{1, 2, 3},                       // malformed: refused by the machine
		transfer(22, 3, 4, bankOpening), // fine: 3 holds bankOpening+5
		transfer(20, 2, 3, 5),           // the same id again: a duplicate
	}
	done := make(chan struct{})
	var res [][]byte
	var err error
	go func() { res, err = s.SubmitMany(context.Background(), cmds); close(done) }()
	waitQueued(t, s, 11, nil)
	close(release)
	<-done
	wg.Wait()
	if err != nil {
		t.Fatal(err)
	}
	want := []byte{resultOK, resultRejected, resultRejected, resultOK, resultDuplicate}
	for i, out := range res {
		if out[0] != want[i] {
			t.Fatalf("item %d: result %d, want %d", i, out[0], want[i])
		}
	}
	fr.mu.Lock()
	defer fr.mu.Unlock()
	if len(fr.entries) != 3 || len(fr.entries[1]) != 5 || len(fr.sizes) != 3 || fr.sizes[2] != 5 {
		t.Fatalf("entries %v sizes %v: want [1] [5 singles] [the run of 5]", fr.entries, fr.sizes)
	}
	if e := fr.entries[2]; e[0] != 20 || e[1] != 21 || e[3] != 22 {
		t.Fatalf("run entry %v out of order", e)
	}
}

// waitQueued waits until s holds n unanswered commands and cond (if any)
// holds.
func waitQueued(t *testing.T, s *Sequencer, n int, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		s.mu.Lock()
		q := s.queued
		s.mu.Unlock()
		if q == n && (cond == nil || cond()) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("queued %d, want %d", q, n)
		}
		time.Sleep(time.Millisecond)
	}
}

// TestSequencerSubmitManyRefusals: a run is refused whole, with nothing
// queued, when any command is empty or too large, when it is empty, or
// when it would pass QueueMax; a cancelled wait returns ctx's error while
// the run still commits (the outcome is unknown to the caller, as Submit's).
func TestSequencerSubmitManyRefusals(t *testing.T) {
	fr := newOrderRaft()
	release := make(chan struct{})
	fr.release = release
	s := newSequencer(SequencerConfig{QueueMax: 10, CommandBytesMax: bankCmdLen}, fr, func() int64 { return 1 }, fr.fsm.lastTime.Load)
	defer func() { s.stop(ErrStopped); s.wait() }()
	for _, c := range []struct {
		name string
		cmds [][]byte
		want error
	}{
		{"no commands", nil, ErrEmptyCommand},
		{"an empty command", [][]byte{transfer(1, 0, 1, 1), {}}, ErrEmptyCommand},
		{"a command too large", [][]byte{transfer(1, 0, 1, 1), make([]byte, bankCmdLen+1)}, ErrCommandTooLarge},
		{"past QueueMax", run(1, 11, 0), ErrOverloaded},
	} {
		if _, err := s.SubmitMany(context.Background(), c.cmds); !errors.Is(err, c.want) {
			t.Fatalf("%s: err %v, want %v", c.name, err, c.want)
		}
		waitQueued(t, s, 0, func() bool { return len(fr.applied()) == 0 })
	}
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { _, err := s.SubmitMany(ctx, run(100, 10, 0)); errc <- err }()
	waitQueued(t, s, 10, nil)
	cancel()
	if err := <-errc; !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled run: err %v", err)
	}
	close(release)
	waitQueued(t, s, 0, nil)
	if got := fr.applied(); len(got) != 10 || got[0] != 100 || got[9] != 109 {
		t.Fatalf("after cancel the proposed run still commits in order: %v", got)
	}
}
