package httpapi

import (
	"context"
	"encoding/json"
	"math"
	"net/http"
	"strconv"
	"time"

	"github.com/doormanhq/doorman/shared/invite"
)

// problemBase prefixes a problem's type; the code completes it, so that a client may
// switch on either.
const problemBase = "https://doorman.dev/problems/"

// statusOf is Doorman's one table from error code to HTTP status.
var statusOf = map[invite.Code]int{
	invite.CodeInvalid:     http.StatusBadRequest,
	invite.CodeUnauth:      http.StatusUnauthorized,
	invite.CodeForbidden:   http.StatusForbidden,
	invite.CodeNotFound:    http.StatusNotFound,
	invite.CodeConflict:    http.StatusConflict,
	invite.CodeGone:        http.StatusGone,
	invite.CodeRateLimited: http.StatusTooManyRequests,
	invite.CodeUpstream:    http.StatusServiceUnavailable,
	invite.CodeInternal:    http.StatusInternalServerError,
	// A send to an address SES refused for good: the request conflicts with what SES
	// said of the address, until the invitation's email changes.
	invite.CodeUndeliverable: http.StatusConflict,
}

// problem is an RFC 9457 problem details object with Doorman's extensions.
type problem struct {
	Type       string `json:"type"`
	Title      string `json:"title"`
	Status     int    `json:"status"`
	Detail     string `json:"detail,omitempty"`
	Code       string `json:"code"`
	Field      string `json:"field,omitempty"`
	ExistingID string `json:"existing_id,omitempty"`
	RequestID  string `json:"request_id"`
	// Errors lists every invalid item of a refused batch.
	Errors []*itemProblem `json:"errors,omitempty"`

	retryAfter time.Duration
}

// problemFor turns err into the problem the caller sees. Only the client-safe
// Message of an *invite.Error is shown, and nothing at all of an internal error.
func problemFor(err error) problem {
	code := invite.ErrorCode(err)
	status, ok := statusOf[code]
	if !ok {
		code, status = invite.CodeInternal, http.StatusInternalServerError
	}
	p := problem{Type: problemBase + string(code), Title: http.StatusText(status), Status: status, Code: string(code)}
	e := invite.AsError(err)
	switch {
	case code == invite.CodeInternal:
		p.Detail = "internal error"
	case e != nil:
		p.Detail, p.Field, p.ExistingID, p.retryAfter = e.Message, e.Field, e.ExistingID, e.RetryAfter
		for _, it := range e.Items {
			p.Errors = append(p.Errors, toItemProblem(it))
		}
	}
	if code == invite.CodeUpstream && p.retryAfter == 0 {
		p.retryAfter = time.Second
	}
	return p
}

// writeError answers err as a problem and logs what the caller does not see.
func (s *server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	p := problemFor(err)
	ctx := r.Context()
	switch {
	case p.Status >= 500:
		// The cause stays in the log; it may name tables, hosts or Auth0's words.
		s.log.ErrorContext(ctx, "request failed", "code", p.Code,
			"invitation_id", r.PathValue("id"), "error", err.Error())
	default:
		s.log.InfoContext(ctx, "request refused", "code", p.Code,
			"invitation_id", r.PathValue("id"), "field", p.Field)
	}
	writeProblem(ctx, w, p)
}

// WriteProblem answers err as an RFC 9457 problem (application/problem+json) carrying
// the id of the request ctx belongs to, with the status this package maps err's code
// to. It is Doorman's one problem writer: apigw answers the events it cannot turn
// into a request with it too. It logs nothing.
func WriteProblem(ctx context.Context, w http.ResponseWriter, err error) {
	writeProblem(ctx, w, problemFor(err))
}

func writeProblem(ctx context.Context, w http.ResponseWriter, p problem) {
	p.RequestID = RequestID(ctx)
	if p.retryAfter > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(p.retryAfter.Seconds()))))
	}
	body, err := json.Marshal(p)
	if err != nil { // a struct of strings and ints always marshals
		panic(err)
	}
	writeBody(w, p.Status, "application/problem+json", body)
}

// methodNotAllowed is the problem of a request whose method the path does not take;
// the caller sets Allow.
func methodNotAllowed(method string) problem {
	p := problemFor(invite.Errorf(invite.CodeInvalid, "%s is not allowed here", method))
	p.Status, p.Title, p.Type = http.StatusMethodNotAllowed, "Method Not Allowed", problemBase+"method_not_allowed"
	return p
}

// writeJSON answers v as JSON with status.
func (s *server) writeJSON(w http.ResponseWriter, status int, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		panic(err) // the response types marshal; metadata came from JSON
	}
	writeBody(w, status, "application/json", body)
}

// writeBody sends an answer of the API: never cached, never sniffed.
func writeBody(w http.ResponseWriter, status int, contentType string, body []byte) {
	h := w.Header()
	h.Set("Content-Type", contentType)
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_, _ = w.Write(body)
}
