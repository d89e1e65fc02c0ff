package console

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"github.com/sampan-hk/sampan/gateway"
)

// The Governance view end to end: a risk officer proposes a change; logged
// in as that proposer, Approve is refused by the server and the console
// shows the refusal; a second risk officer approves and the proposal moves
// to scheduled. SAMPAN_SCREENSHOTS=1 writes docs/console/governance.png.
func TestGovernanceInBrowser(t *testing.T) {
	bin := requireChromium(t)
	shots := os.Getenv("SAMPAN_SCREENSHOTS") == "1"
	v := newVenue(t)
	v.mark("BTC-USD-PERP", "50000")
	v.mark("ETH-USD-PERP", "3000")
	risk, risk2 := v.ops[gateway.RoleRisk], v.risk2

	// One change already approved and active (history shows two versions),
	// one pending from the risk officer, effective in ten minutes.
	params := v.do(risk, "GET", "/v1/admin/parameters", "", 200)
	var lev, band int64
	for _, s := range params["sets"].([]any) {
		m := s.(map[string]any)
		f := m["value"].(map[string]any)["fields"].(map[string]any)
		switch m["set"] {
		case "market:ETH-USD-PERP":
			lev = int64(f["max_leverage"].(float64))
		case "market:BTC-USD-PERP":
			band = int64(f["price_band_ppm"].(float64))
		}
	}
	if lev < 3 {
		t.Fatalf("ETH max_leverage %d", lev)
	}
	eff := strconv.FormatInt(time.Now().Add(10*time.Minute).UnixMilli(), 10)
	p := v.do(risk, "POST", "/v1/admin/proposals", `{"set":"market:ETH-USD-PERP","fields":{"max_leverage":`+strconv.FormatInt(lev-1, 10)+`},"effective_at":`+eff+`,"note":"tighten ETH leverage ahead of the upgrade"}`, 200)
	id := strconv.FormatFloat(p["id"].(float64), 'f', -1, 64)
	v.do(risk, "POST", "/v1/admin/emergency", `{"set":"market:BTC-USD-PERP","fields":{"price_band_ppm":`+strconv.FormatInt(band*3/4, 10)+`},"note":"volatility: narrow the band"}`, 200)

	opts := append(chromedp.DefaultExecAllocatorOptions[:0:0],
		chromedp.ExecPath(bin), chromedp.Flag("headless", true), chromedp.NoSandbox, chromedp.DisableGPU,
		chromedp.NoFirstRun, chromedp.NoDefaultBrowserCheck, chromedp.UserDataDir(t.TempDir()), chromedp.WindowSize(1280, 800),
		chromedp.Flag("disable-dev-shm-usage", true), chromedp.Flag("hide-scrollbars", true))
	actx, cancelA := chromedp.NewExecAllocator(context.Background(), opts...)
	defer cancelA()
	ctx, cancelC := chromedp.NewContext(actx)
	defer cancelC()
	ctx, cancelT := context.WithTimeout(ctx, 40*time.Second)
	defer cancelT()
	var mu sync.Mutex
	var problems []string
	if err := chromedp.Listen(ctx, func(ev any) {
		if e, ok := ev.(*runtime.EventExceptionThrown); ok {
			mu.Lock()
			problems = append(problems, e.ExceptionDetails.Text)
			mu.Unlock()
		}
	}); err != nil {
		t.Fatal(err)
	}
	step := func(what string, actions ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		sctx, cancel := context.WithTimeout(ctx, 15*time.Second)
		defer cancel()
		if err := chromedp.Do(sctx, actions...); err != nil {
			t.Fatalf("%s: %v (exceptions: %v)", what, err, problems)
		}
	}
	text := func(sel string) string {
		s, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel)))
		if err != nil {
			t.Fatalf("read %s: %v", sel, err)
		}
		return s
	}
	login := func(k *gateway.Key) []chromedp.Action[chromedp.Void] {
		return []chromedp.Action[chromedp.Void]{
			chromedp.WaitVisible(chromedp.ID("op-login-key")),
			chromedp.SendKeys(chromedp.ID("op-login-key"), k.ID),
			chromedp.SendKeys(chromedp.ID("op-login-secret"), string(k.Secret)),
			chromedp.Click(chromedp.ID("op-login-submit")),
		}
	}
	cat := func(parts ...any) []chromedp.Action[chromedp.Void] {
		var out []chromedp.Action[chromedp.Void]
		for _, p := range parts {
			switch x := p.(type) {
			case chromedp.Action[chromedp.Void]:
				out = append(out, x)
			case []chromedp.Action[chromedp.Void]:
				out = append(out, x...)
			}
		}
		return out
	}
	row := `#gov-open tr[data-id="` + id + `"]`

	// The proposer sees its proposal with Approve, and is refused.
	step("proposer logs in", cat(
		chromedp.EmulateViewport(1280, 800),
		chromedp.Navigate(v.url+"/console/#/governance"),
		login(risk),
		chromedp.WaitVisible(chromedp.CSS(row+` .gov-approve`)),
		chromedp.Click(chromedp.CSS(row+` .gov-approve`)),
		chromedp.WaitVisible(chromedp.CSS(`#gov-notice.callout-error`)),
	)...)
	if got := text("#gov-notice"); !strings.Contains(got, "you proposed this change") || !strings.Contains(got, "maker_cannot_approve_own_proposal") {
		t.Errorf("refusal reads %q", got)
	}
	if got := text(row); !strings.Contains(got, "needs checker") || !strings.Contains(got, "max_leverage") {
		t.Errorf("row after refusal %q, want still awaiting a checker", got)
	}
	if got := text("#gov-emergencies"); !strings.Contains(got, "market:BTC-USD-PERP") {
		t.Errorf("emergencies %q", got)
	}
	if shots {
		time.Sleep(300 * time.Millisecond)
		png, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join("..", "docs", "console", "governance.png"), png, 0o644); err != nil {
			t.Fatal(err)
		}
	}

	// A second risk officer approves: the proposal is scheduled.
	step("second officer approves", cat(
		chromedp.Click(chromedp.ID("op-logout")),
		login(risk2),
		chromedp.WaitVisible(chromedp.CSS(row+` .gov-approve`)),
		chromedp.Click(chromedp.CSS(row+` .gov-approve`)),
		chromedp.WaitVisible(chromedp.CSS(`#gov-notice.callout-ok`)),
		chromedp.WaitVisible(chromedp.CSS(row+`[data-state="scheduled"]`)),
	)...)
	if got := text("#gov-notice"); !strings.Contains(got, "scheduled") {
		t.Errorf("approval notice %q", got)
	}
	// The auditor reads, without buttons.
	step("auditor reads", cat(
		chromedp.Click(chromedp.ID("op-logout")),
		login(v.ops[gateway.RoleAuditor]),
		chromedp.WaitVisible(chromedp.CSS(row+`[data-state="scheduled"]`)),
	)...)
	if got := text(".risk-head"); !strings.Contains(got, "Read-only") {
		t.Errorf("auditor header %q", got)
	}
	mu.Lock()
	defer mu.Unlock()
	for _, p := range problems {
		t.Errorf("browser exception: %s", p)
	}
}
