package httpapi_test

import (
	"bufio"
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"
	"github.com/getkin/kin-openapi/openapi3filter"

	"github.com/doormanhq/doorman/shared/apigw"
	"github.com/doormanhq/doorman/shared/httpapi"
)

// The fuzz targets here feed the API what a hostile caller can choose: the create and
// batch bodies, and the invitee's /i/{token} path. Whatever comes in, the handler
// must not panic (its recovery would answer 500 and log "handler panicked"), with
// in-memory ports nothing may answer 5xx, and every answer must match the OpenAPI
// document; an error of the /v1 API is problem+json.

const apigwDir = "../../events/apigw"

// apigwEvent reads one sample event of events/apigw, with the placeholders for a
// role and an organization replaced by ones the fixture knows.
func apigwEvent(t testing.TB, name string) events.APIGatewayV2HTTPRequest {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(apigwDir, name))
	if err != nil {
		t.Fatal(err)
	}
	raw = []byte(strings.NewReplacer("rol_EXAMPLEmember000", "rol_viewer", "org_EXAMPLEacme00000", orgAcme).Replace(string(raw)))
	var ev events.APIGatewayV2HTTPRequest
	if err := json.Unmarshal(raw, &ev); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return ev
}

// eventBody is an event's body as the handler would read it (as it stands when it
// is flagged base64 but is not).
func eventBody(ev events.APIGatewayV2HTTPRequest) []byte {
	if b, err := base64.StdEncoding.DecodeString(ev.Body); err == nil && ev.IsBase64Encoded {
		return b
	}
	return []byte(ev.Body)
}

// apigwBodies are the bodies of the sample events that post to path, and the sample
// that is not JSON at all.
func apigwBodies(t testing.TB, path string) [][]byte {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(apigwDir, "*.json"))
	if err != nil || len(files) == 0 {
		t.Fatalf("events: %v (%d files)", err, len(files))
	}
	var out [][]byte
	for _, name := range files {
		raw, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		if !json.Valid(raw) {
			out = append(out, raw) // malformed-json.json: a truncated document
			continue
		}
		ev := apigwEvent(t, filepath.Base(name))
		if ev.RequestContext.HTTP.Method == http.MethodPost && strings.HasPrefix(ev.RawPath, path) || ev.RawPath == strings.TrimPrefix(path, "/") {
			out = append(out, eventBody(ev))
		}
	}
	return out
}

// contentTypes the targets pick from, by a fuzzed byte.
var contentTypes = []string{"application/json", "", "application/json; charset=utf-8", "text/plain", "application/problem+json", "multipart/form-data; boundary=x", "application/json; charset"}

// callers the targets pick from, by a fuzzed byte.
var callers = []httpapi.Claims{appAdmin, acmeAdmin, readOnly}

// postBody posts body to path as caller and checks the answer.
func postBody(t *testing.T, path string, body []byte, ct, caller uint8) {
	f := newFixture(t)
	req := httptest.NewRequest(http.MethodPost, path, strings.NewReader(string(body)))
	if c := contentTypes[int(ct)%len(contentTypes)]; c != "" {
		req.Header.Set("Content-Type", c)
	}
	req.Header.Set("Authorization", "Bearer test-token")
	req = req.WithContext(httpapi.WithClaims(req.Context(), callers[int(caller)%len(callers)]))
	rec := httptest.NewRecorder()
	f.handler.ServeHTTP(rec, req)
	res := response{Status: rec.Code, Header: rec.Header(), Body: rec.Body.Bytes()}
	checkAnswer(t, f, req, res)
	if res.Status < 300 {
		if _, ok := res.json(t)["id"].(string); !ok {
			t.Errorf("a %d answer without an id: %s", res.Status, res.Body)
		}
	}
}

// checkAnswer fails t when res shows a panic or a server error, breaks the OpenAPI
// document, or is an error of the /v1 API that is not problem+json.
func checkAnswer(t *testing.T, f *fixture, req *http.Request, res response) {
	t.Helper()
	if strings.Contains(f.logs.String(), "handler panicked") {
		t.Fatalf("the handler panicked: %s", f.logs.String())
	}
	if res.Status >= 500 {
		t.Fatalf("status %d with in-memory ports: %s", res.Status, res.Body)
	}
	if strings.HasPrefix(req.URL.Path, "/v1/") && (res.Status < 200 || res.Status >= 300) {
		wantProblemBody(t, res)
	}
	checkDocumented(t, req, res)
}

// wantProblemBody checks that res is a problem+json object that agrees with itself.
func wantProblemBody(t *testing.T, res response) {
	t.Helper()
	if ct := res.Header.Get("Content-Type"); ct != "application/problem+json" {
		t.Fatalf("status %d with Content-Type %q, want application/problem+json: %s", res.Status, ct, res.Body)
	}
	var p struct {
		Status    int    `json:"status"`
		Code      string `json:"code"`
		Title     string `json:"title"`
		RequestID string `json:"request_id"`
	}
	if err := json.Unmarshal(res.Body, &p); err != nil {
		t.Fatalf("problem body is not JSON: %v\n%s", err, res.Body)
	}
	if p.Status != res.Status || p.Code == "" || p.Title == "" || p.RequestID == "" || p.RequestID != res.Header.Get("X-Request-Id") {
		t.Fatalf("problem %+v does not describe the %d answer (X-Request-Id %q)", p, res.Status, res.Header.Get("X-Request-Id"))
	}
}

// checkDocumented validates res against the OpenAPI document, when the request's
// route is in it.
func checkDocumented(t *testing.T, req *http.Request, res response) {
	t.Helper()
	route, params, err := router(t).FindRoute(req)
	if err != nil {
		return // not a documented route: unrouted answers are checked by the caller
	}
	in := &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: route, Options: validationOptions()}
	out := &openapi3filter.ResponseValidationInput{RequestValidationInput: in, Status: res.Status, Header: res.Header, Options: validationOptions()}
	out.SetBodyBytes(res.Body)
	if err := openapi3filter.ValidateResponse(context.Background(), out); err != nil {
		t.Fatalf("%s %s → %d does not match the OpenAPI document: %v\n%s", req.Method, req.URL.Path, res.Status, err, res.Body)
	}
}

// FuzzCreateBody posts random bodies to POST /v1/invitations.
func FuzzCreateBody(f *testing.F) {
	for _, b := range apigwBodies(f, "/v1/invitations") {
		f.Add(b, uint8(0), uint8(0))
	}
	for _, b := range []string{
		createBody("ann@example.com"),
		createBody("ann@example.com", `"organization_id":"`+orgAcme+`"`),
		createBody("ann@example.com", `"send_email":false`, `"ttl_seconds":3600`, `"locale":"de-CH"`),
		createBody("ann@example.com", `"redirect_url":"https://app.example.com/welcome"`, `"on_conflict":"resend"`),
		createBody("ann@example.com", `"app_metadata":{"plan":"pro"}`, `"user_metadata":{"first":"Ann"}`, `"message":"Hi\nthere"`),
		createBody("ann@bücher.example", `"roles":[]`),
		createBody("ann@example.com", `"ttl_seconds":1e400`),
		createBody("ann@example.com", `"ttl_seconds":-1`),
		createBody("ann@example.com", `"unknown":1`),
		`{"email":"ann@example.com"}{}`,
		`[]`, `null`, `"x"`, `{`, ``,
		`{"email":"ann@example.com","roles":["rol_viewer","rol_viewer"]}`,
		`{"email":"ann@example.com","app_metadata":{"needsInvitation":false}}`,
	} {
		f.Add([]byte(b), uint8(0), uint8(0))
	}
	f.Add([]byte(createBody("ann@example.com")), uint8(3), uint8(0))
	f.Add([]byte(createBody("ann@example.com")), uint8(0), uint8(1))
	f.Add([]byte(createBody("ann@example.com")), uint8(0), uint8(2))
	f.Fuzz(func(t *testing.T, body []byte, ct, caller uint8) {
		postBody(t, "/v1/invitations", body, ct, caller)
	})
}

// FuzzBatchBody posts random bodies to POST /v1/invitation-batches.
func FuzzBatchBody(f *testing.F) {
	for _, b := range apigwBodies(f, "/v1/invitations") {
		f.Add([]byte(`{"invitations":[`+string(b)+`]}`), uint8(0), uint8(0))
	}
	for _, b := range []string{
		batchBody(createBody("a@example.com"), createBody("b@example.com", `"organization_id":"`+orgAcme+`"`)),
		batchBody(createBody("a@example.com"), createBody("A@EXAMPLE.COM")),
		batchBody(createBody("a@example.com", `"on_conflict":"resend"`), createBody("not-an-address")),
		batchBody(emails(3)...),
		batchBody(),
		`{"invitations":{}}`,
		`{"invitations":[null]}`,
		`{"invitations":[1,"x",[]]}`,
		`{"invitations":[` + createBody("a@example.com") + `],"dry_run":true}`,
		`{"invitations":[{"email":"a@example.com","roles":["rol_viewer"],"ttl_seconds":99999999999}]}`,
		``, `{`, `[]`,
	} {
		f.Add([]byte(b), uint8(0), uint8(0))
	}
	f.Add([]byte(batchBody(createBody("a@example.com"))), uint8(0), uint8(1))
	f.Add([]byte(batchBody(createBody("a@example.com"))), uint8(0), uint8(2))
	f.Fuzz(func(t *testing.T, body []byte, ct, caller uint8) {
		postBody(t, "/v1/invitation-batches", body, ct, caller)
	})
}

// FuzzInviteePath requests /i/<token> with random tokens, GET and POST, both as API
// Gateway delivers them (the rawPath of events/apigw's landing samples, through
// apigw) and as a browser's request line reaches `make dev`. The fixture holds one
// pending invitation, whose token is a seed. Beyond the common checks: an answer is
// the invitee's page (HTML with its protective headers), a redirect to https after
// a POST, or problem+json; and the token is never logged.
func FuzzInviteePath(f *testing.F) {
	seedFix := newFixture(f)
	live := token(f, seedFix.create(appAdmin, createBody("ann@example.com", `"send_email":false`)))
	for _, name := range []string{"landing-get.json", "landing-post.json"} {
		ev := apigwEvent(f, name)
		f.Add(strings.TrimPrefix(ev.RawPath, "/i/"), ev.RequestContext.HTTP.Method == http.MethodPost)
	}
	for _, tok := range []string{live, live + "x", live[:len(live)-1], strings.ToUpper(live), live + "/", live + "%2F..", "",
		"a/b", "%2e%2e", "..", "%zz", "%00", "a%20b", "ünïcode", strings.Repeat("A", 4096), "q?x=1", "#frag", "//"} {
		f.Add(tok, false)
		f.Add(tok, true)
	}
	landing := map[bool]events.APIGatewayV2HTTPRequest{false: apigwEvent(f, "landing-get.json"), true: apigwEvent(f, "landing-post.json")}
	f.Fuzz(func(t *testing.T, tok string, post bool) {
		fx := newFixture(t)
		if got := token(t, fx.create(appAdmin, createBody("ann@example.com", `"send_email":false`))); got != live {
			t.Fatalf("the fixture's token changed: %q, want %q", got, live)
		}

		// Through API Gateway.
		ev := landing[post]
		ev.RawPath = "/i/" + tok
		ev.RequestContext.HTTP.Path = ev.RawPath
		ev.PathParameters = map[string]string{"token": tok}
		out, err := apigw.Handler(fx.handler, apigw.Options{})(context.Background(), ev)
		if err != nil {
			t.Fatalf("apigw: %v", err)
		}
		res := response{Status: out.StatusCode, Header: http.Header{}, Body: []byte(out.Body)}
		for k, v := range out.Headers {
			res.Header.Set(k, v)
		}
		if req, err := apigw.NewRequest(context.Background(), ev); err == nil {
			checkPage(t, fx, req, res, tok)
		} else if res.Status != http.StatusBadRequest {
			t.Fatalf("an event that is not a request: got %d, want 400", res.Status)
		} else {
			wantProblemBody(t, res)
		}

		// As a request line.
		method := http.MethodGet
		if post {
			method = http.MethodPost
		}
		req, err := http.ReadRequest(bufio.NewReader(strings.NewReader(method + " /i/" + tok + " HTTP/1.1\r\nHost: doorman.example.com\r\nContent-Length: 0\r\n\r\n")))
		if err != nil {
			return // net/http refuses the request line before any handler
		}
		rec := httptest.NewRecorder()
		fx.handler.ServeHTTP(rec, req)
		checkPage(t, fx, req, response{Status: rec.Code, Header: rec.Header(), Body: rec.Body.Bytes()}, tok)
	})
}

// checkPage checks an answer to an /i request.
func checkPage(t *testing.T, f *fixture, req *http.Request, res response, tok string) {
	t.Helper()
	checkAnswer(t, f, req, res)
	if len(tok) >= 8 && strings.Contains(f.logs.String(), tok) {
		t.Fatalf("the token was logged: %s", f.logs.String())
	}
	switch ct := res.Header.Get("Content-Type"); {
	case res.Status == http.StatusSeeOther:
		if req.Method != http.MethodPost || !strings.HasPrefix(res.Header.Get("Location"), "https://") {
			t.Fatalf("%s answered 303 to %q", req.Method, res.Header.Get("Location"))
		}
	case ct == "application/problem+json":
		wantProblemBody(t, res)
	case strings.HasPrefix(ct, "text/html"):
		h := res.Header
		if h.Get("Cache-Control") != "no-store" || h.Get("Referrer-Policy") != "no-referrer" || !strings.HasPrefix(h.Get("Content-Security-Policy"), "default-src 'none'") {
			t.Fatalf("a page without its protective headers: %v", h)
		}
	default:
		t.Fatalf("status %d with Content-Type %q: %s", res.Status, ct, strconv.Quote(string(res.Body)))
	}
}

// TestUncleanPathsStayInDoormansFormats: FuzzInviteePath found that a path with "//",
// "." or ".." segments got the mux's redirect to its clean form, neither problem+json
// nor the invitee's page (and past authentication: no 401 for /v1). Doorman answers
// such a path as one it does not serve.
func TestUncleanPathsStayInDoormansFormats(t *testing.T) {
	cases := []struct {
		method, path string
		status       int
		ct           string
	}{
		{"GET", "/v1//invitations", http.StatusNotFound, "application/problem+json"},
		{"POST", "/v1/./invitations", http.StatusNotFound, "application/problem+json"},
		{"GET", "/v1/invitations/../openapi.json", http.StatusNotFound, "application/problem+json"},
		{"GET", "/i//q7Zr2mXw0bV9nL4kJ8hG6fD3sA1pO5iU7yT2rE9wQ0c", http.StatusNotFound, "text/html; charset=utf-8"},
		{"POST", "/i/./q7Zr2mXw0bV9nL4kJ8hG6fD3sA1pO5iU7yT2rE9wQ0c", http.StatusNotFound, "text/html; charset=utf-8"},
		{"GET", "/i/../v1/openapi.json", http.StatusNotFound, "text/html; charset=utf-8"},
		// Clean paths are served as before.
		{"GET", "/v1/openapi.json", http.StatusOK, "application/json"},
		{"GET", "/v1/invitations", http.StatusUnauthorized, "application/problem+json"},
	}
	for _, tc := range cases {
		t.Run(tc.method+" "+tc.path, func(t *testing.T) {
			f := newFixture(t)
			req := httptest.NewRequest(tc.method, "/", nil)
			req.URL.Path = tc.path
			rec := httptest.NewRecorder()
			f.handler.ServeHTTP(rec, req)
			if rec.Code != tc.status || !strings.HasPrefix(rec.Header().Get("Content-Type"), tc.ct) || rec.Header().Get("Location") != "" {
				t.Errorf("got %d %q Location %q, want %d %q without a redirect", rec.Code, rec.Header().Get("Content-Type"), rec.Header().Get("Location"), tc.status, tc.ct)
			}
		})
	}
}
