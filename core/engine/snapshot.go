package engine

import (
	"bytes"
	"crypto/sha256"
	"errors"

	"github.com/sampan-hk/sampan/core/book"
	"github.com/sampan-hk/sampan/core/fixed"
	"github.com/sampan-hk/sampan/core/funding"
	"github.com/sampan-hk/sampan/core/ledger"
	"github.com/sampan-hk/sampan/core/oracle"
	"github.com/sampan-hk/sampan/core/risk"
)

// Snapshots: the journal (the raft log whose FSM is the engine) stores
// AppendSnapshot's bytes and rebuilds the engine with Restore plus a replay
// of the log after the snapshot. A restored engine has the same StateHash
// as the original and behaves identically from then on: everything that
// decides future behaviour is in the snapshot, not only what the hash sees
// (the book's id sequence and free-slot order decide future order ids; the
// idempotency window's order decides which key is forgotten next).
//
// Layout (little-endian, fixed width unless noted):
//
//	"SMPS" | u8 version (snapshotVersion)
//	u64 event seq | i64 engine time
//	u16 markets | markets × { u8 len + symbol }          (must match the config)
//	u32 clients | clients × { u8 len + ref | u8 class | u8 flags (1 knowledge, 2 liquidating)
//	                          | i64 expiry | u32 deriv account | u32 fin account
//	                          | markets × line: 10 × i64 + i32 orders }
//	u32 expiries | expiries × { i64 at | u32 client }     (heap array order, as hashed)
//	ledger (ledger.AppendState)
//	u32 keys | keys × { u32 scope | u64 key | u64 fingerprint | u16 code | u32 client | u64 order | i64 qty } oldest first
//	                 (order: the governance id instead for an operator-scoped key, idem.go orderOrID)
//	markets × { i64 mark | u32 settlement account | i64 long OI | i64 short OI | book (book.AppendSnapshot) }
//	valuation (appendValuationState: indexes, marks, samplers, funding)
//	[32]byte SHA-256 of all the above
//
// The trailer catches corruption that would still parse (a flipped byte in
// a client's reference would pass every invariant). Restore then parses
// with bounds checks on every count before allocating, rebuilds the books
// through book.Restore (exact ids, slots and free list) and finally runs
// CheckInvariants, so a snapshot that parses but describes an impossible
// state is refused too.
//
// Scratch state (the event buffer, the touched-line generation stamps) is
// not stored: it is empty between commands.

const snapshotVersion = 4

// Version 4 (margin financing) adds, after the liquidation state, the
// financing section (appendFinState: the lending book, spot reservations,
// close-outs in progress, securities sale instructions). Versions 1–3
// restore with the financing book at genesis and an empty financing
// account for every client (they predate spot markets, so a config with
// spot markets cannot have written them; their market count check fails).

// Version 3 (governance) adds, right after the market symbols, the
// governance and eligibility stores' input log (u32 n | n bytes; see
// governance.go), which Restore replays into fresh stores before anything
// that depends on governed parameters (book bands, funding caps). Versions
// 1 and 2 restore with the stores at genesis.

// Version 2 (liquidation) adds the client flag 4 (queued for liquidation)
// and, after the valuation state, the insurance fund's lines (client 0,
// markets × line) and the liquidation queue (u32 n | n × u32 client).
// Version 1 snapshots still restore (no fund positions, empty queue).
// An ADL quantile publication cycle in progress is encoded without a new
// version: the next-publication time carries a flag bit (never set by
// older writers) and the cycle's state follows the published quantiles
// (liquidate.go appendLiquidationState).

var snapshotMagic = []byte("SMPS")

// Snapshot errors.
var (
	ErrSnapshotChecksum = errors.New("engine: snapshot checksum mismatch (corrupt or truncated)")
	ErrSnapshotCorrupt  = errors.New("engine: snapshot is corrupt or does not match the config")
	ErrSnapshotVersion  = errors.New("engine: unknown snapshot version")
)

const lineFields = 10 // i64 fields of a risk.Line before Orders

// AppendSnapshot appends the engine's complete state to dst. Call it
// between commands (the journal does, from the FSM).
func (e *Engine) AppendSnapshot(dst []byte) []byte {
	start := len(dst)
	dst = append(dst, snapshotMagic...)
	dst = append(dst, snapshotVersion)
	dst = put64(dst, e.seq)
	dst = put64(dst, uint64(e.now))
	dst = put16(dst, uint16(len(e.markets)))
	for i := range e.markets {
		s := e.markets[i].spec.Symbol
		dst = append(dst, byte(len(s)))
		dst = append(dst, s...)
	}
	dst = put32(dst, uint32(len(e.govLog)))
	dst = append(dst, e.govLog...)
	dst = put32(dst, uint32(len(e.clients)-1))
	for id := 1; id < len(e.clients); id++ {
		c := &e.clients[id]
		dst = append(dst, byte(len(c.ref)))
		dst = append(dst, c.ref...)
		dst = append(dst, byte(c.class), b2u(c.knowledge)|b2u(c.liquidating)<<1|b2u(c.queued)<<2)
		dst = put64(dst, uint64(c.expiry))
		dst = put32(dst, uint32(c.deriv))
		dst = put32(dst, uint32(c.fin))
		for j := range e.markets {
			l := e.line(ClientID(id), MarketID(j))
			for _, v := range lineValues(l) {
				dst = put64(dst, uint64(v))
			}
			dst = put32(dst, uint32(l.Orders))
		}
	}
	dst = put32(dst, uint32(len(e.expiries)))
	for _, x := range e.expiries {
		dst = put64(dst, uint64(x.at))
		dst = put32(dst, uint32(x.client))
	}
	dst = e.led.AppendState(dst)
	dst = put32(dst, uint32(e.idem.n))
	e.idem.each(func(en *idemEntry) {
		dst = put32(dst, en.scope)
		dst = put64(dst, en.key)
		dst = put64(dst, en.fp)
		dst = put16(dst, uint16(en.res.Code))
		dst = put32(dst, uint32(en.res.Client))
		dst = put64(dst, e.idem.orderOrID(en))
		dst = put64(dst, uint64(en.res.Qty))
	})
	for i := range e.markets {
		m := &e.markets[i]
		dst = put64(dst, uint64(m.mark))
		dst = put32(dst, uint32(m.settlement))
		dst = put64(dst, uint64(m.longOI))
		dst = put64(dst, uint64(m.shortOI))
		dst = m.book.AppendSnapshot(dst)
	}
	dst = e.appendValuationState(dst)
	dst = e.appendLiquidationState(dst)
	dst = e.appendFinState(dst)
	sum := sha256.Sum256(dst[start:])
	return append(dst, sum[:]...)
}

func lineValues(l *risk.Line) [lineFields]int64 {
	return [lineFields]int64{int64(l.Size), int64(l.Cost), int64(l.Realized), l.Leverage,
		int64(l.BuyQty), int64(l.SellQty), int64(l.BuyNotional), int64(l.SellNotional),
		int64(l.ReduceBuyQty), int64(l.ReduceSellQty)}
}

// Restore builds an engine from a snapshot taken with the same config. It
// returns an error, never panics, for data that is truncated, corrupt,
// of another version, or of another market set.
func Restore(cfg Config, data []byte) (*Engine, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if len(data) < len(snapshotMagic)+1+sha256.Size || !bytes.Equal(data[:len(snapshotMagic)], snapshotMagic) {
		return nil, ErrSnapshotCorrupt
	}
	body := data[:len(data)-sha256.Size]
	if sum := sha256.Sum256(body); !bytes.Equal(sum[:], data[len(body):]) {
		return nil, ErrSnapshotChecksum
	}
	ver := body[len(snapshotMagic)]
	if ver < 1 || ver > snapshotVersion {
		return nil, ErrSnapshotVersion
	}
	return restoreBody(cfg, body[len(snapshotMagic)+1:], ver)
}

// restoreBody parses a checksummed body. Ranges are checked before any
// arithmetic, but the last line of defence against values that overflow
// deep inside the margin arithmetic (which panics by design, as a broken
// invariant) is a recover here: restoring is input handling, and bad input
// must be an error.
func restoreBody(cfg Config, b []byte, ver uint8) (e *Engine, err error) {
	defer func() {
		if recover() != nil {
			e, err = nil, ErrSnapshotCorrupt
		}
	}()
	e = build(cfg, false)
	r := &reader{b: b}
	bad := func() (*Engine, error) { return nil, ErrSnapshotCorrupt }
	e.seq = r.u64()
	e.now = int64(r.u64())
	nm := len(e.markets)
	if int(r.u16()) != nm {
		return bad()
	}
	for i := range e.markets {
		n := int(r.u8())
		if string(r.take(n)) != e.markets[i].spec.Symbol {
			return bad()
		}
	}
	if ver >= 3 {
		n := int(r.u32())
		if r.err != nil || n > len(r.b) || !e.replayGovLog(r.take(n)) {
			return bad()
		}
	}
	nc := int(r.u32())
	perClient := 1 + 1 + 1 + 8 + 4 + 4 + nm*(lineFields*8+4)
	if r.err != nil || nc > cfg.MaxClients || nc > len(r.b)/perClient {
		return bad()
	}
	for id := 1; id <= nc; id++ {
		ref := string(r.take(int(r.u8())))
		c := client{ref: ref, class: Classification(r.u8())}
		flags := r.u8()
		c.knowledge, c.liquidating, c.queued = flags&1 != 0, flags&2 != 0, flags&4 != 0
		c.expiry = int64(r.u64())
		c.deriv, c.fin = ledger.AccountID(r.u32()), ledger.AccountID(r.u32())
		if r.err != nil || len(ref) > RefMax || c.class >= classEnd || flags > 7 || (ver == 1 && flags > 3) {
			return bad()
		}
		e.clients = append(e.clients, c)
		for j := 0; j < nm; j++ {
			var v [lineFields]int64
			for k := range v {
				v[k] = int64(r.u64())
			}
			l := risk.Line{Size: fixed.Qty(v[0]), Cost: fixed.Amount(v[1]), Realized: fixed.Amount(v[2]), Leverage: v[3],
				BuyQty: fixed.Qty(v[4]), SellQty: fixed.Qty(v[5]), BuyNotional: fixed.Amount(v[6]), SellNotional: fixed.Amount(v[7]),
				ReduceBuyQty: fixed.Qty(v[8]), ReduceSellQty: fixed.Qty(v[9]), Orders: int32(r.u32())}
			// Positions beyond the largest quantity a bracket table can
			// hold would overflow the margin arithmetic; no real state has them.
			if l.Size > maxPosition || l.Size < -maxPosition {
				return bad()
			}
			e.lines = append(e.lines, l)
			e.touchGen = append(e.touchGen, 0)
		}
	}
	nx := int(r.u32())
	if r.err != nil || nx > len(r.b)/12 {
		return bad()
	}
	e.expiries = make(expiryHeap, nx)
	for i := range e.expiries {
		e.expiries[i] = expiry{at: int64(r.u64()), client: ClientID(r.u32())}
		if x := e.expiries[i].client; x == 0 || int(x) > nc || (i > 0 && e.expiries.less(i, (i-1)/2)) {
			return bad()
		}
	}
	if r.err != nil {
		return bad()
	}
	led, rest, lerr := ledger.RestoreState(r.b)
	if lerr != nil {
		return bad()
	}
	e.led, r.b = led, rest
	accounts := ledger.AccountID(led.Accounts())
	for id := 1; id <= nc; id++ {
		c := &e.clients[id]
		if c.deriv < ledger.SystemAccounts || c.deriv >= accounts || c.fin < ledger.SystemAccounts || c.fin >= accounts || c.deriv == c.fin {
			return bad()
		}
	}
	nk := int(r.u32())
	if r.err != nil || nk > cfg.IdemMax || nk > len(r.b)/42 {
		return bad()
	}
	for i := 0; i < nk; i++ {
		scope, key, fp := r.u32(), r.u64(), r.u64()
		res := e.idem.restoredResult(scope, Code(r.u16()), ClientID(r.u32()), r.u64(), fixed.Qty(r.u64()))
		if r.err != nil || key == 0 || e.idem.get(scope, key) != nil {
			return bad()
		}
		e.idem.put(scope, key, fp, res)
	}
	for i := range e.markets {
		m := &e.markets[i]
		m.mark = fixed.Price(r.u64())
		m.settlement = ledger.AccountID(r.u32())
		m.longOI, m.shortOI = fixed.Qty(r.u64()), fixed.Qty(r.u64())
		if r.err != nil || m.mark < 0 || m.mark > m.spec.Spec.MaxPrice || m.settlement < ledger.SystemAccounts || m.settlement >= accounts {
			return bad()
		}
		bk, rest, berr := book.Restore(m.spec.Spec, m.spec.Limits, book.Owner(nc+1), r.b)
		if berr != nil {
			return bad()
		}
		m.book, r.b = bk, rest
		// The band is in the book's snapshot; it must be the one the mark
		// implies (setting it again must change nothing).
		// (Before the first mark the book has no band at all.)
		lo, hi, on := bk.Band()
		if m.mark > 0 {
			bk.SetBand(m.mark, m.spec.BandPpm)
		}
		if lo2, hi2, on2 := bk.Band(); lo2 != lo || hi2 != hi || on2 != on || on != (m.mark > 0) {
			return bad()
		}
	}
	if r.err != nil || !e.restoreValuationState(r) {
		return bad()
	}
	if ver >= 2 && !e.restoreLiquidationState(r) {
		return bad()
	}
	present := false
	if ver >= 4 {
		switch r.u8() {
		case 0:
		case 1:
			present = true
		default:
			return bad()
		}
	}
	if !e.restoreFinState(r, present) {
		return bad()
	}
	if len(r.b) != 0 {
		return bad()
	}
	for id := 1; id < len(e.clients); id++ {
		e.clients[id].registered = e.elig.Classified(uint64(id))
	}
	e.lix.Grow(len(e.clients))
	if n := len(e.lines) - len(e.adlQ); n > 0 { // version 1: nothing published yet
		e.adlQ = append(e.adlQ, make([]uint8, n)...)
	}
	for id := 1; id < len(e.clients); id++ {
		e.reindex(ClientID(id))
	}
	if err := e.CheckInvariants(); err != nil {
		return nil, errors.New("engine: snapshot state fails invariants: " + err.Error())
	}
	return e, nil
}

// maxPosition bounds |position| in lots for restored data. No market's
// MaxQty or bracket caps come near it.
const maxPosition = 1 << 40

// appendValuationState encodes every underlying's index state and last
// explanation, then every market's mark, sampler and funding state, for
// snapshots and the state hash:
//
//	per underlying: u8 live | index (u8 quotes × {u16 source | i64 price | i64 time} | i64 last | u8 valid | u8 reduce-only)
//	                | last result (resultState)
//	per market:     u16 basis samples × {i64 time | i64 basis} | i64 last call | u8 seen
//	                | sampler {i64 sum | u32 n | i64 last period | u8 has}
//	                | i64 rate | i64 next funding | i64 last trade | u8 flags (1 oracle mark, 2 reduce-only announced)
//	                | mark result (markResultState) | u16 history × record, oldest first
func (e *Engine) appendValuationState(dst []byte) []byte {
	for i := range e.unders {
		u := &e.unders[i]
		st := u.index.State()
		dst = append(dst, b2u(u.live), byte(len(st.Quotes)))
		for _, q := range st.Quotes {
			dst = put16(dst, uint16(q.Source))
			dst = put64(dst, uint64(q.Price))
			dst = put64(dst, uint64(q.Time))
		}
		dst = put64(dst, uint64(st.Last))
		dst = append(dst, b2u(st.Valid), b2u(st.ReduceOnly))
		dst = appendResult(dst, &u.last)
	}
	for i := range e.markets {
		v := &e.markets[i].val
		ms := v.mark.State()
		dst = put16(dst, uint16(len(ms.Samples)))
		for _, s := range ms.Samples {
			dst = put64(dst, uint64(s.Time))
			dst = put64(dst, uint64(s.Basis))
		}
		dst = put64(dst, uint64(ms.LastTime))
		dst = append(dst, b2u(ms.Seen))
		ss := v.sampler.State()
		dst = put64(dst, uint64(ss.Sum))
		dst = put32(dst, uint32(ss.Samples))
		dst = put64(dst, uint64(ss.LastPeriod))
		dst = append(dst, b2u(ss.HasPeriod))
		dst = put64(dst, uint64(v.rate))
		dst = put64(dst, uint64(v.nextFunding))
		dst = put64(dst, uint64(v.lastTrade))
		dst = append(dst, b2u(v.oracleMark)|b2u(v.reduceOnly)<<1)
		dst = appendMarkResult(dst, &v.markRes)
		dst = put16(dst, uint16(v.histN))
		for k := 0; k < v.histN; k++ {
			h := &v.hist[(v.histHead+k)%FundingHistoryMax]
			dst = put64(dst, uint64(h.At))
			dst = put64(dst, uint64(h.Rate))
			dst = put64(dst, uint64(h.AvgPremium))
			dst = put32(dst, h.Samples)
			dst = append(dst, b2u(h.Capped))
			dst = put64(dst, uint64(h.Mark))
			dst = put64(dst, uint64(h.Paid))
			dst = put64(dst, uint64(h.Received))
			dst = put64(dst, uint64(h.Residue))
		}
	}
	return dst
}

// appendResult encodes an index explanation (constituent names come from
// the config, by source id):
// i64 time | i64 price | u8 flags (valid, healthy, reduce-only, bounded) | i64 reference | i64 median
// | u16 fresh | u16 included | u8 n × {u16 source | i64 price | i64 observed | i64 age | u32 weight | u32 used | i64 deviation | u8 excluded}
// | u8 n × {u8 kind | u16 fresh | u16 included | i64 from | i64 to | i64 wanted}
func appendResult(dst []byte, r *oracle.Result) []byte {
	dst = put64(dst, uint64(r.Time))
	dst = put64(dst, uint64(r.Price))
	dst = append(dst, b2u(r.Valid)|b2u(r.Healthy)<<1|b2u(r.ReduceOnly)<<2|b2u(r.Bounded)<<3)
	dst = put64(dst, uint64(r.Reference))
	dst = put64(dst, uint64(r.Median))
	dst = put16(dst, uint16(r.Fresh))
	dst = put16(dst, uint16(r.Included))
	dst = append(dst, byte(len(r.Constituents)))
	for _, c := range r.Constituents {
		dst = put16(dst, uint16(c.Source))
		dst = put64(dst, uint64(c.Price))
		dst = put64(dst, uint64(c.ObservedAt))
		dst = put64(dst, uint64(c.Age))
		dst = put32(dst, c.Weight)
		dst = put32(dst, c.WeightUsed)
		dst = put64(dst, uint64(c.Deviation))
		dst = append(dst, byte(c.Excluded))
	}
	dst = append(dst, byte(len(r.Events)))
	for _, x := range r.Events {
		dst = append(dst, byte(x.Kind))
		dst = put16(dst, uint16(x.Fresh))
		dst = put16(dst, uint16(x.Included))
		dst = put64(dst, uint64(x.From))
		dst = put64(dst, uint64(x.To))
		dst = put64(dst, uint64(x.Wanted))
	}
	return dst
}

// appendMarkResult: i64 × {time, index, funding rate, time to funding, mid, last} | u8 flags (has mid, has last,
// sample added, clamped) | i64 × {funding price, basis average} | u32 basis samples
// | i64 × {basis price, last price, median, band low, band high, mark}
func appendMarkResult(dst []byte, r *oracle.MarkResult) []byte {
	in := &r.Inputs
	for _, v := range [...]int64{in.Time, int64(in.Index), int64(in.FundingRate), in.TimeToFunding, int64(in.Mid), int64(in.Last)} {
		dst = put64(dst, uint64(v))
	}
	dst = append(dst, b2u(in.HasMid)|b2u(in.HasLast)<<1|b2u(r.SampleAdded)<<2|b2u(r.Clamped)<<3)
	dst = put64(dst, uint64(r.FundingPrice))
	dst = put64(dst, uint64(r.BasisAverage))
	dst = put32(dst, uint32(r.BasisSamples))
	for _, v := range [...]fixed.Price{r.BasisPrice, r.LastPrice, r.Median, r.BandLow, r.BandHigh, r.Mark} {
		dst = put64(dst, uint64(v))
	}
	return dst
}

// restoreValuationState reads appendValuationState's bytes into a freshly
// built engine, checking every count against its limit before use.
func (e *Engine) restoreValuationState(r *reader) bool {
	for i := range e.unders {
		u := &e.unders[i]
		u.live = r.boolean()
		var st oracle.IndexState
		nq := int(r.u8())
		if nq > oracle.MaxSources {
			return false
		}
		maxPx := e.markets[u.markets[0]].spec.Spec.MaxPrice
		for k := 0; k < nq; k++ {
			q := oracle.Quote{Source: oracle.SourceID(r.u16()), Price: fixed.Price(r.u64()), Time: int64(r.u64())}
			if q.Price <= 0 || q.Price > maxPx || (k > 0 && q.Source <= st.Quotes[k-1].Source) {
				return false
			}
			st.Quotes = append(st.Quotes, q)
		}
		st.Last = fixed.Price(r.u64())
		st.Valid, st.ReduceOnly = r.boolean(), r.boolean()
		if r.err != nil || st.Last < 0 || st.Last > maxPx || st.Valid != (st.Last > 0) || u.index.Restore(st) != nil {
			return false
		}
		if !readResult(r, &u.last, e.cfg.Sources) {
			return false
		}
	}
	e.nextDue = noDue
	for i := range e.markets {
		m := &e.markets[i]
		v := &m.val
		maxPx := int64(m.spec.Spec.MaxPrice)
		var ms oracle.MarkState
		ns := int(r.u16())
		if ns > oracle.MaxBasisSamples {
			return false
		}
		for k := 0; k < ns; k++ {
			s := oracle.BasisSample{Time: int64(r.u64()), Basis: int64(r.u64())}
			if s.Basis < -maxPx || s.Basis > maxPx {
				return false
			}
			ms.Samples = append(ms.Samples, s)
		}
		ms.LastTime, ms.Seen = int64(r.u64()), r.boolean()
		if r.err != nil || v.mark.Restore(ms) != nil {
			return false
		}
		ss := funding.SamplerState{Sum: funding.Rate(r.u64()), Samples: int(r.u32()), LastPeriod: int64(r.u64()), HasPeriod: r.boolean()}
		if r.err != nil || int64(ss.Samples) > e.cfg.Funding.Interval/e.cfg.Funding.SamplePeriod+1 || v.sampler.Restore(ss) != nil {
			return false
		}
		v.rate, v.nextFunding, v.lastTrade = funding.Rate(r.u64()), int64(r.u64()), fixed.Price(r.u64())
		fl := r.u8()
		v.oracleMark, v.reduceOnly = fl&1 != 0, fl&2 != 0
		if r.err != nil || fl > 3 || v.rate < -v.capRate || v.rate > v.capRate || v.nextFunding < 0 ||
			v.lastTrade < 0 || int64(v.lastTrade) > maxPx || (v.nextFunding != 0) != e.unders[v.ul].live {
			return false
		}
		if v.nextFunding != 0 {
			e.nextDue = min(e.nextDue, v.nextFunding)
		}
		if !readMarkResult(r, &v.markRes) {
			return false
		}
		v.histN = int(r.u16())
		if v.histN > FundingHistoryMax {
			return false
		}
		for k := 0; k < v.histN; k++ {
			h := &v.hist[k]
			h.At, h.Rate, h.AvgPremium = int64(r.u64()), funding.Rate(r.u64()), funding.Rate(r.u64())
			h.Samples, h.Capped = r.u32(), r.boolean()
			h.Mark, h.Paid, h.Received, h.Residue = fixed.Price(r.u64()), fixed.Amount(r.u64()), fixed.Amount(r.u64()), fixed.Amount(r.u64())
		}
	}
	return r.err == nil
}

func readResult(r *reader, x *oracle.Result, sources []oracle.Source) bool {
	*x = oracle.Result{Time: int64(r.u64()), Price: fixed.Price(r.u64())}
	fl := r.u8()
	x.Valid, x.Healthy, x.ReduceOnly, x.Bounded = fl&1 != 0, fl&2 != 0, fl&4 != 0, fl&8 != 0
	x.Reference, x.Median = fixed.Price(r.u64()), fixed.Price(r.u64())
	x.Fresh, x.Included = int(r.u16()), int(r.u16())
	n := int(r.u8())
	if fl > 15 || n > len(sources) {
		return false
	}
	for k := 0; k < n; k++ {
		c := oracle.Constituent{Source: oracle.SourceID(r.u16()), Price: fixed.Price(r.u64()), ObservedAt: int64(r.u64()),
			Age: int64(r.u64()), Weight: r.u32(), WeightUsed: r.u32(), Deviation: fixed.Ppm(r.u64()), Excluded: oracle.Exclusion(r.u8())}
		if c.Excluded > oracle.Disabled {
			return false
		}
		for _, s := range sources {
			if s.ID == c.Source {
				c.Name = s.Name
			}
		}
		x.Constituents = append(x.Constituents, c)
	}
	ne := int(r.u8())
	if ne > 2 {
		return false
	}
	for k := 0; k < ne; k++ {
		x.Events = append(x.Events, oracle.Event{Kind: oracle.EventKind(r.u8()), Fresh: int(r.u16()), Included: int(r.u16()),
			From: fixed.Price(r.u64()), To: fixed.Price(r.u64()), Wanted: fixed.Price(r.u64())})
	}
	return r.err == nil
}

func readMarkResult(r *reader, x *oracle.MarkResult) bool {
	in := &x.Inputs
	in.Time, in.Index, in.FundingRate, in.TimeToFunding = int64(r.u64()), fixed.Price(r.u64()), funding.Rate(r.u64()), int64(r.u64())
	in.Mid, in.Last = fixed.Price(r.u64()), fixed.Price(r.u64())
	fl := r.u8()
	in.HasMid, in.HasLast, x.SampleAdded, x.Clamped = fl&1 != 0, fl&2 != 0, fl&4 != 0, fl&8 != 0
	x.FundingPrice, x.BasisAverage, x.BasisSamples = fixed.Price(r.u64()), fixed.Price(r.u64()), int(r.u32())
	x.BasisPrice, x.LastPrice, x.Median = fixed.Price(r.u64()), fixed.Price(r.u64()), fixed.Price(r.u64())
	x.BandLow, x.BandHigh, x.Mark = fixed.Price(r.u64()), fixed.Price(r.u64()), fixed.Price(r.u64())
	return r.err == nil && fl <= 15
}
