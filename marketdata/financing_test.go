package marketdata

import (
	"testing"

	"github.com/sampan-hk/sampan/core/engine"
	"github.com/sampan-hk/sampan/core/fixed"
	"github.com/sampan-hk/sampan/core/lending"
)

// A client's statement keeps its newest StatementMax financing entries,
// newest first; firm-wide events (prices) go on no statement but date the
// asset's price; a client without financing events has an empty statement.
func TestStatementKeepsNewestAndDatesPrices(t *testing.T) {
	f := newFixture(t, Config{StatementMax: 3})
	a := f.must(engine.Command{Kind: engine.CmdCreateClient, Key: 1}).Client
	b := f.must(engine.Command{Kind: engine.CmdCreateClient, Key: 2}).Client
	for i := int64(1); i <= 4; i++ {
		f.clock += 1e9
		f.must(engine.Command{Kind: engine.CmdFinDeposit, Client: a, Key: uint64(10 + i), Ref: "0700.HK", Amount: fixed.Amount(100 * i)})
	}
	f.clock += 1e9
	f.must(engine.Command{Kind: engine.CmdSetAssetPrice, Ref: "0700.HK", Amount: 500_000_000})
	f.sync()
	got := f.s.Statement(a, 0)
	if len(got) != 3 {
		t.Fatalf("kept %d entries, want 3", len(got))
	}
	for i, want := range []int64{400, 300, 200} { // the opening entry and the first deposit were evicted
		e := got[i]
		if e.Kind != engine.EvFinancing || e.Fin.Kind != lending.EvDeposited || int64(e.Fin.Qty) != want || (i > 0 && e.Seq >= got[i-1].Seq) {
			t.Fatalf("entry %d: %+v", i, e)
		}
	}
	if n := len(f.s.Statement(a, 2)); n != 2 {
		t.Fatalf("limit 2: %d", n)
	}
	if n := len(f.s.Statement(b, 0)); n != 1 { // client_opened only
		t.Fatalf("b: %d entries", n)
	}
	var id lending.AssetID
	f.x.View(func(e *engine.Engine) { id, _ = e.Financing().Lookup("0700.HK") })
	if f.s.PriceTime(id) != f.clock || f.s.PriceTime(lending.AssetID(999)) != 0 {
		t.Fatalf("price time %d, want %d", f.s.PriceTime(id), f.clock)
	}
}
