package h1

import (
	"bufio"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
)

// response collects a handler's answer; writeTo frames it the way
// net/http would: the handler's fields sorted, then Date, Content-Length
// and a sniffed Content-Type unless the handler set them.
type response struct {
	hdr    http.Header
	late   http.Header // what Header returns after WriteHeader
	status int
	body   []byte
}

func (w *response) reset() {
	w.hdr, w.late = nil, nil
	w.status = 0
	w.body = w.body[:0]
	if cap(w.body) > 64<<10 {
		w.body = nil // a large answer's buffer is not kept by an idle connection
	}
}

// Header returns the fields to send. Changes after WriteHeader are not
// sent, as with net/http (which copies the map at WriteHeader; here
// Header returns another map from then on).
func (w *response) Header() http.Header {
	if w.status != 0 {
		if w.late == nil {
			w.late = make(http.Header)
		}
		return w.late
	}
	if w.hdr == nil {
		w.hdr = make(http.Header, 4)
	}
	return w.hdr
}

func (w *response) WriteHeader(code int) {
	if w.status != 0 || code < 200 || code > 999 {
		return // a second call, or an informational answer (not on the lane)
	}
	w.status = code
}

func (w *response) Write(p []byte) (int, error) {
	if err := w.writable(); err != nil {
		return 0, err
	}
	w.body = append(w.body, p...)
	return len(p), nil
}

func (w *response) WriteString(s string) (int, error) {
	if err := w.writable(); err != nil {
		return 0, err
	}
	w.body = append(w.body, s...)
	return len(s), nil
}

// writable starts a 200 answer if none was started, and refuses a body
// the status does not allow.
func (w *response) writable() error {
	if w.status == 0 {
		w.WriteHeader(http.StatusOK)
	}
	if !bodyAllowed(w.status) {
		return http.ErrBodyNotAllowed
	}
	return nil
}

func bodyAllowed(status int) bool {
	return status != http.StatusNoContent && status != http.StatusNotModified
}

// writeTo writes the status line, fields and body into bw; false if the
// handler asked to close the connection.
func (w *response) writeTo(bw *bufio.Writer) (keep bool) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	h := w.hdr
	keep = true
	for _, v := range h["Connection"] {
		if strings.EqualFold(strings.TrimSpace(v), "close") {
			keep = false
		}
	}
	bw.WriteString("HTTP/1.1 ")
	var num [8]byte
	bw.Write(strconv.AppendInt(num[:0], int64(w.status), 10))
	bw.WriteByte(' ')
	if text := http.StatusText(w.status); text != "" {
		bw.WriteString(text)
	} else {
		bw.WriteString("status code ")
		bw.Write(strconv.AppendInt(num[:0], int64(w.status), 10))
	}
	bw.WriteString("\r\n")
	if len(h) > 0 {
		_ = h.Write(bw)
	}
	if _, set := h["Date"]; !set {
		bw.WriteString("Date: ")
		bw.Write(now())
		bw.WriteString("\r\n")
	}
	if _, set := h["Content-Length"]; !set && bodyAllowed(w.status) {
		bw.WriteString("Content-Length: ")
		bw.Write(strconv.AppendInt(num[:0], int64(len(w.body)), 10))
		bw.WriteString("\r\n")
	}
	// Sniffed as net/http does: not when the body is encoded.
	if _, set := h["Content-Type"]; !set && len(w.body) > 0 && h.Get("Content-Encoding") == "" {
		bw.WriteString("Content-Type: ")
		bw.WriteString(http.DetectContentType(w.body))
		bw.WriteString("\r\n")
	}
	bw.WriteString("\r\n")
	bw.Write(w.body)
	return keep
}

// dateCache holds the Date field's text for one second.
type dateCache struct {
	sec  int64
	text []byte
}

var date atomic.Pointer[dateCache]

// now is the current time in the Date field's format, formatted at most
// once a second.
func now() []byte {
	t := time.Now()
	if d := date.Load(); d != nil && d.sec == t.Unix() {
		return d.text
	}
	d := &dateCache{sec: t.Unix(), text: t.UTC().AppendFormat(nil, http.TimeFormat)}
	date.Store(d)
	return d.text
}
