package governance

// Reason is a typed business rejection. A rejected command changes nothing
// and emits no event. The numbers and names are stable: they appear in API
// responses and audit records, so new reasons are only ever appended.
type Reason uint8

const (
	ReasonNone                     Reason = iota
	RejectUnknownOperator                 // no such operator
	RejectOperatorDisabled                // the operator was disabled
	RejectPermissionDenied                // the operator's role lacks the permission for this action and domain
	RejectSelfApproval                    // maker-checker: the proposer cannot approve or reject its own proposal
	RejectSelfReview                      // the officer who applied an emergency change cannot review it
	RejectUnknownProposal                 // no such proposal
	RejectProposalNotPending              // already approved, rejected, withdrawn, lapsed or superseded
	RejectEffectiveTimeNotInFuture        // effective time must be after now (room for approval)
	RejectEffectiveTimeConflict           // another approved change of the same set takes effect at that instant
	RejectInvalidSetID                    // malformed set id ("market:BTC-USD-PERP", "collateral:BTC", "firm")
	RejectUnknownSetKind                  // no schema for the set's kind
	RejectInvalidValue                    // malformed value (names, limits, table shape)
	RejectUnknownField                    // a field or table the schema does not define
	RejectMissingField                    // a field or table the schema requires is absent
	RejectFieldOutOfRange                 // a field or cell outside the schema's bounds
	RejectValueRuleViolated               // the schema's cross-field rule refused the value (e.g. BTC haircut below 60%)
	RejectUnchanged                       // the value equals the active one: nothing to change
	RejectNotATightening                  // emergency path: the change is not strictly tighter on every field it touches
	RejectNoActiveVersion                 // emergency path: nothing active to tighten
	RejectEmergencyNotAllowed             // the set's domain has no emergency path
	RejectUnknownVersion                  // no such version of the set
	RejectNotAnEmergency                  // review: the version was not an emergency change
	RejectAlreadyReviewed                 // review: already reviewed
	RejectTooManyOpenProposals            // limit on open (pending or scheduled) proposals, total or per set
	RejectNoteTooLong                     // justification longer than MaxNoteLen
	RejectNoteRequired                    // emergency changes and rejections must say why
	RejectOperatorExists                  // operator id already used (ids are never reused)
	RejectInvalidOperator                 // malformed operator id or unknown role
	RejectTooManyOperators                // limit on operators
	RejectCannotDisableSelf               // an admin cannot disable itself (keeps one admin able to act)
	RejectNotProposer                     // only the proposer may withdraw a proposal
	RejectTooManySets                     // limit on parameter sets
	reasonEnd
)

var reasonNames = [...]string{
	ReasonNone:                     "none",
	RejectUnknownOperator:          "unknown_operator",
	RejectOperatorDisabled:         "operator_disabled",
	RejectPermissionDenied:         "permission_denied",
	RejectSelfApproval:             "maker_cannot_approve_own_proposal",
	RejectSelfReview:               "cannot_review_own_emergency_change",
	RejectUnknownProposal:          "unknown_proposal",
	RejectProposalNotPending:       "proposal_not_pending",
	RejectEffectiveTimeNotInFuture: "effective_time_not_in_future",
	RejectEffectiveTimeConflict:    "effective_time_conflict",
	RejectInvalidSetID:             "invalid_parameter_set_id",
	RejectUnknownSetKind:           "unknown_parameter_set_kind",
	RejectInvalidValue:             "invalid_parameter_value",
	RejectUnknownField:             "unknown_parameter_field",
	RejectMissingField:             "missing_parameter_field",
	RejectFieldOutOfRange:          "parameter_out_of_range",
	RejectValueRuleViolated:        "parameter_rule_violated",
	RejectUnchanged:                "parameter_unchanged",
	RejectNotATightening:           "not_a_tightening",
	RejectNoActiveVersion:          "no_active_version",
	RejectEmergencyNotAllowed:      "emergency_change_not_allowed",
	RejectUnknownVersion:           "unknown_version",
	RejectNotAnEmergency:           "not_an_emergency_change",
	RejectAlreadyReviewed:          "already_reviewed",
	RejectTooManyOpenProposals:     "too_many_open_proposals",
	RejectNoteTooLong:              "note_too_long",
	RejectNoteRequired:             "note_required",
	RejectOperatorExists:           "operator_exists",
	RejectInvalidOperator:          "invalid_operator",
	RejectTooManyOperators:         "too_many_operators",
	RejectCannotDisableSelf:        "cannot_disable_self",
	RejectNotProposer:              "not_the_proposer",
	RejectTooManySets:              "too_many_parameter_sets",
}

func (r Reason) String() string {
	if r < reasonEnd {
		return reasonNames[r]
	}
	return "unknown"
}
