package exchange

import (
	"context"
	"sync"
	"time"

	"github.com/sampan-hk/sampan/core/engine"
)

// MemLog applies each command at once, with no durability: for unit tests
// and offline tools, beside (never instead of) the journal. It stamps engine
// time like the sequencer does: the wall clock, never moving backwards.
type MemLog struct {
	mu    sync.Mutex
	m     *Machine
	Clock func() int64
	last  int64
}

// NewMemLog returns a MemLog applying to m.
func NewMemLog(m *Machine) *MemLog {
	return &MemLog{m: m, Clock: func() int64 { return time.Now().UnixNano() }}
}

// Submit implements Log.
func (l *MemLog) Submit(ctx context.Context, cmd []byte) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	res, _ := l.m.Apply(l.stamp(), cmd)
	return res, nil
}

// SubmitMany implements Log: the run is applied under one hold of the
// lock, so no other command comes between its commands.
func (l *MemLog) SubmitMany(ctx context.Context, cmds [][]byte) ([][]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	out := make([][]byte, len(cmds))
	for i, cmd := range cmds {
		out[i], _ = l.m.Apply(l.stamp(), cmd)
	}
	return out, nil
}

// stamp is the engine time for the next command; the caller holds l.mu.
func (l *MemLog) stamp() int64 {
	l.last = max(l.Clock(), l.last)
	return l.last
}

// restoreEngine rebuilds an engine from snapshot bytes.
func restoreEngine(cfg engine.Config, data []byte) (*engine.Engine, error) {
	return engine.Restore(cfg, data)
}
