// Package audit is Sampan's tamper-evident audit trail: a hash chain of
// engine records and the JSON-lines export format that carries it out of the
// system, with an offline verifier that needs nothing but the exported bytes.
//
// Each record is (seq, time, kind, payload). Its hash is
//
//	hash = SHA-256(prev ‖ canonical(record))
//
// where prev is the previous record's hash (32 zero bytes before the first
// record) and canonical is a fixed binary layout (see Canonical). Changing,
// removing, inserting or reordering any record changes every later hash, so
// a reader who trusts one hash — the chain head published daily, say — can
// trust everything before it.
//
// The package is pure: it produces and consumes bytes; reading and writing
// files is the caller's job.
package audit

import (
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
)

// Hash is a SHA-256 digest.
type Hash [32]byte

// Limits keep a record small enough to export and verify line by line.
const (
	MaxKindLen    = 64
	MaxPayloadLen = 1 << 20
)

// Record is one entry of the chain with its link to the previous one.
type Record struct {
	Seq     uint64 // 1 for the first record of a chain, then +1 each
	Time    int64  // engine time, unix nanoseconds
	Kind    string // lower-case event name: [a-z0-9_.]
	Payload []byte // the event's canonical binary encoding
	Prev    Hash   // hash of record Seq−1 (zero for Seq 1)
	Hash    Hash   // SHA-256(Prev ‖ Canonical)
}

// Errors of malformed records.
var (
	ErrKind    = errors.New("audit: kind must be 1–64 characters of [a-z0-9_.]")
	ErrPayload = errors.New("audit: payload too large")
)

func validKind(k string) bool {
	if len(k) == 0 || len(k) > MaxKindLen {
		return false
	}
	for i := 0; i < len(k); i++ {
		c := k[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_' || c == '.') {
			return false
		}
	}
	return true
}

// Canonical appends the record's hashed layout to dst:
//
//	"SAMPAN-AUDIT-1" | seq u64 BE | time i64 BE | len(kind) u8 | kind |
//	len(payload) u32 BE | payload
//
// The domain tag keeps these hashes from colliding with any other SHA-256
// use in the system; the length prefixes make the layout unambiguous.
func Canonical(dst []byte, seq uint64, time int64, kind string, payload []byte) []byte {
	dst = append(dst, "SAMPAN-AUDIT-1"...)
	dst = binary.BigEndian.AppendUint64(dst, seq)
	dst = binary.BigEndian.AppendUint64(dst, uint64(time))
	dst = append(dst, byte(len(kind)))
	dst = append(dst, kind...)
	dst = binary.BigEndian.AppendUint32(dst, uint32(len(payload)))
	return append(dst, payload...)
}

// Link computes a record's hash from its predecessor's.
func Link(prev Hash, seq uint64, time int64, kind string, payload []byte) Hash {
	h := sha256.New()
	h.Write(prev[:])
	h.Write(Canonical(nil, seq, time, kind, payload))
	var out Hash
	h.Sum(out[:0])
	return out
}

// Chain appends records. The zero Chain starts a new chain at Seq 1.
type Chain struct {
	seq  uint64
	head Hash
}

// Resume continues a chain whose last record had this seq and hash (after a
// snapshot restore).
func Resume(seq uint64, head Hash) Chain { return Chain{seq: seq, head: head} }

// Head returns the last record's seq and hash (0 and zero hash when empty).
func (c *Chain) Head() (uint64, Hash) { return c.seq, c.head }

// Append links a new record and returns it. The payload is copied. A bad
// kind or an oversized payload is the caller's bug (event kinds are
// constants), so Append panics rather than breaking the chain.
func (c *Chain) Append(time int64, kind string, payload []byte) Record {
	if !validKind(kind) {
		panic(ErrKind)
	}
	if len(payload) > MaxPayloadLen {
		panic(ErrPayload)
	}
	r := Record{Seq: c.seq + 1, Time: time, Kind: kind, Payload: append([]byte(nil), payload...), Prev: c.head}
	r.Hash = Link(r.Prev, r.Seq, r.Time, r.Kind, r.Payload)
	c.seq, c.head = r.Seq, r.Hash
	return r
}

// LineError reports the first line of an export that fails verification.
// Line numbers count from 1 and include the header line.
type LineError struct {
	Line int
	Msg  string
}

func (e *LineError) Error() string { return fmt.Sprintf("audit: line %d: %s", e.Line, e.Msg) }
