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
	now := l.Clock()
	if now < l.last {
		now = l.last
	}
	l.last = now
	res, _ := l.m.Apply(now, cmd)
	return res, nil
}

// restoreEngine rebuilds an engine from snapshot bytes.
func restoreEngine(cfg engine.Config, data []byte) (*engine.Engine, error) {
	return engine.Restore(cfg, data)
}
