package httpapi

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/doormanhq/doorman/shared/invite"
)

// Titles of the invitee's pages.
const (
	pageNotFound = "Link not valid"
	pageGone     = "Invitation no longer valid"
	pageError    = "Something went wrong"
)

// pageData fills the invitee's page (page.go): an invitation with its Continue button,
// or a message.
type pageData struct {
	Title      string
	Invitation bool
	Inviter    string
	Target     string
	Email      string
	Expires    string
	ExpiresISO string
	Message    string
}

// landingCSP is the Content-Security-Policy of the invitee's pages: nothing loads,
// styles are inline, and the form may post to the page itself and be redirected to
// an https target (Auth0's ticket or the application's invitation URL).
func landingCSP(extra []string) (string, error) {
	sources := []string{"'self'", "https:"}
	for _, src := range extra {
		// An origin is one CSP source expression, and nothing else can slip in.
		if err := CheckOrigin(src); err != nil {
			return "", fmt.Errorf("httpapi: form-action source %q %w", src, err)
		}
		sources = append(sources, src)
	}
	return "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; frame-ancestors 'none'; form-action " +
		strings.Join(sources, " "), nil
}

// pageHeaders protect the invitee's pages. The token is in the URL: no referrer may
// carry it away, and no cache may keep it.
func (s *server) pageHeaders(w http.ResponseWriter) {
	h := w.Header()
	h.Set("Content-Security-Policy", s.landingCSP)
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Cache-Control", "no-store")
}

// landing serves GET /i/{token}: who invited the invitee, to what, until when, and a
// Continue button. It spends nothing, since mail scanners fetch links too.
func (s *server) landing(w http.ResponseWriter, r *http.Request) {
	inv, err := s.svc.Landing(r.Context(), r.PathValue("token"))
	if err != nil {
		s.pageError(w, r, err)
		return
	}
	inviter := inv.Inviter.Name
	if inviter == "" {
		inviter = "Someone"
	}
	s.page(w, r, http.StatusOK, "You are invited", "", func(d *pageData) {
		d.Invitation = true
		d.Inviter = inviter
		d.Target = s.targetName(r, inv)
		d.Email = inv.Email
		d.Expires = inv.ExpiresAt.UTC().Format("2 January 2006 at 15:04 UTC")
		d.ExpiresISO = inv.ExpiresAt.UTC().Format(time.RFC3339)
	})
}

// targetName names what the invitee joins: the application, or the organization as
// Auth0 names it (its id when the lookup fails, which is logged).
func (s *server) targetName(r *http.Request, inv *invite.Invitation) string {
	if inv.Kind != invite.KindOrganization {
		return s.appName
	}
	if s.orgs != nil {
		org, err := s.orgs.Organization(r.Context(), inv.OrganizationID)
		if err == nil {
			if n := invite.SanitizeHeaderText(org.DisplayName); n != "" {
				return n
			}
			if n := invite.SanitizeHeaderText(org.Name); n != "" {
				return n
			}
		} else {
			s.log.WarnContext(r.Context(), "cannot name organization on landing page",
				"invitation_id", inv.ID, "organization_id", inv.OrganizationID, "error", err.Error())
		}
	}
	return "an organization (" + inv.OrganizationID + ")"
}

// continueLink serves POST /i/{token}: the service mints a fresh password-change
// ticket or hands back Auth0's invitation URL, and the browser is sent there. The URL
// is a credential: it is neither logged nor shown.
func (s *server) continueLink(w http.ResponseWriter, r *http.Request) {
	target, err := s.svc.Continue(r.Context(), r.PathValue("token"))
	if err != nil {
		s.pageError(w, r, err)
		return
	}
	s.pageHeaders(w)
	w.Header().Set("Location", target)
	w.WriteHeader(http.StatusSeeOther)
}

// pageError answers a failed /i request with a page: 404 for unknown or malformed
// links, 410 with the service's explanation for an invitation that ended, and a
// generic page (the cause logged) for everything else.
func (s *server) pageError(w http.ResponseWriter, r *http.Request, err error) {
	p := problemFor(err)
	switch invite.ErrorCode(err) {
	case invite.CodeNotFound:
		s.page(w, r, http.StatusNotFound, pageNotFound, p.Detail, nil)
	case invite.CodeGone:
		s.page(w, r, http.StatusGone, pageGone, p.Detail, nil)
	default:
		ctx := r.Context()
		if p.Status >= 500 {
			s.log.ErrorContext(ctx, "invitee link failed", "code", p.Code, "error", err.Error())
		}
		if p.retryAfter > 0 {
			w.Header().Set("Retry-After", fmt.Sprint(int(p.retryAfter.Seconds()+0.999)))
		}
		msg := "Please try again in a minute. If it keeps happening, quote reference " + RequestID(ctx) + " to the person who invited you."
		if p.Status < 500 {
			msg = p.Detail
		}
		s.page(w, r, p.Status, pageError, msg, nil)
	}
}

func (s *server) page(w http.ResponseWriter, r *http.Request, status int, title, msg string, fill func(*pageData)) {
	d := pageData{Title: title, Message: msg}
	if fill != nil {
		fill(&d)
	}
	body := renderPage(d)
	s.pageHeaders(w)
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	if r.Method != http.MethodHead {
		_, _ = io.WriteString(w, body)
	}
}
