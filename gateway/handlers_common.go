package gateway

import (
	"log/slog"
	"net/http"
	"runtime/debug"

	"github.com/sampan-hk/sampan/core/engine"
)

// Helpers shared by the client, operator and governance handlers. They
// live here rather than in server.go so the files that use them can be
// changed without touching the server's plumbing.

// submitOK submits a command and turns an engine rejection into its typed
// API error, for handlers that answer only once the command is applied.
func (s *Server) submitOK(r *http.Request, cmd *engine.Command) (engine.Result, *Error) {
	res, e := s.submit(r.Context(), cmd)
	if e != nil {
		return res, e
	}
	if res.Code != engine.OK {
		return res, engineError(res.Code)
	}
	return res, nil
}

// noInput refuses a query string or a non-empty body, for actions whose
// path says everything.
func noInput(r *http.Request, c *call) *Error {
	if e := query(r); e != nil {
		return e
	}
	return emptyBody(c.body)
}

// StatusWriter remembers the first status written (200 once a body is
// written without one), so a recovered panic can still answer when
// nothing was sent yet. Unwrap lets http.ResponseController and the
// WebSocket hijack reach the connection. Exported for the Binance
// adapter, whose ServeHTTP guards its handlers the same way.
type StatusWriter struct {
	http.ResponseWriter
	Status int
}

func (w *StatusWriter) WriteHeader(code int) {
	if w.Status == 0 {
		w.Status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *StatusWriter) Write(b []byte) (int, error) {
	if w.Status == 0 {
		w.Status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

func (w *StatusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// RecoverPanic is deferred by an API's ServeHTTP so one bad request never
// takes the process down: it logs a handler panic with its stack under
// the API's name and, if nothing was written yet, answers with answer (the
// API's own JSON 500). http.ErrAbortHandler passes through: it is
// net/http's own way to abort a response.
func RecoverPanic(log *slog.Logger, api string, r *http.Request, w *StatusWriter, answer func(http.ResponseWriter)) {
	v := recover()
	if v == nil {
		return
	}
	if v == http.ErrAbortHandler {
		panic(v)
	}
	log.Error(api+": handler panic", "method", r.Method, "path", r.URL.Path, "panic", v, "stack", string(debug.Stack()))
	if w.Status == 0 {
		answer(w)
	}
}

// MethodNotAllowed reports, for a request mux routes nowhere, whether the
// path exists under other methods (a 405 rather than a 404) and the Allow
// header to send with it.
func MethodNotAllowed(mux *http.ServeMux, r *http.Request) (allow string, ok bool) {
	probe := &headerProbe{h: http.Header{}}
	h, _ := mux.Handler(r)
	h.ServeHTTP(probe, r)
	return probe.h.Get("Allow"), probe.status == http.StatusMethodNotAllowed
}
