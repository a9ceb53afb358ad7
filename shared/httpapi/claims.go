package httpapi

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"

	"github.com/doormanhq/doorman/shared/invite"
)

// Claims are the caller's verified token claims; the Lambda adapter takes them from
// requestContext.authorizer.jwt.claims, the local server from a JWT it validated.
type Claims struct {
	Sub         string
	Permissions []string
	Scope       string
	OrgID       string
	Name        string
	// Gty is Auth0's grant-type claim: "client-credentials" for a machine token.
	Gty string
}

type claimsKey struct{}

// WithClaims attaches verified claims to a request's context.
func WithClaims(ctx context.Context, c Claims) context.Context {
	return context.WithValue(ctx, claimsKey{}, c)
}

// ClaimsFrom returns the claims WithClaims attached, if any.
func ClaimsFrom(ctx context.Context) (Claims, bool) {
	c, ok := ctx.Value(claimsKey{}).(Claims)
	return c, ok
}

// ClaimsFromMap reads the claims Doorman uses from a token's claim set, in either of
// the shapes that reach it: the decoded JWT payload (functions/local), where
// permissions is a JSON array, or API Gateway HTTP API's JWT authorizer context,
// where every claim value is a string and an array claim is flattened to
// "[create:invitations read:invitations]". scope is space-separated in both; gty
// says how the token was issued.
func ClaimsFromMap(m map[string]any) (Claims, error) {
	var c Claims
	var err error
	if c.Sub, err = stringClaim(m, "sub"); err != nil {
		return Claims{}, err
	}
	if c.Sub == "" {
		return Claims{}, fmt.Errorf("claims: sub is missing")
	}
	if c.Scope, err = stringClaim(m, "scope"); err != nil {
		return Claims{}, err
	}
	if c.OrgID, err = stringClaim(m, "org_id"); err != nil {
		return Claims{}, err
	}
	if c.Name, err = stringClaim(m, "name"); err != nil {
		return Claims{}, err
	}
	if c.Gty, err = stringClaim(m, "gty"); err != nil {
		return Claims{}, err
	}
	if c.Permissions, err = listClaim(m, "permissions"); err != nil {
		return Claims{}, err
	}
	return c, nil
}

func stringClaim(m map[string]any, name string) (string, error) {
	switch v := m[name].(type) {
	case nil:
		return "", nil
	case string:
		return v, nil
	default:
		return "", fmt.Errorf("claims: %s is a %T, want a string", name, v)
	}
}

// listClaim accepts a JSON array of strings, API Gateway's "[a b c]" flattening of
// one, a JSON-encoded array in a string, or a space-separated string.
func listClaim(m map[string]any, name string) ([]string, error) {
	switch v := m[name].(type) {
	case nil:
		return nil, nil
	case []string:
		return append([]string(nil), v...), nil
	case []any:
		out := make([]string, 0, len(v))
		for i, e := range v {
			s, ok := e.(string)
			if !ok {
				return nil, fmt.Errorf("claims: %s[%d] is a %T, want a string", name, i, e)
			}
			out = append(out, s)
		}
		return out, nil
	case string:
		s := strings.TrimSpace(v)
		if strings.HasPrefix(s, `["`) {
			var out []string
			if err := json.Unmarshal([]byte(s), &out); err != nil {
				return nil, fmt.Errorf("claims: %s: %w", name, err)
			}
			return out, nil
		}
		s = strings.TrimSuffix(strings.TrimPrefix(s, "["), "]")
		return strings.Fields(s), nil
	default:
		return nil, fmt.Errorf("claims: %s is a %T, want a list of strings", name, v)
	}
}

// actor maps the claims to the domain's caller. The permissions claim (Auth0's RBAC)
// is authoritative. scope counts only for a machine token (gty client-credentials),
// whose scope Auth0 fills from the permissions granted to its client: a user's token
// carries whatever scopes the application asked for, so a user token without
// permissions has none.
func (c Claims) actor() invite.Actor {
	machine := c.Gty == invite.GrantClientCredentials
	perms := c.Permissions
	if perms == nil && machine {
		perms = strings.Fields(c.Scope)
	}
	return invite.Actor{Sub: c.Sub, Name: c.Name, Permissions: perms, OrgID: c.OrgID, Machine: machine}
}

// actorHandler is a /v1 handler that runs for an authenticated caller.
type actorHandler func(w http.ResponseWriter, r *http.Request, a invite.Actor)

// authed refuses a request without claims (401) and hands the caller to h.
func (s *server) authed(h actorHandler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, ok := ClaimsFrom(r.Context())
		if !ok || c.Sub == "" {
			w.Header().Set("WWW-Authenticate", `Bearer realm="doorman"`)
			s.writeError(w, r, invite.Errorf(invite.CodeUnauth, "a bearer access token is required"))
			return
		}
		h(w, r, c.actor())
	})
}
