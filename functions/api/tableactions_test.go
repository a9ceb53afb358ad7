package main

import (
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/doormanhq/doorman/shared/httpapi"
)

// TestTableActions runs the real api function through every operation of its OpenAPI
// document, through the table meter, and holds the DynamoDB actions it made to
// testdata/table-actions.txt, which the stack grants its role. The per-inviter caps are
// on, as deployed; bulk items have no queue here, so the batch's items end failed,
// which is the api's own write to them. An operation added to the document fails the
// test until it is called here, so that what it does is measured before it is granted.
// An unknown link costs one GetItem and nothing else.
func TestTableActions(t *testing.T) {
	s := newStack(t, "INVITES_PER_HOUR", "1000", "CONSOLE_AUDIENCE", "https://doorman.example.com")
	run := fmt.Sprintf("%d", time.Now().UnixNano())
	called := map[string]bool{}
	call := func(t *testing.T, op string, payload []byte, want int) events.APIGatewayV2HTTPResponse {
		t.Helper()
		called[op] = true
		res := invoke(t, s.rt, payload)
		wantStatus(t, res, want)
		return res
	}

	created := decode[invitationBody](t, call(t, "POST /v1/invitations", event(t, "create-application",
		"ada.lovelace@example.com", "ada+"+run+"@example.com", "rol_EXAMPLEmember000", s.roleID,
		"4f6d2c1a-9b8e-4f3d-a2c1-0e9f8d7c6b5a", "key-"+run), http.StatusCreated))
	call(t, "GET /v1/invitations", adminRequest(t, http.MethodGet, "/v1/invitations", ""), http.StatusOK)
	call(t, "GET /v1/invitations/{id}", adminRequest(t, http.MethodGet, "/v1/invitations/"+created.ID, ""), http.StatusOK)
	// Just emailed: the resend is refused, after reading the invitation.
	call(t, "POST /v1/invitations/{id}/resend", adminRequest(t, http.MethodPost, "/v1/invitations/"+created.ID+"/resend", "{}"), http.StatusTooManyRequests)
	ticket := decode[invitationBody](t, call(t, "POST /v1/invitations/{id}/tickets",
		adminRequest(t, http.MethodPost, "/v1/invitations/"+created.ID+"/tickets", ""), http.StatusOK))
	token := strings.TrimPrefix(ticket.AcceptURL, "https://invite.example.com/i/")

	// The landing fixtures' own token names no invitation.
	for _, tt := range []struct{ op, fixture string }{{"GET /i/{token}", "landing-get"}, {"POST /i/{token}", "landing-post"}} {
		s.meter.Reset()
		call(t, tt.op, event(t, tt.fixture), http.StatusNotFound)
		if got, want := s.meter.Requests(), map[string]int{"GetItem": 1}; !maps.Equal(got, want) {
			t.Errorf("%s of an unknown link: DynamoDB requests %v, want %v", tt.op, got, want)
		}
	}
	call(t, "GET /i/{token}", event(t, "landing-get", "q7Zr2mXw0bV9nL4kJ8hG6fD3sA1pO5iU7yT2rE9wQ0c", token), http.StatusOK)
	call(t, "POST /i/{token}", event(t, "landing-post", "q7Zr2mXw0bV9nL4kJ8hG6fD3sA1pO5iU7yT2rE9wQ0c", token), http.StatusSeeOther)
	call(t, "DELETE /v1/invitations/{id}", adminRequest(t, http.MethodDelete, "/v1/invitations/"+created.ID, ""), http.StatusOK)

	batchBody := fmt.Sprintf(`{"invitations":[{"email":"bulk1+%[1]s@example.com","roles":[%[2]q]},{"email":"bulk2+%[1]s@example.com","roles":[%[2]q]}]}`, run, s.roleID)
	batch := decode[struct{ ID string }](t, call(t, "POST /v1/invitation-batches",
		adminRequest(t, http.MethodPost, "/v1/invitation-batches", batchBody), http.StatusAccepted))
	got := decode[struct {
		Status string
		Items  []struct{ Status string }
	}](t, call(t, "GET /v1/invitation-batches/{id}", adminRequest(t, http.MethodGet, "/v1/invitation-batches/"+batch.ID, ""), http.StatusOK))
	if got.Status != "done" || len(got.Items) != 2 || got.Items[0].Status != "failed" {
		t.Errorf("batch without a queue: got %+v, want done with its 2 items failed", got)
	}
	call(t, "GET /v1/openapi.json", event(t, "openapi"), http.StatusOK)
	// The console and its assets are embedded files: no table action.
	call(t, "GET /console", event(t, "openapi", "/v1/openapi.json", "/console"), http.StatusOK)
	call(t, "GET /console/assets/{name}", event(t, "openapi", "/v1/openapi.json", "/console/assets/doorman-invitations.js"), http.StatusOK)
	// The roles the caller may grant come from Auth0, not the table.
	s.meter.Reset()
	call(t, "GET /v1/roles", adminRequest(t, http.MethodGet, "/v1/roles", ""), http.StatusOK)
	if got := s.meter.Requests(); len(got) != 0 {
		t.Errorf("GET /v1/roles: DynamoDB requests %v, want none", got)
	}

	driveJoin(t, s, run, call)
	// Webhook endpoints and the feed.
	hooks := func(method, path, body string) []byte {
		return withPermission(t, adminRequest(t, method, path, body), "manage:webhooks")
	}
	ep := decode[struct{ ID string }](t, call(t, "POST /v1/webhook-endpoints",
		hooks(http.MethodPost, "/v1/webhook-endpoints", `{"url":"https://hooks.example.com/in"}`), http.StatusCreated))
	call(t, "GET /v1/webhook-endpoints", hooks(http.MethodGet, "/v1/webhook-endpoints", ""), http.StatusOK)
	call(t, "GET /v1/webhook-endpoints/{id}", hooks(http.MethodGet, "/v1/webhook-endpoints/"+ep.ID, ""), http.StatusOK)
	call(t, "PATCH /v1/webhook-endpoints/{id}", hooks(http.MethodPatch, "/v1/webhook-endpoints/"+ep.ID, `{"description":"CRM"}`), http.StatusOK)
	call(t, "POST /v1/webhook-endpoints/{id}/rotate-secret", hooks(http.MethodPost, "/v1/webhook-endpoints/"+ep.ID+"/rotate-secret", ""), http.StatusOK)
	call(t, "POST /v1/webhook-endpoints/{id}/replay", hooks(http.MethodPost, "/v1/webhook-endpoints/"+ep.ID+"/replay",
		`{"since":"2025-01-01T00:00:00Z"}`), http.StatusAccepted)
	call(t, "GET /v1/webhook-endpoints/{id}/attempts", hooks(http.MethodGet, "/v1/webhook-endpoints/"+ep.ID+"/attempts", ""), http.StatusOK)
	call(t, "GET /v1/events", adminRequest(t, http.MethodGet, "/v1/events", ""), http.StatusOK)
	call(t, "DELETE /v1/webhook-endpoints/{id}", hooks(http.MethodDelete, "/v1/webhook-endpoints/"+ep.ID, ""), http.StatusNoContent)

	for _, op := range openAPIOperations(t) {
		if !called[op] {
			t.Errorf("%s is not called: call it here, so that the DynamoDB actions it makes are measured", op)
		}
	}
	s.meter.Check(t, "api")
}

// adminRequest is the create-application fixture, with its admin's claims, turned
// into another /v1 request: method path, with body (none when empty).
func adminRequest(t *testing.T, method, path, body string) []byte {
	t.Helper()
	var ev events.APIGatewayV2HTTPRequest
	if err := json.Unmarshal(event(t, "create-application"), &ev); err != nil {
		t.Fatal(err)
	}
	ev.RawPath, ev.RawQueryString = path, ""
	ev.RequestContext.HTTP.Method, ev.RequestContext.HTTP.Path = method, path
	ev.PathParameters = map[string]string{"proxy": strings.TrimPrefix(path, "/v1/")}
	ev.Body = body
	delete(ev.Headers, "idempotency-key")
	delete(ev.Headers, "content-length")
	if body == "" {
		delete(ev.Headers, "content-type")
	}
	out, err := json.Marshal(ev)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// withPermission adds perm to the claims of an API Gateway request.
func withPermission(t *testing.T, payload []byte, perm string) []byte {
	t.Helper()
	var ev events.APIGatewayV2HTTPRequest
	if err := json.Unmarshal(payload, &ev); err != nil {
		t.Fatal(err)
	}
	claims := ev.RequestContext.Authorizer.JWT.Claims
	claims["permissions"] = strings.TrimSuffix(claims["permissions"], "]") + " " + perm + "]"
	out, err := json.Marshal(ev)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// openAPIOperations are the operations of the document the api serves, "METHOD path".
func openAPIOperations(t *testing.T) []string {
	t.Helper()
	raw, err := httpapi.OpenAPIJSON()
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Paths map[string]map[string]json.RawMessage
	}
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	var ops []string
	for path, item := range doc.Paths {
		for method := range item {
			switch m := strings.ToUpper(method); m {
			case http.MethodGet, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete:
				ops = append(ops, m+" "+path)
			}
		}
	}
	if len(ops) == 0 {
		t.Fatal("the OpenAPI document has no operations")
	}
	slices.Sort(ops)
	return ops
}
