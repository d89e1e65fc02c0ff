package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/sampan-hk/sampan/client"
	"github.com/sampan-hk/sampan/core/engine"
	"github.com/sampan-hk/sampan/core/fixed"
	"github.com/sampan-hk/sampan/gateway"
	"github.com/sampan-hk/sampan/sim/bots"
)

// demoState is what `sampan demo` keeps in DATA/demo.json so a restart
// resumes with the same clients and keys.
type demoState struct {
	Operators map[string]demoKey    `json:"operators"` // role → key
	Clients   map[string]demoClient `json:"clients"`   // name → client
}

type demoKey struct {
	Key      string `json:"key"`
	Secret   string `json:"secret"`
	Operator string `json:"operator,omitempty"` // governance operator id
}

// demoOperator is one demo operator key: its name in demo.json, its role
// and the governance operator id it acts as.
type demoOperator struct {
	Name     string
	Role     gateway.Role
	Operator string
}

// demoOperatorKeys are the demo's operator keys. Maker-checker needs two
// risk officers: the first proposes, the second approves.
var demoOperatorKeys = []demoOperator{
	{"admin", gateway.RoleAdmin, "demo-admin"},
	{"operations", gateway.RoleOperations, "demo-operations"},
	{"compliance_officer", gateway.RoleCompliance, "demo-compliance"},
	{"risk_officer", gateway.RoleRisk, "demo-risk-1"},
	{"risk_officer_2", gateway.RoleRisk, "demo-risk-2"},
	{"auditor", gateway.RoleAuditor, "demo-auditor"},
}

// demoGenesisOperators are the governance operators a new demo data
// directory starts with: the same ids and roles as the demo's operator keys.
func demoGenesisOperators() []genesisOperator {
	out := make([]genesisOperator, 0, len(demoOperatorKeys))
	for _, o := range demoOperatorKeys {
		out = append(out, genesisOperator{ID: o.Operator, Role: string(o.Role)})
	}
	return out
}

type demoClient struct {
	ID     string `json:"id"`
	Role   string `json:"role"`
	Key    string `json:"key"`
	Secret string `json:"secret"`
}

// demoClientSpec describes one demo client.
type demoClientSpec struct {
	Name, Class, Role string
	DepositUSD        string
}

var demoClients = []demoClientSpec{
	{"alice", "individual_pi", "a professional investor (evidence, knowledge, disclosure v1 accepted): may trade perpetuals", "250000"},
	{"bob", "retail", "a retail client: refused when opening a perpetual position, and told why", "10000"},
	{"carol", "individual_pi", "a professional investor whose evidence expires in about 20 days (on the renewal list); also a margin client: HK shares and HKD as collateral, BTC bought on margin", "50000"},
	{"dave", "individual_pi", "an ETH long at about 7× leverage: the ETH fall of the first minute leaves him a few percent from his liquidation price", "8000"},
	{"frank", "individual_pi", "an ETH long at about 9.5× leverage: the ETH fall of the first minute liquidates him (replay it)", "4000"},
	{"erin", "retail", "a margin client (0005.HK, BTC bought on margin) whose shares fell: under a margin call, its deadline counting down", "1000"},
	{"mm-1", "institutional_pi", "market-maker bot", "5000000"},
	{"mm-2", "institutional_pi", "market-maker bot", "5000000"},
	{"taker-1", "corporate_pi", "taker bot", "1000000"},
	{"taker-2", "corporate_pi", "taker bot", "1000000"},
	{"taker-3", "individual_pi", "taker bot", "1000000"},
}

func init() {
	var data, httpAddr string
	var duration time.Duration
	c := &cobra.Command{
		Use:   "demo",
		Short: "Run a live Sampan exchange with simulated feeds and traders",
		Long: `demo starts a single-node Sampan (log, engine, REST/WebSocket API) on
loopback with a data directory it creates, simulated BTC and ETH prices,
market-maker and taker bots trading through the real API (the makers also
quote the BTC-USD and ETH-USD spot books), and demo clients — a professional
investor, a retail client, two margin clients (one under a margin call) and a
trader near liquidation. It prints the API URL and demo API keys. Ctrl-C stops it
cleanly; the next start resumes from the same data.`,
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			if duration > 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, duration)
				defer cancel()
			}
			return runDemo(ctx, data, httpAddr)
		},
	}
	c.Flags().StringVar(&data, "data", "sampan-demo", "data directory (created; reused on the next start)")
	c.Flags().StringVar(&httpAddr, "http", "127.0.0.1:8080", "API listen address (a free port is used if this one is taken)")
	c.Flags().DurationVar(&duration, "duration", 0, "stop after this long (0: until Ctrl-C)")
	rootCmd.AddCommand(c)
}

func runDemo(ctx context.Context, data, httpAddr string) error {
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	cfg := defaultServeConfig()
	cfg.Data, cfg.HTTP, cfg.Raft = data, freeOr(httpAddr), "127.0.0.1:0"
	cfg.Operators = demoGenesisOperators()
	s, err := startService(cfg, log)
	if err != nil {
		return err
	}
	defer s.Close()
	st, fresh, err := loadDemoState(s)
	if err != nil {
		return err
	}
	markets := demoMarkets(s)
	feeds := newSimFeeds(s, log, uint64(time.Now().UnixNano()))
	feeds.step(ctx) // five venues per underlying: the index is healthy at once
	if err := waitForMarks(ctx, s); err != nil {
		return err
	}
	if fresh {
		if err := setupDemoClients(ctx, s, st); err != nil {
			return err
		}
		if err := saveDemoState(cfg.Data, st); err != nil {
			return err
		}
	}
	fin := newDemoFinancing(s, st, fresh)
	if err := fin.setup(ctx); err != nil {
		return err
	}
	gov := setupDemoGovernance(ctx, s, st)
	printDemoIntro(s, st, fresh)
	fmt.Print(gov)
	fmt.Print(fin.intro())

	var wg sync.WaitGroup
	stats := &bots.Stats{}
	run := func(f func(context.Context)) { wg.Add(1); go func() { defer wg.Done(); f(ctx) }() }
	run(feeds.run)
	run(func(ctx context.Context) { runTicks(ctx, s, log) })
	seed := uint64(time.Now().UnixNano())
	for i, m := range markets {
		bm := bots.Market{Symbol: m.Symbol, Spec: m.Spec, Fair: fairTicks(feeds, m)}
		for j, name := range []string{"mm-1", "mm-2"} {
			mk := &bots.Maker{C: clientFor(s, st, name), M: bm, Levels: 6, SpreadTicks: int64(3 + 4*j), StepTicks: 5,
				Size: lotsOf(m, "0.05", "1"), Every: 700 * time.Millisecond, Stats: stats, Log: log}
			run(mk.Run)
		}
		if m.Kind == engine.Spot {
			continue // spot books: quoted from the makers' financing inventory, taken by the margin clients
		}
		for j, name := range []string{"taker-1", "taker-2", "taker-3"} {
			tk := &bots.Taker{C: clientFor(s, st, name), M: bm, Max: lotsOf(m, "0.2", "3"), Every: 900 * time.Millisecond,
				Seed: seed + uint64(10*i+j), Stats: stats, Log: log}
			run(tk.Run)
		}
	}
	run(func(ctx context.Context) { demoStatus(ctx, s, stats) })
	if fresh {
		run(func(ctx context.Context) { leveragedLongs(ctx, s, st, feeds) })
		run(func(ctx context.Context) { fin.marginBuys(ctx, fairTicks(feeds, markets[fin.spotBTC])) })
	}
	run(fin.runPrices)
	select {
	case <-ctx.Done():
	case <-s.node.Dead():
		return fmt.Errorf("node stopped: %w", s.node.Err())
	}
	fmt.Println("\nstopping the demo; the next `sampan demo` resumes from", cfg.Data)
	wg.Wait()
	return nil
}

// freeOr returns addr if it can be listened on, else a free loopback port,
// so a demo never fails because 8080 is busy.
func freeOr(addr string) string {
	ln, err := net.Listen("tcp", addr)
	if err == nil {
		ln.Close()
		return addr
	}
	return "127.0.0.1:0"
}

// demoMarkets are the engine's markets: the perpetuals and, when the data
// directory has financing (journal/genesis.json), the spot markets after
// them.
func demoMarkets(s *service) []engine.MarketSpec {
	var out []engine.MarketSpec
	s.x.View(func(e *engine.Engine) { out = append(out, e.Markets()...) })
	return out
}

// lotsOf picks the BTC or ETH figure for a market and converts it to lots.
func lotsOf(m engine.MarketSpec, btc, eth string) fixed.Qty {
	txt := btc
	if m.Underlying != "BTC" {
		txt = eth
	}
	q, err := m.Spec.ParseQty(txt)
	if err != nil {
		panic(err)
	}
	return q
}

func loadDemoState(s *service) (*demoState, bool, error) {
	path := filepath.Join(s.cfg.Data, "demo.json")
	data, err := os.ReadFile(path)
	if err == nil {
		var st demoState
		if err := json.Unmarshal(data, &st); err != nil {
			return nil, false, fmt.Errorf("%s: %w", path, err)
		}
		// The key file does not keep operator ids: put them back.
		for _, dk := range st.Operators {
			if k, ok := s.keys.Lookup(dk.Key); ok && dk.Operator != "" && k.Operator != dk.Operator {
				c := *k
				c.Operator = dk.Operator
				s.keys.Put(&c)
			}
		}
		return &st, false, nil
	}
	if !errors.Is(err, os.ErrNotExist) {
		return nil, false, err
	}
	st := &demoState{Operators: map[string]demoKey{}, Clients: map[string]demoClient{}}
	for _, o := range demoOperatorKeys {
		id, secret := newSecretKey()
		s.keys.Put(&gateway.Key{ID: id, Secret: []byte(secret), Role: o.Role, Perms: gateway.PermRead, Operator: o.Operator})
		st.Operators[o.Name] = demoKey{Key: id, Secret: secret, Operator: o.Operator}
	}
	return st, true, saveDemoState(s.cfg.Data, st)
}

func saveDemoState(dir string, st *demoState) error {
	data, err := json.MarshalIndent(st, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, "demo.json"), data, 0o600)
}

func operatorClient(s *service, st *demoState, role string) *client.Client {
	k := st.Operators[role]
	return client.New(s.URL(), k.Key, k.Secret)
}

func clientFor(s *service, st *demoState, name string) *client.Client {
	c := st.Clients[name]
	return client.New(s.URL(), c.Key, c.Secret)
}

// setupDemoClients creates, funds, onboards and keys every demo client
// through the operator API. Onboarding is the evidence flow: compliance
// records each professional investor's evidence (above the thresholds) and
// knowledge assessment, publishes risk disclosure v1, and each PI accepts
// it with its own key; bob stays retail. Every step is safe to repeat
// (idempotency keys, or the gateway answering a repeat from the record), so
// a crash half-way can be resumed by running the demo again.
func setupDemoClients(ctx context.Context, s *service, st *demoState) error {
	ops, compliance, admin := operatorClient(s, st, "operations"), operatorClient(s, st, "compliance_officer"), operatorClient(s, st, "admin")
	if err := compliance.PublishDisclosure(ctx, 1); err != nil && !isAPICode(err, "disclosure_version_not_current") {
		return fmt.Errorf("publish the risk disclosure: %w", err)
	}
	for _, d := range demoClients {
		var created map[string]any
		if err := admin.Do(ctx, "POST", "/v1/admin/clients", map[string]any{"ref": d.Name, "idempotency_key": "demo-create-" + d.Name}, &created); err != nil {
			return fmt.Errorf("create %s: %w", d.Name, err)
		}
		id, _ := created["client_id"].(string)
		if err := ops.Do(ctx, "POST", "/v1/admin/deposits", map[string]any{"client_id": id, "amount": d.DepositUSD, "idempotency_key": "demo-deposit-" + d.Name}, nil); err != nil {
			return fmt.Errorf("deposit %s: %w", d.Name, err)
		}
		if _, err := compliance.Classify(ctx, id, demoEvidence(d)); err != nil {
			return fmt.Errorf("classify %s: %w", d.Name, err)
		}
		if d.Class != "retail" {
			k := client.Knowledge{Basis: "prior_trades", Trades: 40, Reference: "demo trade confirmations " + d.Name}
			if err := compliance.RecordKnowledge(ctx, id, k); err != nil {
				return fmt.Errorf("knowledge %s: %w", d.Name, err)
			}
		}
		var key map[string]any
		if err := admin.Do(ctx, "POST", "/v1/admin/clients/"+id+"/keys", map[string]any{"perms": []string{"read", "trade", "withdraw"}}, &key); err != nil {
			return fmt.Errorf("key for %s: %w", d.Name, err)
		}
		k, _ := key["key"].(string)
		sec, _ := key["secret"].(string)
		st.Clients[d.Name] = demoClient{ID: id, Role: d.Role, Key: k, Secret: sec}
		if d.Class != "retail" {
			if err := clientFor(s, st, d.Name).AcceptDisclosure(ctx, 1); err != nil {
				return fmt.Errorf("%s accepts the risk disclosure: %w", d.Name, err)
			}
		}
	}
	return nil
}

// hongKong is the zone evidence dates are written in.
var hongKong = time.FixedZone("HKT", 8*3600)

// demoEvidence is the classification form for a demo client: documents
// dated a month ago with amounts above the thresholds, except carol's,
// dated eleven months and ten days ago so her classification expires in
// about twenty days and she is on the renewal list.
func demoEvidence(d demoClientSpec) client.Classification {
	now := time.Now().In(hongKong)
	date := now.AddDate(0, -1, 0).Format(time.DateOnly)
	ref := "demo evidence " + d.Name
	switch {
	case d.Class == "retail":
		return client.Classification{Class: "retail", Reference: "no professional-investor evidence"}
	case d.Name == "carol":
		date = now.AddDate(-1, 0, 20).Format(time.DateOnly)
		return client.Classification{Class: d.Class, Evidence: "custodian_statement", EvidenceDate: date, PortfolioHKD: "8600000.00", Reference: ref}
	case d.Class == "corporate_pi":
		return client.Classification{Class: d.Class, Evidence: "audited_financials", EvidenceDate: date, TotalAssetsHKD: "45000000.00", Reference: ref}
	case d.Class == "institutional_pi":
		return client.Classification{Class: d.Class, Evidence: "regulatory_status", EvidenceDate: date, Reference: ref}
	}
	return client.Classification{Class: d.Class, Evidence: "custodian_statement", EvidenceDate: date, PortfolioHKD: "12500000.00", Reference: ref}
}

func isAPICode(err error, code string) bool {
	var e *client.APIError
	return errors.As(err, &e) && e.Code == code
}

func printDemoIntro(s *service, st *demoState, fresh bool) {
	u := s.URL()
	state := "resumed from"
	if fresh {
		state = "created"
	}
	fmt.Printf(`
Sampan demo is running (%s %s).

  API        %s/v1/markets
  Console    %s/console/
  OpenAPI    %s/v1/openapi.json
  WebSocket  %s/v1/ws

Demo API keys (also in %s):
`, state, s.cfg.Data, u, u, u, "ws"+u[len("http"):], filepath.Join(s.cfg.Data, "demo.json"))
	for _, d := range demoClients {
		c := st.Clients[d.Name]
		if strings.HasPrefix(d.Name, "mm-") || strings.HasPrefix(d.Name, "taker-") {
			continue
		}
		fmt.Printf("  %-6s client %-3s key %s secret %s — %s\n", d.Name, c.ID, c.Key, c.Secret, d.Role)
	}
	fmt.Println("\nOperator keys (log in to the console's operator view with these):")
	for _, o := range demoOperatorKeys {
		k, ok := st.Operators[o.Name]
		if !ok {
			continue
		}
		fmt.Printf("  %-18s key %s secret %s\n", o.Name, k.Key, k.Secret)
	}
	fmt.Printf(`
What to try:
  Open the console, log in as a trader (alice, or bob to see the refusal) or as the risk officer.
  curl %s/v1/markets/BTC-USD-PERP/depth
  curl %s/v1/markets/BTC-USD-PERP/ticker
  Sign private requests with the key and secret above (see docs/api.md), e.g. GET /v1/account as bob
  (its "onboarding.missing" lists what stands between him and perpetuals), then POST /v1/orders as bob:
  a retail client is told plainly why it cannot open a perpetual position.
  GET /v1/disclosure as alice shows the risk disclosure she accepted (version, SHA-256, text).
  As the compliance officer: GET /v1/admin/renewals lists carol, whose classification expires soon;
  POST /v1/admin/clients/{id}/classification with new evidence renews it (docs/api.md, Onboarding).
  In the first minute of a new demo ETH falls about 11%%: frank (about 9.5× long) is liquidated —
  the Risk view's tape shows it — and dave (about 7×) is left near his liquidation price. To see
  exactly why frank was liquidated, stop the demo and run
    go run ./cmd/sampan replay --data %s --account %s

`, u, u, s.cfg.Data, st.Clients["frank"].ID)
}

// setupDemoGovernance leaves one parameter change waiting for a checker:
// the first risk officer proposes lowering BTC-USD-PERP's maximum leverage,
// effective in ten minutes, so the second risk officer can approve it in
// the console's Governance view (and the first is refused if they try).
// It returns the lines the intro prints about it.
func setupDemoGovernance(ctx context.Context, s *service, st *demoState) string {
	risk1, ok1 := st.Operators["risk_officer"]
	risk2, ok2 := st.Operators["risk_officer_2"]
	if !ok1 || !ok2 || risk1.Operator == "" {
		return "\nGovernance: this demo data directory predates governance; start with a fresh --data to try maker-checker.\n"
	}
	rc := operatorClient(s, st, "risk_officer")
	const set = "market:BTC-USD-PERP"
	var open struct {
		Proposals []struct {
			ID          uint64 `json:"id"`
			Set         string `json:"set"`
			State       string `json:"state"`
			EffectiveAt int64  `json:"effective_at"`
			Changes     []struct {
				Field    string `json:"field"`
				From, To *int64
			} `json:"changes"`
		} `json:"proposals"`
	}
	if err := rc.Do(ctx, "GET", "/v1/admin/proposals?state=pending", nil, &open); err != nil {
		return "\nGovernance: could not read proposals: " + err.Error() + "\n"
	}
	var (
		id   uint64
		eff  int64
		what string
	)
	for _, p := range open.Proposals {
		if p.Set == set {
			id, eff = p.ID, p.EffectiveAt
			for _, c := range p.Changes {
				if c.From != nil && c.To != nil {
					what = fmt.Sprintf("%s %d → %d", c.Field, *c.From, *c.To)
				}
			}
		}
	}
	if id == 0 {
		var params struct {
			Sets []struct {
				Set   string `json:"set"`
				Value struct {
					Fields map[string]int64 `json:"fields"`
				} `json:"value"`
			} `json:"sets"`
		}
		if err := rc.Do(ctx, "GET", "/v1/admin/parameters", nil, &params); err != nil {
			return "\nGovernance: could not read parameters: " + err.Error() + "\n"
		}
		var lev int64
		for _, p := range params.Sets {
			if p.Set == set {
				lev = p.Value.Fields["max_leverage"]
			}
		}
		if lev < 2 {
			return ""
		}
		next := max(1, lev*4/5)
		var p struct {
			ID          uint64 `json:"id"`
			EffectiveAt int64  `json:"effective_at"`
		}
		body := map[string]any{"set": set, "fields": map[string]int64{"max_leverage": next},
			"effective_at": time.Now().Add(10 * time.Minute).UnixMilli(), "note": "demo: lower BTC leverage ahead of the halving"}
		if err := rc.Do(ctx, "POST", "/v1/admin/proposals", body, &p); err != nil {
			// An engine started without the demo's governance operators
			// (engine.Config.Governance.Operators) refuses every action.
			return "\nGovernance: the demo proposal was refused (" + err.Error() + ").\n" +
				"  The data directory predates the demo operators (see journal/genesis.json); start with a fresh --data.\n"
		}
		id, eff = p.ID, p.EffectiveAt
		what = fmt.Sprintf("max_leverage %d → %d", lev, next)
	}
	if what == "" {
		what = "a BTC-USD-PERP parameter change"
	}
	return fmt.Sprintf(`
Governance (maker-checker), in the console's Governance view:
  Proposal #%d on %s (%s), proposed by risk_officer (%s),
  effective %s UTC, awaits a SECOND approver. Log in as risk_officer_2
  (key %s) to approve it; risk_officer approving its own proposal is refused.
`, id, set, what, risk1.Operator, time.UnixMilli(eff).UTC().Format("2006-01-02 15:04:05"), risk2.Key)
}

// roundToTick renders v×10^-decimals as a decimal on the market's tick.
func roundToTick(s fixed.Spec, v int64, decimals int) string {
	units := fixed.MustMulDiv(v, fixed.Pow10(s.Tick.Scale), fixed.Pow10(decimals), fixed.Floor)
	units -= units % s.Tick.Units
	return fixed.FormatDecimal(units, s.Tick.Scale)
}

// fairTicks gives a bot the simulated fair price of its market in ticks.
func fairTicks(f *simFeeds, m engine.MarketSpec) func() fixed.Price {
	return func() fixed.Price {
		p, err := m.Spec.ParsePrice(roundToTick(m.Spec, f.fair(m.Underlying), 2))
		if err != nil {
			panic(err)
		}
		return p
	}
}

// waitForMarks waits until every market has a mark from the index, so the
// bots' first orders are not refused for want of one.
func waitForMarks(ctx context.Context, s *service) error {
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		ok := true
		s.x.View(func(e *engine.Engine) {
			for i := range e.Markets() {
				ok = ok && e.Mark(engine.MarketID(i)) > 0
			}
		})
		if ok {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
	return errors.New("no mark price after 15 s of simulated quotes")
}

// demoStatus prints a line every five seconds so the terminal shows the
// exchange is alive.
func demoStatus(ctx context.Context, s *service, stats *bots.Stats) {
	t := time.NewTicker(5 * time.Second)
	defer t.Stop()
	pub := client.New(s.URL(), "", "")
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			var tk map[string]any
			_ = pub.Do(ctx, "GET", "/v1/markets/BTC-USD-PERP/ticker", nil, &tk)
			fmt.Printf("%s  BTC-USD-PERP last %v mark %v  bot orders %d (refused %d)\n", time.Now().Format("15:04:05"),
				tk["last"], tk["mark"], stats.Orders.Load(), stats.Rejected.Load())
		}
	}
}

// demoFinancing is the demo's margin-financing book (docs/margin-financing.md):
// carol, well collateralised by HK shares and HKD, holds BTC bought on
// margin; erin holds 0005.HK and BTC bought on margin at the edge of her
// lending value, and a scripted fall of 0005.HK (HK$65 → HK$55) right after
// her purchase opens a margin call whose 24-hour deadline the console's
// margin view counts down. The market makers hold BTC, ETH and USD in their
// financing accounts to quote the spot books. Securities and FX prices are
// operator prices: the risk officer re-sends them every minute, as lending
// refuses prices older than five minutes.
type demoFinancing struct {
	s       *service
	st      *demoState
	fresh   bool
	enabled bool
	spotBTC int // index of BTC-USD among the markets

	mu     sync.Mutex
	prices map[string]string // asset → price re-sent every minute
	note   string            // what the intro says about the margin book
}

// demoAssetPrices are the demo's operator prices: USD in HKD, shares in HKD.
// 0005.HK starts at 65 on a fresh book and is 55 after erin's purchase.
var demoAssetPrices = []string{"USD", "0700.HK", "0005.HK"}

func newDemoFinancing(s *service, st *demoState, fresh bool) *demoFinancing {
	f := &demoFinancing{s: s, st: st, fresh: fresh, spotBTC: -1,
		prices: map[string]string{"USD": "7.80", "0700.HK": "380", "0005.HK": "55"}}
	for i, m := range demoMarkets(s) {
		if m.Kind == engine.Spot && m.Base == "BTC" {
			f.spotBTC, f.enabled = i, true
		}
	}
	if fresh {
		f.prices["0005.HK"] = "65"
	}
	return f
}

// setup prices the collateral and, on a fresh book, records the credit
// assessments and custody deposits (idempotency keys make a repeat safe).
func (f *demoFinancing) setup(ctx context.Context) error {
	if !f.enabled {
		f.note = "\nMargin financing: this demo data directory predates it (journal/genesis.json has no \"financing\"); start with a fresh --data.\n"
		return nil
	}
	if err := f.sendPrices(ctx); err != nil {
		return fmt.Errorf("asset prices: %w", err)
	}
	if _, ok := f.st.Clients["erin"]; !ok || !f.fresh {
		return nil
	}
	risk, ops := operatorClient(f.s, f.st, "risk_officer"), operatorClient(f.s, f.st, "operations")
	review := time.Now().AddDate(1, 0, 0).Format(time.DateOnly)
	for _, a := range []struct{ name, limit, grade string }{{"carol", "3000000", "A"}, {"erin", "400000", "B"}} {
		body := map[string]any{"approved": true, "grade": a.grade, "credit_limit_hkd": a.limit, "net_assets_hkd": "12000000",
			"income_hkd": "1500000", "experience": 6, "next_review": review, "note": "demo: annual credit review"}
		if err := risk.Do(ctx, "POST", "/v1/admin/clients/"+f.st.Clients[a.name].ID+"/credit-assessment", body, nil); err != nil {
			return fmt.Errorf("credit assessment of %s: %w", a.name, err)
		}
	}
	deposits := []struct{ name, asset, qty string }{
		{"carol", "0700.HK", "2000"}, {"carol", "0005.HK", "4000"}, {"carol", "HKD", "200000"},
		{"erin", "0005.HK", "3000"},
		{"mm-1", "BTC", "25"}, {"mm-1", "ETH", "400"}, {"mm-1", "USD", "3000000"},
		{"mm-2", "BTC", "25"}, {"mm-2", "ETH", "400"}, {"mm-2", "USD", "3000000"},
	}
	for _, d := range deposits {
		body := map[string]any{"client_id": f.st.Clients[d.name].ID, "asset": d.asset, "qty": d.qty, "idempotency_key": "demo-fin-" + d.name + "-" + d.asset}
		if err := ops.Do(ctx, "POST", "/v1/admin/financing/deposits", body, nil); err != nil {
			return fmt.Errorf("deposit %s %s for %s: %w", d.qty, d.asset, d.name, err)
		}
	}
	return nil
}

// sendPrices sends the current operator prices (risk officer).
func (f *demoFinancing) sendPrices(ctx context.Context) error {
	risk := operatorClient(f.s, f.st, "risk_officer")
	for _, a := range demoAssetPrices {
		f.mu.Lock()
		px := f.prices[a]
		f.mu.Unlock()
		if err := risk.Do(ctx, "POST", "/v1/admin/asset-prices", map[string]string{"asset": a, "price": px}, nil); err != nil {
			return err
		}
	}
	return nil
}

// runPrices re-sends the operator prices every minute, as a securities and
// FX feed would, so lending's five-minute freshness check passes.
func (f *demoFinancing) runPrices(ctx context.Context) {
	if !f.enabled {
		return
	}
	t := time.NewTicker(time.Minute)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if err := f.sendPrices(ctx); err != nil && ctx.Err() == nil {
				fmt.Println("note: the demo's asset prices were refused:", err)
			}
		}
	}
}

// marginBuys has carol and erin buy BTC on margin once the makers quote
// BTC-USD, then drops 0005.HK so erin's call opens.
func (f *demoFinancing) marginBuys(ctx context.Context, fair func() fixed.Price) {
	if !f.enabled || f.st.Clients["erin"].ID == "" {
		return
	}
	if !sleepCtx(ctx, 4*time.Second) {
		return
	}
	m := demoMarkets(f.s)[f.spotBTC]
	px := fair()
	limit := m.Spec.FormatPrice(px + px/200) // 0.5% above fair: IOC takes the makers' asks
	// erin: 3,000 × 0005.HK at HK$65 lend 156,000; a margin purchase of US$X
	// adds a debit of 7.8X and lending value of 40% of it, so she can buy at
	// most US$33,333; US$31,000 leaves about HK$13,000 of headroom, which the
	// fall to HK$55 (−24,000 of lending value) more than takes away.
	for _, b := range []struct{ name, usd string }{{"carol", "40000"}, {"erin", "31000"}} {
		qty := demoQty(m, b.usd, limit)
		o := client.Order{Symbol: m.Symbol, Side: "buy", Type: "limit", TimeInForce: "IOC", Price: limit, Qty: qty, ClientOrderID: "demo-margin-buy"}
		if _, err := clientFor(f.s, f.st, b.name).Place(ctx, o); err != nil && ctx.Err() == nil {
			fmt.Printf("note: %s's margin purchase was refused: %v\n", b.name, err)
		}
	}
	f.mu.Lock()
	f.prices["0005.HK"] = "55"
	f.mu.Unlock()
	if err := f.sendPrices(ctx); err != nil && ctx.Err() == nil {
		fmt.Println("note: the 0005.HK price fall was refused:", err)
	}
}

// demoQty is the quantity (whole lots, rounded down) that usd buys at
// limit: lots = usd / (price × lot size).
func demoQty(m engine.MarketSpec, usd, limit string) string {
	sp := &m.Spec
	cents, _ := fixed.ParseDecimal(usd, 2)
	p, _ := sp.ParsePrice(limit)
	num := fixed.MustMulDiv(cents, fixed.Pow10(sp.Tick.Scale+sp.Lot.Scale), 100, fixed.Floor)
	lots := num / (int64(p) * sp.Tick.Units * sp.Lot.Units)
	return sp.FormatQty(fixed.Qty(lots))
}

func (f *demoFinancing) intro() string {
	if f.note != "" || !f.enabled {
		return f.note
	}
	return fmt.Sprintf(`
Margin financing (console: the margin view; API: docs/api.md, Margin financing):
  carol (client %s) and erin (client %s) bought BTC on margin on BTC-USD; a moment after erin's
  purchase 0005.HK falls to HK$55 and her margin call opens: GET /v1/financing as erin shows the
  shortfall and seconds_left; as the risk officer GET /v1/admin/financing/clients lists the book,
  /v1/admin/financing/firm the loans against capital, /v1/admin/financing/stress?format=csv the stress
  test (or, with the demo stopped: sampan stress --data %s --format csv).
  A withdrawal by erin is refused (409 margin_call_open); operations can cure the call with
  POST /v1/admin/financing/deposits (e.g. 1000 × 0005.HK for erin).
  USD (HK$7.80) and share prices are re-sent every minute by the risk officer's key.
`, f.st.Clients["carol"].ID, f.st.Clients["erin"].ID, f.s.cfg.Data)
}
