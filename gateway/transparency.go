package gateway

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"sync"

	"github.com/sampan-hk/sampan/core/audit"
	"github.com/sampan-hk/sampan/core/engine"
	"github.com/sampan-hk/sampan/exchange"
	"github.com/sampan-hk/sampan/marketdata"
)

// Transparency reads: mark and index history and open interest (public),
// and the live audit trail with a chain check (operators).

// ---- mark and index history, open interest ----

type markHistoryJSON struct {
	Symbol   string                      `json:"symbol"`
	Interval string                      `json:"interval"`
	Samples  []marketdata.MarkSampleView `json:"samples"`
}

// getMarkHistory serves GET /v1/markets/{symbol}/mark/history: one sample
// per interval bucket in which the mark or index changed, oldest first
// (marketdata/markhistory.go). interval defaults to 1m.
func (s *Server) getMarkHistory(w http.ResponseWriter, r *http.Request) *Error {
	m, e := s.perpMarket(r, "interval", "limit")
	if e != nil {
		return e
	}
	iv := marketdata.I1m
	if v := r.URL.Query().Get("interval"); v != "" { // query() refused a repeated one
		var valid bool
		if iv, valid = marketdata.ParseInterval(v); !valid {
			return Errf(http.StatusBadRequest, CodeInvalidField, "interval", "interval must be one of 1m, 5m, 1h, 1d")
		}
	}
	n, e := limitParam(r, 500, ListLimitMax)
	if e != nil {
		return e
	}
	WriteJSON(w, http.StatusOK, markHistoryJSON{Symbol: s.specs[m].Symbol, Interval: iv.String(), Samples: s.md.MarkHistory(m, iv, n)})
	return nil
}

type openInterestJSON struct {
	Symbol   string `json:"symbol"`
	Seq      uint64 `json:"seq"`
	Time     int64  `json:"time"`
	OI       string `json:"open_interest"`
	Notional string `json:"open_interest_notional"`
	Mark     string `json:"mark,omitempty"`
}

// getOpenInterest serves the market's open interest (long size, which the
// engine keeps equal to the short size) and its notional at the mark, read
// from the engine at one sequence number.
func (s *Server) getOpenInterest(w http.ResponseWriter, r *http.Request) *Error {
	m, e := s.perpMarket(r)
	if e != nil {
		return e
	}
	sp := &s.specs[m].Spec
	out := openInterestJSON{Symbol: s.specs[m].Symbol}
	s.x.View(func(en *engine.Engine) {
		long, _ := en.OpenInterest(m)
		mark := en.Mark(m)
		out.Seq, out.Time = en.Seq(), en.Now()/1e6
		out.OI, out.Notional, out.Mark = sp.FormatQty(long), sp.FormatAmount(sp.Notional(long, mark)), s.priceStr(m, mark)
	})
	WriteJSON(w, http.StatusOK, out)
	return nil
}

// ---- audit trail ----

// AuditTrail is a node's live copy of the audit chain that `sampan audit
// export` computes offline: record n is the n-th engine event, kind
// "engine.<event>", payload its binary encoding (engine.AppendEvent),
// chained with core/audit. Whoever builds it must feed it every event from
// the first (cmd/sampan seeds it by replaying the journal before the node
// opens, then follows the live subscription); events it already has are
// skipped, and a gap stops it with an error rather than chaining a
// different history. It keeps the newest Keep records.
type AuditTrail struct {
	mu    sync.Mutex
	keep  int
	chain audit.Chain
	recs  []audit.Record // newest last; capacity 2×keep, trimmed to keep when full
	err   error

	// Reused by every record (under mu): the hash of a record is
	// sha256(prev ‖ audit.Canonical(...)), as audit.Link computes it, but
	// from one reused buffer instead of a fresh hasher and encoding per
	// event; payloads are cut from a shared slab instead of one
	// allocation each, and kind names are built once per kind. This was
	// most of the trail's cost besides SHA-256 itself.
	enc   []byte // the event's payload, encoded
	canon []byte // prev ‖ the record's canonical layout
	slab  []byte // payload storage of kept records
	kinds [256]string
}

// auditSlab is the size of one payload slab; a slab is dropped by the
// garbage collector once no kept record points into it.
const auditSlab = 64 << 10

// DefaultAuditKeep is how many records a node keeps for GET /v1/admin/audit
// (and verifies on every read).
const DefaultAuditKeep = 4096

// NewAuditTrail returns an empty trail keeping the newest keep records.
func NewAuditTrail(keep int) *AuditTrail {
	if keep <= 0 {
		keep = DefaultAuditKeep
	}
	return &AuditTrail{keep: keep}
}

// Append chains one engine event. An event at or below the head is already
// in the chain (raft replays what the journal replay saw) and is skipped.
func (t *AuditTrail) Append(ev *engine.Event) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.appendLocked(ev)
}

// AppendBatch chains events in order, under one lock: Append for each.
func (t *AuditTrail) AppendBatch(evs []engine.Event) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	for i := range evs {
		if err := t.appendLocked(&evs[i]); err != nil {
			return err
		}
	}
	return nil
}

func (t *AuditTrail) appendLocked(ev *engine.Event) error {
	if t.err != nil {
		return t.err
	}
	head, prev := t.chain.Head()
	if ev.Seq <= head {
		return nil
	}
	if ev.Seq != head+1 {
		t.err = fmt.Errorf("audit trail: event %d follows record %d; the events between are missing", ev.Seq, head)
		return t.err
	}
	var err error
	if t.enc, err = engine.AppendEvent(t.enc[:0], ev); err != nil {
		t.err = fmt.Errorf("audit trail: event %d: %w", ev.Seq, err)
		return t.err
	}
	rec := audit.Record{Seq: ev.Seq, Time: ev.Time, Kind: t.kindName(ev.Kind), Payload: t.keepPayload(t.enc), Prev: prev}
	t.canon = audit.Canonical(append(t.canon[:0], prev[:]...), rec.Seq, rec.Time, rec.Kind, rec.Payload)
	rec.Hash = sha256.Sum256(t.canon)
	t.chain = audit.Resume(rec.Seq, rec.Hash)
	if t.recs == nil {
		t.recs = make([]audit.Record, 0, 2*t.keep)
	}
	t.recs = append(t.recs, rec)
	if len(t.recs) == cap(t.recs) {
		// Window copies records out, so the kept ones move down in place.
		t.recs = t.recs[:copy(t.recs, t.recs[len(t.recs)-t.keep:])]
	}
	return nil
}

// kindName is the record kind of an event kind, "engine.<event>", built
// once per kind and checked the way audit.Chain.Append checks it (a bad
// kind is a bug in the event constants: it panics).
func (t *AuditTrail) kindName(k engine.EventKind) string {
	if t.kinds[k] == "" {
		name := "engine." + k.String()
		var probe audit.Chain
		probe.Append(0, name, nil)
		t.kinds[k] = name
	}
	return t.kinds[k]
}

// keepPayload copies p into the slab (a payload above audit.MaxPayloadLen
// panics, as in audit.Chain.Append).
func (t *AuditTrail) keepPayload(p []byte) []byte {
	if len(p) > audit.MaxPayloadLen {
		panic(audit.ErrPayload)
	}
	if len(p) == 0 {
		return nil
	}
	if cap(t.slab)-len(t.slab) < len(p) {
		t.slab = make([]byte, 0, max(auditSlab, len(p)))
	}
	n := len(t.slab)
	t.slab = append(t.slab, p...)
	return t.slab[n:len(t.slab):len(t.slab)]
}

// Fail stops the trail: reads report err and the chain check fails.
func (t *AuditTrail) Fail(err error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.err == nil {
		t.err = err
	}
}

// Follow chains every event of sub until it ends (run it in a goroutine).
// A subscription dropped for being slow cannot be refilled while the node
// runs (the journal is in use), so the trail then stops with that reason.
func (t *AuditTrail) Follow(sub *exchange.Subscription) {
	for b := range sub.C {
		if err := t.AppendBatch(b.Events); err != nil {
			sub.Close()
			return
		}
	}
	if err := sub.Err(); err != nil {
		head, _ := t.Head()
		t.Fail(fmt.Errorf("audit trail stopped after record %d: %w (restart the node to rebuild it)", head, err))
	}
}

// Head returns the last record's seq and hash.
func (t *AuditTrail) Head() (uint64, audit.Hash) {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.chain.Head()
}

// Window returns a copy of the kept records, oldest first, and the error
// that stopped the trail, if any.
func (t *AuditTrail) Window() ([]audit.Record, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	n := min(len(t.recs), t.keep)
	return append([]audit.Record(nil), t.recs[len(t.recs)-n:]...), t.err
}

// AuditLimitMax bounds ?limit= on GET /v1/admin/audit.
const AuditLimitMax = 1000

// auditRecordJSON has the fields and values of a `sampan audit export`
// line, so the two can be compared field for field.
type auditRecordJSON struct {
	Seq     uint64 `json:"seq"`
	Time    int64  `json:"time"` // engine time, unix nanoseconds
	Kind    string `json:"kind"`
	Payload string `json:"payload"`
	Prev    string `json:"prev"`
	Hash    string `json:"hash"`
}

type auditChainJSON struct {
	OK      bool   `json:"ok"`
	Checked uint64 `json:"checked"`
	From    uint64 `json:"from"`
	Anchor  string `json:"anchor"`
	HeadSeq uint64 `json:"head_seq"`
	Head    string `json:"head"`
	Error   string `json:"error"`
}

type auditJSON struct {
	Records []auditRecordJSON `json:"records"`
	Chain   auditChainJSON    `json:"chain"`
}

// getAudit serves the newest audit records (oldest first, like an export)
// and a chain check: the kept window is exported and verified with
// core/audit's offline verifier, so "ok" means every kept record's hash
// was recomputed from its content and links to the one before.
func (s *Server) getAudit(w http.ResponseWriter, r *http.Request, _ *call) *Error {
	if e := query(r, "limit"); e != nil {
		return e
	}
	n, e := limitParam(r, 50, AuditLimitMax)
	if e != nil {
		return e
	}
	if s.cfg.Audit == nil {
		return Errf(http.StatusNotFound, CodeNotFound, "", "this server keeps no live audit trail; use `sampan audit export`")
	}
	recs, stopped := s.cfg.Audit.Window()
	out := auditJSON{Records: []auditRecordJSON{}, Chain: checkChain(recs, stopped)}
	for _, rec := range recs[max(0, len(recs)-n):] {
		out.Records = append(out.Records, auditRecordJSON{Seq: rec.Seq, Time: rec.Time, Kind: rec.Kind,
			Payload: hex.EncodeToString(rec.Payload), Prev: hex.EncodeToString(rec.Prev[:]), Hash: hex.EncodeToString(rec.Hash[:])})
	}
	WriteJSON(w, http.StatusOK, out)
	return nil
}

// checkChain verifies recs as an export would be verified offline.
func checkChain(recs []audit.Record, stopped error) auditChainJSON {
	c := auditChainJSON{OK: true}
	if len(recs) > 0 {
		data, err := audit.Export(recs)
		var h audit.Header
		if err == nil {
			h, err = audit.Verify(data)
		}
		if err != nil {
			c.OK, c.Error = false, err.Error()
		} else {
			c.Checked, c.From, c.HeadSeq = h.Count, h.From, h.To
			c.Anchor, c.Head = hex.EncodeToString(h.Prev[:]), hex.EncodeToString(h.Head[:])
		}
	}
	if stopped != nil && c.OK {
		c.OK, c.Error = false, stopped.Error()
	}
	return c
}
