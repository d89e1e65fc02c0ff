package gateway

import (
	"strconv"

	"github.com/sampan-hk/sampan/core/eligibility"
	"github.com/sampan-hk/sampan/core/engine"
)

// The onboarding block of GET /v1/account and GET /v1/admin/clients/{id}:
// the records on file and every gap that keeps the client from opening or
// increasing a perpetual position, in the engine's gate order, each with
// its engine code and a sentence a client can act on. The engine's gate
// stops at the first gap; this lists them all, so a client learns the
// whole way in at once.

type onboardingClassJSON struct {
	Class        string `json:"class"`  // none | retail | individual_pi | corporate_pi | institutional_pi
	Status       string `json:"status"` // missing | retail | active | expired
	Evidence     string `json:"evidence,omitempty"`
	EvidenceDate string `json:"evidence_date,omitempty"` // Hong Kong calendar date
	ExpiresAt    string `json:"expires_at,omitempty"`    // RFC 3339 UTC
	RenewalDue   bool   `json:"renewal_due"`             // inside the reminder window, not yet expired
}

type onboardingKnowledgeJSON struct {
	Recorded bool   `json:"recorded"`
	Basis    string `json:"basis,omitempty"`
}

type onboardingDisclosureJSON struct {
	CurrentVersion  uint32 `json:"current_version"` // 0: none published
	AcceptedVersion uint32 `json:"accepted_version"`
	Accepted        bool   `json:"accepted"`
}

type onboardingJSON struct {
	Classification onboardingClassJSON      `json:"classification"`
	Knowledge      onboardingKnowledgeJSON  `json:"derivatives_knowledge"`
	Disclosure     onboardingDisclosureJSON `json:"risk_disclosure"`
	Missing        []reasonJSON             `json:"missing"` // empty when the client may open positions
}

// onboardingOf reads a client's onboarding state; call it inside View.
func onboardingOf(e *engine.Engine, v engine.AccountView) onboardingJSON {
	reg, now := e.Eligibility(), e.Now()
	rec, _ := reg.Client(uint64(v.Client))
	cur, published := reg.CurrentDisclosure()
	o := onboardingJSON{Missing: []reasonJSON{}}
	if reg.Classified(uint64(v.Client)) {
		cl := rec.Classification
		o.Classification = onboardingClassJSON{Class: cl.Class.String(), Status: "retail"}
		o.Knowledge = onboardingKnowledgeJSON{Recorded: rec.Knowledge.Basis != eligibility.BasisNone}
		if o.Knowledge.Recorded {
			o.Knowledge.Basis = rec.Knowledge.Basis.String()
		}
		if cl.Class.Professional() {
			o.Classification.Evidence, o.Classification.EvidenceDate, o.Classification.ExpiresAt = cl.Kind.String(), hkDate(cl.Date), rfc(cl.Expiry)
			o.Classification.Status = "active"
			o.Classification.RenewalDue = cl.ReminderAt <= now && now < cl.Expiry
		}
	} else {
		// Never classified with evidence; a record from the retired
		// evidence-free command still counts in the engine, so show it.
		o.Classification = onboardingClassJSON{Class: "none", Status: "missing"}
		if v.Class != engine.Retail {
			o.Classification = onboardingClassJSON{Class: v.Class.String(), Status: "active", ExpiresAt: rfc(v.Expiry)}
		}
		o.Knowledge.Recorded = v.Knowledge
	}
	if o.Classification.Status == "active" && now >= expiryOf(rec, v, reg) {
		o.Classification.Status = "expired"
	}
	o.Disclosure = onboardingDisclosureJSON{AcceptedVersion: rec.Accepted}
	if published {
		o.Disclosure.CurrentVersion = cur.Version
		o.Disclosure.Accepted = rec.Accepted == cur.Version
	}
	o.Missing = missingSteps(e, &o)
	return o
}

func expiryOf(rec eligibility.Client, v engine.AccountView, reg *eligibility.Registry) int64 {
	if reg.Classified(uint64(v.Client)) {
		return rec.Classification.Expiry
	}
	return v.Expiry
}

// missingSteps lists the gaps in gate order, in plain words.
func missingSteps(e *engine.Engine, o *onboardingJSON) []reasonJSON {
	out := []reasonJSON{}
	add := func(c engine.Code, msg string) { out = append(out, reasonJSON{Code: c.String(), Message: msg}) }
	cl := o.Classification
	switch cl.Status {
	case "missing", "retail":
		what := "Your account has not been classified as a professional investor."
		if cl.Status == "retail" {
			what = "Your account is classified as retail."
		}
		add(engine.CodeNotProfessionalInvestor, what+" Perpetual contracts are offered to professional investors only. "+thresholdText(e))
	case "expired":
		msg := "Your professional-investor classification expired at " + cl.ExpiresAt
		if cl.EvidenceDate != "" {
			msg += " (evidence dated " + cl.EvidenceDate + ")"
		}
		add(engine.CodePIClassificationExpired, msg+". Until new evidence is recorded you can only reduce positions.")
	}
	if !o.Knowledge.Recorded {
		add(engine.CodeNoDerivativesKnowledge, "No derivatives-knowledge assessment is on record; compliance records one from your training, work experience or prior derivative trades.")
	}
	d := o.Disclosure
	switch {
	case d.CurrentVersion == 0:
		add(engine.CodeRiskDisclosureNotAccepted, "No risk disclosure has been published yet; perpetual trading opens once one is published and you accept it.")
	case !d.Accepted:
		msg := "Accept risk disclosure version " + strconv.FormatUint(uint64(d.CurrentVersion), 10) +
			": read it with GET /v1/disclosure, then POST /v1/account/disclosure/accept with {\"version\":" + strconv.FormatUint(uint64(d.CurrentVersion), 10) + "}."
		if d.AcceptedVersion != 0 {
			msg = "The version you accepted (" + strconv.FormatUint(uint64(d.AcceptedVersion), 10) + ") has been replaced. " + msg
		}
		add(engine.CodeRiskDisclosureNotAccepted, msg)
	}
	return out
}

// thresholdText states the governed thresholds in force.
func thresholdText(e *engine.Engine) string {
	v, ok := e.Governance().Current(eligibility.SetID)
	if !ok {
		return ""
	}
	p, err := eligibility.ParamsFrom(v.Value)
	if err != nil {
		return ""
	}
	return "Professional investors hold a portfolio of at least HK$" + formatHKD(p.IndividualPortfolioMin) +
		" (corporations: a portfolio of HK$" + formatHKD(p.CorporatePortfolioMin) + " or total assets of HK$" +
		formatHKD(p.CorporateTotalAssetsMin) + "), evidenced by a document dated within " + strconv.FormatInt(p.ValidityMonths, 10) + " months."
}
