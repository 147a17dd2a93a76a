package activities

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/hubkeeper/hubkeeper/internal/domain"
	"github.com/hubkeeper/hubkeeper/internal/mail"
	"github.com/hubkeeper/hubkeeper/internal/meta"
	"github.com/hubkeeper/hubkeeper/internal/store"
	"go.temporal.io/sdk/activity"
)

// OnboardingTimings are the durations of a Meta onboarding, all configuration.
type OnboardingTimings struct {
	// RemindEvery is the cadence of reminders while a person is awaited.
	RemindEvery time.Duration
	// ApprovalDeadline bounds the wait for support's app approval; StepDeadline each admin step.
	ApprovalDeadline time.Duration
	StepDeadline     time.Duration
	// ClaimPollEvery is how often the claim is checked without being asked.
	ClaimPollEvery time.Duration
	// RestrictionWindow is how long after a system user's creation Meta may
	// block user management (UNVERIFIED: seven days in the seed text).
	RestrictionWindow time.Duration
}

// OnboardingTimings returns the configured durations; the workflow records them once.
func (a *Activities) OnboardingTimings(context.Context) (OnboardingTimings, error) {
	return a.Onboarding, nil
}

// OnboardingStep is a step of the onboarding workflow to record; the
// activity fills in the workflow's ids.
type OnboardingStep = store.OnboardingUpdate

// RecordOnboarding records where the onboarding stands, for the API, with
// its audit event.
func (a *Activities) RecordOnboarding(ctx context.Context, step OnboardingStep) error {
	info := activity.GetInfo(ctx)
	step.WorkflowID, step.RunID = info.WorkflowExecution.ID, info.WorkflowExecution.RunID
	return failure(a.Store.UpdateOnboarding(ctx, step))
}

// OnboardingMailInput says which onboarding e-mail to send.
type OnboardingMailInput struct {
	IntegrationID string
	// Reminder marks a reminder of the same step.
	Reminder bool
}

// SendOnboardingMail e-mails whoever the onboarding waits for what to do:
// support while the app awaits approval, the onboarding admin after that;
// at the end (done or failed) both.
func (a *Activities) SendOnboardingMail(ctx context.Context, in OnboardingMailInput) error {
	ig, err := a.Store.IntegrationByID(ctx, in.IntegrationID)
	if err != nil {
		return failure(err)
	}
	o, err := a.Store.OnboardingOf(ctx, in.IntegrationID)
	if err != nil {
		return failure(err)
	}
	if a.Mailer == nil {
		return failure(fmt.Errorf("no SMTP server is configured"))
	}
	base := strings.TrimRight(a.PublicURL, "/") + "/v1/integrations/" + ig.ID + "/onboarding/"
	to := []string{o.AdminEmail}
	var subject, body string
	switch o.Stage {
	case store.OnboardAppApproval:
		to = []string{a.SupportEmail}
		subject = "Dedicated Facebook app requested for business " + ig.BusinessID
		body = fmt.Sprintf("Please create a dedicated Facebook app for %q (Business Manager id %s, integration %s, requested by %s), "+
			"then approve it with a support key:\n\n  curl -X POST -H 'Authorization: Bearer <support key>' -H 'Content-Type: application/json' \\\n"+
			"    -d '{\"app_id\": \"<app id>\", \"app_secret\": \"<app secret>\"}' %sapp-approved\n", ig.Label, ig.BusinessID, ig.ID, o.AdminEmail, base)
	case store.OnboardClaim:
		subject = "Claim app " + ig.AppID + " in Business Manager"
		body = fmt.Sprintf("Your dedicated app %s is ready. In Business Manager %s, open Business settings > Apps > Add > "+
			"Claim an app ID, enter %s, then tell Hubkeeper (it also checks by itself every so often):\n\n  POST %sclaimed\n",
			ig.AppID, ig.BusinessID, ig.AppID, base)
	case store.OnboardToken:
		subject = "Create Hubkeeper's system user in business " + ig.BusinessID
		body = fmt.Sprintf("In Business settings > Users > System users, add a system user with the Admin role, assign it every Page and "+
			"ad account with Full control, and generate a token for app %s with the permissions %s. Submit it with:\n\n"+
			"  POST %stoken  {\"access_token\": \"...\"}\n", ig.AppID, strings.Join(meta.RequiredPermissions, ", "), base)
	case store.OnboardProfile:
		subject = "Connect your Facebook profile to Hubkeeper"
		body = fmt.Sprintf("Tell Hubkeeper which Facebook profile you use in business %s (its business user id or e-mail); "+
			"it must have Full control:\n\n  POST %sprofile  {\"profile\": \"...\"}\n", ig.BusinessID, base)
	case store.OnboardDone, store.OnboardFailed:
		to = append(to, a.SupportEmail)
		subject = "Onboarding of business " + ig.BusinessID + " finished"
		body = fmt.Sprintf("%q (business %s) is connected: members are imported and checked daily.\n", ig.Label, ig.BusinessID)
		if o.Stage == store.OnboardFailed {
			subject = "Onboarding of business " + ig.BusinessID + " failed"
			body = fmt.Sprintf("The onboarding of %q (business %s) failed: %s\n", ig.Label, ig.BusinessID, o.Message)
		}
	default:
		return nil
	}
	to = slices.DeleteFunc(to, func(addr string) bool { return addr == "" })
	if len(to) == 0 {
		return nil // a Pinterest onboarding may have no admin to tell
	}
	if in.Reminder {
		subject = "Reminder: " + subject
	}
	if len(o.Problems) > 0 {
		body += "\nLast time: " + strings.Join(o.Problems, "; ") + "\n"
	}
	if o.Until != nil {
		body += "\nThe onboarding fails if this is not done by " + o.Until.UTC().Format("2006-01-02 15:04 MST") + ".\n"
	}
	return failure(a.Mailer.Send(ctx, mail.Message{To: to, Subject: subject, Text: body}))
}

// Verdict is the outcome of checking what a person did: accepted, or the
// problems, in words, that keep the onboarding waiting.
type Verdict struct {
	Problems []string
	// SystemUserID and CreatedTime describe an accepted token.
	SystemUserID string
	CreatedTime  time.Time
}

// refused turns a provider's refusal into a problem for the person to fix;
// throttling and outages stay errors, to be retried.
func refused(err error, what string) (Verdict, error) {
	if pe, ok := domain.AsProviderError(err); ok && (pe.Kind == domain.Permanent || pe.Kind == domain.AuthBroken) {
		return Verdict{Problems: []string{what + ": " + pe.Message}}, nil
	}
	return Verdict{}, failure(err)
}

// CheckAppClaimed asks Graph, with the dedicated app's own token, whether
// the business owns the app yet.
func (a *Activities) CheckAppClaimed(ctx context.Context, integrationID string) (Verdict, error) {
	ig, err := a.Store.IntegrationByID(ctx, integrationID)
	if err != nil {
		return Verdict{}, failure(err)
	}
	o, err := a.Store.OnboardingOf(ctx, integrationID)
	if err != nil {
		return Verdict{}, failure(err)
	}
	secret, err := a.Store.OpenCredential(ctx, ig.WorkspaceID, o.AppCredentialID)
	if err != nil {
		return Verdict{}, fmt.Errorf("open app credential: %w", err)
	}
	c, err := a.graph(ig, ig.AppID+"|"+string(secret))
	if err != nil {
		return Verdict{}, failure(err)
	}
	owner, err := c.AppOwner(ctx, ig.AppID)
	if err != nil {
		return refused(err, "Meta refused the claim check")
	}
	switch owner {
	case ig.BusinessID:
		return Verdict{}, nil
	case "":
		return Verdict{Problems: []string{fmt.Sprintf("business %s does not own app %s yet", ig.BusinessID, ig.AppID)}}, nil
	default:
		return Verdict{Problems: []string{fmt.Sprintf("app %s is owned by business %s, not %s: ask Meta support to move it", ig.AppID, owner, ig.BusinessID)}}, nil
	}
}

// VerifyOnboardingTokenInput names a submitted token by its credential id.
type VerifyOnboardingTokenInput struct {
	IntegrationID string
	CredentialID  string
}

// VerifyOnboardingToken checks a submitted token: valid, an Admin system
// user's of this business, with every required permission.
func (a *Activities) VerifyOnboardingToken(ctx context.Context, in VerifyOnboardingTokenInput) (Verdict, error) {
	ig, err := a.Store.IntegrationByID(ctx, in.IntegrationID)
	if err != nil {
		return Verdict{}, failure(err)
	}
	token, err := a.Store.OpenCredential(ctx, ig.WorkspaceID, in.CredentialID)
	if err != nil {
		return Verdict{}, fmt.Errorf("open submitted token: %w", err)
	}
	c, err := a.graph(ig, string(token))
	if err != nil {
		return Verdict{}, failure(err)
	}
	check, err := c.CheckToken(ctx, ig.BusinessID)
	if err != nil {
		return refused(err, "Meta rejected the token")
	}
	return Verdict{Problems: check.Problems, SystemUserID: check.SystemUserID, CreatedTime: check.CreatedTime}, nil
}

// AcceptOnboardingTokenInput is a verified token and Meta's restriction window.
type AcceptOnboardingTokenInput struct {
	IntegrationID   string
	CredentialID    string
	SystemUserID    string
	RestrictedUntil time.Time
}

// AcceptOnboardingToken makes a verified token the integration's and
// records until when Meta may restrict user management.
func (a *Activities) AcceptOnboardingToken(ctx context.Context, in AcceptOnboardingTokenInput) error {
	info := activity.GetInfo(ctx)
	return failure(a.Store.AcceptOnboardingToken(ctx, in.IntegrationID, in.CredentialID, in.SystemUserID, in.RestrictedUntil,
		info.WorkflowExecution.ID, info.WorkflowExecution.RunID))
}

// VerifyOnboardingProfile checks that the submitted Facebook profile is a
// member of the business with Full control.
func (a *Activities) VerifyOnboardingProfile(ctx context.Context, integrationID string) (Verdict, error) {
	o, err := a.Store.OnboardingOf(ctx, integrationID)
	if err != nil {
		return Verdict{}, failure(err)
	}
	c, ig, err := a.metaClientByID(ctx, integrationID)
	if err != nil {
		return Verdict{}, failure(err)
	}
	role, err := c.MemberRole(ctx, ig.BusinessID, o.Profile)
	if err != nil {
		return refused(err, "Meta refused the profile check")
	}
	switch role {
	case "ADMIN":
		return Verdict{}, nil
	case "":
		return Verdict{Problems: []string{fmt.Sprintf("%s is not a member of business %s", o.Profile, ig.BusinessID)}}, nil
	default:
		return Verdict{Problems: []string{fmt.Sprintf("%s has the %s role in business %s; it needs Full control", o.Profile, role, ig.BusinessID)}}, nil
	}
}

// ClaimOwner matches the onboarding admin's Facebook profile to the admin,
// as Owner, when the first check found it unmatched (their Facebook e-mail
// differs from their directory e-mail). It says what it did.
func (a *Activities) ClaimOwner(ctx context.Context, integrationID string) (string, error) {
	ig, err := a.Store.IntegrationByID(ctx, integrationID)
	if err != nil {
		return "", failure(err)
	}
	o, err := a.Store.OnboardingOf(ctx, integrationID)
	if err != nil {
		return "", failure(err)
	}
	m, err := a.Store.ProfileMember(ctx, integrationID, o.Profile)
	if domain.ErrorCode(err) == domain.ENotFound {
		return "no member has the profile " + o.Profile, nil
	}
	if err != nil {
		return "", failure(err)
	}
	if m.State != domain.StateUnmatched {
		return fmt.Sprintf("member %s is %s already", m.ExternalID, m.State), nil
	}
	info := activity.GetInfo(ctx)
	ch := store.MemberChange{WorkspaceID: ig.WorkspaceID, IntegrationID: ig.ID, MemberID: m.ExternalID, Action: store.ActionMatch,
		Actor: "onboarding", WorkflowID: info.WorkflowExecution.ID, RunID: info.WorkflowExecution.RunID,
		MatchedEmail: domain.NormalizeEmail(o.AdminEmail), HubRole: "owner"}
	if _, err := a.Store.CheckMemberChange(ctx, ch); err != nil {
		if domain.ErrorCode(err) == domain.EInvalid || domain.ErrorCode(err) == domain.ENotFound {
			return "not matched: " + err.Error(), nil
		}
		return "", failure(err)
	}
	if err := a.Store.ApplyMemberChange(ctx, ch); err != nil {
		return "", failure(err)
	}
	return fmt.Sprintf("matched member %s to %s as owner", m.ExternalID, ch.MatchedEmail), nil
}

// StartSyncSchedule creates the integration's daily check-for-updates Schedule.
func (a *Activities) StartSyncSchedule(ctx context.Context, integrationID string) error {
	ig, err := a.Store.IntegrationByID(ctx, integrationID)
	if err != nil {
		return failure(err)
	}
	return a.EnsureSyncSchedule(ctx, ig)
}
