package invite

import (
	"errors"
	"fmt"
	"time"
)

// Code is a stable, client-visible error class. The HTTP layer maps each code to a
// status in one table; nothing else in Doorman knows about status codes.
type Code string

// The error codes of the API contract.
const (
	CodeInvalid     Code = "invalid_request"
	CodeUnauth      Code = "unauthorized"
	CodeForbidden   Code = "forbidden"
	CodeNotFound    Code = "not_found"
	CodeConflict    Code = "conflict"
	CodeGone        Code = "gone"
	CodeRateLimited Code = "rate_limited"
	CodeUpstream    Code = "upstream_unavailable"
	CodeInternal    Code = "internal"
)

// Error is Doorman's one error type. Message is safe to show to the caller; Err is the
// cause, kept for logs and errors.Is, and never shown.
type Error struct {
	Code    Code
	Message string
	// Field names the offending request field of an invalid_request.
	Field string
	// ExistingID is the pending invitation a conflict collided with, when known.
	ExistingID string
	// RetryAfter is how long a rate_limited caller should wait, when known.
	RetryAfter time.Duration
	// Items are the per-item problems of a refused batch, in item order.
	Items []ItemProblem
	Err   error
}

// ItemProblem is what is wrong with one item of a batch (Index counts from 0), or how
// one item ended: the client-safe parts of an *Error.
type ItemProblem struct {
	Index      int
	Code       Code
	Message    string
	Field      string
	ExistingID string
}

func (e *Error) Error() string {
	msg := string(e.Code)
	if e.Message != "" {
		msg += ": " + e.Message
	}
	if e.Err != nil {
		msg += ": " + e.Err.Error()
	}
	return msg
}

func (e *Error) Unwrap() error { return e.Err }

// Errorf builds an Error with a formatted, client-safe message.
func Errorf(code Code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// Invalid reports a bad value of one request field.
func Invalid(field, format string, args ...any) *Error {
	return &Error{Code: CodeInvalid, Field: field, Message: fmt.Sprintf(format, args...)}
}

// Wrap attaches a code and a client-safe message to a cause.
func Wrap(code Code, err error, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...), Err: err}
}

// ErrorCode returns the code of the first *Error in err's chain, CodeInternal for any
// other non-nil error, and "" for nil.
func ErrorCode(err error) Code {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return CodeInternal
}

// AsError returns the first *Error in err's chain, or nil.
func AsError(err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	return nil
}

// IsCode reports whether err carries the given code.
func IsCode(err error, code Code) bool { return ErrorCode(err) == code }

// Transient reports whether err may pass if the same work is tried again later: Auth0,
// SES or DynamoDB unavailable or rate limiting, or a failure Doorman does not know
// (anything that is not an *Error). Refusals (invalid_request, conflict, not_found,
// forbidden, gone) are final.
func Transient(err error) bool {
	if err == nil {
		return false
	}
	switch ErrorCode(err) {
	case CodeUpstream, CodeRateLimited, CodeInternal:
		return true
	}
	return false
}
