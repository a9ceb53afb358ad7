package main

import (
	"go/ast"
	"go/parser"
	"go/token"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// apiRoute is one route of the HTTP API as the template declares it.
type apiRoute struct {
	key         string // "GET /v1/{proxy+}"
	method      string
	path        string
	auth        string // "JWT" or "NONE"
	authorizer  string // logical id of the authorizer, for JWT
	integration string // logical id of the function the integration invokes
}

// apiRoutes reads the routes of the template, each with the function it reaches.
func apiRoutes(t *testing.T, s synthesized) []apiRoute {
	t.Helper()
	fnOf := map[string]string{} // integration id → function id
	for _, in := range s.resources("AWS::ApiGatewayV2::Integration") {
		fnOf[in.id] = ref(in.props["IntegrationUri"])
	}
	var out []apiRoute
	for _, r := range s.resources("AWS::ApiGatewayV2::Route") {
		key, _ := r.props["RouteKey"].(string)
		method, path, _ := strings.Cut(key, " ")
		route := apiRoute{key: key, method: method, path: path, authorizer: ref(r.props["AuthorizerId"])}
		route.auth, _ = r.props["AuthorizationType"].(string)
		// Target is {"Fn::Join": ["", ["integrations/", {"Ref": <integration>}]]}.
		if join, ok := r.props["Target"].(map[string]any)["Fn::Join"].([]any); ok && len(join) == 2 {
			for _, part := range asSlice(join[1]) {
				if id := ref(part); id != "" {
					route.integration = fnOf[id]
				}
			}
		}
		if route.integration == "" {
			t.Fatalf("route %s: cannot resolve its integration from %s", key, str(r.props["Target"]))
		}
		out = append(out, route)
	}
	if len(out) == 0 {
		t.Fatal("the template has no routes")
	}
	return out
}

// selectRoute picks the route API Gateway sends a request to, by its documented
// priority: a route without path variables, then one with path variables, then one
// with a greedy variable ({proxy+}); a route's own method before ANY; $default last.
// It reports false when no route matches (API Gateway answers 404, or, for a CORS
// preflight with CORS configured, answers the preflight itself).
func selectRoute(routes []apiRoute, method, path string) (apiRoute, bool) {
	best, bestRank := apiRoute{}, -1
	for _, r := range routes {
		rank, ok := matchPath(r.path, path)
		if !ok {
			continue
		}
		switch r.method {
		case method:
		case "ANY":
			rank++
		default:
			continue
		}
		if bestRank < 0 || rank < bestRank {
			best, bestRank = r, rank
		}
	}
	if bestRank >= 0 {
		return best, true
	}
	for _, r := range routes {
		if r.key == "$default" {
			return r, true
		}
	}
	return apiRoute{}, false
}

// matchPath reports whether a request path matches a route's path template, and how
// specific the template is (0 literal, 10 with variables, 20 greedy).
func matchPath(template, path string) (int, bool) {
	if template == "" {
		return 0, false // $default has no path
	}
	tsegs := strings.Split(strings.Trim(template, "/"), "/")
	psegs := strings.Split(strings.Trim(path, "/"), "/")
	rank := 0
	for i, ts := range tsegs {
		greedy := strings.HasPrefix(ts, "{") && strings.HasSuffix(ts, "+}")
		variable := strings.HasPrefix(ts, "{") && strings.HasSuffix(ts, "}")
		switch {
		case greedy:
			return 20, i == len(tsegs)-1 && len(psegs) > i && psegs[i] != ""
		case i >= len(psegs):
			return 0, false
		case variable:
			if psegs[i] == "" {
				return 0, false
			}
			rank = 10
		case ts != psegs[i]:
			return 0, false
		}
	}
	return rank, len(psegs) == len(tsegs)
}

// TestRouteSelection sends every operation of the design, the bulk-invitation routes
// included, through API Gateway's route selection, and checks who may call it and
// which function answers.
func TestRouteSelection(t *testing.T) {
	s := defaultStack(t)
	routes := apiRoutes(t, s)
	authz := s.one(t, "AWS::ApiGatewayV2::Authorizer", "Api").id
	api := s.one(t, "AWS::Lambda::Function", "ApiFunction").id
	logstream := s.one(t, "AWS::Lambda::Function", "LogstreamFunction").id
	tests := []struct {
		method, path string
		auth         string // "JWT", "NONE", or "" for no route
		function     string
	}{
		{"POST", "/v1/invitations", "JWT", api},
		{"GET", "/v1/invitations", "JWT", api},
		{"GET", "/v1/invitations/inv_1", "JWT", api},
		{"POST", "/v1/invitations/inv_1/resend", "JWT", api},
		{"POST", "/v1/invitations/inv_1/tickets", "JWT", api},
		{"DELETE", "/v1/invitations/inv_1", "JWT", api},
		{"POST", "/v1/invitation-batches", "JWT", api},
		{"GET", "/v1/invitation-batches/bat_1", "JWT", api},
		{"GET", "/v1/openapi.json", "NONE", api},
		{"POST", "/v1/openapi.json", "JWT", api}, // only the document's GET is public
		{"GET", "/v1/openapi.json/x", "JWT", api},
		{"GET", "/i/tok", "NONE", api},
		{"POST", "/i/tok", "NONE", api},
		{"POST", "/webhooks/auth0/logs", "NONE", logstream},
		// The join flows: asking, confirming and redeeming are public; reviewing,
		// policies and links are behind the authorizer.
		{"POST", "/v1/access-requests", "NONE", api},
		{"GET", "/v1/access-requests", "JWT", api},
		{"GET", "/v1/access-requests/req_1", "JWT", api},
		{"POST", "/v1/access-requests/req_1/approve", "JWT", api},
		{"POST", "/v1/access-requests/req_1/deny", "JWT", api},
		{"GET", "/v1/join-policy", "JWT", api},
		{"PUT", "/v1/join-policy", "JWT", api},
		{"POST", "/v1/invite-links", "JWT", api},
		{"GET", "/v1/invite-links/lnk_1", "JWT", api},
		{"DELETE", "/v1/invite-links/lnk_1", "JWT", api},
		{"GET", "/join", "NONE", api},
		{"POST", "/join", "NONE", api},
		{"GET", "/r/tok", "NONE", api},
		{"POST", "/r/tok", "NONE", api},
		{"GET", "/j/tok", "NONE", api},
		{"POST", "/j/tok", "NONE", api},
		{"GET", "/webhooks/auth0/logs", "", ""},
		{"GET", "/", "", ""},
		{"GET", "/v2/invitations", "", ""},
		// Preflights match no route: API Gateway answers them from the CORS settings.
		{"OPTIONS", "/v1/invitations", "", ""},
		{"OPTIONS", "/v1/invitation-batches", "", ""},
		{"OPTIONS", "/v1/invitations/inv_1/resend", "", ""},
		{"OPTIONS", "/v1/openapi.json", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.method+" "+tt.path, func(t *testing.T) {
			r, ok := selectRoute(routes, tt.method, tt.path)
			if tt.auth == "" {
				if ok {
					t.Fatalf("got route %s, want none", r.key)
				}
				return
			}
			if !ok {
				t.Fatalf("got no route, want one with %s", tt.auth)
			}
			if r.auth != tt.auth {
				t.Errorf("route %s: got authorization %s, want %s", r.key, r.auth, tt.auth)
			}
			if tt.auth == "JWT" && r.authorizer != authz {
				t.Errorf("route %s: got authorizer %q, want %s", r.key, r.authorizer, authz)
			}
			if r.integration != tt.function {
				t.Errorf("route %s: got function %s, want %s", r.key, r.integration, tt.function)
			}
		})
	}
}

// TestPreflightsBypassTheAuthorizer: API Gateway answers a CORS preflight itself only
// when no route matches OPTIONS; an ANY, OPTIONS or $default route would catch it,
// and behind the JWT authorizer a preflight (which carries no token) gets 401.
func TestPreflightsBypassTheAuthorizer(t *testing.T) {
	s := defaultStack(t)
	if _, ok := s.one(t, "AWS::ApiGatewayV2::Api", "Api").props["CorsConfiguration"]; !ok {
		t.Fatal("no CORS configuration: API Gateway would not answer preflights")
	}
	for _, r := range apiRoutes(t, s) {
		if r.method == "ANY" || r.method == "OPTIONS" || r.key == "$default" {
			t.Errorf("route %s catches preflights; name the methods instead", r.key)
		}
	}
}

// TestRoutesServeTheHandlers reads the routes shared/httpapi serves and checks that
// each is reachable through API Gateway with the same authorization: a handler wrapped
// in s.authed behind the JWT authorizer, every other one public.
func TestRoutesServeTheHandlers(t *testing.T) {
	s := defaultStack(t)
	routes := apiRoutes(t, s)
	for _, h := range handlerRoutes(t) {
		path := concretePath(h.pattern)
		t.Run(h.method+" "+h.pattern, func(t *testing.T) {
			r, ok := selectRoute(routes, h.method, path)
			if !ok {
				t.Fatalf("no API Gateway route serves %s %s", h.method, path)
			}
			want := "NONE"
			if h.authed {
				want = "JWT"
			}
			if r.auth != want {
				t.Errorf("route %s: got authorization %s, want %s", r.key, r.auth, want)
			}
		})
	}
}

type handlerRoute struct {
	method, pattern string
	authed          bool
}

// handlerRoutes parses shared/httpapi's route table: the elements of the composite
// literal returned by (*server).routes, {http.MethodX, "pattern", handler}.
func handlerRoutes(t *testing.T) []handlerRoute {
	t.Helper()
	var out []handlerRoute
	for _, file := range parseSources(t, "../shared/httpapi") {
		for _, d := range file.Decls {
			fn, ok := d.(*ast.FuncDecl)
			if !ok || fn.Name.Name != "routes" || fn.Recv == nil || fn.Body == nil {
				continue
			}
			ast.Inspect(fn.Body, func(n ast.Node) bool {
				lit, ok := n.(*ast.CompositeLit)
				if !ok || len(lit.Elts) != 3 {
					return true
				}
				method, ok1 := lit.Elts[0].(*ast.SelectorExpr)
				pattern, ok2 := lit.Elts[1].(*ast.BasicLit)
				if !ok1 || !ok2 || pattern.Kind != token.STRING || !strings.HasPrefix(method.Sel.Name, "Method") {
					return true
				}
				p, err := strconv.Unquote(pattern.Value)
				if err != nil {
					t.Fatalf("shared/httpapi routes: pattern %s: %v", pattern.Value, err)
				}
				out = append(out, handlerRoute{
					method:  strings.ToUpper(strings.TrimPrefix(method.Sel.Name, "Method")),
					pattern: p,
					authed:  callsAuthed(lit.Elts[2]),
				})
				return false
			})
		}
	}
	if len(out) == 0 {
		t.Fatal("found no route table in shared/httpapi: where does (*server).routes list the routes now?")
	}
	return out
}

func callsAuthed(handler ast.Expr) bool {
	var found bool
	ast.Inspect(handler, func(n ast.Node) bool {
		if sel, ok := n.(*ast.SelectorExpr); ok && sel.Sel.Name == "authed" {
			found = true
		}
		return !found
	})
	return found
}

// concretePath turns a net/http pattern into a request path: "{id}" becomes a
// segment, "{rest...}" two.
func concretePath(pattern string) string {
	segs := strings.Split(pattern, "/")
	for i, s := range segs {
		switch {
		case strings.HasPrefix(s, "{") && strings.HasSuffix(s, "...}"):
			segs[i] = "a/b"
		case strings.HasPrefix(s, "{") && strings.HasSuffix(s, "}"):
			segs[i] = "x1"
		}
	}
	return strings.Join(segs, "/")
}

// TestCORSMatchesTheHandler: with CORS configured, API Gateway drops the CORS headers
// the function sets and sends its own, so they must say what shared/httpapi says
// locally (its cors.go constants).
func TestCORSMatchesTheHandler(t *testing.T) {
	want := httpapiConsts(t, "../shared/httpapi/cors.go", "corsMethods", "corsHeaders", "corsExpose", "corsMaxAge")
	cors := defaultStack(t).one(t, "AWS::ApiGatewayV2::Api", "Api").props["CorsConfiguration"].(map[string]any)
	set := func(v any) []string {
		var out []string
		for _, s := range asSlice(v) {
			out = append(out, strings.ToLower(s.(string)))
		}
		slices.Sort(out)
		return out
	}
	split := func(v string) []string {
		var out []string
		for _, s := range strings.Split(v, ",") {
			out = append(out, strings.ToLower(strings.TrimSpace(s)))
		}
		slices.Sort(out)
		return out
	}
	checks := []struct {
		name      string
		got, want []string
	}{
		{"AllowMethods", set(cors["AllowMethods"]), split(want["corsMethods"])},
		{"AllowHeaders", set(cors["AllowHeaders"]), split(want["corsHeaders"])},
		{"ExposeHeaders", set(cors["ExposeHeaders"]), split(want["corsExpose"])},
	}
	for _, c := range checks {
		if !slices.Equal(c.got, c.want) {
			t.Errorf("%s: got %v, want %v (shared/httpapi)", c.name, c.got, c.want)
		}
	}
	if got, want := str(cors["MaxAge"]), want["corsMaxAge"]; got != want {
		t.Errorf("MaxAge: got %s, want %s (shared/httpapi)", got, want)
	}
}

// httpapiConsts reads string constants from a Go file.
func httpapiConsts(t *testing.T, path string, names ...string) map[string]string {
	t.Helper()
	file, err := parser.ParseFile(token.NewFileSet(), path, nil, 0)
	if err != nil {
		t.Fatalf("parse %s: %v", path, err)
	}
	out := map[string]string{}
	ast.Inspect(file, func(n ast.Node) bool {
		vs, ok := n.(*ast.ValueSpec)
		if !ok {
			return true
		}
		for i, name := range vs.Names {
			if i < len(vs.Values) {
				if lit, ok := vs.Values[i].(*ast.BasicLit); ok && lit.Kind == token.STRING {
					out[name.Name], _ = strconv.Unquote(lit.Value)
				}
			}
		}
		return true
	})
	for _, n := range names {
		if _, ok := out[n]; !ok {
			t.Fatalf("%s has no string constant %s: where does the handler keep its CORS settings now?", path, n)
		}
	}
	return out
}

// TestSelectRoute checks the route selection the tests above rely on.
func TestSelectRoute(t *testing.T) {
	routes := []apiRoute{
		{key: "GET /v1/{proxy+}", method: "GET", path: "/v1/{proxy+}", auth: "JWT"},
		{key: "GET /v1/openapi.json", method: "GET", path: "/v1/openapi.json", auth: "NONE"},
		{key: "GET /i/{token}", method: "GET", path: "/i/{token}", auth: "NONE"},
		{key: "ANY /a/{x}", method: "ANY", path: "/a/{x}", auth: "A"},
		{key: "GET /a/{x}", method: "GET", path: "/a/{x}", auth: "B"},
	}
	tests := []struct {
		method, path, want string
	}{
		{"GET", "/v1/openapi.json", "GET /v1/openapi.json"},
		{"GET", "/v1/invitations/1", "GET /v1/{proxy+}"},
		{"GET", "/v1", ""},
		{"GET", "/v1/", ""},
		{"GET", "/i/t", "GET /i/{token}"},
		{"GET", "/i/t/u", ""},
		{"GET", "/i/", ""},
		{"GET", "/a/1", "GET /a/{x}"},
		{"POST", "/a/1", "ANY /a/{x}"},
		{"OPTIONS", "/v1/x", ""},
	}
	for _, tt := range tests {
		t.Run(tt.method+" "+tt.path, func(t *testing.T) {
			r, _ := selectRoute(routes, tt.method, tt.path)
			if r.key != tt.want {
				t.Errorf("got %q, want %q", r.key, tt.want)
			}
		})
	}
	withDefault := append(slices.Clone(routes), apiRoute{key: "$default", auth: "JWT"})
	if r, _ := selectRoute(withDefault, "OPTIONS", "/v1/x"); r.key != "$default" {
		t.Errorf("OPTIONS with a $default route: got %q, want $default", r.key)
	}
}

// TestRouteThrottleBudgets: every route has a throttle budget of its own in the
// stage's route settings, so that none falls back to the stage's default: the public
// routes (the invitee's pages, the OpenAPI document) get the public budget, the
// routes behind the authorizer the admin API's, the webhook its own; each group
// follows its context keys and nothing else.
func TestRouteThrottleBudgets(t *testing.T) {
	custom := mapContext{
		ctxAdminThrottleRate: "40", ctxAdminThrottleBurst: "80",
		ctxPublicThrottleRate: "3", ctxPublicThrottleBurst: "6",
		ctxWebhookThrottleRate: "30", ctxWebhookThrottleBurst: "70",
		ctxJoinThrottleRate: "2", ctxJoinThrottleBurst: "4",
		ctxThrottleRate: "7", ctxThrottleBurst: "9", // the stage default moves alone
	}
	tests := []struct {
		name                         string
		set                          mapContext
		admin, public, webhook, join string
	}{
		{"defaults", nil,
			`{"ThrottlingBurstLimit":100,"ThrottlingRateLimit":50}`,
			`{"ThrottlingBurstLimit":20,"ThrottlingRateLimit":10}`,
			`{"ThrottlingBurstLimit":50,"ThrottlingRateLimit":25}`,
			`{"ThrottlingBurstLimit":10,"ThrottlingRateLimit":5}`},
		{"from the context", custom,
			`{"ThrottlingBurstLimit":80,"ThrottlingRateLimit":40}`,
			`{"ThrottlingBurstLimit":6,"ThrottlingRateLimit":3}`,
			`{"ThrottlingBurstLimit":70,"ThrottlingRateLimit":30}`,
			`{"ThrottlingBurstLimit":4,"ThrottlingRateLimit":2}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := defaultStack(t)
			if tt.set != nil {
				s = synthesize(t, testConfig(t, tt.set))
			}
			stage := s.one(t, "AWS::ApiGatewayV2::Stage", "Api")
			settings, _ := stage.props["RouteSettings"].(map[string]any)
			webhookFn := s.one(t, "AWS::Lambda::Function", "LogstreamFunction").id
			routes := apiRoutes(t, s)
			routeIDs := map[string]string{} // route key → logical id
			for _, r := range s.resources("AWS::ApiGatewayV2::Route") {
				routeIDs[r.props["RouteKey"].(string)] = r.id
			}
			dependsOn := map[string]bool{}
			for _, d := range asSlice(stage.raw["DependsOn"]) {
				dependsOn[d.(string)] = true
			}
			var public, join int
			for _, r := range routes {
				group, want := "admin", tt.admin
				switch {
				case r.auth == "NONE" && r.integration == webhookFn:
					group, want = "webhook", tt.webhook
				case r.auth == "NONE" && (r.path == accessRequestsPath || r.path == joinPagePath || r.path == verifyPath || r.path == inviteLinkPath):
					group, want = "join", tt.join
					join++
				case r.auth == "NONE":
					group, want = "public", tt.public
					public++
				}
				got, ok := settings[r.key]
				if !ok {
					t.Errorf("%s (%s): no budget of its own; it would share the stage default", r.key, group)
					continue
				}
				if str(got) != want {
					t.Errorf("%s (%s): got %s, want %s", r.key, group, str(got), want)
				}
				// API Gateway refuses settings for a route that does not exist yet.
				if !dependsOn[routeIDs[r.key]] {
					t.Errorf("%s: the stage does not depend on route %s", r.key, routeIDs[r.key])
				}
			}
			if public != 5 { // GET and POST /i/{token}, GET /v1/openapi.json, GET /console and its assets
				t.Errorf("public routes: got %d, want 5", public)
			}
			if join != 7 { // POST /v1/access-requests, GET and POST /join, /r/{token}, /j/{token}
				t.Errorf("public join routes: got %d, want 7", join)
			}
			if len(settings) != len(routes) {
				t.Errorf("route settings for %v, want one for each of the %d routes", keys(settings), len(routes))
			}
		})
	}
}
