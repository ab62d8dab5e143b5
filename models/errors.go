package models

import (
	"errors"
	"fmt"
)

// ErrorCode is the kind of a domain error. The HTTP layer maps each code to a
// status in exactly one table; users see the code and the message, never a
// stack trace or SQL.
type ErrorCode string

// Error codes.
const (
	EINVALID       ErrorCode = "invalid"       // the input is malformed or breaks a rule
	ENOTFOUND      ErrorCode = "not_found"     // the thing does not exist or is not visible
	ECONFLICT      ErrorCode = "conflict"      // the state does not allow the change
	EUNAUTHORIZED  ErrorCode = "unauthorized"  // no valid credentials
	EFORBIDDEN     ErrorCode = "forbidden"     // credentials valid, action not allowed
	EGONE          ErrorCode = "gone"          // expired, used or unknown link
	ETOOLARGE      ErrorCode = "too_large"     // body or file over its limit
	EUNSUPPORTED   ErrorCode = "unsupported"   // media type not accepted
	ERATELIMIT     ErrorCode = "rate_limited"  // too many attempts
	EUNAVAILABLE   ErrorCode = "unavailable"   // a dependency is down; retry later
	EINTERNAL      ErrorCode = "internal"      // a bug or an unexpected failure
	EPRECONDITION  ErrorCode = "precondition"  // requirements not met (lists what is missing)
	EUNPROCESSABLE ErrorCode = "unprocessable" // well-formed but cannot be processed (e.g. idempotency key reused with another body)
)

// ErrorCodes lists every code, for the tables keyed by code (HTTP status,
// the pages' messages) and the tests that keep them complete.
func ErrorCodes() []ErrorCode {
	return []ErrorCode{EINVALID, ENOTFOUND, ECONFLICT, EUNAUTHORIZED, EFORBIDDEN, EGONE, ETOOLARGE, EUNSUPPORTED,
		ERATELIMIT, EUNAVAILABLE, EINTERNAL, EPRECONDITION, EUNPROCESSABLE}
}

// Error is a domain error with a kind, a message for people, and optional
// details (for example the list of missing requirements).
type Error struct {
	Code    ErrorCode
	Message string
	Details []string
}

func (e *Error) Error() string {
	if len(e.Details) > 0 {
		return fmt.Sprintf("%s: %s %v", e.Code, e.Message, e.Details)
	}
	return fmt.Sprintf("%s: %s", e.Code, e.Message)
}

// Errorf returns an *Error of the given kind with a formatted message.
func Errorf(code ErrorCode, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// ErrorCodeOf returns the kind of the first *Error in err's chain, or
// EINTERNAL when there is none (and "" for a nil error).
func ErrorCodeOf(err error) ErrorCode {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return EINTERNAL
}

// ErrorMessageOf returns the human message of the first *Error in err's
// chain, or a generic text for internal errors.
func ErrorMessageOf(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Message
	}
	return "internal error"
}

// ErrorDetailsOf returns the details of the first *Error in err's chain.
func ErrorDetailsOf(err error) []string {
	var e *Error
	if errors.As(err, &e) {
		return e.Details
	}
	return nil
}
