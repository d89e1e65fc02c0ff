package eligibility

// Reason is a typed business outcome: why a client may not open or
// increase a perpetual position, or why an eligibility command was refused.
// A refused command changes nothing and emits no event. Numbers and names
// are stable; new reasons are appended.
type Reason uint8

const (
	ReasonNone Reason = iota
	// Trading gate (CanIncrease), in the order they are checked.
	NotProfessionalInvestor   // no classification, or classified retail
	PIClassificationExpired   // evidence older than the validity period: reduce only
	NoDerivativesKnowledge    // no derivatives-knowledge assessment on record
	RiskDisclosureNotAccepted // the current risk disclosure (or any, if none is published) not accepted
	// Command rejections.
	RejectInvalidClient            // client id 0
	RejectInvalidClass             // unknown classification type
	RejectMissingEvidence          // no or unknown evidence type
	RejectEvidenceDateInFuture     // evidence dated after today
	RejectEvidenceExpired          // evidence already older than the validity period
	RejectNegativeAmount           // portfolio or total assets below zero
	RejectPortfolioBelowThreshold  // individual: portfolio below the threshold (HK$8m)
	RejectCorporateBelowThresholds // corporate: portfolio below HK$8m and total assets below HK$40m
	RejectInvalidAssessor          // assessor id empty or too long
	RejectTextTooLong              // reference longer than MaxRefLen
	RejectInvalidBasis             // unknown knowledge basis
	RejectSelfDeclaration          // a client's own declaration is not an assessment (Code of Conduct 5.1A)
	RejectTooFewDerivativeTrades   // prior-trades basis below the minimum count
	RejectDisclosureVersion        // publish: version not above the last; accept: not the current version
	RejectNoDisclosure             // accept: nothing published yet
	RejectAlreadyAccepted          // accept: the client already accepted this version
	RejectTooManyClients           // limit on classified clients
	reasonEnd
)

var reasonNames = [...]string{
	ReasonNone:                     "none",
	NotProfessionalInvestor:        "not_professional_investor",
	PIClassificationExpired:        "pi_classification_expired",
	NoDerivativesKnowledge:         "no_derivatives_knowledge",
	RiskDisclosureNotAccepted:      "risk_disclosure_not_accepted",
	RejectInvalidClient:            "invalid_client",
	RejectInvalidClass:             "invalid_classification",
	RejectMissingEvidence:          "missing_evidence",
	RejectEvidenceDateInFuture:     "evidence_date_in_future",
	RejectEvidenceExpired:          "evidence_expired",
	RejectNegativeAmount:           "negative_amount",
	RejectPortfolioBelowThreshold:  "portfolio_below_threshold",
	RejectCorporateBelowThresholds: "corporate_below_thresholds",
	RejectInvalidAssessor:          "invalid_assessor",
	RejectTextTooLong:              "reference_too_long",
	RejectInvalidBasis:             "invalid_knowledge_basis",
	RejectSelfDeclaration:          "self_declaration_not_sufficient",
	RejectTooFewDerivativeTrades:   "too_few_derivative_trades",
	RejectDisclosureVersion:        "disclosure_version_not_current",
	RejectNoDisclosure:             "no_disclosure_published",
	RejectAlreadyAccepted:          "disclosure_already_accepted",
	RejectTooManyClients:           "too_many_clients",
}

func (r Reason) String() string {
	if r < reasonEnd {
		return reasonNames[r]
	}
	return "unknown"
}
