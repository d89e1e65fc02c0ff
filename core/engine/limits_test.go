package engine

import (
	"os/exec"
	"strings"
	"testing"

	"github.com/sampan-hk/sampan/core/book"
	"github.com/sampan-hk/sampan/core/fixed"
)

// Each named limit holds at the limit and refuses one past it.
func TestLimits(t *testing.T) {
	t.Run("MaxClients", func(t *testing.T) {
		cfg := testConfig()
		cfg.MaxClients = 3
		h := &harness{t: t, e: MustNew(cfg), now: 1}
		for i := 0; i < 3; i++ {
			h.ok(Command{Kind: CmdCreateClient})
		}
		h.want(CodeTooManyClients, Command{Kind: CmdCreateClient})
	})
	t.Run("RefMax", func(t *testing.T) {
		h := newHarness(t)
		h.ok(Command{Kind: CmdCreateClient, Ref: strings.Repeat("r", RefMax)})
		h.want(CodeInvalidField, Command{Kind: CmdCreateClient, Ref: strings.Repeat("r", RefMax+1)})
	})
	t.Run("OrdersPerClient", func(t *testing.T) {
		h := newHarness(t)
		a := h.trader(1_000_000)
		h.mark(btc, 500_000)
		max := testConfig().Markets[btc].Limits.MaxOrdersPerOwner
		for i := 0; i < max; i++ {
			h.ok(limit(a, btc, book.Buy, 490_000-fixed.Price(i), 1))
		}
		h.want(FromBook(book.RejectTooManyOrders), limit(a, btc, book.Buy, 480_000, 1))
	})
	t.Run("PositionLimit", func(t *testing.T) {
		// The BTC ladder ends at 500M USD notional: at 50,000 that is
		// 10,000 BTC, beyond MaxQty; with a 200,000-tick mark (20,000 USD)
		// the test spec allows 1,000 BTC = 20M, inside. Use a config with a
		// short ladder instead: one tier capped at 100,000 USD.
		cfg := testConfig()
		cfg.Markets[btc].Brackets = cfg.Markets[btc].Brackets[:1]
		cfg.Markets[btc].Brackets[0].Cap = 100_000 * usd
		h := &harness{t: t, e: MustNew(cfg), now: 1}
		a := h.trader(1_000_000)
		h.mark(btc, 500_000)
		h.ok(limit(a, btc, book.Buy, 500_000, 2000))                           // exactly 100,000
		h.want(CodePositionLimitExceeded, limit(a, btc, book.Buy, 500_000, 1)) // one lot past
		h.ok(limit(a, btc, book.Sell, 510_000, 2000))                          // the other side is separate
	})
}

// Core packages must stay pure: no I/O, clock, randomness or goroutine
// synchronisation. The check runs on the non-test dependency graph.
func TestCoreImportsArePure(t *testing.T) {
	banned := []string{"net", "os", "time", "math/rand", "math/rand/v2", "sync", "database/sql", "syscall", "unsafe"}
	for _, pkg := range []string{"github.com/sampan-hk/sampan/core/engine", "github.com/sampan-hk/sampan/core/risk", "github.com/sampan-hk/sampan/core/ledger"} {
		out, err := exec.Command("go", "list", "-f", "{{join .Imports \"\\n\"}}", pkg).Output()
		if err != nil {
			t.Skipf("go list unavailable: %v", err)
		}
		for _, imp := range strings.Fields(string(out)) {
			for _, b := range banned {
				if imp == b || strings.HasPrefix(imp, b+"/") {
					t.Errorf("%s imports %s", pkg, imp)
				}
			}
		}
	}
}
