package auth0sim

import (
	"net/http"
	"strconv"
	"time"
)

// PatientTransport is for tests that read the stand-in's Management API beside
// Doorman: it shares the tenant's rate limit with Doorman, so it behaves as Auth0
// asks of every client. On a 429 it waits until X-RateLimit-Reset (at least 100 ms)
// and sends the request again, until the request's context ends. Requests with a
// body must be replayable (http.NewRequest sets GetBody for the usual readers).
type PatientTransport struct {
	// Base sends the requests; nil means http.DefaultTransport.
	Base http.RoundTripper
}

// PatientClient is an http.Client over a PatientTransport.
func PatientClient() *http.Client { return &http.Client{Transport: PatientTransport{}} }

// RoundTrip implements http.RoundTripper.
func (p PatientTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	base := p.Base
	if base == nil {
		base = http.DefaultTransport
	}
	for {
		resp, err := base.RoundTrip(req)
		if err != nil || resp.StatusCode != http.StatusTooManyRequests {
			return resp, err
		}
		if req.Body != nil && req.GetBody == nil {
			return resp, nil
		}
		wait := 100 * time.Millisecond
		if reset, err := strconv.ParseInt(resp.Header.Get("X-RateLimit-Reset"), 10, 64); err == nil {
			wait = max(wait, time.Until(time.Unix(reset, 0)))
		}
		resp.Body.Close()
		if err := ctxSleep(req.Context(), wait); err != nil {
			return nil, err
		}
		next := req.Clone(req.Context())
		if req.GetBody != nil {
			body, err := req.GetBody()
			if err != nil {
				return nil, err
			}
			next.Body = body
		}
		req = next
	}
}
