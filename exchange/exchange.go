// Package exchange is the running venue: the pure engine behind a log that
// makes commands durable before they are acknowledged, with the engine's
// events fanned out to subscribers (streams, market data, the read store).
//
// Lock order: Exchange.mu (engine state) is taken by the log's apply path
// (write) and by queries (read). Publishing to subscribers happens under the
// write lock but never blocks: a subscriber whose buffer is full is dropped.
package exchange

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"sync"

	"github.com/sampan-hk/sampan/core/book"
	"github.com/sampan-hk/sampan/core/engine"
	"github.com/sampan-hk/sampan/core/fixed"
)

// Log makes an encoded command durable, applies it through the Machine and
// returns the encoded result. The journal's Node is the real one; MemLog
// applies at once without durability, for tests and tools.
//
// SubmitMany does the same for a run of commands that must be applied
// consecutively, in the order given, with nothing else in between; it
// returns one result per command, in order, or an error for the whole run.
type Log interface {
	Submit(ctx context.Context, cmd []byte) ([]byte, error)
	SubmitMany(ctx context.Context, cmds [][]byte) ([][]byte, error)
}

// Exchange is one engine with its log and subscribers.
type Exchange struct {
	M   *Machine
	log Log
}

// New returns an exchange whose commands go through log to m.
func New(m *Machine, log Log) *Exchange { return &Exchange{M: m, log: log} }

// Submit sends one command and waits for its result, which arrives only
// after the command is durable and applied.
func (x *Exchange) Submit(ctx context.Context, c *engine.Command) (engine.Result, error) {
	var buf [256]byte
	enc, err := engine.AppendCommand(buf[:0], c)
	if err != nil {
		return engine.Result{}, fmt.Errorf("exchange: encode command: %w", err)
	}
	out, err := x.log.Submit(ctx, enc)
	if err != nil {
		return engine.Result{}, err
	}
	return DecodeResult(out)
}

// SubmitMany sends cmds as one run and waits once for all their results.
// The log applies them consecutively in the order given, with no other
// command in between (see Log), so a later command sees the effects of the
// earlier ones. Each gets its own Result: one the engine refuses changes
// nothing and does not affect the others. An error is for the whole run,
// and like Submit's may leave the outcome unknown (retry with the same
// idempotency keys).
func (x *Exchange) SubmitMany(ctx context.Context, cs []*engine.Command) ([]engine.Result, error) {
	if len(cs) == 0 {
		return nil, nil
	}
	// One buffer for the whole run: the log keeps the slices only until
	// SubmitMany returns, like Submit's.
	buf := make([]byte, 0, 128*len(cs))
	ends := make([]int, len(cs))
	for i, c := range cs {
		var err error
		if buf, err = engine.AppendCommand(buf, c); err != nil {
			return nil, fmt.Errorf("exchange: encode command %d: %w", i, err)
		}
		ends[i] = len(buf)
	}
	encs := make([][]byte, len(cs))
	for i, start := 0, 0; i < len(cs); i++ {
		encs[i], start = buf[start:ends[i]:ends[i]], ends[i]
	}
	outs, err := x.log.SubmitMany(ctx, encs)
	if err != nil {
		return nil, err
	}
	if len(outs) != len(cs) {
		return nil, fmt.Errorf("exchange: log answered %d results for %d commands", len(outs), len(cs))
	}
	res := make([]engine.Result, len(cs))
	for i, out := range outs {
		if res[i], err = DecodeResult(out); err != nil {
			return nil, err
		}
	}
	return res, nil
}

// View runs fn with read access to the engine. fn must not keep pointers
// into engine state after it returns.
func (x *Exchange) View(fn func(e *engine.Engine)) { x.M.View(fn) }

// Subscribe registers a subscriber; see Machine.Subscribe.
func (x *Exchange) Subscribe(buffer int) *Subscription { return x.M.Subscribe(buffer) }

// Batch is the events one command produced, with the engine time it ran at.
type Batch struct {
	Now    int64
	Result engine.Result
	Cmd    engine.CommandKind
	Client engine.ClientID
	Events []engine.Event
}

// Subscription receives event batches in log order. C is closed when the
// subscription ends; Err then says why (nil after Close).
type Subscription struct {
	C      <-chan Batch
	c      chan Batch
	m      *Machine
	id     uint64
	mu     sync.Mutex
	err    error
	closed bool
}

// ErrSlowConsumer ends a subscription whose buffer filled up: the engine
// never waits for a reader.
var ErrSlowConsumer = errors.New("exchange: subscriber too slow; disconnected")

// Err says why the subscription ended.
func (s *Subscription) Err() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.err
}

// Close ends the subscription.
func (s *Subscription) Close() { s.m.unsubscribe(s, nil) }

func (s *Subscription) end(err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return
	}
	s.closed, s.err = true, err
	close(s.c)
}

// Machine adapts the engine to the journal's StateMachine contract and
// publishes every applied command's events.
type Machine struct {
	mu   sync.RWMutex
	eng  *engine.Engine
	cfg  engine.Config
	subs map[uint64]*Subscription
	next uint64
	// order keeps subscriber ids sorted by registration, so publication
	// order does not depend on map iteration.
	order []uint64
	// kinds counts the events this machine has applied since the process
	// started, by kind: for /metrics, which must not miss any the way a
	// dropped subscriber can.
	kinds [256]uint64
}

// EventCounts returns how many events of each kind this machine has
// applied since the process started (replay after a restart included).
func (m *Machine) EventCounts() (n [256]uint64) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	return m.kinds
}

// NewMachine returns a machine with a fresh engine.
func NewMachine(cfg engine.Config) (*Machine, error) {
	eng, err := engine.New(cfg)
	if err != nil {
		return nil, err
	}
	return &Machine{eng: eng, cfg: cfg, subs: map[uint64]*Subscription{}}, nil
}

// View runs fn under the read lock.
func (m *Machine) View(fn func(e *engine.Engine)) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	fn(m.eng)
}

// Subscribe returns a subscription with room for buffer batches.
func (m *Machine) Subscribe(buffer int) *Subscription {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.next++
	c := make(chan Batch, buffer)
	s := &Subscription{C: c, c: c, m: m, id: m.next}
	m.subs[s.id] = s
	m.order = append(m.order, s.id)
	return s
}

func (m *Machine) unsubscribe(s *Subscription, err error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.drop(s, err)
}

// drop removes s; the caller holds m.mu.
func (m *Machine) drop(s *Subscription, err error) {
	if _, ok := m.subs[s.id]; !ok {
		return
	}
	delete(m.subs, s.id)
	for i, id := range m.order {
		if id == s.id {
			m.order = append(m.order[:i], m.order[i+1:]...)
			break
		}
	}
	s.end(err)
}

// Apply implements journal.StateMachine: decode, apply, encode, publish.
// A command that does not decode is answered with a typed rejection and
// changes nothing (the gateway never sends one; a corrupt log entry would be
// caught by the log's checksums first).
func (m *Machine) Apply(now int64, cmd []byte) (result []byte, events []byte) {
	c, err := engine.DecodeCommand(cmd)
	if err != nil {
		return EncodeResult(engine.Result{Code: engine.CodeUnknownCommand}), nil
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	res, evs := m.eng.Apply(&c, now)
	result = EncodeResult(res)
	// One allocation for the blob: an order's events are about a hundred
	// bytes each (growing from nil was a tenth of this function's CPU).
	if len(evs) > 0 {
		events = make([]byte, 0, 128*len(evs))
	}
	for i := range evs {
		m.kinds[evs[i].Kind]++
		var err error
		start := len(events)
		events = append(events, 0, 0)
		events, err = engine.AppendEvent(events, &evs[i])
		if err != nil {
			panic(fmt.Sprintf("exchange: engine produced an unencodable event: %v", err))
		}
		binary.LittleEndian.PutUint16(events[start:], uint16(len(events)-start-2))
	}
	if len(m.order) > 0 {
		b := Batch{Now: now, Result: res, Cmd: c.Kind, Client: c.Client, Events: append([]engine.Event(nil), evs...)}
		for _, id := range append([]uint64(nil), m.order...) {
			s := m.subs[id]
			select {
			case s.c <- b:
			default:
				m.drop(s, ErrSlowConsumer)
			}
		}
	}
	return result, events
}

// Snapshot implements journal.StateMachine.
func (m *Machine) Snapshot(w io.Writer) error {
	m.mu.RLock()
	defer m.mu.RUnlock()
	_, err := w.Write(m.eng.AppendSnapshot(nil))
	return err
}

// Restore implements journal.StateMachine.
func (m *Machine) Restore(r io.Reader) error {
	data, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	eng, err := restoreEngine(m.cfg, data)
	if err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.eng = eng
	// Subscribers hold views built from the old state's events; end their
	// subscriptions so they rebuild from the restored engine.
	for _, id := range append([]uint64(nil), m.order...) {
		m.drop(m.subs[id], ErrRestored)
	}
	return nil
}

// ErrRestored ends every subscription when the engine is replaced by a
// snapshot (a follower catching up by snapshot install).
var ErrRestored = errors.New("exchange: engine state replaced by a snapshot; resubscribe")

// StateHash implements journal.StateMachine.
func (m *Machine) StateHash() [32]byte {
	m.mu.RLock()
	defer m.mu.RUnlock()
	return m.eng.StateHash()
}

// DecodeEvents splits an Apply events blob back into events.
func DecodeEvents(b []byte) ([]engine.Event, error) {
	var out []engine.Event
	for len(b) > 0 {
		if len(b) < 2 {
			return nil, errors.New("exchange: truncated event blob")
		}
		n := int(binary.LittleEndian.Uint16(b))
		if len(b) < 2+n {
			return nil, errors.New("exchange: truncated event")
		}
		ev, err := engine.DecodeEvent(b[2 : 2+n])
		if err != nil {
			return nil, err
		}
		out = append(out, ev)
		b = b[2+n:]
	}
	return out, nil
}

// resultLen is the fixed size of an encoded Result (version 2: version 1
// plus the governance ID).
const resultLen = 1 + 2 + 1 + 4 + 8 + 8 + 8

// EncodeResult encodes a Result: version, code, replayed, client, order,
// qty, id.
func EncodeResult(r engine.Result) []byte {
	b := make([]byte, resultLen)
	b[0] = 2
	binary.LittleEndian.PutUint16(b[1:], uint16(r.Code))
	if r.Replayed {
		b[3] = 1
	}
	binary.LittleEndian.PutUint32(b[4:], uint32(r.Client))
	binary.LittleEndian.PutUint64(b[8:], uint64(r.Order))
	binary.LittleEndian.PutUint64(b[16:], uint64(r.Qty))
	binary.LittleEndian.PutUint64(b[24:], r.ID)
	return b
}

// DecodeResult is the inverse of EncodeResult. It also reads version 1
// (without the ID), which older audit records hold.
func DecodeResult(b []byte) (engine.Result, error) {
	v1 := len(b) == resultLen-8 && b[0] == 1
	if !v1 && (len(b) != resultLen || b[0] != 2) {
		return engine.Result{}, errors.New("exchange: malformed result")
	}
	r := engine.Result{
		Code:     engine.Code(binary.LittleEndian.Uint16(b[1:])),
		Replayed: b[3] == 1,
		Client:   engine.ClientID(binary.LittleEndian.Uint32(b[4:])),
		Order:    book.OrderID(binary.LittleEndian.Uint64(b[8:])),
		Qty:      fixed.Qty(binary.LittleEndian.Uint64(b[16:])),
	}
	if !v1 {
		r.ID = binary.LittleEndian.Uint64(b[24:])
	}
	return r, nil
}
