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
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	t := reflect.TypeOf(dst)
	if t.Kind() != reflect.Pointer {
		panic("gateway: DecodeStrict needs a pointer")
	}
	if e := checkValue(dec, t.Elem(), ""); e != nil {
		return e
	}
	if _, err := dec.Token(); err != io.EOF {
		return Errf(http.StatusBadRequest, CodeMalformedJSON, "", "unexpected data after the JSON value")
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
		fields = structFields(t)
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
