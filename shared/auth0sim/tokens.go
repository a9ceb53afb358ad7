package auth0sim

import (
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/big"
	"mime"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// managementScope is what the M2M client is granted: every Management API scope
// Doorman uses (the Sim does not enforce scopes per route).
const managementScope = "read:users update:users delete:users create:users " +
	"read:users_app_metadata update:users_app_metadata create:users_app_metadata " +
	"read:roles create:roles delete:roles read:role_members create:role_members " +
	"create:user_tickets read:connections read:organizations create:organizations " +
	"read:organization_members create:organization_members " +
	"read:organization_member_roles create:organization_member_roles delete:organization_member_roles " +
	"create:organization_invitations read:organization_invitations delete:organization_invitations"

// Claims describe an access token minted for a caller of Doorman's API.
type Claims struct {
	Sub         string
	Permissions []string
	Scope       string
	OrgID       string
	// Name is the caller's display name, as a tenant's post-login Action can add it
	// to access tokens; Doorman shows it to invitees as the inviter.
	Name string
	// Gty is the grant type Auth0 names in a token it did not issue to a user:
	// "client-credentials" for a machine's.
	Gty string
	// Audience defaults to Options.Audience; TTL to one hour.
	Audience string
	TTL      time.Duration
}

// MintToken returns an RS256 access token as Auth0 issues for an API, signed by the
// key the JWKS publishes, with iss = BaseURL()+"/".
func (s *Sim) MintToken(c Claims) (string, error) {
	if c.Sub == "" {
		return "", errors.New("auth0sim: mint token: empty sub")
	}
	if c.Audience == "" {
		c.Audience = s.opts.Audience
	}
	if c.TTL == 0 {
		c.TTL = time.Hour
	}
	now := s.now()
	claims := map[string]any{
		"iss": s.base(nil) + "/",
		"sub": c.Sub,
		"aud": c.Audience,
		"iat": now.Unix(),
		"exp": now.Add(c.TTL).Unix(),
		"azp": s.opts.ClientID,
	}
	if c.Permissions != nil {
		claims["permissions"] = c.Permissions
	}
	if c.Scope != "" {
		claims["scope"] = c.Scope
	}
	if c.OrgID != "" {
		claims["org_id"] = c.OrgID
	}
	if c.Name != "" {
		claims["name"] = c.Name
	}
	if c.Gty != "" {
		claims["gty"] = c.Gty
	}
	return s.sign(claims)
}

func (s *Sim) sign(claims map[string]any) (string, error) {
	header, err := json.Marshal(map[string]string{"alg": "RS256", "typ": "JWT", "kid": s.kid})
	if err != nil {
		return "", fmt.Errorf("auth0sim: encode jwt header: %w", err)
	}
	payload, err := json.Marshal(claims)
	if err != nil {
		return "", fmt.Errorf("auth0sim: encode jwt claims: %w", err)
	}
	enc := base64.RawURLEncoding
	signing := enc.EncodeToString(header) + "." + enc.EncodeToString(payload)
	sum := sha256.Sum256([]byte(signing))
	sig, err := rsa.SignPKCS1v15(nil, s.key, crypto.SHA256, sum[:])
	if err != nil {
		return "", fmt.Errorf("auth0sim: sign jwt: %w", err)
	}
	return signing + "." + enc.EncodeToString(sig), nil
}

// errExpired is told apart because Auth0 words an expired token differently.
var errExpired = errors.New("expired")

// verify checks an RS256 token's signature and expiry and returns its claims.
func (s *Sim) verify(token string) (map[string]any, error) {
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return nil, errors.New("malformed")
	}
	enc := base64.RawURLEncoding
	sig, err := enc.DecodeString(parts[2])
	if err != nil {
		return nil, errors.New("malformed")
	}
	sum := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
	if err := rsa.VerifyPKCS1v15(&s.key.PublicKey, crypto.SHA256, sum[:], sig); err != nil {
		return nil, errors.New("signature")
	}
	raw, err := enc.DecodeString(parts[1])
	if err != nil {
		return nil, errors.New("malformed")
	}
	var claims map[string]any
	if err := json.Unmarshal(raw, &claims); err != nil {
		return nil, errors.New("malformed")
	}
	exp, _ := claims["exp"].(float64)
	if int64(exp) <= s.now().Unix() {
		return nil, errExpired
	}
	return claims, nil
}

// authorize checks the Management API bearer token and answers 401 as Auth0 does.
func (s *Sim) authorize(w http.ResponseWriter, r *http.Request) bool {
	auth := r.Header.Get("Authorization")
	token, ok := strings.CutPrefix(auth, "Bearer ")
	if !ok || token == "" {
		writeError(w, http.StatusUnauthorized, "Missing authentication", "")
		return false
	}
	claims, err := s.verify(token)
	switch {
	case errors.Is(err, errExpired):
		writeTokenError(w, "Expired token received for JSON Web Token validation")
		return false
	case err != nil && err.Error() == "signature":
		writeTokenError(w, "Invalid signature received for JSON Web Token validation")
		return false
	case err != nil:
		writeTokenError(w, "Invalid token")
		return false
	}
	if aud, _ := claims["aud"].(string); aud != s.base(r)+"/api/v2/" {
		writeTokenError(w, "Bad audience: "+aud)
		return false
	}
	return true
}

func writeTokenError(w http.ResponseWriter, msg string) {
	writeJSON(w, http.StatusUnauthorized, map[string]any{
		"statusCode": http.StatusUnauthorized,
		"error":      "Unauthorized",
		"message":    msg,
		"attributes": map[string]any{"error": msg},
	})
}

// handleToken is POST /oauth/token for the client-credentials grant. Credentials come
// from HTTP Basic (x/oauth2's first try), a form body or a JSON body.
func (s *Sim) handleToken(w http.ResponseWriter, r *http.Request) {
	allowOrigin(w, r)
	params := map[string]string{}
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]any{"error": "invalid_request", "error_description": "unreadable body"})
		return
	}
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if ct == "application/json" {
		var m map[string]any
		if err := json.Unmarshal(body, &m); err != nil {
			writeJSON(w, http.StatusBadRequest, map[string]any{"error": "invalid_request", "error_description": "Invalid JSON body"})
			return
		}
		for k, v := range m {
			if str, ok := v.(string); ok {
				params[k] = str
			}
		}
	} else {
		form, err := url.ParseQuery(string(body))
		if err != nil {
			writeJSON(w, http.StatusBadRequest, map[string]any{"error": "invalid_request", "error_description": "Invalid form body"})
			return
		}
		for k := range form {
			params[k] = form.Get(k)
		}
	}
	if id, secret, ok := r.BasicAuth(); ok {
		// x/oauth2 form-escapes the credentials before encoding them.
		if v, err := url.QueryUnescape(id); err == nil {
			id = v
		}
		if v, err := url.QueryUnescape(secret); err == nil {
			secret = v
		}
		params["client_id"], params["client_secret"] = id, secret
	}
	if params["grant_type"] == "authorization_code" {
		s.exchangeCode(w, r, params)
		return
	}
	if gt := params["grant_type"]; gt != "client_credentials" {
		writeJSON(w, http.StatusForbidden, map[string]any{"error": "unsupported_grant_type", "error_description": "Unsupported grant type: " + gt})
		return
	}
	idOK := subtle.ConstantTimeCompare([]byte(params["client_id"]), []byte(s.opts.ClientID)) == 1
	secretOK := subtle.ConstantTimeCompare([]byte(params["client_secret"]), []byte(s.opts.ClientSecret)) == 1
	if !idOK || !secretOK {
		writeJSON(w, http.StatusUnauthorized, map[string]any{"error": "access_denied", "error_description": "Unauthorized"})
		return
	}
	aud := s.base(r) + "/api/v2/"
	if a := params["audience"]; a != "" && a != aud {
		writeJSON(w, http.StatusForbidden, map[string]any{"error": "access_denied", "error_description": "Service not enabled within domain: " + a})
		return
	}
	now := s.now()
	token, err := s.sign(map[string]any{
		"iss":   s.base(r) + "/",
		"sub":   s.opts.ClientID + "@clients",
		"aud":   aud,
		"iat":   now.Unix(),
		"exp":   now.Add(s.opts.TokenTTL).Unix(),
		"scope": managementScope,
		"gty":   "client-credentials",
		"azp":   s.opts.ClientID,
	})
	if err != nil {
		s.log.Error("auth0sim: mint management token", "err", err)
		writeJSON(w, http.StatusInternalServerError, map[string]any{"error": "server_error", "error_description": "internal error"})
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, map[string]any{
		"access_token": token,
		"scope":        managementScope,
		"expires_in":   int64(s.opts.TokenTTL / time.Second),
		"token_type":   "Bearer",
	})
}

func (s *Sim) handleJWKS(w http.ResponseWriter, _ *http.Request) {
	pub := &s.key.PublicKey
	enc := base64.RawURLEncoding
	writeJSON(w, http.StatusOK, map[string]any{"keys": []any{map[string]any{
		"kty": "RSA",
		"use": "sig",
		"alg": "RS256",
		"kid": s.kid,
		"n":   enc.EncodeToString(pub.N.Bytes()),
		"e":   enc.EncodeToString(big.NewInt(int64(pub.E)).Bytes()),
	}}})
}

func (s *Sim) handleOpenIDConfig(w http.ResponseWriter, r *http.Request) {
	b := s.base(r)
	writeJSON(w, http.StatusOK, map[string]any{
		"issuer":                                b + "/",
		"authorization_endpoint":                b + "/authorize",
		"token_endpoint":                        b + "/oauth/token",
		"jwks_uri":                              b + "/.well-known/jwks.json",
		"response_types_supported":              []string{"code"},
		"subject_types_supported":               []string{"public"},
		"id_token_signing_alg_values_supported": []string{"RS256"},
		"grant_types_supported":                 []string{"client_credentials", "authorization_code"},
		"token_endpoint_auth_methods_supported": []string{"client_secret_basic", "client_secret_post"},
	})
}

func keyID(pub *rsa.PublicKey) string {
	sum := sha256.Sum256(pub.N.Bytes())
	return base64.RawURLEncoding.EncodeToString(sum[:12])
}
