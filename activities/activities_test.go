package activities

import (
	"errors"
	"testing"
	"time"

	"github.com/hubkeeper/hubkeeper/internal/domain"
	"go.temporal.io/sdk/temporal"
)

// Errors are classified once: what retries, what does not, and a message
// that is a sentence for people.
func TestFailureClasses(t *testing.T) {
	for name, tc := range map[string]struct {
		err          error
		kind         string
		nonRetryable bool
		message      string
	}{
		"RateLimited": {&domain.ProviderError{Provider: "meta", Kind: domain.RateLimited, Code: "80004", Message: "(#80004) too many calls",
			RetryAfter: time.Minute}, ErrRateLimited, false, "Meta asks to slow down: (#80004) too many calls (error 80004)"},
		"Transient": {&domain.ProviderError{Provider: "okta", Kind: domain.Transient, Message: "502"}, ErrTransient, false,
			"Okta is unavailable: 502"},
		"Permanent": {&domain.ProviderError{Provider: "meta", Kind: domain.Permanent, Code: "10", TraceID: "Ax1", Message: "(#10) no permission"},
			ErrPermanent, true, "Meta refused: (#10) no permission (error 10, trace Ax1)"},
		"AuthBroken": {&domain.ProviderError{Provider: "entra", Kind: domain.AuthBroken, Message: "Entra rejected the client secret"},
			ErrAuthBroken, true, "Entra rejected the client secret"},
		"Conflict": {domain.Errorf(domain.EConflict, "cannot remove a member in the exempted tab"), ErrConflict, true,
			"cannot remove a member in the exempted tab"},
		"NotFound": {domain.Errorf(domain.ENotFound, "member not found"), ErrNotFound, true, "member not found"},
	} {
		t.Run(name, func(t *testing.T) {
			var app *temporal.ApplicationError
			if !errors.As(failure(tc.err), &app) || app.Type() != tc.kind || app.NonRetryable() != tc.nonRetryable || app.Message() != tc.message {
				t.Fatalf("failure = %v (type %s, non-retryable %v)", app, app.Type(), app.NonRetryable())
			}
		})
	}
}
