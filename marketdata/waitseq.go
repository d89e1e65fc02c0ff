package marketdata

import (
	"context"
	"sync"
	"sync/atomic"
)

// seqWaiters wakes WaitSeq callers when the store reaches their sequence.
//
// Waiters sit in a min-heap by sequence, so a publish wakes exactly the
// ones whose sequence has been reached and touches none of the others. It
// replaced one channel closed on every batch, which woke every waiter on
// every batch: with a couple of thousand pipelined WebSocket orders
// waiting, each batch woke all of them to find most not yet reached.
type seqWaiters struct {
	pub  atomic.Uint64 // last published sequence; read without mu on the fast path
	mu   sync.Mutex
	heap []*waiter
}

// waiter is one WaitSeq call. ch (capacity 1) receives one token when seq
// is published; idx is its heap position, -1 once it has left the heap.
type waiter struct {
	seq uint64
	ch  chan struct{}
	idx int
}

var waiterPool = sync.Pool{New: func() any { return &waiter{ch: make(chan struct{}, 1)} }}

// publish records seq and wakes every waiter at or below it. seq may be
// lower than before (a rebuild from a restored engine): waiters above it
// keep waiting, as they would for any sequence not reached yet.
func (w *seqWaiters) publish(seq uint64) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.pub.Store(seq)
	for len(w.heap) > 0 && w.heap[0].seq <= seq {
		x := w.remove(0)
		x.ch <- struct{}{} // never blocks: one token per waiter, sent once
	}
}

// wait blocks until seq is published (true) or ctx ends (false).
func (w *seqWaiters) wait(ctx context.Context, seq uint64) bool {
	if w.pub.Load() >= seq {
		return true
	}
	if ctx.Err() != nil { // an ended context only checks (gateway's settle)
		return false
	}
	w.mu.Lock()
	if w.pub.Load() >= seq { // published between the check and the lock
		w.mu.Unlock()
		return true
	}
	x := waiterPool.Get().(*waiter)
	x.seq = seq
	w.push(x)
	w.mu.Unlock()
	ok := true
	select {
	case <-x.ch:
	case <-ctx.Done():
		w.mu.Lock()
		if x.idx >= 0 {
			w.remove(x.idx) // not woken: take it out, no token will come
			ok = false
		} else {
			<-x.ch // woken while ctx ended: the token is there, and the seq reached
		}
		w.mu.Unlock()
	}
	waiterPool.Put(x)
	return ok
}

// len is the number of waiters (tests).
func (w *seqWaiters) len() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.heap)
}

func (w *seqWaiters) push(x *waiter) {
	x.idx = len(w.heap)
	w.heap = append(w.heap, x)
	w.up(x.idx)
}

// remove takes the waiter at heap position i out and returns it.
func (w *seqWaiters) remove(i int) *waiter {
	x, last := w.heap[i], len(w.heap)-1
	if i != last {
		w.swap(i, last)
	}
	w.heap[last] = nil
	w.heap = w.heap[:last]
	if i != last {
		w.down(i)
		w.up(i)
	}
	x.idx = -1
	return x
}

func (w *seqWaiters) swap(i, j int) {
	w.heap[i], w.heap[j] = w.heap[j], w.heap[i]
	w.heap[i].idx, w.heap[j].idx = i, j
}

func (w *seqWaiters) up(i int) {
	for i > 0 {
		p := (i - 1) / 2
		if w.heap[p].seq <= w.heap[i].seq {
			return
		}
		w.swap(i, p)
		i = p
	}
}

func (w *seqWaiters) down(i int) {
	for n := len(w.heap); ; {
		c := 2*i + 1
		if c >= n {
			return
		}
		if c+1 < n && w.heap[c+1].seq < w.heap[c].seq {
			c++
		}
		if w.heap[i].seq <= w.heap[c].seq {
			return
		}
		w.swap(i, c)
		i = c
	}
}
