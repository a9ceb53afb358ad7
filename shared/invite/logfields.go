package invite

import (
	"context"
	"log/slog"
)

// The ids a log line is about travel in the context: the entry point puts the request
// id there, the domain the invitation and Auth0 user ids it works on, and the log
// handler installed where loggers are built (LogHandler) adds them to every line, so
// that nobody repeats them by hand.
type (
	requestIDKey    struct{}
	invitationIDKey struct{}
	auth0UserIDKey  struct{}
)

// WithRequestID returns ctx carrying the id of the request it serves.
func WithRequestID(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, requestIDKey{}, id)
}

// RequestID returns the id of the request ctx serves, or "".
func RequestID(ctx context.Context) string {
	id, _ := ctx.Value(requestIDKey{}).(string)
	return id
}

// WithInvitation returns ctx carrying the invitation's id and, when it has one, its
// Auth0 user id.
func WithInvitation(ctx context.Context, inv *Invitation) context.Context {
	if inv == nil {
		return ctx
	}
	ctx = context.WithValue(ctx, invitationIDKey{}, inv.ID)
	if inv.Auth0UserID != "" {
		ctx = WithAuth0UserID(ctx, inv.Auth0UserID)
	}
	return ctx
}

// WithAuth0UserID returns ctx carrying the Auth0 user id it is about.
func WithAuth0UserID(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, auth0UserIDKey{}, id)
}

// logFields are the ids a context may carry, in the order lines show them.
var logFields = [...]struct {
	key  any
	name string
}{{requestIDKey{}, "request_id"}, {invitationIDKey{}, "invitation_id"}, {auth0UserIDKey{}, "auth0_user_id"}}

// LogAttrs are the ids ctx carries, as log attributes, in a fixed order.
func LogAttrs(ctx context.Context) []slog.Attr {
	var out []slog.Attr
	for _, f := range logFields {
		if id, _ := ctx.Value(f.key).(string); id != "" {
			out = append(out, slog.String(f.name, id))
		}
	}
	return out
}

// LogHandler wraps h so that every record logged with a context carries the ids that
// context holds (LogAttrs). Loggers are built with it once, in each entry point; a
// handler it made already is returned as it is, so that a package may make sure of it.
func LogHandler(h slog.Handler) slog.Handler {
	if c, ok := h.(ctxHandler); ok {
		return c
	}
	return ctxHandler{h}
}

type ctxHandler struct{ slog.Handler }

func (h ctxHandler) Handle(ctx context.Context, r slog.Record) error {
	if ctx != nil {
		// r is this call's own copy, dropped by the Logger once Handle returns, so the
		// ids are added to it in place.
		for _, f := range logFields {
			if id, _ := ctx.Value(f.key).(string); id != "" {
				r.AddAttrs(slog.String(f.name, id))
			}
		}
	}
	return h.Handler.Handle(ctx, r)
}

func (h ctxHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return ctxHandler{h.Handler.WithAttrs(attrs)}
}

func (h ctxHandler) WithGroup(name string) slog.Handler {
	return ctxHandler{h.Handler.WithGroup(name)}
}
