package gateway

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestOperatorActionInput: both path-only operator actions (disable, issue
// a key) refuse the same input the same way, before anything is sent to
// the engine: wrong role, malformed id, a query string, a body with
// fields. Each refusal names what was wrong, and the operator is still
// active afterwards.
func TestOperatorActionInput(t *testing.T) {
	ev := newEnv(t, nil)
	admin := ev.ops[RoleAdmin]
	ev.must(ev.do("POST", "/v1/admin/operators", `{"id":"ops-3","role":"operations"}`, admin), 200)
	for _, action := range []string{"disable", "keys"} {
		for _, c := range []struct {
			name, target, body string
			key                *Key
			status             int
			code, field        string
		}{
			{"wrong role", "/v1/admin/operators/ops-3/" + action, "", ev.ops[RoleAuditor], 403, "", ""},
			{"bad id", "/v1/admin/operators/OPS%203/" + action, "", admin, 400, "INVALID_FIELD", "id"},
			{"query", "/v1/admin/operators/ops-3/" + action + "?x=1", "", admin, 400, "UNKNOWN_FIELD", "x"},
			{"body field", "/v1/admin/operators/ops-3/" + action, `{"role":"admin"}`, admin, 400, "UNKNOWN_FIELD", "role"},
		} {
			r := ev.must(ev.do("POST", c.target, c.body, c.key), c.status)
			if (c.code != "" && r.str("code") != c.code) || (c.field != "" && r.str("field") != c.field) {
				t.Errorf("%s %s: %s, want code %s field %s", action, c.name, r.body, c.code, c.field)
			}
		}
	}
	list := ev.must(ev.do("GET", "/v1/admin/operators", "", admin), 200)
	if !strings.Contains(string(list.body), `{"id":"ops-3","role":"operations","active":true`) {
		t.Fatalf("a refused action changed the operator: %s", list.body)
	}
}

// TestRecoverPanic: a panic before anything is written gets the API's own
// answer; after a status is out it gets none (the client sees the cut
// response); http.ErrAbortHandler is passed on; no panic, no answer.
func TestRecoverPanic(t *testing.T) {
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	run := func(handler func(w http.ResponseWriter)) (rec *httptest.ResponseRecorder, answered bool, repanicked any) {
		rec = httptest.NewRecorder()
		r := httptest.NewRequest("GET", "/x", nil)
		func() {
			defer func() { repanicked = recover() }()
			sw := &StatusWriter{ResponseWriter: rec}
			defer RecoverPanic(log, "test", r, sw, func(w http.ResponseWriter) {
				answered = true
				w.WriteHeader(599)
			})
			handler(sw)
		}()
		return rec, answered, repanicked
	}
	for _, c := range []struct {
		name     string
		handler  func(w http.ResponseWriter)
		answered bool
		status   int
		abort    bool
	}{
		{"no panic", func(w http.ResponseWriter) { w.WriteHeader(204) }, false, 204, false},
		{"panic first", func(http.ResponseWriter) { panic("boom") }, true, 599, false},
		{"panic after a header", func(w http.ResponseWriter) { w.WriteHeader(202); panic("boom") }, false, 202, false},
		{"panic after a body", func(w http.ResponseWriter) { _, _ = w.Write([]byte("{")); panic("boom") }, false, 200, false},
		{"abort", func(http.ResponseWriter) { panic(http.ErrAbortHandler) }, false, 200, true},
	} {
		rec, answered, re := run(c.handler)
		if answered != c.answered || rec.Code != c.status || (re == http.ErrAbortHandler) != c.abort {
			t.Errorf("%s: answered %v status %d re-panic %v", c.name, answered, rec.Code, re)
		}
	}
}

// TestMethodNotAllowed: a known path under another method is a 405 with
// every allowed method; an unknown path is not.
func TestMethodNotAllowed(t *testing.T) {
	mux := http.NewServeMux()
	nop := func(http.ResponseWriter, *http.Request) {}
	mux.HandleFunc("GET /a", nop)
	mux.HandleFunc("POST /a", nop)
	allow, ok := MethodNotAllowed(mux, httptest.NewRequest("DELETE", "/a", nil))
	if !ok || !strings.Contains(allow, "GET") || !strings.Contains(allow, "POST") {
		t.Errorf("DELETE /a: %q %v", allow, ok)
	}
	if allow, ok := MethodNotAllowed(mux, httptest.NewRequest("GET", "/b", nil)); ok || allow != "" {
		t.Errorf("GET /b: %q %v", allow, ok)
	}
}

// TestFinancingViewsDisabled: every operator view read through
// viewFinancing answers 404 financing_disabled on a perpetual-only
// exchange, and answers 200 when financing is on.
func TestFinancingViewsDisabled(t *testing.T) {
	paths := []string{"/v1/admin/financing/clients", "/v1/admin/financing/firm", "/v1/admin/financing/collateral"}
	perp := newPerpEnv(t, nil)
	fin := newEnv(t, nil)
	for _, p := range paths {
		if r := perp.do("GET", p, "", perp.ops[RoleRisk]); r.status != 404 || r.str("code") != "financing_disabled" {
			t.Errorf("perpetual-only %s: %d %s", p, r.status, r.body)
		}
		fin.must(fin.do("GET", p, "", fin.ops[RoleRisk]), 200)
	}
}
