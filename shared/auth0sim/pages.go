package auth0sim

import (
	"html/template"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// The pages are plain HTML forms without JavaScript, so that a browser test can drive
// them with net/http and a cookie jar.
var pageTmpl = template.Must(template.New("page").Parse(`<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{{.Title}}</title></head>
<body>
<h1>{{.Title}}</h1>
{{with .Message}}<p class="message">{{.}}</p>{{end}}
{{with .Error}}<p class="error" role="alert">{{.}}</p>{{end}}
{{if .Reset}}
<form method="post" action="{{.Action}}">
  <input type="hidden" name="ticket" value="{{.Ticket}}">
  <p>Enter a new password for {{.Email}}</p>
  <label>New password <input type="password" name="password" autocomplete="new-password"></label>
  <label>Re-enter new password <input type="password" name="password_confirm" autocomplete="new-password"></label>
  <button type="submit">Reset password</button>
</form>
{{end}}
{{if .Login}}
{{with .Hint}}<p class="hint">{{.}}</p>{{end}}
{{with .OrgName}}<p>Organization: <span class="organization">{{.}}</span></p>{{end}}
{{if .SessionEmail}}
<form method="post" action="/login" class="continue">
  {{template "hidden" .}}
  <input type="hidden" name="action" value="continue">
  <button type="submit">Continue as {{.SessionEmail}}</button>
</form>
{{end}}
<form method="post" action="/login" class="login">
  {{template "hidden" .}}
  <input type="hidden" name="action" value="login">
  <label>Email address <input type="email" name="email" value="{{.Email}}"></label>
  <label>Password <input type="password" name="password" autocomplete="current-password"></label>
  <button type="submit">Log in</button>
</form>
{{if .Invitation}}
<form method="post" action="/login" class="signup">
  {{template "hidden" .}}
  <input type="hidden" name="action" value="signup">
  <label>Email address <input type="email" name="email" value="{{.Email}}" readonly></label>
  <label>Password <input type="password" name="password" autocomplete="new-password"></label>
  <button type="submit">Sign up</button>
</form>
{{end}}
{{end}}
</body></html>
{{define "hidden"}}<input type="hidden" name="invitation" value="{{.Invitation}}">
  <input type="hidden" name="organization" value="{{.OrgID}}">
  <input type="hidden" name="client_id" value="{{.ClientID}}">
  <input type="hidden" name="redirect_uri" value="{{.RedirectURI}}">
  <input type="hidden" name="state" value="{{.State}}">{{with .Txn}}
  <input type="hidden" name="txn" value="{{.}}">{{end}}{{end}}
`))

type pageData struct {
	Title, Message, Error string

	Reset         bool
	Action        string
	Ticket, Email string

	Login                        bool
	Invitation, OrgID, OrgName   string
	ClientID, RedirectURI, State string
	SessionEmail                 string
	// Txn names the /authorize request (authorize.go) the login completes.
	Txn string
	// Hint is Options.LoginHint, on the console's sign-in (authorize.go).
	Hint string
}

func (s *Sim) render(w http.ResponseWriter, status int, d pageData) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	if err := pageTmpl.Execute(w, d); err != nil {
		s.log.Error("auth0sim: render page", "err", err)
	}
}

// The wording of New Universal Login's reset-password-error screen.
const (
	linkExpiredTitle = "Link Expired"
	linkExpiredText  = "To reset your password, return to the login page and select \"Forgot Your Password\" to send a new email."
)

// validTicket returns the ticket when it can still be used. Callers hold s.mu.
func (s *Sim) validTicket(id string) *ticket {
	t := s.st.tickets[id]
	if t == nil || t.used || !s.now().Before(t.expiresAt) || s.st.user(t.userID) == nil {
		return nil
	}
	return t
}

func (s *Sim) resetPasswordPage(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	t := s.validTicket(r.URL.Query().Get("ticket"))
	var email string
	if t != nil {
		email = s.st.user(t.userID).email
	}
	s.mu.Unlock()
	if t == nil {
		s.render(w, http.StatusBadRequest, pageData{Title: linkExpiredTitle, Error: linkExpiredText})
		return
	}
	s.render(w, http.StatusOK, pageData{Title: "Change Your Password", Reset: true, Action: r.URL.Path, Ticket: t.id, Email: email})
}

func (s *Sim) resetPasswordSubmit(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		s.render(w, http.StatusBadRequest, pageData{Title: "Error", Error: "Invalid form."})
		return
	}
	id := r.PostForm.Get("ticket")
	if id == "" {
		id = r.URL.Query().Get("ticket")
	}
	pw, confirm := r.PostForm.Get("password"), r.PostForm.Get("password_confirm")
	s.mu.Lock()
	t := s.validTicket(id)
	if t == nil {
		s.mu.Unlock()
		s.render(w, http.StatusBadRequest, pageData{Title: linkExpiredTitle, Error: linkExpiredText})
		return
	}
	u := s.st.user(t.userID)
	form := pageData{Title: "Change Your Password", Reset: true, Action: r.URL.Path, Ticket: t.id, Email: u.email}
	switch {
	case pw != confirm:
		s.mu.Unlock()
		form.Error = "Please ensure the password and the confirmation are the same."
		s.render(w, http.StatusBadRequest, form)
		return
	case !passwordStrongEnough(pw):
		s.mu.Unlock()
		form.Error = "Password is too weak"
		s.render(w, http.StatusBadRequest, form)
		return
	}
	now := s.now()
	t.used = true
	u.password, u.lastPasswordReset, u.updatedAt = pw, now, now
	if t.markVerified {
		u.emailVerified = true
	}
	ev := s.newEvent(r, "scp", "", u, u.email, t.clientID, nil, map[string]any{
		"title": "Password Change",
		"email": u.email,
		"body":  map[string]any{"tenant": "auth0sim"},
		"query": map[string]any{
			"email": u.email, "user_id": u.id, "tenant": "auth0sim", "client_id": t.clientID,
			"connection": u.connection, "resultUrl": nullable(t.resultURL),
			"markEmailAsVerified": t.markVerified, "includeEmailInRedirect": t.includeEmail,
		},
	})
	target := ""
	if t.resultURL != "" {
		target = appendQuery(t.resultURL, url.Values{
			"success": {"true"},
			"message": {"You can now login to the application with the new password."},
		})
		if t.includeEmail {
			target = appendQuery(target, url.Values{"email": {u.email}})
		}
	}
	s.mu.Unlock()
	s.Emit(ev)
	if target != "" {
		http.Redirect(w, r, target, http.StatusFound)
		return
	}
	s.render(w, http.StatusOK, pageData{Title: "Password Changed!", Message: "Your password has been changed successfully."})
}

func nullable(v string) any {
	if v == "" {
		return nil
	}
	return v
}

func appendQuery(raw string, extra url.Values) string {
	u, err := url.Parse(raw)
	if err != nil {
		return raw
	}
	q := u.Query()
	for k, vs := range extra {
		for _, v := range vs {
			q.Add(k, v)
		}
	}
	u.RawQuery = q.Encode()
	return u.String()
}

const sessionCookie = "auth0"

// sessionUser returns the user of the request's session cookie. Callers hold s.mu.
func (s *Sim) sessionUser(r *http.Request) *user {
	c, err := r.Cookie(sessionCookie)
	if err != nil {
		return nil
	}
	return s.st.user(s.st.sessions[c.Value])
}

// pendingInvitation finds a live invitation by its ticket. Callers hold s.mu.
func (s *Sim) pendingInvitation(orgID, ticketID string) (*org, *OrgInvitation) {
	o := s.st.org(orgID)
	if o == nil {
		return nil, nil
	}
	for _, inv := range o.liveInvitations(s.now()) {
		if inv.TicketID == ticketID {
			return o, inv
		}
	}
	return nil, nil
}

// The message Auth0's /authorize gives for an unknown, used or expired invitation.
const msgInvitationGone = "invitation not found or already used"

func (s *Sim) loginPage(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	d := pageData{Title: "Log in", Login: true, ClientID: q.Get("client_id"), RedirectURI: q.Get("redirect_uri"),
		State: q.Get("state"), Invitation: q.Get("invitation"), OrgID: q.Get("organization")}
	s.mu.Lock()
	if u := s.sessionUser(r); u != nil {
		d.SessionEmail = u.email
	}
	if d.Invitation != "" {
		o, inv := s.pendingInvitation(d.OrgID, d.Invitation)
		if inv == nil {
			s.mu.Unlock()
			s.render(w, http.StatusBadRequest, pageData{Title: "Error", Error: msgInvitationGone})
			return
		}
		d.Title = "Accept your invitation to " + o.DisplayName
		d.OrgName, d.Email = o.Name, inv.Email
		if d.ClientID == "" {
			d.ClientID = inv.ClientID
		}
	}
	s.mu.Unlock()
	s.render(w, http.StatusOK, d)
}

func (s *Sim) logout(w http.ResponseWriter, r *http.Request) {
	if c, err := r.Cookie(sessionCookie); err == nil {
		s.mu.Lock()
		delete(s.st.sessions, c.Value)
		s.mu.Unlock()
	}
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: "", Path: "/", MaxAge: -1})
	if to := r.URL.Query().Get("returnTo"); to != "" {
		http.Redirect(w, r, to, http.StatusFound)
		return
	}
	s.render(w, http.StatusOK, pageData{Title: "Logged out"})
}

// loginOutcome is what a login form submission produced; events are emitted after
// the state lock is released.
type loginOutcome struct {
	status  int
	page    pageData
	events  []LogEvent
	session string // new session cookie value, if any
	target  string // redirect, if any
}

func (s *Sim) loginSubmit(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		s.render(w, http.StatusBadRequest, pageData{Title: "Error", Error: "Invalid form."})
		return
	}
	s.mu.Lock()
	out := s.login(r)
	s.mu.Unlock()
	for _, e := range out.events {
		s.Emit(e)
	}
	if out.session != "" {
		http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: out.session, Path: "/", HttpOnly: true, SameSite: http.SameSiteLaxMode})
	}
	if out.target != "" {
		http.Redirect(w, r, out.target, http.StatusFound)
		return
	}
	s.render(w, out.status, out.page)
}

// login runs one submission of the login page: log in, sign up, or continue with the
// session, and accept the invitation when there is one. Callers hold s.mu.
func (s *Sim) login(r *http.Request) loginOutcome {
	f := r.PostForm
	form := pageData{Title: "Log in", Login: true, ClientID: f.Get("client_id"), RedirectURI: f.Get("redirect_uri"),
		State: f.Get("state"), Invitation: f.Get("invitation"), OrgID: f.Get("organization"), Email: f.Get("email"), Txn: f.Get("txn")}
	if form.Txn != "" {
		form.Hint = s.opts.LoginHint
	}
	fail := func(status int, msg string, events ...LogEvent) loginOutcome {
		form.Error = msg
		return loginOutcome{status: status, page: form, events: events}
	}
	var o *org
	var inv *OrgInvitation
	connection := s.opts.Connection
	if form.Invitation != "" {
		if o, inv = s.pendingInvitation(form.OrgID, form.Invitation); inv == nil {
			return loginOutcome{status: http.StatusBadRequest, page: pageData{Title: "Error", Error: msgInvitationGone}}
		}
		form.OrgName = o.Name
		if form.ClientID == "" {
			form.ClientID = inv.ClientID
		}
		if c := s.st.conn(inv.ConnectionID); c != nil {
			connection = c.Name
		}
	}
	var events []LogEvent
	var u *user
	signedUp := false
	switch f.Get("action") {
	case "continue":
		if u = s.sessionUser(r); u == nil {
			return fail(http.StatusUnauthorized, "Your session has expired. Please log in again.")
		}
	case "signup":
		if inv == nil {
			return fail(http.StatusBadRequest, "Sign up is only offered with an invitation.")
		}
		// The invitee's address is fixed on Auth0's invitation signup form.
		email, pw := inv.Email, f.Get("password")
		form.Email = email
		if s.st.userByEmail(connection, email) != nil {
			return fail(http.StatusBadRequest, "The user already exists.",
				s.newEvent(r, "fs", "The user already exists.", nil, email, form.ClientID, o, nil))
		}
		if !passwordStrongEnough(pw) {
			return fail(http.StatusBadRequest, "Password is too weak",
				s.newEvent(r, "fs", msgWeakPassword, nil, email, form.ClientID, o, nil))
		}
		now := s.now()
		u = &user{id: "auth0|" + s.randHex(24), email: email, connection: connection, password: pw,
			emailVerified: true, name: email, picture: gravatar(email), createdAt: now, updatedAt: now,
			appMeta: cloneMap(inv.AppMetadata), userMeta: cloneMap(inv.UserMetadata)}
		u.nickname, _, _ = strings.Cut(email, "@")
		s.st.users = append(s.st.users, u)
		signedUp = true
		events = append(events, s.newEvent(r, "ss", "", u, email, form.ClientID, o, map[string]any{
			"body": map[string]any{"client_id": form.ClientID, "tenant": "auth0sim", "email": email,
				"password": "*****", "connection": connection},
		}))
	default:
		email, pw := f.Get("email"), f.Get("password")
		u = s.st.userByEmail(connection, email)
		if u == nil {
			return fail(http.StatusUnauthorized, "Wrong email or password.",
				s.newEvent(r, "fu", "Wrong email or password.", nil, email, form.ClientID, o,
					map[string]any{"error": map[string]any{"message": "Wrong email or password."}}))
		}
		if u.password == "" || u.password != pw {
			return fail(http.StatusUnauthorized, "Wrong email or password.",
				s.newEvent(r, "fp", "Wrong email or password.", u, email, form.ClientID, o,
					map[string]any{"error": map[string]any{"message": "Wrong email or password."}}))
		}
	}
	if u.blocked != nil && *u.blocked {
		return fail(http.StatusUnauthorized, "user is blocked",
			s.newEvent(r, "f", "user is blocked", u, u.email, form.ClientID, o,
				map[string]any{"error": map[string]any{"message": "user is blocked"}}))
	}
	if inv != nil && !strings.EqualFold(u.email, inv.Email) {
		// Auth0 consumes the invitation without adding the member.
		o.invitations = removeInvitation(o.invitations, inv)
		const desc = "the specified account is not allowed to accept the current invitation"
		events = append(events, s.newEvent(r, "fi", desc, u, u.email, form.ClientID, o, map[string]any{
			"error":      map[string]any{"message": desc},
			"invitation": map[string]any{"id": inv.ID, "invitee": map[string]any{"email": inv.Email}},
			"user":       map[string]any{"user_id": u.id, "email": u.email},
		}))
		return loginOutcome{status: http.StatusForbidden, page: pageData{Title: "Error", Error: desc}, events: events}
	}
	now := s.now()
	u.loginsCount++
	u.lastLogin, u.lastIP, u.updatedAt = now, remoteIP(r), now
	if inv != nil {
		o.members = addUnique(o.members, u.id)
		o.memberRoles[u.id] = addUnique(o.memberRoles[u.id], inv.Roles...)
		o.invitations = removeInvitation(o.invitations, inv)
	}
	events = append(events, s.loginEvent(r, u, form.ClientID, o, now))
	session := s.randAlnum(32)
	s.st.sessions[session] = u.id
	out := loginOutcome{status: http.StatusOK, events: events, session: session}
	if form.RedirectURI != "" {
		v := url.Values{"code": {s.issueCode(form, u)}}
		if form.State != "" {
			v.Set("state", form.State)
		}
		out.target = appendQuery(form.RedirectURI, v)
		return out
	}
	msg := "You are logged in as " + u.email + "."
	if signedUp {
		msg = "Your account " + u.email + " was created."
	}
	if o != nil {
		msg += " You are a member of " + o.DisplayName + "."
	}
	out.page = pageData{Title: "Welcome", Message: msg}
	return out
}

func removeInvitation(list []*OrgInvitation, inv *OrgInvitation) []*OrgInvitation {
	out := list[:0]
	for _, x := range list {
		if x != inv {
			out = append(out, x)
		}
	}
	return out
}

// loginEvent builds an "s" event shaped like Auth0's universal-login success record.
// Callers hold s.mu.
func (s *Sim) loginEvent(r *http.Request, u *user, clientID string, o *org, now time.Time) LogEvent {
	ms := now.UnixMilli()
	_, identity, _ := strings.Cut(u.id, "|")
	conn := s.st.connByName(u.connection)
	connID := ""
	if conn != nil {
		connID = conn.ID
	}
	stats := map[string]any{"loginsCount": u.loginsCount}
	return s.newEvent(r, "s", "", u, u.email, clientID, o, map[string]any{
		"prompts": []any{
			map[string]any{"name": "prompt-authenticate", "completedAt": ms, "connection": u.connection,
				"connection_id": connID, "strategy": "auth0", "identity": identity, "stats": stats, "elapsedTime": nil},
			map[string]any{"name": "login", "flow": "universal-login", "initiatedAt": ms, "completedAt": ms,
				"user_id": u.id, "user_name": u.email, "elapsedTime": 0},
		},
		"initiatedAt": ms,
		"completedAt": ms,
		"elapsedTime": 0,
		"session_id":  s.randAlnum(32),
		"stats":       stats,
	})
}

// newEvent builds a log event about a user (u may be nil when none matched). Callers
// hold s.mu.
func (s *Sim) newEvent(r *http.Request, typ, desc string, u *user, userName, clientID string, o *org, details map[string]any) LogEvent {
	now := s.now()
	d := LogData{
		Date: timestamp(now), Type: typ, Description: desc, ClientID: clientID,
		IP: remoteIP(r), UserAgent: r.UserAgent(), Details: details, Hostname: r.Host,
		UserName: userName, Strategy: "auth0", StrategyType: "database",
		Connection: s.opts.Connection,
	}
	if u != nil {
		d.UserID, d.Connection = u.id, u.connection
	}
	if c := s.st.connByName(d.Connection); c != nil {
		d.ConnectionID = c.ID
	}
	if o != nil {
		d.OrganizationID, d.OrganizationName = o.ID, o.Name
	}
	id := s.newLogID(now)
	d.LogID = id
	return LogEvent{LogID: id, Data: d}
}
