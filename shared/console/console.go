// Package console serves Doorman's hosted admin page, /console: an HTML page that
// signs the admin in with Auth0 (authorization code with PKCE) and shows the
// <doorman-invitations> component, and its assets under content-hashed names. The
// assets are the esbuild bundles of clients/typescript (kept current by this
// package's tests) embedded in the binary. The page runs under a strict
// Content-Security-Policy: no inline script or style, scripts and styles from this
// origin, network only to this origin and the Auth0 tenant.
package console

import (
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"strings"

	"github.com/doormanhq/doorman/shared/htmlesc"
)

//go:embed assets
var assets embed.FS

// Config is what the page needs to sign admins in.
type Config struct {
	// Auth0Domain is the tenant ("acme.eu.auth0.com") or an http(s) URL of it (the
	// local stand-in).
	Auth0Domain string
	// ClientID is the Auth0 application (type Single Page Application) the console
	// signs in with.
	ClientID string
	// Audience is the API identifier the console asks access tokens for.
	Audience string
}

// asset is one embedded file under its hashed name.
type asset struct {
	body        []byte
	contentType string
}

// Handler serves GET /console and GET /console/assets/{name}.
type Handler struct {
	page   []byte
	csp    string
	assets map[string]asset  // hashed name → asset
	hashed map[string]string // plain name → hashed name
}

// page is the console's HTML; its settings travel in data attributes, for the script
// to read, so that the page holds no inline script. It is written with htmlesc rather
// than html/template, whose reflection would keep the linker from dropping unused
// methods across the whole api function (megabytes).
func page(css, component, app string, cfg Config) []byte {
	a, t := htmlesc.URL, htmlesc.Text
	return []byte(`<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Doorman console</title>
<link rel="stylesheet" href="` + a(css) + `">
<script type="module" src="` + a(component) + `"></script>
<script type="module" src="` + a(app) + `"></script>
</head>
<body>
<div id="console" data-domain="` + t(cfg.Auth0Domain) + `" data-client-id="` + t(cfg.ClientID) + `" data-audience="` + t(cfg.Audience) + `" data-api="">
<noscript>The Doorman console needs JavaScript.</noscript>
<p>Loading the Doorman console…</p>
</div>
</body>
</html>
`)
}

// New builds the handler: the assets hashed once, the page rendered once.
func New(cfg Config) (*Handler, error) {
	if cfg.Auth0Domain == "" || cfg.ClientID == "" || cfg.Audience == "" {
		return nil, fmt.Errorf("console: Auth0Domain, ClientID and Audience are required")
	}
	h := &Handler{assets: map[string]asset{}, hashed: map[string]string{}}
	names := map[string]string{}
	err := fs.WalkDir(assets, "assets", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := assets.ReadFile(p)
		if err != nil {
			return err
		}
		base := path.Base(p)
		sum := sha256.Sum256(b)
		ext := path.Ext(base)
		hashed := strings.TrimSuffix(base, ext) + "." + hex.EncodeToString(sum[:6]) + ext
		h.assets[hashed] = asset{body: b, contentType: mime.TypeByExtension(ext)}
		names[base] = "/console/assets/" + hashed
		h.hashed[base] = hashed
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("console: read assets: %w", err)
	}
	for _, n := range []string{"console.css", "doorman-invitations.js", "console.js"} {
		if names[n] == "" {
			return nil, fmt.Errorf("console: asset %s is missing", n)
		}
	}
	h.page = page(names["console.css"], names["doorman-invitations.js"], names["console.js"], cfg)
	auth0 := Auth0Origin(cfg.Auth0Domain)
	h.csp = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data: https:; font-src 'self'; " +
		"connect-src 'self' " + auth0 + "; frame-src " + auth0 + "; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
	return h, nil
}

// Auth0Origin is the origin of the tenant named by domain, as auth0-spa-js reaches it.
func Auth0Origin(domain string) string {
	if strings.HasPrefix(domain, "http://") || strings.HasPrefix(domain, "https://") {
		return strings.TrimRight(domain, "/")
	}
	return "https://" + domain
}

func (h *Handler) security(w http.ResponseWriter) {
	w.Header().Set("Content-Security-Policy", h.csp)
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("Referrer-Policy", "no-referrer")
}

// Page serves GET /console. The page is revalidated on every visit, so that a new
// deployment's asset names are picked up at once.
func (h *Handler) Page(w http.ResponseWriter, r *http.Request) {
	h.security(w)
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-cache")
	_, _ = w.Write(h.page)
}

// ServeHTTP serves the page and its assets (GET and HEAD).
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch {
	case r.Method != http.MethodGet && r.Method != http.MethodHead:
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
	case r.URL.Path == "/console":
		h.Page(w, r)
	default:
		h.Asset(w, r)
	}
}

// Asset serves GET /console/assets/{name}: a hashed name never changes content, so it
// is cached for a year; the plain name for five minutes.
func (h *Handler) Asset(w http.ResponseWriter, r *http.Request) {
	name, _ := strings.CutPrefix(r.URL.Path, "/console/assets/")
	cache := "public, max-age=31536000, immutable"
	a, ok := h.assets[name]
	if !ok {
		// The plain name (doorman-invitations.js), for admin pages that load the
		// component from Doorman: it changes with each deployment, so it is cached
		// briefly.
		a, ok = h.assets[h.hashed[name]]
		cache = "public, max-age=300"
	}
	if !ok {
		http.NotFound(w, r)
		return
	}
	h.security(w)
	// Module scripts are fetched in CORS mode: any admin page may load them.
	w.Header().Set("Access-Control-Allow-Origin", "*")
	w.Header().Set("Content-Type", a.contentType)
	w.Header().Set("Cache-Control", cache)
	_, _ = w.Write(a.body)
}
