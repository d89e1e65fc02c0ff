package engineload

import (
	"testing"

	"github.com/sampan-hk/sampan/core/engine"
	"github.com/sampan-hk/sampan/sim/workload"
)

// The benchmark is only meaningful if the engine accepts exactly what the
// plain book accepted (so every cancel names a live order) and the engine's
// invariants hold at the end.
func TestWorkloadRunsCleanOnTheEngine(t *testing.T) {
	t.Run("legacy", func(t *testing.T) { runClean(t, false) })
	t.Run("governed", func(t *testing.T) { runClean(t, true) })
}

func runClean(t *testing.T, governed bool) {
	p := workload.Default()
	p.Warmup, p.Measured = 20_000, 60_000
	if testing.Short() {
		p.Measured = 10_000
	}
	l := New(p, true)
	e, setup := engine.MustNew(Config()), l.Setup()
	if governed {
		e, setup = engine.MustNew(GovernedConfig()), l.SetupGoverned()
	}
	now := int64(1)
	for _, c := range setup {
		if r, _ := e.Apply(&c, now); r.Code != engine.OK {
			t.Fatalf("setup %v: %v", c.Kind, r.Code)
		}
	}
	var c engine.Command
	trades := 0
	for i := range l.Stream.Ops {
		l.Command(i, &c)
		now++
		r, evs := e.Apply(&c, now)
		if r.Code != engine.OK {
			t.Fatalf("op %d %v: %v", i, c.Kind, r.Code)
		}
		for _, ev := range evs {
			if ev.Kind == engine.EvTrade {
				trades++
			}
		}
		if m, ok := l.Mark(i); ok {
			if r, _ := e.Apply(&m, now); r.Code != engine.OK {
				t.Fatalf("mark %d: %v", i, r.Code)
			}
		}
	}
	if err := e.CheckInvariants(); err != nil {
		t.Fatal(err)
	}
	if governed {
		if v, ok := e.Account(1); !ok || !v.Eligible || len(e.Governance().UnreviewedEmergencies()) != 1 || len(e.Governance().OpenProposals()) != 1 {
			t.Fatal("governed setup did not leave its state")
		}
	}
	if trades < len(l.Stream.Ops)/20 {
		t.Fatalf("only %d trades: the workload is not exercising positions", trades)
	}
}
