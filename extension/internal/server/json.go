package server

import (
	"encoding/json"
	"net/http"
	"strconv"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/breakerbox/breakerbox/extension/internal/breaker"
)

// rfc3339Milli is RFC 3339 with milliseconds, as the API shows times (always UTC).
const rfc3339Milli = "2006-01-02T15:04:05.000Z07:00"

var (
	contentTypeJSON = []string{"application/json"}
	bufPool         = sync.Pool{New: func() any { b := make([]byte, 0, 512); return &b }}
)

// writeRaw writes a JSON body. net/http adds Content-Length itself for a body written in one piece.
func writeRaw(w http.ResponseWriter, status int, body []byte) {
	w.Header()["Content-Type"] = contentTypeJSON
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// writeAppended encodes with fn into a pooled buffer and writes it.
func writeAppended(w http.ResponseWriter, status int, fn func([]byte) []byte) {
	bp := bufPool.Get().(*[]byte)
	b := fn((*bp)[:0])
	writeRaw(w, status, b)
	*bp = b
	bufPool.Put(bp)
}

// writeJSON encodes v with encoding/json (for answers off the hot path).
func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		writeError(w, http.StatusInternalServerError, "internal", "cannot encode the answer")
		return
	}
	writeRaw(w, status, b)
}

// writeError writes {"error":{"code":...,"message":...}}.
func writeError(w http.ResponseWriter, status int, code, msg string) {
	writeAppended(w, status, func(b []byte) []byte {
		b = append(b, `{"error":{"code":`...)
		b = appendString(b, code)
		b = append(b, `,"message":`...)
		b = appendString(b, msg)
		return append(b, "}}"...)
	})
}

// appendView appends a circuit view:
// {"id","state","allowed","since","retryAt"?,"reason","version","override"?,"stale","ageMs"}.
func appendView(b []byte, v *breaker.View) []byte {
	b = append(b, `{"id":`...)
	b = appendString(b, v.ID)
	b = append(b, `,"state":`...)
	b = appendString(b, string(v.State))
	b = append(b, `,"allowed":`...)
	b = strconv.AppendBool(b, v.Allowed)
	b = append(b, `,"since":`...)
	b = appendTime(b, v.Since)
	if !v.RetryAt.IsZero() {
		b = append(b, `,"retryAt":`...)
		b = appendTime(b, v.RetryAt)
	}
	b = append(b, `,"reason":`...)
	b = appendString(b, v.Reason)
	b = append(b, `,"version":`...)
	b = strconv.AppendInt(b, v.Version, 10)
	if v.Override != "" {
		b = append(b, `,"override":`...)
		b = appendString(b, string(v.Override))
	}
	b = append(b, `,"stale":`...)
	b = strconv.AppendBool(b, v.Stale)
	b = append(b, `,"ageMs":`...)
	b = strconv.AppendInt(b, v.Age.Milliseconds(), 10)
	return append(b, '}')
}

// appendDecision appends an acquire answer:
// {"allowed","state","override"?,"permit"?,"call"?,"retryAt"?,"stale","reason"}.
func appendDecision(b []byte, d *breaker.Decision) []byte {
	b = append(b, `{"allowed":`...)
	b = strconv.AppendBool(b, d.Allowed)
	b = append(b, `,"state":`...)
	b = appendString(b, d.State)
	if d.Override != "" {
		b = append(b, `,"override":`...)
		b = appendString(b, string(d.Override))
	}
	if d.Permit != "" {
		b = append(b, `,"permit":`...)
		b = appendString(b, d.Permit)
	}
	if d.Call != "" {
		b = append(b, `,"call":`...)
		b = appendString(b, d.Call)
	}
	if !d.RetryAt.IsZero() {
		b = append(b, `,"retryAt":`...)
		b = appendTime(b, d.RetryAt)
	}
	b = append(b, `,"stale":`...)
	b = strconv.AppendBool(b, d.Stale)
	b = append(b, `,"reason":`...)
	b = appendString(b, d.Reason)
	return append(b, '}')
}

// appendTime appends t as a quoted RFC 3339 UTC time with milliseconds, by hand: it is on the hot
// path, and time.AppendFormat costs several times more.
func appendTime(b []byte, t time.Time) []byte {
	t = t.UTC()
	y, mo, d := t.Date()
	if y < 0 || y > 9999 {
		b = append(b, '"')
		b = t.AppendFormat(b, rfc3339Milli)
		return append(b, '"')
	}
	h, mi, s := t.Clock()
	ms := t.Nanosecond() / int(time.Millisecond)
	b = append(b, '"', byte('0'+y/1000), byte('0'+y/100%10), byte('0'+y/10%10), byte('0'+y%10), '-')
	b = append2(b, int(mo), '-')
	b = append2(b, d, 'T')
	b = append2(b, h, ':')
	b = append2(b, mi, ':')
	b = append2(b, s, '.')
	return append(b, byte('0'+ms/100), byte('0'+ms/10%10), byte('0'+ms%10), 'Z', '"')
}

// append2 appends a two-digit number and a separator.
func append2(b []byte, n int, sep byte) []byte {
	return append(b, byte('0'+n/10), byte('0'+n%10), sep)
}

const hex = "0123456789abcdef"

// appendString appends s as a JSON string; invalid UTF-8 becomes U+FFFD.
func appendString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' && c < utf8.RuneSelf {
			i++
			continue
		}
		if c < utf8.RuneSelf {
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
