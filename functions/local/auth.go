package main

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/auth0/go-jwt-middleware/v2/jwks"
	"github.com/auth0/go-jwt-middleware/v2/validator"

	"github.com/doormanhq/doorman/shared/httpapi"
)

// authenticator does locally what API Gateway's JWT authorizer does in AWS: it checks
// a bearer token's signature (against the JWKS), issuer, audience and expiry, and
// hands its claims to the handlers. A request without a valid token reaches them with
// no claims, so the /v1 routes answer it 401, exactly as behind API Gateway.
type authenticator struct{ v *validator.Validator }

func newAuthenticator(issuer, audience, jwksURL string) (*authenticator, error) {
	iss, err := url.Parse(issuer)
	if err != nil {
		return nil, fmt.Errorf("AUTH_ISSUER: %w", err)
	}
	keys, err := url.Parse(jwksURL)
	if err != nil {
		return nil, fmt.Errorf("AUTH_JWKS_URL: %w", err)
	}
	provider := jwks.NewCachingProvider(iss, 5*time.Minute, jwks.WithCustomJWKSURI(keys))
	v, err := validator.New(provider.KeyFunc, validator.RS256, issuer, []string{audience},
		validator.WithCustomClaims(func() validator.CustomClaims { return &customClaims{} }),
		validator.WithAllowedClockSkew(30*time.Second))
	if err != nil {
		return nil, fmt.Errorf("jwt validator: %w", err)
	}
	return &authenticator{v: v}, nil
}

// customClaims are the claims Doorman reads beyond the registered ones.
type customClaims struct {
	Permissions []string `json:"permissions"`
	Scope       string   `json:"scope"`
	OrgID       string   `json:"org_id"`
	Name        string   `json:"name"`
	Gty         string   `json:"gty"`
}

func (*customClaims) Validate(context.Context) error { return nil }

func (a *authenticator) middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if token, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer "); ok && strings.HasPrefix(r.URL.Path, "/v1/") {
			if got, err := a.v.ValidateToken(r.Context(), strings.TrimSpace(token)); err == nil {
				vc := got.(*validator.ValidatedClaims)
				c := vc.CustomClaims.(*customClaims)
				r = r.WithContext(httpapi.WithClaims(r.Context(), httpapi.Claims{
					Sub: vc.RegisteredClaims.Subject, Permissions: c.Permissions, Scope: c.Scope, OrgID: c.OrgID, Name: c.Name, Gty: c.Gty,
				}))
			}
		}
		next.ServeHTTP(w, r)
	})
}
