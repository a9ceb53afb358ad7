package invite

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"slices"
	"strings"
	"time"
)

// The permissions of the API contract, as they appear in an access token.
const (
	PermCreate = "create:invitations"
	PermRead   = "read:invitations"
	PermUpdate = "update:invitations" // resend and tickets
	PermDelete = "delete:invitations" // revoke
	// PermAdmin lets a token without an organization manage every organization's
	// invitations as well as the application's.
	PermAdmin = "admin:invitations"
)

// UserPolicy is what expiry does with an Auth0 user Doorman created for an invitation
// that was never accepted. Users that have logged in are always kept.
type UserPolicy string

const (
	UserDelete UserPolicy = "delete"
	UserBlock  UserPolicy = "block"
	UserKeep   UserPolicy = "keep"
)

// Actors recorded in history by the invitee's link and by Doorman itself.
const (
	ActorInvitee = "invitee"
	ActorSweeper = "sweeper"
	ActorDoorman = "doorman"
)

// Defaults of Config.
const (
	DefaultTicketTTL      = 30 * time.Minute
	DefaultResendInterval = time.Minute
	DefaultMaxSends       = 5
	DefaultCreateBudget   = 2 * time.Second
	// maxDeliveryAttempts bounds the queued retries of a failed email.
	maxDeliveryAttempts = 8
)

// Config builds a Service. Store, Batches, Identity, Mailer and PublicBaseURL are
// required.
type Config struct {
	Store    Store
	Batches  BatchStore
	Identity Identity
	Mailer   Mailer
	// Queue carries bulk items to the worker; nil means a queue that takes nothing, for
	// the functions that submit no batch.
	Queue Queue

	Now func() time.Time // default time.Now
	// Rand is the source of ids and link tokens; it must be safe for concurrent use.
	// Default crypto/rand.
	Rand io.Reader

	// PublicBaseURL is where the /i/{token} routes are served; a link is
	// PublicBaseURL + "/i/" + token.
	PublicBaseURL string
	// ApplicationName names the application in application invitation emails.
	ApplicationName string
	// ApplicationURL is where the "you now have access" email points when the
	// invitation has no redirect_url.
	ApplicationURL string

	DefaultTTL time.Duration // default DefaultTTL
	MaxTTL     time.Duration // default MaxTTL
	TicketTTL  time.Duration // lifetime of a password-change ticket; default DefaultTicketTTL
	// LoginClientID is the application a password-change ticket returns to when the
	// invitation has neither redirect_url nor client_id.
	LoginClientID   string
	RedirectAllowed func(string) bool // the redirect_url allow-list; nil allows none

	// Ceiling is the most an invitation may carry (Who may grant what); the zero value
	// lets invitations carry no roles and no app_metadata.
	Ceiling Ceiling
	// VerifyDisclosedLinks lets a link handed to the API caller (send_email false,
	// tickets) lead to a ticket that marks the email verified. Off by default: the
	// caller may not control the address, and a verified address is what other
	// applications trust.
	VerifyDisclosedLinks bool

	// CreateBudget is how long a single create waits on Auth0 before it leaves the
	// invitation to the worker and answers at once (Created.Deferred); default
	// DefaultCreateBudget.
	CreateBudget time.Duration

	ResendInterval    time.Duration // minimum time between two sends; default 1 minute
	MaxSends          int           // emails per invitation; default 5
	ExpiredUserPolicy UserPolicy    // default UserDelete

	// BatchRetention is how long a batch and its results are kept; default
	// DefaultBatchRetention.
	BatchRetention time.Duration
	// ItemAttempts is how many times the worker tries a bulk item within one delivery of
	// its message when it fails for a reason that may pass (default 4); ItemBackoff is
	// the first wait between them (default 500ms), doubling, with full jitter.
	ItemAttempts int
	ItemBackoff  time.Duration
	// Sleep waits d or until ctx ends; default Sleep.
	Sleep func(ctx context.Context, d time.Duration) error

	Logger *slog.Logger // default: discard

	// Deliveries records what SES's events say (ApplyMailEvent, Undeliverable); nil
	// records nothing, and ApplyMailEvent fails.
	Deliveries DeliveryStore
}

// Service drives invitations through their life. It is safe for concurrent use: every
// stored change is a conditional write against the version read, so concurrent
// requests on one invitation have one winner and the others get conflict.
type Service struct {
	store    Store
	batches  BatchStore
	queue    Queue
	identity Identity
	mailer   Mailer
	now      func() time.Time
	rand     io.Reader
	sleep    func(ctx context.Context, d time.Duration) error

	baseURL   string
	appName   string
	appURL    string
	limits    Limits
	ticketTTL time.Duration
	loginCID  string

	resendInterval time.Duration
	maxSends       int
	userPolicy     UserPolicy
	log            *slog.Logger

	batchRetention time.Duration
	itemAttempts   int
	itemBackoff    time.Duration

	createBudget   time.Duration
	orgs           *orgCache
	grants         *grants
	verifyDisclose bool
	deliveries     DeliveryStore
}

// NewService checks cfg and applies its defaults.
func NewService(cfg Config) (*Service, error) {
	if cfg.Store == nil || cfg.Batches == nil || cfg.Identity == nil || cfg.Mailer == nil {
		return nil, errors.New("invite: Store, Batches, Identity and Mailer are required")
	}
	base, err := url.Parse(cfg.PublicBaseURL)
	if err != nil || !base.IsAbs() || base.Host == "" || (base.Scheme != "https" && base.Scheme != "http") {
		return nil, fmt.Errorf("invite: PublicBaseURL %q must be an absolute http(s) URL", cfg.PublicBaseURL)
	}
	s := &Service{
		store:    cfg.Store,
		batches:  cfg.Batches,
		queue:    cfg.Queue,
		identity: cfg.Identity,
		mailer:   cfg.Mailer,
		now:      cfg.Now,
		rand:     cfg.Rand,
		baseURL:  strings.TrimRight(cfg.PublicBaseURL, "/"),
		appName:  SanitizeHeaderText(cfg.ApplicationName),
		appURL:   cfg.ApplicationURL,
		limits: Limits{
			DefaultTTL:      cfg.DefaultTTL,
			MaxTTL:          cfg.MaxTTL,
			RedirectAllowed: cfg.RedirectAllowed,
		},
		ticketTTL:      cfg.TicketTTL,
		loginCID:       cfg.LoginClientID,
		resendInterval: cfg.ResendInterval,
		maxSends:       cfg.MaxSends,
		userPolicy:     cfg.ExpiredUserPolicy,
		log:            cfg.Logger,
		batchRetention: cfg.BatchRetention,
		itemAttempts:   cfg.ItemAttempts,
		itemBackoff:    cfg.ItemBackoff,
		sleep:          cfg.Sleep,
		orgs:           &orgCache{byID: map[string]cachedOrg{}},
		grants:         &grants{ceiling: cfg.Ceiling, held: map[heldKey]heldRoles{}},
		verifyDisclose: cfg.VerifyDisclosedLinks,
		createBudget:   cfg.CreateBudget,
		deliveries:     cfg.Deliveries,
	}
	if s.queue == nil {
		s.queue = noQueue{}
	}
	if s.createBudget <= 0 {
		s.createBudget = DefaultCreateBudget
	}
	if s.batchRetention <= 0 {
		s.batchRetention = DefaultBatchRetention
	}
	if s.itemAttempts <= 0 {
		s.itemAttempts = 4
	}
	if s.itemBackoff <= 0 {
		s.itemBackoff = 500 * time.Millisecond
	}
	if s.sleep == nil {
		s.sleep = Sleep
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.rand == nil {
		s.rand = rand.Reader
	}
	if s.appName == "" {
		s.appName = "the application"
	}
	if s.limits.DefaultTTL == 0 {
		s.limits.DefaultTTL = DefaultTTL
	}
	if s.limits.MaxTTL == 0 {
		s.limits.MaxTTL = MaxTTL
	}
	if s.limits.MaxTTL < MinTTL || s.limits.MaxTTL > MaxTTL || s.limits.DefaultTTL < MinTTL || s.limits.DefaultTTL > s.limits.MaxTTL {
		return nil, fmt.Errorf("invite: DefaultTTL %s and MaxTTL %s must satisfy %s <= DefaultTTL <= MaxTTL <= %s",
			s.limits.DefaultTTL, s.limits.MaxTTL, MinTTL, MaxTTL)
	}
	if s.ticketTTL == 0 {
		s.ticketTTL = DefaultTicketTTL
	}
	if s.resendInterval == 0 {
		s.resendInterval = DefaultResendInterval
	}
	if s.maxSends == 0 {
		s.maxSends = DefaultMaxSends
	}
	switch s.userPolicy {
	case "":
		s.userPolicy = UserDelete
	case UserDelete, UserBlock, UserKeep:
	default:
		return nil, fmt.Errorf("invite: ExpiredUserPolicy %q must be delete, block or keep", cfg.ExpiredUserPolicy)
	}
	if s.ticketTTL < 0 || s.resendInterval < 0 || s.maxSends < 0 {
		return nil, errors.New("invite: TicketTTL, ResendInterval and MaxSends must not be negative")
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	} else {
		// The ids a line is about come from its context (logger puts an invitation's).
		s.log = slog.New(LogHandler(s.log.Handler()))
	}
	return s, nil
}

// Actor is the authenticated caller, from the access token's claims.
type Actor struct {
	Sub         string
	Name        string
	Permissions []string
	OrgID       string // the token's org_id claim; empty for an application-level token
	// Machine is set for a token issued through the client-credentials grant (gty):
	// it holds no roles, so it grants roles only with PermAdmin.
	Machine bool
}

// Has reports whether the actor holds the permission.
func (a Actor) Has(perm string) bool { return slices.Contains(a.Permissions, perm) }

// authorize checks that a caller is authenticated and holds perm.
func authorize(a Actor, perm string) error {
	if a.Sub == "" {
		return Errorf(CodeUnauth, "no authenticated caller")
	}
	if !a.Has(perm) {
		return Errorf(CodeForbidden, "the %s permission is required", perm)
	}
	return nil
}

// canSee reports whether the invitation is in the actor's reach: an organization's
// token reaches only that organization; an application-level token reaches
// application invitations, and every organization's with PermAdmin.
func (a Actor) canSee(inv *Invitation) bool { return a.reaches(inv.OrganizationID) }

// reaches reports whether the actor may see invitations of orgID ("" for the
// application's).
func (a Actor) reaches(orgID string) bool {
	if a.OrgID != "" {
		return orgID == a.OrgID
	}
	return orgID == "" || a.Has(PermAdmin)
}

// orgFor resolves the organization a request names against the actor's reach and
// returns it ("" for the application). An organization's token that names none means
// its own organization.
func (a Actor) orgFor(orgID string) (string, error) {
	if a.OrgID != "" {
		if orgID != "" && orgID != a.OrgID {
			return "", Errorf(CodeForbidden, "this token manages only organization %s", a.OrgID)
		}
		return a.OrgID, nil
	}
	if orgID != "" && !a.Has(PermAdmin) {
		return "", Errorf(CodeForbidden, "the %s permission is required for organization invitations", PermAdmin)
	}
	return orgID, nil
}

// errNotFound is the one answer for an invitation that does not exist and for one the
// caller may not see, so that no one learns another organization's ids.
func errNotFound(cause error) error {
	return &Error{Code: CodeNotFound, Message: "invitation not found", Err: cause}
}

// load reads an invitation on behalf of an actor holding perm.
func (s *Service) load(ctx context.Context, a Actor, perm, id string) (*Invitation, error) {
	if err := authorize(a, perm); err != nil {
		return nil, err
	}
	if !ValidID(id) {
		return nil, errNotFound(nil)
	}
	inv, err := s.store.Get(ctx, id)
	if IsCode(err, CodeNotFound) {
		return nil, errNotFound(err)
	}
	if err != nil {
		return nil, fmt.Errorf("get invitation %s: %w", id, err)
	}
	if !a.canSee(inv) {
		return nil, errNotFound(nil)
	}
	return inv, nil
}

// Get returns one invitation with its history.
func (s *Service) Get(ctx context.Context, a Actor, id string) (*Invitation, error) {
	return s.load(ctx, a, PermRead, id)
}

// ListRequest selects a page of invitations. OrganizationID empty means the actor's
// organization, or the application's invitations for an application-level token.
type ListRequest struct {
	OrganizationID string
	Status         Status
	Email          string
	Inviter        string // the inviter's sub
	Limit          int    // 1..100; 0 means 50
	Cursor         string
}

// List returns a page of one scope's invitations, newest first.
func (s *Service) List(ctx context.Context, a Actor, req ListRequest) (*Page, error) {
	if err := authorize(a, PermRead); err != nil {
		return nil, err
	}
	if req.OrganizationID != "" && !validOrgID(req.OrganizationID) {
		return nil, Invalid("organization_id", "must be an Auth0 organization id (org_...)")
	}
	orgID, err := a.orgFor(req.OrganizationID)
	if err != nil {
		return nil, err
	}
	if req.Status != "" && !req.Status.Valid() {
		return nil, Invalid("status", "must be one of pending, accepted, expired, revoked, failed")
	}
	if req.Limit < 0 || req.Limit > 100 {
		return nil, Invalid("limit", "must be between 1 and 100")
	}
	q := ListQuery{
		Scope:   ScopeApplication,
		Status:  req.Status,
		Inviter: req.Inviter,
		Limit:   req.Limit,
		Cursor:  req.Cursor,
	}
	if orgID != "" {
		q.Scope = OrgScope(orgID)
	}
	if req.Email != "" {
		q.EmailKey = EmailKey(req.Email)
	}
	page, err := s.store.List(ctx, q)
	if err != nil {
		return nil, fmt.Errorf("list invitations of %s: %w", q.Scope, err)
	}
	return page, nil
}

// save writes next over prev, the version read.
func (s *Service) save(ctx context.Context, prev, next *Invitation) error {
	next.Version = prev.Version + 1
	if err := s.store.Update(ctx, prev, next); err != nil {
		return fmt.Errorf("update invitation %s: %w", prev.ID, err)
	}
	return nil
}

// apply writes change(copy of cur) over cur. When another writer got there first
// (conflict) it reads the invitation again and reapplies change, a few times; change
// decides on the fresh state, so a transition that is no longer allowed fails there
// with conflict and exactly one of concurrent transitions wins.
func (s *Service) apply(ctx context.Context, cur *Invitation, change func(*Invitation) error) (*Invitation, error) {
	for attempt := 1; ; attempt++ {
		next := cur.Clone()
		if err := change(next); err != nil {
			return nil, err
		}
		err := s.save(ctx, cur, next)
		if err == nil {
			return next, nil
		}
		if !IsCode(err, CodeConflict) || attempt == 3 {
			return nil, err
		}
		fresh, gerr := s.store.Get(ctx, cur.ID)
		if gerr != nil {
			return nil, fmt.Errorf("reread invitation %s: %w", cur.ID, gerr)
		}
		cur = fresh
	}
}

// link is the invitee's Doorman link for a token.
func (s *Service) link(token string) string { return s.baseURL + "/i/" + token }

// logger is the service's logger for lines about inv: each carries its id and Auth0
// user id, put in the line's context for the log handler (LogHandler), and only when
// the line is logged at all.
func (s *Service) logger(_ context.Context, inv *Invitation) invLogger {
	return invLogger{log: s.log, invitationID: inv.ID, userID: inv.Auth0UserID}
}

// invLogger logs lines about one invitation.
type invLogger struct {
	log                  *slog.Logger
	invitationID, userID string
	attrs                []any
}

// With returns the logger with more attributes on every line.
func (l invLogger) With(args ...any) invLogger {
	l.attrs = append(slices.Clip(l.attrs), args...)
	return l
}

// forUser returns the logger for lines about another Auth0 user of the invitation
// (one an interrupted attempt created and never recorded).
func (l invLogger) forUser(userID string) invLogger {
	l.userID = userID
	return l
}

func (l invLogger) InfoContext(ctx context.Context, msg string, args ...any) {
	l.at(ctx, slog.LevelInfo, msg, args)
}

func (l invLogger) WarnContext(ctx context.Context, msg string, args ...any) {
	l.at(ctx, slog.LevelWarn, msg, args)
}

func (l invLogger) ErrorContext(ctx context.Context, msg string, args ...any) {
	l.at(ctx, slog.LevelError, msg, args)
}

func (l invLogger) at(ctx context.Context, level slog.Level, msg string, args []any) {
	if !l.log.Enabled(ctx, level) {
		return
	}
	ctx = context.WithValue(ctx, invitationIDKey{}, l.invitationID)
	if l.userID != "" {
		ctx = WithAuth0UserID(ctx, l.userID)
	}
	l.log.Log(ctx, level, msg, append(slices.Clip(l.attrs), args...)...)
}

// safeMessage is the client-safe part of err, for history and FailedReason.
func safeMessage(err error) string {
	if e := AsError(err); e != nil && e.Message != "" {
		return string(e.Code) + ": " + e.Message
	}
	return string(ErrorCode(err))
}
