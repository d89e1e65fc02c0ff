package gateway

import (
	"cmp"
	"net/http"
	"slices"
	"strconv"

	"github.com/sampan-hk/sampan/core/engine"
	"github.com/sampan-hk/sampan/core/governance"
)

// Operators and the renewal worklist.
//
// Operators are engine state (governance.Store): adding and disabling them
// are logged commands an admin issues (manage_operators). API keys are not
// engine state (secrets never enter the log), so an operator's key is
// issued separately, by an admin, for an operator the engine knows and has
// not disabled; the key carries the operator id and the gateway role of the
// same name, which is how every later command names its operator.

var govRoles = map[string]governance.Role{"admin": governance.RoleAdmin, "risk_officer": governance.RoleRiskOfficer,
	"compliance_officer": governance.RoleComplianceOfficer, "operations": governance.RoleOperations, "auditor": governance.RoleAuditor}

// gatewayRole maps a governance role to the gateway role of the same name.
func gatewayRole(r governance.Role) Role {
	for _, g := range []Role{RoleAdmin, RoleRisk, RoleCompliance, RoleOperations, RoleAuditor} {
		if govRole(g) == r {
			return g
		}
	}
	return RoleNone
}

type operatorJSON struct {
	ID      string `json:"id"`
	Role    string `json:"role"`
	Active  bool   `json:"active"`
	AddedAt string `json:"added_at,omitempty"` // empty for genesis operators
	// Replayed is set on POST answers: an idempotent retry's.
	Replayed *bool `json:"replayed,omitempty"`
}

func operatorOut(o governance.Operator) operatorJSON {
	return operatorJSON{ID: o.ID, Role: o.Role.String(), Active: o.Active, AddedAt: rfc(o.AddedAt)}
}

func (s *Server) getOperators(w http.ResponseWriter, r *http.Request, c *call) *Error {
	if e := query(r); e != nil {
		return e
	}
	var ops []governance.Operator
	s.x.View(func(e *engine.Engine) { ops = e.Governance().Operators() })
	out := make([]operatorJSON, 0, len(ops))
	for _, o := range ops {
		out = append(out, operatorOut(o))
	}
	WriteJSON(w, http.StatusOK, map[string]any{"operators": out})
	return nil
}

func (s *Server) writeOperator(w http.ResponseWriter, id string, res engine.Result) {
	var o governance.Operator
	s.x.View(func(e *engine.Engine) { o, _ = e.Governance().Operator(id) })
	out := operatorOut(o)
	out.Replayed = replayedOf(res)
	WriteJSON(w, http.StatusOK, out)
}

// postOperator adds an operator (CmdAddOperator).
func (s *Server) postOperator(w http.ResponseWriter, r *http.Request, c *call) *Error {
	if e := govCheck(c.key, governance.PermManageOperators, governance.DomainNone); e != nil {
		return e
	}
	var q struct {
		ID             string `json:"id"`
		Role           string `json:"role"`
		IdempotencyKey string `json:"idempotency_key,omitempty"`
	}
	if e := decodeOp(r, c, &q); e != nil {
		return e
	}
	if e := operatorID(q.ID, "id"); e != nil {
		return e
	}
	role, e := enum(govRoles, q.Role, "role", "admin, risk_officer, compliance_officer, operations, auditor")
	if e != nil {
		return e
	}
	key, e := optKey(c.key, q.IdempotencyKey)
	if e != nil {
		return e
	}
	res, e := s.submitOK(r, &engine.Command{Kind: engine.CmdAddOperator, Key: key, Gov: &engine.GovArgs{Operator: c.key.Operator, Target: q.ID, Role: role}})
	if e != nil {
		return e
	}
	s.writeOperator(w, q.ID, res)
	return nil
}

// operatorID checks the engine's id alphabet at the edge, so a bad id is a
// 400 naming the field rather than the engine's generic refusal.
func operatorID(id, field string) *Error {
	ok := len(id) > 0 && len(id) <= governance.MaxOperatorIDLen
	for i := 0; ok && i < len(id); i++ {
		c := id[i]
		ok = c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_' || c == '-' || c == '.' || c == '@'
	}
	if !ok {
		return badField(CodeInvalidField, field, field+" must be 1 to "+strconv.Itoa(governance.MaxOperatorIDLen)+
			" characters of a-z, 0-9, _ - . @")
	}
	return nil
}

// operatorAction checks an action on the operator named in the path: the
// caller manages operators and the id is well-formed. The caller reads
// the (absent or key-only) input.
func operatorAction(r *http.Request, c *call) (string, *Error) {
	if e := govCheck(c.key, governance.PermManageOperators, governance.DomainNone); e != nil {
		return "", e
	}
	id := r.PathValue("id")
	return id, operatorID(id, "id")
}

// postDisableOperator disables an operator for good (CmdDisableOperator);
// its keys stop working at once (operatorActive).
func (s *Server) postDisableOperator(w http.ResponseWriter, r *http.Request, c *call) *Error {
	id, e := operatorAction(r, c)
	if e != nil {
		return e
	}
	key, e := keyOnly(r, c)
	if e != nil {
		return e
	}
	var known bool
	s.x.View(func(e *engine.Engine) { _, known = e.Governance().Operator(id) })
	if !known {
		return Errf(http.StatusNotFound, CodeNotFound, "id", "no such operator")
	}
	res, e := s.submitOK(r, &engine.Command{Kind: engine.CmdDisableOperator, Key: key, Gov: &engine.GovArgs{Operator: c.key.Operator, Target: id}})
	if e != nil {
		return e
	}
	s.writeOperator(w, id, res)
	return nil
}

// postOperatorKey issues an API key for an active operator; the secret is
// shown once. Operator keys read and act under their role; they carry no
// client permissions.
func (s *Server) postOperatorKey(w http.ResponseWriter, r *http.Request, c *call) *Error {
	id, e := operatorAction(r, c)
	if e == nil {
		e = noInput(r, c)
	}
	if e != nil {
		return e
	}
	ki, ok := s.cfg.Keys.(KeyIssuer)
	if !ok {
		return Errf(http.StatusNotFound, CodeNotImplemented, "", "this deployment's key store does not issue keys over the API")
	}
	var o governance.Operator
	var known bool
	s.x.View(func(e *engine.Engine) { o, known = e.Governance().Operator(id) })
	switch {
	case !known:
		return Errf(http.StatusNotFound, CodeNotFound, "id", "no such operator: add it first with POST /v1/admin/operators")
	case !o.Active:
		return engineError(engine.FromGovernance(governance.RejectOperatorDisabled))
	}
	k := &Key{ID: randHex(12), Secret: []byte(randHex(32)), Role: gatewayRole(o.Role), Perms: PermRead, Operator: o.ID}
	ki.Put(k)
	WriteJSON(w, http.StatusOK, map[string]any{"key": k.ID, "secret": string(k.Secret), "operator": o.ID, "role": string(k.Role)})
	return nil
}

// Renewals: RenewalsWithinMax bounds the look-ahead of the worklist.
const (
	RenewalsWithinDefault = 60
	RenewalsWithinMax     = 366
	renewalsChunk         = 4096 // clients per read lock, so a command waits at most one chunk
)

type renewalJSON struct {
	ClientID     string `json:"client_id"`
	Ref          string `json:"ref"`
	Class        string `json:"class"`
	EvidenceDate string `json:"evidence_date"` // Hong Kong calendar date (RFC 3339 full-date)
	ExpiresAt    string `json:"expires_at"`    // RFC 3339 UTC: the start of the Hong Kong expiry day
	DaysLeft     int64  `json:"days_left"`     // floor((expires_at − as_of) / 1 day): ≤ 0 once expired
	Status       string `json:"status"`        // expiring | expired
	expiry       int64
}

// getRenewals is the compliance worklist: professional investors whose
// classification expires within within_days of engine time, and those
// whose classification has expired and not been renewed, soonest first.
// It lists classifications recorded with evidence (the registry); records
// set by the retired evidence-free command are not in it.
func (s *Server) getRenewals(w http.ResponseWriter, r *http.Request, c *call) *Error {
	if e := query(r, "within_days"); e != nil {
		return e
	}
	within := int64(RenewalsWithinDefault)
	if v := r.URL.Query().Get("within_days"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 0 || n > RenewalsWithinMax || (len(v) > 1 && v[0] == '0') {
			return badField(CodeInvalidField, "within_days", "within_days must be an integer from 0 to "+strconv.Itoa(RenewalsWithinMax))
		}
		within = n
	}
	now, out := s.renewals(within)
	sortRenewals(out)
	WriteJSON(w, http.StatusOK, map[string]any{"as_of": rfc(now), "within_days": within, "clients": out})
	return nil
}

func (s *Server) renewals(within int64) (int64, []renewalJSON) {
	const day = int64(86_400_000_000_000)
	out := []renewalJSON{}
	var now int64
	var n int
	s.x.View(func(e *engine.Engine) { now, n = e.Now(), e.Clients() })
	horizon := now + within*day
	for lo := 1; lo <= n; lo += renewalsChunk {
		s.x.View(func(e *engine.Engine) {
			reg := e.Eligibility()
			for id := lo; id < lo+renewalsChunk && id <= n; id++ {
				rec, ok := reg.Client(uint64(id))
				cl := rec.Classification
				if !ok || !cl.Class.Professional() || cl.Expiry > horizon {
					continue
				}
				j := renewalJSON{ClientID: strconv.Itoa(id), Class: cl.Class.String(), EvidenceDate: hkDate(cl.Date),
					ExpiresAt: rfc(cl.Expiry), DaysLeft: floorDiv(cl.Expiry-now, day), Status: "expiring", expiry: cl.Expiry}
				if now >= cl.Expiry {
					j.Status = "expired"
				}
				if v, ok := e.Account(engine.ClientID(id)); ok {
					j.Ref = v.Ref
				}
				out = append(out, j)
			}
		})
	}
	return now, out
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && (a < 0) != (b < 0) {
		q--
	}
	return q
}

// sortRenewals orders by expiry, then client id, so equal expiries come
// out the same way every time.
func sortRenewals(rs []renewalJSON) {
	slices.SortFunc(rs, func(a, b renewalJSON) int {
		if c := cmp.Compare(a.expiry, b.expiry); c != 0 {
			return c
		}
		ai, _ := strconv.Atoi(a.ClientID)
		bi, _ := strconv.Atoi(b.ClientID)
		return cmp.Compare(ai, bi)
	})
}
