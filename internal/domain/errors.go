package domain

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// Error codes shared by every edge; the API maps them to HTTP statuses once.
const (
	EInvalid      = "invalid"
	ENotFound     = "not_found"
	EConflict     = "conflict"
	EUnauthorized = "unauthorized"
	EForbidden    = "forbidden"
	EUnavailable  = "unavailable"
	EInternal     = "internal"
)

// Error is an application error with a code and a message safe to show to a client.
type Error struct {
	Code    string
	Message string
}

func (e *Error) Error() string { return e.Code + ": " + e.Message }

// Errorf builds an *Error.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// ErrorCode returns the code of an *Error in err's chain, or EInternal.
func ErrorCode(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return EInternal
}

// ProviderErrorKind classifies a failure of an external provider once, so
// that activities decide retries the same way for every provider.
type ProviderErrorKind string

// Provider error classes.
const (
	// RateLimited: the provider asked us to slow down; retry after RetryAfter.
	RateLimited ProviderErrorKind = "rate_limited"
	// Transient: a temporary fault; retry with backoff.
	Transient ProviderErrorKind = "transient"
	// Permanent: retrying will not help (bad request, permission denied, not found).
	Permanent ProviderErrorKind = "permanent"
	// AuthBroken: the credential is invalid or expired; a person must re-authorise.
	AuthBroken ProviderErrorKind = "auth_broken"
)

// ProviderError is a classified error from a provider. Message never holds a secret.
type ProviderError struct {
	Provider   string
	Kind       ProviderErrorKind
	Status     int    // HTTP status, 0 if none
	Code       string // provider's own error code
	Message    string
	TraceID    string        // provider's request/trace id, for support
	RetryAfter time.Duration // server's hint for RateLimited
}

func (e *ProviderError) Error() string {
	s := fmt.Sprintf("%s %s", e.Provider, e.Kind)
	if e.Status != 0 {
		s += fmt.Sprintf(" (HTTP %d", e.Status)
		if e.Code != "" {
			s += " " + e.Code
		}
		s += ")"
	}
	s += ": " + e.Message
	if e.TraceID != "" {
		s += " [trace " + e.TraceID + "]"
	}
	return s
}

// providerNames are the providers as people name them.
var providerNames = map[string]string{"meta": "Meta", "pinterest": "Pinterest", "okta": "Okta", "entra": "Entra ID"}

// Sentence says what went wrong for a person: who refused or failed, in
// the provider's own words, with its error code and trace id for support.
func (e *ProviderError) Sentence() string {
	who := providerNames[e.Provider]
	if who == "" {
		who = e.Provider
	}
	var s string
	switch e.Kind {
	case RateLimited:
		s = who + " asks to slow down: " + e.Message
	case Transient:
		s = who + " is unavailable: " + e.Message
	case AuthBroken:
		s = e.Message
	default:
		s = who + " refused: " + e.Message
	}
	var ref []string
	if e.Code != "" {
		ref = append(ref, "error "+e.Code)
	}
	if e.TraceID != "" {
		ref = append(ref, "trace "+e.TraceID)
	}
	if len(ref) > 0 {
		s += " (" + strings.Join(ref, ", ") + ")"
	}
	return s
}

// AsProviderError returns the *ProviderError in err's chain, if any.
func AsProviderError(err error) (*ProviderError, bool) {
	var pe *ProviderError
	ok := errors.As(err, &pe)
	return pe, ok
}
