package gateway

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"reflect"
	"strconv"
	"strings"
	"sync"
)

// MaxBodyBytes bounds every request body.
const MaxBodyBytes = 64 << 10

// ReadBody reads a request body of at most limit bytes.
func ReadBody(r *http.Request, w http.ResponseWriter, limit int64) ([]byte, *Error) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return nil, Errf(http.StatusRequestEntityTooLarge, CodeBodyTooLarge, "", "request body exceeds the limit of "+itoa(limit)+" bytes")
		}
		return nil, Errf(http.StatusBadRequest, CodeMalformedJSON, "", "could not read the request body")
	}
	return body, nil
}

func itoa(v int64) string { return strconv.FormatInt(v, 10) }

// DecodeStrict decodes one JSON value from body into dst, rejecting what the
// standard library lets through: duplicate keys (which it resolves silently
// to the last one), keys that match a field only case-insensitively, unknown
// keys, trailing data after the value, and an empty body. dst must be a
// pointer. Field names in errors are dotted paths ("orders[2].price").
func DecodeStrict(body []byte, dst any) *Error {
	if len(bytes.TrimSpace(body)) == 0 {
		return Errf(http.StatusBadRequest, CodeMalformedJSON, "", "the request body is empty; a JSON object is required")
	}
	t := reflect.TypeOf(dst)
	if t.Kind() != reflect.Pointer {
		panic("gateway: DecodeStrict needs a pointer")
	}
	// The byte scanner accepts exactly what the token walk accepts and is
	// the only check on the hot path. Only when it rejects is the token
	// walk run, to produce the detailed error (the syntax messages come from
	// encoding/json and the field path is that of the first problem in
	// stream order); bad input is rare, so its cost does not matter.
	s := scanPool.Get().(*scanner)
	ok := s.scan(body, t.Elem())
	s.release()
	if !ok {
		if e := checkStream(body, t.Elem()); e != nil {
			return e
		}
	}
	if ok && fastDecode(body, dst) {
		return nil
	}
	d2 := json.NewDecoder(bytes.NewReader(body))
	d2.DisallowUnknownFields()
	if err := d2.Decode(dst); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			if outOfRange(te) {
				return Errf(http.StatusBadRequest, CodeOutOfRange, te.Field, "field "+quote(te.Field)+" is out of range for "+describe(te.Type))
			}
			return Errf(http.StatusBadRequest, CodeInvalidField, te.Field, "field "+quote(te.Field)+" must be "+describe(te.Type))
		}
		return Errf(http.StatusBadRequest, CodeMalformedJSON, "", "malformed JSON: "+err.Error())
	}
	return nil
}

// checkStream is the reference pre-scan: it walks the body with
// encoding/json tokens alongside dst's type and reports the first problem.
// It allocates per token, so it only runs to explain a rejection.
func checkStream(body []byte, t reflect.Type) *Error {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	if e := checkValue(dec, t, ""); e != nil {
		return e
	}
	if _, err := dec.Token(); err != io.EOF {
		return Errf(http.StatusBadRequest, CodeMalformedJSON, "", "unexpected data after the JSON value")
	}
	return nil
}

// outOfRange tells an integer too large for its field (B9) from a value of
// the wrong kind: the decoder reports both as a type error, with the JSON
// text in Value ("number 99999999999999999999" vs "number 1.5").
func outOfRange(te *json.UnmarshalTypeError) bool {
	num, ok := strings.CutPrefix(te.Value, "number ")
	if !ok || strings.ContainsAny(num, ".eE") {
		return false
	}
	switch te.Type.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return true
	}
	return false
}

func quote(s string) string { return "\"" + s + "\"" }

func describe(t reflect.Type) string {
	switch t.Kind() {
	case reflect.String:
		return "a string (numbers are sent as decimal strings, e.g. \"65000.5\")"
	case reflect.Bool:
		return "true or false"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "an integer in range"
	case reflect.Slice, reflect.Array:
		return "an array"
	case reflect.Struct, reflect.Map:
		return "an object"
	}
	return "of type " + t.String()
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// checkValue walks one JSON value from the token stream alongside the Go
// type it will be decoded into.
func checkValue(dec *json.Decoder, t reflect.Type, path string) *Error {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	tok, err := dec.Token()
	if err != nil {
		return syntaxErr(err)
	}
	delim, ok := tok.(json.Delim)
	if !ok {
		return nil // a scalar: types are checked by the real decode
	}
	switch delim {
	case '{':
		return checkObject(dec, t, path)
	case '[':
		elem := anyType
		if t.Kind() == reflect.Slice || t.Kind() == reflect.Array {
			elem = t.Elem()
		}
		for i := 0; dec.More(); i++ {
			if e := checkValue(dec, elem, path+"["+itoa(int64(i))+"]"); e != nil {
				return e
			}
		}
		if _, err := dec.Token(); err != nil {
			return syntaxErr(err)
		}
		return nil
	}
	return Errf(http.StatusBadRequest, CodeMalformedJSON, path, "unexpected "+string(delim))
}

var anyType = reflect.TypeOf((*any)(nil)).Elem()

func checkObject(dec *json.Decoder, t reflect.Type, path string) *Error {
	var fields map[string]reflect.Type
	elem := anyType
	switch t.Kind() {
	case reflect.Struct:
		fields = cachedFields(t)
	case reflect.Map:
		elem = t.Elem()
	}
	seen := map[string]bool{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return syntaxErr(err)
		}
		key := tok.(string)
		p := join(path, key)
		if seen[key] {
			return Errf(http.StatusBadRequest, CodeDuplicateField, p, "field "+quote(p)+" appears more than once")
		}
		seen[key] = true
		ft := elem
		if fields != nil {
			var ok bool
			ft, ok = fields[key]
			if !ok {
				msg := "unknown field " + quote(p)
				for name := range fields {
					if strings.EqualFold(name, key) {
						msg += "; field names are case-sensitive (did you mean " + quote(name) + "?)"
						break
					}
				}
				return Errf(http.StatusBadRequest, CodeUnknownField, p, msg)
			}
		}
		if e := checkValue(dec, ft, p); e != nil {
			return e
		}
	}
	if _, err := dec.Token(); err != nil {
		return syntaxErr(err)
	}
	return nil
}

// structFields maps exact JSON names to field types, following embedded
// structs the way encoding/json does for the simple cases used here.
func structFields(t reflect.Type) map[string]reflect.Type {
	out := map[string]reflect.Type{}
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		tag := f.Tag.Get("json")
		if tag == "-" {
			continue
		}
		name, _, _ := strings.Cut(tag, ",")
		if f.Anonymous && name == "" && f.Type.Kind() == reflect.Struct {
			for k, v := range structFields(f.Type) {
				out[k] = v
			}
			continue
		}
		if name == "" {
			name = f.Name
		}
		out[name] = f.Type
	}
	return out
}

func syntaxErr(err error) *Error {
	msg := "malformed JSON"
	if err != nil && err != io.EOF {
		msg += ": " + err.Error()
	} else {
		msg += ": unexpected end of input"
	}
	return Errf(http.StatusBadRequest, CodeMalformedJSON, "", msg)
}

// fieldCache holds structFields per reflect.Type: the table depends only on
// the type, and rebuilding it by reflection on every request was a
// measurable share of order-entry CPU. Cached maps are never mutated.
var fieldCache sync.Map // reflect.Type → map[string]reflect.Type

func cachedFields(t reflect.Type) map[string]reflect.Type {
	if v, ok := fieldCache.Load(t); ok {
		return v.(map[string]reflect.Type)
	}
	v, _ := fieldCache.LoadOrStore(t, structFields(t))
	return v.(map[string]reflect.Type)
}

// scanner is the allocation-light strict pre-scan over the body bytes. It
// answers only accept/reject; it must accept exactly what checkStream
// accepts: RFC 8259 syntax as encoding/json reads it, no duplicate key in
// any object (keys compared after unescaping, as the token walk does), only
// exact-case known keys in objects bound for structs, and nothing but
// whitespace after the value. Scalar types are left to the real decode.
type scanner struct {
	buf []byte
	pos int
	// keys holds the keys seen so far in every object being scanned,
	// innermost object last; each object truncates back on exit.
	keys [][]byte
}

// dupMapAt is the key count at which an object switches from a linear
// duplicate search to a map, so that a large body of keys stays linear.
const dupMapAt = 16

// scanPool recycles scanners so that the key stack is not allocated per
// body (escape analysis cannot keep it on the stack across the recursion).
var scanPool = sync.Pool{New: func() any { return &scanner{keys: make([][]byte, 0, 32)} }}

// scanMaxPooledKeys stops a scanner grown by a pathological body from
// being kept.
const scanMaxPooledKeys = 1024

func (s *scanner) scan(body []byte, t reflect.Type) bool {
	s.buf, s.pos, s.keys = body, 0, s.keys[:0]
	if !s.value(t) {
		return false
	}
	s.space()
	return s.pos == len(s.buf)
}

// release returns s to the pool without references into the body.
func (s *scanner) release() {
	if cap(s.keys) > scanMaxPooledKeys {
		return
	}
	clear(s.keys[:cap(s.keys)])
	s.buf, s.keys = nil, s.keys[:0]
	scanPool.Put(s)
}

func (s *scanner) space() {
	for s.pos < len(s.buf) {
		switch s.buf[s.pos] {
		case ' ', '\t', '\n', '\r':
			s.pos++
		default:
			return
		}
	}
}

// next skips whitespace and returns the next byte, or 0 at the end (0 is
// never valid where next is used).
func (s *scanner) next() byte {
	s.space()
	if s.pos >= len(s.buf) {
		return 0
	}
	return s.buf[s.pos]
}

func (s *scanner) value(t reflect.Type) bool {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch c := s.next(); {
	case c == '{':
		s.pos++
		return s.object(t)
	case c == '[':
		s.pos++
		elem := anyType
		if t.Kind() == reflect.Slice || t.Kind() == reflect.Array {
			elem = t.Elem()
		}
		if s.next() == ']' {
			s.pos++
			return true
		}
		for {
			if !s.value(elem) {
				return false
			}
			switch s.next() {
			case ',':
				s.pos++
			case ']':
				s.pos++
				return true
			default:
				return false
			}
		}
	case c == '"':
		_, ok := s.str(false)
		return ok
	case c == 't':
		return s.literal("true")
	case c == 'f':
		return s.literal("false")
	case c == 'n':
		return s.literal("null")
	case c == '-' || (c >= '0' && c <= '9'):
		return s.number()
	}
	return false
}

func (s *scanner) literal(lit string) bool {
	if !bytes.HasPrefix(s.buf[s.pos:], []byte(lit)) {
		return false
	}
	s.pos += len(lit)
	return true
}

func digits(b []byte, i int) int {
	for i < len(b) && b[i] >= '0' && b[i] <= '9' {
		i++
	}
	return i
}

// number consumes -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?; what
// follows is checked by the caller.
func (s *scanner) number() bool {
	b, i := s.buf, s.pos
	if b[i] == '-' {
		i++
	}
	switch {
	case i < len(b) && b[i] == '0':
		i++
	case i < len(b) && b[i] >= '1' && b[i] <= '9':
		i = digits(b, i+1)
	default:
		return false
	}
	if i < len(b) && b[i] == '.' {
		j := digits(b, i+1)
		if j == i+1 {
			return false
		}
		i = j
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		j := digits(b, i)
		if j == i {
			return false
		}
		i = j
	}
	s.pos = i
	return true
}

// str consumes a string starting at its opening quote. With key set it
// returns the string's value: a sub-slice of the body when it has no
// escapes and is ASCII, otherwise decoded by encoding/json so that escapes
// and invalid UTF-8 (which becomes U+FFFD) compare as the token walk does.
func (s *scanner) str(key bool) ([]byte, bool) {
	b := s.buf
	start := s.pos + 1
	plain := true
	for i := start; i < len(b); i++ {
		switch c := b[i]; {
		case c == '"':
			s.pos = i + 1
			if !key {
				return nil, true
			}
			if plain {
				return b[start:i], true
			}
			var v string
			if json.Unmarshal(b[start-1:i+1], &v) != nil {
				return nil, false
			}
			return []byte(v), true
		case c < 0x20:
			return nil, false
		case c == '\\':
			plain = false
			i++
			if i >= len(b) {
				return nil, false
			}
			switch b[i] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
			case 'u':
				if i+4 >= len(b) {
					return nil, false
				}
				for _, h := range b[i+1 : i+5] {
					if !('0' <= h && h <= '9' || 'a' <= h && h <= 'f' || 'A' <= h && h <= 'F') {
						return nil, false
					}
				}
				i += 4
			default:
				return nil, false
			}
		case c >= 0x80:
			plain = false
		}
	}
	return nil, false
}

func (s *scanner) object(t reflect.Type) bool {
	var fields map[string]reflect.Type
	elem := anyType
	switch t.Kind() {
	case reflect.Struct:
		fields = cachedFields(t)
	case reflect.Map:
		elem = t.Elem()
	}
	if s.next() == '}' {
		s.pos++
		return true
	}
	base := len(s.keys)
	var seen map[string]struct{}
	for {
		if s.next() != '"' {
			return false
		}
		key, ok := s.str(true)
		if !ok {
			return false
		}
		if seen != nil {
			if _, dup := seen[string(key)]; dup {
				return false
			}
			seen[string(key)] = struct{}{}
		} else {
			for _, k := range s.keys[base:] {
				if bytes.Equal(k, key) {
					return false
				}
			}
			s.keys = append(s.keys, key)
			if len(s.keys)-base >= dupMapAt {
				seen = make(map[string]struct{}, 2*dupMapAt)
				for _, k := range s.keys[base:] {
					seen[string(k)] = struct{}{}
				}
			}
		}
		ft := elem
		if fields != nil {
			if ft, ok = fields[string(key)]; !ok {
				return false
			}
		}
		if s.next() != ':' {
			return false
		}
		s.pos++
		if !s.value(ft) {
			return false
		}
		switch s.next() {
		case ',':
			s.pos++
		case '}':
			s.pos++
			s.keys = s.keys[:base]
			return true
		default:
			return false
		}
	}
}

// fastDecode fills the hot request types (an order, a batch of orders, a
// WebSocket request) straight from the bytes, after the scanner has accepted the body
// (valid JSON, no duplicate or unknown keys, no trailing data). It handles
// only the plain shapes clients send: string fields as strings without
// escapes or non-ASCII bytes, bool fields as true/false, a WebSocket args
// object or array taken verbatim. Anything else (null, a wrong type, an
// escape) returns false and the standard decoder runs, so errors and
// corner cases are exactly the decoder's. It saves the reflection-driven
// decode that was a tenth of the WebSocket order path's CPU.
func fastDecode(body []byte, dst any) bool {
	switch d := dst.(type) {
	case *OrderRequest:
		var o OrderRequest
		if !fastObject(body, func(key []byte, p *fastParser) bool { return o.set(key, p) }) {
			return false
		}
		*d = o
		return true
	case *wsRequest:
		var r wsRequest
		if !fastObject(body, func(key []byte, p *fastParser) bool { return r.set(key, p) }) {
			return false
		}
		*d = r
		return true
	case *batchRequest:
		var b batchRequest
		if !fastObject(body, func(key []byte, p *fastParser) bool { return string(key) == "orders" && p.orders(&b.Orders) }) {
			return false
		}
		*d = b
		return true
	}
	return false
}

// orders reads an array of order objects (a batch's "orders"). Like
// encoding/json, an empty array gives an empty, non-nil slice.
func (p *fastParser) orders(dst *[]OrderRequest) bool {
	if p.peek() != '[' {
		return false // null or a wrong type: let the decoder say so
	}
	p.i++
	out := make([]OrderRequest, 0, 8)
	if p.peek() == ']' {
		p.i++
		*dst = out
		return true
	}
	for {
		var o OrderRequest
		if !p.object(func(key []byte, p *fastParser) bool { return o.set(key, p) }) {
			return false
		}
		out = append(out, o)
		switch p.peek() {
		case ',':
			p.i++
		case ']':
			p.i++
			*dst = out
			return true
		default:
			return false
		}
	}
}

func (o *OrderRequest) set(key []byte, p *fastParser) bool {
	var s *string
	switch string(key) {
	case "post_only":
		return p.boolean(&o.PostOnly)
	case "reduce_only":
		return p.boolean(&o.ReduceOnly)
	case "symbol":
		s = &o.Symbol
	case "side":
		s = &o.Side
	case "type":
		s = &o.Type
	case "time_in_force":
		s = &o.TimeInForce
	case "price":
		s = &o.Price
	case "qty":
		s = &o.Qty
	case "client_order_id":
		s = &o.ClientOrderID
	case "stp":
		s = &o.STP
	default:
		return false
	}
	return p.str(s)
}

func (r *wsRequest) set(key []byte, p *fastParser) bool {
	switch string(key) {
	case "op":
		return p.str(&r.Op)
	case "id":
		return p.str(&r.ID)
	case "args":
		if c := p.peek(); c != '{' && c != '[' {
			return false // null or a wrong type: let the decoder say so
		}
		start := p.i
		if !p.skip() {
			return false
		}
		r.Args = append(json.RawMessage(nil), p.b[start:p.i]...)
		return true
	}
	return false // channels and anything else: the standard decoder
}

// fastParser walks JSON the scanner has already validated.
type fastParser struct {
	b []byte
	i int
}

func (p *fastParser) peek() byte {
	for p.i < len(p.b) {
		switch c := p.b[p.i]; c {
		case ' ', '\t', '\n', '\r':
			p.i++
		default:
			return c
		}
	}
	return 0
}

// fastObject calls set for each key of the top-level object; set reads
// the value.
func fastObject(b []byte, set func(key []byte, p *fastParser) bool) bool {
	p := &fastParser{b: b}
	return p.object(set)
}

// object calls set for each key of the object at p and moves past it.
func (p *fastParser) object(set func(key []byte, p *fastParser) bool) bool {
	if p.peek() != '{' {
		return false
	}
	p.i++
	if p.peek() == '}' {
		p.i++
		return true
	}
	for {
		if p.peek() != '"' {
			return false
		}
		key, ok := p.plain()
		if !ok || p.peek() != ':' {
			return false
		}
		p.i++
		p.peek()
		if !set(key, p) {
			return false
		}
		switch p.peek() {
		case ',':
			p.i++
		case '}':
			p.i++
			return true
		default:
			return false
		}
	}
}

// plain reads a string with no escapes and only printable ASCII.
func (p *fastParser) plain() ([]byte, bool) {
	if p.peek() != '"' {
		return nil, false
	}
	start := p.i + 1
	for i := start; i < len(p.b); i++ {
		switch c := p.b[i]; {
		case c == '"':
			p.i = i + 1
			return p.b[start:i], true
		case c == '\\' || c < 0x20 || c >= 0x80:
			return nil, false
		}
	}
	return nil, false
}

func (p *fastParser) str(dst *string) bool {
	v, ok := p.plain()
	if ok {
		*dst = string(v)
	}
	return ok
}

func (p *fastParser) boolean(dst *bool) bool {
	switch {
	case bytes.HasPrefix(p.b[p.i:], []byte("true")):
		*dst, p.i = true, p.i+4
	case bytes.HasPrefix(p.b[p.i:], []byte("false")):
		*dst, p.i = false, p.i+5
	default:
		return false
	}
	return true
}

// skip moves past one object or array (valid JSON), minding strings.
func (p *fastParser) skip() bool {
	depth := 0
	for ; p.i < len(p.b); p.i++ {
		switch p.b[p.i] {
		case '{', '[':
			depth++
		case '}', ']':
			depth--
			if depth == 0 {
				p.i++
				return true
			}
		case '"':
			for p.i++; p.i < len(p.b) && p.b[p.i] != '"'; p.i++ {
				if p.b[p.i] == '\\' {
					p.i++
				}
			}
		}
	}
	return false
}
