package binance

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestServeAnswers: the adapter's own answers around routing, in
// Binance's JSON shape: a wrong method is a 405 carrying Allow, an unknown
// path a 404, and a handler panic a 500 with -1000 (the process lives on).
func TestServeAnswers(t *testing.T) {
	ev := newEnv(t)
	ev.bn.mux.HandleFunc("GET /fapi/v1/testPanic", func(http.ResponseWriter, *http.Request) { panic("boom") })
	for _, c := range []struct {
		method, path string
		status, code int
		allow        string
	}{
		{"POST", "/fapi/v1/time", 405, CodeUnsupportedOp, "GET"},
		{"GET", "/fapi/v1/nothing", 404, CodeUnsupportedOp, ""},
		{"GET", "/fapi/v1/testPanic", 500, CodeUnknown, ""},
	} {
		rec := httptest.NewRecorder()
		ev.bn.ServeHTTP(rec, httptest.NewRequest(c.method, c.path, nil))
		var body struct {
			Code int    `json:"code"`
			Msg  string `json:"msg"`
		}
		err := json.Unmarshal(rec.Body.Bytes(), &body)
		if rec.Code != c.status || err != nil || body.Code != c.code || body.Msg == "" ||
			!strings.Contains(rec.Header().Get("Allow"), c.allow) || (c.allow == "" && rec.Header().Get("Allow") != "") {
			t.Errorf("%s %s: %d %q Allow %q", c.method, c.path, rec.Code, rec.Body, rec.Header().Get("Allow"))
		}
	}
}
