// Package governance is Sampan's parameter governance: operators and their
// roles, a versioned and effective-dated store of parameter sets, the
// maker-checker proposal workflow, emergency tightening with after-the-fact
// review, and the events that record every step.
//
// It is pure and single-threaded like the rest of core/: time arrives as
// engine time (unix nanoseconds) with every call, nothing reads a clock, no
// Go map is iterated where order matters.
//
// The engine's contract:
//
//   - call Tick(now) before every command at engine time now (and may call
//     it more often). Tick activates approved changes whose effective time
//     has come, lapses proposals nobody approved in time, and flags overdue
//     emergency reviews. A command method called while such work is due
//     panics: it would run against stale parameters.
//   - read parameters with Current after that Tick. A change effective at T
//     therefore governs every command stamped ≥ T and none stamped < T,
//     whether the engine is running live or replaying its log.
//
// Invariants (Store.Check):
//   - every active version came from genesis, from a proposal approved by
//     an operator other than its proposer, or from an emergency change;
//   - a set's versions are numbered 1, 2, 3... and their effective times
//     never decrease;
//   - every open proposal is pending or scheduled with its effective time
//     still ahead; at most one scheduled change per set and instant;
//   - every value in the store is valid for its schema.
package governance

import (
	"slices"
)

// Config holds the store's limits and the review window. These are not
// governed parameters themselves: changing them is a code change, which
// avoids a governance rule that governs itself.
type Config struct {
	ReviewWindow     int64 // nanoseconds an emergency change may stay unreviewed
	MaxOpenProposals int   // pending + scheduled, all sets
	MaxOpenPerSet    int   // pending + scheduled, one set
	MaxOperators     int
	MaxSets          int
}

// Nanoseconds per hour, for ReviewWindow.
const Hour int64 = 3_600_000_000_000

// DefaultConfig: review within 24 hours (regulation R32, ours).
var DefaultConfig = Config{ReviewWindow: 24 * Hour, MaxOpenProposals: 256, MaxOpenPerSet: 8, MaxOperators: 256, MaxSets: 1024}

// Limits on strings carried in commands.
const (
	MaxOperatorIDLen = 64
	MaxNoteLen       = 280
)

// Operator is a person (or their credential) acting on the console.
type Operator struct {
	ID      string
	Role    Role
	Active  bool
	AddedAt int64
}

// ProposalState is where a proposal is in its life.
type ProposalState uint8

const (
	Pending    ProposalState = iota + 1 // waiting for a checker
	Scheduled                           // approved, effective time ahead
	Active                              // took effect (became a version)
	Rejected                            // a checker refused it
	Withdrawn                           // its proposer took it back
	Lapsed                              // nobody approved it before its effective time
	Superseded                          // an emergency change replaced the set's value first
)

var stateNames = [...]string{"?", "pending", "scheduled", "active", "rejected", "withdrawn", "lapsed", "superseded"}

func (s ProposalState) String() string {
	if int(s) < len(stateNames) {
		return stateNames[s]
	}
	return "?"
}

func (s ProposalState) open() bool { return s == Pending || s == Scheduled }

// Proposal is a requested change of one set to a full new value.
type Proposal struct {
	ID          uint64 // from 1, in submission order
	Set         string
	Value       Value
	EffectiveAt int64
	Proposer    string
	ProposedAt  int64
	Note        string
	State       ProposalState
	Decider     string // approver, rejecter or withdrawer
	DecidedAt   int64  // or the lapse/supersede instant
	Version     uint64 // the version it became (Active) or that superseded it
}

// Origin says how a version became active.
type Origin uint8

const (
	OriginGenesis   Origin = iota + 1 // loaded with the store's genesis configuration
	OriginApproved                    // maker-checker proposal
	OriginEmergency                   // one risk officer's tightening, under review
)

var originNames = [...]string{"?", "genesis", "approved", "emergency"}

func (o Origin) String() string {
	if int(o) < len(originNames) {
		return originNames[o]
	}
	return "?"
}

// Version is one value a set has had, with where it came from.
type Version struct {
	Set         string
	Number      uint64
	Value       Value
	EffectiveAt int64
	Origin      Origin
	Proposal    uint64 // OriginApproved
	Proposer    string // the maker, or the officer who applied an emergency change
	Approver    string // OriginApproved
	ReviewDue   int64  // OriginEmergency: last instant a review is on time
	Reviewer    string // OriginEmergency, once reviewed
	ReviewedAt  int64
	Flagged     bool // OriginEmergency: the overdue flag was raised
}

type paramSet struct {
	id       string
	schema   *Schema
	versions []Version
}

// Store is the governance state. Build it with New.
type Store struct {
	cfg     Config
	cat     *Catalog
	ops     map[string]*Operator
	opIDs   []string // sorted
	props   []*Proposal
	open    []uint64 // ids of pending and scheduled proposals, ascending
	sets    map[string]*paramSet
	setIDs  []string // sorted
	reviews []verRef // unreviewed emergency versions, in application order
	now     int64
	seq     uint64
	out     []Event
}

type verRef struct {
	set     string
	version uint64
}

// Genesis is the store's starting configuration: the first operators (one
// admin at least, or nobody can ever add operators) and initial parameter
// values, which are recorded as version 1 with OriginGenesis.
type Genesis struct {
	Time      int64
	Operators []Operator // ID and Role
	Sets      []GenesisSet
}

// GenesisSet is one initial parameter set.
type GenesisSet struct {
	ID    string
	Value Value
}

// New builds a store from its genesis and returns the genesis events. An
// invalid genesis is a configuration bug and panics with the reason.
func New(cfg Config, cat *Catalog, g Genesis) (*Store, []Event) {
	if cfg.ReviewWindow <= 0 || cfg.MaxOpenProposals <= 0 || cfg.MaxOpenPerSet <= 0 || cfg.MaxOperators <= 0 || cfg.MaxSets <= 0 {
		panic("governance: bad config")
	}
	s := &Store{cfg: cfg, cat: cat, ops: map[string]*Operator{}, sets: map[string]*paramSet{}, now: g.Time}
	for _, o := range g.Operators {
		if r := s.addOperator(g.Time, "", o.ID, o.Role); r != ReasonNone {
			panic("governance: genesis operator " + o.ID + ": " + r.String())
		}
	}
	for _, gs := range g.Sets {
		sc, r := cat.ParseSetID(gs.ID)
		if r == ReasonNone {
			var v Value
			if v, r = NewValue(gs.Value.Fields, gs.Value.Tables); r == ReasonNone {
				r = sc.Validate(gs.ID, v)
				if r == ReasonNone && s.sets[gs.ID] != nil {
					r = RejectInvalidSetID
				}
				if r == ReasonNone {
					ps := s.set(gs.ID, sc)
					ps.versions = append(ps.versions, Version{Set: gs.ID, Number: 1, Value: v, EffectiveAt: g.Time, Origin: OriginGenesis})
					s.emit(Event{Time: g.Time, Kind: EvGenesis, Set: gs.ID, Version: 1, EffectiveAt: g.Time, ValueHash: v.Hash(), Value: v})
				}
			}
		}
		if r != ReasonNone {
			panic("governance: genesis set " + gs.ID + ": " + r.String())
		}
	}
	return s, s.flush()
}

// Catalog returns the store's schemas.
func (s *Store) Catalog() *Catalog { return s.cat }

// Config returns the store's configuration.
func (s *Store) Config() Config { return s.cfg }

func (s *Store) emit(e Event) {
	s.seq++
	e.Seq = s.seq
	s.out = append(s.out, e)
}

// flush hands the buffered events to the caller; each call's slice is its
// own.
func (s *Store) flush() []Event {
	out := s.out
	s.out = nil
	return out
}

func (s *Store) set(id string, sc *Schema) *paramSet {
	ps := s.sets[id]
	if ps == nil {
		ps = &paramSet{id: id, schema: sc}
		s.sets[id] = ps
		s.setIDs = insertSorted(s.setIDs, id)
	}
	return ps
}

func insertSorted(xs []string, x string) []string {
	i, _ := slices.BinarySearch(xs, x)
	return slices.Insert(xs, i, x)
}

// --- time ---

type dueItem struct {
	at    int64
	class uint8 // 0 activation, 1 lapse, 2 overdue: a fixed order at one instant
	id    uint64
	ref   verRef
}

// dueWork lists everything that falls due at or before now, in the order it
// must happen: by instant, then class, then proposal id / application order.
func (s *Store) dueWork(now int64) []dueItem {
	var items []dueItem
	for _, id := range s.open {
		p := s.props[id-1]
		if p.EffectiveAt > now {
			continue
		}
		if p.State == Scheduled {
			items = append(items, dueItem{at: p.EffectiveAt, class: 0, id: id})
		} else {
			items = append(items, dueItem{at: p.EffectiveAt, class: 1, id: id})
		}
	}
	for i, ref := range s.reviews {
		v := s.version(ref)
		if !v.Flagged && v.ReviewDue < now {
			items = append(items, dueItem{at: v.ReviewDue + 1, class: 2, id: uint64(i), ref: ref})
		}
	}
	slices.SortFunc(items, func(a, b dueItem) int {
		switch {
		case a.at != b.at:
			return cmp64(a.at, b.at)
		case a.class != b.class:
			return int(a.class) - int(b.class)
		}
		return cmp64(int64(a.id), int64(b.id))
	})
	return items
}

func cmp64(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// Tick advances engine time to now and performs everything due by then.
// Time never goes backwards: an earlier now is a sequencer bug and panics.
func (s *Store) Tick(now int64) []Event {
	if now < s.now {
		panic("governance: engine time went backwards")
	}
	for _, it := range s.dueWork(now) {
		switch it.class {
		case 0:
			s.activate(s.props[it.id-1])
		case 1:
			p := s.props[it.id-1]
			p.State, p.DecidedAt = Lapsed, p.EffectiveAt
			s.close(p.ID)
			s.emit(Event{Time: p.EffectiveAt, Kind: EvLapsed, Set: p.Set, Proposal: p.ID, EffectiveAt: p.EffectiveAt})
		case 2:
			v := s.version(it.ref)
			v.Flagged = true
			s.emit(Event{Time: v.ReviewDue + 1, Kind: EvReviewOverdue, Subject: v.Proposer, Set: v.Set, Version: v.Number, Due: v.ReviewDue})
		}
	}
	s.now = now
	return s.flush()
}

// NextDeadline returns the earliest instant at which Tick has work (an
// activation, a lapse or an overdue flag), so a live engine can schedule a
// tick for it; ok is false when nothing is pending.
func (s *Store) NextDeadline() (at int64, ok bool) {
	for _, id := range s.open {
		p := s.props[id-1]
		if !ok || p.EffectiveAt < at {
			at, ok = p.EffectiveAt, true
		}
	}
	for _, ref := range s.reviews {
		v := s.version(ref)
		if !v.Flagged && (!ok || v.ReviewDue+1 < at) {
			at, ok = v.ReviewDue+1, true
		}
	}
	return at, ok
}

// enter starts a command at now. The engine must have ticked to now: a
// command that ran with an activation still pending would see stale
// parameters, which is a bug in the caller, so it panics.
func (s *Store) enter(now int64) {
	if now < s.now {
		panic("governance: engine time went backwards")
	}
	if len(s.dueWork(now)) > 0 {
		panic("governance: Tick(now) must run before a command at now")
	}
	s.now = now
}

func (s *Store) activate(p *Proposal) {
	ps := s.sets[p.Set]
	if ps == nil {
		sc, r := s.cat.ParseSetID(p.Set)
		if r != ReasonNone {
			panic("governance: scheduled proposal for an invalid set")
		}
		ps = s.set(p.Set, sc)
	}
	n := uint64(len(ps.versions)) + 1
	ps.versions = append(ps.versions, Version{Set: p.Set, Number: n, Value: p.Value, EffectiveAt: p.EffectiveAt,
		Origin: OriginApproved, Proposal: p.ID, Proposer: p.Proposer, Approver: p.Decider})
	p.State, p.Version = Active, n
	s.close(p.ID)
	s.emit(Event{Time: p.EffectiveAt, Kind: EvActivated, Operator: p.Decider, Subject: p.Proposer, Set: p.Set,
		Proposal: p.ID, Version: n, EffectiveAt: p.EffectiveAt, ValueHash: p.Value.Hash(), Value: p.Value})
}

func (s *Store) close(id uint64) {
	i, ok := slices.BinarySearch(s.open, id)
	if !ok {
		panic("governance: closing a proposal that is not open")
	}
	s.open = slices.Delete(s.open, i, i+1)
}

func (s *Store) version(r verRef) *Version {
	return &s.sets[r.set].versions[r.version-1]
}

// --- authorization ---

// Authorize checks that an operator exists, is active and holds a
// permission in a domain. The engine calls it before eligibility commands
// (classify, assess knowledge, publish disclosure) too.
func (s *Store) Authorize(by string, p Permission, d Domain) Reason {
	o := s.ops[by]
	switch {
	case o == nil:
		return RejectUnknownOperator
	case !o.Active:
		return RejectOperatorDisabled
	case !Allowed(o.Role, p, d):
		return RejectPermissionDenied
	}
	return ReasonNone
}

// --- operators ---

func validOperatorID(id string) bool {
	if len(id) == 0 || len(id) > MaxOperatorIDLen {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_' || c == '-' || c == '.' || c == '@') {
			return false
		}
	}
	return true
}

// AddOperator adds an operator with one role (admins only). Ids are never
// reused, so the audit trail's names stay unambiguous.
func (s *Store) AddOperator(now int64, by, id string, role Role) ([]Event, Reason) {
	s.enter(now)
	if r := s.Authorize(by, PermManageOperators, DomainNone); r != ReasonNone {
		return nil, r
	}
	if r := s.addOperator(now, by, id, role); r != ReasonNone {
		return nil, r
	}
	return s.flush(), ReasonNone
}

func (s *Store) addOperator(now int64, by, id string, role Role) Reason {
	switch {
	case !validOperatorID(id) || role == RoleNone || role >= roleEnd:
		return RejectInvalidOperator
	case s.ops[id] != nil:
		return RejectOperatorExists
	case len(s.ops) >= s.cfg.MaxOperators:
		return RejectTooManyOperators
	}
	s.ops[id] = &Operator{ID: id, Role: role, Active: true, AddedAt: now}
	s.opIDs = insertSorted(s.opIDs, id)
	s.emit(Event{Time: now, Kind: EvOperatorAdded, Operator: by, Subject: id, Role: role})
	return ReasonNone
}

// DisableOperator disables an operator for good (admins only, not
// themselves). Its past acts stay in the history.
func (s *Store) DisableOperator(now int64, by, id string) ([]Event, Reason) {
	s.enter(now)
	if r := s.Authorize(by, PermManageOperators, DomainNone); r != ReasonNone {
		return nil, r
	}
	o := s.ops[id]
	switch {
	case o == nil:
		return nil, RejectUnknownOperator
	case !o.Active:
		return nil, RejectOperatorDisabled
	case id == by:
		return nil, RejectCannotDisableSelf
	}
	o.Active = false
	s.emit(Event{Time: now, Kind: EvOperatorDisabled, Operator: by, Subject: id})
	return s.flush(), ReasonNone
}

// --- proposals ---

// Propose submits a full new value for a set, to take effect at
// effectiveAt (strictly after now, leaving room for a checker). A set that
// does not exist yet is created when its first proposal activates.
func (s *Store) Propose(now int64, by, setID string, v Value, effectiveAt int64, note string) (uint64, []Event, Reason) {
	s.enter(now)
	if r := s.Authorize(by, PermRead, DomainNone); r != ReasonNone {
		return 0, nil, r
	}
	sc, r := s.cat.ParseSetID(setID)
	if r != ReasonNone {
		return 0, nil, r
	}
	if r := s.Authorize(by, PermPropose, sc.Domain); r != ReasonNone {
		return 0, nil, r
	}
	if len(note) > MaxNoteLen {
		return 0, nil, RejectNoteTooLong
	}
	cv, r := NewValue(v.Fields, v.Tables)
	if r != ReasonNone {
		return 0, nil, r
	}
	if r := sc.Validate(setID, cv); r != ReasonNone {
		return 0, nil, r
	}
	if effectiveAt <= now {
		return 0, nil, RejectEffectiveTimeNotInFuture
	}
	if s.sets[setID] == nil && len(s.sets) >= s.cfg.MaxSets {
		return 0, nil, RejectTooManySets
	}
	if len(s.open) >= s.cfg.MaxOpenProposals || s.openFor(setID) >= s.cfg.MaxOpenPerSet {
		return 0, nil, RejectTooManyOpenProposals
	}
	p := &Proposal{ID: uint64(len(s.props)) + 1, Set: setID, Value: cv, EffectiveAt: effectiveAt, Proposer: by,
		ProposedAt: now, Note: note, State: Pending}
	s.props = append(s.props, p)
	s.open = append(s.open, p.ID) // ids increase, so open stays sorted
	s.emit(Event{Time: now, Kind: EvProposed, Operator: by, Set: setID, Proposal: p.ID, EffectiveAt: effectiveAt,
		ValueHash: cv.Hash(), Value: cv, Note: note})
	return p.ID, s.flush(), ReasonNone
}

func (s *Store) openFor(setID string) int {
	n := 0
	for _, id := range s.open {
		if s.props[id-1].Set == setID {
			n++
		}
	}
	return n
}

// decision resolves the common checks of approve and reject. The
// self-approval check comes before the permission check so a maker always
// hears the maker-checker rule, whatever its role.
func (s *Store) decision(by string, id uint64) (*Proposal, Reason) {
	if r := s.Authorize(by, PermRead, DomainNone); r != ReasonNone {
		return nil, r
	}
	if id == 0 || id > uint64(len(s.props)) {
		return nil, RejectUnknownProposal
	}
	p := s.props[id-1]
	if p.State != Pending {
		return nil, RejectProposalNotPending
	}
	if p.Proposer == by {
		return nil, RejectSelfApproval
	}
	sc, _ := s.cat.ParseSetID(p.Set)
	if r := s.Authorize(by, PermDecide, sc.Domain); r != ReasonNone {
		return nil, r
	}
	return p, ReasonNone
}

// Approve is the checker's approval: the proposal is scheduled and takes
// effect at its effective time (on the Tick that reaches it).
func (s *Store) Approve(now int64, by string, id uint64) ([]Event, Reason) {
	s.enter(now)
	p, r := s.decision(by, id)
	if r != ReasonNone {
		return nil, r
	}
	if p.EffectiveAt <= now {
		// Tick lapses such proposals before any command at now.
		panic("governance: pending proposal past its effective time")
	}
	for _, oid := range s.open {
		q := s.props[oid-1]
		if q.State == Scheduled && q.Set == p.Set && q.EffectiveAt == p.EffectiveAt {
			return nil, RejectEffectiveTimeConflict
		}
	}
	p.State, p.Decider, p.DecidedAt = Scheduled, by, now
	s.emit(Event{Time: now, Kind: EvApproved, Operator: by, Subject: p.Proposer, Set: p.Set, Proposal: p.ID, EffectiveAt: p.EffectiveAt})
	return s.flush(), ReasonNone
}

// Reject is the checker's refusal, with a reason in the note.
func (s *Store) Reject(now int64, by string, id uint64, note string) ([]Event, Reason) {
	s.enter(now)
	p, r := s.decision(by, id)
	if r != ReasonNone {
		return nil, r
	}
	if note == "" {
		return nil, RejectNoteRequired
	}
	if len(note) > MaxNoteLen {
		return nil, RejectNoteTooLong
	}
	p.State, p.Decider, p.DecidedAt = Rejected, by, now
	s.close(p.ID)
	s.emit(Event{Time: now, Kind: EvRejected, Operator: by, Subject: p.Proposer, Set: p.Set, Proposal: p.ID, Note: note})
	return s.flush(), ReasonNone
}

// Withdraw lets a proposer take back its own pending proposal.
func (s *Store) Withdraw(now int64, by string, id uint64) ([]Event, Reason) {
	s.enter(now)
	if r := s.Authorize(by, PermRead, DomainNone); r != ReasonNone {
		return nil, r
	}
	if id == 0 || id > uint64(len(s.props)) {
		return nil, RejectUnknownProposal
	}
	p := s.props[id-1]
	if p.State != Pending {
		return nil, RejectProposalNotPending
	}
	if p.Proposer != by {
		return nil, RejectNotProposer
	}
	p.State, p.Decider, p.DecidedAt = Withdrawn, by, now
	s.close(p.ID)
	s.emit(Event{Time: now, Kind: EvWithdrawn, Operator: by, Set: p.Set, Proposal: p.ID})
	return s.flush(), ReasonNone
}

// --- emergency ---

// EmergencyTighten applies a strictly tighter value at once, on one risk
// officer's authority, and opens a review due within the review window.
// Any open proposal for the set is superseded: it was written against the
// old value and, if activated later, could silently undo the tightening.
func (s *Store) EmergencyTighten(now int64, by, setID string, v Value, note string) (uint64, []Event, Reason) {
	s.enter(now)
	if r := s.Authorize(by, PermRead, DomainNone); r != ReasonNone {
		return 0, nil, r
	}
	sc, r := s.cat.ParseSetID(setID)
	if r != ReasonNone {
		return 0, nil, r
	}
	if sc.Domain != DomainRisk {
		return 0, nil, RejectEmergencyNotAllowed
	}
	if r := s.Authorize(by, PermEmergencyTighten, sc.Domain); r != ReasonNone {
		return 0, nil, r
	}
	if note == "" {
		return 0, nil, RejectNoteRequired
	}
	if len(note) > MaxNoteLen {
		return 0, nil, RejectNoteTooLong
	}
	cv, r := NewValue(v.Fields, v.Tables)
	if r != ReasonNone {
		return 0, nil, r
	}
	if r := sc.Validate(setID, cv); r != ReasonNone {
		return 0, nil, r
	}
	ps := s.sets[setID]
	if ps == nil {
		return 0, nil, RejectNoActiveVersion
	}
	switch ch, _ := sc.Compare(ps.versions[len(ps.versions)-1].Value, cv); ch {
	case Unchanged:
		return 0, nil, RejectUnchanged
	case NotTighter:
		return 0, nil, RejectNotATightening
	}
	n := uint64(len(ps.versions)) + 1
	due := now + s.cfg.ReviewWindow
	ps.versions = append(ps.versions, Version{Set: setID, Number: n, Value: cv, EffectiveAt: now, Origin: OriginEmergency,
		Proposer: by, ReviewDue: due})
	s.reviews = append(s.reviews, verRef{setID, n})
	s.emit(Event{Time: now, Kind: EvEmergencyApplied, Operator: by, Set: setID, Version: n, EffectiveAt: now, Due: due,
		ValueHash: cv.Hash(), Value: cv, Note: note})
	for _, id := range slices.Clone(s.open) {
		p := s.props[id-1]
		if p.Set == setID {
			p.State, p.DecidedAt, p.Version = Superseded, now, n
			s.close(id)
			s.emit(Event{Time: now, Kind: EvSuperseded, Set: setID, Proposal: id, Version: n})
		}
	}
	return n, s.flush(), ReasonNone
}

// ReviewEmergency records a second risk officer's review of an emergency
// change. A late review is still recorded (and says it was late); the
// overdue flag raised before it stays in the history. To undo the change,
// the reviewer proposes the old value through maker-checker like any
// loosening.
func (s *Store) ReviewEmergency(now int64, by, setID string, version uint64, note string) ([]Event, Reason) {
	s.enter(now)
	if r := s.Authorize(by, PermRead, DomainNone); r != ReasonNone {
		return nil, r
	}
	ps := s.sets[setID]
	if ps == nil || version == 0 || version > uint64(len(ps.versions)) {
		return nil, RejectUnknownVersion
	}
	v := &ps.versions[version-1]
	switch {
	case v.Origin != OriginEmergency:
		return nil, RejectNotAnEmergency
	case v.Reviewer != "":
		return nil, RejectAlreadyReviewed
	case v.Proposer == by:
		return nil, RejectSelfReview
	}
	if r := s.Authorize(by, PermReviewEmergency, ps.schema.Domain); r != ReasonNone {
		return nil, r
	}
	if len(note) > MaxNoteLen {
		return nil, RejectNoteTooLong
	}
	v.Reviewer, v.ReviewedAt = by, now
	i := slices.Index(s.reviews, verRef{setID, version})
	s.reviews = slices.Delete(s.reviews, i, i+1)
	s.emit(Event{Time: now, Kind: EvEmergencyReviewed, Operator: by, Subject: v.Proposer, Set: setID, Version: version,
		Due: v.ReviewDue, Overdue: now > v.ReviewDue, Note: note})
	return s.flush(), ReasonNone
}

// --- queries (read-only; return copies) ---

// Operator returns an operator.
func (s *Store) Operator(id string) (Operator, bool) {
	o := s.ops[id]
	if o == nil {
		return Operator{}, false
	}
	return *o, true
}

// Operators lists all operators by id.
func (s *Store) Operators() []Operator {
	out := make([]Operator, len(s.opIDs))
	for i, id := range s.opIDs {
		out[i] = *s.ops[id]
	}
	return out
}

// Sets lists the set ids that have an active version, sorted.
func (s *Store) Sets() []string { return slices.Clone(s.setIDs) }

// Current returns the active version of a set (as of the last Tick).
func (s *Store) Current(setID string) (Version, bool) {
	ps := s.sets[setID]
	if ps == nil {
		return Version{}, false
	}
	return cloneVersion(ps.versions[len(ps.versions)-1]), true
}

// At returns the version that governed a set at instant t (t no later than
// the last Tick): the last version with EffectiveAt ≤ t.
func (s *Store) At(setID string, t int64) (Version, bool) {
	ps := s.sets[setID]
	if ps == nil {
		return Version{}, false
	}
	// Effective times never decrease, so the last one ≤ t is found by
	// searching for the first one > t.
	i, _ := slices.BinarySearchFunc(ps.versions, t, func(v Version, t int64) int {
		if v.EffectiveAt <= t {
			return -1
		}
		return 1
	})
	if i == 0 {
		return Version{}, false
	}
	return cloneVersion(ps.versions[i-1]), true
}

// History returns every version of a set, oldest first.
func (s *Store) History(setID string) []Version {
	ps := s.sets[setID]
	if ps == nil {
		return nil
	}
	out := make([]Version, len(ps.versions))
	for i, v := range ps.versions {
		out[i] = cloneVersion(v)
	}
	return out
}

// Proposal returns a proposal by id.
func (s *Store) Proposal(id uint64) (Proposal, bool) {
	if id == 0 || id > uint64(len(s.props)) {
		return Proposal{}, false
	}
	p := *s.props[id-1]
	p.Value = p.Value.Clone()
	return p, true
}

// OpenProposals returns the pending and scheduled proposals, by id: the
// checker's queue and the upcoming changes.
func (s *Store) OpenProposals() []Proposal {
	out := make([]Proposal, 0, len(s.open))
	for _, id := range s.open {
		p, _ := s.Proposal(id)
		out = append(out, p)
	}
	return out
}

// UnreviewedEmergencies returns the emergency versions still awaiting
// review, in application order; Flagged says the review is overdue.
func (s *Store) UnreviewedEmergencies() []Version {
	out := make([]Version, len(s.reviews))
	for i, r := range s.reviews {
		out[i] = cloneVersion(*s.version(r))
	}
	return out
}

func cloneVersion(v Version) Version {
	v.Value = v.Value.Clone()
	return v
}

// Now returns the store's engine time: the last Tick or command.
func (s *Store) Now() int64 { return s.now }
