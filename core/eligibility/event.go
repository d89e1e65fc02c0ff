package eligibility

import (
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"

	"github.com/sampan-hk/sampan/core/fixed"
)

// EventKind says what an Event reports. Numbers are stable (audit encoding).
type EventKind uint8

const (
	EvClassified            EventKind = 1 // Client, Class, Evidence, EvidenceDate, Portfolio, TotalAssets, Expiry, Operator, Reference
	EvExpiryReminder        EventKind = 2 // Client, Class, Expiry: renewal reminder
	EvClassificationExpired EventKind = 3 // Client, Class, Expiry: now reduce only
	EvKnowledgeRecorded     EventKind = 4 // Client, Basis, Trades, Operator, Reference
	EvDisclosurePublished   EventKind = 5 // Version, Digest, Operator
	EvDisclosureAccepted    EventKind = 6 // Client, Version
	evKindEnd               EventKind = 7
)

var evNames = [...]string{"?", "classified", "classification_expiry_reminder", "classification_expired",
	"derivatives_knowledge_recorded", "risk_disclosure_published", "risk_disclosure_accepted"}

func (k EventKind) String() string {
	if k < evKindEnd {
		return evNames[k]
	}
	return "?"
}

// Event is one eligibility state change: a flat value, each kind setting
// the fields listed above. Time is when the change took effect (for a
// reminder or expiry, the instant it fell due).
type Event struct {
	Seq          uint64
	Time         int64
	Kind         EventKind
	Class        Class
	Evidence     EvidenceKind
	Basis        Basis
	Client       uint64
	EvidenceDate int64
	Portfolio    fixed.Amount
	TotalAssets  fixed.Amount
	Expiry       int64
	Trades       int64
	Version      uint32
	Digest       [32]byte
	Operator     string
	Reference    string
}

// Encode appends the canonical binary form (the audit payload): format 1,
// then every field in declaration order, integers big-endian, strings as
// u16 length + bytes.
func (e *Event) Encode(dst []byte) []byte {
	dst = append(dst, 1, byte(e.Kind), byte(e.Class), byte(e.Evidence), byte(e.Basis))
	for _, x := range []uint64{e.Seq, uint64(e.Time), e.Client, uint64(e.EvidenceDate), uint64(e.Portfolio),
		uint64(e.TotalAssets), uint64(e.Expiry), uint64(e.Trades)} {
		dst = binary.BigEndian.AppendUint64(dst, x)
	}
	dst = binary.BigEndian.AppendUint32(dst, e.Version)
	dst = append(dst, e.Digest[:]...)
	dst = appendStr(dst, e.Operator)
	return appendStr(dst, e.Reference)
}

// ErrBadEvent: DecodeEvent met a payload Encode could not have written.
var ErrBadEvent = errors.New("eligibility: malformed event payload")

// DecodeEvent reads an Encode payload back (format 1), so an audit record
// or a replayed engine event can be shown field by field.
func DecodeEvent(b []byte) (Event, error) {
	var e Event
	if len(b) < 5+8*8+4+32 || b[0] != 1 {
		return e, ErrBadEvent
	}
	e.Kind, e.Class, e.Evidence, e.Basis = EventKind(b[1]), Class(b[2]), EvidenceKind(b[3]), Basis(b[4])
	b = b[5:]
	u := make([]uint64, 8)
	for i := range u {
		u[i], b = binary.BigEndian.Uint64(b), b[8:]
	}
	e.Seq, e.Time, e.Client, e.EvidenceDate = u[0], int64(u[1]), u[2], int64(u[3])
	e.Portfolio, e.TotalAssets, e.Expiry, e.Trades = fixed.Amount(u[4]), fixed.Amount(u[5]), int64(u[6]), int64(u[7])
	e.Version, b = binary.BigEndian.Uint32(b), b[4:]
	copy(e.Digest[:], b)
	b = b[32:]
	var ok bool
	if e.Operator, b, ok = readStr(b); !ok {
		return e, ErrBadEvent
	}
	if e.Reference, b, ok = readStr(b); !ok || len(b) != 0 {
		return e, ErrBadEvent
	}
	return e, nil
}

func readStr(b []byte) (string, []byte, bool) {
	if len(b) < 2 {
		return "", b, false
	}
	n := int(binary.BigEndian.Uint16(b))
	if len(b) < 2+n {
		return "", b, false
	}
	return string(b[2 : 2+n]), b[2+n:], true
}

func appendStr(dst []byte, s string) []byte {
	dst = binary.BigEndian.AppendUint16(dst, uint16(len(s)))
	return append(dst, s...)
}

// Hash returns SHA-256 of the registry's canonical state (clients by id,
// disclosures, pending deadlines, params, clock, sequence).
func (g *Registry) Hash() [32]byte { return g.hash(g.now) }

// ContentHash is Hash with the clock left out (written as 0), for the
// engine's state hash: a refused command that only advanced the clock
// changes nothing.
func (g *Registry) ContentHash() [32]byte { return g.hash(0) }

func (g *Registry) hash(now int64) [32]byte {
	var b []byte
	u := func(xs ...uint64) {
		for _, x := range xs {
			b = binary.BigEndian.AppendUint64(b, x)
		}
	}
	b = append(b, "SPELIG1"...)
	p := g.params
	u(uint64(p.IndividualPortfolioMin), uint64(p.CorporatePortfolioMin), uint64(p.CorporateTotalAssetsMin),
		uint64(p.ValidityMonths), uint64(p.ReminderLeadDays), uint64(p.MinDerivativeTrades))
	u(uint64(now), g.seq, g.serial, uint64(len(g.ids)))
	for _, id := range g.ids {
		c := g.clients[id]
		cl := c.Classification
		u(id, uint64(cl.Class), uint64(cl.Kind), uint64(cl.Date), uint64(cl.Portfolio), uint64(cl.TotalAssets),
			uint64(cl.ClassifiedAt), uint64(cl.ValidityMonths), uint64(cl.Expiry), uint64(cl.ReminderAt), cl.Serial)
		b = append(b, byte(btou(cl.Reminded)), byte(btou(cl.Expired)))
		b = appendStr(b, cl.Assessor)
		b = appendStr(b, cl.Reference)
		k := c.Knowledge
		u(uint64(k.Basis), uint64(k.Trades), uint64(k.AssessedAt))
		b = appendStr(b, k.Assessor)
		b = appendStr(b, k.Reference)
		u(uint64(c.Accepted), uint64(c.AcceptedAt))
	}
	u(uint64(len(g.disclosures)))
	for _, d := range g.disclosures {
		u(uint64(d.Version), uint64(d.PublishedAt))
		b = append(b, d.Digest[:]...)
		b = appendStr(b, d.By)
	}
	u(uint64(len(g.deadlines)))
	for _, d := range g.deadlines {
		u(uint64(d.at), uint64(d.kind), d.client, d.serial)
	}
	return sha256.Sum256(b)
}

func btou(b bool) uint64 {
	if b {
		return 1
	}
	return 0
}

// Check verifies the package invariants over the whole state.
func (g *Registry) Check() error {
	var errs []error
	bad := func(f string, a ...any) { errs = append(errs, fmt.Errorf(f, a...)) }
	if len(g.ids) != len(g.clients) || !slices.IsSorted(g.ids) {
		bad("client index out of step")
	}
	if !slices.IsSortedFunc(g.deadlines, deadline.cmp) {
		bad("deadlines not sorted")
	}
	for i := 1; i < len(g.disclosures); i++ {
		if g.disclosures[i].Version <= g.disclosures[i-1].Version {
			bad("disclosure versions not increasing")
		}
	}
	for _, id := range g.ids {
		c := g.clients[id]
		cl := c.Classification
		if cl.Class.Professional() {
			if cl.Expiry != Expiry(cl.Date, cl.ValidityMonths) || cl.Expiry <= cl.ClassifiedAt || cl.Date > cl.ClassifiedAt {
				bad("client %d: expiry %d inconsistent with evidence date %d", id, cl.Expiry, cl.Date)
			}
			if cl.Expired != (cl.Expiry <= g.now) {
				bad("client %d: expired flag %v at now %d, expiry %d", id, cl.Expired, g.now, cl.Expiry)
			}
			// Every command follows a Tick, and a reminder already due at
			// classification is emitted at once.
			if cl.Reminded != (cl.ReminderAt <= g.now) {
				bad("client %d: reminder flag out of step", id)
			}
		} else if cl.Expiry != 0 || cl.Expired || cl.Reminded {
			bad("client %d: non-PI with an expiry", id)
		}
		if c.Accepted != 0 && !slices.ContainsFunc(g.disclosures, func(d Disclosure) bool { return d.Version == c.Accepted }) {
			bad("client %d accepted unpublished version %d", id, c.Accepted)
		}
		if c.Knowledge.Basis == SelfDeclaration || c.Knowledge.Basis >= basisEnd {
			bad("client %d: knowledge basis %s", id, c.Knowledge.Basis)
		}
	}
	return errors.Join(errs...)
}
