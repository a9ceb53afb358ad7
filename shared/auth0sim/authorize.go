package auth0sim

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"html/template"
	"net/http"
	"net/url"
	"time"
)

// The authorization code flow with PKCE, as Auth0 serves it to a single-page
// application (auth0-spa-js): GET /authorize?response_type=code&code_challenge=…
// &code_challenge_method=S256 shows the login page; a login redirects to redirect_uri
// with a one-time code and the state; POST /oauth/token with grant_type
// authorization_code, the code, the client_id, the redirect_uri and the code_verifier
// answers an access token for the audience asked (the permissions of
// Options.LoginPermissions) and an ID token for the client (with the nonce).

// codeTTL is how long a code may wait for its exchange (Auth0: a few minutes at most).
const codeTTL = time.Minute

type authzRequest struct {
	clientID, redirectURI, challenge, nonce, audience, scope string
	at                                                       time.Time
}

type authCode struct {
	req     authzRequest
	userID  string
	expires time.Time
}

// authorize answers GET /authorize. A request with a PKCE challenge is kept under a
// transaction id that the login form carries; one without is the invitation login or
// a plain page, as before.
func (s *Sim) authorizePage(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if q.Get("code_challenge") == "" {
		s.loginPage(w, r)
		return
	}
	bad := func(msg string) { s.render(w, http.StatusBadRequest, pageData{Title: "Error", Error: msg}) }
	switch {
	case q.Get("response_type") != "code":
		bad("Unsupported response type: " + q.Get("response_type"))
		return
	case q.Get("code_challenge_method") != "S256":
		bad("code_challenge_method must be S256")
		return
	case q.Get("client_id") == "":
		bad("Missing required parameter: client_id")
		return
	}
	if u, err := url.Parse(q.Get("redirect_uri")); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		bad("Missing or invalid redirect_uri")
		return
	}
	if aud := q.Get("audience"); aud != "" && aud != s.opts.Audience {
		bad("Service not found: " + aud)
		return
	}
	req := &authzRequest{clientID: q.Get("client_id"), redirectURI: q.Get("redirect_uri"), challenge: q.Get("code_challenge"),
		nonce: q.Get("nonce"), audience: q.Get("audience"), scope: q.Get("scope"), at: s.now()}
	if q.Get("prompt") == "none" && q.Get("response_mode") == "web_message" {
		s.silentAuthorize(w, r, req, q.Get("state"))
		return
	}
	txn := s.randAlnum(24)
	s.mu.Lock()
	s.st.authz[txn] = req
	d := pageData{Title: "Log in", Login: true, ClientID: q.Get("client_id"), RedirectURI: q.Get("redirect_uri"), State: q.Get("state"), Txn: txn, Hint: s.opts.LoginHint}
	if u := s.sessionUser(r); u != nil {
		d.SessionEmail = u.email
	}
	s.mu.Unlock()
	s.render(w, http.StatusOK, d)
}

// webMessage is Auth0's answer to a silent authorization (prompt=none,
// response_mode=web_message) in a hidden iframe: a page that posts the response to its
// parent, the SPA.
var webMessage = template.Must(template.New("wm").Parse(`<!DOCTYPE html>
<html><head><title>Authorization Response</title></head>
<body><script>parent.postMessage({type: "authorization_response", response: {{.Response}}}, {{.Origin}});</script></body></html>
`))

// silentAuthorize answers a silent authorization: a code for the session's user, or
// login_required without a session, as Auth0 does.
func (s *Sim) silentAuthorize(w http.ResponseWriter, r *http.Request, req *authzRequest, state string) {
	resp := map[string]string{"state": state}
	s.mu.Lock()
	if u := s.sessionUser(r); u != nil {
		code := s.randAlnum(32)
		s.st.codes[code] = &authCode{req: *req, userID: u.id, expires: s.now().Add(codeTTL)}
		resp["code"] = code
	} else {
		resp["error"], resp["error_description"] = "login_required", "Login required"
	}
	s.mu.Unlock()
	origin := req.redirectURI
	if u, err := url.Parse(req.redirectURI); err == nil {
		origin = u.Scheme + "://" + u.Host
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	if err := webMessage.Execute(w, map[string]any{"Response": resp, "Origin": origin}); err != nil {
		s.log.Error("auth0sim: render web message", "err", err)
	}
}

// issueCode returns the code a login redirects with: bound to its /authorize request
// and user when the form names one, else a code that no exchange accepts. Callers
// hold s.mu.
func (s *Sim) issueCode(form pageData, u *user) string {
	code := s.randAlnum(32)
	if req := s.st.authz[form.Txn]; req != nil && req.redirectURI == form.RedirectURI {
		delete(s.st.authz, form.Txn)
		s.st.codes[code] = &authCode{req: *req, userID: u.id, expires: s.now().Add(codeTTL)}
	}
	return code
}

// exchangeCode answers POST /oauth/token with grant_type=authorization_code.
func (s *Sim) exchangeCode(w http.ResponseWriter, r *http.Request, p map[string]string) {
	deny := func(desc string) {
		writeJSON(w, http.StatusForbidden, map[string]any{"error": "invalid_grant", "error_description": desc})
	}
	s.mu.Lock()
	c := s.st.codes[p["code"]]
	delete(s.st.codes, p["code"]) // a code is spent by any attempt
	var u *user
	if c != nil {
		u = s.st.user(c.userID)
	}
	s.mu.Unlock()
	switch {
	case c == nil || u == nil || !s.now().Before(c.expires):
		deny("Invalid authorization code")
		return
	case p["client_id"] != c.req.clientID:
		deny("Invalid authorization code")
		return
	case p["redirect_uri"] != c.req.redirectURI:
		deny("Redirect URI mismatch")
		return
	}
	sum := sha256.Sum256([]byte(p["code_verifier"]))
	if subtle.ConstantTimeCompare([]byte(base64.RawURLEncoding.EncodeToString(sum[:])), []byte(c.req.challenge)) != 1 {
		deny("Failed PKCE verification")
		return
	}
	now := s.now()
	out := map[string]any{"token_type": "Bearer", "expires_in": int64(time.Hour / time.Second), "scope": c.req.scope}
	var perms []string
	if s.opts.LoginPermissions != nil {
		perms = s.opts.LoginPermissions(u.email)
	}
	if perms == nil {
		perms = []string{}
	}
	access, err := s.MintToken(Claims{Sub: u.id, Name: u.name, Permissions: perms, TTL: time.Hour})
	if err == nil {
		out["access_token"] = access
		claims := map[string]any{
			"iss": s.base(r) + "/", "sub": u.id, "aud": c.req.clientID, "iat": now.Unix(), "exp": now.Add(10 * time.Hour).Unix(),
			"email": u.email, "email_verified": u.emailVerified, "name": u.name, "nickname": u.nickname, "sid": s.randAlnum(16),
		}
		if c.req.nonce != "" {
			claims["nonce"] = c.req.nonce
		}
		out["id_token"], err = s.sign(claims)
	}
	if err != nil {
		s.log.Error("auth0sim: sign login tokens", "err", err)
		writeJSON(w, http.StatusInternalServerError, map[string]any{"error": "server_error", "error_description": "internal error"})
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, out)
}

// allowOrigin answers a browser's cross-origin call of /oauth/token as Auth0 does for
// an application's Allowed Web Origins (the stand-in allows every origin): the SPA on
// its own origin exchanges its code here. It reports whether r was a preflight, which
// it has answered.
func allowOrigin(w http.ResponseWriter, r *http.Request) bool {
	origin := r.Header.Get("Origin")
	if origin == "" {
		return false
	}
	w.Header().Set("Access-Control-Allow-Origin", origin)
	w.Header().Add("Vary", "Origin")
	if r.Method != http.MethodOptions {
		return false
	}
	w.Header().Set("Access-Control-Allow-Methods", "POST")
	w.Header().Set("Access-Control-Allow-Headers", "Content-Type, Auth0-Client")
	w.Header().Set("Access-Control-Max-Age", "86400")
	w.WriteHeader(http.StatusNoContent)
	return true
}
