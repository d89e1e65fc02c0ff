package main

import (
	"testing"
	"time"
)

// The API bench runs end to end against a real node: every order it sends
// is signed, accepted and answered (no errors), in both entry modes, and
// the fan-out reaches every subscriber. It guards the bench's provisioning
// against operator-API changes; the figures themselves are not checked.
func TestBenchAPISmoke(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a node")
	}
	r, err := runAPIBench(2, 5, 300*time.Millisecond, "")
	if err != nil {
		t.Fatal(err)
	}
	for name, e := range map[string]entryResult{"rest": r.REST, "websocket": r.WebSocket} {
		if e.Orders == 0 || e.Errors != 0 || e.P50Ns <= 0 || e.P99Ns < e.P50Ns || e.CPUPerOrderUs <= 0 {
			t.Fatalf("%s: %+v", name, e)
		}
	}
	if f := r.Fanout; f.Dropped != 0 || f.Delivered != int64(f.Trades*f.Subscribers) {
		t.Fatalf("fanout: %+v", f)
	}
	if _, err := runAPIBench(1, 1, time.Millisecond, "bogus"); err == nil {
		t.Fatal("--only bogus accepted")
	}
}
