package auth0

import (
	"bufio"
	"bytes"
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

// firstByte peeks at the first non-space byte.
func firstByte(br *bufio.Reader) (byte, error) {
	for {
		b, err := br.ReadByte()
		if err == io.EOF {
			return 0, fmt.Errorf("%w: it is empty", ErrNotLogStream)
		}
		if err != nil {
			return 0, fmt.Errorf("auth0: read log-stream body: %w", err)
		}
		if !isSpace(b) {
			return b, br.UnreadByte()
		}
	}
}

type decoder struct {
	filter func(EventType) bool
	batch  *Batch
}

// array reads the body element by element into one reused buffer, so memory follows
// the largest record rather than the body. Elements are delimited by their brackets
// and strings before they are parsed, so an element that is bad JSON inside balanced
// brackets is reported and skipped without losing its neighbours.
func (d *decoder) array(br *bufio.Reader) error {
	if _, err := br.ReadByte(); err != nil { // the '[', already seen
		return fmt.Errorf("auth0: read log-stream array: %w", err)
	}
	var buf []byte
	for i := 0; ; i++ {
		c, err := nextNonSpace(br)
		if err != nil {
			return d.cut(i, err)
		}
		if c == ']' && i == 0 {
			return nil
		}
		buf, err = readValue(br, buf[:0])
		if err != nil {
			return d.cut(i, err)
		}
		d.record(i, buf)
		c, err = nextNonSpace(br)
		if err != nil {
			return d.cut(i+1, err)
		}
		_, _ = br.ReadByte()
		switch c {
		case ']':
			return nil
		case ',':
		default:
			return d.cut(i+1, fmt.Errorf("%w: %q between elements", errMalformed, c))
		}
	}
}

// cut records that the array ended early at element i; a read error other than the
// body's end is the caller's.
func (d *decoder) cut(i int, err error) error {
	if err != io.EOF && err != io.ErrUnexpectedEOF && !errors.Is(err, errMalformed) {
		return fmt.Errorf("auth0: read log-stream array: %w", err)
	}
	d.batch.Truncated = true
	d.fail(i, fmt.Errorf("array cut short: %w", err))
	return nil
}

var errMalformed = errors.New("malformed JSON")

// nextNonSpace peeks at the next byte that is not white space.
func nextNonSpace(br *bufio.Reader) (byte, error) {
	for {
		b, err := br.ReadByte()
		if err != nil {
			return 0, err
		}
		if !isSpace(b) {
			return b, br.UnreadByte()
		}
	}
}

// readValue appends one JSON value's bytes to buf, finding its end by its brackets
// and strings only; json.Valid judges the rest. It works on the reader's buffered
// window rather than byte by byte, and jumps through strings with IndexAny.
func readValue(br *bufio.Reader, buf []byte) ([]byte, error) {
	depth, inString, escaped := 0, false, false
	for {
		if br.Buffered() == 0 {
			if _, err := br.Peek(1); err != nil {
				if err == io.EOF {
					if depth == 0 && !inString && len(buf) > 0 {
						return buf, nil
					}
					return buf, io.ErrUnexpectedEOF
				}
				return buf, err
			}
		}
		chunk, _ := br.Peek(br.Buffered())
		for j := 0; j < len(chunk); j++ {
			c := chunk[j]
			if inString {
				if escaped {
					escaped = false
					continue
				}
				k := bytes.IndexAny(chunk[j:], "\"\\")
				if k < 0 {
					j = len(chunk)
					break
				}
				j += k
				if chunk[j] == '\\' {
					escaped = true
					continue
				}
				inString = false
				if depth == 0 {
					return take(br, buf, chunk, j+1)
				}
				continue
			}
			switch c {
			case '"':
				inString = true
			case '{', '[':
				depth++
			case '}', ']':
				if depth == 0 { // the end of a scalar element: leave the ']' for the caller
					return take(br, buf, chunk, j)
				}
				depth--
				if depth == 0 {
					return take(br, buf, chunk, j+1)
				}
			case ',', ' ', '\t', '\n', '\r':
				if depth == 0 { // the end of a scalar, or an empty slot
					return take(br, buf, chunk, j)
				}
			}
		}
		buf = append(buf, chunk...)
		_, _ = br.Discard(len(chunk))
	}
}

// take appends chunk[:n] to buf and consumes it from br.
func take(br *bufio.Reader, buf, chunk []byte, n int) ([]byte, error) {
	buf = append(buf, chunk[:n]...)
	_, err := br.Discard(n)
	return buf, err
}

// objects handles the two formats that start with '{': JSON lines, read line by line,
// and a single object, which may span lines. A first line that is a whole JSON value
// means lines; otherwise the body is one object, or lines whose first one is broken.
func (d *decoder) objects(br *bufio.Reader) error {
	first, err := readLine(br)
	if err != nil && err != io.EOF {
		return fmt.Errorf("auth0: read log-stream body: %w", err)
	}
	if json.Valid(first) {
		// One record on one line is both formats; it reads as an object.
		if err == io.EOF || onlySpaceLeft(br) {
			d.batch.Format = FormatObject
			d.record(0, first)
			return nil
		}
		d.batch.Format = FormatLines
		d.record(0, first)
		return d.lines(br, 1)
	}
	rest, rerr := io.ReadAll(br)
	if rerr != nil {
		return fmt.Errorf("auth0: read log-stream body: %w", rerr)
	}
	whole := append(append(first, '\n'), rest...)
	if json.Valid(whole) {
		d.batch.Format = FormatObject
		d.record(0, whole)
		return nil
	}
	d.batch.Format = FormatLines
	d.batch.Records++
	d.fail(0, errors.New("malformed JSON line"))
	return d.lines(bufio.NewReader(bytes.NewReader(rest)), 1)
}

// onlySpaceLeft reports whether nothing but white space remains, consuming it.
func onlySpaceLeft(br *bufio.Reader) bool {
	for {
		b, err := br.ReadByte()
		if err != nil {
			return true
		}
		if !isSpace(b) {
			_ = br.UnreadByte()
			return false
		}
	}
}

func (d *decoder) lines(br *bufio.Reader, index int) error {
	for {
		line, err := readLine(br)
		if len(line) > 0 {
			d.record(index, line)
			index++
		}
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return fmt.Errorf("auth0: read log-stream line %d: %w", index, err)
		}
	}
}

// readLine returns the next line, trimmed; blank lines are skipped.
func readLine(br *bufio.Reader) ([]byte, error) {
	for {
		line, err := br.ReadBytes('\n')
		line = bytes.TrimSpace(line)
		if len(line) > 0 || err != nil {
			return line, err
		}
	}
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

// peekType finds data.type in a record without decoding the rest. ok is false when
// it cannot tell (no data object, no plain type string, malformed JSON on the way);
// the caller then decodes the record in full.
func peekType(raw []byte) (string, bool) {
	data, ok := member(raw, "data")
	if !ok {
		return "", false
	}
	t, ok := member(data, "type")
	if !ok || len(t) < 2 || t[0] != '"' || t[len(t)-1] != '"' || bytes.IndexByte(t, '\\') >= 0 {
		return "", false
	}
	return string(t[1 : len(t)-1]), true
}

// member returns the raw value of key in the JSON object obj. It trusts obj to be
// JSON only as far as staying in bounds: on malformed input it may answer wrongly,
// never panic. Keys written with escapes are not matched.
func member(obj []byte, key string) ([]byte, bool) {
	i := skipSpace(obj, 0)
	if i >= len(obj) || obj[i] != '{' {
		return nil, false
	}
	i++
	for {
		i = skipSpace(obj, i)
		if i >= len(obj) || obj[i] != '"' {
			return nil, false
		}
		kEnd := skipString(obj, i)
		if kEnd-1 < i+1 || obj[kEnd-1] != '"' {
			return nil, false
		}
		k := obj[i+1 : kEnd-1]
		i = skipSpace(obj, kEnd)
		if i >= len(obj) || obj[i] != ':' {
			return nil, false
		}
		i = skipSpace(obj, i+1)
		vEnd := skipValue(obj, i)
		if string(k) == key {
			return obj[i:vEnd], true
		}
		i = skipSpace(obj, vEnd)
		if i >= len(obj) || obj[i] != ',' {
			return nil, false
		}
		i++
	}
}

// skipString returns the index just past the string starting at s[i] == '"'.
func skipString(s []byte, i int) int {
	for j := i + 1; j < len(s); j++ {
		switch s[j] {
		case '\\':
			j++
		case '"':
			return j + 1
		}
	}
	return len(s)
}

// skipValue returns the index just past the value starting at s[i].
func skipValue(s []byte, i int) int {
	if i >= len(s) {
		return len(s)
	}
	switch s[i] {
	case '"':
		return skipString(s, i)
	case '{', '[':
		depth := 0
		for j := i; j < len(s); j++ {
			switch s[j] {
			case '"':
				j = skipString(s, j) - 1
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return j + 1
				}
			}
		}
		return len(s)
	default: // number, true, false, null
		j := i
		for j < len(s) && s[j] != ',' && s[j] != '}' && s[j] != ']' && !isSpace(s[j]) {
			j++
		}
		return j
	}
}

func skipSpace(s []byte, i int) int {
	for i < len(s) && isSpace(s[i]) {
		i++
	}
	return i
}

func isSpace(b byte) bool { return b == ' ' || b == '\t' || b == '\n' || b == '\r' }
