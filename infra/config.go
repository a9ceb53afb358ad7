package main

import (
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"

	"github.com/doormanhq/doorman/shared/config"
	"github.com/doormanhq/doorman/shared/httpapi"
)

// Context keys, as an operator passes them: `cdk deploy -c auth0Domain=... -c ...`.
// README ("Deploying") lists them with their meaning; keep the two in step.
const (
	ctxStage                = "stage"
	ctxThrowaway            = "throwaway"
	ctxAssetDir             = "assetDir"
	ctxAuth0Domain          = "auth0Domain"
	ctxAuth0Audience        = "auth0Audience"
	ctxAuth0ClientID        = "auth0ClientId"
	ctxAuth0ClientSecret    = "auth0ClientSecret"
	ctxAuth0Connection      = "auth0Connection"
	ctxAuth0LoginClientID   = "auth0LoginClientId"
	ctxMailFrom             = "mailFrom"
	ctxSESIdentity          = "sesIdentity"
	ctxPublicBaseURL        = "publicBaseUrl"
	ctxRedirectAllowlist    = "redirectAllowlist"
	ctxCORSOrigins          = "corsOrigins"
	ctxSweepRateMinutes     = "sweepRateMinutes"
	ctxThrottleRate         = "throttleRate"
	ctxThrottleBurst        = "throttleBurst"
	ctxAdminThrottleRate    = "adminThrottleRate"
	ctxAdminThrottleBurst   = "adminThrottleBurst"
	ctxPublicThrottleRate   = "publicThrottleRate"
	ctxPublicThrottleBurst  = "publicThrottleBurst"
	ctxWebhookThrottleRate  = "webhookThrottleRate"
	ctxWebhookThrottleBurst = "webhookThrottleBurst"
	ctxTracing              = "tracing"
	ctxLogRetentionDays     = "logRetentionDays"
	ctxAlarmEmail           = "alarmEmail"
	ctxAlarmTopicArn        = "alarmTopicArn"
	ctxAPI5xxPercent        = "api5xxPercent"
	ctxQueueAgeMinutes      = "queueAgeMinutes"
	ctxApplicationName      = "applicationName"
	ctxApplicationURL       = "applicationUrl"
	ctxInvitesPerHour       = "invitesPerHour"
	ctxAuth0RateLimit       = "auth0RateLimit"
	ctxReminderBefore       = "reminderBefore"
	ctxCreateBudget         = "createBudget"
	ctxExpiredUserPolicy    = "expiredUserPolicy"
	ctxGrantableRoles       = "grantableRoles"
	ctxAppMetadataKeys      = "appMetadataKeys"
	ctxAllowedConnections   = "allowedConnections"
	ctxAllowedClientIDs     = "allowedClientIds"
	ctxVerifyDisclosed      = "verifyDisclosedLinks"
	// The join flows: the application's join policy and its roles, the public join
	// routes' per-source cap and per-address emails, and their throttle budget.
	ctxJoinPolicy          = "joinPolicy"
	ctxJoinRoles           = "joinRoles"
	ctxJoinPerSourceMinute = "joinPerSourceMinute"
	ctxJoinMailsPerDay     = "joinMailsPerDay"
	ctxJoinThrottleRate    = "joinThrottleRate"
	ctxJoinThrottleBurst   = "joinThrottleBurst"
	ctxConsoleClientID     = "consoleClientId"
	ctxEventBusName        = "eventBusName"
)

// Defaults of the optional settings.
const (
	defaultStage            = "prod"
	defaultAssetDir         = "dist"
	defaultAuth0Connection  = "Username-Password-Authentication"
	defaultSweepRate        = 5 * time.Minute
	defaultThrottleRate     = 50
	defaultThrottleBurst    = 100
	defaultLogRetentionDays = 30
	defaultAPI5xxPercent    = 5
	defaultQueueAge         = 15 * time.Minute
	// Each route's own throttle budget, apart from the stage's: API Gateway keeps one
	// bucket per route key. The admin API keeps what the whole stage had. The invitee's
	// pages and the OpenAPI document answer anyone: a fifth of it, which is still
	// several times what a bulk send makes of link clicks and mail scanners (the worker
	// sends at the Auth0 rate, 2 a second by default). The webhook takes each Auth0
	// delivery of up to 100 events, which Auth0 sends faster while it catches up after
	// a failure, and pauses the stream when they keep failing.
	defaultAdminThrottleRate, defaultAdminThrottleBurst     = 50, 100
	defaultPublicThrottleRate, defaultPublicThrottleBurst   = 10, 20
	defaultWebhookThrottleRate, defaultWebhookThrottleBurst = 25, 50
	// The join flows' public routes (asking for access, confirming an address,
	// redeeming an invite link) send email: a budget of their own, below the invitee
	// pages'.
	defaultJoinThrottleRate, defaultJoinThrottleBurst = 5, 10
	// queueMaxReceives moves a message that keeps failing to the DLQ after this many
	// tries. It is the worker's QUEUE_MAX_RECEIVES default, so that the two cannot
	// drift apart; the stack passes it all the same.
	queueMaxReceives = config.DefaultQueueMaxReceives
)

// Config is everything the stack is built from. It holds names and references only:
// the Auth0 client secret is a Secrets Manager name or ARN, never a value.
type Config struct {
	// Stage names the deployment (the stack is Doorman-<Stage>).
	Stage string
	// Throwaway relaxes deletion protection and RETAIN on the table, the logs and the
	// secret, for stages that are created and destroyed (previews, load tests).
	Throwaway bool
	// AssetDir holds the built functions as <AssetDir>/<name>/bootstrap.
	AssetDir string

	Auth0Domain   string // tenant domain, e.g. example.eu.auth0.com
	Auth0Audience string // API identifier the access tokens are issued for
	Auth0ClientID string // Management API client (machine to machine)
	// Auth0ClientSecret is the name or the complete ARN of an existing Secrets
	// Manager secret holding the Management API client secret.
	Auth0ClientSecret  string
	Auth0Connection    string
	Auth0LoginClientID string // the application invitees sign in to

	MailFrom    string
	SESIdentity string // the verified SES identity MailFrom sends as (domain or address)

	// PublicBaseURL is where invitees and Auth0 reach the API (a custom domain);
	// empty means the API's own execute-api URL.
	PublicBaseURL     string
	RedirectAllowlist []string
	CORSOrigins       []string

	SweepRate time.Duration
	// ThrottleRate (steady requests per second) and ThrottleBurst are the API stage's
	// default, for a route without a budget of its own (none today).
	ThrottleRate  float64
	ThrottleBurst int
	Tracing       bool
	LogRetention  awslogs.RetentionDays

	// The routes' own budgets: the admin API (/v1 behind the authorizer), the public
	// routes (the invitee's /i pages and the OpenAPI document) and the log-stream
	// webhook. Each route key gets its group's budget for itself.
	AdminThrottle, PublicThrottle, WebhookThrottle Throttle
	// JoinThrottle is the budget of each public join route (POST /v1/access-requests,
	// /join, /r/{token}, /j/{token}).
	JoinThrottle Throttle

	// Passed to the functions as given and checked by their own loader (shared/config)
	// when the stack is built; empty leaves the functions' default.
	ApplicationName string // APPLICATION_NAME: the application's name in emails
	ApplicationURL  string // APPLICATION_URL: where "you now have access" emails point
	InvitesPerHour  string // INVITES_PER_HOUR: the per-inviter cap (100; 0 turns it off)
	Auth0RateLimit  string // AUTH0_RATE_LIMIT: Management API requests per second (2, a free tenant)
	ReminderBefore  string // REMINDER_BEFORE: the reminder's lead before expiry (48h; off)
	CreateBudget    string // CREATE_BUDGET: a create's wait on Auth0 before it answers 202 (2s)
	UserPolicy      string // EXPIRED_USER_POLICY: unclaimed users Doorman created (delete, block, keep)
	// The grant ceiling, comma-separated (a list in cdk.json): GRANTABLE_ROLES, the
	// role ids or names invitations may carry (none); APP_METADATA_KEYS (none);
	// ALLOWED_CONNECTIONS and ALLOWED_CLIENT_IDS besides the configured ones.
	GrantableRoles     string
	AppMetadataKeys    string
	AllowedConnections string
	AllowedClientIDs   string
	VerifyDisclosed    string // VERIFY_DISCLOSED_LINKS: links handed to API callers verify the email (false)
	// The join flows: JOIN_POLICY (require_approval), JOIN_ROLES (none),
	// JOIN_PER_SOURCE_MINUTE (60), JOIN_MAILS_PER_DAY (3).
	JoinPolicy          string
	JoinRoles           string
	JoinPerSourceMinute string
	JoinMailsPerDay     string
	// ConsoleClientID is CONSOLE_CLIENT_ID: the Auth0 Single Page Application /console
	// signs in with (default: Auth0LoginClientID).
	ConsoleClientID string
	// EventBusName is EVENT_BUS_NAME: an EventBridge bus (name or ARN) every event is
	// also put on; empty (the default): none.
	EventBusName string

	AlarmEmail    string  // when set, a topic is created and this address subscribed
	AlarmTopicArn string  // an existing topic for the alarms (instead of AlarmEmail)
	API5xxPercent float64 // alarm when this share of API responses are 5xx
	QueueAge      time.Duration
}

// Throttle is an API Gateway throttle budget: steady requests per second, and the
// burst a full bucket lets through at once.
type Throttle struct {
	Rate  float64
	Burst int
}

// ContextReader is what Config reads the CDK context through (a construct's Node).
type ContextReader interface {
	TryGetContext(key *string) interface{}
}

// ConfigFromContext reads and validates the stack's settings from the CDK context.
// Every missing or malformed setting is reported, each by its context key.
func ConfigFromContext(ctx ContextReader) (Config, error) {
	r := contextValues{ctx: ctx}
	c := Config{
		Stage:               r.str(ctxStage, defaultStage),
		Throwaway:           r.boolean(ctxThrowaway),
		AssetDir:            r.str(ctxAssetDir, defaultAssetDir),
		Auth0Domain:         strings.TrimSuffix(strings.TrimPrefix(r.str(ctxAuth0Domain, ""), "https://"), "/"),
		Auth0Audience:       r.str(ctxAuth0Audience, ""),
		Auth0ClientID:       r.str(ctxAuth0ClientID, ""),
		Auth0ClientSecret:   r.str(ctxAuth0ClientSecret, ""),
		Auth0Connection:     r.str(ctxAuth0Connection, defaultAuth0Connection),
		Auth0LoginClientID:  r.str(ctxAuth0LoginClientID, ""),
		MailFrom:            r.str(ctxMailFrom, ""),
		SESIdentity:         r.str(ctxSESIdentity, ""),
		PublicBaseURL:       strings.TrimSuffix(r.str(ctxPublicBaseURL, ""), "/"),
		RedirectAllowlist:   r.list(ctxRedirectAllowlist),
		CORSOrigins:         r.list(ctxCORSOrigins),
		SweepRate:           time.Duration(r.number(ctxSweepRateMinutes, defaultSweepRate.Minutes())) * time.Minute,
		ThrottleRate:        r.number(ctxThrottleRate, defaultThrottleRate),
		ThrottleBurst:       int(r.number(ctxThrottleBurst, defaultThrottleBurst)),
		AdminThrottle:       r.throttle(ctxAdminThrottleRate, ctxAdminThrottleBurst, defaultAdminThrottleRate, defaultAdminThrottleBurst),
		PublicThrottle:      r.throttle(ctxPublicThrottleRate, ctxPublicThrottleBurst, defaultPublicThrottleRate, defaultPublicThrottleBurst),
		WebhookThrottle:     r.throttle(ctxWebhookThrottleRate, ctxWebhookThrottleBurst, defaultWebhookThrottleRate, defaultWebhookThrottleBurst),
		Tracing:             r.boolean(ctxTracing),
		ApplicationName:     r.str(ctxApplicationName, ""),
		ApplicationURL:      r.str(ctxApplicationURL, ""),
		InvitesPerHour:      r.str(ctxInvitesPerHour, ""),
		Auth0RateLimit:      r.str(ctxAuth0RateLimit, ""),
		ReminderBefore:      r.str(ctxReminderBefore, ""),
		CreateBudget:        r.str(ctxCreateBudget, ""),
		UserPolicy:          r.str(ctxExpiredUserPolicy, ""),
		GrantableRoles:      r.str(ctxGrantableRoles, ""),
		AppMetadataKeys:     r.str(ctxAppMetadataKeys, ""),
		AllowedConnections:  r.str(ctxAllowedConnections, ""),
		AllowedClientIDs:    r.str(ctxAllowedClientIDs, ""),
		VerifyDisclosed:     r.str(ctxVerifyDisclosed, ""),
		ConsoleClientID:     r.str(ctxConsoleClientID, ""),
		JoinPolicy:          r.str(ctxJoinPolicy, ""),
		JoinRoles:           r.str(ctxJoinRoles, ""),
		JoinPerSourceMinute: r.str(ctxJoinPerSourceMinute, ""),
		JoinMailsPerDay:     r.str(ctxJoinMailsPerDay, ""),
		JoinThrottle:        r.throttle(ctxJoinThrottleRate, ctxJoinThrottleBurst, defaultJoinThrottleRate, defaultJoinThrottleBurst),
		EventBusName:        r.str(ctxEventBusName, ""),
		AlarmEmail:          r.str(ctxAlarmEmail, ""),
		AlarmTopicArn:       r.str(ctxAlarmTopicArn, ""),
		API5xxPercent:       r.number(ctxAPI5xxPercent, defaultAPI5xxPercent),
		QueueAge:            time.Duration(r.number(ctxQueueAgeMinutes, defaultQueueAge.Minutes())) * time.Minute,
	}
	c.LogRetention = r.retention(ctxLogRetentionDays, defaultLogRetentionDays)
	if c.SESIdentity == "" && c.MailFrom != "" {
		c.SESIdentity = mailDomain(c.MailFrom)
	}
	if err := c.validate(); err != nil {
		r.problems = append(r.problems, err.Error())
	}
	if len(r.problems) > 0 {
		return Config{}, fmt.Errorf("infra: context: %s", strings.Join(r.problems, "; "))
	}
	return c, nil
}

var (
	stageName = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9-]{0,30}$`)
	// secretARN is a complete secret ARN: Secrets Manager appends "-" and six
	// characters to the name, and the stack grants exactly that ARN.
	secretARN = regexp.MustCompile(`^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:[0-9]{12}:secret:[A-Za-z0-9/_+=.@-]+-[A-Za-z0-9]{6}$`)
)

func (c Config) validate() error {
	var problems []string
	add := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }
	for _, req := range []struct{ key, value string }{
		{ctxAuth0Domain, c.Auth0Domain}, {ctxAuth0Audience, c.Auth0Audience},
		{ctxAuth0ClientID, c.Auth0ClientID}, {ctxAuth0ClientSecret, c.Auth0ClientSecret},
		{ctxAuth0LoginClientID, c.Auth0LoginClientID}, {ctxMailFrom, c.MailFrom},
		{ctxAssetDir, c.AssetDir},
	} {
		if req.value == "" {
			add("%s is required", req.key)
		}
	}
	if c.SESIdentity == "" && mailDomain(c.MailFrom) != "" {
		add("%s is required", ctxSESIdentity) // a Config built in code, not from the context
	}
	if strings.HasPrefix(c.Auth0ClientSecret, "arn:") && !secretARN.MatchString(c.Auth0ClientSecret) {
		add("%s %q must be the secret's complete ARN (ending in the six characters Secrets Manager adds) or its name",
			ctxAuth0ClientSecret, c.Auth0ClientSecret)
	}
	if !stageName.MatchString(c.Stage) {
		add("%s %q must be a letter then up to 30 letters, digits or dashes", ctxStage, c.Stage)
	}
	if c.Auth0Domain != "" && strings.ContainsAny(c.Auth0Domain, "/:@ ") {
		add("%s %q must be a bare host name such as example.eu.auth0.com", ctxAuth0Domain, c.Auth0Domain)
	}
	if c.MailFrom != "" && mailDomain(c.MailFrom) == "" {
		add("%s %q is not an email address", ctxMailFrom, c.MailFrom)
	}
	if c.PublicBaseURL != "" {
		if u, err := url.Parse(c.PublicBaseURL); err != nil || u.Scheme != "https" || u.Host == "" {
			add("%s %q must be an https URL", ctxPublicBaseURL, c.PublicBaseURL)
		}
	}
	for _, o := range c.CORSOrigins {
		if err := httpapi.CheckOrigin(o); err != nil {
			add("%s entry %q must be an origin such as https://app.example.com: it %v", ctxCORSOrigins, o, err)
		}
	}
	if c.SweepRate < time.Minute {
		add("%s must be at least 1", ctxSweepRateMinutes)
	}
	for _, t := range []struct {
		rate, burst string
		budget      Throttle
	}{
		{ctxThrottleRate, ctxThrottleBurst, Throttle{c.ThrottleRate, c.ThrottleBurst}},
		{ctxAdminThrottleRate, ctxAdminThrottleBurst, c.AdminThrottle},
		{ctxPublicThrottleRate, ctxPublicThrottleBurst, c.PublicThrottle},
		{ctxWebhookThrottleRate, ctxWebhookThrottleBurst, c.WebhookThrottle},
		{ctxJoinThrottleRate, ctxJoinThrottleBurst, c.JoinThrottle},
	} {
		if t.budget.Rate <= 0 || t.budget.Burst <= 0 {
			add("%s and %s must be positive", t.rate, t.burst)
		}
	}
	if c.AlarmEmail != "" && c.AlarmTopicArn != "" {
		add("set %s or %s, not both", ctxAlarmEmail, ctxAlarmTopicArn)
	}
	if c.AlarmTopicArn != "" && !strings.HasPrefix(c.AlarmTopicArn, "arn:") {
		add("%s %q is not an ARN", ctxAlarmTopicArn, c.AlarmTopicArn)
	}
	if c.API5xxPercent <= 0 || c.API5xxPercent > 100 {
		add("%s must be in (0, 100]", ctxAPI5xxPercent)
	}
	if c.QueueAge < time.Minute {
		add("%s must be at least 1", ctxQueueAgeMinutes)
	}
	if len(problems) > 0 {
		return errors.New(strings.Join(problems, "; "))
	}
	return nil
}

func mailDomain(addr string) string {
	// MailFrom may carry a display name: "Doorman <no-reply@example.com>".
	if i, j := strings.LastIndexByte(addr, '<'), strings.LastIndexByte(addr, '>'); i >= 0 && j > i {
		addr = addr[i+1 : j]
	}
	at := strings.LastIndexByte(addr, '@')
	if at <= 0 || at == len(addr)-1 {
		return ""
	}
	return strings.ToLower(addr[at+1:])
}

// contextValues reads typed values and collects what is wrong with them. Context
// values arrive as strings from `-c key=value` and as JSON types from cdk.json.
type contextValues struct {
	ctx      ContextReader
	problems []string
}

func (r *contextValues) raw(key string) (string, bool) {
	v := r.ctx.TryGetContext(&key)
	switch v := v.(type) {
	case nil:
		return "", false
	case string:
		v = strings.TrimSpace(v)
		return v, v != ""
	case float64:
		return strconv.FormatFloat(v, 'f', -1, 64), true
	case bool:
		return strconv.FormatBool(v), true
	case []interface{}:
		parts := make([]string, 0, len(v))
		for _, p := range v {
			parts = append(parts, fmt.Sprint(p))
		}
		return strings.Join(parts, ","), len(parts) > 0
	default:
		return fmt.Sprint(v), true
	}
}

func (r *contextValues) str(key, def string) string {
	if v, ok := r.raw(key); ok {
		return v
	}
	return def
}

func (r *contextValues) boolean(key string) bool {
	v, ok := r.raw(key)
	if !ok {
		return false
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		r.problems = append(r.problems, fmt.Sprintf("%s %q is not true or false", key, v))
	}
	return b
}

func (r *contextValues) number(key string, def float64) float64 {
	v, ok := r.raw(key)
	if !ok {
		return def
	}
	n, err := strconv.ParseFloat(v, 64)
	if err != nil {
		r.problems = append(r.problems, fmt.Sprintf("%s %q is not a number", key, v))
		return def
	}
	return n
}

func (r *contextValues) throttle(rateKey, burstKey string, rate float64, burst int) Throttle {
	return Throttle{Rate: r.number(rateKey, rate), Burst: int(r.number(burstKey, float64(burst)))}
}

func (r *contextValues) list(key string) []string {
	v, _ := r.raw(key)
	var out []string
	for _, s := range strings.Split(v, ",") {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out
}

// retentionDays are the retention periods CloudWatch Logs accepts.
var retentionDays = map[int]awslogs.RetentionDays{
	1: awslogs.RetentionDays_ONE_DAY, 3: awslogs.RetentionDays_THREE_DAYS,
	5: awslogs.RetentionDays_FIVE_DAYS, 7: awslogs.RetentionDays_ONE_WEEK,
	14: awslogs.RetentionDays_TWO_WEEKS, 30: awslogs.RetentionDays_ONE_MONTH,
	60: awslogs.RetentionDays_TWO_MONTHS, 90: awslogs.RetentionDays_THREE_MONTHS,
	120: awslogs.RetentionDays_FOUR_MONTHS, 150: awslogs.RetentionDays_FIVE_MONTHS,
	180: awslogs.RetentionDays_SIX_MONTHS, 365: awslogs.RetentionDays_ONE_YEAR,
	400: awslogs.RetentionDays_THIRTEEN_MONTHS, 545: awslogs.RetentionDays_EIGHTEEN_MONTHS,
	731: awslogs.RetentionDays_TWO_YEARS, 1096: awslogs.RetentionDays_THREE_YEARS,
	1827: awslogs.RetentionDays_FIVE_YEARS, 2192: awslogs.RetentionDays_SIX_YEARS,
	2557: awslogs.RetentionDays_SEVEN_YEARS, 2922: awslogs.RetentionDays_EIGHT_YEARS,
	3288: awslogs.RetentionDays_NINE_YEARS, 3653: awslogs.RetentionDays_TEN_YEARS,
}

func (r *contextValues) retention(key string, def int) awslogs.RetentionDays {
	days := int(r.number(key, float64(def)))
	if rd, ok := retentionDays[days]; ok {
		return rd
	}
	allowed := make([]int, 0, len(retentionDays))
	for d := range retentionDays {
		allowed = append(allowed, d)
	}
	slices.Sort(allowed)
	r.problems = append(r.problems, fmt.Sprintf("%s %d is not one CloudWatch Logs accepts (%v)", key, days, allowed))
	return retentionDays[def]
}
