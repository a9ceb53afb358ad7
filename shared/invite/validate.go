package invite

import (
	"encoding/json"
	"net"
	"net/mail"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/doormanhq/doorman/shared/mailbox"
)

// Limits of a create request.
const (
	MaxEmailLen     = 254 // octets, RFC 5321 path limit less the brackets
	MaxLocalPartLen = 64
	MaxRoles        = 50 // Auth0's limit of roles per organization member
	MaxNameLen      = 300
	MaxMessageLen   = 500
	MaxMetadataSize = 16 << 10 // serialized JSON, per metadata object
	MaxRedirectLen  = 2048
	MinTTL          = time.Hour
	DefaultTTL      = 7 * 24 * time.Hour
	MaxTTL          = 30 * 24 * time.Hour // Auth0's limit for organization invitations
)

// OnConflict values: what Create does when a pending invitation for the same email and
// scope exists.
const (
	OnConflictError  = "error" // the default: fail with conflict and the existing id
	OnConflictResend = "resend"
)

// Reserved metadata keys: Doorman writes them on the Auth0 user and reads them back.
var reservedMetadataKeys = []string{"needsInvitation", "invitationId"}

// CreateRequest is what a caller asks for. Field comments give the JSON names that
// validation errors use.
type CreateRequest struct {
	Email          string         // email
	Name           string         // name
	OrganizationID string         // organization_id; empty for an application invitation
	Roles          []string       // roles: Auth0 role ids
	Connection     string         // connection
	ClientID       string         // client_id
	AppMetadata    map[string]any // app_metadata
	UserMetadata   map[string]any // user_metadata
	TTL            time.Duration  // ttl_seconds; 0 means the default
	RedirectURL    string         // redirect_url
	// SendEmail is send_email. The API defaults it to true; a Go caller that leaves it
	// false gets the accept URL back instead of an email.
	SendEmail  bool
	Locale     string // locale: BCP 47
	Message    string // message: the inviter's personal note
	OnConflict string // on_conflict: "", "error" or "resend"
	// AddressProven is set by the join flows only (never from a request body): the
	// address was just proven by Doorman's own emailed link, in the browser that asks,
	// so that browser may go straight on to the invitation's link (Created.AcceptURL)
	// besides its email.
	AddressProven bool
}

// Limits are the configurable parts of validation.
type Limits struct {
	DefaultTTL time.Duration // 0 means DefaultTTL
	MaxTTL     time.Duration // 0 means MaxTTL
	// RedirectAllowed says whether a redirect_url is on the operator's allow-list. Nil
	// allows none.
	RedirectAllowed func(string) bool
}

// ValidateCreate checks req and returns it normalized (email trimmed with its domain
// lower-cased, TTL defaulted, on_conflict defaulted). The error is an invalid_request
// naming the first offending field.
func ValidateCreate(req CreateRequest, lim Limits) (CreateRequest, error) {
	out := req
	var err error
	if out.Email, err = ValidateEmail(req.Email); err != nil {
		return req, err
	}
	if err := checkText("name", req.Name, MaxNameLen, true); err != nil {
		return req, err
	}
	if req.OrganizationID != "" && !validOrgID(req.OrganizationID) {
		return req, Invalid("organization_id", "must be an Auth0 organization id (org_...)")
	}
	if err := validateRoles(req.Roles); err != nil {
		return req, err
	}
	if err := checkText("connection", req.Connection, 128, true); err != nil {
		return req, err
	}
	if err := checkText("client_id", req.ClientID, 128, true); err != nil {
		return req, err
	}
	if err := validateMetadata("app_metadata", req.AppMetadata); err != nil {
		return req, err
	}
	if err := validateMetadata("user_metadata", req.UserMetadata); err != nil {
		return req, err
	}
	if out.TTL, err = ValidateTTL(req.TTL, lim); err != nil {
		return req, err
	}
	if req.RedirectURL != "" {
		if err := ValidateRedirectURL(req.RedirectURL, lim.RedirectAllowed); err != nil {
			return req, err
		}
	}
	if req.Locale != "" && !plausibleLocale(req.Locale) {
		return req, Invalid("locale", "must be a BCP 47 language tag such as en or pt-BR")
	}
	// The message goes into the email body, where a CR/LF does no header harm, but a
	// note of control characters is never what an inviter meant to send.
	if err := checkText("message", req.Message, MaxMessageLen, true); err != nil {
		return req, err
	}
	switch req.OnConflict {
	case "":
		out.OnConflict = OnConflictError
	case OnConflictError, OnConflictResend:
	default:
		return req, Invalid("on_conflict", `must be "error" or "resend"`)
	}
	return out, nil
}

// ValidateEmail checks that email is a bare addr-spec (no display name, angle brackets,
// comments or quoted local part) of at most 254 octets with a local part of at most 64,
// and returns it normalized (NormalizeEmail). Internationalized domains are accepted
// when IDNA accepts them, and the limits apply to their ASCII form, the one mail
// travels with; the local part must be ASCII, since SES does not deliver to SMTPUTF8
// local parts.
func ValidateEmail(email string) (string, error) {
	email, idnaErr := mailbox.Normalize(email)
	if email == "" {
		return "", Invalid("email", "is required")
	}
	if len(email) > MaxEmailLen {
		return "", Invalid("email", "must be at most %d characters", MaxEmailLen)
	}
	addr, err := mail.ParseAddress(email)
	if err != nil || addr.Name != "" || addr.Address != email {
		return "", Invalid("email", "must be a plain email address such as ann@example.com")
	}
	at := strings.LastIndexByte(email, '@')
	local, domain := email[:at], email[at+1:]
	if len(local) > MaxLocalPartLen {
		return "", Invalid("email", "the part before @ must be at most %d characters", MaxLocalPartLen)
	}
	for i := 0; i < len(local); i++ {
		if local[i] >= utf8.RuneSelf {
			return "", Invalid("email", "the part before @ must be ASCII")
		}
	}
	if idnaErr != nil || !validDomain(domain) {
		return "", Invalid("email", "the domain %q is not a valid mail domain", domain)
	}
	return email, nil
}

// validDomain accepts a dot-separated host name of at least two labels (letters of
// any script, digits, hyphens not at either end); no IP literals.
func validDomain(d string) bool {
	labels := strings.Split(d, ".")
	if len(labels) < 2 {
		return false
	}
	for _, l := range labels {
		if l == "" || len(l) > 63 || l[0] == '-' || l[len(l)-1] == '-' {
			return false
		}
		for _, r := range l {
			if !(r == '-' || unicode.IsLetter(r) || unicode.IsDigit(r) || unicode.Is(unicode.Mn, r) || unicode.Is(unicode.Mc, r)) {
				return false
			}
		}
	}
	// The top-level label is never all digits (that would be an IPv4 address).
	return strings.ContainsFunc(labels[len(labels)-1], func(r rune) bool { return !unicode.IsDigit(r) })
}

// ValidateTTL applies the default to 0 and checks the range [MinTTL, lim.MaxTTL]; the
// error names ttl_seconds.
func ValidateTTL(ttl time.Duration, lim Limits) (time.Duration, error) {
	def, maxTTL := lim.DefaultTTL, lim.MaxTTL
	if def == 0 {
		def = DefaultTTL
	}
	if maxTTL == 0 {
		maxTTL = MaxTTL
	}
	if ttl == 0 {
		return def, nil
	}
	if ttl < MinTTL || ttl > maxTTL {
		return 0, Invalid("ttl_seconds", "must be between %d and %d seconds", int(MinTTL.Seconds()), int(maxTTL.Seconds()))
	}
	return ttl, nil
}

// ValidateRedirectURL checks that raw is an absolute https URL (http only for the
// loopback host, for local development) without credentials, and that allowed accepts
// it. A nil allowed accepts nothing.
func ValidateRedirectURL(raw string, allowed func(string) bool) error {
	if len(raw) > MaxRedirectLen {
		return Invalid("redirect_url", "must be at most %d characters", MaxRedirectLen)
	}
	u, err := url.Parse(raw)
	if err != nil || !u.IsAbs() || u.Host == "" || u.Opaque != "" {
		return Invalid("redirect_url", "must be an absolute https URL")
	}
	if u.User != nil {
		return Invalid("redirect_url", "must not contain credentials")
	}
	switch u.Scheme {
	case "https":
	case "http":
		if !IsLoopback(u.Hostname()) {
			return Invalid("redirect_url", "must use https (http only for localhost)")
		}
	default:
		return Invalid("redirect_url", "must be an absolute https URL")
	}
	if allowed == nil || !allowed(raw) {
		return Invalid("redirect_url", "is not on the allowed list")
	}
	return nil
}

// IsLoopback reports whether host names this machine: "localhost" or a loopback IP
// address. It is Doorman's one test for where plain http is allowed (local runs).
func IsLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func validateRoles(roles []string) error {
	if len(roles) > MaxRoles {
		return Invalid("roles", "at most %d roles", MaxRoles)
	}
	seen := make(map[string]bool, len(roles))
	for i, r := range roles {
		field := "roles[" + strconv.Itoa(i) + "]"
		if strings.TrimSpace(r) == "" {
			return Invalid(field, "must not be empty")
		}
		if err := checkText(field, r, 128, true); err != nil {
			return err
		}
		if seen[r] {
			return Invalid(field, "duplicates role %q", r)
		}
		seen[r] = true
	}
	return nil
}

func validateMetadata(field string, m map[string]any) error {
	if m == nil {
		return nil
	}
	for _, k := range reservedMetadataKeys {
		if _, ok := m[k]; ok {
			return Invalid(field, "the key %q is reserved", k)
		}
	}
	b, err := json.Marshal(m)
	if err != nil {
		return Invalid(field, "must be a JSON object")
	}
	if len(b) > MaxMetadataSize {
		return Invalid(field, "must be at most %d bytes as JSON", MaxMetadataSize)
	}
	return nil
}

// checkText bounds s in characters and, when noControl, refuses control and line- or
// paragraph-separator characters, which could split an email header or subject.
func checkText(field, s string, maxLen int, noControl bool) error {
	if !utf8.ValidString(s) {
		return Invalid(field, "must be valid UTF-8")
	}
	if utf8.RuneCountInString(s) > maxLen {
		return Invalid(field, "must be at most %d characters", maxLen)
	}
	if noControl && strings.IndexFunc(s, isControl) >= 0 {
		return Invalid(field, "must not contain control characters or line breaks")
	}
	return nil
}

func isControl(r rune) bool {
	return unicode.IsControl(r) || r == '\u2028' || r == '\u2029' || r == '\u0085'
}

// SanitizeHeaderText makes text Doorman does not take from the request (an inviter's
// token name, an organization's display name in Auth0) safe for a subject line: it is
// OneLine, cut to at most MaxNameLen characters.
func SanitizeHeaderText(s string) string {
	s = OneLine(s)
	if utf8.RuneCountInString(s) > MaxNameLen {
		s = string([]rune(s)[:MaxNameLen])
	}
	return s
}

// OneLine makes s one line of text: every character BreaksLine names becomes a space,
// runs of white space become one space, and the ends are trimmed. It is the one
// sanitiser of text bound for a header, a subject or a single line of an email.
func OneLine(s string) string {
	if isOneLine(s) {
		return s
	}
	s = strings.ToValidUTF8(s, " ")
	s = strings.Map(func(r rune) rune {
		if BreaksLine(r) {
			return ' '
		}
		return r
	}, s)
	return strings.Join(strings.Fields(s), " ")
}

// BreaksLine reports whether r must not reach a single-line field: control characters
// (CR and LF above all, which would forge lines in a text body or headers), the
// Unicode line and paragraph separators, the bidirectional overrides and isolates,
// which can make a name display as something else, and the replacement character that
// invalid UTF-8 decodes to.
func BreaksLine(r rune) bool {
	switch {
	case isControl(r):
		return true
	case r >= '\u202a' && r <= '\u202e', r >= '\u2066' && r <= '\u2069':
		return true
	}
	return r == utf8.RuneError
}

// isOneLine is OneLine's fast path: most values need no work.
func isOneLine(s string) bool {
	if s == "" {
		return true
	}
	if !utf8.ValidString(s) || unicode.IsSpace(rune(s[0])) || unicode.IsSpace(rune(s[len(s)-1])) {
		return false
	}
	prevSpace := false
	for _, r := range s {
		if BreaksLine(r) {
			return false
		}
		space := unicode.IsSpace(r)
		if space && (prevSpace || r != ' ') {
			return false
		}
		prevSpace = space
	}
	return true
}

// validOrgID accepts Auth0's organization ids: "org_" and letters and digits.
func validOrgID(id string) bool {
	if !strings.HasPrefix(id, "org_") || len(id) <= 4 || len(id) > 50 {
		return false
	}
	for _, r := range id[4:] {
		if !(r < utf8.RuneSelf && (unicode.IsLetter(r) || unicode.IsDigit(r))) {
			return false
		}
	}
	return true
}

// plausibleLocale accepts the shape of a BCP 47 tag: a 2-3 letter (or 5-8 letter)
// language subtag, then subtags of 1-8 letters or digits, at most 35 characters. It
// does not check the registry: the mailer falls back to English for what it lacks.
func plausibleLocale(tag string) bool {
	if len(tag) > 35 {
		return false
	}
	parts := strings.FieldsFunc(tag, func(r rune) bool { return r == '-' || r == '_' })
	if len(parts) == 0 || strings.Contains(tag, "--") || strings.Contains(tag, "_") ||
		strings.HasPrefix(tag, "-") || strings.HasSuffix(tag, "-") {
		return false
	}
	lang := parts[0]
	if n := len(lang); !(n >= 2 && n <= 3 || n >= 5 && n <= 8) || !isAlpha(lang) {
		return false
	}
	for _, p := range parts[1:] {
		if len(p) < 1 || len(p) > 8 || !isAlnum(p) {
			return false
		}
	}
	return true
}

func isAlpha(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i] | 0x20
		if c < 'a' || c > 'z' {
			return false
		}
	}
	return true
}

func isAlnum(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= '0' && c <= '9') && !isAlpha(s[i:i+1]) {
			return false
		}
	}
	return true
}
