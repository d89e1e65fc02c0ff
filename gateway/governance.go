package gateway

import (
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/sampan-hk/sampan/core/engine"
	"github.com/sampan-hk/sampan/core/governance"
)

// Governance endpoints (docs/governance.md): parameter sets with their
// versions, maker-checker proposals and emergency tightening.
//
// Who may do what is governance.Allowed (one matrix for gateway and
// engine). The gateway checks it before submitting; the engine checks it
// again on every mutating command, against the operator id the gateway
// takes from the calling key (Key.Operator), never from the request. A key
// without an operator id may read but not act.
//
// Times in requests and answers are milliseconds since the epoch; the
// engine works in nanoseconds of engine time. Parameter values are
// integers (ppm, whole leverage, minor units), as the schemas define them.

// govRole maps a gateway role to the governance role of the same name.
func govRole(r Role) governance.Role {
	switch r {
	case RoleAdmin:
		return governance.RoleAdmin
	case RoleRisk:
		return governance.RoleRiskOfficer
	case RoleCompliance:
		return governance.RoleComplianceOfficer
	case RoleOperations:
		return governance.RoleOperations
	case RoleAuditor:
		return governance.RoleAuditor
	}
	return governance.RoleNone
}

// govCheck is the gateway's copy of the engine's permission check.
func govCheck(k *Key, p governance.Permission, d governance.Domain) *Error {
	if !governance.Allowed(govRole(k.Role), p, d) {
		what := p.String()
		if d != governance.DomainNone {
			what += " " + d.String() + " parameters"
		}
		return Errf(http.StatusForbidden, CodeForbidden, "", "role "+string(k.Role)+" may not "+strings.ReplaceAll(what, "_", " "))
	}
	return nil
}

// govRead guards the governance reads: every operator role may read.
func (s *Server) govRead(h privateHandler) http.HandlerFunc {
	return s.signed(func(k *Key) *Error {
		if e := needOperator(k); e != nil {
			return e
		}
		if e := govCheck(k, governance.PermRead, governance.DomainNone); e != nil {
			return e
		}
		return s.operatorActive(k)
	}, h)
}

// govAct guards the governance actions: an operator key with an operator
// id; the handler checks the permission for the set's domain.
func (s *Server) govAct(h privateHandler) http.HandlerFunc {
	return s.signed(func(k *Key) *Error {
		if e := needOperator(k); e != nil {
			return e
		}
		if k.Operator == "" {
			return Errf(http.StatusForbidden, CodeForbidden, "", "this operator key has no governance operator id; ask an admin to issue one that names the operator")
		}
		return s.operatorActive(k)
	}, h)
}

func ms(ns int64) int64   { return ns / 1_000_000 }
func nsOf(ms int64) int64 { return ms * 1_000_000 }

type tableJSON struct {
	Name    string    `json:"name"`
	Columns []string  `json:"columns"`
	Rows    [][]int64 `json:"rows"`
}

type valueJSON struct {
	Fields map[string]int64 `json:"fields"`
	Tables []tableJSON      `json:"tables,omitempty"`
	Hash   string           `json:"hash"`
}

func valueOut(v governance.Value) valueJSON {
	out := valueJSON{Fields: map[string]int64{}}
	for _, f := range v.Fields {
		out.Fields[f.Name] = f.V
	}
	for _, t := range v.Tables {
		out.Tables = append(out.Tables, tableJSON{Name: t.Name, Columns: t.Columns, Rows: t.Rows})
	}
	h := v.Hash()
	out.Hash = hexOf(h[:])
	return out
}

func hexOf(b []byte) string {
	const digits = "0123456789abcdef"
	out := make([]byte, 2*len(b))
	for i, x := range b {
		out[2*i], out[2*i+1] = digits[x>>4], digits[x&15]
	}
	return string(out)
}

type versionJSON struct {
	Set         string    `json:"set"`
	Version     uint64    `json:"version"`
	EffectiveAt int64     `json:"effective_at"`
	Origin      string    `json:"origin"`
	Proposal    uint64    `json:"proposal,omitempty"`
	Proposer    string    `json:"proposer,omitempty"`
	Approver    string    `json:"approver,omitempty"`
	ReviewDue   int64     `json:"review_due,omitempty"`
	Reviewer    string    `json:"reviewer,omitempty"`
	ReviewedAt  int64     `json:"reviewed_at,omitempty"`
	Overdue     bool      `json:"overdue,omitempty"`
	Value       valueJSON `json:"value"`
	Replayed    *bool     `json:"replayed,omitempty"` // POST answers: an idempotent retry's
}

func versionOut(v governance.Version, now int64) versionJSON {
	o := versionJSON{Set: v.Set, Version: v.Number, EffectiveAt: ms(v.EffectiveAt), Origin: v.Origin.String(),
		Proposal: v.Proposal, Proposer: v.Proposer, Approver: v.Approver, Reviewer: v.Reviewer, Value: valueOut(v.Value)}
	if v.Origin == governance.OriginEmergency {
		o.ReviewDue = ms(v.ReviewDue)
		o.Overdue = v.Flagged || (v.Reviewer == "" && now > v.ReviewDue)
		if v.Reviewer != "" {
			o.ReviewedAt = ms(v.ReviewedAt)
		}
	}
	return o
}

type changeJSON struct {
	Field string `json:"field"`
	From  *int64 `json:"from"`
	To    *int64 `json:"to"`
}

type proposalJSON struct {
	ID          uint64       `json:"id"`
	Set         string       `json:"set"`
	State       string       `json:"state"`
	Proposer    string       `json:"proposer"`
	ProposedAt  int64        `json:"proposed_at"`
	EffectiveAt int64        `json:"effective_at"`
	Note        string       `json:"note,omitempty"`
	Decider     string       `json:"decider,omitempty"`
	DecidedAt   int64        `json:"decided_at,omitempty"`
	Version     uint64       `json:"version,omitempty"`
	Changes     []changeJSON `json:"changes"`
	Value       valueJSON    `json:"value"`
	Replayed    *bool        `json:"replayed,omitempty"` // POST answers: an idempotent retry's
}

// diff lists the fields and table cells that differ between two values
// (table cells as "table[row].column").
func diff(old, next governance.Value) []changeJSON {
	out := []changeJSON{}
	p := func(v int64) *int64 { return &v }
	names := map[string]bool{}
	for _, f := range old.Fields {
		names[f.Name] = true
	}
	for _, f := range next.Fields {
		names[f.Name] = true
	}
	keys := make([]string, 0, len(names))
	for n := range names {
		keys = append(keys, n)
	}
	slices.Sort(keys)
	for _, n := range keys {
		a, okA := old.Get(n)
		b, okB := next.Get(n)
		if okA && okB && a == b {
			continue
		}
		c := changeJSON{Field: n}
		if okA {
			c.From = p(a)
		}
		if okB {
			c.To = p(b)
		}
		out = append(out, c)
	}
	for _, t := range next.Tables {
		ot, _ := old.Table(t.Name)
		for i, row := range t.Rows {
			for j, col := range t.Columns {
				c := changeJSON{Field: t.Name + "[" + strconv.Itoa(i) + "]." + col, To: p(row[j])}
				if oc := ot.Column(col); oc >= 0 && i < len(ot.Rows) {
					if ot.Rows[i][oc] == row[j] {
						continue
					}
					c.From = p(ot.Rows[i][oc])
				}
				out = append(out, c)
			}
		}
	}
	return out
}

func proposalOut(g *governance.Store, p governance.Proposal) proposalJSON {
	o := proposalJSON{ID: p.ID, Set: p.Set, State: p.State.String(), Proposer: p.Proposer, ProposedAt: ms(p.ProposedAt),
		EffectiveAt: ms(p.EffectiveAt), Note: p.Note, Decider: p.Decider, Version: p.Version, Value: valueOut(p.Value)}
	if p.DecidedAt != 0 {
		o.DecidedAt = ms(p.DecidedAt)
	}
	// The change against the value it replaces: the version before it for
	// an activated proposal, the version in force at its effective time
	// otherwise (what an approver is asked to sign off).
	var base governance.Version
	var ok bool
	if p.State == governance.Active && p.Version > 1 {
		h := g.History(p.Set)
		if int(p.Version-1) <= len(h) {
			base, ok = h[p.Version-2], true
		}
	} else {
		base, ok = g.Current(p.Set)
	}
	if ok {
		o.Changes = diff(base.Value, p.Value)
	} else {
		o.Changes = diff(governance.Value{}, p.Value)
	}
	return o
}

// getParameters lists every parameter set's version in force.
func (s *Server) getParameters(w http.ResponseWriter, r *http.Request, c *call) *Error {
	if e := query(r); e != nil {
		return e
	}
	var out []versionJSON
	var now int64
	s.x.View(func(e *engine.Engine) {
		g := e.Governance()
		now = g.Now()
		for _, id := range g.Sets() {
			if v, ok := g.Current(id); ok {
				out = append(out, versionOut(v, now))
			}
		}
	})
	WriteJSON(w, http.StatusOK, map[string]any{"engine_time": ms(now), "sets": out})
	return nil
}

func (s *Server) getParameterHistory(w http.ResponseWriter, r *http.Request, c *call) *Error {
	if e := query(r); e != nil {
		return e
	}
	set := r.PathValue("set")
	var out []versionJSON
	var now int64
	s.x.View(func(e *engine.Engine) {
		g := e.Governance()
		now = g.Now()
		for _, v := range g.History(set) {
			out = append(out, versionOut(v, now))
		}
	})
	if len(out) == 0 {
		return Errf(http.StatusNotFound, CodeNotFound, "set", "no such parameter set: "+set)
	}
	slices.Reverse(out) // newest first
	WriteJSON(w, http.StatusOK, map[string]any{"engine_time": ms(now), "set": set, "versions": out})
	return nil
}

// proposal states a list may ask for.
var proposalFilters = map[string]func(governance.ProposalState) bool{
	"open":      func(s governance.ProposalState) bool { return s == governance.Pending || s == governance.Scheduled },
	"pending":   func(s governance.ProposalState) bool { return s == governance.Pending },
	"scheduled": func(s governance.ProposalState) bool { return s == governance.Scheduled },
	"all":       func(governance.ProposalState) bool { return true },
}

// ProposalsMax bounds a proposal list (newest first).
const ProposalsMax = 200

func (s *Server) getProposals(w http.ResponseWriter, r *http.Request, c *call) *Error {
	q := r.URL.Query()
	for k := range q {
		if k != "state" {
			return badField(CodeUnknownField, k, "unknown query parameter "+quote(k)+"; only state is accepted")
		}
	}
	state := q.Get("state")
	if state == "" {
		state = "open"
	}
	keep, ok := proposalFilters[state]
	if !ok {
		return badField(CodeInvalidField, "state", "state must be one of open, pending, scheduled, all")
	}
	out := []proposalJSON{}
	var now int64
	s.x.View(func(e *engine.Engine) {
		g := e.Governance()
		now = g.Now()
		n := uint64(0)
		for {
			if _, ok := g.Proposal(n + 1); !ok {
				break
			}
			n++
		}
		for id := n; id >= 1 && len(out) < ProposalsMax; id-- {
			p, _ := g.Proposal(id)
			if keep(p.State) {
				out = append(out, proposalOut(g, p))
			}
		}
	})
	WriteJSON(w, http.StatusOK, map[string]any{"engine_time": ms(now), "state": state, "proposals": out})
	return nil
}

// changeRequest is a new value given as changes to the set's current one:
// fields to set, and tables replaced whole (rows; columns as now).
type changeRequest struct {
	Set    string               `json:"set"`
	Fields map[string]int64     `json:"fields"`
	Tables map[string][][]int64 `json:"tables,omitempty"`
	Note   string               `json:"note,omitempty"`
	// EffectiveAt is for proposals only (ms since the epoch).
	EffectiveAt int64 `json:"effective_at,omitempty"`
	// IdempotencyKey makes a retry return the first result (optional).
	IdempotencyKey string `json:"idempotency_key,omitempty"`
}

// build reads the set's current value under the engine's read lock and
// applies the request to it; it returns the encoded value and the set's
// domain.
func (s *Server) build(q *changeRequest) (string, governance.Domain, *Error) {
	if q.Set == "" {
		return "", 0, badField(CodeMissingField, "set", "set is required, e.g. \"market:BTC-USD-PERP\"")
	}
	if len(q.Fields) == 0 && len(q.Tables) == 0 {
		return "", 0, badField(CodeMissingField, "fields", "fields (or tables) must name at least one parameter to change")
	}
	var (
		cur governance.Version
		ok  bool
		sc  *governance.Schema
		rsn governance.Reason
	)
	s.x.View(func(e *engine.Engine) {
		g := e.Governance()
		sc, rsn = g.Catalog().ParseSetID(q.Set)
		cur, ok = g.Current(q.Set)
	})
	if rsn != governance.ReasonNone {
		return "", 0, engineError(engine.FromGovernance(rsn))
	}
	if !ok {
		return "", 0, Errf(http.StatusNotFound, CodeNotFound, "set", "no such parameter set: "+q.Set)
	}
	fields := slices.Clone(cur.Value.Fields)
	for name, v := range q.Fields {
		i := slices.IndexFunc(fields, func(f governance.Field) bool { return f.Name == name })
		if i < 0 {
			return "", 0, badField(CodeInvalidField, "fields."+name, "the set "+q.Set+" has no field "+quote(name))
		}
		fields[i].V = v
	}
	tables := slices.Clone(cur.Value.Tables)
	for name, rows := range q.Tables {
		i := slices.IndexFunc(tables, func(t governance.Table) bool { return t.Name == name })
		if i < 0 {
			return "", 0, badField(CodeInvalidField, "tables."+name, "the set "+q.Set+" has no table "+quote(name))
		}
		tables[i] = governance.Table{Name: name, Columns: tables[i].Columns, Rows: rows}
	}
	v, r := governance.NewValue(fields, tables)
	if r != governance.ReasonNone {
		return "", 0, engineError(engine.FromGovernance(r))
	}
	return string(v.Encode(nil)), sc.Domain, nil
}

func (s *Server) writeProposal(w http.ResponseWriter, id uint64, res engine.Result) {
	var out proposalJSON
	s.x.View(func(e *engine.Engine) {
		g := e.Governance()
		p, _ := g.Proposal(id)
		out = proposalOut(g, p)
	})
	out.Replayed = replayedOf(res)
	WriteJSON(w, http.StatusOK, out)
}

func (s *Server) postProposal(w http.ResponseWriter, r *http.Request, c *call) *Error {
	var q changeRequest
	if e := decodeOp(r, c, &q); e != nil {
		return e
	}
	if q.EffectiveAt <= 0 {
		return badField(CodeMissingField, "effective_at", "effective_at (ms since the epoch, in the future) is required")
	}
	val, dom, e := s.build(&q)
	if e != nil {
		return e
	}
	if e := govCheck(c.key, governance.PermPropose, dom); e != nil {
		return e
	}
	key, e := optKey(c.key, q.IdempotencyKey)
	if e != nil {
		return e
	}
	// Result.ID is the proposal created, or on a replay the one the first
	// request created.
	res, e := s.submitOK(r, &engine.Command{Kind: engine.CmdProposeParams, Key: key, Gov: &engine.GovArgs{Operator: c.key.Operator,
		Set: q.Set, Value: val, At: nsOf(q.EffectiveAt), Note: q.Note}})
	if e != nil {
		return e
	}
	s.writeProposal(w, res.ID, res)
	return nil
}

// proposalParam reads {id} and the proposal it names.
func (s *Server) proposalParam(r *http.Request) (governance.Proposal, *Error) {
	v := r.PathValue("id")
	id, err := strconv.ParseUint(v, 10, 64)
	if err != nil || id == 0 {
		return governance.Proposal{}, badField(CodeInvalidField, "id", "id must be a positive decimal integer")
	}
	var p governance.Proposal
	var ok bool
	s.x.View(func(e *engine.Engine) { p, ok = e.Governance().Proposal(id) })
	if !ok {
		return p, engineError(engine.FromGovernance(governance.RejectUnknownProposal))
	}
	return p, nil
}

func (s *Server) setDomain(set string) governance.Domain {
	var d governance.Domain
	s.x.View(func(e *engine.Engine) {
		if sc, r := e.Governance().Catalog().ParseSetID(set); r == governance.ReasonNone {
			d = sc.Domain
		}
	})
	return d
}

// decide handles approve, reject and withdraw.
func (s *Server) decide(kind engine.CommandKind) privateHandler {
	return func(w http.ResponseWriter, r *http.Request, c *call) *Error {
		var q struct {
			Note           string `json:"note,omitempty"`
			IdempotencyKey string `json:"idempotency_key,omitempty"`
		}
		p, e := s.proposalParam(r)
		if e == nil && len(strings.TrimSpace(string(c.body))) > 0 {
			e = decodeOp(r, c, &q)
		} else if e == nil {
			e = query(r)
		}
		if e != nil {
			return e
		}
		// Maker-checker comes before the role (as in the engine), so a
		// maker acting on its own proposal always hears the real rule:
		// those requests go straight to the engine, which refuses them.
		if kind != engine.CmdWithdrawProposal && p.Proposer != c.key.Operator {
			if e := govCheck(c.key, governance.PermDecide, s.setDomain(p.Set)); e != nil {
				return e
			}
		}
		key, e := optKey(c.key, q.IdempotencyKey)
		if e != nil {
			return e
		}
		res, e := s.submitOK(r, &engine.Command{Kind: kind, Key: key, Gov: &engine.GovArgs{Operator: c.key.Operator, ID: p.ID, Note: q.Note}})
		if e != nil {
			return e
		}
		s.writeProposal(w, p.ID, res)
		return nil
	}
}

func (s *Server) postEmergency(w http.ResponseWriter, r *http.Request, c *call) *Error {
	var q changeRequest
	if e := decodeOp(r, c, &q); e != nil {
		return e
	}
	if q.EffectiveAt != 0 {
		return badField(CodeInvalidField, "effective_at", "an emergency change takes effect at once; it has no effective_at")
	}
	val, dom, e := s.build(&q)
	if e != nil {
		return e
	}
	if e := govCheck(c.key, governance.PermEmergencyTighten, dom); e != nil {
		return e
	}
	key, e := optKey(c.key, q.IdempotencyKey)
	if e != nil {
		return e
	}
	// Result.ID is the version applied (on a replay: the first one).
	res, e := s.submitOK(r, &engine.Command{Kind: engine.CmdEmergencyTighten, Key: key, Gov: &engine.GovArgs{Operator: c.key.Operator,
		Set: q.Set, Value: val, Note: q.Note}})
	if e != nil {
		return e
	}
	s.writeVersion(w, q.Set, res.ID, res)
	return nil
}

func (s *Server) writeVersion(w http.ResponseWriter, set string, n uint64, res engine.Result) {
	var out versionJSON
	s.x.View(func(e *engine.Engine) {
		g := e.Governance()
		h := g.History(set)
		if n >= 1 && int(n) <= len(h) {
			out = versionOut(h[n-1], g.Now())
		}
	})
	out.Replayed = replayedOf(res)
	WriteJSON(w, http.StatusOK, out)
}

func (s *Server) getUnreviewed(w http.ResponseWriter, r *http.Request, c *call) *Error {
	if e := query(r); e != nil {
		return e
	}
	out := []versionJSON{}
	var now int64
	s.x.View(func(e *engine.Engine) {
		g := e.Governance()
		now = g.Now()
		for _, v := range g.UnreviewedEmergencies() {
			out = append(out, versionOut(v, now))
		}
	})
	WriteJSON(w, http.StatusOK, map[string]any{"engine_time": ms(now), "emergencies": out})
	return nil
}

func (s *Server) postReview(w http.ResponseWriter, r *http.Request, c *call) *Error {
	var q struct {
		Set            string `json:"set"`
		Version        uint64 `json:"version"`
		Note           string `json:"note,omitempty"`
		IdempotencyKey string `json:"idempotency_key,omitempty"`
	}
	if e := decodeOp(r, c, &q); e != nil {
		return e
	}
	if q.Set == "" || q.Version == 0 {
		return badField(CodeMissingField, "set", "set and version (of the emergency change) are required")
	}
	var proposer string
	s.x.View(func(e *engine.Engine) {
		h := e.Governance().History(q.Set)
		if int(q.Version) <= len(h) {
			proposer = h[q.Version-1].Proposer
		}
	})
	if proposer != c.key.Operator { // the engine names self-review itself
		if e := govCheck(c.key, governance.PermReviewEmergency, s.setDomain(q.Set)); e != nil {
			return e
		}
	}
	key, e := optKey(c.key, q.IdempotencyKey)
	if e != nil {
		return e
	}
	res, e := s.submitOK(r, &engine.Command{Kind: engine.CmdReviewEmergency, Key: key, Gov: &engine.GovArgs{Operator: c.key.Operator,
		Set: q.Set, ID: q.Version, Note: q.Note}})
	if e != nil {
		return e
	}
	s.writeVersion(w, q.Set, q.Version, res)
	return nil
}
