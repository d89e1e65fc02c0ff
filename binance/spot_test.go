package binance

import (
	"strings"
	"testing"

	"github.com/sampan-hk/sampan/core/book"
	"github.com/sampan-hk/sampan/core/engine"
	"github.com/sampan-hk/sampan/core/fixed"
)

// With margin financing on, the spot books (BTC-USD, ETH-USD: market ids 2
// and 3, on the same underlyings as the perpetuals) stay out of this
// futures API: BTCUSDT is still the perpetual, and a client's resting spot
// order neither appears in nor breaks the account's open orders.
func TestSpotMarketsAreNotListed(t *testing.T) {
	ev := newEnv(t)
	ev.setMark(0, "50000")
	ev.setMark(2, "50000")
	a := ev.client("a", 100_000, true)
	ev.submit(&engine.Command{Kind: engine.CmdFinDeposit, Client: engine.ClientID(a.Account), Key: 991, Ref: "BTC", Amount: fixed.Amount(100_000_000)})
	ev.submit(&engine.Command{Kind: engine.CmdPlaceOrder, Client: engine.ClientID(a.Account), Key: 992, Market: 2, Side: book.Sell,
		Price: 510_000, Qty: 100}) // 0.1 BTC at 51,000.0 on BTC-USD spot
	ev.must(ev.signed("POST", "/fapi/v1/order", "symbol=BTCUSDT&side=BUY&type=LIMIT&timeInForce=GTC&quantity=0.01&price=49000", a), 200)

	oo := ev.must(ev.signed("GET", "/fapi/v1/openOrders", "", a), 200)
	if len(oo.arr) != 1 || obj(oo.arr[0])["symbol"] != "BTCUSDT" || obj(oo.arr[0])["price"] != "49000" {
		t.Fatalf("open orders: %s", oo.body)
	}
	info := ev.must(ev.raw("GET", "/fapi/v1/exchangeInfo", "", nil), 200)
	if strings.Contains(string(info.body), `"BTCUSD"`) || len(info.obj["symbols"].([]any)) != 2 {
		t.Fatalf("exchangeInfo lists spot: %s", info.body)
	}
	if all := ev.must(ev.raw("GET", "/fapi/v1/premiumIndex", "", nil), 200); len(all.arr) != 2 {
		t.Fatalf("premiumIndex: %s", all.body)
	}
}
