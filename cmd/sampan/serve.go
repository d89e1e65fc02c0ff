package main

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/spf13/cobra"
	"go.yaml.in/yaml/v3"

	"github.com/sampan-hk/sampan/binance"
	"github.com/sampan-hk/sampan/core/engine"
	"github.com/sampan-hk/sampan/exchange"
	"github.com/sampan-hk/sampan/gateway"
	"github.com/sampan-hk/sampan/gateway/h1"
	"github.com/sampan-hk/sampan/journal"
	"github.com/sampan-hk/sampan/projector"
)

// serveConfig is sampan.yaml. Every field has a default, so an empty file
// (or none) runs a single node on loopback.
type serveConfig struct {
	Data string `yaml:"data"` // data directory: log, snapshots, audit, keys
	HTTP string `yaml:"http"` // API and console listen address
	Raft string `yaml:"raft"` // raft listen address
	ID   string `yaml:"id"`   // raft server id (stored in the data dir on first start)
	Join string `yaml:"join"` // raft address of a cluster member to join as a voter
	// Rate limits (requests per second and burst) per API key and per IP;
	// zero keeps the gateway's defaults.
	KeyRate  float64 `yaml:"key_rate"`
	KeyBurst float64 `yaml:"key_burst"`
	IPRate   float64 `yaml:"ip_rate"`
	IPBurst  float64 `yaml:"ip_burst"`
	// Feeds names the venues whose public spot feeds drive the index
	// (coinbase, kraken, bitstamp, okx, binance); SimFeeds simulates them
	// instead. With neither, marks are set by the risk officer's operator
	// key (POST /v1/admin/marks).
	Feeds    []string `yaml:"feeds"`
	SimFeeds bool     `yaml:"sim_feeds"`
	// ReadStoreDSN points the projector at PostgreSQL; empty keeps the
	// default SQLite read store at DATA/read.db.
	ReadStoreDSN string `yaml:"read_store_dsn"`
	// ReadStore "none" runs the node without a read-store projector, so
	// that the SQL writes do not share its cores: history is answered
	// from memory alone, and the read store is kept by another node of the
	// cluster (a follower started without it), whose API serves full
	// history. Empty keeps the projector.
	ReadStore string `yaml:"read_store"`
	// Operators are the governance operators a new data directory starts
	// with (id and role); they are written to its genesis file, and later
	// changes go through governance commands. Every node of a cluster must
	// start from the same list.
	Operators []genesisOperator `yaml:"operators"`
	// HTTPServer "net/http" serves every request with Go's net/http alone;
	// empty (the default) answers the API's plain requests on the lean
	// HTTP/1.1 loop of gateway/h1 and hands every other connection to
	// net/http (docs/performance.md, "The HTTP lane").
	HTTPServer string `yaml:"http_server"`
	// TrustedProxies are the load balancers or TLS terminators in front of
	// the API (addresses or prefixes): from them, the client's address is
	// read from X-Forwarded-For, for the per-IP rate limit and the keys'
	// IP allow-lists. Empty: X-Forwarded-For is ignored.
	TrustedProxies []string `yaml:"trusted_proxies"`
}

func defaultServeConfig() serveConfig {
	return serveConfig{Data: "sampan-data", HTTP: "127.0.0.1:8080", Raft: "127.0.0.1:7070"}
}

// loadServeConfig reads a YAML file strictly: unknown keys are errors, so a
// typo never silently falls back to a default.
func loadServeConfig(path string) (serveConfig, error) {
	cfg := defaultServeConfig()
	if path == "" {
		return cfg, nil
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return cfg, err
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&cfg); err != nil && !errors.Is(err, io.EOF) {
		return cfg, fmt.Errorf("%s: %w", path, err)
	}
	if err := cfg.checkChoices(); err != nil {
		return cfg, fmt.Errorf("%s: %w", path, err)
	}
	return cfg, nil
}

// checkChoices refuses a read_store other than none, none together with a
// read_store_dsn (which would be silently unused), an unknown http_server,
// and a trusted proxy that is not an address or prefix.
func (c *serveConfig) checkChoices() error {
	switch {
	case c.ReadStore != "" && c.ReadStore != "none":
		return fmt.Errorf("read_store: %q is not a choice; leave it out (the projector runs) or say none", c.ReadStore)
	case c.ReadStore == "none" && c.ReadStoreDSN != "":
		return fmt.Errorf("read_store: none with a read_store_dsn: one of them is a mistake")
	case c.HTTPServer != "" && c.HTTPServer != "net/http":
		return fmt.Errorf("http_server: %q is not a choice; leave it out (the lean lane in front of net/http) or say net/http", c.HTTPServer)
	}
	if _, err := gateway.ParsePrefixes(c.TrustedProxies); err != nil {
		return fmt.Errorf("trusted_proxies: %w", err)
	}
	return nil
}

// service is one running node: journal, engine, API.
type service struct {
	cfg  serveConfig
	node *journal.Node
	x    *exchange.Exchange
	api  *gateway.Server
	keys *fileKeys
	srv  *http.Server
	lane *h1.Server // nil with http_server: net/http
	bn   *binance.Handler
	// stopProj flushes and closes the read-store projector.
	stopProj func()
	metrics  *metrics
	ln       net.Listener
	log      *slog.Logger
}

// URL is the base URL the API answers on.
func (s *service) URL() string { return "http://" + s.ln.Addr().String() }

// startProjector opens the read store and starts its projector, unless
// the configuration says read_store: none (then both results are nil and
// a no-op stop). The projector catches the read store up from the journal
// and subscribes before the node opens, so the events raft replays on
// start-up reach it too (the journal cannot be read while a node runs).
func startProjector(cfg serveConfig, jdir string, ecfg engine.Config, m *exchange.Machine, log *slog.Logger) (*projector.Projector, func(), error) {
	if cfg.ReadStore == "none" {
		log.Info("no read store on this node (read_store: none): history from memory only")
		return nil, func() {}, nil
	}
	proj, err := projector.OpenForNode(context.Background(), projector.NodeConfig{DSN: cfg.ReadStoreDSN,
		Path: filepath.Join(cfg.Data, "read.db"), JournalDir: jdir, Engine: ecfg,
		Projector: projector.Config{Log: log.With("component", "projector")}})
	if err != nil {
		return nil, nil, fmt.Errorf("read store: %w", err)
	}
	pctx, pcancel := context.WithCancel(context.Background())
	proj.Start(pctx, m)
	go func() {
		<-proj.Done()
		if err := proj.Err(); err != nil {
			log.Error("projector stopped; trading continues, the read store catches up on the next start", "err", err)
		}
	}()
	return proj, func() {
		pcancel()
		<-proj.Done()
		proj.Close()
	}, nil
}

func startService(cfg serveConfig, log *slog.Logger) (*service, error) {
	proxies, err := gateway.ParsePrefixes(cfg.TrustedProxies)
	if err != nil {
		return nil, fmt.Errorf("trusted_proxies: %w", err)
	}
	if err := os.MkdirAll(cfg.Data, 0o700); err != nil {
		return nil, err
	}
	jdir := filepath.Join(cfg.Data, "journal")
	ecfg, err := engineConfig(jdir, cfg.Operators, true)
	if err != nil {
		return nil, err
	}
	m, err := exchange.NewMachine(ecfg)
	if err != nil {
		return nil, err
	}
	proj, stopProj, err := startProjector(cfg, jdir, ecfg, m, log)
	if err != nil {
		return nil, err
	}
	trail := startAuditTrail(jdir, m) // replays the journal: before the node opens it (auditview.go)
	node, err := journal.Open(journal.Config{Dir: jdir, Bind: cfg.Raft, ID: cfg.ID,
		Bootstrap: cfg.Join == ""}, m)
	if err != nil {
		stopProj()
		return nil, err
	}
	if proj != nil {
		proj.AttachNode(node) // gaps from now on are filled from the running node's log (read-store.md)
	}
	s := &service{cfg: cfg, node: node, log: log, stopProj: stopProj}
	// Metrics read the engine at scrape time, so they are built on an
	// exchange first and the exchange then routes commands through them.
	s.x = exchange.New(m, node)
	s.metrics = newMetrics(s.x)
	s.metrics.liquidations(m)
	s.x = exchange.New(m, observedLog{Log: node, m: s.metrics})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if cfg.Join != "" {
		if err := node.Join(ctx, cfg.Join); err != nil {
			node.Shutdown()
			stopProj()
			return nil, fmt.Errorf("join %s: %w", cfg.Join, err)
		}
	}
	if err := node.WaitLeader(ctx); err != nil {
		node.Shutdown()
		stopProj()
		return nil, err
	}
	// Raft replays the log into the engine after electing itself; the API
	// must not answer queries from a half-replayed state, so wait until
	// every entry before now is applied.
	if node.IsLeader() {
		if err := node.Barrier(30 * time.Second); err != nil {
			node.Shutdown()
			stopProj()
			return nil, fmt.Errorf("replaying the log: %w", err)
		}
	}
	if s.keys, err = openKeys(cfg.Data); err != nil {
		node.Shutdown()
		stopProj()
		return nil, err
	}
	gcfg := gateway.DefaultServerConfig(s.keys)
	gcfg.Audit = trail
	if cfg.KeyRate > 0 && cfg.KeyBurst > 0 {
		gcfg.KeyRate, gcfg.KeyBurst = cfg.KeyRate, cfg.KeyBurst
	}
	if cfg.IPRate > 0 && cfg.IPBurst > 0 {
		gcfg.IPRate, gcfg.IPBurst = cfg.IPRate, cfg.IPBurst
	}
	gcfg.TrustedProxies = gateway.Proxies(proxies)
	gcfg.OnWSError = func(code gateway.Code) { s.metrics.apiError("websocket", string(code)) }
	s.api = gateway.NewServer(s.x, gcfg)
	// History pages older than the in-memory read models reach come from
	// the read store (docs/api.md, "History and paging").
	if proj != nil {
		s.api.SetHistory(proj)
	}
	// The Binance-compatible adapter: same keys, same engine commands, its
	// own paths (/fapi/, /sapi/, Binance's WebSocket paths).
	s.bn = binance.NewHandler(s.x, s.keys, s.api.MarketData(), binance.Config{KeyRate: gcfg.KeyRate, KeyBurst: gcfg.KeyBurst,
		IPRate: gcfg.IPRate, IPBurst: gcfg.IPBurst, Logger: gcfg.Logger, TrustedProxies: gcfg.TrustedProxies})
	mux := http.NewServeMux()
	for _, p := range binance.Patterns {
		mux.Handle(p, s.metrics.wrap(s.bn))
	}
	mux.Handle("/", s.metrics.wrap(s.api))
	mux.Handle("GET /metrics", s.metrics.handler())
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-node.Dead():
			gateway.WriteError(w, gateway.Errf(http.StatusServiceUnavailable, gateway.CodeUnavailable, "", node.Err().Error()))
		default:
			st := node.Status()
			gateway.WriteJSON(w, http.StatusOK, map[string]any{"ok": true, "leader": node.IsLeader(), "raft": node.Addr(),
				"applied_index": st.Index, "state_hash": hex.EncodeToString(st.StateHash[:]), "audit_chain": hex.EncodeToString(st.Chain[:])})
		}
	})
	mountExtras(mux, s)
	if s.ln, err = net.Listen("tcp", cfg.HTTP); err != nil {
		s.bn.Close()
		s.api.Close()
		node.Shutdown()
		stopProj()
		return nil, err
	}
	s.srv = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	serve := s.srv.Serve
	if cfg.HTTPServer == "" {
		s.lane = &h1.Server{Handler: mux, Lane: gateway.OnLane, Fallback: s.srv, ReadHeaderTimeout: s.srv.ReadHeaderTimeout, Log: log,
			ErrorAnswer: s.metrics.framingError}
		serve = s.lane.Serve
		s.metrics.lane(s.lane)
	}
	go func() {
		if err := serve(s.ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("http server stopped", "err", err)
		}
	}()
	return s, nil
}

// mountExtras lets other files add handlers (console, metrics) without
// touching startService.
var mountExtras = func(mux *http.ServeMux, s *service) {}

// ensureAdminKey creates the first operator key on a fresh data directory
// and returns it; on later starts it returns "".
func (s *service) ensureAdminKey() (id, secret string) {
	if s.keys.Len() > 0 {
		return "", ""
	}
	id, secret = newSecretKey()
	s.keys.Put(&gateway.Key{ID: id, Secret: []byte(secret), Role: gateway.RoleAdmin, Perms: gateway.PermRead})
	return id, secret
}

// Close stops the API, then the node (which flushes and closes the log).
func (s *service) Close() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if s.lane != nil {
		_ = s.lane.Shutdown(ctx) // and its fallback, s.srv
	} else {
		_ = s.srv.Shutdown(ctx)
	}
	s.bn.Close()
	s.api.Close()
	if err := s.node.Shutdown(); err != nil {
		s.log.Error("journal shutdown", "err", err)
	}
	s.stopProj()
}

func init() {
	var cfgPath string
	def := defaultServeConfig()
	var over serveConfig
	c := &cobra.Command{
		Use:   "serve [--config sampan.yaml]",
		Short: "Run a Sampan node: log, engine, API",
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg, err := loadServeConfig(cfgPath)
			if err != nil {
				return err
			}
			applyFlags(cmd, &cfg, over)
			log := slog.New(slog.NewTextHandler(os.Stderr, nil))
			// Catch SIGTERM before announcing that we serve: a supervisor that
			// stops us right after the banner must get a clean shutdown.
			ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			s, err := startService(cfg, log)
			if err != nil {
				return err
			}
			defer s.Close()
			if id, secret := s.ensureAdminKey(); id != "" {
				fmt.Printf("created the first operator key (admin); it is shown once:\n  key    %s\n  secret %s\n", id, secret)
			}
			fmt.Printf("Sampan node %s serving %s (raft %s, data %s)\n", s.node.ID(), s.URL(), s.node.Addr(), cfg.Data)
			go runTicks(ctx, s, log)
			if len(cfg.Feeds) > 0 {
				go runVenueFeeds(ctx, s, cfg.Feeds, log)
			}
			if cfg.SimFeeds {
				go newSimFeeds(s, log, uint64(time.Now().UnixNano())).run(ctx)
			}
			select {
			case <-ctx.Done():
				fmt.Println("shutting down")
				return nil
			case <-s.node.Dead():
				return fmt.Errorf("node stopped: %w", s.node.Err())
			}
		},
	}
	c.Flags().StringVar(&cfgPath, "config", "", "YAML configuration file")
	c.Flags().StringVar(&over.Data, "data", def.Data, "data directory")
	c.Flags().StringVar(&over.HTTP, "http", def.HTTP, "API listen address")
	c.Flags().StringVar(&over.Raft, "raft", def.Raft, "raft listen address")
	c.Flags().StringVar(&over.ID, "id", "", "raft server id (default: generated on first start)")
	c.Flags().StringVar(&over.Join, "join", "", "raft address of a cluster member to join as a voter")
	rootCmd.AddCommand(c)
}

// applyFlags lets flags given on the command line override the file.
func applyFlags(cmd *cobra.Command, cfg *serveConfig, over serveConfig) {
	set := func(name string, dst *string, v string) {
		if cmd.Flags().Changed(name) {
			*dst = v
		}
	}
	set("data", &cfg.Data, over.Data)
	set("http", &cfg.HTTP, over.HTTP)
	set("raft", &cfg.Raft, over.Raft)
	set("id", &cfg.ID, over.ID)
	set("join", &cfg.Join, over.Join)
}
