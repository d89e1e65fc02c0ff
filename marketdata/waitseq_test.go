package marketdata

import (
	"context"
	"math/rand/v2"
	"testing"
	"time"
)

// woken reports whether WaitSeq's goroutine has returned, and with what.
func woken(done <-chan bool) (ok, returned bool) {
	select {
	case ok = <-done:
		return ok, true
	case <-time.After(20 * time.Millisecond):
		return false, false
	}
}

func waitAsync(w *seqWaiters, ctx context.Context, seq uint64) <-chan bool {
	done := make(chan bool, 1)
	go func() { done <- w.wait(ctx, seq) }()
	return done
}

// waitQueued waits until n waiters are in the heap, so a publish cannot
// race the registration the test means to exercise.
func waitQueued(t *testing.T, w *seqWaiters, n int) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); w.len() != n; {
		if time.Now().After(deadline) {
			t.Fatalf("%d waiters queued, want %d", w.len(), n)
		}
		time.Sleep(time.Millisecond)
	}
}

// A waiter wakes on the publish that reaches its seq, not on earlier ones,
// and a publish past several seqs wakes all of them.
func TestWaitSeqWakesExactlyAtItsSeq(t *testing.T) {
	var w seqWaiters
	w.publish(3)
	if !w.wait(context.Background(), 3) || !w.wait(context.Background(), 1) {
		t.Fatal("a reached seq must return at once")
	}
	at5, at7, at9 := waitAsync(&w, context.Background(), 5), waitAsync(&w, context.Background(), 7), waitAsync(&w, context.Background(), 9)
	waitQueued(t, &w, 3)
	w.publish(4)
	for name, ch := range map[string]<-chan bool{"5": at5, "7": at7, "9": at9} {
		if _, ret := woken(ch); ret {
			t.Fatalf("waiter %s woke at seq 4", name)
		}
	}
	w.publish(5)
	if ok, ret := woken(at5); !ret || !ok {
		t.Fatal("waiter 5 not woken at seq 5")
	}
	if _, ret := woken(at7); ret {
		t.Fatal("waiter 7 woke at seq 5")
	}
	if w.len() != 2 {
		t.Fatalf("%d waiters left, want 2", w.len())
	}
	w.publish(9)
	for name, ch := range map[string]<-chan bool{"7": at7, "9": at9} {
		if ok, ret := woken(ch); !ret || !ok {
			t.Fatalf("waiter %s not woken at seq 9", name)
		}
	}
	if w.len() != 0 {
		t.Fatalf("%d waiters left", w.len())
	}
}

// A cancelled context releases its waiter (false) and takes it out of the
// heap; the others are unaffected. An already-ended context only checks.
func TestWaitSeqCancelReleases(t *testing.T) {
	var w seqWaiters
	ctx, cancel := context.WithCancel(context.Background())
	gone := waitAsync(&w, ctx, 10)
	stays := waitAsync(&w, context.Background(), 10)
	waitQueued(t, &w, 2)
	cancel()
	if ok, ret := woken(gone); !ret || ok {
		t.Fatalf("cancelled waiter: returned %v, ok %v; want returned, not ok", ret, ok)
	}
	if w.len() != 1 {
		t.Fatalf("%d waiters left after cancel, want 1", w.len())
	}
	if w.wait(ctx, 11) || w.len() != 1 {
		t.Fatal("an ended context must return false without queueing")
	}
	w.publish(10)
	if ok, ret := woken(stays); !ret || !ok {
		t.Fatal("remaining waiter not woken")
	}
}

// Randomized: waiters on random seqs, some cancelled, publishes rising in
// random steps. After each publish every waiter at or below it has
// returned true, none above it has returned, and the heap holds exactly
// the live waiters above it.
func TestWaitSeqRandomized(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 7))
	var w seqWaiters
	type wt struct {
		seq    uint64
		cancel context.CancelFunc
		done   <-chan bool
		over   bool
	}
	var ws []*wt
	for i := 0; i < 200; i++ {
		ctx, cancel := context.WithCancel(context.Background())
		x := &wt{seq: 1 + r.Uint64N(100), cancel: cancel}
		x.done = waitAsync(&w, ctx, x.seq)
		ws = append(ws, x)
	}
	waitQueued(t, &w, len(ws))
	cancelled := 0
	for _, x := range ws {
		if r.IntN(5) == 0 {
			x.cancel()
			if <-x.done {
				t.Fatal("a cancelled waiter must return false")
			}
			x.over = true
			cancelled++
		}
	}
	for pub := uint64(0); pub <= 100; pub += 1 + r.Uint64N(7) {
		w.publish(pub)
		live := 0
		for _, x := range ws {
			switch {
			case x.over:
			case x.seq <= pub:
				if ok := <-x.done; !ok {
					t.Fatalf("waiter %d returned false at %d", x.seq, pub)
				}
				x.over = true
			default:
				live++
				select {
				case <-x.done:
					t.Fatalf("waiter %d returned at %d", x.seq, pub)
				default:
				}
			}
		}
		if w.len() != live {
			t.Fatalf("heap holds %d waiters, %d live", w.len(), live)
		}
	}
	w.publish(100)
	for _, x := range ws {
		if !x.over && !<-x.done {
			t.Fatal("not woken at the end")
		}
		x.cancel()
	}
	if w.len() != 0 || cancelled == 0 {
		t.Fatalf("%d left, %d cancelled", w.len(), cancelled)
	}
}
