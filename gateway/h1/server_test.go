package h1

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"log"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// echo answers with everything a handler can see of its request, and has
// paths that exercise the answer's framing.
func echo(w http.ResponseWriter, r *http.Request) {
	path := r.URL.Path
	switch {
	case strings.HasSuffix(path, "/panic"):
		panic("test panic")
	case strings.HasSuffix(path, "/abort"):
		panic(http.ErrAbortHandler)
	case strings.HasSuffix(path, "/close"):
		w.Header().Set("Connection", "close")
	case strings.HasSuffix(path, "/nocontent"):
		w.WriteHeader(http.StatusNoContent)
		return
	case strings.HasSuffix(path, "/html"):
		io.WriteString(w, "<html><body>hi</body></html>")
		return
	case strings.HasSuffix(path, "/teapot"):
		w.Header().Set("Retry-After", "1")
		w.WriteHeader(http.StatusTeapot)
	case strings.HasSuffix(path, "/big"):
		w.Header().Set("Content-Type", "text/plain")
		w.Write(bytes.Repeat([]byte("0123456789"), 10_000))
		return
	case strings.HasSuffix(path, "/empty"):
		return
	case strings.HasSuffix(path, "/twice"):
		w.WriteHeader(http.StatusCreated)
		w.WriteHeader(http.StatusInternalServerError)
	case strings.HasSuffix(path, "/length"):
		w.Header().Set("Content-Length", "2")
		io.WriteString(w, "ok")
		return
	case strings.HasSuffix(path, "/date"):
		w.Header().Set("Date", "Mon, 02 Jan 2006 15:04:05 GMT")
	case strings.HasSuffix(path, "/gzip"):
		w.Header().Set("Content-Encoding", "gzip")
		io.WriteString(w, "not really gzip")
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	var b bytes.Buffer
	fmt.Fprintf(&b, "%s %s path=%q rawpath=%q uri=%q query=%q %v host=%q proto=%s len=%d remote=%t err=%v\n",
		r.Method, r.RequestURI, r.URL.Path, r.URL.RawPath, r.URL.RequestURI(), r.URL.RawQuery, r.URL.Query(), r.Host, r.Proto,
		r.ContentLength, r.RemoteAddr != "", err)
	for _, k := range slices.Sorted(func(yield func(string) bool) {
		for k := range r.Header {
			if !yield(k) {
				return
			}
		}
	}) {
		fmt.Fprintf(&b, "%s=%q\n", k, r.Header[k])
	}
	b.Write(body)
	w.Header().Set("Content-Type", "text/plain")
	w.Header().Add("X-Echo", "a")
	w.Header().Add("X-Echo", "b")
	w.Write(b.Bytes())
}

var discardLog = slog.New(slog.DiscardHandler)

func onLane(method, path string) bool { return strings.HasPrefix(path, "/lane/") }

// pair is a plain net/http server and a lane server in front of another,
// with the same handler, listening on network ("tcp" or "unix": the
// differential tests and the fuzz target open a connection per stream,
// and on TCP the half-closing client would leave each port in TIME-WAIT,
// tens of thousands of them within seconds of fuzzing).
type pair struct {
	network, plain, lane string
	h1                   *Server
}

func newPair(t testing.TB, h http.Handler, network string) *pair {
	t.Helper()
	quiet := log.New(io.Discard, "", 0)
	listen := func(name string) net.Listener {
		addr := "127.0.0.1:0"
		if network == "unix" {
			addr = filepath.Join(t.TempDir(), name)
		}
		ln, err := net.Listen(network, addr)
		if err != nil {
			t.Fatal(err)
		}
		return ln
	}
	ln1 := listen("plain")
	plain := &http.Server{Handler: h, ErrorLog: quiet}
	go plain.Serve(ln1)
	ln2 := listen("lane")
	s := &Server{Handler: h, Lane: onLane, Fallback: &http.Server{Handler: h, ErrorLog: quiet}, Log: discardLog}
	go s.Serve(ln2)
	t.Cleanup(func() {
		plain.Close()
		s.Close()
	})
	return &pair{network: network, plain: ln1.Addr().String(), lane: ln2.Addr().String(), h1: s}
}

// exchange sends stream on a new connection, half-closes it, and reads
// until the server closes: the raw bytes of everything answered.
func exchange(t testing.TB, network, addr string, stream []byte) []byte {
	t.Helper()
	c, err := net.Dial(network, addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	go func() {
		c.Write(stream)
		c.(interface{ CloseWrite() error }).CloseWrite()
	}()
	out, err := io.ReadAll(c)
	if err != nil && !errors.Is(err, net.ErrClosed) && !strings.Contains(err.Error(), "reset by peer") {
		t.Fatalf("reading answers: %v", err)
	}
	return out
}

// answers parses a stream of responses into comparable text: status,
// fields (without Date, and without the framing fields, which may differ:
// net/http chunks an answer over 2 KiB, the lane sends its length) and
// body. A trailing partial response is shown as such.
func answers(raw []byte) []string {
	var out []string
	br := bufio.NewReader(bytes.NewReader(raw))
	for {
		if _, err := br.Peek(1); err != nil {
			return out
		}
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			rest, _ := io.ReadAll(br)
			return append(out, fmt.Sprintf("unparsed: %v %q", err, rest))
		}
		body, err := io.ReadAll(resp.Body)
		resp.Header.Del("Date")
		resp.Header.Del("Content-Length") // the body is compared
		var b strings.Builder
		fmt.Fprintf(&b, "%s close=%t\n", resp.Status, resp.Close)
		resp.Header.Write(&b)
		fmt.Fprintf(&b, "\n%s err=%v", body, err)
		if len(body) > 400 {
			fmt.Fprintf(&b, " (%d bytes, sum %x)", len(body), crc32.ChecksumIEEE(body))
		}
		out = append(out, b.String())
	}
}

// same runs stream against both servers and fails on any difference.
func (p *pair) same(t testing.TB, name string, stream []byte) {
	t.Helper()
	want := answers(exchange(t, p.network, p.plain, stream))
	got := answers(exchange(t, p.network, p.lane, stream))
	if !slices.Equal(want, got) {
		for i := range want {
			want[i] = clip(want[i])
		}
		for i := range got {
			got[i] = clip(got[i])
		}
		t.Errorf("%s: stream %q\nnet/http answered %d:\n%s\nthe lane answered %d:\n%s", name, stream,
			len(want), strings.Join(want, "\n---\n"), len(got), strings.Join(got, "\n---\n"))
	}
}

// clip keeps a failure readable.
func clip(s string) string {
	if len(s) > 600 {
		return s[:300] + "…" + s[len(s)-300:]
	}
	return s
}

func req(line string, fields ...string) string {
	return line + "\r\n" + strings.Join(append(fields, ""), "\r\n") + "\r\n"
}

func post(path, body string, fields ...string) string {
	return req("POST "+path+" HTTP/1.1", append([]string{"Host: x", fmt.Sprintf("Content-Length: %d", len(body))}, fields...)...) + body
}

func get(path string, fields ...string) string {
	return req("GET "+path+" HTTP/1.1", append([]string{"Host: example.com:8080"}, fields...)...)
}

// The cases cover what the lane serves and each kind of request it must
// hand over; every stream must be answered exactly as net/http alone does.
var cases = []struct {
	name   string
	stream string
	lane   bool // the lane must answer at least one request of it
}{
	{"get", get("/lane/a?x=1&y=two"), true},
	{"post", post("/lane/orders", `{"symbol":"BTC-USD-PERP"}`, "Content-Type: application/json", "x-sampan-key: k1"), true},
	{"pipelined", get("/lane/1") + post("/lane/2", "abc") + get("/lane/3"), true},
	{"lane then off", get("/lane/1") + get("/off/2") + get("/lane/3"), true},
	{"off first", get("/off/1") + get("/lane/2"), false},
	{"delete, put, patch", req("DELETE /lane/o/1 HTTP/1.1", "Host: x") + post("/lane/p", "") + req("PUT /lane/q HTTP/1.1", "Host: x", "Content-Length: 1") + "z" + req("PATCH /lane/r HTTP/1.1", "Host: x", "Content-Length: 0"), true},
	{"head", req("HEAD /lane/a HTTP/1.1", "Host: x"), false},
	{"chunked body", req("POST /lane/c HTTP/1.1", "Host: x", "Transfer-Encoding: chunked") + "3\r\nabc\r\n0\r\n\r\n" + get("/lane/after"), false},
	{"expect", req("POST /lane/e HTTP/1.1", "Host: x", "Content-Length: 2", "Expect: 100-continue") + "hi", false},
	{"bare LF", "GET /lane/lf HTTP/1.1\nHost: x\n\n", false},
	{"bare LF later", "GET /lane/lf HTTP/1.1\r\nHost: x\nX: y\r\n\r\n", false},
	{"HTTP/1.0", req("GET /lane/old HTTP/1.0", "Host: x"), false},
	{"no host", req("GET /lane/a HTTP/1.1"), false},
	{"two hosts", req("GET /lane/a HTTP/1.1", "Host: a", "Host: b"), false},
	{"odd host", req("GET /lane/a HTTP/1.1", "Host: a_b"), false},
	{"two lengths", req("POST /lane/a HTTP/1.1", "Host: a", "Content-Length: 1", "Content-Length: 1") + "x", false},
	{"signed length", req("POST /lane/a HTTP/1.1", "Host: a", "Content-Length: +1") + "x", false},
	{"spaced length", req("POST /lane/a HTTP/1.1", "Host: a", "Content-Length:   1  ") + "x", true},
	{"huge length", req("POST /lane/a HTTP/1.1", "Host: a", "Content-Length: 99999999999"), false},
	{"no colon", req("GET /lane/a HTTP/1.1", "Host: a", "Bogus"), false},
	{"space before colon", req("GET /lane/a HTTP/1.1", "Host: a", "X-A : b"), false},
	{"obs-fold", req("GET /lane/a HTTP/1.1", "Host: a", "X-A: b", " c"), false},
	{"control in value", req("GET /lane/a HTTP/1.1", "Host: a", "X-A: b\x01c"), false},
	{"obs-text in value", req("GET /lane/a HTTP/1.1", "Host: a", "X-A: caf\xc3\xa9"), false},
	{"escaped path", get("/lane/a%20b"), false},
	{"escaped query", get("/lane/a?sym=BTC%2DUSD&x=a+b&y=%3C&z"), true},
	{"query punctuation", get("/lane/a?a=<b>&c={d}|e^f`g\\h\"i'j(k)*!l[m]"), true},
	{"path sub-delims", get("/lane/a$b&c+d,e:f;g=h@i-j.k_l~m"), true},
	{"path oddities", get("/lane/a!b") + get("/lane/a'b") + get("/lane/a(b)") + get("/lane/a*b") + get("/lane/a<b") +
		get("/lane/a{b}") + get("/lane/a|b") + get("/lane/a\"b") + get("/lane/a^b") + get("/lane/a`b") + get("/lane/a\\b") + get("/lane/a[b]"), false},
	{"dot segments", get("/lane/../x") + get("/lane/./x") + get("/lane//x"), true},
	{"fragment", get("/lane/a#frag"), false},
	{"absolute form", req("GET http://x/lane/a HTTP/1.1", "Host: x"), false},
	{"asterisk", req("OPTIONS * HTTP/1.1", "Host: x"), false},
	{"lower-case method", req("post /lane/a HTTP/1.1", "Host: x", "Content-Length: 0"), false},
	{"other method", req("FOO /lane/a HTTP/1.1", "Host: x"), false},
	{"double space", req("GET  /lane/a HTTP/1.1", "Host: x"), false},
	{"huge header", get("/lane/a", "X-Big: "+strings.Repeat("b", 20_000)), false},
	{"body over the buffer", post("/lane/a", strings.Repeat("z", 20_000)) + get("/lane/b"), false},
	{"connection close", get("/lane/a", "Connection: close") + get("/lane/b"), false},
	{"connection keep-alive", get("/lane/a", "Connection: keep-alive", "Keep-Alive: timeout=5") + get("/lane/b", "connection: Keep-Alive , keep-alive"), true},
	{"connection keep-alive and close", get("/lane/a", "Connection: keep-alive, close"), false},
	{"connection empty", get("/lane/a", "Connection:"), false},
	{"upgrade", get("/lane/ws", "Connection: Upgrade", "Upgrade: websocket"), false},
	{"mixed-case fields", get("/lane/a", "x-sampan-key: k", "CONTENT-TYPE: t", "x_under: u", "X-Empty:", "X-Tabs: \t v \t", "X-Dup: 1", "x-dup: 2"), true},
	{"panic", get("/lane/1") + get("/lane/panic") + get("/lane/3"), true},
	{"abort", get("/lane/abort") + get("/lane/3"), true},
	{"handler closes", get("/lane/close") + get("/lane/3"), true},
	{"no content", get("/lane/nocontent") + get("/lane/2"), true},
	{"sniffed", get("/lane/html"), true},
	{"status", get("/lane/teapot"), true},
	{"big answer", get("/lane/big") + get("/lane/2"), true},
	{"empty answer", get("/lane/empty"), true},
	{"two statuses", get("/lane/twice"), true},
	{"own length", get("/lane/length"), true},
	{"own date", get("/lane/date"), true},
	{"encoded", get("/lane/gzip"), true},
	{"partial header", "GET /lane/a HTTP/1.1\r\nHost: x\r\n", false},
	{"partial body", req("POST /lane/a HTTP/1.1", "Host: x", "Content-Length: 10") + "abc", false},
	{"garbage", "\x16\x03\x01\x00\xa5\x01\x00\x00", false},
	{"empty lines first", "\r\n\r\n" + get("/lane/a"), false},
}

func TestLaneAnswersAsNetHTTP(t *testing.T) {
	p := newPair(t, http.HandlerFunc(echo), "unix")
	for _, c := range cases {
		served, _ := p.h1.Stats()
		p.same(t, c.name, []byte(c.stream))
		after, _ := p.h1.Stats()
		if c.lane && after == served {
			t.Errorf("%s: the lane answered nothing (everything went to net/http, so the comparison proves nothing)", c.name)
		}
		if !c.lane && after != served {
			t.Errorf("%s: the lane answered %d requests; this stream is net/http's", c.name, after-served)
		}
	}
}

// Random pipelined streams made from the cases' requests, cut at random
// places and with random bytes flipped, are answered alike too.
func TestLaneAnswersAsNetHTTPRandomStreams(t *testing.T) {
	p := newPair(t, http.HandlerFunc(echo), "unix")
	rng := rand.New(rand.NewPCG(7, 11))
	n := 300
	if testing.Short() {
		n = 60
	}
	for i := range n {
		var s []byte
		for range 1 + rng.IntN(4) {
			s = append(s, cases[rng.IntN(len(cases))].stream...)
		}
		switch rng.IntN(4) {
		case 0:
			s = s[:rng.IntN(len(s)+1)]
		case 1:
			if len(s) > 0 {
				s[rng.IntN(len(s))] = byte(rng.IntN(256))
			}
		}
		p.same(t, fmt.Sprintf("random %d", i), s)
	}
	if served, handed := p.h1.Stats(); served == 0 || handed == 0 {
		t.Fatalf("served %d on the lane, handed %d over: both paths must be exercised", served, handed)
	}
}

func FuzzLaneAnswersAsNetHTTP(f *testing.F) {
	for _, c := range cases {
		f.Add([]byte(c.stream))
	}
	p := newPair(f, http.HandlerFunc(echo), "unix")
	f.Fuzz(func(t *testing.T, stream []byte) {
		p.same(t, "fuzz", stream)
	})
}

// A connection stuck in a header block is closed after the header
// timeout; one idle between requests is not.
func TestHeaderTimeout(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &Server{Handler: http.HandlerFunc(echo), Lane: onLane, Fallback: &http.Server{Handler: http.HandlerFunc(echo)},
		ReadHeaderTimeout: 200 * time.Millisecond}
	go s.Serve(ln)
	defer s.Close()
	slow, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer slow.Close()
	idle, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer idle.Close()
	io.WriteString(slow, "GET /lane/a HTTP/1.1\r\nHost: x\r\n")
	slow.SetReadDeadline(time.Now().Add(3 * time.Second))
	start := time.Now()
	if n, err := slow.Read(make([]byte, 1)); err == nil || errors.Is(err, errTimeout(err)) {
		t.Fatalf("the stalled header was not cut off: read %d, %v", n, err)
	}
	if el := time.Since(start); el < 150*time.Millisecond {
		t.Fatalf("cut off after %v, before the 200ms timeout", el)
	}
	if _, handed := s.Stats(); handed != 0 {
		t.Fatalf("the timed-out connection was handed to net/http (%d hand-overs) instead of closed", handed)
	}
	time.Sleep(300 * time.Millisecond) // idle past the header timeout
	io.WriteString(idle, get("/lane/a"))
	idle.SetReadDeadline(time.Now().Add(3 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(idle), nil)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("an idle connection was closed by the header timeout: %v", err)
	}
}

func errTimeout(err error) error {
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return err
	}
	return errors.New("not a timeout")
}

// Shutdown closes idle connections at once, lets a request in its handler
// finish and answer, and stops both servers.
func TestShutdown(t *testing.T) {
	release := make(chan struct{})
	entered := make(chan struct{}, 1)
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/slow") {
			entered <- struct{}{}
			<-release
		}
		io.WriteString(w, "done")
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &Server{Handler: h, Lane: onLane, Fallback: &http.Server{Handler: h}}
	served := make(chan error, 1)
	go func() { served <- s.Serve(ln) }()
	addr := ln.Addr().String()
	dial := func() net.Conn {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		c.SetDeadline(time.Now().Add(5 * time.Second))
		return c
	}
	idle, busy, handed := dial(), dial(), dial()
	defer idle.Close()
	defer busy.Close()
	defer handed.Close()
	io.WriteString(idle, get("/lane/a"))
	if _, err := http.ReadResponse(bufio.NewReader(idle), nil); err != nil {
		t.Fatal(err)
	}
	io.WriteString(handed, get("/off/a"))
	if _, err := http.ReadResponse(bufio.NewReader(handed), nil); err != nil {
		t.Fatal(err)
	}
	io.WriteString(busy, get("/lane/slow"))
	<-entered
	var wg sync.WaitGroup
	wg.Add(1)
	var shutErr error
	go func() {
		defer wg.Done()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		shutErr = s.Shutdown(ctx)
	}()
	for _, c := range []net.Conn{idle, handed} {
		if n, err := c.Read(make([]byte, 1)); err != io.EOF {
			t.Fatalf("an idle connection was not closed by Shutdown: %d, %v", n, err)
		}
	}
	close(release)
	resp, err := http.ReadResponse(bufio.NewReader(busy), nil)
	if err != nil {
		t.Fatalf("the request in flight lost its answer: %v", err)
	}
	if b, _ := io.ReadAll(resp.Body); string(b) != "done" {
		t.Fatalf("answer %q", b)
	}
	wg.Wait()
	if shutErr != nil {
		t.Fatalf("Shutdown: %v", shutErr)
	}
	if err := <-served; err != http.ErrServerClosed {
		t.Fatalf("Serve returned %v", err)
	}
	if _, err := net.Dial("tcp", addr); err == nil {
		t.Fatal("still accepting after Shutdown")
	}
}

// Many keep-alive clients at once, each request answered with its own
// body: connections share nothing (CI runs this package with -race).
func TestConcurrentClients(t *testing.T) {
	p := newPair(t, http.HandlerFunc(echo), "tcp")
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 16}}
	defer client.CloseIdleConnections()
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for g := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 100 {
				body := fmt.Sprintf(`{"client":%d,"request":%d}`, g, i)
				resp, err := client.Post("http://"+p.lane+"/lane/orders?n="+strconv.Itoa(i), "application/json", strings.NewReader(body))
				if err != nil {
					errs <- err
					return
				}
				b, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if resp.StatusCode != http.StatusOK || !bytes.HasSuffix(b, []byte(body)) || !bytes.Contains(b, []byte(`query="n=`+strconv.Itoa(i)+`"`)) {
					errs <- fmt.Errorf("client %d request %d: %d %q", g, i, resp.StatusCode, b)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if served, _ := p.h1.Stats(); served < 1600 {
		t.Fatalf("the lane answered %d of 1600 requests", served)
	}
}

// With ErrorAnswer, net/http's own plain-text refusals of a request's
// framing are replaced by the JSON answer it returns (status included:
// 5xx ones become 4xx here), and nothing else is: a handler's plain-text
// error, with its Date field, passes as net/http wrote it.
func TestErrorAnswer(t *testing.T) {
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/off/plain" {
			http.Error(w, "a handler's own plain error", http.StatusTeapot)
			return
		}
		echo(w, r)
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var seen []string
	var mu sync.Mutex
	s := &Server{Handler: h, Lane: onLane, Fallback: &http.Server{Handler: h, ErrorLog: log.New(io.Discard, "", 0)}, Log: discardLog,
		ErrorAnswer: func(status int, text string) (int, []byte) {
			mu.Lock()
			seen = append(seen, fmt.Sprint(status, " ", text))
			mu.Unlock()
			return http.StatusBadRequest, []byte(`{"code":"MALFORMED_REQUEST","message":` + strconv.Quote(text) + `}`)
		}}
	go s.Serve(ln)
	defer s.Close()
	for _, c := range []struct {
		name, stream, net string // net: what net/http said (status and text)
	}{
		{"invalid field name", get("/lane/a", "Bad Name: x"), "400 400 Bad Request: invalid header name"},
		{"no host", req("GET /lane/a HTTP/1.1"), "400 400 Bad Request: missing required Host header"},
		{"transfer coding", req("POST /lane/a HTTP/1.1", "Host: x", "Transfer-Encoding: gzip"), "501 Unsupported transfer encoding"},
		{"HTTP/2.0 line", req("GET /lane/a HTTP/2.0", "Host: x"), "505 505 HTTP Version Not Supported: unsupported protocol version"},
		{"header too large", get("/lane/a", "X-Big: "+strings.Repeat("b", 2<<20)), "431 431 Request Header Fields Too Large"},
		{"after a lane answer", get("/lane/ok") + get("/lane/a", "Bad Name: x"), "400 400 Bad Request: invalid header name"},
	} {
		mu.Lock()
		seen = seen[:0]
		mu.Unlock()
		got := answers(exchange(t, "tcp", ln.Addr().String(), []byte(c.stream)))
		last := got[len(got)-1]
		if !strings.HasPrefix(last, "400 Bad Request close=true\nContent-Type: application/json\r\n") ||
			!strings.Contains(last, `"code":"MALFORMED_REQUEST"`) {
			t.Errorf("%s: answered\n%s", c.name, strings.Join(got, "\n---\n"))
		}
		mu.Lock()
		if len(seen) != 1 || seen[0] != c.net {
			t.Errorf("%s: ErrorAnswer saw %q, want %q", c.name, seen, c.net)
		}
		mu.Unlock()
	}
	seen = seen[:0]
	got := answers(exchange(t, "tcp", ln.Addr().String(), []byte(get("/off/plain"))))
	if len(got) != 1 || !strings.HasPrefix(got[0], "418 I'm a teapot close=false\nContent-Type: text/plain") || len(seen) != 0 {
		t.Errorf("a handler's plain error was rewritten: %q (ErrorAnswer saw %q)", got, seen)
	}
}
