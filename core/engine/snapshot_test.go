package engine

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"strings"
	"testing"

	"github.com/sampan-hk/sampan/core/book"
	"github.com/sampan-hk/sampan/core/fixed"
)

// TestSnapshotRestoreContinues snapshots randomized runs at random points,
// restores, and drives the original and the copy with the same commands:
// the state hash, the re-taken snapshot bytes, every result and every
// encoded event must stay identical.
func TestSnapshotRestoreContinues(t *testing.T) {
	seeds, n := 6, 2500
	if testing.Short() {
		seeds, n = 2, 1200
	}
	for s := 1; s <= seeds; s++ {
		e := MustNew(testConfig())
		g := &gen{r: rng(1000 + s), e: e, now: 1e9}
		var cp *Engine
		var a, b []byte
		for i := 0; i < n; i++ {
			if g.r.chance(1) {
				snap := e.AppendSnapshot(nil)
				var err error
				if cp, err = Restore(testConfig(), snap); err != nil {
					t.Fatalf("seed %d cmd %d: restore: %v", s, i, err)
				}
				if cp.StateHash() != e.StateHash() {
					t.Fatalf("seed %d cmd %d: restored state hash differs", s, i)
				}
				if !bytes.Equal(cp.AppendSnapshot(nil), snap) {
					t.Fatalf("seed %d cmd %d: snapshot of the restored engine differs", s, i)
				}
			}
			cmd, now := g.command()
			r1, ev1 := e.Apply(&cmd, now)
			a = a[:0]
			for j := range ev1 {
				a, _ = AppendEvent(a, &ev1[j])
			}
			if cp == nil {
				continue
			}
			r2, ev2 := cp.Apply(&cmd, now)
			b = b[:0]
			for j := range ev2 {
				b, _ = AppendEvent(b, &ev2[j])
			}
			if r1 != r2 || !bytes.Equal(a, b) {
				t.Fatalf("seed %d cmd %d (%v): restored engine diverged: %+v vs %+v", s, i, cmd.Kind, r1, r2)
			}
			if i%50 == 0 || r1.Code != OK {
				if e.StateHash() != cp.StateHash() {
					t.Fatalf("seed %d cmd %d: state hashes diverged", s, i)
				}
				if err := cp.CheckInvariants(); err != nil {
					t.Fatalf("seed %d cmd %d: restored engine: %v", s, i, err)
				}
			}
		}
		if cp != nil && e.StateHash() != cp.StateHash() {
			t.Fatalf("seed %d: final state hashes differ", s)
		}
	}
}

// goldenSnapshotEngine is a small fixed scenario: two traders, marks, a
// trade, resting orders with every flag, a filled slot freed out of order,
// idempotency keys, a pending PI expiry, index quotes, basis samples, a
// funding settlement and a reduce-only market.
func goldenSnapshotEngine(t testing.TB) *Engine {
	h := newHarness(t)
	a, b := h.trader(100_000), h.trader(100_000)
	h.mark(btc, 500_000)
	h.mark(eth, 300_000)
	h.ok(Command{Kind: CmdPlaceOrder, Client: a, Market: btc, Side: book.Buy, Price: 499_000, Qty: 10, Key: 11})
	h.ok(Command{Kind: CmdPlaceOrder, Client: b, Market: btc, Side: book.Sell, Price: 501_000, Qty: 7, Key: 21, Flags: FlagPostOnly})
	h.ok(Command{Kind: CmdPlaceOrder, Client: b, Market: btc, Side: book.Sell, Price: 500_500, Qty: 5, Key: 22, STP: book.STPExpireBoth})
	h.ok(ioc(a, btc, book.Buy, 500_500, 5))
	h.ok(Command{Kind: CmdPlaceOrder, Client: a, Market: btc, Side: book.Sell, Price: 502_000, Qty: 3, Key: 12, Flags: FlagReduceOnly})
	h.ok(limit(b, eth, book.Buy, 299_000, 40))
	h.ok(Command{Kind: CmdSetLeverage, Client: b, Market: eth, Leverage: 5})
	h.now += 5e9
	h.ok(Command{Kind: CmdWithdraw, Client: a, Amount: 1_000 * usd, Key: 13})
	// Valuation: BTC healthy on three venues with a funding settlement
	// behind it (the test config settles every two minutes); ETH on one
	// venue, so reduce-only.
	for _, src := range []uint16{coinbase, kraken, okx} {
		h.ok(quote(btc, src, 500_100+fixed.Price(src), h.now))
	}
	h.ok(quote(eth, binance, 300_050, h.now))
	h.now += 121e9
	for _, src := range []uint16{coinbase, kraken, okx} {
		h.ok(quote(btc, src, 500_200+fixed.Price(src), h.now))
	}
	h.ok(Command{Kind: CmdTick})
	return h.e
}

// The snapshot bytes of a fixed scenario are pinned, so a format change is
// always deliberate (regenerate with -update and bump snapshotVersion if
// old snapshots can no longer be read).
func TestSnapshotGolden(t *testing.T) {
	const path = "testdata/snapshot.golden"
	e := goldenSnapshotEngine(t)
	if f, _ := e.Funding(btc); len(f.History) != 1 || !e.MarketReduceOnly(eth) || e.MarketReduceOnly(btc) {
		t.Fatalf("golden scenario lost its valuation state: %+v", f)
	}
	got := e.AppendSnapshot(nil)
	enc := hex.EncodeToString(got)
	var sb strings.Builder
	for len(enc) > 0 {
		n := min(len(enc), 96)
		sb.WriteString(enc[:n] + "\n")
		enc = enc[n:]
	}
	if *update {
		if err := os.WriteFile(path, []byte(sb.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	want, err := hex.DecodeString(strings.ReplaceAll(string(raw), "\n", ""))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("snapshot format or scenario changed (%d bytes, golden %d)", len(got), len(want))
	}
	r, err := Restore(testConfig(), want)
	if err != nil || r.StateHash() != e.StateHash() {
		t.Fatalf("golden snapshot does not restore: %v", err)
	}
}

// Every truncation, every single-byte change, a wrong version and another
// config are refused with an error; nothing panics.
func TestSnapshotRejectsCorruption(t *testing.T) {
	snap := goldenSnapshotEngine(t).AppendSnapshot(nil)
	cfg := testConfig()
	for n := 0; n < len(snap); n += 1 + n/64 {
		if _, err := Restore(cfg, snap[:n]); err == nil {
			t.Fatalf("truncated to %d: accepted", n)
		}
	}
	for i := range snap {
		bad := bytes.Clone(snap)
		bad[i] ^= 0x5a
		if _, err := Restore(cfg, bad); err == nil {
			t.Fatalf("byte %d changed: accepted", i)
		}
	}
	// Past the checksum: corrupt the body and re-seal it. The parser and the
	// invariant check must refuse or produce a valid engine, never panic.
	for i := len(snapshotMagic) + 1; i < len(snap)-sha256.Size; i++ {
		bad := reseal(snap, i, 0x01)
		if e, err := Restore(cfg, bad); err == nil {
			if err := e.CheckInvariants(); err != nil {
				t.Fatalf("byte %d: restored a broken engine: %v", i, err)
			}
		}
	}
	v := reseal(snap, len(snapshotMagic), 0x04)
	if _, err := Restore(cfg, v); err != ErrSnapshotVersion {
		t.Fatalf("version 7: %v", err)
	}
	other := testConfig()
	other.Markets = other.Markets[:1]
	if _, err := Restore(other, snap); err == nil {
		t.Fatal("restored into a config with other markets")
	}
}

// reseal flips bits of byte i and recomputes the checksum trailer.
func reseal(snap []byte, i int, x byte) []byte {
	bad := bytes.Clone(snap)
	bad[i] ^= x
	body := bad[:len(bad)-sha256.Size]
	sum := sha256.Sum256(body)
	copy(bad[len(body):], sum[:])
	return bad
}

func FuzzRestore(f *testing.F) {
	snap := goldenSnapshotEngine(f).AppendSnapshot(nil)
	f.Add(snap, false)
	f.Add(snap[:len(snap)/2], true)
	cfg := testConfig()
	f.Fuzz(func(t *testing.T, data []byte, seal bool) {
		if seal && len(data) > sha256.Size {
			// Reach the parser behind the checksum.
			body := data[:len(data)-sha256.Size]
			sum := sha256.Sum256(body)
			data = append(bytes.Clone(body), sum[:]...)
		}
		e, err := Restore(cfg, data)
		if err != nil {
			return
		}
		if err := e.CheckInvariants(); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(e.AppendSnapshot(nil), data) {
			t.Fatal("a restorable snapshot does not re-encode to itself")
		}
	})
}

// A version-1 snapshot (before liquidation: no queue flag, no fund
// positions, no queue, no published ADL quantiles) still restores, to the
// same accounts and positions as the scenario that produced it (which
// today also publishes quantiles on its Ticks).
func TestSnapshotV1Restores(t *testing.T) {
	raw, err := os.ReadFile("testdata/snapshot-v1.golden")
	if err != nil {
		t.Fatal(err)
	}
	v1, err := hex.DecodeString(strings.ReplaceAll(string(raw), "\n", ""))
	if err != nil {
		t.Fatal(err)
	}
	r, err := Restore(testConfig(), v1)
	if err != nil {
		t.Fatalf("v1 snapshot: %v", err)
	}
	e := goldenSnapshotEngine(t)
	if r.Clients() != e.Clients() {
		t.Fatal("v1 snapshot restores to another state")
	}
	for c := ClientID(1); int(c) <= e.Clients(); c++ {
		a, _ := r.Account(c)
		b, _ := e.Account(c)
		pa, pb := r.Positions(c, nil), e.Positions(c, nil)
		if a != b || len(pa) != len(pb) {
			t.Fatalf("client %d differs after a v1 restore", c)
		}
		for i := range pa {
			if pa[i].Size != pb[i].Size || pa[i].Cost != pb[i].Cost {
				t.Fatalf("client %d position differs after a v1 restore", c)
			}
		}
	}
}

// A version-2 snapshot (before governance) restores to the same state as
// the scenario, with the governance stores at genesis.
func TestSnapshotV2Restores(t *testing.T) {
	raw, err := os.ReadFile("testdata/snapshot-v2.golden")
	if err != nil {
		t.Fatal(err)
	}
	v2, err := hex.DecodeString(strings.ReplaceAll(string(raw), "\n", ""))
	if err != nil {
		t.Fatal(err)
	}
	r, err := Restore(testConfig(), v2)
	if err != nil {
		t.Fatalf("v2 snapshot: %v", err)
	}
	e := goldenSnapshotEngine(t)
	if r.StateHash() != e.StateHash() {
		t.Fatal("v2 snapshot restores to another state")
	}
}
