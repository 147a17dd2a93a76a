// Package activities holds the Temporal activities: the only code that
// touches providers, secrets and Postgres on behalf of workflows. Every
// activity is idempotent, and provider errors are mapped to retry behaviour
// here, once.
package activities

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/hubkeeper/hubkeeper/internal/browser"
	"github.com/hubkeeper/hubkeeper/internal/domain"
	"github.com/hubkeeper/hubkeeper/internal/egress"
	"github.com/hubkeeper/hubkeeper/internal/mail"
	"github.com/hubkeeper/hubkeeper/internal/meta"
	"github.com/hubkeeper/hubkeeper/internal/pinterestapi"
	"github.com/hubkeeper/hubkeeper/internal/providerhttp"
	"github.com/hubkeeper/hubkeeper/internal/store"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"
)

// Activities holds the dependencies of every activity.
type Activities struct {
	Store *store.Store
	// HTTP is the client provider calls go through (ProviderHosts.Client).
	HTTP *http.Client
	// ProviderHosts is the operator's part of where stored base URLs may point.
	ProviderHosts egress.Policy
	// Backoff bounds the in-place retries of provider clients.
	Backoff providerhttp.Policy
	// Mailer sends reports to admins; PublicURL is where their links point (the API).
	Mailer    *mail.Mailer
	PublicURL string
	// TokenNotice is how long before a Meta token expires the admins are mailed.
	TokenNotice time.Duration
	// Reports are the reminder cadence and expiry of deprovision reviews.
	Reports ReportTimings
	// Onboarding times Meta onboardings; SupportEmail is where app requests go.
	Onboarding   OnboardingTimings
	SupportEmail string
	// EnsureSyncSchedule creates an integration's daily check-for-updates
	// Schedule (the worker wires it to the Temporal client).
	EnsureSyncSchedule func(context.Context, store.Integration) error
	// Browser drives Pinterest's web app; Pinterest bounds its waits.
	Browser   *browser.Shared
	Pinterest PinterestTimings
	// Retention is how long what is kept only for a while stays (Purge).
	Retention time.Duration
	// Slots bound the checks and imports running at once (TakeSlot).
	Slots store.SlotLimits
	// PinterestApp is the operator's Pinterest app (nil: none configured),
	// through which API-mode integrations' tokens are refreshed.
	PinterestApp *pinterestapi.App
}

// Purge removes what is kept only for a while (Store.Purge, older than
// Retention) and prunes this worker's failure captures.
func (a *Activities) Purge(ctx context.Context) (store.Purged, error) {
	purged, err := a.Store.Purge(ctx, a.Retention)
	if err != nil {
		return purged, failure(err)
	}
	if a.Browser != nil {
		a.Browser.Options.PruneCaptures()
	}
	activity.GetLogger(ctx).Info("purged", "credentials", purged.Credentials, "report_tokens", purged.ReportTokens,
		"staging_rows", purged.StagingRows, "console_sign_ins", purged.ConsoleSignIns)
	return purged, nil
}

// allowedURL returns a stored base URL for service (def when none is
// stored), refused unless the hosts policy allows it: an operator may have
// narrowed it since the URL was set.
func (a *Activities) allowedURL(service egress.Service, field, stored, def string) (string, error) {
	if stored == "" {
		stored = def
	}
	if err := a.ProviderHosts.CheckBaseURL(service, field, stored); err != nil {
		return "", domain.Errorf(domain.EInvalid, "%v", err)
	}
	return stored, nil
}

// graph builds a Graph client for an integration with token (opened by the
// caller, which holds it nowhere else).
func (a *Activities) graph(ig store.Integration, token string) (*meta.Client, error) {
	base, err := a.allowedURL(egress.MetaGraph, "graph_base_url", ig.Settings.GraphBaseURL, meta.DefaultBaseURL)
	if err != nil {
		return nil, err
	}
	c, err := meta.New(base, ig.Settings.GraphVersion, token, meta.WithHTTPClient(a.HTTP), meta.WithBackoff(a.Backoff))
	if err != nil {
		return nil, domain.Errorf(domain.EInvalid, "%v", err)
	}
	return c, nil
}

// Error types of failures, as the workflows' retry policies see them.
const (
	ErrRateLimited = "RateLimited"
	ErrTransient   = "Transient"
	ErrPermanent   = "Permanent"
	ErrAuthBroken  = "AuthBroken"
	ErrNotFound    = "NotFound"
	ErrInvalid     = "Invalid"
	ErrConflict    = "Conflict"
)

// NonRetryable lists the error types that no retry can fix.
var NonRetryable = []string{ErrPermanent, ErrAuthBroken, ErrNotFound, ErrInvalid, ErrConflict}

// failure maps an error to a Temporal application error: rate limits retry
// after the server's hint, transient faults retry, the rest do not. The
// message is a sentence for people, in the provider's words, which never
// hold a secret; e-mail addresses in it are blanked, since it reaches logs
// and workflow history.
func failure(err error) error {
	if err == nil {
		return nil
	}
	if pe, ok := domain.AsProviderError(err); ok {
		message := domain.WithoutEmails(pe.Sentence())
		switch pe.Kind {
		case domain.RateLimited:
			return temporal.NewApplicationErrorWithOptions(message, ErrRateLimited,
				temporal.ApplicationErrorOptions{NextRetryDelay: pe.RetryAfter})
		case domain.Transient:
			return temporal.NewApplicationError(message, ErrTransient)
		case domain.AuthBroken:
			return temporal.NewNonRetryableApplicationError(message, ErrAuthBroken, nil)
		default:
			return temporal.NewNonRetryableApplicationError(message, ErrPermanent, nil)
		}
	}
	var de *domain.Error
	if errors.As(err, &de) {
		message := domain.WithoutEmails(de.Message)
		switch de.Code {
		case domain.ENotFound:
			return temporal.NewNonRetryableApplicationError(message, ErrNotFound, nil)
		case domain.EInvalid:
			return temporal.NewNonRetryableApplicationError(message, ErrInvalid, nil)
		case domain.EConflict:
			return temporal.NewNonRetryableApplicationError(message, ErrConflict, nil)
		}
	}
	if message := domain.WithoutEmails(err.Error()); message != err.Error() {
		return blanked{message: message, err: err}
	}
	return err
}

// blanked is an error whose text has its e-mail addresses blanked; it
// still unwraps to the original (a cancellation stays one).
type blanked struct {
	message string
	err     error
}

func (b blanked) Error() string { return b.message }
func (b blanked) Unwrap() error { return b.err }

// sentence says what went wrong for people: in the provider's words, or
// the domain error's message.
func sentence(err error) string {
	var de *domain.Error
	if pe, ok := domain.AsProviderError(err); ok {
		return pe.Sentence()
	} else if errors.As(err, &de) {
		return de.Message
	}
	return err.Error()
}

// FailSyncRunInput says which run failed and why.
type FailSyncRunInput struct {
	SyncRunID string
	Message   string
}

// FailSyncRun ends a directory or integration sync run as failed.
func (a *Activities) FailSyncRun(ctx context.Context, in FailSyncRunInput) error {
	return failure(a.Store.FailSyncRun(ctx, in.SyncRunID, in.Message))
}
