package app

import (
	"errors"
	"io"

	"github.com/doormanhq/doorman/shared/auth0"
	"github.com/doormanhq/doorman/shared/httpapi"
	"github.com/doormanhq/doorman/shared/invite"
)

// DecodeLogStream is the webhook's httpapi.LogDecoder: it reads Auth0's log-stream
// formats with shared/auth0, keeping the event types that can move an invitation, and
// hands them on as the domain's identity events. httpapi knows nothing of Auth0's
// wire format; this is where the two meet.
func DecodeLogStream(body io.Reader) (*httpapi.LogBatch, error) {
	b, err := auth0.Decode(body, auth0.InvitationEvents)
	if errors.Is(err, auth0.ErrNotLogStream) {
		return nil, invite.Wrap(invite.CodeInvalid, err, "the body is not an Auth0 log-stream batch")
	}
	if err != nil {
		return nil, err
	}
	out := &httpapi.LogBatch{Format: string(b.Format), Records: b.Records, Truncated: b.Truncated,
		Events: make([]invite.IdentityEvent, len(b.Events))}
	for i, e := range b.Events {
		out.Events[i] = identityEvent(i, e)
	}
	for _, re := range b.Errors {
		out.Malformed = append(out.Malformed, httpapi.MalformedRecord{Index: re.Index, Err: re.Err})
	}
	return out, nil
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
