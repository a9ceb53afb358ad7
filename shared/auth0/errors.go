package auth0

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/oauth2"

	"github.com/doormanhq/doorman/shared/invite"
	"github.com/doormanhq/doorman/shared/mailbox"
)

// fail maps an error of a Management API call to an invite.Error, logging what an
// operator must fix (a missing scope, refused credentials). attrs name the objects
// involved (ids only, never an email or a token).
func (id *Identity) fail(ctx context.Context, op string, err error, attrs ...any) error {
	err = withoutQuery(err)
	cause := fmt.Errorf("auth0: %s: %w", op, err)
	log := id.log.With(append([]any{"op", op}, attrs...)...)

	if errors.Is(err, invite.ErrPaused) {
		return &invite.Error{Code: invite.CodeRateLimited, Message: invite.ErrPaused.Message, Err: cause}
	}
	if info, _ := ctx.Value(callKey{}).(*callInfo); info != nil {
		if wait, ok := info.gaveUp(); ok {
			log.WarnContext(ctx, "auth0: rate limited past the call's deadline", "retry_after_ms", wait.Milliseconds())
			return &invite.Error{Code: invite.CodeRateLimited, Message: "Auth0 is rate limiting Doorman", RetryAfter: wait, Err: cause}
		}
	}
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		log.WarnContext(ctx, "auth0: call did not finish in time", "err", err)
		return invite.Wrap(invite.CodeUpstream, cause, "Auth0 did not answer in time")
	}
	var rerr *oauth2.RetrieveError
	if errors.As(err, &rerr) {
		code := 0
		if rerr.Response != nil {
			code = rerr.Response.StatusCode
		}
		log.ErrorContext(ctx, "auth0: the token endpoint refused Doorman's client credentials; check AUTH0_CLIENT_ID, AUTH0_CLIENT_SECRET and the client's grant for the Management API",
			"status", code, "auth0_error", rerr.ErrorCode)
		if code == http.StatusTooManyRequests {
			return &invite.Error{Code: invite.CodeRateLimited, Message: "Auth0 is rate limiting Doorman", Err: cause}
		}
		return invite.Wrap(invite.CodeUpstream, cause, "Auth0 refused Doorman's credentials")
	}
	var me interface{ Status() int }
	if !errors.As(err, &me) {
		log.WarnContext(ctx, "auth0: call failed", "err", err)
		return invite.Wrap(invite.CodeUpstream, cause, "Auth0 is unreachable")
	}
	// Auth0 quotes the values it refuses, an invitee's address among them: its text
	// goes into the cause, the logs and the client's message only with addresses
	// blanked out.
	msg := redactAddresses(auth0Message(err))
	ref := &refusal{status: me.Status(), msg: msg, err: err}
	if info, _ := ctx.Value(callKey{}).(*callInfo); info != nil {
		ref.code = info.errorCode()
	}
	cause = fmt.Errorf("auth0: %s: %w", op, ref)
	switch s := me.Status(); {
	case s == http.StatusBadRequest:
		return invite.Wrap(invite.CodeInvalid, cause, "Auth0 rejected the request: %s", msg)
	case s == http.StatusUnauthorized || s == http.StatusForbidden:
		log.ErrorContext(ctx, "auth0: the Management API refused Doorman's token; grant the client the missing scope",
			"status", s, "missing_scope", missingScope(msg), "auth0_message", msg)
		return invite.Wrap(invite.CodeUpstream, cause, "Doorman is not allowed to do this in Auth0")
	case s == http.StatusNotFound:
		return invite.Wrap(invite.CodeNotFound, cause, "%s", msg)
	case s == http.StatusConflict:
		return invite.Wrap(invite.CodeConflict, cause, "%s", msg)
	case s == http.StatusTooManyRequests:
		wait := id.retryAfter(ctx)
		log.WarnContext(ctx, "auth0: rate limited after retries", "retry_after_ms", wait.Milliseconds())
		return &invite.Error{Code: invite.CodeRateLimited, Message: "Auth0 is rate limiting Doorman", RetryAfter: wait, Err: cause}
	case s >= 500:
		log.WarnContext(ctx, "auth0: server error", "status", s, "auth0_message", msg)
		return invite.Wrap(invite.CodeUpstream, cause, "Auth0 is unavailable")
	default:
		return invite.Wrap(invite.CodeInvalid, cause, "Auth0 rejected the request: %s", msg)
	}
}

// refusal is a Management API answer as an error. Its text names the status,
// Auth0's error code and Auth0's message with addresses blanked out; go-auth0's
// error, whose text is Auth0's message as it came, stays in the chain only for
// errors.As.
type refusal struct {
	status int
	code   string // Auth0's errorCode; "" when the body named none
	msg    string // redacted
	err    error
}

func (r *refusal) Error() string {
	s := "Auth0 answered " + strconv.Itoa(r.status)
	if r.code != "" {
		s += " " + r.code
	}
	if r.msg != "" {
		s += ": " + r.msg
	}
	return s
}

func (r *refusal) Unwrap() error { return r.err }

// redactAddresses blanks out every address-like word of s.
func redactAddresses(s string) string { return mailbox.Redact(s) }

// withoutQuery drops the query from a transport error's URL: users-by-email carries
// the address there, and errors end up in logs.
func withoutQuery(err error) error {
	var ue *url.Error
	if !errors.As(err, &ue) {
		return err
	}
	u := ue.URL
	if parsed, perr := url.Parse(ue.URL); perr == nil {
		parsed.RawQuery = ""
		u = parsed.String()
	} else {
		u, _, _ = strings.Cut(u, "?")
	}
	return fmt.Errorf("%s %s: %w", ue.Op, u, ue.Err)
}

// missingScope reads the scopes out of Auth0's 403 message, "Insufficient scope,
// expected any of: create:users".
func missingScope(msg string) string {
	_, scopes, ok := strings.Cut(msg, "expected any of:")
	if !ok {
		return ""
	}
	return strings.TrimSuffix(strings.TrimSpace(scopes), ".")
}

// retryAfter is how long Auth0 asked to wait in its last answer.
func (id *Identity) retryAfter(ctx context.Context) time.Duration {
	info, _ := ctx.Value(callKey{}).(*callInfo)
	if info == nil {
		return 0
	}
	return waitIn(info.header(), id.now())
}

// waitIn reads how long a 429 asks to wait: Retry-After, or else X-RateLimit-Reset (a
// unix time); 0 when h says neither.
func waitIn(h http.Header, now time.Time) time.Duration {
	if h == nil {
		return 0
	}
	if v := h.Get("Retry-After"); v != "" {
		if secs, err := strconv.Atoi(v); err == nil && secs >= 0 {
			return time.Duration(secs) * time.Second
		}
		if t, err := http.ParseTime(v); err == nil {
			return max(t.Sub(now), 0)
		}
	}
	if v := h.Get("X-RateLimit-Reset"); v != "" {
		if unix, err := strconv.ParseInt(v, 10, 64); err == nil {
			return max(time.Unix(unix, 0).Sub(now), 0)
		}
	}
	return 0
}

type callKey struct{}

// callInfo keeps the headers of an operation's last Management API response, and
// ends the operation early (stop) when the rate limit will not let it finish before
// its deadline.
type callInfo struct {
	mu        sync.Mutex
	last      http.Header
	lastCode  string // Auth0's errorCode in the last error answer's body
	stop      context.CancelFunc
	throttled time.Duration // the wait that outlasted the deadline; 0 when none
}

func (c *callInfo) header() http.Header {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.last
}

func (c *callInfo) errorCode() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.lastCode
}

// giveUp ends the operation as rate limited for wait: go-auth0 would otherwise wait
// out its retries' delays to the deadline and report only that.
func (c *callInfo) giveUp(wait time.Duration) {
	c.mu.Lock()
	c.throttled = max(c.throttled, wait)
	c.mu.Unlock()
	if c.stop != nil {
		c.stop()
	}
}

// gaveUp returns the wait that ended the operation, if the rate limit did.
func (c *callInfo) gaveUp() (time.Duration, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.throttled, c.throttled > 0
}

// observer sits under go-auth0's retries and token transport, so it sees every
// attempt's response, and records it in the operation's callInfo. A 429 asking to
// wait past the operation's deadline, or the limiter's refusal for the same reason,
// ends the operation as rate limited at once.
type observer struct {
	base http.RoundTripper
	now  func() time.Time
}

func (o observer) RoundTrip(req *http.Request) (*http.Response, error) {
	pause := invite.PauseOf(req.Context())
	if pause.Paused() {
		// The unit of work this call belongs to stopped asking Auth0 after a 429.
		if req.Body != nil {
			_ = req.Body.Close()
		}
		return nil, invite.ErrPaused
	}
	resp, err := o.base.RoundTrip(req)
	info, ok := req.Context().Value(callKey{}).(*callInfo)
	if !ok {
		return resp, err
	}
	var werr *WaitError
	if errors.As(err, &werr) {
		info.giveUp(werr.Wait)
	}
	if resp == nil {
		return resp, err
	}
	code := ""
	if resp.StatusCode >= 400 {
		code = peekErrorCode(resp)
	}
	info.mu.Lock()
	info.last, info.lastCode = resp.Header.Clone(), code
	info.mu.Unlock()
	if resp.StatusCode == http.StatusTooManyRequests {
		if pause != nil {
			// Under a Pause the first 429 ends the operation, and every later call of
			// its unit of work, at once: no retry waits.
			pause.Stop()
			info.giveUp(max(waitIn(resp.Header, o.now()), time.Millisecond))
			return resp, err
		}
		if deadline, ok := req.Context().Deadline(); ok {
			if wait := waitIn(resp.Header, o.now()); wait > time.Until(deadline) {
				info.giveUp(wait)
			}
		}
	}
	return resp, err
}

// maxErrorBody is how much of an error answer peekErrorCode reads; Auth0's are a few
// hundred bytes.
const maxErrorBody = 16 << 10

// peekErrorCode reads Auth0's errorCode ("invalid_body", "inexistent_user") from an
// error answer, which go-auth0 does not keep, and leaves the body to be read again.
// A code of anything but letters, digits, "_", "-", "." and ":" is dropped.
func peekErrorCode(resp *http.Response) string {
	head, err := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
	resp.Body = struct {
		io.Reader
		io.Closer
	}{io.MultiReader(bytes.NewReader(head), resp.Body), resp.Body}
	if err != nil {
		return ""
	}
	var body struct {
		ErrorCode string `json:"errorCode"`
	}
	if json.Unmarshal(head, &body) != nil || len(body.ErrorCode) > 64 {
		return ""
	}
	for _, c := range body.ErrorCode {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.ContainsRune("_-.:", c)) {
			return ""
		}
	}
	return body.ErrorCode
}
