// Package apigw runs a net/http handler behind API Gateway HTTP APIs (payload format
// 2.0): it turns each event into an http.Request, with the caller's claims taken only
// from the JWT authorizer's context, runs the handler into a buffer, and turns what
// it wrote back into the response event. It is the only Lambda-specific part of
// Doorman's HTTP surface; httpapi knows nothing of Lambda.
package apigw

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"log/slog"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/aws/aws-lambda-go/events"

	"github.com/doormanhq/doorman/shared/httpapi"
	"github.com/doormanhq/doorman/shared/invite"
)

// Options configure Handler.
type Options struct {
	// Logger receives a warning for events that cannot become a request and for
	// authorizer claims that cannot be read; default: discard.
	Logger *slog.Logger
}

// Handler returns the Lambda handler that serves h. A request whose event carries no
// usable JWT authorizer claims reaches h without claims, whatever headers it sends, so
// the /v1 routes answer it 401. An event that cannot become a request is answered 400
// with a problem body; h is not called.
func Handler(h http.Handler, opts Options) func(context.Context, events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	} else {
		log = slog.New(invite.LogHandler(log.Handler()))
	}
	return func(ctx context.Context, ev events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
		ctx = httpapi.WithRequestID(ctx, ev.RequestContext.RequestID)
		if claims, ok := claimsOf(ctx, ev, log); ok {
			ctx = httpapi.WithClaims(ctx, claims)
		}
		req, err := NewRequest(ctx, ev)
		if err != nil {
			log.WarnContext(ctx, "malformed API Gateway event", "err", err)
			return badEvent(ctx), nil
		}
		w := newResponseWriter()
		h.ServeHTTP(w, req)
		return w.response(), nil
	}
}

// claimsOf reads the JWT authorizer's claims. API Gateway has checked the token;
// claims that do not parse are treated as none (and logged), never as a partial caller.
func claimsOf(ctx context.Context, ev events.APIGatewayV2HTTPRequest, log *slog.Logger) (httpapi.Claims, bool) {
	a := ev.RequestContext.Authorizer
	if a == nil || a.JWT == nil || len(a.JWT.Claims) == 0 {
		return httpapi.Claims{}, false
	}
	m := make(map[string]any, len(a.JWT.Claims))
	for k, v := range a.JWT.Claims {
		m[k] = v
	}
	c, err := httpapi.ClaimsFromMap(m)
	if err != nil {
		log.WarnContext(ctx, "unusable authorizer claims", "err", err)
		return httpapi.Claims{}, false
	}
	return c, true
}

// NewRequest builds the http.Request an event describes: method, raw path and query,
// headers (API Gateway has already joined repeated ones with commas), cookies, body
// (decoded from base64 when flagged), the source IP as RemoteAddr, and the platform's
// request id as X-Request-Id, replacing any the client sent.
func NewRequest(ctx context.Context, ev events.APIGatewayV2HTTPRequest) (*http.Request, error) {
	method := ev.RequestContext.HTTP.Method
	if method == "" || strings.ContainsAny(method, " \t\r\n/") {
		return nil, fmt.Errorf("apigw: bad method %q", method)
	}
	raw := stripStage(ev.RawPath, ev.RequestContext.Stage)
	if raw == "" || raw[0] != '/' {
		return nil, fmt.Errorf("apigw: rawPath %q is not an absolute path", ev.RawPath)
	}
	u := &url.URL{Path: raw, RawQuery: ev.RawQueryString}
	if p, err := url.PathUnescape(raw); err == nil {
		u.Path, u.RawPath = p, raw
		if u.EscapedPath() != raw {
			u.RawPath = ""
		}
	}
	var body []byte
	if ev.IsBase64Encoded {
		b, err := base64.StdEncoding.DecodeString(ev.Body)
		if err != nil {
			return nil, fmt.Errorf("apigw: body is flagged base64 but does not decode: %w", err)
		}
		body = b
	} else {
		body = []byte(ev.Body)
	}
	req, err := http.NewRequestWithContext(ctx, method, "/", bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("apigw: new request: %w", err)
	}
	req.URL = u
	req.RequestURI = u.RequestURI()
	req.ContentLength = int64(len(body))
	if len(body) == 0 {
		req.Body = http.NoBody
	}
	if proto := ev.RequestContext.HTTP.Protocol; proto != "" {
		if major, minor, ok := http.ParseHTTPVersion(proto); ok {
			req.Proto, req.ProtoMajor, req.ProtoMinor = proto, major, minor
		}
	}
	for k, v := range ev.Headers {
		if !validHeaderName(k) {
			return nil, fmt.Errorf("apigw: bad header name %q", k)
		}
		req.Header.Set(k, v)
	}
	req.Header.Del("Content-Length")
	if len(ev.Cookies) > 0 {
		req.Header.Set("Cookie", strings.Join(ev.Cookies, "; "))
	}
	req.Header.Del("X-Request-Id")
	if id := ev.RequestContext.RequestID; id != "" {
		req.Header.Set("X-Request-Id", id)
	}
	req.Host = req.Header.Get("Host")
	if req.Host == "" {
		req.Host = ev.RequestContext.DomainName
	}
	req.Header.Del("Host")
	if ip := ev.RequestContext.HTTP.SourceIP; ip != "" {
		req.RemoteAddr = ip + ":0"
	}
	return req, nil
}

// stripStage removes a named stage's prefix, which API Gateway keeps in rawPath; the
// $default stage adds none.
func stripStage(path, stage string) string {
	if stage == "" || stage == "$default" {
		return path
	}
	prefix := "/" + stage
	if path == prefix {
		return "/"
	}
	if strings.HasPrefix(path, prefix+"/") {
		return path[len(prefix):]
	}
	return path
}

func validHeaderName(k string) bool {
	if k == "" {
		return false
	}
	for i := 0; i < len(k); i++ {
		c := k[i]
		if c <= ' ' || c >= 0x7f || strings.IndexByte(`"(),/:;<=>?@[\]{}`, c) >= 0 {
			return false
		}
	}
	return true
}

// badEvent is the answer to an event that is not a usable request: a problem from
// httpapi's writer, as any other refused request gets.
func badEvent(ctx context.Context) events.APIGatewayV2HTTPResponse {
	w := newResponseWriter()
	httpapi.WriteProblem(ctx, w, invite.Errorf(invite.CodeInvalid, "the request could not be read"))
	return w.response()
}

// responseWriter buffers what the handler writes.
type responseWriter struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func newResponseWriter() *responseWriter { return &responseWriter{header: http.Header{}} }

func (w *responseWriter) Header() http.Header { return w.header }

func (w *responseWriter) WriteHeader(status int) {
	if w.status == 0 {
		w.status = status
	}
}

func (w *responseWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.body.Write(b)
}

// response converts the buffered answer: repeated headers comma-joined, Set-Cookie
// into Cookies, and the body base64-encoded unless it is UTF-8 text.
func (w *responseWriter) response() events.APIGatewayV2HTTPResponse {
	status := w.status
	if status == 0 {
		status = http.StatusOK
	}
	body := w.body.Bytes()
	if len(body) > 0 && w.header.Get("Content-Type") == "" {
		// As net/http does for a handler that sets none.
		w.header.Set("Content-Type", http.DetectContentType(body))
	}
	res := events.APIGatewayV2HTTPResponse{StatusCode: status, Headers: make(map[string]string, len(w.header))}
	keys := make([]string, 0, len(w.header))
	for k := range w.header {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		v := w.header[k]
		if len(v) == 0 {
			continue
		}
		if k == "Set-Cookie" {
			res.Cookies = append(res.Cookies, v...)
			continue
		}
		res.Headers[k] = strings.Join(v, ",")
	}
	if isText(w.header.Get("Content-Type")) && utf8.Valid(body) {
		res.Body = string(body)
	} else if len(body) > 0 {
		res.Body = base64.StdEncoding.EncodeToString(body)
		res.IsBase64Encoded = true
	}
	return res
}

// isText reports whether a content type is sent as a plain string.
func isText(contentType string) bool {
	mt, _, err := mime.ParseMediaType(contentType)
	if err != nil {
		return false
	}
	switch {
	case strings.HasPrefix(mt, "text/"),
		mt == "application/json", strings.HasSuffix(mt, "+json"),
		mt == "application/xml", strings.HasSuffix(mt, "+xml"),
		mt == "application/javascript", mt == "application/x-www-form-urlencoded",
		mt == "application/yaml":
		return true
	}
	return false
}
