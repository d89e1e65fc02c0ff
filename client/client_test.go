package client

import (
	"sync"
	"testing"
)

// A key's signing timestamps rise strictly, even when many requests are
// signed in one millisecond from many goroutines, and never run more than
// a second ahead of the clock; other keys have their own.
func TestStampsRiseStrictly(t *testing.T) {
	const now = 1_800_000_000_000
	var mu sync.Mutex
	seen := map[int64]bool{}
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 100 {
				ts := stamp("k1", now)
				mu.Lock()
				if seen[ts] {
					t.Errorf("timestamp %d given twice", ts)
				}
				seen[ts] = true
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if len(seen) != 800 || !seen[now] || !seen[now+799] {
		t.Fatalf("%d distinct stamps", len(seen))
	}
	if got := stamp("k2", now); got != now {
		t.Fatalf("another key's first stamp is %d, want the clock's %d", got, now)
	}
	for range 300 { // past a second ahead: the clock's own time again
		stamp("k1", now)
	}
	if got := stamp("k1", now); got != now {
		t.Fatalf("a stamp %d ms ahead of the clock", got-now)
	}
	if got := stamp("k1", now+5000); got != now+5000 {
		t.Fatalf("a later clock: %d", got)
	}
}
