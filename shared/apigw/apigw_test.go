package apigw

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"

	"github.com/doormanhq/doorman/shared/httpapi"
	"github.com/doormanhq/doorman/shared/invite"
)

const fixtures = "../../events/apigw"

func readFixture(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(fixtures, name+".json"))
	if err != nil {
		t.Fatalf("read fixture: %v", err)
	}
	return b
}

func fixture(t *testing.T, name string) events.APIGatewayV2HTTPRequest {
	t.Helper()
	var ev events.APIGatewayV2HTTPRequest
	dec := json.NewDecoder(bytes.NewReader(readFixture(t, name)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&ev); err != nil {
		t.Fatalf("decode fixture %s: %v", name, err)
	}
	return ev
}

// TestFixturesRoundTrip checks that every fixture is a payload-2.0 event the Go type
// reads completely (no unknown field) and writes back unchanged.
func TestFixturesRoundTrip(t *testing.T) {
	paths, err := filepath.Glob(filepath.Join(fixtures, "*.json"))
	if err != nil || len(paths) < 12 {
		t.Fatalf("fixtures: got %d (%v), want at least 12", len(paths), err)
	}
	for _, p := range paths {
		name := strings.TrimSuffix(filepath.Base(p), ".json")
		if name == "malformed-json" {
			continue
		}
		t.Run(name, func(t *testing.T) {
			ev := fixture(t, name)
			if ev.Version != "2.0" || ev.RequestContext.RequestID == "" || ev.RequestContext.HTTP.Method == "" && name != "malformed" {
				t.Errorf("got version %q, request id %q, method %q; want a 2.0 event with both", ev.Version, ev.RequestContext.RequestID, ev.RequestContext.HTTP.Method)
			}
			b, err := json.Marshal(ev)
			if err != nil {
				t.Fatalf("marshal: %v", err)
			}
			var again events.APIGatewayV2HTTPRequest
			if err := json.Unmarshal(b, &again); err != nil {
				t.Fatalf("unmarshal again: %v", err)
			}
			if !reflect.DeepEqual(ev, again) {
				t.Errorf("round trip changed the event:\n got %+v\nwant %+v", again, ev)
			}
		})
	}
}

func TestMalformedJSONFixtureIsNotJSON(t *testing.T) {
	if json.Valid(readFixture(t, "malformed-json")) {
		t.Error("malformed-json.json: got valid JSON, want a truncated document")
	}
}

func TestNewRequest(t *testing.T) {
	tests := []struct {
		fixture  string
		method   string
		uri      string
		body     string
		header   map[string]string
		noHeader []string
	}{
		{fixture: "create-application", method: "POST", uri: "/v1/invitations",
			body:   `"email":"ada.lovelace@example.com"`,
			header: map[string]string{"Idempotency-Key": "4f6d2c1a-9b8e-4f3d-a2c1-0e9f8d7c6b5a", "Content-Type": "application/json", "Origin": "https://admin.example.com"}},
		{fixture: "create-base64", method: "POST", uri: "/v1/invitations", body: `"send_email":false`},
		{fixture: "list", method: "GET", uri: "/v1/invitations?status=pending&limit=10"},
		{fixture: "get", method: "GET", uri: "/v1/invitations/01KDQ5V6Y8M2N4P6R8T0W2Y4A6"},
		{fixture: "revoke", method: "DELETE", uri: "/v1/invitations/01KDQ5V6Y8M2N4P6R8T0W2Y4A6"},
		{fixture: "landing-get", method: "GET", uri: "/i/q7Zr2mXw0bV9nL4kJ8hG6fD3sA1pO5iU7yT2rE9wQ0c",
			header: map[string]string{"Cookie": "_ga=GA1.1.1234567890.1767142800; theme=dark", "Accept-Language": "en-GB,en;q=0.9"}},
		{fixture: "no-claims", method: "GET", uri: "/v1/invitations",
			header: map[string]string{"X-Request-Id": "Kx3mYhnoclaimsEjMA="}},
	}
	for _, tt := range tests {
		t.Run(tt.fixture, func(t *testing.T) {
			ev := fixture(t, tt.fixture)
			ev.Headers["x-request-id"] = "client-chosen" // the platform's id wins
			r, err := NewRequest(context.Background(), ev)
			if err != nil {
				t.Fatalf("NewRequest: %v", err)
			}
			if r.Method != tt.method || r.URL.RequestURI() != tt.uri {
				t.Errorf("got %s %s, want %s %s", r.Method, r.URL.RequestURI(), tt.method, tt.uri)
			}
			if got, want := r.Host, "a1b2c3d4e5.execute-api.eu-west-1.amazonaws.com"; got != want {
				t.Errorf("Host: got %q, want %q", got, want)
			}
			if got, want := r.Header.Get("X-Request-Id"), ev.RequestContext.RequestID; got != want {
				t.Errorf("X-Request-Id: got %q, want the platform's %q", got, want)
			}
			if got, want := r.RemoteAddr, "203.0.113.25:0"; got != want {
				t.Errorf("RemoteAddr: got %q, want %q", got, want)
			}
			body, err := io.ReadAll(r.Body)
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(string(body), tt.body) || int64(len(body)) != r.ContentLength {
				t.Errorf("body: got %q (ContentLength %d), want it to contain %q", body, r.ContentLength, tt.body)
			}
			for k, want := range tt.header {
				if got := r.Header.Get(k); got != want {
					t.Errorf("header %s: got %q, want %q", k, got, want)
				}
			}
		})
	}
}

func TestNewRequestRejects(t *testing.T) {
	tests := []struct {
		name   string
		change func(*events.APIGatewayV2HTTPRequest)
	}{
		{"the malformed fixture", func(*events.APIGatewayV2HTTPRequest) {}},
		{"no method", func(ev *events.APIGatewayV2HTTPRequest) { ev.RequestContext.HTTP.Method = "" }},
		{"method with space", func(ev *events.APIGatewayV2HTTPRequest) { ev.RequestContext.HTTP.Method = "GET /x" }},
		{"relative path", func(ev *events.APIGatewayV2HTTPRequest) { ev.RawPath = "v1/invitations" }},
		{"empty path", func(ev *events.APIGatewayV2HTTPRequest) { ev.RawPath = "" }},
		{"bad base64 body", func(ev *events.APIGatewayV2HTTPRequest) { ev.IsBase64Encoded, ev.Body = true, "%%%" }},
		{"bad header name", func(ev *events.APIGatewayV2HTTPRequest) { ev.Headers["bad header"] = "x" }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			name := "list"
			if tt.name == "the malformed fixture" {
				name = "malformed"
			}
			ev := fixture(t, name)
			tt.change(&ev)
			if r, err := NewRequest(context.Background(), ev); err == nil {
				t.Errorf("NewRequest: got %s %s, want an error", r.Method, r.URL)
			}
		})
	}
}

func TestStripStage(t *testing.T) {
	tests := []struct{ path, stage, want string }{
		{"/v1/invitations", "$default", "/v1/invitations"},
		{"/prod/v1/invitations", "prod", "/v1/invitations"},
		{"/prod", "prod", "/"},
		{"/production/v1", "prod", "/production/v1"},
		{"/v1/invitations", "", "/v1/invitations"},
	}
	for _, tt := range tests {
		if got := stripStage(tt.path, tt.stage); got != tt.want {
			t.Errorf("stripStage(%q, %q): got %q, want %q", tt.path, tt.stage, got, tt.want)
		}
	}
}

// seen records what the handler was given.
type seen struct {
	called bool
	claims httpapi.Claims
	ok     bool
	reqID  string
}

func recorder(s *seen) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.called = true
		s.claims, s.ok = httpapi.ClaimsFrom(r.Context())
		s.reqID = httpapi.RequestID(r.Context())
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusTeapot)
		io.WriteString(w, `{"ok":true}`)
	})
}

func TestHandlerClaims(t *testing.T) {
	tests := []struct {
		fixture    string
		change     func(*events.APIGatewayV2HTTPRequest)
		wantClaims bool
		wantSub    string
	}{
		{fixture: "create-application", wantClaims: true, wantSub: "auth0|65a1f0c2d4e5f60718293a4b"},
		{fixture: "no-claims", wantClaims: false},
		{fixture: "landing-get", wantClaims: false},
		{fixture: "list", wantClaims: false, change: func(ev *events.APIGatewayV2HTTPRequest) {
			delete(ev.RequestContext.Authorizer.JWT.Claims, "sub") // a claim set without a subject is no caller
		}},
		{fixture: "list", wantClaims: false, change: func(ev *events.APIGatewayV2HTTPRequest) {
			ev.RequestContext.Authorizer = &events.APIGatewayV2HTTPRequestContextAuthorizerDescription{
				Lambda: map[string]any{"sub": "auth0|intruder"}, // only the JWT authorizer is trusted
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.fixture, func(t *testing.T) {
			ev := fixture(t, tt.fixture)
			if tt.change != nil {
				tt.change(&ev)
			}
			var s seen
			res, err := Handler(recorder(&s), Options{})(context.Background(), ev)
			if err != nil {
				t.Fatalf("handler: %v", err)
			}
			if !s.called || res.StatusCode != http.StatusTeapot {
				t.Fatalf("got status %d (called %v), want the handler's 418", res.StatusCode, s.called)
			}
			if s.ok != tt.wantClaims || s.claims.Sub != tt.wantSub {
				t.Errorf("claims: got %+v (present %v), want sub %q (present %v)", s.claims, s.ok, tt.wantSub, tt.wantClaims)
			}
			if s.reqID != ev.RequestContext.RequestID {
				t.Errorf("request id: got %q, want %q", s.reqID, ev.RequestContext.RequestID)
			}
		})
	}
}

func TestHandlerReadsAPIGatewayPermissions(t *testing.T) {
	var s seen
	if _, err := Handler(recorder(&s), Options{})(context.Background(), fixture(t, "get")); err != nil {
		t.Fatal(err)
	}
	want := []string{"admin:invitations", "create:invitations", "delete:invitations", "read:invitations", "update:invitations"}
	if !slices.Equal(s.claims.Permissions, want) {
		t.Errorf("permissions: got %q, want %q", s.claims.Permissions, want)
	}
}

// TestHandlerReadsMachineTokens: a client-credentials token reaches the handlers with
// its grant type, which is what makes its scope count (httpapi.Claims).
func TestHandlerReadsMachineTokens(t *testing.T) {
	var s seen
	if _, err := Handler(recorder(&s), Options{})(context.Background(), fixture(t, "list-machine")); err != nil {
		t.Fatal(err)
	}
	want := httpapi.Claims{Sub: "M2m0Client0Id0Example0000000000@clients", Scope: "create:invitations read:invitations", Gty: "client-credentials"}
	if !reflect.DeepEqual(s.claims, want) {
		t.Errorf("claims: got %+v, want %+v", s.claims, want)
	}
}

func TestHandlerMalformedEvent(t *testing.T) {
	var s seen
	ev := fixture(t, "malformed")
	res, err := Handler(recorder(&s), Options{})(context.Background(), ev)
	if err != nil {
		t.Fatalf("handler: %v", err)
	}
	if s.called {
		t.Error("the handler was called for a malformed event")
	}
	var p struct {
		Code      string `json:"code"`
		Status    int    `json:"status"`
		RequestID string `json:"request_id"`
	}
	if err := json.Unmarshal([]byte(res.Body), &p); err != nil {
		t.Fatalf("body %q: %v", res.Body, err)
	}
	if res.StatusCode != 400 || p.Status != 400 || p.Code != "invalid_request" || p.RequestID != ev.RequestContext.RequestID ||
		res.Headers["Content-Type"] != "application/problem+json" {
		t.Errorf("got %d %v %+v, want a 400 problem+json with code invalid_request and the request id", res.StatusCode, res.Headers, p)
	}
	// The same writer as every other problem: same shape, same headers.
	want := httptest.NewRecorder()
	httpapi.WriteProblem(httpapi.WithRequestID(context.Background(), ev.RequestContext.RequestID), want,
		invite.Errorf(invite.CodeInvalid, "the request could not be read"))
	if res.Body != want.Body.String() {
		t.Errorf("body: got %s, want httpapi's problem %s", res.Body, want.Body)
	}
	for _, k := range []string{"Cache-Control", "X-Content-Type-Options"} {
		if got := res.Headers[k]; got != want.Header().Get(k) {
			t.Errorf("%s: got %q, want %q", k, got, want.Header().Get(k))
		}
	}
}

// TestInvokeRawBytes runs the handler on bytes as the Lambda runtime does: a payload
// that is not JSON is an invocation error, not a crash.
func TestInvokeRawBytes(t *testing.T) {
	var s seen
	h := lambda.NewHandler(Handler(recorder(&s), Options{}))
	out, err := h.Invoke(context.Background(), readFixture(t, "openapi"))
	if err != nil {
		t.Fatalf("Invoke(openapi): %v", err)
	}
	var res events.APIGatewayV2HTTPResponse
	if err := json.Unmarshal(out, &res); err != nil || res.StatusCode != http.StatusTeapot {
		t.Errorf("Invoke(openapi): got %s (%v), want the handler's 418", out, err)
	}
	for _, payload := range [][]byte{readFixture(t, "malformed-json"), []byte(`[1,2]`), []byte(`"x"`)} {
		if out, err := h.Invoke(context.Background(), payload); err == nil {
			t.Errorf("Invoke(%.20q): got %s, want an error", payload, out)
		}
	}
}

func TestResponse(t *testing.T) {
	png := []byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")
	tests := []struct {
		name    string
		handler http.HandlerFunc
		want    events.APIGatewayV2HTTPResponse
	}{
		{"json with repeated headers and cookies", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/problem+json")
			w.Header().Add("Vary", "Origin")
			w.Header().Add("Vary", "Accept")
			w.Header().Add("Set-Cookie", "a=1; Path=/; Secure")
			w.Header().Add("Set-Cookie", "b=2; HttpOnly")
			w.WriteHeader(http.StatusConflict)
			io.WriteString(w, `{"code":"conflict"}`)
		}, events.APIGatewayV2HTTPResponse{StatusCode: 409,
			Headers: map[string]string{"Content-Type": "application/problem+json", "Vary": "Origin,Accept"},
			Cookies: []string{"a=1; Path=/; Secure", "b=2; HttpOnly"}, Body: `{"code":"conflict"}`}},
		{"html page", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			io.WriteString(w, "<p>Bienvenue, Zoë</p>")
		}, events.APIGatewayV2HTTPResponse{StatusCode: 200,
			Headers: map[string]string{"Content-Type": "text/html; charset=utf-8"}, Body: "<p>Bienvenue, Zoë</p>"}},
		{"binary is base64", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "image/png")
			w.Write(png)
		}, events.APIGatewayV2HTTPResponse{StatusCode: 200,
			Headers: map[string]string{"Content-Type": "image/png"}, Body: base64.StdEncoding.EncodeToString(png), IsBase64Encoded: true}},
		{"invalid UTF-8 text is base64", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/plain")
			w.Write([]byte{0xff, 0xfe})
		}, events.APIGatewayV2HTTPResponse{StatusCode: 200,
			Headers: map[string]string{"Content-Type": "text/plain"}, Body: "//4=", IsBase64Encoded: true}},
		{"redirect without body", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Location", "https://acme.eu.auth0.com/u/reset-password?ticket=x")
			w.WriteHeader(http.StatusSeeOther)
		}, events.APIGatewayV2HTTPResponse{StatusCode: 303,
			Headers: map[string]string{"Location": "https://acme.eu.auth0.com/u/reset-password?ticket=x"}}},
		{"nothing written", func(w http.ResponseWriter, r *http.Request) {},
			events.APIGatewayV2HTTPResponse{StatusCode: 200, Headers: map[string]string{}}},
		{"no content type is sniffed", func(w http.ResponseWriter, r *http.Request) {
			io.WriteString(w, "plain words")
		}, events.APIGatewayV2HTTPResponse{StatusCode: 200,
			Headers: map[string]string{"Content-Type": "text/plain; charset=utf-8"}, Body: "plain words"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Handler(tt.handler, Options{})(context.Background(), fixture(t, "get"))
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got  %+v\nwant %+v", got, tt.want)
			}
		})
	}
}
