package httpapi

import (
	"time"

	"github.com/doormanhq/doorman/shared/invite"
)

// invitationJSON is an invitation as the API shows it. What is Doorman's own
// bookkeeping (the token hash, the version, the Auth0 invitation URL, which is a
// credential) stays out.
type invitationJSON struct {
	ID                string         `json:"id"`
	Kind              string         `json:"kind"`
	Email             string         `json:"email"`
	Name              string         `json:"name"`
	OrganizationID    string         `json:"organization_id,omitempty"`
	Roles             []string       `json:"roles"`
	Status            string         `json:"status"`
	Inviter           inviterJSON    `json:"inviter"`
	Connection        string         `json:"connection,omitempty"`
	ClientID          string         `json:"client_id,omitempty"`
	AppMetadata       map[string]any `json:"app_metadata,omitempty"`
	UserMetadata      map[string]any `json:"user_metadata,omitempty"`
	Locale            string         `json:"locale,omitempty"`
	Message           string         `json:"message,omitempty"`
	RedirectURL       string         `json:"redirect_url,omitempty"`
	CreatedAt         string         `json:"created_at"`
	ExpiresAt         string         `json:"expires_at"`
	AcceptedAt        string         `json:"accepted_at,omitempty"`
	RevokedAt         string         `json:"revoked_at,omitempty"`
	ExpiredAt         string         `json:"expired_at,omitempty"`
	FailedReason      string         `json:"failed_reason,omitempty"`
	Provisioning      bool           `json:"provisioning,omitempty"`
	Auth0UserID       string         `json:"auth0_user_id,omitempty"`
	Auth0InvitationID string         `json:"auth0_invitation_id,omitempty"`
	Delivery          deliveryJSON   `json:"delivery"`
	History           []eventJSON    `json:"history"`
	AcceptURL         string         `json:"accept_url,omitempty"`
	Resent            bool           `json:"resent,omitempty"`
}

type inviterJSON struct {
	Sub  string `json:"sub"`
	Name string `json:"name"`
}

type deliveryJSON struct {
	Status        string `json:"status"`
	MessageID     string `json:"message_id,omitempty"`
	Sends         int    `json:"sends"`
	LastSentAt    string `json:"last_sent_at,omitempty"`
	NextAttemptAt string `json:"next_attempt_at,omitempty"`
	LastError     string `json:"last_error,omitempty"`
}

type eventJSON struct {
	Event  string `json:"event"`
	At     string `json:"at"`
	Actor  string `json:"actor"`
	Detail string `json:"detail,omitempty"`
}

type listJSON struct {
	Invitations []invitationJSON `json:"invitations"`
	NextCursor  string           `json:"next_cursor,omitempty"`
}

// rfc3339 formats t in UTC, or "" for the zero time (an absent field).
func rfc3339(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}

func render(inv *invite.Invitation, acceptURL string, resent bool) invitationJSON {
	roles := inv.Roles
	if roles == nil {
		roles = []string{}
	}
	out := invitationJSON{
		ID:                inv.ID,
		Kind:              string(inv.Kind),
		Email:             inv.Email,
		Name:              inv.Name,
		OrganizationID:    inv.OrganizationID,
		Roles:             roles,
		Status:            string(inv.Status),
		Inviter:           inviterJSON{Sub: inv.Inviter.Sub, Name: inv.Inviter.Name},
		Connection:        inv.Connection,
		ClientID:          inv.ClientID,
		AppMetadata:       inv.AppMetadata,
		UserMetadata:      inv.UserMetadata,
		Locale:            inv.Locale,
		Message:           inv.Message,
		RedirectURL:       inv.RedirectURL,
		CreatedAt:         rfc3339(inv.CreatedAt),
		ExpiresAt:         rfc3339(inv.ExpiresAt),
		AcceptedAt:        rfc3339(inv.AcceptedAt),
		RevokedAt:         rfc3339(inv.RevokedAt),
		ExpiredAt:         rfc3339(inv.ExpiredAt),
		FailedReason:      inv.FailedReason,
		Provisioning:      inv.Status == invite.StatusPending && !inv.Provisioned(),
		Auth0UserID:       inv.Auth0UserID,
		Auth0InvitationID: inv.Auth0InvitationID,
		Delivery: deliveryJSON{
			Status:        string(inv.Delivery.Status),
			MessageID:     inv.Delivery.MessageID,
			Sends:         inv.Delivery.Sends,
			LastSentAt:    rfc3339(inv.Delivery.LastSentAt),
			NextAttemptAt: rfc3339(inv.Delivery.NextAttemptAt),
			LastError:     inv.Delivery.LastError,
		},
		History:   make([]eventJSON, len(inv.History)),
		AcceptURL: acceptURL,
		Resent:    resent,
	}
	for i, e := range inv.History {
		out.History[i] = eventJSON{Event: e.Event, At: rfc3339(e.At), Actor: e.Actor, Detail: e.Detail}
	}
	return out
}
