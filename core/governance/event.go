package governance

import (
	"encoding/binary"
)

// EventKind says what an Event reports. The numbers are part of the audit
// encoding and never change; new kinds are appended.
type EventKind uint8

const (
	EvOperatorAdded     EventKind = 1  // Operator (actor), Subject, Role
	EvOperatorDisabled  EventKind = 2  // Operator (actor), Subject
	EvGenesis           EventKind = 3  // Set, Version, EffectiveAt, Value
	EvProposed          EventKind = 4  // Operator, Set, Proposal, EffectiveAt, Value, Note
	EvApproved          EventKind = 5  // Operator, Subject (proposer), Set, Proposal, EffectiveAt
	EvRejected          EventKind = 6  // Operator, Subject (proposer), Set, Proposal, Note
	EvWithdrawn         EventKind = 7  // Operator, Set, Proposal
	EvLapsed            EventKind = 8  // Set, Proposal, EffectiveAt (not approved in time)
	EvSuperseded        EventKind = 9  // Set, Proposal, Version (the emergency version that replaced it)
	EvActivated         EventKind = 10 // Operator (approver), Subject (proposer), Set, Proposal, Version, EffectiveAt, Value
	EvEmergencyApplied  EventKind = 11 // Operator, Set, Version, EffectiveAt, Due, Value, Note
	EvEmergencyReviewed EventKind = 12 // Operator, Subject (applier), Set, Version, Due, Overdue, Note
	EvReviewOverdue     EventKind = 13 // Subject (applier), Set, Version, Due
	evKindEnd           EventKind = 14
)

var evNames = [...]string{"?", "operator_added", "operator_disabled", "parameter_genesis", "proposal_submitted",
	"proposal_approved", "proposal_rejected", "proposal_withdrawn", "proposal_lapsed", "proposal_superseded",
	"parameter_activated", "emergency_change_applied", "emergency_change_reviewed", "emergency_review_overdue"}

func (k EventKind) String() string {
	if k < evKindEnd {
		return evNames[k]
	}
	return "?"
}

// Event is one governance state change: a flat value, each kind setting the
// fields listed above. Seq increases by one per event over the store's
// life. Time is the instant the change took effect in engine time: for an
// activation it is the effective time itself and for an overdue flag the
// first overdue nanosecond, not the moment a later command noticed them, so
// a live run that ticks often and a replay that ticks only at commands
// produce the same events.
type Event struct {
	Seq         uint64
	Time        int64
	Kind        EventKind
	Role        Role
	Overdue     bool
	Operator    string // who acted ("" when time did)
	Subject     string // the other operator involved (proposer, applier, target)
	Set         string
	Proposal    uint64
	Version     uint64
	EffectiveAt int64
	Due         int64
	ValueHash   [32]byte
	Value       Value // set on genesis, proposal, activation and emergency events
	Note        string
}

// Encode appends the event's canonical binary form (the audit payload):
//
//	1 (format) | kind u8 | seq u64 | time i64 | role u8 | overdue u8 |
//	operator | subject | set | proposal u64 | version u64 | effective i64 |
//	due i64 | value hash [32] | u32 len + value encoding (0 if absent) | note
//
// strings are u16 length + bytes, integers big-endian.
func (e *Event) Encode(dst []byte) []byte {
	dst = append(dst, 1, byte(e.Kind))
	dst = binary.BigEndian.AppendUint64(dst, e.Seq)
	dst = binary.BigEndian.AppendUint64(dst, uint64(e.Time))
	dst = append(dst, byte(e.Role), b2u(e.Overdue))
	dst = appendStr(dst, e.Operator)
	dst = appendStr(dst, e.Subject)
	dst = appendStr(dst, e.Set)
	dst = binary.BigEndian.AppendUint64(dst, e.Proposal)
	dst = binary.BigEndian.AppendUint64(dst, e.Version)
	dst = binary.BigEndian.AppendUint64(dst, uint64(e.EffectiveAt))
	dst = binary.BigEndian.AppendUint64(dst, uint64(e.Due))
	dst = append(dst, e.ValueHash[:]...)
	if e.Value.Fields == nil && e.Value.Tables == nil {
		dst = binary.BigEndian.AppendUint32(dst, 0)
	} else {
		enc := e.Value.Encode(nil)
		dst = binary.BigEndian.AppendUint32(dst, uint32(len(enc)))
		dst = append(dst, enc...)
	}
	return appendStr(dst, e.Note)
}

func b2u(b bool) byte {
	if b {
		return 1
	}
	return 0
}

func appendStr(dst []byte, s string) []byte {
	dst = binary.BigEndian.AppendUint16(dst, uint16(len(s)))
	return append(dst, s...)
}
