package httpapi

import (
	"errors"
	"net"
	"net/http"
	"net/url"

	"github.com/doormanhq/doorman/shared/invite"
)

const (
	corsMethods = "GET, POST, PUT, PATCH, DELETE"
	corsHeaders = "Authorization, Content-Type, Idempotency-Key"
	corsExpose  = "X-Request-Id, Retry-After, Location, Idempotent-Replayed"
	corsMaxAge  = "600"
)

// cors adds the CORS headers of /v1 for a configured origin and answers preflight
// requests; it reports whether it answered. Other origins get no CORS headers, which
// is how a browser learns that it may not read the response.
func (s *server) cors(w http.ResponseWriter, r *http.Request) bool {
	origin := r.Header.Get("Origin")
	h := w.Header()
	h.Add("Vary", "Origin")
	allowed := origin != "" && s.origins[origin]
	preflight := r.Method == http.MethodOptions && r.Header.Get("Access-Control-Request-Method") != ""
	if preflight {
		h.Add("Vary", "Access-Control-Request-Method")
		h.Add("Vary", "Access-Control-Request-Headers")
		if allowed {
			h.Set("Access-Control-Allow-Origin", origin)
			h.Set("Access-Control-Allow-Methods", corsMethods)
			h.Set("Access-Control-Allow-Headers", corsHeaders)
			h.Set("Access-Control-Max-Age", corsMaxAge)
		}
		w.WriteHeader(http.StatusNoContent)
		return true
	}
	if allowed {
		h.Set("Access-Control-Allow-Origin", origin)
		h.Set("Access-Control-Expose-Headers", corsExpose)
	}
	return false
}

// CheckOrigin is Doorman's one rule for an origin an operator allows (CORS_ORIGINS,
// the invitee page's form-action sources): scheme://host[:port] exactly as a browser
// sends it, with nothing after it, over https or, for a local run, http on a loopback
// host. "*" is refused: Doorman lists its SPAs.
func CheckOrigin(o string) error {
	if o == "*" {
		return errors.New("is not allowed; list the SPA origins")
	}
	u, err := url.Parse(o)
	if err != nil || u.Host == "" || u.Opaque != "" || u.Path != "" || u.RawQuery != "" || u.ForceQuery ||
		u.Fragment != "" || u.User != nil || !originHost(u.Hostname()) {
		return errors.New("must be scheme://host[:port] with nothing after it (no trailing slash)")
	}
	if u.Scheme != "https" && (u.Scheme != "http" || !invite.IsLoopback(u.Hostname())) {
		return errors.New("must use https (http only on localhost)")
	}
	return nil
}

// originHost accepts an IP address or a DNS name of letters, digits, '-' and '.',
// which is all a browser puts in an origin (internationalized names in punycode).
func originHost(h string) bool {
	if net.ParseIP(h) != nil {
		return true
	}
	for i := 0; i < len(h); i++ {
		if c := h[i]; !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '.') {
			return false
		}
	}
	return h != ""
}
