package httpapi

import (
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"

	"github.com/doormanhq/doorman/shared/invite"
)

// Defaults and limits of WebhookConfig.
const (
	DefaultWebhookMaxBody = 10 << 20
	// MinWebhookToken keeps a guessable token out of a public route.
	MinWebhookToken = 32
)

// WebhookConfig builds the Auth0 log-stream webhook. Acceptor, Token and Decode are
// required.
type WebhookConfig struct {
	Acceptor *invite.Acceptor
	// Token is the log stream's secret: the Authorization header must be exactly
	// "Bearer " + Token, which is what the operator enters as the stream's
	// Authorization Token. CheckWebhookToken says what it must be.
	Token string
	// Decode reads a delivery's body; shared/app wires Auth0's formats.
	Decode  LogDecoder
	MaxBody int64 // body limit in bytes; 0 means DefaultWebhookMaxBody (10 MB)
	Logger  *slog.Logger
}

// LogDecoder reads a log-stream delivery as the stream sends it, keeping the events
// that can move an invitation. Its error is for the body as a whole: an *invite.Error
// is answered as it says, a read past the body limit (*http.MaxBytesError, wrapped)
// 413, and any other error 400, the body could not be read. A record that cannot be
// decoded is no error: it is listed in LogBatch.Malformed.
type LogDecoder func(body io.Reader) (*LogBatch, error)

// LogBatch is one decoded delivery.
type LogBatch struct {
	Format  string // the content format, for the log
	Records int    // the records seen: relevant, skipped or malformed
	// Events are the relevant records in body order, each with its Index among them.
	Events    []invite.IdentityEvent
	Malformed []MalformedRecord
	// Truncated says the rest of the body was not read after a record that could not
	// be stepped over.
	Truncated bool
}

// MalformedRecord is a record that could not be decoded, by its position in the body.
type MalformedRecord struct {
	Index int
	Err   error
}

// CheckWebhookToken is the rule for a log stream's token: at least MinWebhookToken
// characters of printable ASCII without spaces, since it travels in a header and is
// typed into Auth0's form.
func CheckWebhookToken(token string) error {
	if len(token) < MinWebhookToken {
		return fmt.Errorf("must have at least %d characters", MinWebhookToken)
	}
	for _, c := range token {
		if c <= ' ' || c >= 0x7f {
			return errors.New("must be printable ASCII without spaces")
		}
	}
	return nil
}

type webhook struct {
	acceptor *invite.Acceptor
	decode   LogDecoder
	want     [sha256.Size]byte
	maxBody  int64
	srv      *server // for its problem writer, logger and request ids
}

// NewWebhook returns the handler of POST /webhooks/auth0/logs. It authenticates
// before it reads a byte of the body, decodes the three content formats as a stream,
// keeps only the event types that can move an invitation, and answers 2xx only when
// every such event is applied (or durably queued, as a pending flag clear is): a
// transient failure is a 503, so that Auth0 delivers the batch again. Malformed
// records are logged with their index and skipped, since retrying them could never
// succeed and would stall the stream.
func NewWebhook(cfg WebhookConfig) (http.Handler, error) {
	if cfg.Acceptor == nil || cfg.Decode == nil {
		return nil, errors.New("httpapi: webhook needs an Acceptor and a Decode")
	}
	if err := CheckWebhookToken(cfg.Token); err != nil {
		return nil, fmt.Errorf("httpapi: webhook token %w", err)
	}
	h := &webhook{
		acceptor: cfg.Acceptor,
		decode:   cfg.Decode,
		// Both sides are hashed to a fixed length, so that the comparison's time says
		// nothing about the token's length or content.
		want:    sha256.Sum256([]byte("Bearer " + cfg.Token)),
		maxBody: cfg.MaxBody,
		srv:     &server{log: cfg.Logger, newRequestID: randomID},
	}
	if h.maxBody <= 0 {
		h.maxBody = DefaultWebhookMaxBody
	}
	h.srv.maxBody = h.maxBody
	if h.srv.log == nil {
		h.srv.log = slog.New(slog.DiscardHandler)
	} else {
		h.srv.log = slog.New(invite.LogHandler(h.srv.log.Handler()))
	}
	return h, nil
}

// webhookResult is the body of a 200: what the batch held and what came of it.
type webhookResult struct {
	Records   int  `json:"records"`
	Relevant  int  `json:"relevant"`
	Applied   int  `json:"applied"`
	Unchanged int  `json:"unchanged"`
	Unmatched int  `json:"unmatched"`
	Duplicate int  `json:"duplicate"`
	Skipped   int  `json:"skipped"`
	Malformed int  `json:"malformed"`
	Truncated bool `json:"truncated,omitempty"`
}

func (h *webhook) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	id := h.srv.requestID(r)
	r = r.WithContext(WithRequestID(r.Context(), id))
	w.Header().Set("X-Request-Id", id)
	ctx := r.Context()
	log := h.srv.log
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		writeProblem(ctx, w, methodNotAllowed(r.Method))
		return
	}
	got := sha256.Sum256([]byte(r.Header.Get("Authorization")))
	if subtle.ConstantTimeCompare(got[:], h.want[:]) != 1 {
		log.WarnContext(ctx, "log-stream webhook refused", "reason", "missing or wrong Authorization header")
		w.Header().Set("WWW-Authenticate", `Bearer realm="doorman-logstream"`)
		h.srv.writeError(w, r, invite.Errorf(invite.CodeUnauth, "the Authorization header is missing or wrong"))
		return
	}
	if r.ContentLength > h.maxBody {
		h.tooLarge(w, r)
		return
	}
	batch, err := h.decode(http.MaxBytesReader(w, r.Body, h.maxBody))
	if err != nil {
		if tooBig := (*http.MaxBytesError)(nil); errors.As(err, &tooBig) {
			h.tooLarge(w, r)
			return
		}
		if invite.AsError(err) == nil {
			err = invite.Wrap(invite.CodeInvalid, err, "the body could not be read")
		}
		h.srv.writeError(w, r, err)
		return
	}
	for _, m := range batch.Malformed {
		log.WarnContext(ctx, "malformed log record skipped", "index", m.Index, "error", m.Err.Error())
	}
	events := batch.Events
	res, err := h.acceptor.Apply(ctx, events)
	if err != nil {
		h.srv.writeError(w, r, err)
		return
	}
	log.InfoContext(ctx, "log-stream batch applied", "format", batch.Format, "records", batch.Records,
		"relevant", len(events), "applied", res.Applied, "malformed", len(batch.Malformed))
	h.srv.writeJSON(w, http.StatusOK, webhookResult{
		Records: batch.Records, Relevant: len(events), Applied: res.Applied, Unchanged: res.Unchanged,
		Unmatched: res.Unmatched, Duplicate: res.Duplicate, Skipped: res.Skipped,
		Malformed: len(batch.Malformed), Truncated: batch.Truncated,
	})
}

func (h *webhook) tooLarge(w http.ResponseWriter, r *http.Request) {
	// The connection may still carry the rest of the body: close it rather than read it.
	w.Header().Set("Connection", "close")
	h.srv.writeBodyError(w, r, &bodyTooLarge{h.maxBody})
}
