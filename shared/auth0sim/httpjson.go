package auth0sim

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"sort"
	"strconv"
	"strings"
)

// writeJSON answers with Auth0's JSON content type.
func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	if v == nil {
		return
	}
	_ = json.NewEncoder(w).Encode(v)
}

// writeError answers with Auth0's error body; errorCode is left out when empty, as
// Auth0 does on some routes.
func writeError(w http.ResponseWriter, status int, message, errorCode string) {
	body := map[string]any{
		"statusCode": status,
		"error":      http.StatusText(status),
		"message":    message,
	}
	if errorCode != "" {
		body["errorCode"] = errorCode
	}
	writeJSON(w, status, body)
}

func writeNoContent(w http.ResponseWriter) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(http.StatusNoContent)
}

// payload is a decoded JSON request body with Auth0's validation messages.
type payload struct {
	m   map[string]any
	err string // first validation error; empty when valid
}

// decodePayload reads a JSON object body and rejects properties outside allowed, as
// Auth0's payload validation does. An empty body is an empty object. It answers 400
// itself and returns false when the body is not acceptable.
func decodePayload(w http.ResponseWriter, r *http.Request, allowed ...string) (*payload, bool) {
	raw, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		writeError(w, http.StatusBadRequest, "Invalid request payload JSON format", "")
		return nil, false
	}
	p := &payload{m: map[string]any{}}
	if len(bytes.TrimSpace(raw)) > 0 {
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.UseNumber()
		var v any
		if err := dec.Decode(&v); err != nil {
			writeError(w, http.StatusBadRequest, "Invalid request payload JSON format", "")
			return nil, false
		}
		m, ok := v.(map[string]any)
		if !ok {
			writeError(w, http.StatusBadRequest, "Payload validation error: 'Expected type object but found type "+jsonType(v)+"'.", "invalid_body")
			return nil, false
		}
		p.m = numbersToFloat(m).(map[string]any)
	}
	var extra []string
	for k := range p.m {
		if !slices.Contains(allowed, k) {
			extra = append(extra, k)
		}
	}
	if len(extra) > 0 {
		sort.Strings(extra)
		writeError(w, http.StatusBadRequest, "Payload validation error: 'Additional properties not allowed: "+strings.Join(extra, ",")+"'.", "invalid_body")
		return nil, false
	}
	return p, true
}

// numbersToFloat turns json.Number into float64 (integers stay exact to 2^53, enough
// for ttl_sec) while keeping the decoder's refusal of non-numbers.
func numbersToFloat(v any) any {
	switch t := v.(type) {
	case map[string]any:
		for k, e := range t {
			t[k] = numbersToFloat(e)
		}
		return t
	case []any:
		for i, e := range t {
			t[i] = numbersToFloat(e)
		}
		return t
	case json.Number:
		f, _ := t.Float64()
		return f
	default:
		return v
	}
}

func jsonType(v any) string {
	switch t := v.(type) {
	case nil:
		return "null"
	case string:
		return "string"
	case bool:
		return "boolean"
	case float64:
		if t == float64(int64(t)) {
			return "integer"
		}
		return "number"
	case json.Number:
		return "number"
	case map[string]any:
		return "object"
	case []any:
		return "array"
	}
	return fmt.Sprintf("%T", v)
}

func (p *payload) fail(format string, args ...any) {
	if p.err == "" {
		p.err = fmt.Sprintf(format, args...)
	}
}

func (p *payload) typeError(key, want string, v any) {
	p.fail("Payload validation error: 'Expected type %s but found type %s' on property %s.", want, jsonType(v), key)
}

func (p *payload) has(key string) bool { _, ok := p.m[key]; return ok }

func (p *payload) require(keys ...string) {
	for _, k := range keys {
		if !p.has(k) {
			p.fail("Payload validation error: 'Missing required property: %s'.", k)
		}
	}
}

// property returns a property of type T, and a type error naming kind when it has
// another type.
func property[T any](p *payload, key, kind string) T {
	var t T
	v, ok := p.m[key]
	if !ok {
		return t
	}
	if t, ok = v.(T); !ok {
		p.typeError(key, kind, v)
	}
	return t
}

func (p *payload) str(key string) string { return property[string](p, key, "string") }

func (p *payload) boolean(key string) bool { return property[bool](p, key, "boolean") }

func (p *payload) integer(key string) int64 {
	v, ok := p.m[key]
	if !ok {
		return 0
	}
	f, ok := v.(float64)
	if !ok || f != float64(int64(f)) {
		p.typeError(key, "integer", v)
		return 0
	}
	return int64(f)
}

// object returns an object property; a JSON null is reported as present and nil.
func (p *payload) object(key string) map[string]any {
	v, ok := p.m[key]
	if !ok || v == nil {
		return nil
	}
	o, ok := v.(map[string]any)
	if !ok {
		p.typeError(key, "object", v)
	}
	return o
}

func (p *payload) strings(key string) []string {
	v, ok := p.m[key]
	if !ok {
		return nil
	}
	arr, ok := v.([]any)
	if !ok {
		p.typeError(key, "array", v)
		return nil
	}
	out := make([]string, 0, len(arr))
	for i, e := range arr {
		s, ok := e.(string)
		if !ok {
			p.typeError(key+"["+strconv.Itoa(i)+"]", "string", e)
			return nil
		}
		out = append(out, s)
	}
	return out
}

// check answers 400 with the first validation error, if any.
func (p *payload) check(w http.ResponseWriter) bool {
	if p.err != "" {
		writeError(w, http.StatusBadRequest, p.err, "invalid_body")
		return false
	}
	return true
}
