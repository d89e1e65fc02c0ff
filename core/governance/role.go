package governance

// Role is an operator's single role. One role per operator keeps
// segregation of duties visible: whoever manages accounts cannot also
// approve risk parameters.
type Role uint8

const (
	RoleNone Role = iota
	RoleAdmin
	RoleRiskOfficer
	RoleComplianceOfficer
	RoleOperations
	RoleAuditor
	roleEnd
)

var roleNames = [...]string{"none", "admin", "risk_officer", "compliance_officer", "operations", "auditor"}

func (r Role) String() string {
	if r < roleEnd {
		return roleNames[r]
	}
	return "unknown"
}

// Permission is an action an operator may take.
type Permission uint8

const (
	PermRead              Permission = iota // parameters, history, proposals, audit trail
	PermPropose                             // propose a parameter change
	PermDecide                              // approve or reject someone else's proposal
	PermEmergencyTighten                    // apply a tightening at once, alone
	PermReviewEmergency                     // review someone else's emergency change
	PermClassifyClients                     // record PI classifications and knowledge assessments
	PermPublishDisclosure                   // publish a new risk-disclosure version
	PermManageOperators                     // add and disable operators
	permEnd
)

var permNames = [...]string{"read", "propose", "decide", "emergency_tighten", "review_emergency",
	"classify_clients", "publish_disclosure", "manage_operators"}

func (p Permission) String() string {
	if p < permEnd {
		return permNames[p]
	}
	return "unknown"
}

// Domain says who owns a parameter set: risk parameters (markets,
// collateral, firm limits) belong to risk officers, eligibility thresholds
// to compliance. Permissions that are not about parameters use DomainNone.
type Domain uint8

const (
	DomainNone Domain = iota
	DomainRisk
	DomainCompliance
	domainEnd
)

var domainNames = [...]string{"none", "risk", "compliance"}

func (d Domain) String() string {
	if d < domainEnd {
		return domainNames[d]
	}
	return "unknown"
}

type roleSet uint8

func roles(rs ...Role) roleSet {
	var s roleSet
	for _, r := range rs {
		s |= 1 << r
	}
	return s
}

var everyone = roles(RoleAdmin, RoleRiskOfficer, RoleComplianceOfficer, RoleOperations, RoleAuditor)

// matrix[permission][domain] is the set of roles allowed. It is the single
// source of truth: the gateway checks it for every request and the engine
// re-checks it for every mutating governance command. The docs table in
// docs/governance.md is checked against it by a test.
//
// Operations may propose market parameters (tick, lot, fees) but never
// approve; nobody has an emergency path for eligibility thresholds, because
// excluding clients at once is not a risk-control emergency.
var matrix = [permEnd][domainEnd]roleSet{
	PermRead: {DomainNone: everyone, DomainRisk: everyone, DomainCompliance: everyone},
	PermPropose: {
		DomainRisk:       roles(RoleRiskOfficer, RoleOperations),
		DomainCompliance: roles(RoleComplianceOfficer),
	},
	PermDecide: {
		DomainRisk:       roles(RoleRiskOfficer),
		DomainCompliance: roles(RoleComplianceOfficer),
	},
	PermEmergencyTighten:  {DomainRisk: roles(RoleRiskOfficer)},
	PermReviewEmergency:   {DomainRisk: roles(RoleRiskOfficer)},
	PermClassifyClients:   {DomainNone: roles(RoleComplianceOfficer)},
	PermPublishDisclosure: {DomainNone: roles(RoleComplianceOfficer)},
	PermManageOperators:   {DomainNone: roles(RoleAdmin)},
}

// Allowed reports whether a role holds a permission in a domain.
func Allowed(r Role, p Permission, d Domain) bool {
	if r == RoleNone || r >= roleEnd || p >= permEnd || d >= domainEnd {
		return false
	}
	return matrix[p][d]&(1<<r) != 0
}
