// Package marketdata keeps in-memory read models fed by the exchange's event
// stream: per market a recent-trades ring, klines, a 24h ticker, an L2
// depth mirror with a sequence number per update and a liquidation tape; per
// client a bounded order history and fills; liquidation chains, the
// insurance fund's balance history and ADL quantiles (liquidations.go). It also fans the derived messages out to listeners
// (WebSocket connections) without ever blocking: a listener whose buffer is
// full is dropped with a reason.
//
// The store never slows the engine: it reads from a buffered subscription,
// and when the exchange drops it for being slow (exchange.ErrSlowConsumer) it
// resubscribes and rebuilds depth from a View snapshot. Trades and order
// updates applied while it was disconnected are lost from the rings (they
// remain in the journal and the read store); depth, marks and open orders
// are exact again after the rebuild, and depth listeners get a new snapshot.
package marketdata

import (
	"context"
	"sync"

	"github.com/sampan-hk/sampan/core/book"
	"github.com/sampan-hk/sampan/core/engine"
	"github.com/sampan-hk/sampan/core/fixed"
	"github.com/sampan-hk/sampan/exchange"
)

// Config holds the store's named limits. Zero fields take the defaults.
type Config struct {
	SubscriptionBuffer int // batches buffered between the engine and the store
	TradesMax          int // recent trades kept per market
	KlinesMax          int // candles kept per market and interval
	OrdersMax          int // order records kept per client
	FillsMax           int // fills kept per client
	FundingMax         int // funding payments kept per client
	NamesMax           int // client order id texts remembered by key (client.go, names)
	ListenerBuffer     int // messages buffered per listener before it is dropped
	LiquidationsMax    int // liquidation tape entries kept per market
	LiqChainsMax       int // liquidation chains (one per liquidated account episode) kept
	LiqChainStepsMax   int // orders, take-overs and ADL fills listed per chain
	InsuranceMax       int // insurance fund balance points kept
	StatementMax       int // margin-financing statement entries kept per client (financing.go)
}

// Defaults for Config.
const (
	DefaultSubscriptionBuffer = 1 << 16
	DefaultTradesMax          = 1000
	DefaultKlinesMax          = 1500
	DefaultOrdersMax          = 1000
	DefaultFillsMax           = 1000
	DefaultFundingMax         = 500
	DefaultNamesMax           = 1 << 20
	DefaultListenerBuffer     = 1024
	DefaultLiquidationsMax    = 1000
	DefaultLiqChainsMax       = 500
	DefaultLiqChainStepsMax   = 256 // a chain is at most 64 steps per call, each a few entries
	DefaultInsuranceMax       = 2000
	DefaultStatementMax       = 500
)

func (c Config) withDefaults() Config {
	def := func(v *int, d int) {
		if *v <= 0 {
			*v = d
		}
	}
	def(&c.SubscriptionBuffer, DefaultSubscriptionBuffer)
	def(&c.TradesMax, DefaultTradesMax)
	def(&c.KlinesMax, DefaultKlinesMax)
	def(&c.OrdersMax, DefaultOrdersMax)
	def(&c.FillsMax, DefaultFillsMax)
	def(&c.FundingMax, DefaultFundingMax)
	def(&c.NamesMax, DefaultNamesMax)
	def(&c.ListenerBuffer, DefaultListenerBuffer)
	def(&c.LiquidationsMax, DefaultLiquidationsMax)
	def(&c.LiqChainsMax, DefaultLiqChainsMax)
	def(&c.LiqChainStepsMax, DefaultLiqChainStepsMax)
	def(&c.StatementMax, DefaultStatementMax)
	def(&c.InsuranceMax, DefaultInsuranceMax)
	return c
}

// Store is the set of read models. Readers take a consistent view under an
// RWMutex; one goroutine (Run) writes.
type Store struct {
	x   *exchange.Exchange
	cfg Config

	mu      sync.RWMutex
	specs   []engine.MarketSpec
	markets []*market
	clients map[engine.ClientID]*client
	names   names
	seq     uint64 // last engine event sequence reflected here
	now     int64  // engine time of the last batch
	waiters seqWaiters
	resyncs uint64
	fan     fanout
	fresh   []freshName // named orders accepted in the batch being applied (client.go)

	// Liquidations (liquidations.go).
	liqChains ring[*chainRec]
	liqActive map[engine.ClientID]*chainRec // chains not finished yet
	fund      ring[fundPoint]
	positions map[posKey]*posRec // open positions: last event and ADL quantile
	priceAt   []int64            // per lending asset: engine time of its last price_set (financing.go)
}

// New returns a store for x. Call Run to start consuming.
func New(x *exchange.Exchange, cfg Config) *Store {
	s := &Store{x: x, cfg: cfg.withDefaults(), clients: map[engine.ClientID]*client{}}
	x.View(func(e *engine.Engine) { s.specs = append([]engine.MarketSpec(nil), e.Markets()...) })
	for i := range s.specs {
		s.markets = append(s.markets, newMarket(engine.MarketID(i), &s.specs[i], s.cfg))
	}
	s.names = newNames(s.cfg.NamesMax)
	s.liqChains, s.liqActive = newRing[*chainRec](s.cfg.LiqChainsMax), map[engine.ClientID]*chainRec{}
	s.fund, s.positions = newRing[fundPoint](s.cfg.InsuranceMax), map[posKey]*posRec{}
	s.fan.init()
	return s
}

// Specs returns the market specs, indexed by engine.MarketID.
func (s *Store) Specs() []engine.MarketSpec { return s.specs }

// Resyncs counts rebuilds after the exchange dropped the store (a metric).
func (s *Store) Resyncs() uint64 {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.resyncs
}

// Run consumes the exchange's events until ctx ends; start it in a
// goroutine. ready (optional) is closed after the first rebuild, so callers
// can wait until the store reflects the engine.
func (s *Store) Run(ctx context.Context, ready chan<- struct{}) {
	for first := true; ; first = false {
		sub := s.x.Subscribe(s.cfg.SubscriptionBuffer)
		skip := s.rebuild(!first)
		if first && ready != nil {
			close(ready)
		}
		if !s.consume(ctx, sub, skip) {
			sub.Close()
			s.fan.closeAll(ReasonShutdown)
			return
		}
	}
}

// consume applies batches until the subscription ends (true: resubscribe)
// or ctx is done (false). Events at or below skip are already in the
// snapshot the rebuild took.
func (s *Store) consume(ctx context.Context, sub *exchange.Subscription, skip uint64) bool {
	for {
		select {
		case <-ctx.Done():
			return false
		case b, ok := <-sub.C:
			if !ok {
				return true
			}
			s.waiters.publish(s.apply(&b, skip))
		}
	}
}

// rebuild replaces depth and marks from an engine snapshot taken after the
// subscription started, and returns the snapshot's event sequence.
func (s *Store) rebuild(resync bool) uint64 {
	type snap struct {
		bids, asks []book.Level
		mark       int64
		index      fixed.Price
	}
	snaps := make([]snap, len(s.markets))
	var seq uint64
	var now int64
	var fund fixed.Amount
	// Only Run's goroutine writes s.liqActive and s.positions, and this is
	// it, so reading them here without mu is safe.
	queued := map[engine.ClientID]bool{}
	open := map[posKey]engine.PositionView{}
	s.x.View(func(e *engine.Engine) {
		seq, now = e.Seq(), e.Now()
		fund = e.InsuranceFund().Balance
		if resync {
			for _, id := range e.LiquidationQueue(nil) {
				queued[id] = true
			}
		}
		for i := range s.markets {
			mid := engine.MarketID(i)
			n := s.specs[i].Limits.MaxLevels
			snaps[i].bids = e.Book(mid).Depth(book.Buy, n, nil)
			snaps[i].asks = e.Book(mid).Depth(book.Sell, n, nil)
			snaps[i].mark = int64(e.Mark(mid))
			if v, ok := e.Index(mid); ok && v.Valid {
				snaps[i].index = v.Price
			}
		}
	})
	if resync {
		s.readPositions(open)
	}
	s.mu.Lock()
	if resync {
		s.resyncs++
		s.resyncLiquidations(queued, open)
	}
	for i, m := range s.markets {
		m.resetDepth(snaps[i].bids, snaps[i].asks)
		m.mark, m.index = priceOf(snaps[i].mark), snaps[i].index
		if now > 0 { // seeds the mark/index history (nothing before the engine's first command)
			m.sampleValuation(now)
		}
		s.fan.publish(topic{ch: ChanDepth, market: m.id}, func() []byte { return m.depthSnapshotMsg(now) })
	}
	// The fund's history restarts from the snapshot's balance (movements
	// while the store was away are in the journal, not here). An engine
	// that has applied nothing yet has no time and nothing to show.
	if now > 0 {
		s.fund.push(fundPoint{seq: seq, time: now, balance: fund, reason: "snapshot"})
	}
	// The snapshot is the truth even if the engine was replaced by a
	// restored one whose sequence is lower.
	s.seq = seq
	if now > s.now {
		s.now = now
	}
	s.mu.Unlock()
	s.waiters.publish(seq)
	return seq
}

// resyncChunk is how many clients' positions one engine read lock covers
// when a rebuild refreshes the kept positions, so a command waits at most
// one chunk.
const resyncChunk = 2048

// readPositions reads the current positions of every client the store
// keeps a position for, resyncChunk clients per read lock. Reads may be a
// few commands newer than the snapshot; the events that follow it bring
// every kept position up to date either way.
func (s *Store) readPositions(open map[posKey]engine.PositionView) {
	var ids []engine.ClientID
	seen := map[engine.ClientID]bool{}
	for k := range s.positions {
		if !seen[k.client] {
			seen[k.client] = true
			ids = append(ids, k.client)
		}
	}
	var ps []engine.PositionView
	for lo := 0; lo < len(ids); lo += resyncChunk {
		s.x.View(func(e *engine.Engine) {
			for _, id := range ids[lo:min(lo+resyncChunk, len(ids))] {
				ps = e.Positions(id, ps[:0])
				for _, p := range ps {
					open[posKey{id, p.Market}] = p
				}
			}
		})
	}
}

// Seq returns the last engine event sequence the store reflects.
func (s *Store) Seq() uint64 {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.seq
}

// WaitSeq waits until the store reflects engine event seq (read-your-writes
// for a request that just committed), or ctx ends. Only a batch that
// reaches seq wakes the caller (waitseq.go).
func (s *Store) WaitSeq(ctx context.Context, seq uint64) bool {
	return s.waiters.wait(ctx, seq)
}

// apply folds one batch into the models, publishes the derived messages
// and returns the sequence the store now reflects. The store's time is the
// engine's time, so candles and the 24h window are deterministic for a
// given log. WaitSeq callers are woken by the caller, after mu is
// released, so they do not wake only to block on it.
func (s *Store) apply(b *exchange.Batch, skip uint64) uint64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	if b.Now > s.now {
		s.now = b.Now
	}
	var touched [engine.MarketsMax]bool
	var dirty []engine.ClientID
	for i := range b.Events {
		ev := &b.Events[i]
		if ev.Seq <= skip || ev.Seq <= s.seq {
			continue
		}
		s.seq = ev.Seq
		if ev.Kind == engine.EvBookLevel && int(ev.Market) < len(s.markets) {
			s.markets[ev.Market].levelChanged(ev)
			touched[ev.Market] = true
			continue
		}
		if c := s.event(ev); c != 0 && (len(dirty) == 0 || dirty[len(dirty)-1] != c) {
			dirty = append(dirty, c)
		}
	}
	s.nameResting()
	for i, m := range s.markets {
		if touched[i] {
			u := m.depthUpdate(b.Now)
			s.fan.publish(topic{ch: ChanDepth, market: m.id}, func() []byte { return depthUpdateMsg(&u) })
		}
	}
	for _, c := range dirty {
		s.fan.touchAccount(c)
	}
	return s.seq
}

// event applies one non-depth event and returns a client whose account
// figures it changed (0: none).
func (s *Store) event(ev *engine.Event) engine.ClientID {
	switch ev.Kind {
	case engine.EvTrade:
		s.trade(ev)
		return ev.Client
	case engine.EvMarkSet:
		if int(ev.Market) < len(s.markets) {
			m := s.markets[ev.Market]
			m.mark, m.markSource = ev.Price, "operator"
			m.sampleValuation(ev.Time)
			s.fan.publish(topic{ch: ChanMark, market: m.id}, func() []byte { return m.markMsg(ev.Time) })
		}
	case engine.EvOrderAccepted, engine.EvOrderCancelled, engine.EvOrderExpired, engine.EvOrderAmended:
		s.orderEvent(ev)
	case engine.EvMark, engine.EvIndex, engine.EvFundingRate:
		s.valuation(ev)
	case engine.EvFundingPayment:
		s.fundingPayment(ev)
		return ev.Client
	case engine.EvPosition:
		s.positionEvent(ev)
		return ev.Client
	case engine.EvLiquidationStarted, engine.EvLiquidationOrder, engine.EvInsuranceTakeover, engine.EvInsuranceFund,
		engine.EvDeleveraged, engine.EvLiquidationFinished, engine.EvAdlQuantile:
		return s.liquidationEvent(ev)
	case engine.EvFinancing, engine.EvCloseOutOrder, engine.EvSecuritySale:
		return s.financingEvent(ev)
	case engine.EvDeposited, engine.EvWithdrawn, engine.EvTransferred, engine.EvLeverageSet,
		engine.EvClassificationSet, engine.EvKnowledgeSet:
		return ev.Client
	}
	return 0
}

func (s *Store) client(id engine.ClientID) *client {
	c, ok := s.clients[id]
	if !ok {
		c = newClient(s.cfg)
		s.clients[id] = c
	}
	return c
}
