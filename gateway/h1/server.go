// Package h1 serves the API's hot HTTP/1.1 requests (order entry) on a lean
// connection loop and hands every other connection to a net/http server.
//
// Why: on the 2-core machine `sampan bench api` measures, a request and
// its answer cost 25.6 µs of CPU (client included) through net/http and
// 20.1 µs through this loop; a single-order REST request 73 against 64 µs.
// net/http pays for a background-read goroutine and its deadline changes,
// a cancellable context and buffers per request, and a flush per answer
// even when the next request is already buffered (docs/performance.md).
//
// What it takes: a request whose method and path the Lane accepts and
// whose framing is plain — HTTP/1.1, CRLF line endings, well-formed header
// lines, one Host, at most one decimal Content-Length, a whole request
// within the read buffer, no Transfer-Encoding, Expect or Upgrade, and no
// Connection option but keep-alive. It runs the same http.Handler on it.
// Anything else (a WebSocket upgrade, a chunked body, a malformed or
// oversized header, HTTP/1.0, a percent-encoded path, any path off the
// lane) hands the connection, with every byte not yet consumed, to
// Fallback, which serves it for the rest of its life: net/http decides
// every unusual case exactly as it would have alone (its own plain-text
// refusals can be rewritten: ErrorAnswer).
//
// Pipelined requests are answered in order, one at a time; responses are
// written out together when no further request is already buffered.
package h1

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"runtime/debug"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// Server is a lean HTTP/1.1 server in front of a net/http one.
type Server struct {
	// Handler serves the requests the lane takes.
	Handler http.Handler
	// Lane reports whether a request for method and path is served here.
	Lane func(method, path string) bool
	// Fallback serves the connections handed over. Its Handler should be
	// the same as Handler. Serve starts it; Shutdown stops it.
	Fallback *http.Server
	// ReadHeaderTimeout bounds the time from a request's first byte to the
	// end of its header block (zero: 10 s), as net/http's does.
	ReadHeaderTimeout time.Duration
	// BufferSize is each connection's read buffer (zero: 8 KiB, enough
	// for a signed batch of 20 orders); a request must fit in it, header
	// and body, to be served on the lane.
	BufferSize int
	// Log receives handler panics (nil: slog.Default()).
	Log *slog.Logger
	// ErrorAnswer, when set, replaces the plain-text answers net/http
	// writes by itself, before any handler, when it refuses a handed-over
	// request's framing (a malformed request line or header field, no
	// Host, an unsupported transfer coding or HTTP version, a header block
	// over its limit). It gets net/http's status and text and returns the
	// status and JSON body to send instead; the connection still closes.
	ErrorAnswer func(status int, text string) (int, []byte)

	mu      sync.Mutex
	ln      net.Listener
	handoff *handoff
	conns   map[*conn]struct{}
	closing atomic.Bool
	served  atomic.Int64  // requests answered on the lane
	handed  atomic.Int64  // connections handed to the fallback
	idle    chan struct{} // signalled when a connection ends
}

// Serve accepts connections on ln until Shutdown or a permanent accept
// error; it returns http.ErrServerClosed after Shutdown.
func (s *Server) Serve(ln net.Listener) error {
	s.mu.Lock()
	if s.closing.Load() {
		s.mu.Unlock()
		ln.Close()
		return http.ErrServerClosed
	}
	s.ln = ln
	s.handoff = newHandoff(ln.Addr())
	s.conns = map[*conn]struct{}{}
	s.idle = make(chan struct{}, 1)
	s.mu.Unlock()
	go func() { _ = s.Fallback.Serve(s.handoff) }()
	stop := make(chan struct{})
	defer close(stop)
	go s.sweep(stop)
	var backoff time.Duration
	for {
		nc, err := ln.Accept()
		if err != nil {
			if s.closing.Load() {
				return http.ErrServerClosed
			}
			if errors.Is(err, net.ErrClosed) {
				return err
			}
			// Out of file descriptors and the like: wait and retry, as
			// net/http does, rather than stop serving.
			backoff = min(max(2*backoff, 5*time.Millisecond), time.Second)
			time.Sleep(backoff)
			continue
		}
		backoff = 0
		c := s.newConn(nc)
		if c == nil {
			nc.Close()
			continue
		}
		go c.serve()
	}
}

func (s *Server) headerTimeout() time.Duration {
	if s.ReadHeaderTimeout > 0 {
		return s.ReadHeaderTimeout
	}
	return 10 * time.Second
}

func (s *Server) log() *slog.Logger {
	if s.Log != nil {
		return s.Log
	}
	return slog.Default()
}

func (s *Server) newConn(nc net.Conn) *conn {
	size := s.BufferSize
	if size <= 0 {
		size = 8 << 10
	}
	ctx, cancel := context.WithCancel(context.Background())
	c := &conn{srv: s, nc: nc, remote: nc.RemoteAddr().String(), ctx: ctx, cancel: cancel,
		br: bufio.NewReaderSize(nc, size), bw: bufio.NewWriterSize(nc, 4<<10)}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closing.Load() {
		cancel()
		return nil
	}
	s.conns[c] = struct{}{}
	return c
}

// forget removes c from the live set (it ended or was handed over).
func (s *Server) forget(c *conn) {
	s.mu.Lock()
	delete(s.conns, c)
	s.mu.Unlock()
	select {
	case s.idle <- struct{}{}:
	default:
	}
}

// sweep closes connections stuck in a header block longer than the
// header timeout: one timer for the server instead of a read deadline set
// and cleared on every request.
func (s *Server) sweep(stop <-chan struct{}) {
	limit := s.headerTimeout()
	t := time.NewTicker(min(limit/4, time.Second))
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case now := <-t.C:
			s.mu.Lock()
			for c := range s.conns {
				if now.UnixNano()-c.headStart.Load() > int64(limit) && c.state.CompareAndSwap(stateHead, stateClosed) {
					c.nc.Close()
				}
			}
			s.mu.Unlock()
		}
	}
}

// Shutdown stops accepting, closes idle connections, lets the busy ones
// finish their request, and shuts the fallback server down, all within
// ctx; past it, the remaining connections are closed.
func (s *Server) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	s.closing.Store(true)
	ln, started := s.ln, s.handoff != nil
	s.mu.Unlock()
	if !started {
		return nil
	}
	ln.Close()
	fallback := make(chan error, 1)
	go func() { fallback <- s.Fallback.Shutdown(ctx) }()
	s.handoff.Close() // even if the fallback's Serve has not started: no hand-over waits on it
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for {
		if s.closeIdle() == 0 {
			return <-fallback
		}
		select {
		case <-ctx.Done():
			s.mu.Lock()
			for c := range s.conns {
				c.nc.Close()
			}
			s.mu.Unlock()
			<-fallback
			return ctx.Err()
		case <-s.idle:
		case <-tick.C:
		}
	}
}

// closeIdle closes the connections waiting for a request and returns how
// many connections are still live.
func (s *Server) closeIdle() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	for c := range s.conns {
		if c.state.CompareAndSwap(stateIdle, stateClosed) {
			c.nc.Close()
		}
	}
	return len(s.conns)
}

// Stats reports how many requests the lane answered and how many
// connections it handed to the fallback server.
func (s *Server) Stats() (served, handed int64) { return s.served.Load(), s.handed.Load() }

// Close closes the listener and every connection at once.
func (s *Server) Close() error {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	err := s.Shutdown(ctx)
	if errors.Is(err, context.Canceled) {
		err = nil
	}
	s.Fallback.Close()
	return err
}

// Connection states, for the sweeper and Shutdown.
const (
	stateIdle   int32 = iota // waiting for a request's first byte
	stateHead                // reading a header block (since headStart)
	stateBusy                // running the handler, writing the answer
	stateClosed              // closed by Shutdown or the header timeout
)

type conn struct {
	srv       *Server
	nc        net.Conn
	remote    string
	ctx       context.Context
	cancel    context.CancelFunc
	br        *bufio.Reader
	bw        *bufio.Writer
	state     atomic.Int32
	headStart atomic.Int64
	body      body
	resp      response
}

func (c *conn) serve() {
	handed := false
	defer func() {
		if handed {
			return
		}
		c.bw.Flush() // answers held back for a pipelined request that never came whole
		c.cancel()
		c.nc.Close()
		c.srv.forget(c)
	}()
	for first, lastPost := true, false; ; first = false {
		if !c.await(first, lastPost) {
			return
		}
		if !c.state.CompareAndSwap(stateIdle, stateHead) {
			return // Shutdown closed it
		}
		c.headStart.Store(time.Now().UnixNano())
		req, n, next := c.read()
		switch next {
		case endConn:
			return
		case handOver:
			handed = c.handOver()
			return
		}
		c.state.Store(stateBusy)
		c.srv.served.Add(1)
		lastPost = req.Method == http.MethodPost
		keep := c.run(req)
		c.br.Discard(n)
		if c.br.Buffered() == 0 || !keep {
			if c.bw.Flush() != nil {
				return
			}
		}
		if !keep || c.srv.closing.Load() {
			return
		}
		c.state.Store(stateIdle)
	}
}

// await waits for the next request's bytes the way net/http does: the
// first request from its first byte; a later one until 4 bytes are there
// (fewer and the peer's close ends the connection without an answer),
// after a POST skipping the stray CR and LF old clients send after a body.
func (c *conn) await(first, lastPost bool) bool {
	if first {
		_, err := c.br.Peek(1)
		return err == nil
	}
	peek, err := c.br.Peek(4)
	if err != nil {
		return false
	}
	if lastPost {
		n := 0
		for n < len(peek) && (peek[n] == '\r' || peek[n] == '\n') {
			n++
		}
		c.br.Discard(n)
		if c.br.Buffered() == 0 {
			_, err = c.br.Peek(1)
			return err == nil
		}
	}
	return true
}

// run calls the handler and writes its answer into bw; false means the
// connection must close after it (a panic, or the handler asked).
func (c *conn) run(req *http.Request) (keep bool) {
	w := &c.resp
	w.reset()
	defer func() {
		if p := recover(); p != nil {
			if p != http.ErrAbortHandler {
				c.srv.log().Error("h1: handler panic", "remote", c.remote, "path", req.URL.Path, "panic", p, "stack", string(debug.Stack()))
			}
			keep = false
		}
	}()
	c.srv.Handler.ServeHTTP(w, req)
	return w.writeTo(c.bw)
}

// handOver gives the connection, unread bytes included, to the fallback
// server; false if it could not take it (shutting down), and c was closed.
func (c *conn) handOver() bool {
	if c.bw.Flush() != nil {
		return false
	}
	c.srv.forget(c)
	c.cancel()
	c.srv.handed.Add(1)
	return c.srv.handoff.push(&handedConn{Conn: c.nc, r: c.br, answer: c.srv.ErrorAnswer})
}

// handedConn reads through the lane's buffer first: the fallback server
// sees the connection's bytes from the first one the lane did not consume.
// Its writes pass through, but for net/http's own framing-error answers
// when answer is set.
type handedConn struct {
	net.Conn
	r      *bufio.Reader
	answer func(int, string) (int, []byte)
}

func (h *handedConn) Read(p []byte) (int, error) { return h.r.Read(p) }

func (h *handedConn) Write(p []byte) (int, error) {
	if h.answer != nil {
		if status, text, ok := plainError(p); ok {
			code, body := h.answer(status, text)
			if _, err := h.Conn.Write(jsonError(code, body)); err != nil {
				return 0, err
			}
			return len(p), nil
		}
	}
	return h.Conn.Write(p)
}

// plainErrorFields are the fields net/http writes on the answers it gives
// by itself, after "HTTP/1.1 <status text>" and before the text again
// (server.go, conn.serve). A handler's answer always has a Date field
// between them, so it never matches.
const plainErrorFields = "\r\nContent-Type: text/plain; charset=utf-8\r\nConnection: close\r\n\r\n"

// plainError recognises one of those answers, written whole in one call.
func plainError(p []byte) (status int, text string, ok bool) {
	rest, found := bytes.CutPrefix(p, []byte("HTTP/1.1 "))
	if !found {
		return 0, "", false
	}
	line, body, found := bytes.Cut(rest, []byte(plainErrorFields))
	if !found || len(line) < 3 || bytes.Contains(line, []byte("\r\n")) {
		return 0, "", false
	}
	status, err := strconv.Atoi(string(line[:3]))
	if err != nil || status < 400 {
		return 0, "", false
	}
	return status, string(body), true
}

// jsonError frames a replacement answer.
func jsonError(status int, body []byte) []byte {
	out := append([]byte("HTTP/1.1 "), strconv.Itoa(status)...)
	out = append(out, ' ')
	out = append(out, http.StatusText(status)...)
	out = append(out, "\r\nContent-Type: application/json\r\nContent-Length: "...)
	out = append(out, strconv.Itoa(len(body))...)
	out = append(out, "\r\nConnection: close\r\n\r\n"...)
	return append(out, body...)
}

// handoff is the listener the fallback server accepts handed connections
// from.
type handoff struct {
	ch   chan net.Conn
	done chan struct{}
	once sync.Once
	addr net.Addr
}

func newHandoff(addr net.Addr) *handoff {
	return &handoff{ch: make(chan net.Conn), done: make(chan struct{}), addr: addr}
}

func (h *handoff) Accept() (net.Conn, error) {
	select {
	case c := <-h.ch:
		return c, nil
	case <-h.done:
		return nil, net.ErrClosed
	}
}

func (h *handoff) Close() error {
	h.once.Do(func() { close(h.done) })
	return nil
}

func (h *handoff) Addr() net.Addr { return h.addr }

func (h *handoff) push(c net.Conn) bool {
	select {
	case h.ch <- c:
		return true
	case <-h.done:
		c.Close()
		return false
	}
}
