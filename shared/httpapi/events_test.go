package httpapi_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/doormanhq/doorman/shared/events"
	"github.com/doormanhq/doorman/shared/httpapi"
	"github.com/doormanhq/doorman/shared/inmem"
	"github.com/doormanhq/doorman/shared/invite"
)

var (
	hooksAdmin = httpapi.Claims{Sub: "auth0|admin", Permissions: []string{events.PermManage, invite.PermRead, invite.PermAdmin}}
	acmeHooks  = httpapi.Claims{Sub: "auth0|acme", OrgID: orgAcme, Permissions: []string{events.PermManage, invite.PermRead}}
	otherHooks = httpapi.Claims{Sub: "auth0|other", OrgID: orgOther, Permissions: []string{events.PermManage, invite.PermRead}}
)

// eventsFixture is the API with events on in-memory stores.
func eventsFixture(t *testing.T) (*fixture, *inmem.Events) {
	store := inmem.NewEvents()
	f := newFixture(t, func(c *httpapi.Config) {
		c.Events = &events.Service{Store: store, Queue: &inmem.DeliveryQueue{}, Now: func() time.Time { return time.Now() },
			Rand: inmem.NewRand([32]byte{9})}
	})
	return f, store
}

func TestWebhookEndpointsAPI(t *testing.T) {
	f, _ := eventsFixture(t)
	res := f.do(call{Method: http.MethodPost, Path: "/v1/webhook-endpoints", Claims: &acmeHooks,
		Body: `{"url":"https://hooks.acme.example/in","events":["invitation.accepted","invitation.bounced"],"description":"CRM"}`})
	if res.Status != http.StatusCreated {
		t.Fatalf("create: %d %s", res.Status, res.Body)
	}
	ep := res.json(t)
	id, secret := ep["id"].(string), ep["secret"].(string)
	if !strings.HasPrefix(secret, "whsec_") || ep["organization_id"] != orgAcme || res.Header.Get("Cache-Control") != "no-store" {
		t.Errorf("created %v (Cache-Control %q), want acme's with a whsec_ secret, not cached", ep, res.Header.Get("Cache-Control"))
	}
	got := f.do(call{Method: http.MethodGet, Path: "/v1/webhook-endpoints/" + id, Claims: &acmeHooks}).json(t)
	if _, shown := got["secret"]; shown {
		t.Error("GET shows the secret again")
	}
	wantProblem(t, f.do(call{Method: http.MethodGet, Path: "/v1/webhook-endpoints/" + id, Claims: &otherHooks}), http.StatusNotFound, invite.CodeNotFound)
	wantProblem(t, f.do(call{Method: http.MethodGet, Path: "/v1/webhook-endpoints", Claims: claims(readOnly)}), http.StatusForbidden, invite.CodeForbidden)
	list := f.do(call{Method: http.MethodGet, Path: "/v1/webhook-endpoints", Claims: &otherHooks}).json(t)
	if n := len(list["webhook_endpoints"].([]any)); n != 0 {
		t.Errorf("another organization lists %d endpoints, want 0", n)
	}
	list = f.do(call{Method: http.MethodGet, Path: "/v1/webhook-endpoints?organization_id=" + orgAcme, Claims: &hooksAdmin}).json(t)
	if n := len(list["webhook_endpoints"].([]any)); n != 1 {
		t.Errorf("a tenant admin lists %d of acme's endpoints, want 1", n)
	}

	upd := f.do(call{Method: http.MethodPatch, Path: "/v1/webhook-endpoints/" + id, Claims: &acmeHooks, Body: `{"enabled":false}`}).json(t)
	if upd["enabled"] != false {
		t.Errorf("PATCH enabled=false → %v", upd)
	}
	wantProblem(t, f.do(call{Method: http.MethodPatch, Path: "/v1/webhook-endpoints/" + id, Claims: &acmeHooks, Body: `{"events":["invitation.nope"]}`,
		InvalidRequest: true}), http.StatusBadRequest, invite.CodeInvalid)
	wantProblem(t, f.do(call{Method: http.MethodPost, Path: "/v1/webhook-endpoints", Claims: &acmeHooks, Body: `{"url":"http://plain.example/"}`}),
		http.StatusBadRequest, invite.CodeInvalid)

	rot := f.do(call{Method: http.MethodPost, Path: "/v1/webhook-endpoints/" + id + "/rotate-secret", Claims: &acmeHooks}).json(t)
	if s, _ := rot["secret"].(string); !strings.HasPrefix(s, "whsec_") || s == secret {
		t.Errorf("rotated secret %q, want a new whsec_ one", s)
	}
	res = f.do(call{Method: http.MethodPost, Path: "/v1/webhook-endpoints/" + id + "/replay", Claims: &acmeHooks,
		Body: `{"since":"2025-01-01T00:00:00Z"}`})
	if res.Status != http.StatusAccepted {
		t.Errorf("replay: %d %s", res.Status, res.Body)
	}
	if res := f.do(call{Method: http.MethodGet, Path: "/v1/webhook-endpoints/" + id + "/attempts", Claims: &acmeHooks}); res.Status != http.StatusOK {
		t.Errorf("attempts: %d %s", res.Status, res.Body)
	}
	if res := f.do(call{Method: http.MethodDelete, Path: "/v1/webhook-endpoints/" + id, Claims: &acmeHooks}); res.Status != http.StatusNoContent {
		t.Errorf("delete: %d %s", res.Status, res.Body)
	}
	wantProblem(t, f.do(call{Method: http.MethodGet, Path: "/v1/webhook-endpoints/" + id, Claims: &acmeHooks}), http.StatusNotFound, invite.CodeNotFound)
}

func TestEventFeedAPI(t *testing.T) {
	f, store := eventsFixture(t)
	ctx := t.Context()
	at := time.Now().Add(-time.Hour).UTC()
	for i, typ := range []string{"invitation.created", "invitation.sent", "invitation.accepted"} {
		for _, scope := range []string{invite.ScopeApplication, invite.OrgScope(orgAcme)} {
			e := &events.Event{ID: events.EventID(scope, typ), Type: typ, Scope: scope, Subject: "inv",
				At: at.Add(time.Duration(i) * time.Second), Data: json.RawMessage(`{"id":"inv","actor":"auth0|admin"}`)}
			if _, err := store.PutEvent(ctx, e); err != nil {
				t.Fatal(err)
			}
		}
	}
	var feed struct {
		Events []struct {
			ID, Type string
			Data     map[string]any
		}
		NextCursor string `json:"next_cursor"`
	}
	res := f.do(call{Method: http.MethodGet, Path: "/v1/events?limit=2", Claims: &acmeHooks})
	if err := json.Unmarshal(res.Body, &feed); err != nil || res.Status != http.StatusOK {
		t.Fatalf("feed: %d %s", res.Status, res.Body)
	}
	if len(feed.Events) != 2 || feed.Events[0].Type != "invitation.created" || feed.Events[0].ID != events.EventID(invite.OrgScope(orgAcme), "invitation.created") {
		t.Fatalf("acme's first page = %+v, want its created and sent", feed.Events)
	}
	res = f.do(call{Method: http.MethodGet, Path: "/v1/events?after=" + feed.NextCursor, Claims: &acmeHooks})
	_ = json.Unmarshal(res.Body, &feed)
	if len(feed.Events) != 1 || feed.Events[0].Type != "invitation.accepted" {
		t.Errorf("acme's next page = %+v, want its accepted", feed.Events)
	}
	res = f.do(call{Method: http.MethodGet, Path: "/v1/events?type=invitation.sent", Claims: claims(readOnly)})
	_ = json.Unmarshal(res.Body, &feed)
	if len(feed.Events) != 1 || feed.Events[0].ID != events.EventID(invite.ScopeApplication, "invitation.sent") {
		t.Errorf("the application's sent events = %+v, want its one", feed.Events)
	}
	wantProblem(t, f.do(call{Method: http.MethodGet, Path: "/v1/events?organization_id=" + orgAcme, Claims: &otherHooks}), http.StatusForbidden, invite.CodeForbidden)
	wantProblem(t, f.do(call{Method: http.MethodGet, Path: "/v1/events?type=nope", Claims: &acmeHooks}), http.StatusBadRequest, invite.CodeInvalid)
	wantProblem(t, f.do(call{Method: http.MethodGet, Path: "/v1/events", Claims: &httpapi.Claims{Sub: "auth0|x", Permissions: []string{events.PermManage}}}),
		http.StatusForbidden, invite.CodeForbidden)
}
