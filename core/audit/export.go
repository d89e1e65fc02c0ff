package audit

import (
	"bytes"
	"encoding/hex"
	"errors"
	"strconv"
)

// The export is JSON lines: one header line, then one line per record, each
// ending in "\n". Every line has exactly one byte form (fixed key order, no
// spaces, lower-case hex, no leading zeros), and the verifier re-encodes
// what it parsed and demands the same bytes. So a changed byte either breaks
// that form or changes a hashed value; both fail, wherever the byte is.
//
//	{"format":"sampan-audit-1","from":1,"to":3,"count":3,"prev":"00…","head":"9f…"}
//	{"seq":1,"time":1767225600000000000,"kind":"param.proposed","payload":"0a0b","prev":"00…","hash":"5c…"}
//
// The header pins the range, so deleting the first or last record is caught
// as well as one in the middle; prev anchors an export that starts mid-chain
// to the record before it, and head is the hash to compare with a published
// chain head.
const Format = "sampan-audit-1"

// Header is the first line of an export.
type Header struct {
	From, To uint64 // seq of the first and last record
	Count    uint64 // To − From + 1
	Prev     Hash   // Prev of the first record (zero when From is 1)
	Head     Hash   // Hash of the last record
}

// ErrEmpty: an export holds at least one record.
var ErrEmpty = errors.New("audit: nothing to export")

// ErrNotContiguous: Export was given records that do not form one chain.
var ErrNotContiguous = errors.New("audit: records are not one contiguous chain")

// AppendHeader appends the header line (with its newline) to dst.
func AppendHeader(dst []byte, h Header) []byte {
	dst = append(dst, `{"format":"`...)
	dst = append(dst, Format...)
	dst = append(dst, `","from":`...)
	dst = strconv.AppendUint(dst, h.From, 10)
	dst = append(dst, `,"to":`...)
	dst = strconv.AppendUint(dst, h.To, 10)
	dst = append(dst, `,"count":`...)
	dst = strconv.AppendUint(dst, h.Count, 10)
	dst = append(dst, `,"prev":"`...)
	dst = hex.AppendEncode(dst, h.Prev[:])
	dst = append(dst, `","head":"`...)
	dst = hex.AppendEncode(dst, h.Head[:])
	return append(dst, "\"}\n"...)
}

// AppendLine appends one record line (with its newline) to dst.
func AppendLine(dst []byte, r Record) []byte {
	dst = append(dst, `{"seq":`...)
	dst = strconv.AppendUint(dst, r.Seq, 10)
	dst = append(dst, `,"time":`...)
	dst = strconv.AppendInt(dst, r.Time, 10)
	dst = append(dst, `,"kind":"`...)
	dst = append(dst, r.Kind...)
	dst = append(dst, `","payload":"`...)
	dst = hex.AppendEncode(dst, r.Payload)
	dst = append(dst, `","prev":"`...)
	dst = hex.AppendEncode(dst, r.Prev[:])
	dst = append(dst, `","hash":"`...)
	dst = hex.AppendEncode(dst, r.Hash[:])
	return append(dst, "\"}\n"...)
}

// Export returns the export of a contiguous run of records (a --from/--to
// range of the chain). It checks the run is one chain so that it never
// writes a file that cannot verify.
func Export(recs []Record) ([]byte, error) {
	if len(recs) == 0 {
		return nil, ErrEmpty
	}
	for i, r := range recs {
		if i > 0 && (r.Seq != recs[i-1].Seq+1 || r.Prev != recs[i-1].Hash) {
			return nil, ErrNotContiguous
		}
		if Link(r.Prev, r.Seq, r.Time, r.Kind, r.Payload) != r.Hash {
			return nil, ErrNotContiguous
		}
	}
	first, last := recs[0], recs[len(recs)-1]
	out := AppendHeader(nil, Header{From: first.Seq, To: last.Seq, Count: uint64(len(recs)), Prev: first.Prev, Head: last.Hash})
	for _, r := range recs {
		out = AppendLine(out, r)
	}
	return out, nil
}

// Verify checks a whole export file offline: the line structure, the
// header's range and anchors, and every hash link. It returns the header on
// success and a *LineError naming the first bad line otherwise.
func Verify(file []byte) (Header, error) {
	if len(file) == 0 {
		return Header{}, &LineError{1, "empty file"}
	}
	if file[len(file)-1] != '\n' {
		n := bytes.Count(file, []byte{'\n'}) + 1
		return Header{}, &LineError{n, "last line does not end in a newline"}
	}
	return VerifyLines(bytes.Split(file[:len(file)-1], []byte{'\n'}))
}

// VerifyLines is Verify over lines already split (without their newlines).
func VerifyLines(lines [][]byte) (Header, error) {
	if len(lines) == 0 {
		return Header{}, &LineError{1, "no header"}
	}
	h, ok := parseHeader(lines[0])
	if !ok {
		return Header{}, &LineError{1, "not a canonical " + Format + " header"}
	}
	if h.Count == 0 || h.From == 0 || h.To < h.From || h.To-h.From+1 != h.Count {
		return Header{}, &LineError{1, "header range is inconsistent"}
	}
	if h.From == 1 && h.Prev != (Hash{}) {
		return Header{}, &LineError{1, "a chain starting at seq 1 must have a zero prev"}
	}
	prev := h.Prev
	want := h.From
	for i, ln := range lines[1:] {
		n := i + 2
		r, ok := parseLine(ln)
		if !ok {
			return Header{}, &LineError{n, "not a canonical record line"}
		}
		if r.Seq != want {
			return Header{}, &LineError{n, "seq " + strconv.FormatUint(r.Seq, 10) + ", want " + strconv.FormatUint(want, 10)}
		}
		if r.Prev != prev {
			return Header{}, &LineError{n, "prev does not match the previous record's hash"}
		}
		if Link(r.Prev, r.Seq, r.Time, r.Kind, r.Payload) != r.Hash {
			return Header{}, &LineError{n, "hash does not match the record"}
		}
		prev = r.Hash
		want++
	}
	got := uint64(len(lines) - 1)
	if got != h.Count {
		return Header{}, &LineError{len(lines) + 1, "header promises " + strconv.FormatUint(h.Count, 10) +
			" records, file holds " + strconv.FormatUint(got, 10)}
	}
	if prev != h.Head {
		return Header{}, &LineError{1, "head does not match the last record's hash"}
	}
	return h, nil
}

// cursor is a tiny strict scanner for the two canonical line shapes.
type cursor struct {
	b  []byte
	ok bool
}

func (c *cursor) lit(s string) {
	if c.ok && bytes.HasPrefix(c.b, []byte(s)) {
		c.b = c.b[len(s):]
		return
	}
	c.ok = false
}

func (c *cursor) digits(signed bool) string {
	i := 0
	if signed && len(c.b) > 0 && c.b[0] == '-' {
		i++
	}
	for i < len(c.b) && c.b[i] >= '0' && c.b[i] <= '9' {
		i++
	}
	s := string(c.b[:i])
	c.b = c.b[i:]
	return s
}

func (c *cursor) uint() uint64 {
	v, err := strconv.ParseUint(c.digits(false), 10, 64)
	if err != nil {
		c.ok = false
	}
	return v
}

func (c *cursor) int() int64 {
	v, err := strconv.ParseInt(c.digits(true), 10, 64)
	if err != nil {
		c.ok = false
	}
	return v
}

// until returns the bytes before the next '"' (not consuming it).
func (c *cursor) until() []byte {
	i := bytes.IndexByte(c.b, '"')
	if i < 0 {
		c.ok = false
		return nil
	}
	s := c.b[:i]
	c.b = c.b[i:]
	return s
}

func (c *cursor) hexBytes() []byte {
	s := c.until()
	v, err := hex.DecodeString(string(s))
	if err != nil {
		c.ok = false
	}
	return v
}

func (c *cursor) hash() Hash {
	var h Hash
	v := c.hexBytes()
	if len(v) != len(h) {
		c.ok = false
		return h
	}
	copy(h[:], v)
	return h
}

func parseHeader(ln []byte) (Header, bool) {
	c := cursor{b: ln, ok: true}
	var h Header
	c.lit(`{"format":"` + Format + `","from":`)
	h.From = c.uint()
	c.lit(`,"to":`)
	h.To = c.uint()
	c.lit(`,"count":`)
	h.Count = c.uint()
	c.lit(`,"prev":"`)
	h.Prev = c.hash()
	c.lit(`","head":"`)
	h.Head = c.hash()
	c.lit(`"}`)
	// Re-encoding must give back the exact line: no leading zeros, no
	// upper-case hex, nothing trailing.
	if !c.ok || len(c.b) != 0 || !bytes.Equal(AppendHeader(nil, h), append(ln[:len(ln):len(ln)], '\n')) {
		return Header{}, false
	}
	return h, true
}

func parseLine(ln []byte) (Record, bool) {
	c := cursor{b: ln, ok: true}
	var r Record
	c.lit(`{"seq":`)
	r.Seq = c.uint()
	c.lit(`,"time":`)
	r.Time = c.int()
	c.lit(`,"kind":"`)
	r.Kind = string(c.until())
	c.lit(`","payload":"`)
	r.Payload = c.hexBytes()
	c.lit(`","prev":"`)
	r.Prev = c.hash()
	c.lit(`","hash":"`)
	r.Hash = c.hash()
	c.lit(`"}`)
	if !c.ok || len(c.b) != 0 || !validKind(r.Kind) || len(r.Payload) > MaxPayloadLen ||
		!bytes.Equal(AppendLine(nil, r), append(ln[:len(ln):len(ln)], '\n')) {
		return Record{}, false
	}
	return r, true
}
