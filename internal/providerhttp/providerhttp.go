// Package providerhttp is what every provider client shares: base URL
// checks, transport errors safe to log, and the retry policy that decides
// whether and how long to wait before trying a failed call again.
package providerhttp

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/hubkeeper/hubkeeper/internal/domain"
)

// Policy bounds in-client retries. Longer waits are left to the caller
// (an activity retry that honours the server's hint).
type Policy struct {
	// Attempts is the most tries of one call, the first included.
	Attempts int
	// MaxWait is the longest rate-limit wait done in place.
	MaxWait time.Duration
	// Base is the first backoff after a transient failure; it doubles.
	Base time.Duration
}

// Default is the policy the provider clients use unless told otherwise.
var Default = Policy{Attempts: 5, MaxWait: time.Minute, Base: 200 * time.Millisecond}

// Wait sleeps before attempt number attempt+1 of a call that failed with
// err, and reports whether that attempt should be made.
func (p Policy) Wait(ctx context.Context, err *domain.ProviderError, attempt int) bool {
	if attempt+1 >= p.Attempts {
		return false
	}
	var d time.Duration
	switch err.Kind {
	case domain.RateLimited:
		d = err.RetryAfter
		if d <= 0 {
			d = p.Base << attempt
		}
		if d > p.MaxWait {
			return false
		}
	case domain.Transient:
		d = p.Base << attempt
	default:
		return false
	}
	return Sleep(ctx, d) == nil
}

// Sleep waits for d or until ctx ends.
func Sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// BaseURL parses an absolute http(s) base URL with a host and without
// credentials, query or fragment; a trailing slash is dropped.
func BaseURL(field, raw string) (*url.URL, error) {
	u, err := url.Parse(strings.TrimRight(raw, "/"))
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.User != nil ||
		u.RawQuery != "" || u.Fragment != "" {
		return nil, fmt.Errorf("%s must be an absolute http(s) URL without credentials, query or fragment", field)
	}
	return u, nil
}

// SameOrigin reports whether link points at base's scheme and host, so a
// credential meant for base is never sent elsewhere.
func SameOrigin(base *url.URL, link string) bool {
	u, err := url.Parse(link)
	return err == nil && u.Scheme == base.Scheme && u.Host == base.Host
}

// TransportError describes a failed request without its URL, which may
// carry cursors; the text goes to logs and errors.
func TransportError(err error) string {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Op + ": " + ue.Err.Error()
	}
	return err.Error()
}
