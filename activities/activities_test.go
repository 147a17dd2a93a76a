package activities

import (
	"context"
	"errors"
	"fmt"
	"strings"
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

// A failure's text reaches logs and history: addresses in it are blanked,
// whatever kind of error carried them.
func TestFailureBlanksEmailAddresses(t *testing.T) {
	for name, err := range map[string]error{
		"Provider": &domain.ProviderError{Provider: "meta", Kind: domain.Permanent, Message: "(#3963) ann.lee@acme.test is already invited"},
		"Domain":   domain.Errorf(domain.EConflict, "ann.lee@acme.test is already in the business or invited"),
		"Other":    fmt.Errorf("mail: 550 5.1.1 <ann.lee@acme.test>: Recipient address rejected: %w", context.Canceled),
	} {
		t.Run(name, func(t *testing.T) {
			got := failure(err)
			if strings.Contains(got.Error(), "ann.lee") || !strings.Contains(got.Error(), "<e-mail>") {
				t.Fatalf("failure text %q", got)
			}
			if name == "Other" && !errors.Is(got, context.Canceled) {
				t.Fatal("blanking lost the cause")
			}
		})
	}
	if plain := errors.New("no address here"); failure(plain) != plain {
		t.Fatal("an error without an address is changed")
	}
}
