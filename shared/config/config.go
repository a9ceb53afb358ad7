// Package config reads Doorman's settings from the environment into a typed Config,
// once, at cold start: every setting is checked there, and a missing or malformed one
// stops the start with a message that names the variable. Secrets may be given as
// values (local runs) or as Secrets Manager ARNs (Lambda), which are read here, once;
// a secret never appears in a message, a log line or a formatted Config.
package config

import (
	"context"
	"crypto/hkdf"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/mail"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/doormanhq/doorman/shared/httpapi"
	"github.com/doormanhq/doorman/shared/invite"
)

// Function names the Lambda function being configured; each needs its own settings.
type Function string

const (
	API       Function = "api"
	Logstream Function = "logstream"
	Sweeper   Function = "sweeper"
	Worker    Function = "worker"
	// SESEvents applies SES's sending events; it calls neither Auth0 nor SES, so it
	// takes no Auth0 settings and no secret.
	SESEvents Function = "sesevents"
	// Publisher fans the table's stream out as events and delivers webhooks; like
	// SESEvents it calls neither Auth0 nor SES and takes no Auth0 setting or secret.
	Publisher Function = "publisher"
)

// Defaults and limits.
const (
	DefaultInvitesPerHour = httpapi.DefaultInvitesPerHour
	maxInvitesPerHour     = 100000
	// MinCursorKeyLen matches the store's minimum HMAC key length.
	MinCursorKeyLen = 32
	maxAppName      = 100
)

// cursorKeyInfo labels the cursor key derived from the Auth0 client secret, so that
// the derived key can never equal a key derived for another purpose.
const cursorKeyInfo = "doorman/cursor-key/v1"

// Secret is a setting that must never be shown: it formats and logs as "[redacted]".
type Secret string

func (Secret) String() string               { return "[redacted]" }
func (Secret) GoString() string             { return `"[redacted]"` }
func (Secret) LogValue() slog.Value         { return slog.StringValue("[redacted]") }
func (Secret) MarshalText() ([]byte, error) { return []byte("[redacted]"), nil }

// Reveal returns the secret's value, for the one client that needs it.
func (s Secret) Reveal() string { return string(s) }

// Auth0 is the Management API client's settings.
type Auth0 struct {
	// Domain is the tenant's host ("acme.eu.auth0.com"), or an http://127.0.0.1:port
	// URL for a local stand-in.
	Domain        string
	ClientID      string
	ClientSecret  Secret
	Connection    string
	LoginClientID string
}

// Config is every setting of a Doorman function.
type Config struct {
	Function Function
	Region   string
	// TableName is the DynamoDB table.
	TableName string
	// DynamoEndpoint and SESEndpoint override the AWS endpoints (local runs); empty in
	// AWS.
	DynamoEndpoint string
	SESEndpoint    string

	Auth0 Auth0

	MailFrom            string
	SESConfigurationSet string

	// PublicBaseURL is where /i/{token} is served, without a trailing slash.
	PublicBaseURL     string
	RedirectAllowlist Allowlist
	CORSOrigins       []string
	// WebhookToken is the log stream's bearer token; set for Logstream only.
	WebhookToken Secret
	// CursorKey signs list and expiry cursors: CURSOR_KEY or CURSOR_KEY_ARN (base64,
	// at least 32 bytes), else derived from the Auth0 client secret (see Load).
	CursorKey Secret
	// InvitesPerHour is the per-inviter hourly cap, or -1 when INVITES_PER_HOUR=0
	// turns it off (httpapi.Config's convention).
	InvitesPerHour  int
	ApplicationName string
	ApplicationURL  string

	// QueueURL is the worker's SQS queue, where the api function sends batch items;
	// empty turns batches off (the local run has a queue of its own).
	QueueURL string
	// DeliveryQueueURL is the SQS FIFO queue of webhook deliveries (the publisher
	// fills it, and the API for replays); empty: no webhook deliveries.
	DeliveryQueueURL string
	// EventBusName is an EventBridge bus every event is also put on; empty: none.
	EventBusName string
	// QueueMaxReceives is the queue's maxReceiveCount: the worker records an item that
	// still fails on that delivery as failed rather than leave it to the dead letters.
	QueueMaxReceives int
	// Auth0RateLimit is the first estimate of the tenant's Management API rate, in
	// requests per second; the limiter corrects it from Auth0's X-RateLimit-* headers.
	Auth0RateLimit float64

	// Console is the hosted admin page's sign-in (console.go).
	Console Console

	// CreateBudget is CREATE_BUDGET: how long a single create waits on Auth0 before it
	// defers the invitation to the worker (202); 0 means the domain's default (2s).
	CreateBudget time.Duration
	// ReminderBefore is how long before expiry the sweeper sends the reminder: 0 for
	// the default (48h), negative for none.
	ReminderBefore time.Duration
	// ExpiredUserPolicy is what expiry and revocation do with an Auth0 user Doorman
	// created and nobody claimed: "delete", "block" or "keep"; "" for the default
	// (delete).
	ExpiredUserPolicy string

	// The grant ceiling (DESIGN.md, "Who may grant what, to whom"): GrantableRoles are
	// the Auth0 role ids or names invitations may carry, none when empty;
	// AppMetadataKeys the app_metadata keys they may set, none when empty;
	// AllowedConnections and AllowedClientIDs what they may name besides
	// Auth0.Connection and Auth0.LoginClientID.
	GrantableRoles     []string
	AppMetadataKeys    []string
	AllowedConnections []string
	AllowedClientIDs   []string
	// VerifyDisclosedLinks lets a link handed to the API caller (send_email false,
	// tickets) mark the invitee's email verified when used.
	VerifyDisclosedLinks bool

	// The join flows (DESIGN.md "Join flows"): JoinPolicy is the application scope's
	// rule until one is set through PUT /v1/join-policy (require_approval by
	// default), JoinRoles the roles its auto_approve grants; JoinPerSourceMinute caps
	// what one source address sends each public join route per minute (-1: no cap);
	// JoinMailsPerDay the join emails one address gets per day.
	JoinPolicy          string
	JoinRoles           []string
	JoinPerSourceMinute int
	JoinMailsPerDay     int
}

// Ceiling is the grant ceiling of the settings, as the domain takes it: the
// configured connection and login client are always among those allowed.
func (c *Config) Ceiling() invite.Ceiling {
	return invite.Ceiling{
		Roles:           c.GrantableRoles,
		AppMetadataKeys: c.AppMetadataKeys,
		Connections:     append([]string{c.Auth0.Connection}, c.AllowedConnections...),
		ClientIDs:       append([]string{c.Auth0.LoginClientID}, c.AllowedClientIDs...),
	}
}

// Defaults of the bulk settings.
const (
	DefaultQueueMaxReceives = 5
	DefaultAuth0RateLimit   = 2
	maxAuth0RateLimit       = 1000
)

// SecretsClient is the part of the Secrets Manager client Load uses.
type SecretsClient interface {
	GetSecretValue(ctx context.Context, in *secretsmanager.GetSecretValueInput, optFns ...func(*secretsmanager.Options)) (*secretsmanager.GetSecretValueOutput, error)
}

var _ SecretsClient = (*secretsmanager.Client)(nil)

// Load reads fn's settings through getenv (os.Getenv in main) and checks them all. It
// reads the *_ARN secrets with secrets, which may be nil when none is set. The error
// lists every bad setting, one per line, each naming its variable.
//
// Settings (the environment variable, then the rule):
//
//	TABLE_NAME                 required; a DynamoDB table name
//	AWS_REGION                 required (Lambda sets it); e.g. eu-west-1
//	DYNAMODB_ENDPOINT          optional http(s) URL (local runs)
//	SES_ENDPOINT               optional http(s) URL (local runs)
//	(the sesevents function takes none of the AUTH0_ settings nor a cursor key)
//	AUTH0_DOMAIN               required; the tenant host, an https:// URL of it, or
//	                           http://<loopback>:port for a local stand-in
//	AUTH0_CLIENT_ID            required
//	AUTH0_CLIENT_SECRET        exactly one of the two; the _ARN form is read from
//	AUTH0_CLIENT_SECRET_ARN    Secrets Manager (SecretString, surrounding space trimmed)
//	AUTH0_CONNECTION           required; the database connection's name
//	AUTH0_CLIENT_ID_FOR_LOGIN  required; the application invitees sign in to
//	MAIL_FROM                  required; "Name <address>" or an address
//	SES_CONFIGURATION_SET      optional; letters, digits, _ and -
//	PUBLIC_BASE_URL            required; absolute https URL (http only on loopback)
//	REDIRECT_ALLOWLIST         optional; see ParseAllowlist (empty allows no redirect)
//	CORS_ORIGINS               optional; comma-separated scheme://host[:port] origins
//	WEBHOOK_TOKEN              logstream only, exactly one of the two; at least 32
//	WEBHOOK_TOKEN_ARN          characters
//	CURSOR_KEY                 optional, at most one of the two; standard base64 of
//	CURSOR_KEY_ARN             at least 32 bytes. When neither is set the key is
//	                           HKDF-SHA256 of the Auth0 client secret (which must then
//	                           have at least 32 characters): every function of a
//	                           deployment derives the same key with no extra secret to
//	                           provision, and rotating the client secret only makes
//	                           outstanding list cursors invalid (400, start again).
//	INVITES_PER_HOUR           optional integer 0..100000; default 100; 0 turns the
//	                           per-inviter cap off
//	APPLICATION_NAME           optional; at most 100 printable characters
//	APPLICATION_URL            optional absolute https URL (http only on loopback)
//	QUEUE_URL                  optional https URL of the worker's SQS queue; without
//	                           it batches are refused and the sweeper requeues none
//	QUEUE_MAX_RECEIVES         optional integer 1..100; default 5; must equal the
//	                           queue's maxReceiveCount
//	AUTH0_RATE_LIMIT           optional number 0.1..1000; default 2 (a free tenant):
//	                           the first estimate of the Management API's requests
//	                           per second, corrected from Auth0's rate-limit headers
//	REMINDER_BEFORE            optional duration 1h..720h (e.g. 48h, the default), or
//	                           "off": when the reminder goes out before expiry
//	EXPIRED_USER_POLICY        optional delete (default), block or keep: the fate of an
//	                           unclaimed Auth0 user Doorman created
//	GRANTABLE_ROLES            optional; comma-separated Auth0 role ids or names, the
//	                           only roles invitations may carry (empty: none)
//	APP_METADATA_KEYS          optional; comma-separated app_metadata keys invitations
//	                           may set (empty: none)
//	ALLOWED_CONNECTIONS        optional; comma-separated connection names invitations
//	                           may name besides AUTH0_CONNECTION
//	ALLOWED_CLIENT_IDS         optional; comma-separated client ids invitations may
//	                           name besides AUTH0_CLIENT_ID_FOR_LOGIN
//	CONSOLE_AUDIENCE           optional; the API identifier /console asks Auth0 tokens
//	                           for; empty turns /console off
//	CONSOLE_CLIENT_ID          optional; the Auth0 application (Single Page Application)
//	                           /console signs in with; default AUTH0_CLIENT_ID_FOR_LOGIN
//	VERIFY_DISCLOSED_LINKS     optional true or false (default): whether a link handed
//	                           to the API caller (send_email false, tickets) marks the
//	                           invitee's email verified when used
//	JOIN_POLICY                optional require_approval (default), auto_approve or
//	                           deny: the application's join policy until one is set
//	                           through PUT /v1/join-policy
//	JOIN_ROLES                 optional; comma-separated role ids auto_approve grants
//	JOIN_PER_SOURCE_MINUTE     optional integer 0..100000; default 60; requests one
//	                           source address may send each public join route per
//	                           minute; 0 turns the cap off
//	JOIN_MAILS_PER_DAY         optional integer 1..20; default 3; join emails (address
//	                           checks, denials) one address gets per day
//	DELIVERY_QUEUE_URL         optional URL of the SQS FIFO queue of webhook
//	                           deliveries; without it no webhook is delivered
//	EVENT_BUS_NAME             optional EventBridge bus name or ARN every event is
//	                           also put on
func Load(ctx context.Context, getenv func(string) string, secrets SecretsClient, fn Function) (*Config, error) {
	switch fn {
	case API, Logstream, Sweeper, Worker, SESEvents, Publisher:
	default:
		return nil, fmt.Errorf("config: unknown function %q", fn)
	}
	r := &reader{ctx: ctx, getenv: getenv, secrets: secrets}
	c := &Config{Function: fn}

	c.TableName = r.required("TABLE_NAME", checkTableName)
	c.Region = r.required("AWS_REGION", checkRegion)
	c.DynamoEndpoint = r.optional("DYNAMODB_ENDPOINT", checkEndpoint)
	c.SESEndpoint = r.optional("SES_ENDPOINT", checkEndpoint)

	if fn != SESEvents && fn != Publisher {
		c.Auth0.Domain = r.auth0Domain("AUTH0_DOMAIN")
		c.Auth0.ClientID = r.required("AUTH0_CLIENT_ID", checkIdentifier)
		c.Auth0.ClientSecret = r.secret("AUTH0_CLIENT_SECRET", true, nil)
		c.Auth0.Connection = r.required("AUTH0_CONNECTION", checkIdentifier)
		c.Auth0.LoginClientID = r.required("AUTH0_CLIENT_ID_FOR_LOGIN", checkIdentifier)
	}

	c.MailFrom = r.required("MAIL_FROM", checkMailFrom)
	c.SESConfigurationSet = r.optional("SES_CONFIGURATION_SET", checkConfigSet)

	c.PublicBaseURL = strings.TrimRight(r.required("PUBLIC_BASE_URL", checkPublicURL), "/")
	if v := r.getenv("REDIRECT_ALLOWLIST"); strings.TrimSpace(v) != "" {
		al, err := ParseAllowlist(v)
		if err != nil {
			r.fail("REDIRECT_ALLOWLIST", "%v", err)
		}
		c.RedirectAllowlist = al
	}
	c.CORSOrigins = r.origins("CORS_ORIGINS")

	if fn == Logstream {
		c.WebhookToken = r.secret("WEBHOOK_TOKEN", true, httpapi.CheckWebhookToken)
	}
	if fn != SESEvents && fn != Publisher { // they list nothing
		c.CursorKey = r.cursorKey(c.Auth0.ClientSecret)
	}

	c.InvitesPerHour = r.invitesPerHour("INVITES_PER_HOUR")
	c.ApplicationName = r.optional("APPLICATION_NAME", checkAppName)
	c.ApplicationURL = r.optional("APPLICATION_URL", checkPublicURL)

	c.QueueURL = r.optional("QUEUE_URL", checkQueueURL)
	c.QueueMaxReceives = r.intIn("QUEUE_MAX_RECEIVES", DefaultQueueMaxReceives, 1, 100)
	c.Auth0RateLimit = r.rate("AUTH0_RATE_LIMIT")
	c.ReminderBefore = r.reminderBefore("REMINDER_BEFORE")
	c.CreateBudget = r.createBudget("CREATE_BUDGET")
	c.ExpiredUserPolicy = r.optional("EXPIRED_USER_POLICY", checkUserPolicy)

	c.GrantableRoles = r.list("GRANTABLE_ROLES", "role", checkRoleRef)
	c.AppMetadataKeys = r.list("APP_METADATA_KEYS", "key", checkMetadataKey)
	c.AllowedConnections = r.list("ALLOWED_CONNECTIONS", "connection", checkIdentifier)
	c.AllowedClientIDs = r.list("ALLOWED_CLIENT_IDS", "client id", checkIdentifier)
	c.VerifyDisclosedLinks = r.boolean("VERIFY_DISCLOSED_LINKS")
	c.JoinPolicy = r.optional("JOIN_POLICY", checkJoinPolicy)
	c.JoinRoles = r.list("JOIN_ROLES", "role", checkRoleRef)
	if c.JoinPerSourceMinute = r.intIn("JOIN_PER_SOURCE_MINUTE", httpapi.DefaultJoinPerSourceMinute, 0, 100000); c.JoinPerSourceMinute == 0 {
		c.JoinPerSourceMinute = -1
	}
	c.JoinMailsPerDay = r.intIn("JOIN_MAILS_PER_DAY", invite.DefaultJoinMailsPerDay, 1, 20)
	c.Console = r.console(c.Auth0.LoginClientID)

	// Events out.
	c.DeliveryQueueURL = r.optional("DELIVERY_QUEUE_URL", checkQueueURL)
	c.EventBusName = r.optional("EVENT_BUS_NAME", checkEventBusName)

	if len(r.problems) > 0 {
		return nil, fmt.Errorf("config: %d bad setting(s) for the %s function:\n%s", len(r.problems), fn, strings.Join(r.problems, "\n"))
	}
	return c, nil
}

// LogValue lists the settings without the secrets, for one start-up log line.
func (c *Config) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("function", string(c.Function)),
		slog.String("table", c.TableName),
		slog.String("region", c.Region),
		slog.String("auth0_domain", c.Auth0.Domain),
		slog.String("public_base_url", c.PublicBaseURL),
		slog.Int("redirect_allowlist_entries", c.RedirectAllowlist.Len()),
		slog.Int("cors_origins", len(c.CORSOrigins)),
		slog.Int("invites_per_hour", c.InvitesPerHour),
		slog.Bool("batches", c.QueueURL != ""),
		slog.Any("grantable_roles", c.GrantableRoles),
		slog.Any("app_metadata_keys", c.AppMetadataKeys),
		slog.Bool("verify_disclosed_links", c.VerifyDisclosedLinks),
		slog.Float64("auth0_rate_limit", c.Auth0RateLimit),
		slog.Bool("dynamodb_endpoint_override", c.DynamoEndpoint != ""),
		slog.Bool("ses_endpoint_override", c.SESEndpoint != ""),
	)
}

// reader collects every problem, so that one failed start reports them all.
type reader struct {
	ctx      context.Context
	getenv   func(string) string
	secrets  SecretsClient
	problems []string
}

func (r *reader) fail(name, format string, args ...any) {
	r.problems = append(r.problems, "  "+name+": "+fmt.Sprintf(format, args...))
}

func (r *reader) value(name string) string { return strings.TrimSpace(r.getenv(name)) }

func (r *reader) required(name string, check func(string) error) string {
	v := r.value(name)
	if v == "" {
		r.fail(name, "is required and not set")
		return ""
	}
	if err := check(v); err != nil {
		r.fail(name, "%q %v", v, err)
		return ""
	}
	return v
}

func (r *reader) optional(name string, check func(string) error) string {
	v := r.value(name)
	if v == "" {
		return ""
	}
	if err := check(v); err != nil {
		r.fail(name, "%q %v", v, err)
		return ""
	}
	return v
}

// secret reads NAME or NAME_ARN (exactly one when required, at most one otherwise).
// Messages name the variable and never quote the value.
func (r *reader) secret(name string, required bool, check func(string) error) Secret {
	arnName := name + "_ARN"
	v, arn := r.value(name), r.value(arnName)
	switch {
	case v != "" && arn != "":
		r.fail(name, "set either %s or %s, not both", name, arnName)
		return ""
	case v == "" && arn == "":
		if required {
			r.fail(name, "is required and not set (set %s, or %s to read it from Secrets Manager)", name, arnName)
		}
		return ""
	case arn != "":
		if err := checkSecretARN(arn); err != nil {
			r.fail(arnName, "%q %v", arn, err)
			return ""
		}
		got, err := r.readSecret(arn)
		if err != nil {
			r.fail(arnName, "%v", err)
			return ""
		}
		v, name = got, arnName
	}
	if check != nil {
		if err := check(v); err != nil {
			r.fail(name, "the secret %v", err)
			return ""
		}
	}
	return Secret(v)
}

func (r *reader) readSecret(arn string) (string, error) {
	if r.secrets == nil {
		return "", errors.New("is set but no Secrets Manager client was given")
	}
	out, err := r.secrets.GetSecretValue(r.ctx, &secretsmanager.GetSecretValueInput{SecretId: &arn})
	if err != nil {
		// The SDK's error names the secret id and the AWS error, never the value.
		return "", fmt.Errorf("read secret %s: %w", arn, err)
	}
	var v string
	switch {
	case out.SecretString != nil:
		v = *out.SecretString
	case out.SecretBinary != nil:
		v = string(out.SecretBinary)
	}
	v = strings.TrimSpace(v)
	if v == "" {
		return "", fmt.Errorf("secret %s is empty", arn)
	}
	return v, nil
}

func (r *reader) cursorKey(auth0Secret Secret) Secret {
	raw := r.secret("CURSOR_KEY", false, nil)
	name := "CURSOR_KEY"
	if r.value("CURSOR_KEY_ARN") != "" {
		name = "CURSOR_KEY_ARN"
	}
	if raw != "" {
		key, err := base64.StdEncoding.DecodeString(raw.Reveal())
		if err != nil {
			r.fail(name, "is not standard base64 (generate one with: openssl rand -base64 32)")
			return ""
		}
		if len(key) < MinCursorKeyLen {
			r.fail(name, "decodes to %d bytes, want at least %d", len(key), MinCursorKeyLen)
			return ""
		}
		return Secret(key)
	}
	if r.value("CURSOR_KEY") != "" || r.value("CURSOR_KEY_ARN") != "" || auth0Secret == "" {
		return "" // already reported
	}
	if len(auth0Secret) < MinCursorKeyLen {
		r.fail("CURSOR_KEY", "is not set, and the Auth0 client secret is too short (under %d characters) to derive it from; set CURSOR_KEY", MinCursorKeyLen)
		return ""
	}
	key, err := hkdf.Key(sha256.New, []byte(auth0Secret), nil, cursorKeyInfo, MinCursorKeyLen)
	if err != nil {
		r.fail("CURSOR_KEY", "derive from the Auth0 client secret: %v", err)
		return ""
	}
	return Secret(key)
}

func (r *reader) auth0Domain(name string) string {
	v := r.value(name)
	if v == "" {
		r.fail(name, "is required and not set")
		return ""
	}
	d, err := normalizeAuth0Domain(v)
	if err != nil {
		r.fail(name, "%q %v", v, err)
		return ""
	}
	return d
}

func (r *reader) origins(name string) []string {
	var out []string
	for _, o := range splitList(r.value(name)) {
		if err := httpapi.CheckOrigin(o); err != nil {
			r.fail(name, "entry %q %v", o, err)
			continue
		}
		out = append(out, o)
	}
	return out
}

func (r *reader) invitesPerHour(name string) int {
	v := r.value(name)
	if v == "" {
		return DefaultInvitesPerHour
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 || n > maxInvitesPerHour {
		r.fail(name, "%q must be an integer from 0 (no cap) to %d", v, maxInvitesPerHour)
		return 0
	}
	if n == 0 {
		return -1
	}
	return n
}

// list reads an optional comma-separated list, each entry (a what) passing check;
// an entry given twice is a mistake worth saying.
func (r *reader) list(name, what string, check func(string) error) []string {
	var out []string
	for _, v := range splitList(r.value(name)) {
		if err := check(v); err != nil {
			r.fail(name, "%s %q %v", what, v, err)
			continue
		}
		if slices.Contains(out, v) {
			r.fail(name, "lists %s %q twice", what, v)
			continue
		}
		out = append(out, v)
	}
	return out
}

// boolean reads an optional true or false, false when unset.
func (r *reader) boolean(name string) bool {
	switch v := r.value(name); strings.ToLower(v) {
	case "", "false":
		return false
	case "true":
		return true
	default:
		r.fail(name, "%q must be true or false", v)
		return false
	}
}

// intIn reads an optional integer in [lo, hi].
func (r *reader) intIn(name string, def, lo, hi int) int {
	v := r.value(name)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < lo || n > hi {
		r.fail(name, "%q must be an integer from %d to %d", v, lo, hi)
		return def
	}
	return n
}

// reminderBefore reads an optional reminder lead: a duration, or "off" (-1).
func (r *reader) reminderBefore(name string) time.Duration {
	v := r.value(name)
	switch {
	case v == "":
		return 0
	case strings.EqualFold(v, "off"):
		return -1
	}
	d, err := time.ParseDuration(v)
	if err != nil || d < time.Hour || d > 720*time.Hour {
		r.fail(name, "%q must be a duration from 1h to 720h (such as 48h), or off", v)
		return 0
	}
	return d
}

// createBudget reads a duration from 100ms to 25s: a create must answer well within
// API Gateway's 30 s.
func (r *reader) createBudget(name string) time.Duration {
	v := r.value(name)
	if v == "" {
		return 0
	}
	d, err := time.ParseDuration(v)
	if err != nil || d < 100*time.Millisecond || d > 25*time.Second {
		r.fail(name, "%q must be a duration from 100ms to 25s (such as 2s)", v)
		return 0
	}
	return d
}

func checkJoinPolicy(v string) error {
	if !invite.JoinMode(v).Valid() {
		return errors.New("must be require_approval, auto_approve or deny")
	}
	return nil
}

func checkUserPolicy(v string) error {
	switch v {
	case "delete", "block", "keep":
		return nil
	}
	return errors.New("must be delete, block or keep")
}

// rate reads an optional requests-per-second setting.
func (r *reader) rate(name string) float64 {
	v := r.value(name)
	if v == "" {
		return DefaultAuth0RateLimit
	}
	f, err := strconv.ParseFloat(v, 64)
	if err != nil || !(f >= 0.1 && f <= maxAuth0RateLimit) {
		r.fail(name, "%q must be a number of requests per second from 0.1 to %d", v, maxAuth0RateLimit)
		return DefaultAuth0RateLimit
	}
	return f
}

// splitList splits a comma-separated setting, dropping empty entries and space.
func splitList(v string) []string {
	var out []string
	for _, s := range strings.Split(v, ",") {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out
}

// The checks below are written out rather than as regular expressions: compiling
// those at package init cost milliseconds of every cold start.

func isAlnum(c rune) bool { return c < 0x80 && (unicode.IsLetter(c) || unicode.IsDigit(c)) }

// only reports whether v has n bytes with lo <= n <= hi, each alphanumeric or in extra.
func only(v string, lo, hi int, extra string) bool {
	if len(v) < lo || len(v) > hi {
		return false
	}
	for _, c := range v {
		if !isAlnum(c) && !strings.ContainsRune(extra, c) {
			return false
		}
	}
	return true
}

// isRegion matches "eu-west-1", "us-gov-west-1": a two-letter prefix, word parts, and
// a number.
func isRegion(v string) bool {
	parts := strings.Split(v, "-")
	if len(parts) < 3 || len(parts[0]) != 2 {
		return false
	}
	for i, p := range parts {
		if p == "" {
			return false
		}
		for _, c := range p {
			digit := c >= '0' && c <= '9'
			lower := c >= 'a' && c <= 'z'
			if (i == len(parts)-1 && !digit) || (i < len(parts)-1 && !lower) {
				return false
			}
		}
	}
	return true
}

// isHostName matches a dotted DNS name of at least two labels.
func isHostName(v string) bool {
	labels := strings.Split(v, ".")
	if len(labels) < 2 || len(v) > 253 {
		return false
	}
	for _, l := range labels {
		if l == "" || len(l) > 63 || l[0] == '-' || l[len(l)-1] == '-' || !only(l, 1, 63, "-") {
			return false
		}
	}
	return true
}

func checkTableName(v string) error {
	if !only(v, 3, 255, "_.-") {
		return errors.New("must be 3 to 255 letters, digits, '_', '-' or '.'")
	}
	return nil
}

func checkRegion(v string) error {
	if !isRegion(v) {
		return errors.New("is not an AWS region (like eu-west-1)")
	}
	return nil
}

func checkConfigSet(v string) error {
	if !only(v, 1, 64, "_-") {
		return errors.New("must be 1 to 64 letters, digits, '_' or '-'")
	}
	return nil
}

// checkIdentifier accepts Auth0 client ids and connection names: printable ASCII
// without spaces or commas.
func checkIdentifier(v string) error {
	if len(v) > 128 {
		return errors.New("is longer than 128 characters")
	}
	for _, c := range v {
		if c <= ' ' || c >= 0x7f || c == ',' {
			return errors.New("must be printable ASCII without spaces or commas")
		}
	}
	return nil
}

// checkRoleRef accepts an Auth0 role id or name: at most 128 printable characters
// (an invitation's role has the same bound), no comma.
func checkRoleRef(v string) error {
	if utf8.RuneCountInString(v) > 128 {
		return errors.New("is longer than 128 characters")
	}
	for _, c := range v {
		if !unicode.IsPrint(c) || c == ',' {
			return errors.New("must be printable characters without commas")
		}
	}
	return nil
}

// checkMetadataKey accepts an app_metadata key Auth0 stores: at most 100 ASCII
// letters, digits, '_' or '-' (Auth0 refuses '.' and '$' in keys).
func checkMetadataKey(v string) error {
	if !only(v, 1, 100, "_-") {
		return errors.New("must be 1 to 100 ASCII letters, digits, '_' or '-'")
	}
	return nil
}

func checkMailFrom(v string) error {
	a, err := mail.ParseAddress(v)
	if err != nil {
		return fmt.Errorf("is not an email address (%v)", err)
	}
	if !strings.Contains(a.Address, "@") {
		return errors.New("is not an email address")
	}
	return nil
}

func checkEndpoint(v string) error {
	u, err := url.Parse(v)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" ||
		(u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return errors.New("must be an http(s) URL with a host and nothing after it")
	}
	return nil
}

// checkQueueURL accepts an SQS queue URL: https (http only for a local endpoint) with
// the account and queue name as its path.
func checkQueueURL(v string) error {
	u, err := url.Parse(v)
	if err != nil || u.Host == "" || u.RawQuery != "" || u.Fragment != "" || u.User != nil ||
		checkScheme(u) != nil || strings.Count(strings.Trim(u.Path, "/"), "/") != 1 {
		return errors.New("must be an SQS queue URL: https://sqs.<region>.amazonaws.com/<account>/<queue>")
	}
	return nil
}

// checkPublicURL accepts an absolute https URL (http on loopback hosts, for local
// runs) with an optional path and no query, fragment or credentials.
func checkPublicURL(v string) error {
	u, err := url.Parse(v)
	if err != nil || !u.IsAbs() || u.Host == "" || u.Opaque != "" {
		return errors.New("must be an absolute https URL")
	}
	if u.User != nil || u.RawQuery != "" || u.Fragment != "" || u.ForceQuery {
		return errors.New("must have no credentials, query or fragment")
	}
	return checkScheme(u)
}

func checkScheme(u *url.URL) error {
	switch u.Scheme {
	case "https":
		return nil
	case "http":
		if invite.IsLoopback(u.Hostname()) {
			return nil
		}
		return errors.New("must use https (http only on localhost)")
	}
	return errors.New("must be an https URL")
}

func checkAppName(v string) error {
	if len([]rune(v)) > maxAppName {
		return fmt.Errorf("is longer than %d characters", maxAppName)
	}
	for _, c := range v {
		if !unicode.IsPrint(c) {
			return errors.New("must contain printable characters only")
		}
	}
	return nil
}

// checkSecretARN accepts arn:<partition>:secretsmanager:<region>:<account>:secret:<name>.
func checkSecretARN(v string) error {
	p := strings.SplitN(v, ":", 7)
	if len(p) != 7 || p[0] != "arn" || !strings.HasPrefix(p[1], "aws") || p[2] != "secretsmanager" ||
		p[3] == "" || p[4] == "" || p[5] != "secret" || p[6] == "" {
		return errors.New("is not a Secrets Manager secret ARN (arn:aws:secretsmanager:<region>:<account>:secret:<name>)")
	}
	return nil
}

// normalizeAuth0Domain returns the tenant host, or the http URL of a loopback
// stand-in, as auth0.Config.Domain takes them.
func normalizeAuth0Domain(v string) (string, error) {
	if strings.Contains(v, "://") {
		u, err := url.Parse(v)
		if err != nil || u.Host == "" || (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" || u.User != nil {
			return "", errors.New("must be the tenant's host name, like acme.eu.auth0.com")
		}
		switch u.Scheme {
		case "https":
			v = u.Host
		case "http":
			if !invite.IsLoopback(u.Hostname()) {
				return "", errors.New("may use http only for a local stand-in on a loopback address")
			}
			return u.Scheme + "://" + u.Host, nil
		default:
			return "", errors.New("must be the tenant's host name, like acme.eu.auth0.com")
		}
	}
	host := v
	if h, port, err := net.SplitHostPort(v); err == nil {
		if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
			return "", errors.New("has a bad port")
		}
		host = h
	}
	if !isHostName(host) {
		return "", errors.New("must be the tenant's host name, like acme.eu.auth0.com")
	}
	return strings.ToLower(v), nil
}

// FormActionSources are the CSP form-action sources the invitee's page needs beyond
// https: the origins served over plain http (on loopback, in a local run) that
// Continue may redirect to: the Auth0 stand-in, the application (APPLICATION_URL,
// where an existing account's owner goes to sign in) and the allowed redirect
// targets. Chromium applies form-action to the redirect after the form's POST.
func (c *Config) FormActionSources() []string {
	var out []string
	for _, raw := range append([]string{c.Auth0.Domain, c.ApplicationURL}, c.RedirectAllowlist.origins()...) {
		u, err := url.Parse(raw)
		if err != nil || u.Scheme != "http" || u.Host == "" {
			continue
		}
		if o := "http://" + canonicalHost(u); !slices.Contains(out, o) {
			out = append(out, o)
		}
	}
	return out
}

// checkEventBusName accepts an EventBridge bus name (1..256 of [A-Za-z0-9._/-]) or ARN.
func checkEventBusName(v string) error {
	if strings.HasPrefix(v, "arn:") {
		if len(v) > 1600 || !strings.Contains(v, ":event-bus/") {
			return fmt.Errorf("must be an event bus ARN")
		}
		return nil
	}
	if len(v) > 256 {
		return fmt.Errorf("must be at most 256 characters")
	}
	for _, r := range v {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("._-/", r)) {
			return fmt.Errorf("must be an event bus name ([A-Za-z0-9._/-])")
		}
	}
	return nil
}
