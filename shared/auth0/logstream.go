package auth0

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"
)

// EventType is an Auth0 tenant log event type code ("s", "fp", ...).
type EventType string

// The log event types Doorman reads. Every other code decodes too, with its code kept
// as given; Known reports false for it.
const (
	EventSuccessLogin          EventType = "s"
	EventSuccessSignup         EventType = "ss"
	EventSuccessChangePassword EventType = "scp"
	EventFailedInviteAccept    EventType = "fi"
	EventFailedLogin           EventType = "f"
	EventFailedLoginPassword   EventType = "fp"
)

// Known reports whether t is one of the types named above.
func (t EventType) Known() bool {
	switch t {
	case EventSuccessLogin, EventSuccessSignup, EventSuccessChangePassword,
		EventFailedInviteAccept, EventFailedLogin, EventFailedLoginPassword:
		return true
	}
	return false
}

// InvitationEvents is the filter of the types that can move an invitation: a first
// login or signup accepts it, a password change follows a ticket, and a failed invite
// accept consumes an organization invitation.
func InvitationEvents(t EventType) bool {
	switch t {
	case EventSuccessLogin, EventSuccessSignup, EventSuccessChangePassword, EventFailedInviteAccept:
		return true
	}
	return false
}

// LogEvent is one Auth0 log record, reduced to what Doorman uses.
type LogEvent struct {
	LogID            string
	Type             EventType
	Date             time.Time
	UserID           string
	UserName         string
	Email            string // user_name when it is an address, else the signup body's email
	ClientID         string
	Connection       string
	OrganizationID   string
	OrganizationName string
	LoginsCount      int // details.stats.loginsCount; 0 when Auth0 did not say
	Description      string
	// InvitationID is the Auth0 organization invitation a failed accept (fi) was
	// about: details.invitation.id.
	InvitationID string
}

// Format is the content format of a log-stream body.
type Format string

// The custom webhook's content formats.
const (
	FormatArray  Format = "array"  // [{"log_id":…,"data":{…}}, …]
	FormatLines  Format = "lines"  // one record per line
	FormatObject Format = "object" // a single record
)

// RecordError is a record that could not be decoded, by its position in the body
// (0-based: the array element, or the non-empty line).
type RecordError struct {
	Index int
	Err   error
}

func (e RecordError) Error() string { return fmt.Sprintf("record %d: %v", e.Index, e.Err) }

// Batch is a decoded log-stream body.
type Batch struct {
	Format Format
	// Records counts the records seen, decoded, skipped by the filter or malformed.
	Records int
	// Events are the records the filter kept, in body order.
	Events []LogEvent
	// Errors are the malformed records. Their neighbours are decoded all the same,
	// except after a syntax error inside a JSON array, which JSON gives no way to
	// step over: then Truncated is set and the rest of the array is unread.
	Errors    []RecordError
	Truncated bool
}

// ErrNotLogStream reports a body that is neither a JSON array nor JSON objects.
var ErrNotLogStream = errors.New("auth0: body is not an Auth0 log-stream batch")

// Decode reads a log-stream body in any of the three formats. filter, when not nil,
// selects the event types to decode; the others are skipped after reading only their
// type, which keeps a batch of unrelated tenant events cheap. The error is for the body
// as a whole (unreadable, empty, not JSON records); a bad record lands in
// Batch.Errors instead.
func Decode(r io.Reader, filter func(EventType) bool) (*Batch, error) {
	br := bufio.NewReaderSize(r, 64<<10)
	first, err := firstByte(br)
	if err != nil {
		return nil, err
	}
	d := decoder{filter: filter, batch: &Batch{}}
	switch first {
	case '[':
		d.batch.Format = FormatArray
		err = d.array(br)
	case '{':
		err = d.objects(br)
	default:
		return nil, fmt.Errorf("%w: it starts with %q", ErrNotLogStream, first)
	}
	if err != nil {
		return nil, err
	}
	return d.batch, nil
}

type decoder struct {
	filter func(EventType) bool
	batch  *Batch
}

func (d *decoder) fail(i int, err error) {
	d.batch.Errors = append(d.batch.Errors, RecordError{Index: i, Err: err})
}

// record decodes one record. A record the filter rejects costs only its framing and
// a look at data.type: it is not parsed, so it is not validated either, and a
// malformed record whose type is readable and ignored goes unreported.
func (d *decoder) record(i int, raw []byte) {
	d.batch.Records++
	if d.filter != nil {
		if t, ok := peekType(raw); ok && !d.filter(EventType(t)) {
			return
		}
	}
	ev, err := decodeRecord(raw)
	if err != nil {
		d.fail(i, err)
		return
	}
	if d.filter != nil && !d.filter(ev.Type) {
		return
	}
	d.batch.Events = append(d.batch.Events, ev)
}

// wireRecord is a record as Auth0's custom webhook sends it: the log id at the top,
// the tenant log event under data.
type wireRecord struct {
	LogID string    `json:"log_id"`
	Data  *wireData `json:"data"`
}

type wireData struct {
	LogID            string          `json:"log_id"`
	Date             string          `json:"date"`
	Type             string          `json:"type"`
	Description      string          `json:"description"`
	Connection       string          `json:"connection"`
	ClientID         string          `json:"client_id"`
	UserID           string          `json:"user_id"`
	UserName         string          `json:"user_name"`
	OrganizationID   string          `json:"organization_id"`
	OrganizationName string          `json:"organization_name"`
	Details          json.RawMessage `json:"details"`
}

// wireDetails holds the parts of details Doorman reads. Their shape varies by event
// type, so each is decoded on its own and a mismatch is ignored rather than fatal.
type wireDetails struct {
	Stats      json.RawMessage `json:"stats"`
	Email      json.RawMessage `json:"email"`
	Body       json.RawMessage `json:"body"`
	Invitation json.RawMessage `json:"invitation"`
}

func decodeRecord(raw []byte) (LogEvent, error) {
	var rec wireRecord
	if err := json.Unmarshal(raw, &rec); err != nil {
		return LogEvent{}, fmt.Errorf("decode record: %w", err)
	}
	if rec.Data == nil {
		return LogEvent{}, errors.New("record has no data object")
	}
	data := rec.Data
	ev := LogEvent{
		LogID:            rec.LogID,
		Type:             EventType(data.Type),
		UserID:           data.UserID,
		UserName:         data.UserName,
		ClientID:         data.ClientID,
		Connection:       data.Connection,
		OrganizationID:   data.OrganizationID,
		OrganizationName: data.OrganizationName,
		Description:      data.Description,
	}
	if ev.LogID == "" {
		ev.LogID = data.LogID
	}
	if ev.LogID == "" {
		return LogEvent{}, errors.New("record has no log_id")
	}
	if !validLogID(ev.LogID) {
		return LogEvent{}, fmt.Errorf("record has a malformed log_id %q", ev.LogID)
	}
	if ev.Type == "" {
		return LogEvent{}, fmt.Errorf("record %s has no data.type", ev.LogID)
	}
	if data.Date != "" {
		t, err := time.Parse(time.RFC3339Nano, data.Date)
		if err != nil {
			return LogEvent{}, fmt.Errorf("record %s: bad data.date: %w", ev.LogID, err)
		}
		ev.Date = t
	}
	var details wireDetails
	if len(data.Details) > 0 && data.Details[0] == '{' {
		_ = json.Unmarshal(data.Details, &details)
	}
	var stats struct {
		LoginsCount int `json:"loginsCount"`
	}
	if json.Unmarshal(details.Stats, &stats) == nil {
		ev.LoginsCount = stats.LoginsCount
	}
	ev.Email = recordEmail(ev.UserName, details)
	var invitation struct {
		ID string `json:"id"`
	}
	if json.Unmarshal(details.Invitation, &invitation) == nil {
		ev.InvitationID = invitation.ID
	}
	return ev, nil
}

// validLogID accepts what Auth0's ids are made of (56 digits today) with room to
// spare: up to 128 printable ASCII characters. The id keys deduplication, so
// anything else, such as bytes encoding/json replaced with U+FFFD, is refused.
func validLogID(id string) bool {
	if len(id) > 128 {
		return false
	}
	for i := 0; i < len(id); i++ {
		if id[i] <= ' ' || id[i] > '~' {
			return false
		}
	}
	return true
}

// recordEmail finds the user's address: user_name for database users, else
// details.email (ticket events such as sv and scp) or details.body.email (signups).
func recordEmail(userName string, details wireDetails) string {
	if strings.Contains(userName, "@") {
		return userName
	}
	var email string
	if json.Unmarshal(details.Email, &email) == nil && strings.Contains(email, "@") {
		return email
	}
	var body struct {
		Email string `json:"email"`
	}
	if json.Unmarshal(details.Body, &body) == nil {
		return body.Email
	}
	return ""
}
