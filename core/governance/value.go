package governance

import (
	"crypto/sha256"
	"encoding/binary"
	"slices"
	"strings"
)

// Field is one named integer parameter. Units are part of the name's
// contract in the schema (ticks, ppm, micro-USD, HKD cents...): a parameter
// value is never a float.
type Field struct {
	Name string
	V    int64
}

// Table is a named integer table, e.g. a market's margin brackets with
// columns cap, max_leverage, mmr_ppm, maint_amount and one row per tier.
type Table struct {
	Name    string
	Columns []string
	Rows    [][]int64 // every row has len(Columns) cells
}

// Value is one version of a parameter set: fields sorted by name (unique)
// and tables sorted by name (unique). Build it with NewValue, which sorts
// and copies, so two values with the same content have the same encoding
// and hash whatever order they were written in.
type Value struct {
	Fields []Field
	Tables []Table
}

// Limits on a value, so a proposal can never be unboundedly large.
const (
	MaxNameLen = 48
	MaxFields  = 64
	MaxTables  = 4
	MaxColumns = 8
	MaxRows    = 32
)

// validName: 1–48 characters of [a-z0-9_], starting with a letter; one
// spelling per parameter, so no case or Unicode lookalikes.
func validName(s string) bool {
	if len(s) == 0 || len(s) > MaxNameLen || s[0] < 'a' || s[0] > 'z' {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_') {
			return false
		}
	}
	return true
}

// NewValue returns a canonical deep copy of fields and tables, or
// RejectInvalidValue when a name is malformed or repeated, a limit is
// exceeded, or a row has the wrong number of cells.
func NewValue(fields []Field, tables []Table) (Value, Reason) {
	if len(fields) > MaxFields || len(tables) > MaxTables {
		return Value{}, RejectInvalidValue
	}
	v := Value{Fields: slices.Clone(fields)}
	slices.SortFunc(v.Fields, func(a, b Field) int { return strings.Compare(a.Name, b.Name) })
	for i, f := range v.Fields {
		if !validName(f.Name) || (i > 0 && v.Fields[i-1].Name == f.Name) {
			return Value{}, RejectInvalidValue
		}
	}
	for _, t := range tables {
		if !validName(t.Name) || len(t.Columns) == 0 || len(t.Columns) > MaxColumns || len(t.Rows) > MaxRows {
			return Value{}, RejectInvalidValue
		}
		for i, c := range t.Columns {
			if !validName(c) || slices.Contains(t.Columns[:i], c) {
				return Value{}, RejectInvalidValue
			}
		}
		ct := Table{Name: t.Name, Columns: slices.Clone(t.Columns), Rows: make([][]int64, len(t.Rows))}
		for i, r := range t.Rows {
			if len(r) != len(t.Columns) {
				return Value{}, RejectInvalidValue
			}
			ct.Rows[i] = slices.Clone(r)
		}
		v.Tables = append(v.Tables, ct)
	}
	slices.SortFunc(v.Tables, func(a, b Table) int { return strings.Compare(a.Name, b.Name) })
	for i := 1; i < len(v.Tables); i++ {
		if v.Tables[i-1].Name == v.Tables[i].Name {
			return Value{}, RejectInvalidValue
		}
	}
	return v, ReasonNone
}

// Get returns the named field.
func (v Value) Get(name string) (int64, bool) {
	i, ok := slices.BinarySearchFunc(v.Fields, name, func(f Field, n string) int { return strings.Compare(f.Name, n) })
	if !ok {
		return 0, false
	}
	return v.Fields[i].V, true
}

// Table returns the named table.
func (v Value) Table(name string) (Table, bool) {
	i, ok := slices.BinarySearchFunc(v.Tables, name, func(t Table, n string) int { return strings.Compare(t.Name, n) })
	if !ok {
		return Table{}, false
	}
	return v.Tables[i], true
}

// Column returns the index of a column, or −1.
func (t Table) Column(name string) int { return slices.Index(t.Columns, name) }

// Clone returns a deep copy (values handed out of the store are copies, so
// a caller cannot rewrite history through a shared slice).
func (v Value) Clone() Value {
	out, r := NewValue(v.Fields, v.Tables)
	if r != ReasonNone {
		panic("governance: cloning an invalid value")
	}
	return out
}

// Equal reports whether two canonical values have the same content.
func (v Value) Equal(w Value) bool { return string(v.Encode(nil)) == string(w.Encode(nil)) }

// Encode appends the canonical encoding of a value built by NewValue:
//
//	"SPV1" | nfields u8 | {len u8, name, v i64 BE}* |
//	ntables u8 | {len u8, name, ncols u8, {len u8, col}*, nrows u8, cells i64 BE row-major}*
//
// The limits above keep every count within a byte.
func (v Value) Encode(dst []byte) []byte {
	dst = append(dst, "SPV1"...)
	dst = append(dst, byte(len(v.Fields)))
	for _, f := range v.Fields {
		dst = appendName(dst, f.Name)
		dst = binary.BigEndian.AppendUint64(dst, uint64(f.V))
	}
	dst = append(dst, byte(len(v.Tables)))
	for _, t := range v.Tables {
		dst = appendName(dst, t.Name)
		dst = append(dst, byte(len(t.Columns)))
		for _, c := range t.Columns {
			dst = appendName(dst, c)
		}
		dst = append(dst, byte(len(t.Rows)))
		for _, r := range t.Rows {
			for _, x := range r {
				dst = binary.BigEndian.AppendUint64(dst, uint64(x))
			}
		}
	}
	return dst
}

// Hash is SHA-256 of the canonical encoding: what an approver signs off and
// what events carry.
func (v Value) Hash() [32]byte { return sha256.Sum256(v.Encode(nil)) }

func appendName(dst []byte, s string) []byte {
	dst = append(dst, byte(len(s)))
	return append(dst, s...)
}

// DecodeValue parses a value's canonical encoding (Encode), for commands
// that carry a value in the engine's journal. It returns RejectInvalidValue
// for truncated, trailing or non-canonical bytes (fields or tables out of
// order, bad names, limits exceeded): decode then encode gives the input.
func DecodeValue(b []byte) (Value, Reason) {
	if len(b) < 6 || string(b[:4]) != "SPV1" {
		return Value{}, RejectInvalidValue
	}
	in := b
	b = b[4:]
	bad := false
	u8 := func() int {
		if len(b) < 1 {
			bad = true
			return 0
		}
		v := b[0]
		b = b[1:]
		return int(v)
	}
	name := func() string {
		n := u8()
		if bad || len(b) < n {
			bad = true
			return ""
		}
		s := string(b[:n])
		b = b[n:]
		return s
	}
	i64 := func() int64 {
		if len(b) < 8 {
			bad = true
			return 0
		}
		v := int64(binary.BigEndian.Uint64(b))
		b = b[8:]
		return v
	}
	nf := u8()
	if nf > MaxFields {
		return Value{}, RejectInvalidValue
	}
	var fields []Field
	for i := 0; i < nf && !bad; i++ {
		n := name()
		fields = append(fields, Field{n, i64()})
	}
	nt := u8()
	if nt > MaxTables {
		return Value{}, RejectInvalidValue
	}
	var tables []Table
	for i := 0; i < nt && !bad; i++ {
		t := Table{Name: name()}
		nc := u8()
		if nc > MaxColumns {
			return Value{}, RejectInvalidValue
		}
		for j := 0; j < nc && !bad; j++ {
			t.Columns = append(t.Columns, name())
		}
		nr := u8()
		if nr > MaxRows {
			return Value{}, RejectInvalidValue
		}
		for j := 0; j < nr && !bad; j++ {
			row := make([]int64, nc)
			for k := range row {
				row[k] = i64()
			}
			t.Rows = append(t.Rows, row)
		}
		tables = append(tables, t)
	}
	if bad || len(b) != 0 {
		return Value{}, RejectInvalidValue
	}
	v, r := NewValue(fields, tables)
	if r != ReasonNone || string(v.Encode(nil)) != string(in) {
		return Value{}, RejectInvalidValue
	}
	return v, ReasonNone
}
