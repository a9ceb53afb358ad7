package httpapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"

	"github.com/doormanhq/doorman/shared/invite"
)

// bodyTooLarge marks a body over its route's limit; it is answered 413.
type bodyTooLarge struct{ limit int64 }

func (e *bodyTooLarge) Error() string { return fmt.Sprintf("request body over %d bytes", e.limit) }

// readBody reads the whole body up to limit bytes.
func (s *server) readBody(w http.ResponseWriter, r *http.Request, limit int64) ([]byte, error) {
	if r.ContentLength > limit {
		return nil, &bodyTooLarge{limit}
	}
	b, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
	var tooBig *http.MaxBytesError
	if errors.As(err, &tooBig) {
		return nil, &bodyTooLarge{limit}
	}
	if err != nil {
		return nil, invite.Wrap(invite.CodeInvalid, err, "the request body could not be read")
	}
	return b, nil
}

// writeBodyError answers a failure of readBody or decodeStrict.
func (s *server) writeBodyError(w http.ResponseWriter, r *http.Request, err error) {
	if tooLarge := (*bodyTooLarge)(nil); errors.As(err, &tooLarge) {
		p := problemFor(invite.Invalid("body", "the request body is larger than %d bytes", tooLarge.limit))
		p.Status, p.Title, p.Type = http.StatusRequestEntityTooLarge, "Content Too Large", problemBase+"body_too_large"
		writeProblem(r.Context(), w, p)
		return
	}
	s.writeError(w, r, err)
}

// decodeStrict decodes one JSON object into v: unknown fields, values of the wrong type
// and anything after the object are invalid_request naming what is wrong. An empty
// body is allowed when optional (v keeps its zero value).
func decodeStrict(r *http.Request, body []byte, v any, optional bool) error {
	if ct := r.Header.Get("Content-Type"); ct != "" {
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil || (mt != "application/json" && !strings.HasSuffix(mt, "+json")) {
			return invite.Invalid("Content-Type", "must be application/json")
		}
	}
	if len(bytes.TrimSpace(body)) == 0 {
		if optional {
			return nil
		}
		return invite.Invalid("body", "a JSON object is required")
	}
	return DecodeJSON(body, v)
}

// DecodeJSON is Doorman's one strict JSON decoder: data must hold exactly one JSON
// value, decoded into v with no field v does not know. Its errors are
// invalid_request naming the field that is wrong, or "body".
func DecodeJSON(data []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return jsonError(err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return invite.Invalid("body", "must hold exactly one JSON object, with nothing after it")
	}
	return nil
}

// jsonError turns encoding/json's errors into invalid_request naming the field.
func jsonError(err error) error {
	var (
		typeErr   *json.UnmarshalTypeError
		syntaxErr *json.SyntaxError
	)
	switch {
	case errors.As(err, &typeErr):
		field := typeErr.Field
		if field == "" {
			return invite.Invalid("body", "must be a JSON object")
		}
		return invite.Invalid(field, "must be %s", jsonKind(typeErr.Type.Kind().String()))
	case errors.As(err, &syntaxErr), errors.Is(err, io.ErrUnexpectedEOF):
		return invite.Invalid("body", "is not valid JSON")
	}
	// DisallowUnknownFields reports `json: unknown field "name"`.
	if msg := err.Error(); strings.HasPrefix(msg, "json: unknown field ") {
		name := strings.Trim(strings.TrimPrefix(msg, "json: unknown field "), `"`)
		return invite.Invalid(name, "is not a known field")
	}
	return invite.Invalid("body", "is not a valid request: %s", err.Error())
}

// jsonKind names a Go kind as the JSON type the client should have sent.
func jsonKind(kind string) string {
	switch kind {
	case "string":
		return "a string"
	case "bool":
		return "true or false"
	case "slice", "array":
		return "an array"
	case "map", "struct":
		return "an object"
	case "int", "int8", "int16", "int32", "int64", "uint", "uint8", "uint16", "uint32", "uint64":
		return "an integer"
	case "float32", "float64":
		return "a number"
	default:
		return fmt.Sprintf("of type %s", kind)
	}
}
