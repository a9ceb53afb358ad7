package httpapi

import (
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"log/slog"
	"net/http"

	"github.com/doormanhq/doorman/shared/auth0"
	"github.com/doormanhq/doorman/shared/invite"
)

// Defaults and limits of WebhookConfig.
const (
	DefaultWebhookMaxBody = 10 << 20
	// minWebhookToken keeps a guessable token out of a public route.
	minWebhookToken = 16
)

// WebhookConfig builds the Auth0 log-stream webhook. Acceptor and Token are required.
type WebhookConfig struct {
	Acceptor *invite.Acceptor
	// Token is the log stream's secret: the Authorization header must be exactly
	// "Bearer " + Token, which is what the operator enters as the stream's
	// Authorization Token. At least 16 characters.
	Token   string
	MaxBody int64 // body limit in bytes; 0 means DefaultWebhookMaxBody (10 MB)
	Logger  *slog.Logger
}

type webhook struct {
	acceptor *invite.Acceptor
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
	if cfg.Acceptor == nil {
		return nil, errors.New("httpapi: webhook needs an Acceptor")
	}
	if len(cfg.Token) < minWebhookToken {
		return nil, fmt.Errorf("httpapi: webhook token has %d characters, want at least %d", len(cfg.Token), minWebhookToken)
	}
	h := &webhook{
		acceptor: cfg.Acceptor,
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
	log := h.srv.log.With("request_id", id)
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		p := problemFor(invite.Errorf(invite.CodeInvalid, "%s is not allowed here", r.Method))
		p.Status, p.Title, p.Type = http.StatusMethodNotAllowed, "Method Not Allowed", problemBase+"method_not_allowed"
		h.srv.writeProblem(w, r, p)
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
	body := http.MaxBytesReader(w, r.Body, h.maxBody)
	batch, err := auth0.Decode(body, auth0.InvitationEvents)
	var tooBig *http.MaxBytesError
	switch {
	case errors.As(err, &tooBig):
		h.tooLarge(w, r)
		return
	case errors.Is(err, auth0.ErrNotLogStream):
		h.srv.writeError(w, r, invite.Wrap(invite.CodeInvalid, err, "the body is not an Auth0 log-stream batch"))
		return
	case err != nil:
		h.srv.writeError(w, r, invite.Wrap(invite.CodeInvalid, err, "the body could not be read"))
		return
	}
	for _, re := range batch.Errors {
		log.WarnContext(ctx, "malformed log record skipped", "index", re.Index, "error", re.Err.Error())
	}
	events := make([]invite.IdentityEvent, len(batch.Events))
	for i, e := range batch.Events {
		events[i] = identityEvent(i, e)
	}
	res, err := h.acceptor.Apply(ctx, events)
	if err != nil {
		h.srv.writeError(w, r, err)
		return
	}
	log.InfoContext(ctx, "log-stream batch applied", "format", batch.Format, "records", batch.Records,
		"relevant", len(events), "applied", res.Applied, "malformed", len(batch.Errors))
	h.srv.writeJSON(w, http.StatusOK, webhookResult{
		Records: batch.Records, Relevant: len(events), Applied: res.Applied, Unchanged: res.Unchanged,
		Unmatched: res.Unmatched, Duplicate: res.Duplicate, Skipped: res.Skipped,
		Malformed: len(batch.Errors), Truncated: batch.Truncated,
	})
}

func (h *webhook) tooLarge(w http.ResponseWriter, r *http.Request) {
	// The connection may still carry the rest of the body: close it rather than read it.
	w.Header().Set("Connection", "close")
	h.srv.writeBodyError(w, r, &bodyTooLarge{h.maxBody})
}

// identityEvent is the domain's view of a decoded log event; index is its place
// among the batch's relevant events.
func identityEvent(index int, e auth0.LogEvent) invite.IdentityEvent {
	return invite.IdentityEvent{
		Index:             index,
		LogID:             e.LogID,
		Type:              string(e.Type),
		At:                e.Date,
		UserID:            e.UserID,
		Email:             e.Email,
		OrganizationID:    e.OrganizationID,
		Auth0InvitationID: e.InvitationID,
		LoginsCount:       e.LoginsCount,
		Description:       e.Description,
	}
}
