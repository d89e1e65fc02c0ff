package console

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/sampan-hk/sampan/core/book"
	"github.com/sampan-hk/sampan/core/engine"
	"github.com/sampan-hk/sampan/core/fixed"
	"github.com/sampan-hk/sampan/gateway"
)

// Financing scales (the lending book's minor units).
const (
	microHKD  = fixed.Amount(1_000_000)   // HK$1
	satoshi   = fixed.Amount(100_000_000) // 1 BTC
	spotBTC   = engine.MarketID(2)        // WithFinancing appends BTC-USD after the two perpetuals
	btcTicks  = fixed.Price(10)           // ticks per US$1 (tick 0.1)
	btcPerLot = fixed.Qty(1000)           // lots per BTC (lot 0.001)
)

// finClient opens a client through the operator API (ref name) with a
// read-only key, its financing account holding shares of 0700.HK, and an
// approved HK$2m credit limit recorded by the risk officer.
func (v *venue) finClient(name string, shares fixed.Amount) (engine.ClientID, *gateway.Key) {
	v.t.Helper()
	id := v.do(v.ops[gateway.RoleOperations], "POST", "/v1/admin/clients", `{"ref":"`+name+`","idempotency_key":"c-`+name+`"}`, 200)["client_id"].(string)
	n, _ := strconv.ParseUint(id, 10, 32)
	c := engine.ClientID(n)
	k := &gateway.Key{ID: "key-" + name, Secret: []byte("secret-of-" + name), Account: n, Perms: gateway.PermRead}
	v.keys.Put(k)
	if shares > 0 {
		v.submit(&engine.Command{Kind: engine.CmdFinDeposit, Client: c, Ref: "0700.HK", Amount: shares})
	}
	v.submit(&engine.Command{Kind: engine.CmdCreditAssessment, Client: c, Flag: true, Gov: &engine.GovArgs{Operator: v.ops[gateway.RoleRisk].Operator, Grade: "A",
		CreditLimit: 2_000_000 * microHKD, NetAssets: 50_000_000 * microHKD, Income: 5_000_000 * microHKD, Experience: 10,
		Review: v.now() + int64(365*24*time.Hour)}})
	return c, k
}

// btcIndex moves the BTC index to usd dollars with three agreeing venues
// quoting it, round after round: the index moves at most 1% per update.
// The engine forwards each healthy index to the lending book as BTC's price.
func (v *venue) btcIndex(usd int64) {
	v.t.Helper()
	for round := 0; round < 200; round++ {
		for src := uint16(1); src <= 3; src++ {
			v.submit(&engine.Command{Kind: engine.CmdQuote, Market: spotBTC, Source: src, Price: fixed.Price(usd) * btcTicks, Observed: v.now()})
		}
		ix := v.do(v.ops[gateway.RoleRisk], "GET", "/v1/markets/BTC-USD/index", "", 200)
		if p, _ := ix["price"].(string); p != "" && mustFloat(p) == float64(usd) { // display-only comparison of a whole number
			return
		}
	}
	v.t.Fatalf("the BTC index did not reach %d", usd)
}

// buyBTC buys thousandths of a BTC at US$100,000 on margin (IOC: margin
// buys take liquidity).
func (v *venue) buyBTC(c engine.ClientID, milli int64) {
	v.t.Helper()
	v.submit(&engine.Command{Kind: engine.CmdPlaceOrder, Client: c, Market: spotBTC, Side: book.Buy, TIF: book.IOC,
		Price: 100_000 * btcTicks, Qty: fixed.Qty(milli) * btcPerLot / 1000})
}

func mustFloat(s string) float64 {
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		panic(err)
	}
	return f
}

// hkdWhole is the console's whole-dollar HKD: half away from zero, grouped.
func hkdWhole(s string) string {
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	intPart, frac, _ := strings.Cut(s, ".")
	n, _ := strconv.ParseInt(intPart, 10, 64)
	if frac != "" && frac[0] >= '5' {
		n++
	}
	d := strconv.FormatInt(n, 10)
	var b strings.Builder
	for i, r := range d {
		if i > 0 && (len(d)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(r)
	}
	if neg && n != 0 {
		return "−" + b.String()
	}
	return b.String()
}

// seconds parses the console's countdown (H:MM:SS or M:SS).
func seconds(t *testing.T, s string) int {
	t.Helper()
	total := 0
	for _, p := range strings.Split(strings.TrimSpace(s), ":") {
		n, err := strconv.Atoi(p)
		if err != nil {
			t.Fatalf("countdown %q", s)
		}
		total = total*60 + n
	}
	return total
}

// The Margin view end to end, on a venue with margin financing. By hand
// (USD at HK$7.80, 0700.HK at HK$500 with a 30% haircut, BTC 40%):
//
//	carol  800 sh (L 280,000) buys 0.5 BTC at 100,000: debit 390,000
//	dave  1000 sh (L 350,000) buys 0.5 BTC:             debit 390,000
//	erin   200 sh (L  70,000) buys 0.145 BTC:           debit 113,100
//
// The BTC index falls to 35,000 (BTC lends 35,000 × 7.8 × 40% = 10,920
// per coin):
//
//	carol  L = 280,000 + 54,600 = 334,600 < 390,000: a call, shortfall
//	       55,400; not hard (130% × 334,600 = 434,980 > 390,000)
//	dave   L = 350,000 + 54,600 = 404,600: debit 96.4% of it (Watch)
//	erin   L = 70,000 + 15,834 = 85,834; 130% of it is 111,584.2 ≤
//	       113,100: close-out at once, and with no bids it stays in progress
//
// Stress combined-50 (BTC 17,500, 0700.HK 400): erin's market value is
// 80,000 + 0.145 × 17,500 × 7.8 = 99,792.5 < 113,100, a loss of 13,307.5
// (shown 13,308); carol (400,000 × 80% + 68,250 = 388,250 < 390,000)
// loses 1,750.
func TestMarginInBrowser(t *testing.T) {
	bin := requireChromium(t)
	shots := os.Getenv("SAMPAN_SCREENSHOTS") == "1"
	v := newVenueWith(t, engine.WithFinancing(engine.DefaultConfig()))
	risk := v.ops[gateway.RoleRisk]

	v.submit(&engine.Command{Kind: engine.CmdSetAssetPrice, Ref: "USD", Amount: 7_800_000})
	v.submit(&engine.Command{Kind: engine.CmdSetAssetPrice, Ref: "0700.HK", Amount: 500 * microHKD})
	v.btcIndex(100_000)
	maker, _ := v.finClient("maker", 0)
	v.submit(&engine.Command{Kind: engine.CmdFinDeposit, Client: maker, Ref: "BTC", Amount: 5 * satoshi})
	v.submit(&engine.Command{Kind: engine.CmdPlaceOrder, Client: maker, Market: spotBTC, Side: book.Sell, Price: 100_000 * btcTicks, Qty: 2 * btcPerLot})
	carol, carolKey := v.finClient("carol", 800)
	dave, daveKey := v.finClient("dave", 1000)
	erin, _ := v.finClient("erin", 200)
	v.buyBTC(carol, 500)
	v.buyBTC(dave, 500)
	v.buyBTC(erin, 145)
	v.btcIndex(35_000)

	// Engine time advances with commands; a node ticks every second, and
	// so does this venue from here on (deadlines count down).
	stopTicks := make(chan struct{})
	defer close(stopTicks)
	go func() {
		tk := time.NewTicker(time.Second)
		defer tk.Stop()
		for {
			select {
			case <-stopTicks:
				return
			case <-tk.C:
				_, _ = v.x.Submit(context.Background(), &engine.Command{Kind: engine.CmdTick})
			}
		}
	}()

	// The API's view, which the console must show.
	cl := v.do(risk, "GET", "/v1/admin/financing/clients", "", 200)["clients"].([]any)
	byID := map[string]map[string]any{}
	for _, c := range cl {
		m := c.(map[string]any)
		byID[m["client_id"].(string)] = m
	}
	id := func(c engine.ClientID) string { return strconv.FormatUint(uint64(c), 10) }
	if s := byID[id(carol)]; s == nil || s["call_state"] != "open" {
		t.Fatalf("carol is not under call: %v", byID[id(carol)])
	}
	if s := byID[id(erin)]; s == nil || s["call_state"] != "closing_out" {
		t.Fatalf("erin is not closing out: %v", byID[id(erin)])
	}
	if s := byID[id(dave)]; s == nil || s["call_state"] != "none" {
		t.Fatalf("dave: %v", byID[id(dave)])
	}
	// The hand-worked figures.
	for _, c := range []struct {
		who       engine.ClientID
		key, want string
	}{{carol, "shortfall_hkd", "55,400"}, {carol, "lending_value_hkd", "334,600"}, {dave, "lending_value_hkd", "404,600"}, {erin, "debit_hkd", "113,100"}} {
		if got := hkdWhole(byID[id(c.who)][c.key].(string)); got != c.want {
			t.Errorf("client %d %s = %s, by hand %s", c.who, c.key, byID[id(c.who)][c.key], c.want)
		}
	}

	ctx := headless(t, bin, 1280, 800, 60*time.Second)
	page := watchPage(t, ctx, false)
	step := func(what string, actions ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		page.step(t, ctx, what, actions...)
	}
	// Tables redraw on every poll: read again if a node went away.
	eval := func(js string) string {
		t.Helper()
		var err error
		for try := 0; try < 10; try++ {
			var s string
			if s, err = chromedp.Run(ctx, chromedp.Evaluate[string](js)); err == nil {
				return s
			}
			time.Sleep(100 * time.Millisecond)
		}
		t.Fatalf("%s: %v", js, err)
		return ""
	}
	node := func(sel, expr string) string {
		return eval(`(() => { const e = document.querySelector(` + strconv.Quote(sel) + `); if (!e) throw new Error('missing'); return String(` + expr + `); })()`)
	}
	text := func(sel string) string { return strings.TrimSpace(node(sel, "e.textContent")) }
	attr := func(sel, name string) string { return node(sel, "e.getAttribute("+strconv.Quote(name)+") ?? ''") }
	shot := func(name string) chromedp.Action[chromedp.Void] {
		return chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
			if !shots {
				return nil
			}
			if _, err := chromedp.Sleep(400*time.Millisecond)(ctx, tg); err != nil {
				return err
			}
			png, err := chromedp.CaptureScreenshot()(ctx, tg)
			if err != nil {
				return err
			}
			return os.WriteFile("../docs/console/"+name+".png", png, 0o644)
		})
	}

	// 1. The risk officer opens the Margin view.
	step("log in to the margin view",
		chromedp.EmulateViewport(1280, 800),
		chromedp.Navigate(v.url+"/console/#/margin"),
		chromedp.WaitVisible(chromedp.ID("op-login-key")),
		chromedp.SendKeys(chromedp.ID("op-login-key"), risk.ID),
		chromedp.SendKeys(chromedp.ID("op-login-secret"), string(risk.Secret)),
		chromedp.Click(chromedp.ID("op-login-submit")),
		chromedp.WaitVisible(chromedp.CSS(`#margin-clients tr[data-client="`+id(carol)+`"][data-call="open"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#margin-stress-chart[data-bars]`)),
		chromedp.WaitVisible(chromedp.CSS(`#margin-collateral tr[data-asset="BTC"]`)),
	)

	// Worst first: the close-out, the call, then the client nearest one.
	clientOrder := strings.Fields(eval(`[...document.querySelectorAll('#margin-clients tr[data-client]')].map((r) => r.dataset.client).join(' ')`))
	if want := []string{id(erin), id(carol), id(dave)}; fmt.Sprint(clientOrder) != fmt.Sprint(want) {
		t.Errorf("client order %v, want %v (close-out, call, watch)", clientOrder, want)
	}
	for _, c := range []engine.ClientID{carol, dave, erin} {
		row, api := `#margin-clients tr[data-client="`+id(c)+`"]`, byID[id(c)]
		for f, key := range map[string]string{"lending": "lending_value_hkd", "debit": "debit_hkd", "shortfall": "shortfall_hkd"} {
			if got, want := text(row+` td[data-f="`+f+`"]`), hkdWhole(api[key].(string)); got != want {
				t.Errorf("client %d %s reads %q, want %q (API %s)", c, f, got, want, api[key])
			}
		}
	}
	if got := text(`#margin-clients tr[data-client="` + id(erin) + `"]`); !strings.Contains(got, "Closing out") {
		t.Errorf("erin's row %q does not say closing out", got)
	}
	if got := text(`#margin-clients tr[data-client="` + id(erin) + `"] td.countdown`); got != "Under way" {
		t.Errorf("erin's close-out shows time left %q, want Under way (no deadline runs during a close-out)", got)
	}
	if cls := attr(`#margin-clients tr[data-client="`+id(erin)+`"]`, "class"); !strings.Contains(cls, "risk-liq") {
		t.Errorf("erin's row class %q: a close-out is highlighted", cls)
	}
	if got := text(`#margin-clients tr[data-client="` + id(dave) + `"]`); !strings.Contains(got, "Watch") {
		t.Errorf("dave's row %q does not say Watch", got)
	}
	// The countdown to carol's deadline runs.
	cd := `#margin-clients tr[data-client="` + id(carol) + `"] td.countdown`
	first := seconds(t, text(cd))
	if api := int(byID[id(carol)]["seconds_left"].(float64)); first > api || first < api-10 {
		t.Errorf("countdown %d s, API said %d s", first, api)
	}
	time.Sleep(2100 * time.Millisecond)
	if second := seconds(t, text(cd)); second >= first || second < first-5 {
		t.Errorf("countdown went from %d to %d s in 2 s", first, second)
	}

	// Firm panel: the API's figures, exact in each cell's tooltip.
	firm := v.do(risk, "GET", "/v1/admin/financing/firm", "", 200)
	for k, key := range map[string]string{"capital": "capital_hkd", "debit": "total_debit_hkd", "lending": "lending_value_hkd",
		"capital-lending": "capital_view_lending_value_hkd", "capital-shortfall": "capital_view_shortfall_hkd"} {
		sel := `#margin-firm .stat[data-k="` + k + `"]`
		if got := attr(sel, "title"); !strings.Contains(got, "Exact: HK$"+firm[key].(string)) {
			t.Errorf("firm %s tooltip %q, want HK$%s", k, got, firm[key])
		}
		if got := text(sel + ` .stat-v`); got != hkdWhole(firm[key].(string)) {
			t.Errorf("firm %s reads %q, want %q", k, got, hkdWhole(firm[key].(string)))
		}
	}
	if got := text(`#margin-firm .stat[data-k="multiple"] .stat-v`); got != firm["loans_to_capital"].(string)+"×" {
		t.Errorf("loans to capital %q, API %v", got, firm["loans_to_capital"])
	}
	if got, want := text(`#margin-firm .stat[data-k="under-call"] .stat-v`), fmt.Sprint(firm["under_call"]); got != want {
		t.Errorf("under call %q, API %s", got, want)
	}
	if got, want := text(`#margin-firm .stat[data-k="closing-out"] .stat-v`), fmt.Sprint(firm["closing_out"]); got != want {
		t.Errorf("closing out %q, API %s", got, want)
	}

	// Collateral: one row per asset with its haircut; concentration shares.
	coll := v.do(risk, "GET", "/v1/admin/financing/collateral", "", 200)
	for _, a := range coll["assets"].([]any) {
		m := a.(map[string]any)
		ppm, _ := strconv.ParseFloat(fmt.Sprint(m["haircut_ppm"]), 64)
		want := strconv.FormatFloat(ppm/1e4, 'f', -1, 64) + "%"
		if got := text(`#margin-collateral tr[data-asset="` + m["asset"].(string) + `"] td[data-f="haircut"]`); got != want {
			t.Errorf("%s haircut %q, want %q", m["asset"], got, want)
		}
	}
	shares := 0
	for _, c := range coll["concentration"].([]any) {
		m := c.(map[string]any)
		shares++
		if got := attr(`#margin-collateral .conc-row[data-asset="`+m["asset"].(string)+`"]`, "data-share"); got != fmt.Sprint(m["share_ppm"]) {
			t.Errorf("%s concentration %q, API %v", m["asset"], got, m["share_ppm"])
		}
	}
	if shares == 0 {
		t.Error("the API reports no concentration")
	}

	// Stress: one bar per scenario, each the API's total.
	st := v.do(risk, "GET", "/v1/admin/financing/stress", "", 200)
	var names, shorts, losses []string
	rows := 0
	for _, r := range st["records"].([]any) {
		m := r.(map[string]any)
		rows++
		if m["client"] == "ALL" {
			if m["scenario"] == "combined-50" && hkdWhole(m["loss"].(string)) != "15,058" {
				t.Errorf("combined-50 firm loss %s, by hand 13,307.5 + 1,750", m["loss"])
			}
			names = append(names, m["scenario"].(string))
			shorts = append(shorts, m["shortfall"].(string))
			losses = append(losses, m["loss"].(string))
		}
	}
	if len(names) < 5 {
		t.Fatalf("stress scenarios %v", names)
	}
	chart := `#margin-stress-chart`
	if got := attr(chart, "data-bars"); got != strconv.Itoa(len(names)) {
		t.Errorf("chart has %s bars, API %d scenarios", got, len(names))
	}
	if got := attr(chart, "data-values0"); got != strings.Join(shorts, " ") {
		t.Errorf("chart shortfalls %q, API %q", got, strings.Join(shorts, " "))
	}
	if got := attr(chart, "data-values1"); got != strings.Join(losses, " ") {
		t.Errorf("chart losses %q, API %q", got, strings.Join(losses, " "))
	}
	step("stress CSV", chromedp.Click(chromedp.ID("margin-stress-csv")), chromedp.WaitVisible(chromedp.CSS(`#margin-stress-csv[data-rows]`)))
	if got := attr("#margin-stress-csv", "data-rows"); got != strconv.Itoa(rows+1) {
		t.Errorf("CSV has %s lines, want %d records and a header", got, rows)
	}
	if got := attr("#margin-stress-csv", "data-head"); !strings.HasPrefix(got, "scenario,client,debit") {
		t.Errorf("CSV header %q", got)
	}
	step("margin screenshot", shot("margin"))

	checkMarginModule(t, ctx)

	// The spot market in the Markets view: the maker's offer, no funding.
	step("spot market",
		chromedp.Navigate(v.url+"/console/#/markets/BTC-USD"),
		chromedp.WaitVisible(chromedp.CSS(`#ladder .lv-ask`)),
		chromedp.WaitVisible(chromedp.CSS(`#funding-history td.empty`)),
	)
	if got := text("#funding-history"); !strings.Contains(got, "spot market pays no funding") {
		t.Errorf("spot funding history %q", got)
	}

	// The Risk view stays with the perpetuals: one ADL tab per perpetual.
	step("risk view", chromedp.Navigate(v.url+"/console/#/risk"), chromedp.WaitVisible(chromedp.CSS(`#risk-hook-adl .tab`)))
	if got := eval(`[...document.querySelectorAll('#risk-hook-adl .tab')].map((b) => b.dataset.symbol).join(' ')`); got != "BTC-USD-PERP ETH-USD-PERP" {
		t.Errorf("ADL tabs %q, want the two perpetuals", got)
	}

	// 2. Carol in the Trader view sees her call and its countdown.
	fin := v.do(carolKey, "GET", "/v1/financing", "", 200)
	step("carol logs in",
		chromedp.Navigate(v.url+"/console/#/trader"),
		chromedp.WaitVisible(chromedp.ID("login-key")),
		chromedp.SendKeys(chromedp.ID("login-key"), carolKey.ID),
		chromedp.SendKeys(chromedp.ID("login-secret"), string(carolKey.Secret)),
		chromedp.Click(chromedp.ID("login-submit")),
		chromedp.WaitVisible(chromedp.CSS(`#financing .acct-item[data-k="shortfall"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#financing-call .callout`)),
	)
	for k, key := range map[string]string{"lending": "lending_value_hkd", "debit": "debit_hkd", "shortfall": "shortfall_hkd"} {
		if got, want := text(`#financing .acct-item[data-k="`+k+`"] .acct-v`), hkdWhole(fin[key].(string)); got != want {
			t.Errorf("carol's %s reads %q, want %q", k, got, want)
		}
	}
	c1 := seconds(t, text(`#financing .acct-item[data-k="call"] .acct-v`))
	if got := text("#financing-call"); !strings.Contains(got, "Margin call") || !strings.Contains(got, hkdWhole(fin["shortfall_hkd"].(string))) {
		t.Errorf("call banner %q", got)
	}
	time.Sleep(2100 * time.Millisecond) // past a whole tick after whichever render drew the first value
	if c2 := seconds(t, text(`#financing .acct-item[data-k="call"] .acct-v`)); c2 >= c1 {
		t.Errorf("trader countdown %d then %d", c1, c2)
	}
	step("trader screenshot", shot("trader-margin"))
	// Her statement: the margin purchase and the call, as the API lists them.
	st2 := v.do(carolKey, "GET", "/v1/financing/statement?limit=100", "", 200)["entries"].([]any)
	kinds := map[string]bool{}
	for _, e := range st2 {
		kinds[e.(map[string]any)["kind"].(string)] = true
	}
	if !kinds["margin_call_opened"] {
		t.Fatalf("carol's statement has no call: %v", kinds)
	}
	step("statement tab", chromedp.Click(chromedp.ID("tab-statement")),
		chromedp.WaitVisible(chromedp.CSS(`#history tr[data-kind="margin_call_opened"]`)))
	if got := eval(`String(document.querySelectorAll('#history tr[data-kind]').length)`); got != strconv.Itoa(len(st2)) {
		t.Errorf("statement shows %s entries, API %d", got, len(st2))
	}

	// The order ticket on BTC-USD shows what each margin client may borrow.
	// carol is under call: nothing, and a taking buy is told why.
	selectMarket := func(sym, tif string) {
		eval(`(() => { const s = document.getElementById('ord-symbol'); s.value = ` + strconv.Quote(sym) + `; s.dispatchEvent(new Event('change'));
			const t = document.getElementById('ord-tif'); t.value = ` + strconv.Quote(tif) + `; t.dispatchEvent(new Event('change')); return ''; })()`)
	}
	selectMarket("BTC-USD", "IOC")
	step("carol's spot ticket", chromedp.WaitVisible(chromedp.CSS(`#ord-spot .spot-row[data-k="borrowable"]`)))
	if got, want := text(`#ord-spot .spot-row[data-k="borrowable"] .num`), hkdWhole(fin["borrowable_hkd"].(string)); got != want || want != "0" {
		t.Errorf("carol may borrow %q in the ticket, API %s (under call: 0)", got, fin["borrowable_hkd"])
	}
	if got := text("#ord-spot-note"); !strings.Contains(got, "A margin call is open") {
		t.Errorf("carol's taking-buy note %q", got)
	}
	selectMarket("BTC-USD", "GTC")
	if got := text("#ord-spot-note"); !strings.Contains(got, "Your margin call is open: nothing more can be borrowed") {
		t.Errorf("carol's resting-buy note %q", got)
	}
	// dave may borrow min(2,000,000 − 390,000, 404,600 − 390,000) = 14,600,
	// and owes US$50,000 (0.5 BTC at 100,000).
	daveFin := v.do(daveKey, "GET", "/v1/financing", "", 200)
	step("dave logs in",
		chromedp.Click(chromedp.ID("logout")),
		chromedp.WaitVisible(chromedp.ID("login-key")),
		chromedp.SendKeys(chromedp.ID("login-key"), daveKey.ID),
		chromedp.SendKeys(chromedp.ID("login-secret"), string(daveKey.Secret)),
		chromedp.Click(chromedp.ID("login-submit")),
		chromedp.WaitVisible(chromedp.ID("ord-symbol")))
	selectMarket("BTC-USD", "IOC")
	step("dave's spot ticket", chromedp.WaitVisible(chromedp.CSS(`#ord-spot .spot-row[data-k="borrowable"]`)))
	if got, want := text(`#ord-spot .spot-row[data-k="borrowable"] .num`), hkdWhole(daveFin["borrowable_hkd"].(string)); got != want || want != "14,600" {
		t.Errorf("dave may borrow %q in the ticket, API %s, by hand 14,600", got, daveFin["borrowable_hkd"])
	}
	if got := text(`#ord-spot .spot-row[data-k="loan"] .num`); got != "50,000.00" {
		t.Errorf("dave's USD loan %q, by hand 50,000.00", got)
	}
	if got := attr("#ord-spot-note", "data-rule") + " " + text("#ord-spot-note"); !strings.HasPrefix(got, "taking A taking buy") || !strings.Contains(got, "borrows the rest") {
		t.Errorf("dave's IOC note %q", got)
	}
	selectMarket("BTC-USD", "GTC")
	if got := attr("#ord-spot-note", "data-rule"); got != "resting" {
		t.Errorf("GTC note rule %q, want resting", got)
	}

	// 3. An operations key does not see the Margin view.
	ops := v.ops[gateway.RoleOperations]
	step("operations is refused",
		chromedp.Navigate(v.url+"/console/#/margin"),
		chromedp.WaitVisible(chromedp.CSS(`#op-logout`)),
		chromedp.Click(chromedp.CSS(`#op-logout`)),
		chromedp.WaitVisible(chromedp.ID("op-login-key")),
		chromedp.SendKeys(chromedp.ID("op-login-key"), ops.ID),
		chromedp.SendKeys(chromedp.ID("op-login-secret"), string(ops.Secret)),
		chromedp.Click(chromedp.ID("op-login-submit")),
		chromedp.WaitVisible(chromedp.ID("margin-refused")),
	)
	if links := eval(`String(document.querySelectorAll('#nav a[data-view="margin"]').length)`); links != "0" {
		t.Error("the Margin link stays in the navigation for operations")
	}
	page.check(t)
}

// checkMarginModule runs the view's pure helpers in the page: the
// worst-first order and a countdown that never runs backwards when engine
// time (in whole-second steps) reads later than the projection.
func checkMarginModule(t *testing.T, ctx context.Context) {
	t.Helper()
	got, err := chromedp.Run(ctx, chromedp.Evaluate[string](`(async () => {
		const m = await import('/console/js/views/margin.js');
		const c = (id, call, short, debit, lv) => ({ client_id: id, call_state: call, shortfall_hkd: short, debit_hkd: debit, lending_value_hkd: lv });
		const rows = [c('1', 'none', '0', '50', '100'), c('2', 'open', '10', '110', '100'), c('3', 'none', '0', '90', '100'),
			c('4', 'closing_out', '5', '140', '100'), c('5', 'open', '30.5', '130.5', '100'), c('6', 'none', '0', '0', '0')];
		const order = rows.sort(m.worstFirst).map((r) => r.client_id).join(',');
		const k = new m.CallClock();
		k.update('a', 'D', 100, 0);
		k.update('a', 'D', 101, 1000); // a later answer reading more: keep the earlier end
		const kept = k.ends.get('a').end;
		k.update('a', 'E', 500, 0);    // a new deadline replaces it
		const replaced = k.ends.get('a').end;
		k.update('a');
		return [order, kept, replaced, k.left('a'), m.hkd('1234.5'), m.hkd('-0.4'), m.hkd('')].join(' ');
	})()`, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatal(err)
	}
	if want := "4,5,2,3,1,6 100000 500000  1,235 0 —"; got != want { // left: null joins as ""
		t.Errorf("margin module: %q, want %q", got, want)
	}
}
