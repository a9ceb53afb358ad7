package invite_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/doormanhq/doorman/shared/inmem"
	"github.com/doormanhq/doorman/shared/invite"
)

const (
	orgAcme  = "org_acme"
	orgOther = "org_other"
	baseURL  = "https://doorman.example.com"
	loginCID = "client_login"
)

var allPerms = []string{invite.PermCreate, invite.PermRead, invite.PermUpdate, invite.PermDelete}

var (
	appAdmin   = invite.Actor{Sub: "auth0|admin", Name: "Ada Admin", Permissions: allPerms}
	superAdmin = invite.Actor{Sub: "auth0|super", Name: "Sam Super", Permissions: append([]string{invite.PermAdmin}, allPerms...)}
	acmeAdmin  = invite.Actor{Sub: "auth0|acme", Name: "Olga Acme", Permissions: allPerms, OrgID: orgAcme}
	otherAdmin = invite.Actor{Sub: "auth0|other", Name: "Otto Other", Permissions: allPerms, OrgID: orgOther}
)

type fixture struct {
	cfg   invite.Config // what svc was built from
	svc   *invite.Service
	store *inmem.Store
	idp   *inmem.Identity
	mail  *inmem.Mailer
	clock *inmem.Clock
	ctx   context.Context
}

func newFixture(t *testing.T, edit ...func(*invite.Config)) *fixture {
	t.Helper()
	f := &fixture{
		store: inmem.NewStore(),
		mail:  inmem.NewMailer(),
		clock: inmem.NewClock(time.Date(2025, 6, 2, 9, 0, 0, 0, time.UTC)),
		ctx:   t.Context(),
	}
	f.idp = inmem.NewIdentity(f.clock.Now)
	f.idp.AddRoles("rol_viewer", "rol_editor", "rol_admin")
	// The fixture's inviters hold the roles they grant (Who may grant what).
	held := []string{"rol_viewer", "rol_editor"}
	f.idp.AddOrganization(invite.Organization{ID: orgAcme, Name: "acme", DisplayName: "Acme\r\nCorp"})
	f.idp.AddOrganization(invite.Organization{ID: orgOther, Name: "other", DisplayName: "Other Ltd"})
	f.idp.AddInviter(appAdmin.Sub, held, nil)
	f.idp.AddInviter(acmeAdmin.Sub, nil, map[string][]string{orgAcme: held})
	f.idp.AddInviter(otherAdmin.Sub, nil, map[string][]string{orgOther: held})
	cfg := invite.Config{
		Store:           f.store,
		Batches:         inmem.NewBatches(),
		Identity:        f.idp,
		Mailer:          f.mail,
		Now:             f.clock.Now,
		Rand:            inmem.NewRand([32]byte{1, 2, 3}),
		PublicBaseURL:   baseURL + "/",
		ApplicationName: "Example App",
		ApplicationURL:  "https://app.example.com/",
		LoginClientID:   loginCID,
		RedirectAllowed: allowExample,
		Ceiling:         invite.Ceiling{Roles: []string{"rol_viewer", "rol_editor"}, AppMetadataKeys: []string{"plan", "team"}},
	}
	f.cfg = cfg
	f.rebuild(t, edit...)
	return f
}

// rebuild replaces f.svc by a Service built from f.cfg with edits applied (another
// process of the same deployment, say).
func (f *fixture) rebuild(t *testing.T, edit ...func(*invite.Config)) {
	t.Helper()
	for _, e := range edit {
		e(&f.cfg)
	}
	svc, err := invite.NewService(f.cfg)
	if err != nil {
		t.Fatalf("NewService: %v", err)
	}
	f.svc = svc
}

func appRequest(email string) invite.CreateRequest {
	return invite.CreateRequest{Email: email, Name: "Ann", Roles: []string{"rol_viewer"}, SendEmail: true, Message: "Welcome aboard"}
}

func orgRequest(email, org string) invite.CreateRequest {
	r := appRequest(email)
	r.OrganizationID = org
	return r
}

// create creates an invitation and fails the test on error.
func (f *fixture) create(t *testing.T, a invite.Actor, req invite.CreateRequest) *invite.Created {
	t.Helper()
	c, err := f.svc.Create(f.ctx, a, req)
	if err != nil {
		t.Fatalf("Create(%s): %v", req.Email, err)
	}
	return c
}

// stored reads the invitation as the store has it.
func (f *fixture) stored(t *testing.T, id string) *invite.Invitation {
	t.Helper()
	inv, err := f.store.Get(f.ctx, id)
	if err != nil {
		t.Fatalf("store.Get(%s): %v", id, err)
	}
	return inv
}

// lastToken is the token in the last email sent to addr.
func (f *fixture) lastToken(t *testing.T, addr string) string {
	t.Helper()
	sent := f.mail.SentTo(addr)
	if len(sent) == 0 {
		t.Fatalf("no email sent to %s", addr)
	}
	return tokenOf(t, sent[len(sent)-1].Link)
}

func tokenOf(t *testing.T, link string) string {
	t.Helper()
	token, ok := strings.CutPrefix(link, baseURL+"/i/")
	if !ok || !invite.ValidToken(token) {
		t.Fatalf("link %q: want %s/i/<token>", link, baseURL)
	}
	return token
}

func wantCode(t *testing.T, err error, want invite.Code) *invite.Error {
	t.Helper()
	if got := invite.ErrorCode(err); got != want {
		t.Fatalf("error: got %q (%v), want %q", got, err, want)
	}
	return invite.AsError(err)
}

func events(inv *invite.Invitation) []string {
	var out []string
	for _, e := range inv.History {
		out = append(out, e.Event)
	}
	return out
}

func countEvents(inv *invite.Invitation, event string) int {
	n := 0
	for _, e := range inv.History {
		if e.Event == event {
			n++
		}
	}
	return n
}
