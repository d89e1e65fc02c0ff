package gateway

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"net/http"
	"strconv"

	"github.com/sampan-hk/sampan/core/engine"
	"github.com/sampan-hk/sampan/core/governance"
)

// Action is an operator action guarded by the permission matrix.
type Action string

const (
	ActCreateClient Action = "create_client"
	ActDeposit      Action = "deposit"
	ActClassify     Action = "set_classification"
	ActKnowledge    Action = "set_knowledge"
	ActSetMark      Action = "set_mark"
	ActViewClient   Action = "view_client"
	ActIssueKey     Action = "issue_key"
	ActViewRisk     Action = "view_risk"
)

// Permissions is the operator permission matrix: which roles may take each
// action. Segregation of duties: operations onboards and moves money,
// compliance classifies investors, risk sets marks until feeds are wired,
// the auditor only reads. Admin holds everything except classification
// (a compliance decision) so no single technical role can make a retail
// client eligible.
var Permissions = map[Action][]Role{
	ActCreateClient: {RoleAdmin, RoleOperations},
	ActDeposit:      {RoleOperations},
	ActClassify:     {RoleCompliance},
	ActKnowledge:    {RoleCompliance},
	ActSetMark:      {RoleRisk, RoleAdmin},
	ActViewClient:   {RoleAdmin, RoleRisk, RoleCompliance, RoleOperations, RoleAuditor},
	ActIssueKey:     {RoleAdmin, RoleOperations},
	// Risk monitoring: the risk function and admin, and the auditor, who
	// reads everything. Operations and compliance have no need to see
	// other clients' margin state.
	ActViewRisk: {RoleAdmin, RoleRisk, RoleAuditor},
	// Margin financing (financing_admin.go): custody moves assets and
	// books sales; the risk function prices, assesses credit (the engine
	// checks the operator may decide in the risk domain) and registers
	// assets.
	ActFinDeposit:    {RoleOperations},
	ActFinRepay:      {RoleOperations},
	ActSecuritySale:  {RoleOperations},
	ActSetAssetPrice: {RoleRisk, RoleAdmin},
	ActCreditAssess:  {RoleRisk},
	ActRegisterAsset: {RoleRisk},
}

// Allowed reports whether role may take action a.
func Allowed(role Role, a Action) bool {
	for _, r := range Permissions[a] {
		if r == role && role != RoleNone {
			return true
		}
	}
	return false
}

func needOperator(k *Key) *Error {
	if k.Role == RoleNone {
		return Errf(http.StatusForbidden, CodeForbidden, "", "this endpoint needs an operator key")
	}
	return nil
}

func (s *Server) operator(a Action, h privateHandler) http.HandlerFunc {
	return s.signed(func(k *Key) *Error {
		if e := needOperator(k); e != nil {
			return e
		}
		if !Allowed(k.Role, a) {
			return Errf(http.StatusForbidden, CodeForbidden, "", "role "+string(k.Role)+" may not "+string(a))
		}
		return s.operatorActive(k)
	}, h)
}

// operatorActive refuses a key whose governance operator has been
// disabled: disabling an operator takes effect on every endpoint at once,
// not only on the governance commands the engine re-checks. A key without
// an operator id predates governance and is judged by its role alone.
func (s *Server) operatorActive(k *Key) *Error {
	if k.Operator == "" {
		return nil
	}
	var o governance.Operator
	var ok bool
	s.x.View(func(e *engine.Engine) { o, ok = e.Governance().Operator(k.Operator) })
	if ok && !o.Active {
		return Errf(http.StatusForbidden, CodeForbidden, "", "operator "+k.Operator+" has been disabled")
	}
	return nil
}

// opKey scopes an operator's idempotency key by the key id, so two
// operators cannot collide on the same string.
func opKey(k *Key, v string) (uint64, *Error) {
	if _, e := idemKey(v); e != nil {
		return 0, e
	}
	return KeyOf(k.ID + "\x00" + v), nil
}

// optKey reads the optional idempotency_key of a governance, onboarding
// or credit command: none means the command is not idempotent (as before
// keys existed). The engine scopes these keys by the acting operator;
// opKey also folds in the API key id, as for every operator key.
func optKey(k *Key, v string) (uint64, *Error) {
	if v == "" {
		return 0, nil
	}
	return opKey(k, v)
}

// keyOnly reads the optional body of an action whose path says everything
// else: nothing, {} or {"idempotency_key": "..."}; no query string.
func keyOnly(r *http.Request, c *call) (uint64, *Error) {
	var q struct {
		IdempotencyKey string `json:"idempotency_key"`
	}
	if e := query(r); e != nil {
		return 0, e
	}
	if len(bytes.TrimSpace(c.body)) > 0 {
		if e := DecodeStrict(c.body, &q); e != nil {
			return 0, e
		}
	}
	return optKey(c.key, q.IdempotencyKey)
}

// replayedOf is a POST response's "replayed" flag (GET answers leave it
// out).
func replayedOf(res engine.Result) *bool { return &res.Replayed }

// opSubmit submits an operator command and answers with result fields.
func (s *Server) opSubmit(w http.ResponseWriter, r *http.Request, cmd *engine.Command, out map[string]any) *Error {
	res, e := s.submitOK(r, cmd)
	if e != nil {
		return e
	}
	out["replayed"] = res.Replayed
	if res.Client != 0 {
		out["client_id"] = strconv.FormatUint(uint64(res.Client), 10)
	}
	WriteJSON(w, http.StatusOK, out)
	return nil
}

func decodeOp(r *http.Request, c *call, dst any) *Error {
	if e := query(r); e != nil {
		return e
	}
	return DecodeStrict(c.body, dst)
}

func (s *Server) postClient(w http.ResponseWriter, r *http.Request, c *call) *Error {
	var q struct {
		Ref            string `json:"ref"`
		IdempotencyKey string `json:"idempotency_key"`
	}
	if e := decodeOp(r, c, &q); e != nil {
		return e
	}
	if len(q.Ref) > engine.RefMax {
		return badField(CodeInvalidField, "ref", "ref must be at most "+strconv.Itoa(engine.RefMax)+" bytes")
	}
	key, e := opKey(c.key, q.IdempotencyKey)
	if e != nil {
		return e
	}
	return s.opSubmit(w, r, &engine.Command{Kind: engine.CmdCreateClient, Key: key, Ref: q.Ref}, map[string]any{"ref": q.Ref})
}

// clientParam parses a client id from the path or a body field.
func clientParam(v, field string) (engine.ClientID, *Error) {
	id, err := strconv.ParseUint(v, 10, 32)
	if err != nil || id == 0 || (len(v) > 1 && v[0] == '0') {
		return 0, badField(CodeInvalidField, field, field+" must be a positive decimal integer string")
	}
	return engine.ClientID(id), nil
}

func (s *Server) postDeposit(w http.ResponseWriter, r *http.Request, c *call) *Error {
	var q struct {
		ClientID       string `json:"client_id"`
		Amount         string `json:"amount"`
		IdempotencyKey string `json:"idempotency_key"`
	}
	if e := decodeOp(r, c, &q); e != nil {
		return e
	}
	id, e := clientParam(q.ClientID, "client_id")
	if e != nil {
		return e
	}
	return s.payUSD(w, r, c, &engine.Command{Kind: engine.CmdDeposit, Client: id}, q.Amount, q.IdempotencyKey)
}

// postInsuranceDeposit pays money into the insurance fund (operations, as
// for client deposits): the fund takes over what liquidations cannot place
// on the book before ADL is needed (docs/liquidation.md).
func (s *Server) postInsuranceDeposit(w http.ResponseWriter, r *http.Request, c *call) *Error {
	var q struct {
		Amount         string `json:"amount"`
		IdempotencyKey string `json:"idempotency_key"`
	}
	if e := decodeOp(r, c, &q); e != nil {
		return e
	}
	return s.payUSD(w, r, c, &engine.Command{Kind: engine.CmdFundInsurance}, q.Amount, q.IdempotencyKey)
}

// payUSD completes a custody payment in USD (a client deposit or the
// insurance fund's): the amount, then the operator's idempotency key.
func (s *Server) payUSD(w http.ResponseWriter, r *http.Request, c *call, cmd *engine.Command, amount, idem string) *Error {
	amt, e := s.parseAmount(amount, "amount")
	if e != nil {
		return e
	}
	if cmd.Key, e = opKey(c.key, idem); e != nil {
		return e
	}
	cmd.Amount = amt
	return s.opSubmit(w, r, cmd, map[string]any{"amount": s.usd(amt)})
}

// postMark sets a mark price by hand; it exists until the index and mark
// feeds are wired, and needs the risk officer role.
func (s *Server) postMark(w http.ResponseWriter, r *http.Request, c *call) *Error {
	var q struct {
		Symbol string `json:"symbol"`
		Price  string `json:"price"`
	}
	if e := decodeOp(r, c, &q); e != nil {
		return e
	}
	m, e := s.market(q.Symbol, "symbol")
	if e != nil {
		return e
	}
	sp := &s.specs[m].Spec
	p, err := sp.ParsePrice(q.Price)
	if err != nil {
		return parseNum(err, "price", sp.Tick.String(), CodeInvalidPriceStep)
	}
	return s.opSubmit(w, r, &engine.Command{Kind: engine.CmdSetMark, Market: m, Price: p}, map[string]any{"symbol": q.Symbol, "price": sp.FormatPrice(p)})
}

func (s *Server) getClient(w http.ResponseWriter, r *http.Request, c *call) *Error {
	id, e := clientParam(r.PathValue("id"), "id")
	if e == nil {
		e = query(r)
	}
	if e != nil {
		return e
	}
	a, ok := s.accountView(id)
	if !ok {
		return engineError(engine.CodeUnknownClient)
	}
	WriteJSON(w, http.StatusOK, a)
	return nil
}

// KeyIssuer is a KeyStore that can also store new keys (MemKeys is one).
type KeyIssuer interface {
	KeyStore
	Put(*Key)
}

var perms = map[string]Perm{"read": PermRead, "trade": PermTrade, "withdraw": PermWithdraw}

// postClientKey issues an API key for a client; the secret is shown once.
func (s *Server) postClientKey(w http.ResponseWriter, r *http.Request, c *call) *Error {
	var q struct {
		Perms              []string `json:"perms"`
		CancelOnDisconnect bool     `json:"cancel_on_disconnect,omitempty"`
		Allow              []string `json:"allow,omitempty"` // IP allow-list: addresses or prefixes
	}
	id, e := clientParam(r.PathValue("id"), "id")
	if e == nil {
		e = decodeOp(r, c, &q)
	}
	if e != nil {
		return e
	}
	ki, ok := s.cfg.Keys.(KeyIssuer)
	if !ok {
		return Errf(http.StatusNotFound, CodeNotImplemented, "", "this deployment's key store does not issue keys over the API")
	}
	if _, ok := s.accountView(id); !ok {
		return engineError(engine.CodeUnknownClient)
	}
	k := &Key{ID: randHex(12), Secret: []byte(randHex(32)), Account: uint64(id), CancelOnDisconnect: q.CancelOnDisconnect}
	for i, p := range q.Perms {
		v, ok := perms[p]
		if !ok {
			return badField(CodeInvalidField, "perms["+strconv.Itoa(i)+"]", "perms must be among read, trade, withdraw")
		}
		k.Perms |= v
	}
	for i, a := range q.Allow {
		p, err := ParsePrefixes([]string{a})
		if err != nil {
			return badField(CodeInvalidField, "allow["+strconv.Itoa(i)+"]", "allow lists IP addresses or prefixes (203.0.113.7, 203.0.113.0/24); "+quote(a)+" is neither")
		}
		k.Allow = append(k.Allow, p[0])
	}
	ki.Put(k)
	out := map[string]any{"key": k.ID, "secret": string(k.Secret), "client_id": strconv.FormatUint(uint64(id), 10), "perms": q.Perms}
	if len(k.Allow) > 0 {
		allow := make([]string, len(k.Allow))
		for i, p := range k.Allow {
			allow[i] = p.String()
		}
		out["allow"] = allow
	}
	WriteJSON(w, http.StatusOK, out)
	return nil
}

func randHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
