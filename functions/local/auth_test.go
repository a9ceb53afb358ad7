package main

import (
	"net/http"
	"net/http/httptest"
	"reflect"
	"testing"

	"github.com/doormanhq/doorman/shared/auth0sim"
	"github.com/doormanhq/doorman/shared/httpapi"
)

// TestAuthenticatorClaims: a token the stand-in signed reaches the handlers with the
// claims API Gateway would hand them, the grant type included (it decides whether
// scope counts); a token that does not validate reaches them with none.
func TestAuthenticatorClaims(t *testing.T) {
	const audience = "https://doorman.local/api"
	sim := auth0sim.New(auth0sim.Options{Audience: audience})
	srv := httptest.NewServer(sim)
	t.Cleanup(srv.Close)
	sim.SetBaseURL(srv.URL)
	auth, err := newAuthenticator(srv.URL+"/", audience, srv.URL+"/.well-known/jwks.json")
	if err != nil {
		t.Fatal(err)
	}
	mint := func(c auth0sim.Claims) string {
		t.Helper()
		tok, err := sim.MintToken(c)
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	cases := []struct {
		name   string
		token  string
		want   httpapi.Claims
		wantOK bool
	}{
		{"user token", mint(auth0sim.Claims{Sub: "auth0|ann", Name: "Ann", OrgID: "org_acme", Permissions: []string{"read:invitations"}, Scope: "openid"}),
			httpapi.Claims{Sub: "auth0|ann", Name: "Ann", OrgID: "org_acme", Permissions: []string{"read:invitations"}, Scope: "openid"}, true},
		{"machine token", mint(auth0sim.Claims{Sub: "m2m@clients", Scope: "create:invitations", Gty: "client-credentials"}),
			httpapi.Claims{Sub: "m2m@clients", Scope: "create:invitations", Gty: "client-credentials"}, true},
		{"other audience", mint(auth0sim.Claims{Sub: "auth0|ann", Audience: "https://elsewhere/"}), httpapi.Claims{}, false},
		{"not a token", "nonsense", httpapi.Claims{}, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var got httpapi.Claims
			var ok bool
			h := auth.middleware(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
				got, ok = httpapi.ClaimsFrom(r.Context())
			}))
			req := httptest.NewRequest(http.MethodGet, "/v1/invitations", nil)
			req.Header.Set("Authorization", "Bearer "+tc.token)
			h.ServeHTTP(httptest.NewRecorder(), req)
			if ok != tc.wantOK || !reflect.DeepEqual(got, tc.want) {
				t.Errorf("claims = %+v (present %v), want %+v (present %v)", got, ok, tc.want, tc.wantOK)
			}
		})
	}
}
