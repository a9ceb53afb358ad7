package app

import (
	"io"
	"log/slog"

	"github.com/doormanhq/doorman/shared/invite"
)

// NewLogger is the logger of an entry point: JSON lines on w, each carrying the ids
// its context holds (the request, invitation and Auth0 user: invite.LogHandler) and,
// unless function is empty, the function's name.
func NewLogger(w io.Writer, function string) *slog.Logger {
	log := slog.New(invite.LogHandler(slog.NewJSONHandler(w, nil)))
	if function != "" {
		log = log.With("function", function)
	}
	return log
}
