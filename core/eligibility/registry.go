// Package eligibility decides who may open or increase a perpetual
// position: professional-investor classification with dated evidence that
// expires, the derivatives-knowledge assessment, and acceptance of the
// current risk disclosure (regulation R20–R22, R31).
//
// The engine calls CanIncrease on every order that could open or increase a
// perpetual position; a client who fails it may still reduce. Everything is
// pure and replayable: time is engine time in unix nanoseconds, calendar
// arithmetic is integer (civil.go), and calendar dates are Hong Kong dates
// (UTC+8, no daylight saving).
//
// Invariants (Registry.Check): a PI classification's expiry is the start of
// the Hong Kong day ValidityMonths after its evidence date, and is after the
// instant it was recorded; its reminder and expiry flags are up exactly when
// their instants have passed (so each is announced once); retail has no
// expiry; every accepted disclosure version was published; no knowledge
// record rests on a self-declaration.
package eligibility

import (
	"slices"

	"github.com/sampan-hk/sampan/core/fixed"
)

// HKOffsetSeconds is Hong Kong's offset east of UTC. Evidence dates and
// expiry days are Hong Kong calendar days.
const HKOffsetSeconds = 8 * 3600

// Limits.
const (
	MaxAssessorLen = 64
	MaxRefLen      = 128
	MaxClients     = 1 << 20
)

// Class is an investor classification.
type Class uint8

const (
	ClassNone Class = iota // never classified
	Retail                 // not a PI, or a PI who withdrew from PI treatment
	IndividualPI
	CorporatePI
	InstitutionalPI // SFO Sch. 1 paras (a)–(i): no asset test
	classEnd
)

var classNames = [...]string{"none", "retail", "individual_pi", "corporate_pi", "institutional_pi"}

func (c Class) String() string {
	if c < classEnd {
		return classNames[c]
	}
	return "unknown"
}

// Professional reports whether c is a PI class.
func (c Class) Professional() bool { return c >= IndividualPI && c < classEnd }

// EvidenceKind is the type of document behind a classification.
type EvidenceKind uint8

const (
	EvidenceNone EvidenceKind = iota
	CustodianStatement
	BankStatement
	AuditedFinancials
	AuditorCertificate // auditor's or CPA's certificate
	PublicFiling
	RegulatoryStatus // licence or registration of an institutional PI
	evidenceEnd
)

var evidenceNames = [...]string{"none", "custodian_statement", "bank_statement", "audited_financials",
	"auditor_certificate", "public_filing", "regulatory_status"}

func (k EvidenceKind) String() string {
	if k < evidenceEnd {
		return evidenceNames[k]
	}
	return "unknown"
}

// Basis is how derivatives knowledge was established (Code of Conduct
// 5.1A): training, work experience or prior trades. A self-declaration
// exists as a value only so that it can be refused by name.
type Basis uint8

const (
	BasisNone Basis = iota
	Training
	WorkExperience
	PriorTrades
	SelfDeclaration
	basisEnd
)

var basisNames = [...]string{"none", "training", "work_experience", "prior_trades", "self_declaration"}

func (b Basis) String() string {
	if b < basisEnd {
		return basisNames[b]
	}
	return "unknown"
}

// Evidence is what a compliance officer submits to classify a client.
type Evidence struct {
	Class       Class
	Kind        EvidenceKind
	Date        int64        // any instant of the document's (Hong Kong) date
	Portfolio   fixed.Amount // assessed portfolio, HKD cents
	TotalAssets fixed.Amount // total assets, HKD cents (corporates)
	Assessor    string       // operator id of the assessing officer
	Reference   string       // document reference for the file
}

// Classification is a client's recorded classification.
type Classification struct {
	Evidence
	ClassifiedAt   int64
	ValidityMonths int64 // the validity in force when it was recorded
	Expiry         int64 // first instant the classification no longer holds (0: retail, no expiry)
	ReminderAt     int64 // when the renewal reminder is due
	Serial         uint64
	Reminded       bool // the reminder event was emitted
	Expired        bool // the expiry event was emitted
}

// Knowledge is a derivatives-knowledge assessment.
type Knowledge struct {
	Basis      Basis
	Trades     int64 // PriorTrades: derivative transactions in the look-back period
	Assessor   string
	Reference  string
	AssessedAt int64
}

// Disclosure is one published version of the perpetuals risk disclosure.
type Disclosure struct {
	Version     uint32
	Digest      [32]byte // SHA-256 of the document text
	PublishedAt int64
	By          string
}

// Client is everything eligibility knows about one client.
type Client struct {
	ID             uint64
	Classification Classification // Class is ClassNone when never classified
	Knowledge      Knowledge      // BasisNone when never assessed
	Accepted       uint32         // risk-disclosure version last accepted (0: none)
	AcceptedAt     int64
}

// Expiry returns when evidence dated at evidenceDate stops qualifying: the
// start of the Hong Kong day that is `months` calendar months after the
// evidence's day. Evidence dated 2025-03-01 qualifies through 2026-02-28
// and not on 2026-03-01.
func Expiry(evidenceDate, months int64) int64 {
	return StartOf(DateOf(evidenceDate, HKOffsetSeconds).AddMonths(months), HKOffsetSeconds)
}

// Classify applies the rules to evidence at now and returns the resulting
// classification, or why not. It is a pure function of its arguments.
func Classify(p Params, ev Evidence, now int64) (Classification, Reason) {
	if ev.Class == ClassNone || ev.Class >= classEnd {
		return Classification{}, RejectInvalidClass
	}
	if len(ev.Assessor) == 0 || len(ev.Assessor) > MaxAssessorLen {
		return Classification{}, RejectInvalidAssessor
	}
	if len(ev.Reference) > MaxRefLen {
		return Classification{}, RejectTextTooLong
	}
	if ev.Class == Retail {
		// Retail needs no evidence: it is the default and what a PI
		// becomes on withdrawing from PI treatment.
		return Classification{Evidence: Evidence{Class: Retail, Assessor: ev.Assessor, Reference: ev.Reference}, ClassifiedAt: now}, ReasonNone
	}
	if ev.Kind == EvidenceNone || ev.Kind >= evidenceEnd {
		return Classification{}, RejectMissingEvidence
	}
	if ev.Portfolio < 0 || ev.TotalAssets < 0 {
		return Classification{}, RejectNegativeAmount
	}
	if ev.Date > now {
		return Classification{}, RejectEvidenceDateInFuture
	}
	exp := Expiry(ev.Date, p.ValidityMonths)
	if exp <= now {
		return Classification{}, RejectEvidenceExpired
	}
	switch ev.Class {
	case IndividualPI:
		if ev.Portfolio < p.IndividualPortfolioMin {
			return Classification{}, RejectPortfolioBelowThreshold
		}
	case CorporatePI:
		if ev.Portfolio < p.CorporatePortfolioMin && ev.TotalAssets < p.CorporateTotalAssetsMin {
			return Classification{}, RejectCorporateBelowThresholds
		}
	}
	remind := exp - p.ReminderLeadDays*nsPerDay
	return Classification{Evidence: ev, ClassifiedAt: now, ValidityMonths: p.ValidityMonths, Expiry: exp, ReminderAt: remind}, ReasonNone
}

// Registry holds every client's eligibility records.
type Registry struct {
	params      Params
	clients     map[uint64]*Client
	ids         []uint64 // sorted
	disclosures []Disclosure
	deadlines   []deadline // sorted by (at, kind, client)
	serial      uint64
	now         int64
	seq         uint64
	out         []Event
}

type deadline struct {
	at     int64
	kind   EventKind // EvExpiryReminder or EvClassificationExpired
	client uint64
	serial uint64 // the classification it belongs to; a newer one makes it stale
}

func (a deadline) cmp(b deadline) int {
	switch {
	case a.at != b.at:
		return cmp64(a.at, b.at)
	case a.kind != b.kind:
		return int(a.kind) - int(b.kind)
	}
	return cmp64(int64(a.client), int64(b.client))
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

// New returns an empty registry at engine time now.
func New(p Params, now int64) *Registry {
	if !p.valid() {
		panic("eligibility: invalid params")
	}
	return &Registry{params: p, clients: map[uint64]*Client{}, now: now}
}

// Params returns the rules in force.
func (g *Registry) Params() Params { return g.params }

// SetParams installs a new governed version (the engine calls it when the
// governance store activates the "eligibility" set). It applies to
// classifications recorded from now on; existing ones keep the expiry
// computed when their evidence was assessed, since the evidence did meet
// the rules then.
func (g *Registry) SetParams(p Params) {
	if !p.valid() {
		panic("eligibility: invalid params")
	}
	g.params = p
}

func (g *Registry) emit(e Event) {
	g.seq++
	e.Seq = g.seq
	g.out = append(g.out, e)
}

func (g *Registry) flush() []Event {
	out := g.out
	g.out = nil
	return out
}

// Tick advances to now, emitting the reminders and expiries that fell due.
// Each event carries the instant it fell due, not the instant noticed, so
// live runs and replays agree.
func (g *Registry) Tick(now int64) []Event {
	if now < g.now {
		panic("eligibility: engine time went backwards")
	}
	i := 0
	for ; i < len(g.deadlines) && g.deadlines[i].at <= now; i++ {
		d := g.deadlines[i]
		c := g.clients[d.client]
		if c.Classification.Serial != d.serial {
			continue // reclassified since: this deadline belongs to the old record
		}
		switch d.kind {
		case EvExpiryReminder:
			c.Classification.Reminded = true
		case EvClassificationExpired:
			c.Classification.Expired = true
		}
		g.emit(Event{Time: d.at, Kind: d.kind, Client: d.client, Class: c.Classification.Class, Expiry: c.Classification.Expiry})
	}
	g.deadlines = slices.Delete(g.deadlines, 0, i)
	g.now = now
	return g.flush()
}

// NextDeadline returns the next instant Tick has work, if any.
func (g *Registry) NextDeadline() (int64, bool) {
	if len(g.deadlines) == 0 {
		return 0, false
	}
	return g.deadlines[0].at, true
}

func (g *Registry) enter(now int64) {
	if now < g.now {
		panic("eligibility: engine time went backwards")
	}
	if len(g.deadlines) > 0 && g.deadlines[0].at <= now {
		panic("eligibility: Tick(now) must run before a command at now")
	}
	g.now = now
}

func (g *Registry) schedule(d deadline) {
	i, _ := slices.BinarySearchFunc(g.deadlines, d, deadline.cmp)
	g.deadlines = slices.Insert(g.deadlines, i, d)
}

func (g *Registry) client(id uint64) *Client {
	c := g.clients[id]
	if c == nil {
		c = &Client{ID: id}
		g.clients[id] = c
		i, _ := slices.BinarySearch(g.ids, id)
		g.ids = slices.Insert(g.ids, i, id)
	}
	return c
}

// Classify records a classification for a client under the current
// params. The engine authorizes the assessor (governance permission
// classify_clients) before calling it. A new classification replaces the
// old one, including a downgrade to Retail.
func (g *Registry) Classify(now int64, client uint64, ev Evidence) ([]Event, Reason) {
	g.enter(now)
	if client == 0 {
		return nil, RejectInvalidClient
	}
	if g.clients[client] == nil && len(g.clients) >= MaxClients {
		return nil, RejectTooManyClients
	}
	cl, r := Classify(g.params, ev, now)
	if r != ReasonNone {
		return nil, r
	}
	g.serial++
	cl.Serial = g.serial
	c := g.client(client)
	c.Classification = cl
	g.emit(Event{Time: now, Kind: EvClassified, Client: client, Class: cl.Class, Evidence: cl.Kind, EvidenceDate: cl.Date,
		Portfolio: cl.Portfolio, TotalAssets: cl.TotalAssets, Expiry: cl.Expiry, Operator: cl.Assessor, Reference: cl.Reference})
	if cl.Class.Professional() {
		if cl.ReminderAt <= now {
			// Evidence already inside the reminder window: remind at once.
			c.Classification.Reminded = true
			g.emit(Event{Time: now, Kind: EvExpiryReminder, Client: client, Class: cl.Class, Expiry: cl.Expiry})
		} else {
			g.schedule(deadline{at: cl.ReminderAt, kind: EvExpiryReminder, client: client, serial: cl.Serial})
		}
		g.schedule(deadline{at: cl.Expiry, kind: EvClassificationExpired, client: client, serial: cl.Serial})
	}
	return g.flush(), ReasonNone
}

// RecordKnowledge records a derivatives-knowledge assessment. The assessor
// must have gathered evidence (training record, employment history, trade
// confirmations), so a self-declaration is refused, and a prior-trades
// basis needs the minimum count.
func (g *Registry) RecordKnowledge(now int64, client uint64, k Knowledge) ([]Event, Reason) {
	g.enter(now)
	switch {
	case client == 0:
		return nil, RejectInvalidClient
	case k.Basis == SelfDeclaration:
		return nil, RejectSelfDeclaration
	case k.Basis == BasisNone || k.Basis >= basisEnd:
		return nil, RejectInvalidBasis
	case len(k.Assessor) == 0 || len(k.Assessor) > MaxAssessorLen:
		return nil, RejectInvalidAssessor
	case len(k.Reference) > MaxRefLen:
		return nil, RejectTextTooLong
	case k.Trades < 0 || k.Basis == PriorTrades && k.Trades < g.params.MinDerivativeTrades:
		return nil, RejectTooFewDerivativeTrades
	case g.clients[client] == nil && len(g.clients) >= MaxClients:
		return nil, RejectTooManyClients
	}
	k.AssessedAt = now
	g.client(client).Knowledge = k
	g.emit(Event{Time: now, Kind: EvKnowledgeRecorded, Client: client, Basis: k.Basis, Trades: k.Trades,
		Operator: k.Assessor, Reference: k.Reference})
	return g.flush(), ReasonNone
}

// PublishDisclosure publishes a new risk-disclosure version, current from
// now: every client must accept it before their next increase. The engine
// authorizes the publisher (permission publish_disclosure).
func (g *Registry) PublishDisclosure(now int64, by string, version uint32, digest [32]byte) ([]Event, Reason) {
	g.enter(now)
	if len(by) == 0 || len(by) > MaxAssessorLen {
		return nil, RejectInvalidAssessor
	}
	if version <= g.currentVersion() {
		return nil, RejectDisclosureVersion
	}
	g.disclosures = append(g.disclosures, Disclosure{Version: version, Digest: digest, PublishedAt: now, By: by})
	g.emit(Event{Time: now, Kind: EvDisclosurePublished, Version: version, Digest: digest, Operator: by})
	return g.flush(), ReasonNone
}

func (g *Registry) currentVersion() uint32 {
	if len(g.disclosures) == 0 {
		return 0
	}
	return g.disclosures[len(g.disclosures)-1].Version
}

// AcceptDisclosure records a client's acceptance of a version, which must
// be the current one (a client cannot accept a text that has been
// replaced).
func (g *Registry) AcceptDisclosure(now int64, client uint64, version uint32) ([]Event, Reason) {
	g.enter(now)
	cur := g.currentVersion()
	switch {
	case client == 0:
		return nil, RejectInvalidClient
	case cur == 0:
		return nil, RejectNoDisclosure
	case version != cur:
		return nil, RejectDisclosureVersion
	case g.clients[client] != nil && g.clients[client].Accepted == cur:
		return nil, RejectAlreadyAccepted
	case g.clients[client] == nil && len(g.clients) >= MaxClients:
		return nil, RejectTooManyClients
	}
	c := g.client(client)
	c.Accepted, c.AcceptedAt = version, now
	g.emit(Event{Time: now, Kind: EvDisclosureAccepted, Client: client, Version: version})
	return g.flush(), ReasonNone
}

// CanIncrease is the trading gate: may the client open or increase a
// perpetual position at now? It reads only state and now (not the last
// Tick), so an expiry bites at exactly its instant. Reasons come in a fixed
// order so a client sees the most fundamental problem first.
func (g *Registry) CanIncrease(client uint64, now int64) (bool, Reason) {
	c := g.clients[client]
	switch {
	case c == nil || !c.Classification.Class.Professional():
		return false, NotProfessionalInvestor
	case now >= c.Classification.Expiry:
		return false, PIClassificationExpired
	case c.Knowledge.Basis == BasisNone:
		return false, NoDerivativesKnowledge
	case c.Accepted == 0 || c.Accepted != g.currentVersion():
		return false, RiskDisclosureNotAccepted
	}
	return true, ReasonNone
}

// --- queries ---

// Client returns a client's records.
func (g *Registry) Client(id uint64) (Client, bool) {
	c := g.clients[id]
	if c == nil {
		return Client{}, false
	}
	return *c, true
}

// Disclosures returns every published version, oldest first.
func (g *Registry) Disclosures() []Disclosure { return slices.Clone(g.disclosures) }

// CurrentDisclosure returns the version clients must have accepted.
func (g *Registry) CurrentDisclosure() (Disclosure, bool) {
	if len(g.disclosures) == 0 {
		return Disclosure{}, false
	}
	return g.disclosures[len(g.disclosures)-1], true
}

// RenewalsDue lists the PI clients, by id, whose reminder time has come but
// whose classification has not yet expired at now: the compliance team's
// renewal worklist.
func (g *Registry) RenewalsDue(now int64) []uint64 {
	var out []uint64
	for _, id := range g.ids {
		c := g.clients[id].Classification
		if c.Class.Professional() && c.ReminderAt <= now && now < c.Expiry {
			out = append(out, id)
		}
	}
	return out
}

// Classified reports whether the client has a classification on record
// (any class, expired or not): the engine then gates it by CanIncrease.
func (g *Registry) Classified(client uint64) bool {
	c := g.clients[client]
	return c != nil && c.Classification.Class != ClassNone
}

// AcceptedCurrent reports whether a disclosure is published and the client
// accepted its current version (true when none is published).
func (g *Registry) AcceptedCurrent(client uint64) bool {
	cur := g.currentVersion()
	if cur == 0 {
		return true
	}
	c := g.clients[client]
	return c != nil && c.Accepted == cur
}

// Now returns the registry's engine time: the last Tick or command.
func (g *Registry) Now() int64 { return g.now }
