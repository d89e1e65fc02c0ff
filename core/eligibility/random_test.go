package eligibility

import (
	"bytes"
	"math/rand/v2"

	"github.com/sampan-hk/sampan/core/fixed"
	"testing"
)

type op struct {
	at     int64
	kind   int
	client uint64
	ev     Evidence
	k      Knowledge
	ver    uint32
}

func ops(seed uint64, n int) []op {
	rng := rand.New(rand.NewPCG(seed, 3))
	var out []op
	at := now0
	for range n {
		at += rng.Int64N(20 * day)
		o := op{at: at, kind: rng.IntN(5), client: uint64(rng.IntN(6))}
		o.ev = Evidence{Class: Class(rng.IntN(int(classEnd) + 1)), Kind: EvidenceKind(rng.IntN(int(evidenceEnd))),
			Date: at - rng.Int64N(400*day), Portfolio: fixed.Amount(7_990_000+rng.Int64N(20_000)) * HKD,
			TotalAssets: fixed.Amount(rng.Int64N(80_000_000)) * HKD, Assessor: "comp1"}
		o.k = Knowledge{Basis: Basis(rng.IntN(int(basisEnd))), Trades: rng.Int64N(8), Assessor: "comp1"}
		o.ver = uint32(rng.IntN(4))
		out = append(out, o)
	}
	return out
}

func run(t *testing.T, script []op, live bool) (*Registry, []byte, int) {
	g := New(DefaultParams, now0)
	passed := 0
	var log []byte
	last := now0
	for i, o := range script {
		if live {
			for at := last + 3*day; at < o.at; at += 3 * day {
				for _, e := range g.Tick(at) {
					log = e.Encode(log)
				}
			}
		}
		for _, e := range g.Tick(o.at) {
			log = e.Encode(log)
		}
		last = o.at
		h := g.Hash()
		var evs []Event
		var r Reason
		switch o.kind {
		case 0, 1:
			evs, r = g.Classify(o.at, o.client, o.ev)
		case 2:
			evs, r = g.RecordKnowledge(o.at, o.client, o.k)
		case 3:
			evs, r = g.PublishDisclosure(o.at, "comp2", o.ver, [32]byte{byte(o.ver)})
		case 4:
			evs, r = g.AcceptDisclosure(o.at, o.client, o.ver)
		}
		if r != ReasonNone && (len(evs) != 0 || g.Hash() != h) {
			t.Fatalf("op %d refused (%s) but changed state", i, r)
		}
		for _, e := range evs {
			log = e.Encode(log)
		}
		if err := g.Check(); err != nil {
			t.Fatalf("after op %d: %v", i, err)
		}
		// The gate never lets through a client without all four conditions.
		for c := uint64(0); c < 6; c++ {
			ok, why := g.CanIncrease(c, o.at)
			cl, _ := g.Client(c)
			cur, _ := g.CurrentDisclosure()
			want := cl.Classification.Class.Professional() && o.at < cl.Classification.Expiry && cl.Knowledge.Basis != BasisNone &&
				cl.Accepted != 0 && cl.Accepted == cur.Version
			if ok {
				passed++
			}
			if ok != want || ok != (why == ReasonNone) {
				t.Fatalf("op %d client %d: CanIncrease %v %s, want %v", i, c, ok, why, want)
			}
		}
	}
	return g, log, passed
}

// Random classifications, assessments and disclosures keep the invariants,
// refused commands change nothing, and a live run with extra ticks gives the
// same events and state hash as a replay.
func TestRandomizedEligibility(t *testing.T) {
	for seed := uint64(1); seed <= 4; seed++ {
		s := ops(seed, 600)
		a, la, passed := run(t, s, true)
		b, lb, _ := run(t, s, false)
		if passed == 0 || !bytes.Contains(la, []byte{1, byte(EvClassificationExpired)}) {
			t.Fatalf("seed %d: the script never opened the gate (%d) or never expired anyone", seed, passed)
		}
		if a.Hash() != b.Hash() || !bytes.Equal(la, lb) {
			t.Fatalf("seed %d: live and replay differ", seed)
		}
	}
}
