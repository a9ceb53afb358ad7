package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/doormanhq/doorman/shared/auth0sim"
	"github.com/doormanhq/doorman/shared/httpapi"
	"github.com/doormanhq/doorman/shared/invite"
)

// tokenPath is the local server's token mint. It exists only with the Auth0
// stand-in and answers only loopback callers that name the server by a loopback
// name: it signs whatever it is asked to.
const tokenPath = "/_local/tokens"

type tokenRequest struct {
	Sub         string   `json:"sub"`
	Name        string   `json:"name"`
	OrgID       string   `json:"org_id"`
	Permissions []string `json:"permissions"`
	Scope       string   `json:"scope"`
	Gty         string   `json:"gty"`
	TTLSeconds  int      `json:"ttl_seconds"`
}

func mintHandler(sim *auth0sim.Sim) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		host, _, _ := net.SplitHostPort(r.RemoteAddr)
		if !invite.IsLoopback(host) {
			http.Error(w, "tokens are minted for loopback callers only", http.StatusForbidden)
			return
		}
		// A web page can rebind its own name to 127.0.0.1 and reach this server from
		// the developer's browser, but its requests still carry that name as Host.
		if !loopbackHost(r.Host) {
			http.Error(w, "tokens are minted only for requests to localhost, 127.0.0.1 or [::1]", http.StatusForbidden)
			return
		}
		if r.Method != http.MethodPost {
			w.Header().Set("Allow", http.MethodPost)
			http.Error(w, "use POST", http.StatusMethodNotAllowed)
			return
		}
		var req tokenRequest
		body, err := io.ReadAll(io.LimitReader(r.Body, 16<<10))
		if err != nil || httpapi.DecodeJSON(body, &req) != nil || req.Sub == "" {
			http.Error(w, "want a JSON body with at least \"sub\"", http.StatusBadRequest)
			return
		}
		token, err := sim.MintToken(auth0sim.Claims{Sub: req.Sub, Name: req.Name, OrgID: req.OrgID, Permissions: req.Permissions,
			Scope: req.Scope, Gty: req.Gty, TTL: time.Duration(req.TTLSeconds) * time.Second})
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		io.WriteString(w, token+"\n")
	})
}

// loopbackHost reports whether host, a request's Host header, names this machine by
// a loopback name, with or without a port.
func loopbackHost(host string) bool {
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	} else {
		host = strings.TrimSuffix(strings.TrimPrefix(host, "["), "]")
	}
	switch strings.ToLower(host) {
	case "localhost", "127.0.0.1", "::1":
		return true
	}
	return false
}

// mintToken asks a running `serve` for an access token and prints it.
func mintToken(ctx context.Context, getenv func(string) string, args []string, out io.Writer) error {
	fs := flag.NewFlagSet("token", flag.ContinueOnError)
	sub := fs.String("sub", "auth0|local-admin", "the token's subject")
	name := fs.String("name", "", "the caller's display name (name claim), shown to invitees as the inviter")
	org := fs.String("org", "", "an organization id (org_id claim): the token then manages only that organization")
	perms := fs.String("perm", strings.Join(allPermissions, ","), "comma-separated permissions")
	scope := fs.String("scope", "", "a space-separated scope claim")
	gty := fs.String("gty", "", "the gty claim: client-credentials mints a machine token, whose scope counts as its permissions")
	ttl := fs.Duration("ttl", time.Hour, "lifetime")
	if err := fs.Parse(args); err != nil {
		return err
	}
	addr, err := listenAddr(getenv)
	if err != nil {
		return err
	}
	req := tokenRequest{Sub: *sub, Name: *name, OrgID: *org, Scope: *scope, Gty: *gty, TTLSeconds: int(ttl.Seconds())}
	for _, p := range strings.Split(*perms, ",") {
		if p = strings.TrimSpace(p); p != "" {
			req.Permissions = append(req.Permissions, p)
		}
	}
	body, _ := json.Marshal(req)
	hreq, err := http.NewRequestWithContext(ctx, http.MethodPost, "http://"+dialAddr(addr)+tokenPath, bytes.NewReader(body))
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(hreq)
	if err != nil {
		return fmt.Errorf("no local Doorman answers at %s (start it with `make dev`): %w", addr, err)
	}
	defer resp.Body.Close()
	text, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("token: %s: %s", resp.Status, strings.TrimSpace(string(text)))
	}
	_, err = out.Write(text)
	return err
}

// dialAddr is how a client on this machine names a server listening on addr: a
// wildcard host (":8080", "0.0.0.0:8080") becomes the loopback address, the name the
// mint accepts.
func dialAddr(addr string) string {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return addr
	}
	switch ip := net.ParseIP(host); {
	case host == "", ip != nil && ip.IsUnspecified() && ip.To4() != nil:
		host = "127.0.0.1"
	case ip != nil && ip.IsUnspecified():
		host = "::1"
	}
	return net.JoinHostPort(host, port)
}
