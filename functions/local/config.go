package main

import (
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"net"
	"net/url"
	"strings"
)

// Local defaults. Every one can be overridden from the environment; AUTH0_DOMAIN set
// switches from the in-process Auth0 stand-in to a real tenant.
const (
	defaultListenAddr = "127.0.0.1:8080"
	simClientID       = "doorman-local-m2m"
	// The stand-in's M2M secret; long enough for config's derived cursor key. It
	// guards nothing but the local stand-in.
	simClientSecret = "doorman-local-m2m-secret-for-the-stand-in-only"
	simAudience     = "https://doorman.local/api"
	simLoginClient  = "doorman-local-app"
	simConnection   = "Username-Password-Authentication"
	// simMemberRole is the role seeded in the stand-in and, unless GRANTABLE_ROLES
	// says otherwise, the one role local invitations may carry.
	simMemberRole = "member"
	// The stand-in's console administrator: signing in at /console with it gets every
	// invitation permission (as an Auth0 user with those RBAC permissions would).
	consoleAdminEmail    = "admin@doorman.local"
	consoleAdminPassword = "Doorman-Local-Admin-1"
)

// listenAddr is where the local server listens (LISTEN_ADDR).
func listenAddr(getenv func(string) string) (string, error) {
	addr := or(getenv("LISTEN_ADDR"), defaultListenAddr)
	if _, _, err := net.SplitHostPort(addr); err != nil {
		return "", fmt.Errorf("LISTEN_ADDR=%q: %v", addr, err)
	}
	return addr, nil
}

// local is what functions/local decides beyond Doorman's own configuration.
type local struct {
	// UseSim is true unless AUTH0_DOMAIN names a real tenant.
	UseSim bool
	// JWT validation of the API's callers (API Gateway's job in AWS).
	Issuer, Audience, JWKSURL string
	WebhookToken              string
	getenv                    func(string) string
}

// localEnv layers the local defaults under the real environment, so that config.Load
// checks the very settings the functions read in AWS. base is the server's URL.
func localEnv(getenv func(string) string, base string) (local, error) {
	l := local{UseSim: getenv("AUTH0_DOMAIN") == ""}
	token := getenv("WEBHOOK_TOKEN")
	if token == "" {
		b := make([]byte, 32)
		if _, err := rand.Read(b); err != nil {
			return local{}, err
		}
		token = base64.RawURLEncoding.EncodeToString(b)
	}
	l.WebhookToken = token
	defaults := map[string]string{
		"TABLE_NAME":         "doorman-local",
		"AWS_REGION":         "us-east-1",
		"DYNAMODB_ENDPOINT":  "http://127.0.0.1:8000",
		"SES_ENDPOINT":       "http://127.0.0.1:8005",
		"MAIL_FROM":          "Doorman <invites@doorman.local>",
		"PUBLIC_BASE_URL":    base,
		"REDIRECT_ALLOWLIST": base + "/",
		"CORS_ORIGINS":       "http://localhost:3000,http://localhost:5173",
		"APPLICATION_NAME":   "Doorman (local)",
		"APPLICATION_URL":    base + "/",
		// (with the stand-in, its sign-in page: where an existing account's owner goes
		// from the invitation's link, to sign in and accept; set below)
		"WEBHOOK_TOKEN": token,
		// /console asks tokens for the API's audience.
		"CONSOLE_AUDIENCE": or(getenv("AUTH_AUDIENCE"), simAudience),
	}
	if l.UseSim {
		defaults["APPLICATION_URL"] = base + "/login"
	}
	if l.UseSim {
		for k, v := range map[string]string{
			"AUTH0_DOMAIN": base, "AUTH0_CLIENT_ID": simClientID, "AUTH0_CLIENT_SECRET": simClientSecret,
			"AUTH0_CONNECTION": simConnection, "AUTH0_CLIENT_ID_FOR_LOGIN": simLoginClient,
			"GRANTABLE_ROLES": simMemberRole,
		} {
			defaults[k] = v
		}
	}
	l.getenv = func(k string) string {
		if v := getenv(k); v != "" {
			return v
		}
		return defaults[k]
	}
	domain := l.getenv("AUTH0_DOMAIN")
	issuer := domain + "/"
	if !strings.Contains(domain, "://") {
		issuer = "https://" + domain + "/"
	}
	l.Issuer = or(getenv("AUTH_ISSUER"), issuer)
	l.Audience = or(getenv("AUTH_AUDIENCE"), simAudience)
	l.JWKSURL = or(getenv("AUTH_JWKS_URL"), strings.TrimSuffix(l.Issuer, "/")+"/.well-known/jwks.json")
	for name, v := range map[string]string{"AUTH_ISSUER": l.Issuer, "AUTH_JWKS_URL": l.JWKSURL} {
		if u, err := url.Parse(v); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return local{}, fmt.Errorf("%s=%q is not an http(s) URL", name, v)
		}
	}
	return l, nil
}

func or(v, def string) string {
	if v == "" {
		return def
	}
	return v
}
