package marketdata

import (
	"sync"

	"github.com/sampan-hk/sampan/core/engine"
)

// Channel is a stream a listener can subscribe to.
type Channel uint8

// Public channels are per market; private ones per client.
const (
	ChanDepth Channel = iota + 1
	ChanTrades
	ChanTicker
	ChanMark
	ChanIndex
	ChanFunding
	ChanOrders
	ChanFills
	ChanPositions
	ChanFundingPayments
	ChanLiquidations
	chanEnd
)

var chanNames = [...]string{"?", "depth", "trades", "ticker", "mark", "index", "funding", "orders", "fills", "positions", "funding_payments",
	"liquidations"}

func (c Channel) String() string {
	if c < chanEnd {
		return chanNames[c]
	}
	return "?"
}

// ParseChannel reads a channel name.
func ParseChannel(s string) (Channel, bool) {
	for i := ChanDepth; i < chanEnd; i++ {
		if chanNames[i] == s {
			return i, true
		}
	}
	return 0, false
}

// Private reports whether c is a per-client channel.
func (c Channel) Private() bool { return c >= ChanOrders && c <= ChanFundingPayments }

type topic struct {
	ch     Channel
	market engine.MarketID
	client engine.ClientID
}

// Listener receives encoded messages on C. When its buffer is full the store
// drops it: Done is closed and Reason says why. Account is signalled (never
// blocking, coalesced) when the logged-in client's balances may have
// changed, so the reader can recompute them with one engine View.
type Listener struct {
	C       chan []byte
	Done    chan struct{}
	Account chan struct{}
	reason  string
	client  engine.ClientID
	topics  map[topic]bool
	dropped bool
}

// ReasonShutdown is the drop reason when the store stops.
const ReasonShutdown = "server shutting down"

// Reason says why the listener was dropped.
func (l *Listener) Reason() string { return l.reason }

type fanout struct {
	mu      sync.Mutex // guards the maps; publish runs under Store.mu too
	byTopic map[topic]map[*Listener]struct{}
	account map[engine.ClientID]map[*Listener]struct{}
}

func (f *fanout) init() {
	f.byTopic = map[topic]map[*Listener]struct{}{}
	f.account = map[engine.ClientID]map[*Listener]struct{}{}
}

// publish sends the message to every listener of t; msg is built only if
// someone listens.
func (f *fanout) publish(t topic, msg func() []byte) {
	f.mu.Lock()
	defer f.mu.Unlock()
	ls := f.byTopic[t]
	if len(ls) == 0 {
		return
	}
	b := msg()
	for l := range ls {
		f.send(l, b)
	}
}

// send never blocks; the caller holds f.mu.
func (f *fanout) send(l *Listener, b []byte) {
	if l.dropped {
		return
	}
	select {
	case l.C <- b:
	default:
		f.drop(l, "slow consumer: send buffer of "+itoa(cap(l.C))+" messages overflowed")
	}
}

func (f *fanout) drop(l *Listener, reason string) {
	if l.dropped {
		return
	}
	l.dropped, l.reason = true, reason
	for t := range l.topics {
		delete(f.byTopic[t], l)
	}
	if l.client != 0 {
		delete(f.account[l.client], l)
	}
	close(l.Done)
}

func (f *fanout) touchAccount(c engine.ClientID) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for l := range f.account[c] {
		select {
		case l.Account <- struct{}{}:
		default: // already signalled
		}
	}
}

func (f *fanout) closeAll(reason string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, ls := range f.byTopic {
		for l := range ls {
			f.drop(l, reason)
		}
	}
	for _, ls := range f.account {
		for l := range ls {
			f.drop(l, reason)
		}
	}
}

// NewListener returns a listener with a buffer of the store's configured
// size. It receives nothing until it subscribes.
func (s *Store) NewListener() *Listener {
	return &Listener{C: make(chan []byte, s.cfg.ListenerBuffer), Done: make(chan struct{}),
		Account: make(chan struct{}, 1), topics: map[topic]bool{}}
}

// SubscribePublic adds a public channel of one market. A depth subscription
// first receives a full snapshot, taken atomically with the registration,
// so the first update's prev_seq equals the snapshot's seq.
func (s *Store) SubscribePublic(l *Listener, ch Channel, m engine.MarketID) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	s.fan.mu.Lock()
	defer s.fan.mu.Unlock()
	t := topic{ch: ch, market: m}
	if l.dropped || l.topics[t] || int(m) >= len(s.markets) || ch.Private() {
		return
	}
	switch ch {
	case ChanDepth:
		s.fan.send(l, s.markets[m].depthSnapshotMsg(s.now))
	case ChanTicker:
		s.fan.send(l, s.markets[m].tickerMsg(s.now))
	case ChanMark:
		s.fan.send(l, s.markets[m].markMsg(s.now))
	}
	s.fan.register(l, t)
}

// SubscribePrivate adds a private channel of the listener's client (set by
// Login).
func (s *Store) SubscribePrivate(l *Listener, ch Channel) {
	s.fan.mu.Lock()
	defer s.fan.mu.Unlock()
	if l.dropped || l.client == 0 || !ch.Private() {
		return
	}
	s.fan.register(l, topic{ch: ch, client: l.client})
}

// Login binds the listener to a client for account signals and private
// channels.
func (s *Store) Login(l *Listener, c engine.ClientID) {
	s.fan.mu.Lock()
	defer s.fan.mu.Unlock()
	if l.dropped || l.client != 0 {
		return
	}
	l.client = c
	if s.fan.account[c] == nil {
		s.fan.account[c] = map[*Listener]struct{}{}
	}
	s.fan.account[c][l] = struct{}{}
}

// Unsubscribe removes one topic.
func (s *Store) Unsubscribe(l *Listener, ch Channel, m engine.MarketID) {
	s.fan.mu.Lock()
	defer s.fan.mu.Unlock()
	t := topic{ch: ch, market: m}
	if ch.Private() {
		t = topic{ch: ch, client: l.client}
	}
	delete(l.topics, t)
	delete(s.fan.byTopic[t], l)
}

// Close removes the listener everywhere.
func (s *Store) Close(l *Listener) { s.Drop(l, "closed") }

// Drop removes the listener and closes Done with reason (no-op if it is
// already dropped).
func (s *Store) Drop(l *Listener, reason string) {
	s.fan.mu.Lock()
	defer s.fan.mu.Unlock()
	s.fan.drop(l, reason)
}

func (f *fanout) register(l *Listener, t topic) {
	l.topics[t] = true
	if f.byTopic[t] == nil {
		f.byTopic[t] = map[*Listener]struct{}{}
	}
	f.byTopic[t][l] = struct{}{}
}

func itoa(v int) string {
	if v == 0 {
		return "0"
	}
	var b [20]byte
	i := len(b)
	for v > 0 {
		i--
		b[i] = byte('0' + v%10)
		v /= 10
	}
	return string(b[i:])
}
