package gateway

import (
	_ "embed"
	"net/http"

	"github.com/sampan-hk/sampan/core/engine"
)

// OpenAPI is the API description served at /v1/openapi.json. docs/openapi.json
// is a byte-identical copy (a test checks it, and that every route below is
// documented).
//
//go:embed openapi.json
var OpenAPI []byte

func (s *Server) register() {
	// Public market data.
	s.handle("GET /v1/openapi.json", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(OpenAPI)
	})
	s.handle("GET /v1/markets", s.public(s.getMarkets))
	s.handle("GET /v1/markets/{symbol}/depth", s.public(s.getDepth))
	s.handle("GET /v1/markets/{symbol}/trades", s.public(s.getTrades))
	s.handle("GET /v1/markets/{symbol}/ticker", s.public(s.getTicker))
	s.handle("GET /v1/markets/{symbol}/klines", s.public(s.getKlines))
	s.handle("GET /v1/markets/{symbol}/mark", s.public(s.getMark))
	s.handle("GET /v1/markets/{symbol}/index", s.public(s.getIndex))
	s.handle("GET /v1/markets/{symbol}/funding", s.public(s.getFunding))
	s.handle("GET /v1/markets/{symbol}/liquidations", s.public(s.getLiquidations))
	// Transparency (transparency.go).
	s.handle("GET /v1/markets/{symbol}/mark/history", s.public(s.getMarkHistory))
	s.handle("GET /v1/markets/{symbol}/open-interest", s.public(s.getOpenInterest))
	s.handle("GET /v1/ws", s.serveWS)

	// Client account (signed).
	s.handle("GET /v1/account", s.private(PermRead, s.getAccount))
	s.handle("GET /v1/positions", s.private(PermRead, s.getPositions))
	s.handle("GET /v1/orders", s.private(PermRead, s.getOpenOrders))
	s.handle("GET /v1/orders/history", s.private(PermRead, s.getOrderHistory))
	s.handle("GET /v1/fills", s.private(PermRead, s.getFills))
	s.handle("GET /v1/funding-payments", s.private(PermRead, s.getFundingPayments))
	s.handle("POST /v1/orders", s.private(PermTrade, s.postOrder))
	s.handle("POST /v1/orders/batch", s.private(PermTrade, s.postBatch))
	s.handle("POST /v1/orders/{id}/amend", s.private(PermTrade, s.postAmend))
	s.handle("DELETE /v1/orders/{id}", s.private(PermTrade, s.deleteOrder))
	s.handle("DELETE /v1/orders/by-client-id/{client_order_id}", s.private(PermTrade, s.deleteOrderByClientID))
	s.handle("DELETE /v1/orders", s.private(PermTrade, s.deleteOrders))
	s.handle("POST /v1/leverage", s.private(PermTrade, s.postLeverage))
	s.handle("POST /v1/withdrawals", s.private(PermWithdraw, s.postWithdrawal))
	// Margin financing, client side (financing.go, financing_statement.go).
	s.handle("GET /v1/financing", s.private(PermRead, s.getFinancing))
	s.handle("GET /v1/financing/statement", s.private(PermRead, s.getFinStatement))
	s.handle("POST /v1/financing/withdrawals", s.private(PermWithdraw, s.postFinWithdrawal))
	s.handle("POST /v1/transfers", s.private(PermTrade, s.postTransfer))
	// Onboarding, client side (onboarding_disclosure.go): read the current
	// risk disclosure; accepting it is a trading act.
	s.handle("GET /v1/disclosure", s.private(PermRead, s.getDisclosure))
	s.handle("POST /v1/account/disclosure/accept", s.private(PermTrade, s.postAcceptDisclosure))

	// Operators (signed, role-checked).
	s.handle("POST /v1/admin/clients", s.operator(ActCreateClient, s.postClient))
	s.handle("GET /v1/admin/clients/{id}", s.operator(ActViewClient, s.getClient))
	s.handle("POST /v1/admin/clients/{id}/keys", s.operator(ActIssueKey, s.postClientKey))
	s.handle("POST /v1/admin/deposits", s.operator(ActDeposit, s.postDeposit))
	s.handle("POST /v1/admin/insurance/deposits", s.operator(ActDeposit, s.postInsuranceDeposit))
	s.handle("POST /v1/admin/clients/{id}/classification", s.operator(ActClassify, s.postClassification))
	s.handle("POST /v1/admin/clients/{id}/knowledge", s.operator(ActKnowledge, s.postKnowledge))
	s.handle("POST /v1/admin/marks", s.operator(ActSetMark, s.postMark))
	// Any operator key may ask who it is (the console shows only what the
	// role may do); the risk reads need view_risk.
	s.handle("GET /v1/admin/whoami", s.signed(needOperator, s.getWhoami))
	s.handle("GET /v1/admin/risk/accounts", s.operator(ActViewRisk, s.getRiskAccounts))
	s.handle("GET /v1/admin/risk/markets", s.operator(ActViewRisk, s.getRiskMarkets))
	s.handle("GET /v1/admin/risk/insurance", s.operator(ActViewRisk, s.getRiskInsurance))
	s.handle("GET /v1/admin/risk/liquidations", s.operator(ActViewRisk, s.getRiskLiquidations))
	s.handle("GET /v1/admin/risk/adl", s.operator(ActViewRisk, s.getRiskADL))
	// Margin financing, operators (financing_admin.go).
	s.handle("POST /v1/admin/financing/deposits", s.operator(ActFinDeposit, s.postFinDeposit))
	s.handle("POST /v1/admin/financing/repayments", s.operator(ActFinRepay, s.postFinRepayment))
	s.handle("POST /v1/admin/financing/security-sales", s.operator(ActSecuritySale, s.postSecuritySale))
	s.handle("POST /v1/admin/asset-prices", s.operator(ActSetAssetPrice, s.postAssetPrice))
	s.handle("POST /v1/admin/clients/{id}/credit-assessment", s.operator(ActCreditAssess, s.postCreditAssessment))
	s.handle("POST /v1/admin/assets", s.operator(ActRegisterAsset, s.postAsset))
	s.handle("GET /v1/admin/financing/clients", s.operator(ActViewRisk, s.getFinClients))
	s.handle("GET /v1/admin/financing/firm", s.operator(ActViewRisk, s.getFinFirm))
	s.handle("GET /v1/admin/financing/collateral", s.operator(ActViewRisk, s.getFinCollateral))
	s.handle("GET /v1/admin/financing/stress", s.operator(ActViewRisk, s.getFinStress))
	// The live audit trail and its chain check: every operator role,
	// auditor included (transparency.go).
	s.handle("GET /v1/admin/audit", s.signed(needOperator, s.getAudit))

	// Governance (governance.go): every operator reads; actions need an
	// operator id on the key and the permission for the set's domain,
	// which the engine checks again.
	s.handle("GET /v1/admin/parameters", s.govRead(s.getParameters))
	s.handle("GET /v1/admin/parameters/{set}/history", s.govRead(s.getParameterHistory))
	s.handle("GET /v1/admin/proposals", s.govRead(s.getProposals))
	s.handle("POST /v1/admin/proposals", s.govAct(s.postProposal))
	s.handle("POST /v1/admin/proposals/{id}/approve", s.govAct(s.decide(engine.CmdApproveProposal)))
	s.handle("POST /v1/admin/proposals/{id}/reject", s.govAct(s.decide(engine.CmdRejectProposal)))
	s.handle("POST /v1/admin/proposals/{id}/withdraw", s.govAct(s.decide(engine.CmdWithdrawProposal)))
	s.handle("POST /v1/admin/emergency", s.govAct(s.postEmergency))
	s.handle("GET /v1/admin/emergency/unreviewed", s.govRead(s.getUnreviewed))
	s.handle("POST /v1/admin/emergency/review", s.govAct(s.postReview))

	// Onboarding and operators (onboarding*.go): classification and
	// knowledge are registered above with the client routes; the handlers
	// check the governance permission, which the engine checks again.
	s.handle("GET /v1/admin/renewals", s.operator(ActViewClient, s.getRenewals))
	s.handle("GET /v1/admin/disclosures", s.govRead(s.getDisclosures))
	s.handle("POST /v1/admin/disclosures", s.govAct(s.postDisclosure))
	s.handle("GET /v1/admin/operators", s.govRead(s.getOperators))
	s.handle("POST /v1/admin/operators", s.govAct(s.postOperator))
	s.handle("POST /v1/admin/operators/{id}/disable", s.govAct(s.postDisableOperator))
	s.handle("POST /v1/admin/operators/{id}/keys", s.govAct(s.postOperatorKey))
}
