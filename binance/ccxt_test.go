package binance

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// TestCCXT runs the real ccxt client (binance/ccxt, pinned in
// package-lock.json) against the adapter on loopback: two funded
// professional-investor accounts trade with each other through
// binanceusdm. Without node or binance/ccxt/node_modules the test skips,
// unless SAMPAN_REQUIRE_CCXT=1 (CI), where it fails.
func TestCCXT(t *testing.T) {
	node, err := exec.LookPath("node")
	_, modErr := os.Stat(filepath.Join("ccxt", "node_modules", "ccxt", "package.json"))
	if err != nil || modErr != nil {
		msg := "node or binance/ccxt/node_modules missing; run: npm ci --prefix binance/ccxt"
		if os.Getenv("SAMPAN_REQUIRE_CCXT") == "1" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	ev := newEnv(t)
	ev.setMark(0, "50000")
	ev.setMark(1, "3000")
	a := ev.client("alice", 2_000, true) // small, so the position has a liquidation price
	b := ev.client("bob", 100_000, true)
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, filepath.Join("ccxt", "test.mjs"), ev.url, a.ID, string(a.Secret), b.ID, string(b.Secret))
	out, err := cmd.CombinedOutput()
	t.Logf("ccxt output:\n%s", out)
	if err != nil {
		t.Fatalf("ccxt script failed: %v", err)
	}
	// The real client's requests went through the lean HTTP lane, as they
	// do against sampan serve (and not all handed to net/http).
	if served, _ := ev.lane.Stats(); served < 10 {
		t.Fatalf("only %d of ccxt's requests took the HTTP lane", served)
	}
}
