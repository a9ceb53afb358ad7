package app_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/doormanhq/doorman/shared/auth0sim"
	"github.com/doormanhq/doorman/shared/httpapi"
)

// TestManagementCallsPerCreate counts the Auth0 Management API requests a create costs
// against the stand-in: the invitation's own (users-by-email, create user, assign
// roles) and what the grant rules read (the tenant's roles to resolve the ceiling, the
// inviter's own roles), which are cached for a minute: the first create of an inviter
// pays them, the next ones do not.
func TestManagementCallsPerCreate(t *testing.T) {
	a, sim := newApp(t)
	role := sim.CreateRole("member", "Can use the application")
	inviter := sim.AddUser(auth0sim.User{Email: "lead@example.com", EmailVerified: true, Roles: []string{role.ID}})
	run := time.Now().UnixNano()
	for _, tc := range []struct {
		name        string
		claims      httpapi.Claims
		first, next int
	}{
		// The first create resolves the ceiling (GET /roles), cached from then on.
		{"admin", httpapi.Claims{Sub: "auth0|admin", Permissions: []string{"create:invitations", "admin:invitations"}}, 4, 3},
		// An inviter's own roles are read once (GET /users/{id}/roles).
		{"inviter holding the role", httpapi.Claims{Sub: inviter.ID, Permissions: []string{"create:invitations"}}, 4, 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var calls []int
			for i := range 5 {
				before := sim.TotalCalls()
				body := fmt.Sprintf(`{"email":"calls+%d-%s-%d@example.com","name":"C","roles":[%q]}`, run, strings.ReplaceAll(tc.name, " ", "-"), i, role.ID)
				req := httptest.NewRequestWithContext(httpapi.WithClaims(context.Background(), tc.claims), http.MethodPost, "/v1/invitations", strings.NewReader(body))
				req.Header.Set("Content-Type", "application/json")
				rec := httptest.NewRecorder()
				a.API.ServeHTTP(rec, req)
				if rec.Code != http.StatusCreated {
					t.Fatalf("create %d: %d %s", i, rec.Code, rec.Body)
				}
				calls = append(calls, sim.TotalCalls()-before)
			}
			t.Logf("%s: Management API requests per create: %v", tc.name, calls)
			if calls[0] > tc.first {
				t.Errorf("first create: %d requests, want at most %d", calls[0], tc.first)
			}
			for i, n := range calls[1:] {
				if n != tc.next {
					t.Errorf("create %d: %d requests, want %d", i+2, n, tc.next)
				}
			}
		})
	}
}
