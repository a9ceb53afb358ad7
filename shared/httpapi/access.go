package httpapi

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"time"

	"github.com/doormanhq/doorman/shared/invite"
)

// Defaults of JoinConfig.
const (
	DefaultJoinPerSourceMinute = 60
	DefaultJoinFloor           = 300 * time.Millisecond
	maxPublicBody              = 8 << 10
)

// JoinConfig configures the join flows' routes.
type JoinConfig struct {
	Service *invite.Join
	// PerSourceMinute caps the requests one source address makes to each public join
	// route (a method and path: asking for access, a verification link's page or its
	// confirmation, a link's page or its redemption) per clock minute; 0 means
	// DefaultJoinPerSourceMinute, negative disables it. A window of a minute stops a
	// flood at once and never locks a source out for long.
	PerSourceMinute int
	// Floor is the least time a public answer that takes a request takes, so that
	// whether an email went out (or a policy denied the address, or the request was a
	// duplicate) does not show in the timing; 0 means DefaultJoinFloor, negative none.
	Floor time.Duration
	// Sleep waits d or until ctx ends (default: a timer); tests replace it.
	Sleep func(ctx context.Context, d time.Duration)
}

type joinServer struct {
	svc       *invite.Join
	perSource int
	floor     time.Duration
	sleep     func(ctx context.Context, d time.Duration)
}

func newJoinServer(c JoinConfig) joinServer {
	j := joinServer{svc: c.Service, perSource: c.PerSourceMinute, floor: c.Floor, sleep: c.Sleep}
	if j.perSource == 0 {
		j.perSource = DefaultJoinPerSourceMinute
	}
	if j.floor == 0 {
		j.floor = DefaultJoinFloor
	}
	if j.sleep == nil {
		j.sleep = func(ctx context.Context, d time.Duration) {
			t := time.NewTimer(d)
			defer t.Stop()
			select {
			case <-t.C:
			case <-ctx.Done():
			}
		}
	}
	return j
}

func (s *server) joinRoutes() []route {
	return []route{
		{http.MethodPost, "/v1/access-requests", s.joined(s.requestAccess)},
		{http.MethodGet, "/v1/access-requests", s.authed(s.joinedActor(s.listAccessRequests))},
		{http.MethodGet, "/v1/access-requests/{id}", s.authed(s.joinedActor(s.getAccessRequest))},
		{http.MethodPost, "/v1/access-requests/{id}/approve", s.authed(s.joinedActor(s.approveAccessRequest))},
		{http.MethodPost, "/v1/access-requests/{id}/deny", s.authed(s.joinedActor(s.denyAccessRequest))},
		{http.MethodGet, "/v1/join-policy", s.authed(s.joinedActor(s.getJoinPolicy))},
		{http.MethodPut, "/v1/join-policy", s.authed(s.joinedActor(s.putJoinPolicy))},
		{http.MethodPost, "/v1/invite-links", s.authed(s.joinedActor(s.createInviteLink))},
		{http.MethodGet, "/v1/invite-links", s.authed(s.joinedActor(s.listInviteLinks))},
		{http.MethodGet, "/v1/invite-links/{id}", s.authed(s.joinedActor(s.getInviteLink))},
		{http.MethodDelete, "/v1/invite-links/{id}", s.authed(s.joinedActor(s.revokeInviteLink))},
		{http.MethodGet, "/join", s.joined(s.requestPage)},
		{http.MethodPost, "/join", s.joined(s.requestForm)},
		{http.MethodGet, "/r/{token}", s.joined(s.verifyPage)},
		{http.MethodPost, "/r/{token}", s.joined(s.verifyForm)},
		{http.MethodGet, "/j/{token}", s.joined(s.linkPage)},
		{http.MethodPost, "/j/{token}", s.joined(s.linkForm)},
	}
}

// joined answers not_found when the join flows are not configured.
func (s *server) joined(h http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if s.join.svc == nil {
			if isAPIPath(r.URL.Path) {
				WriteProblem(r.Context(), w, invite.Errorf(invite.CodeNotFound, "no such resource"))
			} else {
				s.page(w, r, http.StatusNotFound, pageNotFound, "This link is not valid.", nil)
			}
			return
		}
		h(w, r)
	})
}

func (s *server) joinedActor(h actorHandler) actorHandler {
	return func(w http.ResponseWriter, r *http.Request, a invite.Actor) {
		if s.join.svc == nil {
			WriteProblem(r.Context(), w, invite.Errorf(invite.CodeNotFound, "no such resource"))
			return
		}
		h(w, r, a)
	}
}

// sourceKey is the counter key of a request's source address: the address itself,
// or its /64 for IPv6, where one subscriber holds a whole /64.
func sourceKey(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	ip, err := netip.ParseAddr(host)
	if err != nil {
		return "unknown"
	}
	ip = ip.Unmap()
	if ip.Is6() {
		p, _ := ip.Prefix(64)
		return p.String()
	}
	return ip.String()
}

// limitSource counts a public request of family against its source's budget for the
// minute and refuses it rate_limited past the budget. The refusal says nothing about the
// address or the policy: it is about the source alone.
func (s *server) limitSource(ctx context.Context, r *http.Request, family string) error {
	if s.join.perSource < 0 {
		return nil
	}
	n, reset, err := s.counter.IncrBy(ctx, "joinsrc:"+family+":"+sourceKey(r), 1, time.Minute, s.now())
	if err != nil {
		return fmt.Errorf("count public requests of a source: %w", err)
	}
	if n > s.join.perSource {
		return &invite.Error{Code: invite.CodeRateLimited, RetryAfter: max(reset.Sub(s.now()), time.Second),
			Message: "too many requests from this address; try again later"}
	}
	return nil
}

// padded waits until the floor has passed since start.
func (s *server) padded(ctx context.Context, start time.Time) {
	if s.join.floor <= 0 {
		return
	}
	if d := s.join.floor - time.Since(start); d > 0 {
		s.join.sleep(ctx, d)
	}
}

// accessRequestBody is the body of POST /v1/access-requests. Website is the honeypot
// Doorman's own page hides from people: a bot that fills it is answered alike and
// ignored.
type accessRequestBody struct {
	Email          string `json:"email"`
	Name           string `json:"name"`
	OrganizationID string `json:"organization_id"`
	Note           string `json:"note"`
	Website        string `json:"website"`
}

// requestAccess serves POST /v1/access-requests: always 202 with an empty body once
// the body is JSON, whatever becomes of the request.
func (s *server) requestAccess(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	ctx := r.Context()
	if err := s.limitSource(ctx, r, "request"); err != nil {
		s.writeError(w, r, err)
		return
	}
	body, err := s.readBody(w, r, maxPublicBody)
	if err != nil {
		s.writeBodyError(w, r, err)
		return
	}
	var b accessRequestBody
	if err := decodeStrict(r, body, &b, false); err != nil {
		s.writeError(w, r, err)
		return
	}
	s.takeRequest(ctx, b)
	s.padded(ctx, start)
	w.WriteHeader(http.StatusAccepted)
}

// takeRequest hands a request to the service unless the honeypot was filled; its
// failures are logged, never answered.
func (s *server) takeRequest(ctx context.Context, b accessRequestBody) {
	if b.Website != "" {
		s.log.InfoContext(ctx, "access request dropped: honeypot filled")
		return
	}
	err := s.join.svc.RequestAccess(ctx, invite.PublicRequest{Email: b.Email, Name: b.Name, OrganizationID: b.OrganizationID, Note: b.Note})
	if err != nil {
		s.log.ErrorContext(ctx, "access request not taken", "error", err.Error())
	}
}

// accessRequestJSON is an access request as reviewers see it.
type accessRequestJSON struct {
	ID             string       `json:"id"`
	Email          string       `json:"email"`
	Name           string       `json:"name"`
	OrganizationID string       `json:"organization_id,omitempty"`
	Note           string       `json:"note,omitempty"`
	LinkID         string       `json:"link_id,omitempty"`
	Status         string       `json:"status"`
	CreatedAt      string       `json:"created_at"`
	ExpiresAt      string       `json:"expires_at,omitempty"`
	VerifiedAt     string       `json:"verified_at,omitempty"`
	DecidedAt      string       `json:"decided_at,omitempty"`
	DecidedBy      *inviterJSON `json:"decided_by,omitempty"`
	Roles          []string     `json:"roles"`
	InvitationID   string       `json:"invitation_id,omitempty"`
	DenyNote       string       `json:"deny_note,omitempty"`
	History        []eventJSON  `json:"history"`
}

func renderRequest(r *invite.AccessRequest) accessRequestJSON {
	out := accessRequestJSON{ID: r.ID, Email: r.Email, Name: r.Name, OrganizationID: r.OrganizationID, Note: r.Note,
		LinkID: r.LinkID, Status: string(r.Status), CreatedAt: rfc3339(r.CreatedAt), VerifiedAt: rfc3339(r.VerifiedAt),
		DecidedAt: rfc3339(r.DecidedAt), Roles: r.Roles, InvitationID: r.InvitationID, DenyNote: r.DenyNote,
		History: make([]eventJSON, 0, len(r.History))}
	if r.Status.Open() {
		out.ExpiresAt = rfc3339(r.ExpiresAt)
	}
	if out.Roles == nil {
		out.Roles = []string{}
	}
	if r.Decider.Sub != "" {
		out.DecidedBy = &inviterJSON{Sub: r.Decider.Sub, Name: r.Decider.Name}
	}
	for _, e := range r.History {
		out.History = append(out.History, eventJSON{Event: e.Event, At: rfc3339(e.At), Actor: e.Actor, Detail: e.Detail})
	}
	return out
}

// queryLimit reads the limit query parameter (0 when absent).
func queryLimit(q url.Values) (int, error) {
	raw := q.Get("limit")
	if raw == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(raw)
	if err != nil || n < 1 || n > 100 {
		return 0, invite.Invalid("limit", "must be between 1 and 100")
	}
	return n, nil
}

func (s *server) listAccessRequests(w http.ResponseWriter, r *http.Request, a invite.Actor) {
	q := r.URL.Query()
	limit, err := queryLimit(q)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	page, err := s.join.svc.ListRequests(r.Context(), a, invite.RequestListRequest{
		OrganizationID: q.Get("organization_id"), Status: invite.RequestStatus(q.Get("status")),
		Email: q.Get("email"), Limit: limit, Cursor: q.Get("cursor")})
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	out := struct {
		AccessRequests []accessRequestJSON `json:"access_requests"`
		NextCursor     string              `json:"next_cursor,omitempty"`
	}{AccessRequests: make([]accessRequestJSON, 0, len(page.Requests)), NextCursor: page.NextCursor}
	for _, req := range page.Requests {
		out.AccessRequests = append(out.AccessRequests, renderRequest(req))
	}
	s.writeJSON(w, http.StatusOK, out)
}

func (s *server) getAccessRequest(w http.ResponseWriter, r *http.Request, a invite.Actor) {
	req, err := s.join.svc.GetRequest(r.Context(), a, r.PathValue("id"))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.writeJSON(w, http.StatusOK, renderRequest(req))
}

type approveBody struct {
	Roles      []string `json:"roles"`
	TTLSeconds *int64   `json:"ttl_seconds"`
}

func (s *server) approveAccessRequest(w http.ResponseWriter, r *http.Request, a invite.Actor) {
	body, err := s.readBody(w, r, s.maxBody)
	if err != nil {
		s.writeBodyError(w, r, err)
		return
	}
	var b approveBody
	if err := decodeStrict(r, body, &b, true); err != nil {
		s.writeError(w, r, err)
		return
	}
	d, err := ttl(b.TTLSeconds)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	req, err := s.join.svc.Approve(r.Context(), a, r.PathValue("id"), invite.ApproveRequest{Roles: b.Roles, TTL: d})
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.writeJSON(w, http.StatusOK, renderRequest(req))
}

type denyBody struct {
	Note   string `json:"note"`
	Notify *bool  `json:"notify"`
}

func (s *server) denyAccessRequest(w http.ResponseWriter, r *http.Request, a invite.Actor) {
	body, err := s.readBody(w, r, s.maxBody)
	if err != nil {
		s.writeBodyError(w, r, err)
		return
	}
	var b denyBody
	if err := decodeStrict(r, body, &b, true); err != nil {
		s.writeError(w, r, err)
		return
	}
	// The person is told when a note is given, unless notify says otherwise.
	notify := b.Note != ""
	if b.Notify != nil {
		notify = *b.Notify
	}
	req, err := s.join.svc.Deny(r.Context(), a, r.PathValue("id"), invite.DenyRequest{Note: b.Note, Notify: notify})
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.writeJSON(w, http.StatusOK, renderRequest(req))
}

type ruleJSON struct {
	Mode  string   `json:"mode"`
	Roles []string `json:"roles"`
}

type domainRuleJSON struct {
	Domain string   `json:"domain"`
	Mode   string   `json:"mode"`
	Roles  []string `json:"roles"`
}

type policyJSON struct {
	OrganizationID string           `json:"organization_id,omitempty"`
	Mode           string           `json:"mode"`
	Roles          []string         `json:"roles"`
	Domains        []domainRuleJSON `json:"domains"`
	UpdatedAt      string           `json:"updated_at,omitempty"`
	UpdatedBy      string           `json:"updated_by,omitempty"`
}

func renderPolicy(orgID string, p *invite.JoinPolicy) policyJSON {
	out := policyJSON{OrganizationID: orgID, Mode: string(p.Default.Mode), Roles: p.Default.Roles,
		Domains: []domainRuleJSON{}, UpdatedAt: rfc3339(p.UpdatedAt), UpdatedBy: p.UpdatedBy}
	if out.Roles == nil {
		out.Roles = []string{}
	}
	for d, r := range p.Domains {
		roles := r.Roles
		if roles == nil {
			roles = []string{}
		}
		out.Domains = append(out.Domains, domainRuleJSON{Domain: d, Mode: string(r.Mode), Roles: roles})
	}
	sortDomains(out.Domains)
	return out
}

func sortDomains(ds []domainRuleJSON) {
	for i := 1; i < len(ds); i++ {
		for j := i; j > 0 && ds[j].Domain < ds[j-1].Domain; j-- {
			ds[j], ds[j-1] = ds[j-1], ds[j]
		}
	}
}

func orgOf(p *invite.JoinPolicy) string {
	if len(p.Scope) > 4 && p.Scope[:4] == "org:" {
		return p.Scope[4:]
	}
	return ""
}

func (s *server) getJoinPolicy(w http.ResponseWriter, r *http.Request, a invite.Actor) {
	p, err := s.join.svc.GetPolicy(r.Context(), a, r.URL.Query().Get("organization_id"))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.writeJSON(w, http.StatusOK, renderPolicy(orgOf(p), p))
}

type policyBody struct {
	OrganizationID string           `json:"organization_id"`
	Mode           string           `json:"mode"`
	Roles          []string         `json:"roles"`
	Domains        []domainRuleJSON `json:"domains"`
}

func (s *server) putJoinPolicy(w http.ResponseWriter, r *http.Request, a invite.Actor) {
	body, err := s.readBody(w, r, s.maxBody)
	if err != nil {
		s.writeBodyError(w, r, err)
		return
	}
	var b policyBody
	if err := decodeStrict(r, body, &b, false); err != nil {
		s.writeError(w, r, err)
		return
	}
	req := invite.PolicyRequest{OrganizationID: b.OrganizationID,
		Default: invite.JoinRule{Mode: invite.JoinMode(b.Mode), Roles: b.Roles}, Domains: map[string]invite.JoinRule{}}
	for i, d := range b.Domains {
		if _, dup := req.Domains[d.Domain]; dup {
			s.writeError(w, r, invite.Invalid(fmt.Sprintf("domains[%d].domain", i), "%q is listed twice", d.Domain))
			return
		}
		req.Domains[d.Domain] = invite.JoinRule{Mode: invite.JoinMode(d.Mode), Roles: d.Roles}
	}
	p, err := s.join.svc.PutPolicy(r.Context(), a, req)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.writeJSON(w, http.StatusOK, renderPolicy(orgOf(p), p))
}
