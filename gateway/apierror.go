// Package gateway is Sampan's edge: it turns HTTP and WebSocket requests into
// typed engine commands and engine results into JSON. Everything here is
// strict on purpose — bad input is answered with a precise 4xx and never
// reaches the engine.
package gateway

import (
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"sync"
)

// Code is a stable, machine-readable error code. Codes never change meaning;
// new ones are added at the end of a group.
type Code string

// Edge error codes.
const (
	CodeMalformedJSON       Code = "MALFORMED_JSON"
	CodeDuplicateField      Code = "DUPLICATE_FIELD"
	CodeUnknownField        Code = "UNKNOWN_FIELD"
	CodeInvalidField        Code = "INVALID_FIELD"
	CodeMissingField        Code = "MISSING_FIELD"
	CodeBodyTooLarge        Code = "BODY_TOO_LARGE"
	CodeTooManyItems        Code = "TOO_MANY_ITEMS"
	CodeInvalidPriceStep    Code = "INVALID_PRICE_STEP"
	CodeInvalidQtyStep      Code = "INVALID_QTY_STEP"
	CodeOutOfRange          Code = "OUT_OF_RANGE"
	CodeUnauthorized        Code = "UNAUTHORIZED"
	CodeForbidden           Code = "FORBIDDEN"
	CodeRateLimited         Code = "RATE_LIMITED"
	CodeIdempotencyConflict Code = "IDEMPOTENCY_CONFLICT"
	CodeNotFound            Code = "NOT_FOUND"
	CodeMethodNotAllowed    Code = "METHOD_NOT_ALLOWED"
	CodeUnavailable         Code = "UNAVAILABLE"
	CodeInternal            Code = "INTERNAL"
	CodeNotImplemented      Code = "NOT_IMPLEMENTED"
	CodeMalformedRequest    Code = "MALFORMED_REQUEST" // HTTP framing: request line, header fields, Host, transfer coding, version
	CodeHeadersTooLarge     Code = "HEADERS_TOO_LARGE" // header block over the server's limit
)

// Error is the JSON body of every error answer: {"code": ..., "message": ...}.
type Error struct {
	Status  int    `json:"-"`
	Code    Code   `json:"code"`
	Message string `json:"message"`
	// Field names the offending input field, when there is one.
	Field string `json:"field,omitempty"`
	// RetryAfter is in seconds, for 429 and 503 answers.
	RetryAfter int `json:"retry_after,omitempty"`
}

func (e *Error) Error() string { return string(e.Code) + ": " + e.Message }

// Errf builds an Error.
func Errf(status int, code Code, field, msg string) *Error {
	return &Error{Status: status, Code: code, Field: field, Message: msg}
}

// WriteError writes e as JSON with its status (and Retry-After when set).
func WriteError(w http.ResponseWriter, e *Error) {
	RecordError(w, "native", string(e.Code))
	if e.RetryAfter > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(e.RetryAfter))
	}
	WriteJSON(w, e.Status, e)
}

// FramingError is the API's answer when net/http refuses a request's HTTP
// framing by itself, before any handler (gateway/h1's ErrorAnswer): JSON
// {code, message} like every other error, and a 4xx even where net/http
// says 501 (a transfer coding it does not know) or 505 (an HTTP version):
// those are bad input, and a client must not be able to raise the
// server-error rate at will.
func FramingError(status int, text string) *Error {
	e := &Error{Status: http.StatusBadRequest, Code: CodeMalformedRequest}
	switch {
	case status == http.StatusRequestHeaderFieldsTooLarge:
		e.Status, e.Code, e.Message = status, CodeHeadersTooLarge, "the request's header fields are over the server's limit"
	case status == http.StatusNotImplemented:
		e.Message = "unsupported Transfer-Encoding: send the body with a Content-Length, or chunked"
	case status == http.StatusHTTPVersionNotSupported:
		e.Message = "unsupported HTTP version: use HTTP/1.1"
	default:
		if status < 500 {
			e.Status = status
		}
		e.Message = "malformed HTTP request"
		if _, detail, ok := strings.Cut(text, ": "); ok {
			e.Message += ": " + detail
		}
	}
	return e
}

// Encode is the error's JSON body, as WriteError sends it.
func (e *Error) Encode() []byte {
	b, _ := json.Marshal(e)
	return append(b, '\n')
}

// ErrorRecorder is a ResponseWriter (or a writer it wraps) that counts
// API errors by code: the binary's /metrics implements it.
type ErrorRecorder interface {
	RecordError(api, code string)
}

// RecordError tells the first ErrorRecorder among w and the writers it
// wraps (Unwrap) that an error answer with this code is being written.
func RecordError(w http.ResponseWriter, api, code string) {
	for w != nil {
		if r, ok := w.(ErrorRecorder); ok {
			r.RecordError(api, code)
			return
		}
		u, ok := w.(interface{ Unwrap() http.ResponseWriter })
		if !ok {
			return
		}
		w = u.Unwrap()
	}
}

// jsonContentType is shared by every response (net/http only reads it),
// saving Header.Set's allocation per answer.
var jsonContentType = []string{"application/json"}

// WriteJSON writes v as a JSON body with status.
func WriteJSON(w http.ResponseWriter, status int, v any) {
	w.Header()["Content-Type"] = jsonContentType
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// jsonBufs holds the buffers writeJSONWith encodes into.
var jsonBufs = sync.Pool{New: func() any { b := make([]byte, 0, 1024); return &b }}

// writeJSONWith answers 200 with the JSON enc appends (a hand-written
// encoder, orderjson.go: the order path's hottest answers), byte for byte
// what WriteJSON would send, with a Content-Length so that a large batch
// answer is not chunked.
func writeJSONWith(w http.ResponseWriter, enc func([]byte) []byte) {
	bp := jsonBufs.Get().(*[]byte)
	b := append(enc((*bp)[:0]), '\n') // as json.Encoder ends a value
	h := w.Header()
	h["Content-Type"] = jsonContentType
	h["Content-Length"] = []string{strconv.Itoa(len(b))}
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(b)
	if cap(b) <= 64<<10 { // a rare huge answer is not kept
		*bp = b[:0]
		jsonBufs.Put(bp)
	}
}
