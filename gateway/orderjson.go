package gateway

import (
	"strconv"
	"unicode/utf8"
)

// Hand-written encoders for the hottest answers (an order, a batch of
// orders, and their WebSocket replies). They write exactly the bytes
// json.Marshal writes for the same values — orderjson_test.go compares
// them byte for byte, on hand-made cases, on every field filled by
// reflection (so a field added to one of these types fails the tests until
// it is added here too) and under fuzzing — but without reflection and,
// given a buffer with room, without allocating. Like json.Marshal they add
// no trailing newline; json.Encoder.Encode's callers add it themselves.

// appendOrderResponse appends json.Marshal(r).
func appendOrderResponse(b []byte, r *OrderResponse) []byte {
	if r == nil {
		return append(b, "null"...)
	}
	b = appendStringField(b, `{"order_id":`, r.OrderID)
	if r.ClientOrderID != "" { // omitempty
		b = appendStringField(b, `,"client_order_id":`, r.ClientOrderID)
	}
	b = appendStringField(b, `,"symbol":`, r.Symbol)
	b = appendStringField(b, `,"side":`, r.Side)
	b = appendStringField(b, `,"price":`, r.Price)
	b = appendStringField(b, `,"qty":`, r.Qty)
	b = appendStringField(b, `,"filled":`, r.Filled)
	b = appendStringField(b, `,"remaining":`, r.Remaining)
	b = appendStringField(b, `,"status":`, r.Status)
	if r.Reason != "" { // omitempty
		b = appendStringField(b, `,"reason":`, r.Reason)
	}
	b = strconv.AppendBool(append(b, `,"post_only":`...), r.PostOnly)
	b = strconv.AppendBool(append(b, `,"reduce_only":`...), r.ReduceOnly)
	b = strconv.AppendInt(append(b, `,"created":`...), r.Created, 10)
	b = strconv.AppendInt(append(b, `,"updated":`...), r.Updated, 10)
	b = appendStringField(b, `,"accepted_qty":`, r.AcceptedQty)
	b = strconv.AppendBool(append(b, `,"replayed":`...), r.Replayed)
	return append(b, '}')
}

// appendStringField appends a key (with its leading comma and colon, as
// written) and a string value.
func appendStringField(b []byte, key, v string) []byte {
	return appendJSONString(append(b, key...), v)
}

// appendWSPlaceReply appends json.Marshal(wsReply{ID: id, Op: "place",
// Status: 200, Result: r}). A nil r is a typed nil in Result's interface,
// which omitempty keeps: "result":null.
func appendWSPlaceReply(b []byte, id string, r *OrderResponse) []byte {
	b = appendWSReplyHead(b, id, "place")
	return append(appendOrderResponse(b, r), '}')
}

// appendBatchResults appends json.Marshal(map[string]any{"results": items}),
// the REST batch answer.
func appendBatchResults(b []byte, items []BatchItem) []byte {
	b = append(b, `{"results":`...)
	return append(appendBatchItems(b, items), '}')
}

// appendWSBatchReply appends json.Marshal(wsReply{ID: id, Op: "place_batch",
// Status: 200, Result: batchResult{items}}).
func appendWSBatchReply(b []byte, id string, items []BatchItem) []byte {
	b = appendWSReplyHead(b, id, "place_batch")
	return append(appendBatchResults(b, items), '}')
}

// appendWSReplyHead writes a successful wsReply up to its result's value;
// op is a constant the caller knows needs no escaping.
func appendWSReplyHead(b []byte, id, op string) []byte {
	b = append(b, '{')
	if id != "" { // omitempty
		b = appendStringField(b, `"id":`, id)
		b = append(b, ',')
	}
	b = append(b, `"op":"`...)
	b = append(b, op...)
	return append(b, `","status":200,"result":`...)
}

func appendBatchItems(b []byte, items []BatchItem) []byte {
	if items == nil { // a nil slice is null, an empty one []
		return append(b, "null"...)
	}
	b = append(b, '[')
	for i := range items {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendBatchItem(b, &items[i])
	}
	return append(b, ']')
}

func appendBatchItem(b []byte, it *BatchItem) []byte {
	b = strconv.AppendInt(append(b, `{"status":`...), int64(it.Status), 10)
	if it.Order != nil { // omitempty
		b = append(b, `,"order":`...)
		b = appendOrderResponse(b, it.Order)
	}
	if it.Error != nil { // omitempty
		b = append(b, `,"error":`...)
		b = appendErrorJSON(b, it.Error)
	}
	return append(b, '}')
}

// appendErrorJSON appends json.Marshal(e) (Status is json:"-"). Refused
// orders are common enough in a batch that this stays allocation-free too.
func appendErrorJSON(b []byte, e *Error) []byte {
	b = appendStringField(b, `{"code":`, string(e.Code))
	b = appendStringField(b, `,"message":`, e.Message)
	if e.Field != "" { // omitempty
		b = appendStringField(b, `,"field":`, e.Field)
	}
	if e.RetryAfter != 0 { // omitempty
		b = strconv.AppendInt(append(b, `,"retry_after":`...), int64(e.RetryAfter), 10)
	}
	return append(b, '}')
}

// jsonPlain[c] says encoding/json writes byte c of a string unchanged:
// printable ASCII other than '"', '\\' and the HTML-escaped '<', '>', '&'.
// Bytes from 0x80 are not plain: they need UTF-8 validation.
var jsonPlain = func() (t [256]bool) {
	for c := 0x20; c < utf8.RuneSelf; c++ {
		t[c] = true
	}
	for _, c := range `"\<>&` {
		t[c] = false
	}
	return t
}()

// appendJSONString appends s as encoding/json's default encoder writes it.
// The order path's strings (ids, symbols, decimals, statuses) are plain
// ASCII, so one scan and one copy usually suffice.
func appendJSONString(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if !jsonPlain[s[i]] {
			return appendJSONStringEscaped(b, s, i)
		}
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}

const jsonHex = "0123456789abcdef"

// appendJSONStringEscaped is encoding/json's appendString with escapeHTML
// set, resuming at i (s[:i] is plain): short escapes for \b \f \n \r \t,
// \u00XX (lower-case hex) for other control bytes and < > &, \ufffd for
// each byte of invalid UTF-8, and \u2028, \u2029 escaped for JSONP.
func appendJSONStringEscaped(b []byte, s string, i int) []byte {
	b = append(b, '"')
	start := 0
	for i < len(s) {
		c := s[i]
		if c < utf8.RuneSelf {
			if jsonPlain[c] {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			b = appendASCIIEscape(b, c)
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
		case r == '\u2028' || r == '\u2029':
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', jsonHex[r&0xF])
		default:
			i += size
			continue
		}
		i += size
		start = i
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

func appendASCIIEscape(b []byte, c byte) []byte {
	switch c {
	case '\\', '"':
		return append(b, '\\', c)
	case '\b':
		return append(b, '\\', 'b')
	case '\f':
		return append(b, '\\', 'f')
	case '\n':
		return append(b, '\\', 'n')
	case '\r':
		return append(b, '\\', 'r')
	case '\t':
		return append(b, '\\', 't')
	}
	return append(b, '\\', 'u', '0', '0', jsonHex[c>>4], jsonHex[c&0xF])
}
