package h1

import (
	"bytes"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// What read decided.
const (
	serveHere = iota // a request for the lane
	handOver         // anything else: the fallback server's
	endConn          // the peer went away or sent too slowly
)

// read waits for a whole request and parses it. n is how many buffered
// bytes it spans (header block and body), to discard after the answer.
// Nothing is consumed unless it returns serveHere.
func (c *conn) read() (req *http.Request, n int, next int) {
	head, next := c.head()
	if next != serveHere {
		return nil, 0, next
	}
	c.state.Store(stateBusy)
	p, ok := parseHead(head)
	if !ok || !c.srv.Lane(p.method, p.path) {
		return nil, 0, handOver
	}
	n = len(head) + p.length
	if n > c.br.Size() {
		return nil, 0, handOver
	}
	buf, err := c.br.Peek(n) // the body: read without a header deadline, as net/http does
	if err != nil {
		return nil, 0, handOver // net/http answers a cut-off body as it sees fit
	}
	return c.request(&p, buf[len(head):n]), n, serveHere
}

// head returns the header block, through its blank line, still in the
// buffer. Lines must end in CRLF; a bare LF, or a block that does not fit
// the buffer, goes to the fallback server, which knows those cases.
func (c *conn) head() ([]byte, int) {
	for {
		buf, _ := c.br.Peek(c.br.Buffered())
		end, bare := headEnd(buf)
		if end > 0 {
			return buf[:end], serveHere
		}
		if bare || len(buf) == c.br.Size() {
			return nil, handOver
		}
		if _, err := c.br.Peek(len(buf) + 1); err != nil {
			if c.state.Load() == stateClosed {
				return nil, endConn // the header timeout closed it
			}
			// Cut off mid-header: net/http answers that (400), from the
			// same bytes and the same error.
			return nil, handOver
		}
	}
}

// headEnd finds the end of a header block of CRLF lines: the index after
// its empty line, or 0 if it is not all here yet. bare reports a line
// ending in a lone LF.
func headEnd(buf []byte) (end int, bare bool) {
	for start := 0; ; {
		i := bytes.IndexByte(buf[start:], '\n')
		if i < 0 {
			return 0, false
		}
		if i == 0 || buf[start+i-1] != '\r' {
			return 0, true
		}
		if i == 1 {
			return start + 2, false
		}
		start += i + 1
	}
}

// parsedHead is a parsed header block.
type parsedHead struct {
	method, target, path, query, host string
	length                            int
	fields                            []field
}

type field struct{ name, value []byte }

// parseHead parses a request line and header fields. It accepts only the
// plain shape the lane serves; false sends the request to the fallback.
func parseHead(head []byte) (p parsedHead, ok bool) {
	line, rest, _ := bytes.Cut(head, crlf)
	m, line, ok1 := bytes.Cut(line, space)
	target, proto, ok2 := bytes.Cut(line, space)
	if !ok1 || !ok2 || string(proto) != "HTTP/1.1" || !plainTarget(target) {
		return p, false
	}
	if p.method = method(m); p.method == "" {
		return p, false
	}
	p.target = string(target)
	p.path, p.query, _ = strings.Cut(p.target, "?")
	hosts, lengths := 0, 0
	for len(rest) > 2 {
		var l []byte
		l, rest, _ = bytes.Cut(rest, crlf)
		name, value, found := bytes.Cut(l, colon)
		if !found || !token(name) {
			return p, false
		}
		value = bytes.Trim(value, " \t")
		if !fieldValue(value) {
			return p, false
		}
		switch {
		case bytes.EqualFold(name, hdrHost):
			hosts++
			p.host = string(value)
			if !plainHost(value) {
				return p, false
			}
			continue
		case bytes.EqualFold(name, hdrContentLength):
			lengths++
			if len(value) == 0 || len(value) > 7 || !digits(value) {
				return p, false
			}
			p.length, _ = strconv.Atoi(string(value))
		case bytes.EqualFold(name, hdrConnection):
			// keep-alive is HTTP/1.1's default (and what most clients
			// send); any other option (close, upgrade) is net/http's.
			if !keepAlive(value) {
				return p, false
			}
		case refused(name):
			return p, false
		}
		p.fields = append(p.fields, field{name, value})
	}
	return p, hosts == 1 && lengths <= 1
}

// request builds the *http.Request net/http would have built for p.
func (c *conn) request(p *parsedHead, body []byte) *http.Request {
	h := make(http.Header, len(p.fields))
	for _, f := range p.fields {
		k := canonical(f.name)
		h[k] = append(h[k], string(f.value))
	}
	r := &http.Request{
		Method:        p.method,
		URL:           &url.URL{Path: p.path, RawQuery: p.query},
		Proto:         "HTTP/1.1",
		ProtoMajor:    1,
		ProtoMinor:    1,
		Header:        h,
		ContentLength: int64(p.length),
		Host:          p.host,
		RemoteAddr:    c.remote,
		RequestURI:    p.target,
		Body:          http.NoBody,
	}
	if p.length > 0 {
		c.body.b = body
		r.Body = &c.body
	}
	return r.WithContext(c.ctx)
}

// body reads a request body held in the connection's buffer; it is valid
// until the handler returns.
type body struct{ b []byte }

func (b *body) Read(p []byte) (int, error) {
	if len(b.b) == 0 {
		return 0, io.EOF
	}
	n := copy(p, b.b)
	b.b = b.b[n:]
	return n, nil
}

func (b *body) Close() error { return nil }

var (
	crlf             = []byte("\r\n")
	space            = []byte(" ")
	colon            = []byte(":")
	hdrHost          = []byte("Host")
	hdrContentLength = []byte("Content-Length")
	hdrConnection    = []byte("Connection")
)

// keepAlive: a Connection field listing only keep-alive.
func keepAlive(v []byte) bool {
	for _, opt := range bytes.Split(v, []byte(",")) {
		if !bytes.EqualFold(bytes.Trim(opt, " \t"), []byte("keep-alive")) {
			return false
		}
	}
	return true
}

// method returns the method as a constant string, or "" for one the lane
// leaves to the fallback.
func method(m []byte) string {
	for _, k := range [...]string{http.MethodGet, http.MethodPost, http.MethodDelete, http.MethodPut, http.MethodPatch} {
		if string(m) == k {
			return k
		}
	}
	return ""
}

// plainTarget: an origin-form target whose path is made of characters
// url.URL keeps as they are (so Path, EscapedPath and RequestURI all give
// the bytes the client sent, and signed them over), and whose query is
// visible ASCII without a fragment.
func plainTarget(t []byte) bool {
	if len(t) == 0 || t[0] != '/' {
		return false
	}
	path, query, _ := bytes.Cut(t, []byte("?"))
	if !alnumOr(path, "-._~/$&+,:;=@") {
		return false
	}
	for _, b := range query {
		if b <= ' ' || b >= 0x7f || b == '#' {
			return false
		}
	}
	return true
}

// plainHost: a host[:port] of letters, digits and . - : [ ] only.
func plainHost(v []byte) bool { return alnumOr(v, ".-:[]") }

// token: RFC 9110 tchar+.
func token(b []byte) bool { return alnumOr(b, "!#$%&'*+-.^_`|~") }

// alnumOr: one or more ASCII letters, digits and bytes of extra.
func alnumOr(b []byte, extra string) bool {
	if len(b) == 0 {
		return false
	}
	for _, c := range b {
		ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte(extra, c) >= 0
		if !ok {
			return false
		}
	}
	return true
}

// fieldValue: visible ASCII, spaces and tabs (obs-text goes to net/http).
func fieldValue(b []byte) bool {
	for _, c := range b {
		if (c < ' ' && c != '\t') || c >= 0x7f {
			return false
		}
	}
	return true
}

func digits(b []byte) bool {
	for _, c := range b {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// refused names the fields that change the framing or the connection:
// requests carrying them are the fallback server's.
func refused(name []byte) bool {
	for _, k := range [...]string{"Transfer-Encoding", "Expect", "Upgrade", "Te", "Trailer", "Proxy-Connection"} {
		if bytes.EqualFold(name, []byte(k)) {
			return true
		}
	}
	return false
}

// commonFields are canonical names returned without allocating.
var commonFields = [...]string{"Content-Type", "Content-Length", "User-Agent", "Accept", "Accept-Encoding",
	"Accept-Language", "Authorization", "Origin", "Referer", "Cookie", "Cache-Control",
	"X-Sampan-Key", "X-Sampan-Timestamp", "X-Sampan-Signature", "X-Mbx-Apikey", "X-Forwarded-For", "X-Real-Ip"}

// canonical is textproto's canonical form of a header name.
func canonical(name []byte) string {
	for _, k := range commonFields {
		if len(k) == len(name) && bytes.EqualFold(name, []byte(k)) {
			return k
		}
	}
	return http.CanonicalHeaderKey(string(name))
}
