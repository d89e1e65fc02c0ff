package gateway

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/sampan-hk/sampan/core/eligibility"
	"github.com/sampan-hk/sampan/core/engine"
	"github.com/sampan-hk/sampan/core/fixed"
	"github.com/sampan-hk/sampan/core/governance"
)

// Professional-investor onboarding (docs/governance.md, "Onboarding over
// the API"): a compliance officer records the evidence behind a
// classification and the derivatives-knowledge assessment; the engine
// decides against the governed thresholds and computes the expiry. The
// gateway only checks the shape of the request and the caller's role, and
// puts the caller's operator id (from its key, never from the request) in
// the command, where the engine checks the permission again.
//
// Times in answers are RFC 3339 in UTC; an evidence date is a Hong Kong
// calendar date (YYYY-MM-DD), because that is what the document shows and
// what the expiry is computed from.

// MaxHKDCents bounds an HKD amount in a request (HK$10^15): far above any
// real portfolio, far below int64, so the engine's arithmetic stays exact.
const MaxHKDCents = 100_000_000_000_000_000

var piClasses = map[string]eligibility.Class{"retail": eligibility.Retail, "individual_pi": eligibility.IndividualPI,
	"corporate_pi": eligibility.CorporatePI, "institutional_pi": eligibility.InstitutionalPI}

var evidenceKinds = map[string]eligibility.EvidenceKind{"custodian_statement": eligibility.CustodianStatement,
	"bank_statement": eligibility.BankStatement, "audited_financials": eligibility.AuditedFinancials,
	"auditor_certificate": eligibility.AuditorCertificate, "public_filing": eligibility.PublicFiling,
	"regulatory_status": eligibility.RegulatoryStatus}

// knowledgeBases includes self_declaration on purpose: the engine refuses
// it by name (self_declaration_not_sufficient), which tells the officer
// more than "unknown basis" would.
var knowledgeBases = map[string]eligibility.Basis{"training": eligibility.Training,
	"work_experience": eligibility.WorkExperience, "prior_trades": eligibility.PriorTrades,
	"self_declaration": eligibility.SelfDeclaration}

// eligAnswers are the statuses and plain messages of the eligibility
// refusals: 403 for the trading gate, 422 for evidence the rules refuse,
// 409 for a disclosure-version conflict, 400 for a malformed value.
var eligAnswers = map[engine.Code]engineAnswer{
	engine.CodeRiskDisclosureNotAccepted:                 {403, "You must accept the current risk disclosure before opening or increasing a perpetual position (GET /v1/disclosure, then POST /v1/account/disclosure/accept)."},
	eligCode(eligibility.RejectInvalidClient):            {400, "Invalid client id."},
	eligCode(eligibility.RejectInvalidClass):             {400, "Unknown investor classification."},
	eligCode(eligibility.RejectMissingEvidence):          {422, "A professional-investor classification needs an evidence type."},
	eligCode(eligibility.RejectEvidenceDateInFuture):     {422, "The evidence is dated after today (Hong Kong date)."},
	eligCode(eligibility.RejectEvidenceExpired):          {422, "The evidence is older than the validity period (12 months): it no longer supports a classification."},
	eligCode(eligibility.RejectNegativeAmount):           {400, "Amounts must not be negative."},
	eligCode(eligibility.RejectPortfolioBelowThreshold):  {422, "The assessed portfolio is below the individual professional-investor threshold."},
	eligCode(eligibility.RejectCorporateBelowThresholds): {422, "The corporation meets neither the portfolio threshold nor the total-assets threshold."},
	eligCode(eligibility.RejectInvalidAssessor):          {403, "This key has no valid operator id to record as the assessor."},
	eligCode(eligibility.RejectTextTooLong):              {400, "The reference is too long."},
	eligCode(eligibility.RejectInvalidBasis):             {400, "Unknown derivatives-knowledge basis."},
	eligCode(eligibility.RejectSelfDeclaration):          {422, "A client's own declaration is not a derivatives-knowledge assessment (Code of Conduct 5.1A): record training, work experience or prior trades."},
	eligCode(eligibility.RejectTooFewDerivativeTrades):   {422, "Too few prior derivative transactions for a prior-trades basis."},
	eligCode(eligibility.RejectDisclosureVersion):        {409, "This is not the current risk-disclosure version (publish: the version must be above the last one; accept: only the current version can be accepted)."},
	eligCode(eligibility.RejectNoDisclosure):             {409, "No risk disclosure has been published yet."},
	eligCode(eligibility.RejectAlreadyAccepted):          {409, "This risk-disclosure version is already accepted."},
	eligCode(eligibility.RejectTooManyClients):           {422, "The eligibility registry has reached its client limit."},
}

func eligCode(r eligibility.Reason) engine.Code { return engine.FromEligibility(r) }

// The eligibility answers live here, next to the endpoints that produce
// them, and join the engine's table so order refusals (the trading gate)
// and onboarding refusals read the same everywhere.
func init() {
	for c, a := range eligAnswers {
		if _, dup := engineAnswers[c]; !dup {
			engineAnswers[c] = a
		}
	}
}

// rfc renders engine time (unix ns) as RFC 3339 UTC; zero is "".
func rfc(ns int64) string {
	if ns == 0 {
		return ""
	}
	return time.Unix(0, ns).UTC().Format(time.RFC3339)
}

// hkDate renders the Hong Kong calendar date of an instant.
func hkDate(ns int64) string {
	d := eligibility.DateOf(ns, eligibility.HKOffsetSeconds)
	return time.Date(int(d.Y), time.Month(d.M), int(d.D), 0, 0, 0, 0, time.UTC).Format(time.DateOnly)
}

// parseHKDate reads YYYY-MM-DD and returns the instant the Hong Kong day
// starts. Any instant of the day would do for the engine; the start keeps
// "evidence dated today" from ever looking like the future.
func parseHKDate(v, field string) (int64, *Error) {
	bad := badField(CodeInvalidField, field, field+" must be a calendar date YYYY-MM-DD (Hong Kong date), e.g. 2026-01-15")
	if len(v) != 10 || v[4] != '-' || v[7] != '-' {
		return 0, bad
	}
	var n [3]int64
	for i, part := range [3]string{v[:4], v[5:7], v[8:]} {
		for j := 0; j < len(part); j++ {
			if part[j] < '0' || part[j] > '9' {
				return 0, bad
			}
			n[i] = n[i]*10 + int64(part[j]-'0')
		}
	}
	d := eligibility.Date{Y: n[0], M: n[1], D: n[2]}
	if d.Y < 1970 || !d.Valid() {
		return 0, bad
	}
	return eligibility.StartOf(d, eligibility.HKOffsetSeconds), nil
}

// parseHKD reads a non-negative HKD decimal string with at most two
// decimals into cents. Absent ("") is zero.
func parseHKD(v, field string) (fixed.Amount, *Error) {
	if v == "" {
		return 0, nil
	}
	if v[0] == '-' {
		return 0, badField(CodeOutOfRange, field, field+" must not be negative")
	}
	whole, frac, dot := strings.Cut(v, ".")
	if whole == "" || len(whole) > 18 || dot && (len(frac) == 0 || len(frac) > 2) {
		return 0, badField(CodeInvalidField, field, field+" must be a decimal string of Hong Kong dollars with at most 2 decimals, e.g. \"8000000.00\"")
	}
	for len(frac) < 2 {
		frac += "0"
	}
	var cents int64
	for _, c := range []byte(whole + frac) {
		if c < '0' || c > '9' {
			return 0, badField(CodeInvalidField, field, field+" must be a decimal string of Hong Kong dollars with at most 2 decimals, e.g. \"8000000.00\"")
		}
		if cents > MaxHKDCents/10 {
			return 0, badField(CodeOutOfRange, field, field+" is out of range")
		}
		cents = cents*10 + int64(c-'0')
	}
	if cents > MaxHKDCents {
		return 0, badField(CodeOutOfRange, field, field+" is out of range")
	}
	return fixed.Amount(cents), nil
}

// formatHKD renders cents as a decimal string with two decimals.
func formatHKD(a fixed.Amount) string {
	s := strconv.FormatInt(int64(a), 10)
	neg := a < 0
	if neg {
		s = s[1:]
	}
	for len(s) < 3 {
		s = "0" + s
	}
	s = s[:len(s)-2] + "." + s[len(s)-2:]
	if neg {
		s = "-" + s
	}
	return s
}

// legacyShape refuses the retired request shapes by name: they set a
// classification without evidence (an expiry chosen by hand) or a bare
// "passed" flag, which the evidence rules replaced. The engine keeps the
// old commands only to replay old logs; the gateway no longer issues them.
func legacyShape(body []byte, keys ...string) *Error {
	var probe map[string]json.RawMessage
	if json.Unmarshal(body, &probe) != nil {
		return nil // the strict decoder reports the real problem
	}
	for _, k := range keys {
		if _, ok := probe[k]; ok {
			return Errf(http.StatusBadRequest, CodeLegacyRequest, k,
				"the request shape with \""+k+"\" was retired: classifications and knowledge records now carry their evidence; see docs/api.md (Onboarding)")
		}
	}
	return nil
}

// CodeLegacyRequest names a retired request shape.
const CodeLegacyRequest Code = "LEGACY_REQUEST_SHAPE"

// classifyOperator checks that the key may record classifications: an
// operator id on the key and the classify_clients permission.
func classifyOperator(k *Key) *Error {
	if k.Operator == "" {
		return Errf(http.StatusForbidden, CodeForbidden, "", "this operator key has no governance operator id; ask an admin to issue one that names the operator")
	}
	return govCheck(k, governance.PermClassifyClients, governance.DomainNone)
}

type classifyRequest struct {
	Class          string `json:"class"`
	Evidence       string `json:"evidence,omitempty"`
	EvidenceDate   string `json:"evidence_date,omitempty"`
	PortfolioHKD   string `json:"portfolio_hkd,omitempty"`
	TotalAssetsHKD string `json:"total_assets_hkd,omitempty"`
	Reference      string `json:"reference,omitempty"`
	IdempotencyKey string `json:"idempotency_key,omitempty"`
}

// evidence turns the form into engine arguments; the engine decides.
func (q *classifyRequest) evidence() (engine.GovArgs, *Error) {
	var a engine.GovArgs
	var e *Error
	if a.PIClass, e = enum(piClasses, q.Class, "class", "retail, individual_pi, corporate_pi, institutional_pi"); e != nil {
		return a, e
	}
	if len(q.Reference) > eligibility.MaxRefLen {
		return a, badField(CodeInvalidField, "reference", "reference must be at most "+strconv.Itoa(eligibility.MaxRefLen)+" bytes")
	}
	a.Note = q.Reference
	if a.PIClass == eligibility.Retail {
		// Retail needs no evidence; refusing stray evidence avoids a form
		// that looks assessed but records nothing.
		if q.Evidence != "" || q.EvidenceDate != "" || q.PortfolioHKD != "" || q.TotalAssetsHKD != "" {
			return a, badField(CodeInvalidField, "evidence", "a retail classification carries no evidence, date or amounts")
		}
		return a, nil
	}
	if q.Evidence == "" {
		return a, badField(CodeMissingField, "evidence", "evidence (the type of document) is required for a professional-investor class")
	}
	if a.Evidence, e = enum(evidenceKinds, q.Evidence, "evidence", "custodian_statement, bank_statement, audited_financials, auditor_certificate, public_filing, regulatory_status"); e != nil {
		return a, e
	}
	if q.EvidenceDate == "" {
		return a, badField(CodeMissingField, "evidence_date", "evidence_date (YYYY-MM-DD, the document's Hong Kong date) is required")
	}
	if a.At, e = parseHKDate(q.EvidenceDate, "evidence_date"); e != nil {
		return a, e
	}
	if a.Portfolio, e = parseHKD(q.PortfolioHKD, "portfolio_hkd"); e != nil {
		return a, e
	}
	if a.TotalAssets, e = parseHKD(q.TotalAssetsHKD, "total_assets_hkd"); e != nil {
		return a, e
	}
	switch {
	case a.PIClass == eligibility.IndividualPI && q.PortfolioHKD == "":
		return a, badField(CodeMissingField, "portfolio_hkd", "portfolio_hkd (the assessed portfolio in HKD) is required for an individual PI")
	case a.PIClass == eligibility.CorporatePI && q.PortfolioHKD == "" && q.TotalAssetsHKD == "":
		return a, badField(CodeMissingField, "portfolio_hkd", "a corporate PI needs portfolio_hkd or total_assets_hkd (or both)")
	}
	return a, nil
}

type classificationJSON struct {
	ClientID       string `json:"client_id"`
	Class          string `json:"class"`
	Evidence       string `json:"evidence,omitempty"`
	EvidenceDate   string `json:"evidence_date,omitempty"`
	PortfolioHKD   string `json:"portfolio_hkd,omitempty"`
	TotalAssetsHKD string `json:"total_assets_hkd,omitempty"`
	Reference      string `json:"reference,omitempty"`
	Assessor       string `json:"assessor"`
	ClassifiedAt   string `json:"classified_at"`
	ExpiresAt      string `json:"expires_at,omitempty"`
	ReminderAt     string `json:"renewal_reminder_at,omitempty"`
	Replayed       bool   `json:"replayed"`
}

func classificationOut(id engine.ClientID, c eligibility.Classification) classificationJSON {
	o := classificationJSON{ClientID: strconv.FormatUint(uint64(id), 10), Class: c.Class.String(), Reference: c.Reference,
		Assessor: c.Assessor, ClassifiedAt: rfc(c.ClassifiedAt)}
	if c.Class.Professional() {
		o.Evidence, o.EvidenceDate, o.ExpiresAt, o.ReminderAt = c.Kind.String(), hkDate(c.Date), rfc(c.Expiry), rfc(c.ReminderAt)
		o.PortfolioHKD, o.TotalAssetsHKD = formatHKD(c.Portfolio), formatHKD(c.TotalAssets)
	}
	return o
}

// sameEvidence reports whether the record on file is what the request
// would record: a retry of the same form is answered from the record
// (replayed) instead of classifying twice.
func sameEvidence(c eligibility.Classification, a *engine.GovArgs, op string) bool {
	return c.Class == a.PIClass && c.Kind == a.Evidence && c.Date == a.At && c.Portfolio == a.Portfolio &&
		c.TotalAssets == a.TotalAssets && c.Reference == a.Note && c.Assessor == op
}

// officerForm reads an officer's form about the client in the path into
// dst: the key must name an operator, and a body in the pre-v1 shape
// (legacy keys) is refused with a pointer to the new one before the
// strict decode.
func officerForm(r *http.Request, c *call, dst any, legacy ...string) (engine.ClientID, *Error) {
	if e := classifyOperator(c.key); e != nil {
		return 0, e
	}
	id, e := clientParam(r.PathValue("id"), "id")
	if e == nil {
		e = query(r)
	}
	if e == nil {
		e = legacyShape(c.body, legacy...)
	}
	if e == nil {
		e = DecodeStrict(c.body, dst)
	}
	return id, e
}

// postClassification records a classification with its evidence
// (CmdClassifyClient). The engine checks the thresholds and sets the
// expiry (evidence date + validity months); a refusal is its typed reason.
func (s *Server) postClassification(w http.ResponseWriter, r *http.Request, c *call) *Error {
	var q classifyRequest
	id, e := officerForm(r, c, &q, "classification", "expires_at")
	if e != nil {
		return e
	}
	a, e := q.evidence()
	if e != nil {
		return e
	}
	a.Operator = c.key.Operator
	key, e := optKey(c.key, q.IdempotencyKey)
	if e != nil {
		return e
	}
	// Without a key a retry is recognised by the record on file (the
	// behaviour before keys); with one the engine decides.
	rec, known := s.eligRecord(id)
	return s.eligAnswer(w, r, &engine.Command{Kind: engine.CmdClassifyClient, Client: id, Key: key, Gov: &a},
		known && sameEvidence(rec.Classification, &a, a.Operator), rec, func(rec eligibility.Client, replayed bool) any {
			o := classificationOut(id, rec.Classification)
			o.Replayed = replayed
			return o
		})
}

// eligAnswer answers an onboarding record request: without an
// idempotency key, a request matching the record on file (onFile) is a
// retry, answered from rec without a command (the behaviour before keys);
// otherwise cmd goes to the engine, which decides. render writes the
// record and whether the answer is a replay.
func (s *Server) eligAnswer(w http.ResponseWriter, r *http.Request, cmd *engine.Command, onFile bool, rec eligibility.Client,
	render func(eligibility.Client, bool) any) *Error {
	replayed := true
	if cmd.Key != 0 || !onFile {
		var e *Error
		if rec, replayed, e = s.submitEligibility(r, cmd); e != nil {
			return e
		}
	}
	WriteJSON(w, http.StatusOK, render(rec, replayed))
	return nil
}

// eligRecord reads a client's eligibility record and whether there is one.
func (s *Server) eligRecord(id engine.ClientID) (rec eligibility.Client, known bool) {
	s.x.View(func(en *engine.Engine) { rec, known = en.Eligibility().Client(uint64(id)) })
	return rec, known
}

// submitEligibility submits an officer's classification or knowledge
// record and returns the client's record as it stands after it and
// whether the engine answered an idempotent retry; a refusal names the
// threshold it missed (classifyRefusal).
func (s *Server) submitEligibility(r *http.Request, cmd *engine.Command) (eligibility.Client, bool, *Error) {
	res, e := s.submit(r.Context(), cmd)
	if e != nil {
		return eligibility.Client{}, false, e
	}
	if res.Code != engine.OK {
		return eligibility.Client{}, false, s.classifyRefusal(res.Code)
	}
	rec, _ := s.eligRecord(cmd.Client)
	return rec, res.Replayed, nil
}

// classifyRefusal names the threshold in force in a threshold refusal, so
// the officer sees the number the evidence missed.
func (s *Server) classifyRefusal(c engine.Code) *Error {
	err := engineError(c)
	var p eligibility.Params
	var ok bool
	s.x.View(func(en *engine.Engine) {
		if v, found := en.Governance().Current(eligibility.SetID); found {
			pp, perr := eligibility.ParamsFrom(v.Value)
			p, ok = pp, perr == nil
		}
	})
	if !ok {
		return err
	}
	switch c {
	case eligCode(eligibility.RejectPortfolioBelowThreshold):
		err.Message = "The assessed portfolio is below the individual professional-investor threshold of HK$" + formatHKD(p.IndividualPortfolioMin) + "."
	case eligCode(eligibility.RejectCorporateBelowThresholds):
		err.Message = "The corporation meets neither threshold: portfolio HK$" + formatHKD(p.CorporatePortfolioMin) +
			" or total assets HK$" + formatHKD(p.CorporateTotalAssetsMin) + "."
	case eligCode(eligibility.RejectEvidenceExpired):
		err.Message = "The evidence is older than the validity period (" + strconv.FormatInt(p.ValidityMonths, 10) + " months): it no longer supports a classification."
	case eligCode(eligibility.RejectTooFewDerivativeTrades):
		err.Message = "A prior-trades basis needs at least " + strconv.FormatInt(p.MinDerivativeTrades, 10) + " derivative transactions."
	}
	return err
}

type knowledgeRequest struct {
	Basis     string `json:"basis"`
	Trades    int64  `json:"trades,omitempty"`
	Reference string `json:"reference,omitempty"`
	// IdempotencyKey makes a retry return the first result (optional).
	IdempotencyKey string `json:"idempotency_key,omitempty"`
}

type knowledgeJSON struct {
	ClientID   string `json:"client_id"`
	Basis      string `json:"basis"`
	Trades     int64  `json:"trades"`
	Reference  string `json:"reference,omitempty"`
	Assessor   string `json:"assessor"`
	AssessedAt string `json:"assessed_at"`
	Replayed   bool   `json:"replayed"`
}

// postKnowledge records a derivatives-knowledge assessment
// (CmdRecordKnowledge).
func (s *Server) postKnowledge(w http.ResponseWriter, r *http.Request, c *call) *Error {
	var q knowledgeRequest
	id, e := officerForm(r, c, &q, "passed")
	if e != nil {
		return e
	}
	basis, e := enum(knowledgeBases, q.Basis, "basis", "training, work_experience, prior_trades")
	if e != nil {
		return e
	}
	switch {
	case q.Trades < 0:
		return badField(CodeOutOfRange, "trades", "trades must not be negative")
	case q.Trades != 0 && basis != eligibility.PriorTrades:
		return badField(CodeInvalidField, "trades", "trades is only for the prior_trades basis")
	case len(q.Reference) > eligibility.MaxRefLen:
		return badField(CodeInvalidField, "reference", "reference must be at most "+strconv.Itoa(eligibility.MaxRefLen)+" bytes")
	}
	a := engine.GovArgs{Operator: c.key.Operator, Basis: basis, Trades: q.Trades, Note: q.Reference}
	key, e := optKey(c.key, q.IdempotencyKey)
	if e != nil {
		return e
	}
	rec, known := s.eligRecord(id)
	k := rec.Knowledge
	return s.eligAnswer(w, r, &engine.Command{Kind: engine.CmdRecordKnowledge, Client: id, Key: key, Gov: &a},
		known && k.Basis == basis && k.Trades == q.Trades && k.Reference == q.Reference && k.Assessor == a.Operator, rec,
		func(rec eligibility.Client, replayed bool) any {
			o := knowledgeOut(id, rec.Knowledge)
			o.Replayed = replayed
			return o
		})
}

func knowledgeOut(id engine.ClientID, k eligibility.Knowledge) knowledgeJSON {
	return knowledgeJSON{ClientID: strconv.FormatUint(uint64(id), 10), Basis: k.Basis.String(), Trades: k.Trades,
		Reference: k.Reference, Assessor: k.Assessor, AssessedAt: rfc(k.AssessedAt)}
}

// emptyBody accepts no body or an empty JSON object, for actions whose
// path says everything.
func emptyBody(body []byte) *Error {
	b := bytes.TrimSpace(body)
	if len(b) == 0 {
		return nil
	}
	var q struct{}
	return DecodeStrict(b, &q)
}
