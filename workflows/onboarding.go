package workflows

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/hubkeeper/hubkeeper/activities"
	"github.com/hubkeeper/hubkeeper/internal/store"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"
)

// MetaOnboarding connects a Meta business step by step: support approves a
// dedicated app, the admin claims it (checked through Graph), submits an
// Admin system user's token (verified; the restriction window recorded)
// and their Facebook profile (verified), then the first check for updates
// runs as a child, the admin's own member is claimed as Owner and the daily
// Schedule starts. Each wait reminds on a cadence and fails at a deadline.
func MetaOnboarding(ctx workflow.Context, in OnboardingInput) (OnboardingResult, error) {
	o, err := newOnboarding(ctx, in)
	if err != nil {
		return OnboardingResult{}, err
	}
	res, err := o.meta()
	return res, o.end(err)
}

func (o *onboarding) meta() (OnboardingResult, error) {
	var res OnboardingResult
	ctx, in, t := o.ctx, o.in, o.timings

	// 1. Support approves the dedicated app (the API has stored its id and secret).
	if !in.AppApproved {
		if _, err := o.await(store.OnboardAppApproval, t.ApprovalDeadline, 0, false, SignalAppApproved, nil); err != nil {
			return res, err
		}
	}
	// 2. The admin claims it in Business Manager; Graph must agree.
	claimed := func(string) (activities.Verdict, error) {
		var v activities.Verdict
		err := workflow.ExecuteActivity(o.graph, a.CheckAppClaimed, in.IntegrationID).Get(ctx, &v)
		return v, err
	}
	if _, err := o.await(store.OnboardClaim, t.StepDeadline, t.ClaimPollEvery, true, SignalClaimed, claimed); err != nil {
		return res, err
	}
	// 3. A token of an Admin system user with every permission.
	var credentialID string
	verifyToken := func(credential string) (activities.Verdict, error) {
		credentialID = credential
		var v activities.Verdict
		err := workflow.ExecuteActivity(o.graph, a.VerifyOnboardingToken,
			activities.VerifyOnboardingTokenInput{IntegrationID: in.IntegrationID, CredentialID: credential}).Get(ctx, &v)
		return v, err
	}
	token, err := o.await(store.OnboardToken, t.StepDeadline, 0, false, SignalToken, verifyToken)
	if err != nil {
		return res, err
	}
	// 4. Meta may restrict user management for a while after the system
	// user's creation: member actions wait until then, imports do not.
	created := token.CreatedTime
	if created.IsZero() {
		created = workflow.Now(ctx)
	}
	restrictedUntil := created.Add(t.RestrictionWindow)
	if err := workflow.ExecuteActivity(o.short, a.AcceptOnboardingToken, activities.AcceptOnboardingTokenInput{IntegrationID: in.IntegrationID,
		CredentialID: credentialID, SystemUserID: token.SystemUserID, RestrictedUntil: restrictedUntil}).Get(ctx, nil); err != nil {
		return res, err
	}
	// 5. The admin's Facebook profile, a member with Full control.
	verifyProfile := func(string) (activities.Verdict, error) {
		var v activities.Verdict
		err := workflow.ExecuteActivity(o.graph, a.VerifyOnboardingProfile, in.IntegrationID).Get(ctx, &v)
		return v, err
	}
	if _, err := o.await(store.OnboardProfile, t.StepDeadline, 0, false, SignalProfile, verifyProfile); err != nil {
		return res, err
	}
	// 6. The first check for updates, as a child the UI links to.
	if err := o.firstCheck("meta", &res); err != nil {
		return res, err
	}
	// 7. The admin's own member, unmatched when their Facebook e-mail is not
	// their directory e-mail, becomes theirs as Owner.
	if err := o.record(store.OnboardOwnerClaim, nil, nil, "", "", nil); err != nil {
		return res, err
	}
	if err := workflow.ExecuteActivity(o.short, a.ClaimOwner, in.IntegrationID).Get(ctx, &res.OwnerClaim); err != nil {
		return res, err
	}
	// 8. The daily Schedule, then done.
	if err := o.record(store.OnboardSchedule, nil, nil, "", "onboarding.owner_claim", map[string]any{"outcome": res.OwnerClaim}); err != nil {
		return res, err
	}
	return res, o.finish(map[string]any{"members": res.Sync.Members, "restricted_until": restrictedUntil.UTC().Format(time.RFC3339)})
}

// PinterestOnboarding connects a Pinterest business: the automation account
// logs in and must hold the Manager role, with the verification code a
// person submits when Pinterest asks for one (the login waits for it; if
// none comes, the onboarding waits durably for the next submission and
// logs in again). Then the first check for updates runs as a child and the
// daily Schedule starts.
func PinterestOnboarding(ctx workflow.Context, in OnboardingInput) (OnboardingResult, error) {
	o, err := newOnboarding(ctx, in)
	if err != nil {
		return OnboardingResult{}, err
	}
	res, err := o.pinterest()
	return res, o.end(err)
}

func (o *onboarding) pinterest() (OnboardingResult, error) {
	var res OnboardingResult
	ctx, in := o.ctx, o.in
	// The login may wait for a code: it heartbeats while it does.
	browserCtx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{StartToCloseTimeout: time.Hour,
		HeartbeatTimeout: activities.HeartbeatTimeout,
		RetryPolicy: &temporal.RetryPolicy{InitialInterval: 10 * time.Second, BackoffCoefficient: 2, MaximumInterval: 10 * time.Minute,
			MaximumAttempts: 10, NonRetryableErrorTypes: activities.NonRetryable}})
	login := func(string) (activities.Verdict, error) {
		var v activities.Verdict
		err := workflow.ExecuteActivity(browserCtx, a.VerifyPinterestLogin, in.IntegrationID).Get(ctx, &v)
		return v, err
	}
	if _, err := o.await(store.OnboardLogin, o.timings.StepDeadline, 0, true, SignalVerification, login); err != nil {
		return res, err
	}
	if err := o.firstCheck("pinterest", &res); err != nil {
		return res, err
	}
	if err := o.record(store.OnboardSchedule, nil, nil, "", "", nil); err != nil {
		return res, err
	}
	return res, o.finish(map[string]any{"members": res.Sync.Members})
}

// newOnboarding sets up an onboarding run: its activity options, its
// query, and the configured durations.
func newOnboarding(ctx workflow.Context, in OnboardingInput) (*onboarding, error) {
	// An onboarding waits for days: its Postgres steps outlast an outage.
	o := &onboarding{in: in, ctx: ctx,
		short: workflow.WithActivityOptions(ctx, workflow.ActivityOptions{StartToCloseTimeout: time.Minute, RetryPolicy: untilDone}),
		graph: workflow.WithActivityOptions(ctx, workflow.ActivityOptions{StartToCloseTimeout: 5 * time.Minute,
			RetryPolicy: &temporal.RetryPolicy{InitialInterval: 5 * time.Second, BackoffCoefficient: 2, MaximumInterval: 30 * time.Minute,
				MaximumAttempts: 30, NonRetryableErrorTypes: activities.NonRetryable}})}
	if err := workflow.SetQueryHandler(ctx, QueryOnboarding, func() (OnboardingStatus, error) { return o.status, nil }); err != nil {
		return nil, err
	}
	return o, workflow.ExecuteActivity(o.short, a.OnboardingTimings).Get(ctx, &o.timings)
}

// firstCheck runs the first check for updates as a child the UI links to.
func (o *onboarding) firstCheck(provider string, res *OnboardingResult) error {
	if err := o.record(store.OnboardFirstCheck, nil, nil, "", "", nil); err != nil {
		return err
	}
	in := o.in
	sync := IntegrationSyncInput{WorkspaceID: in.WorkspaceID, IntegrationID: in.IntegrationID, Provider: provider, BusinessID: in.BusinessID,
		Trigger: "onboarding"}
	childCtx := workflow.WithChildOptions(o.ctx, workflow.ChildWorkflowOptions{WorkflowID: IntegrationSyncID(in.IntegrationID),
		TypedSearchAttributes: integrationSyncAttributes(sync)})
	if err := workflow.ExecuteChildWorkflow(childCtx, IntegrationSync, sync).Get(o.ctx, &res.Sync); err != nil {
		return o.fail("the first check for updates failed: " + err.Error())
	}
	return nil
}

// finish starts the daily Schedule, records the end and mails it.
func (o *onboarding) finish(details map[string]any) error {
	if err := workflow.ExecuteActivity(o.short, a.StartSyncSchedule, o.in.IntegrationID).Get(o.ctx, nil); err != nil {
		return err
	}
	if err := o.record(store.OnboardDone, nil, nil, "", "onboarding.completed", details); err != nil {
		return err
	}
	return o.mail(store.OnboardDone, nil, false)
}

// onboarding is one onboarding run's state.
type onboarding struct {
	in           OnboardingInput
	ctx          workflow.Context
	short, graph workflow.Context
	timings      activities.OnboardingTimings
	status       OnboardingStatus
	// message is the last recorded message (why it failed, at the end).
	message string
}

// record moves the onboarding to stage, for the query, the Temporal UI and
// Postgres (with an audit event when action is set).
func (o *onboarding) record(stage string, until *time.Time, problems []string, message, action string, details map[string]any) error {
	o.status = OnboardingStatus{Stage: stage, WaitingFor: store.WaitingFor(stage), Until: until, Problems: problems}
	o.message = message
	info := stage
	switch {
	case o.status.WaitingFor != "":
		info = "waiting for " + o.status.WaitingFor + " until " + until.UTC().Format(time.RFC3339)
	case message != "":
		info = stage + ": " + message
	}
	if len(problems) > 0 {
		info += "; last refusal: " + strings.Join(problems, "; ")
	}
	setStage(o.ctx, stage, info)
	return workflow.ExecuteActivity(o.short, a.RecordOnboarding, activities.OnboardingStep{IntegrationID: o.in.IntegrationID, Stage: stage,
		Until: until, Problems: problems, Message: message, Action: action, Details: details}).Get(o.ctx, nil)
}

// await waits in stage for a person: each signal on the stage's channel
// (each poll, when poll > 0, and once at the start when checkNow) runs
// check, which passes when it finds no problem; refusals are recorded and
// the wait goes on. Whoever is awaited is mailed at the start and reminded on a cadence;
// at the deadline the onboarding fails. A nil check passes at the first signal.
func (o *onboarding) await(stage string, deadline, poll time.Duration, checkNow bool, signal string,
	check func(arg string) (activities.Verdict, error)) (activities.Verdict, error) {
	ctx := o.ctx
	until := workflow.Now(ctx).Add(deadline)
	if err := o.record(stage, &until, nil, "", "onboarding.waiting", map[string]any{"stage": stage, "until": until.UTC().Format(time.RFC3339)}); err != nil {
		return activities.Verdict{}, err
	}
	mail := func(reminder bool) error { return o.mail(stage, &until, reminder) }
	if err := mail(false); err != nil {
		return activities.Verdict{}, err
	}
	waitCtx, cancel := workflow.WithCancel(ctx)
	defer cancel()
	expiry := workflow.NewTimer(waitCtx, deadline)
	reminder := workflow.NewTimer(waitCtx, o.timings.RemindEvery)
	var pollTimer workflow.Future
	if checkNow {
		pollTimer = workflow.NewTimer(waitCtx, 0)
	}
	signals := workflow.GetSignalChannel(ctx, signal)
	var last []string
	for {
		sel := workflow.NewSelector(ctx)
		var arg string
		woke, expired, remind := false, false, false
		sel.AddReceive(signals, func(c workflow.ReceiveChannel, _ bool) { c.Receive(ctx, &arg); woke = true })
		sel.AddFuture(expiry, func(workflow.Future) { expired = true })
		sel.AddFuture(reminder, func(workflow.Future) { remind = true })
		polled := false
		if pollTimer != nil {
			sel.AddFuture(pollTimer, func(workflow.Future) { polled = true })
		}
		sel.Select(ctx)
		switch {
		case expired:
			return activities.Verdict{}, o.fail(fmt.Sprintf("nobody did what the %s step needs (%s) within %s", stage, store.WaitingFor(stage), deadline))
		case remind:
			if err := mail(true); err != nil {
				return activities.Verdict{}, err
			}
			reminder = workflow.NewTimer(waitCtx, o.timings.RemindEvery)
			continue
		case polled:
			pollTimer = nil
			if poll > 0 {
				pollTimer = workflow.NewTimer(waitCtx, poll)
			}
		}
		if check == nil {
			return activities.Verdict{}, nil
		}
		v, err := check(arg)
		if err != nil {
			return v, err
		}
		if len(v.Problems) == 0 {
			return v, nil
		}
		// A refusal is recorded when it says something new, or answers a person.
		if woke || strings.Join(v.Problems, "\n") != strings.Join(last, "\n") {
			if err := o.record(stage, &until, v.Problems, "", "onboarding.refused", map[string]any{"stage": stage, "problems": v.Problems}); err != nil {
				return v, err
			}
		}
		last = v.Problems
	}
}

// fail ends the onboarding: recorded, mailed, and a workflow failure whose
// message says why.
func (o *onboarding) fail(reason string) error {
	if err := o.record(store.OnboardFailed, nil, nil, reason, "onboarding.failed", map[string]any{"reason": reason}); err != nil {
		return err
	}
	if err := o.mail(store.OnboardFailed, nil, false); err != nil {
		return err
	}
	return temporal.NewNonRetryableApplicationError(reason, ErrOnboardingFailed, nil)
}

// mail e-mails whoever the stage waits for (or the admin, at the end). An
// e-mail that cannot be sent (the mail server down for long) is recorded as
// a problem of the stage, and the onboarding goes on: a reminder mails again.
func (o *onboarding) mail(stage string, until *time.Time, reminder bool) error {
	err := workflow.ExecuteActivity(workflow.WithRetryPolicy(o.short, *mailRetry), a.SendOnboardingMail,
		activities.OnboardingMailInput{IntegrationID: o.in.IntegrationID, Reminder: reminder}).Get(o.ctx, nil)
	if err == nil || workflow.GetVersion(o.ctx, "mail-failures-wait-on", workflow.DefaultVersion, 1) == workflow.DefaultVersion {
		return err
	}
	problem := "the e-mail could not be sent (" + explain(o.ctx, err) + "); it goes again with the next reminder"
	return o.record(stage, until, append(o.status.Problems, problem), o.message, "onboarding.mail_failed",
		map[string]any{"stage": stage, "problem": problem})
}

// end makes a run that stops with an error say so in Postgres: a failure
// the onboarding did not record itself (an activity that gave up, say) is
// recorded as failed, with its reason, so that it can be restarted.
func (o *onboarding) end(err error) error {
	var app *temporal.ApplicationError
	if err == nil || (errors.As(err, &app) && app.Type() == ErrOnboardingFailed) ||
		workflow.GetVersion(o.ctx, "record-every-failure", workflow.DefaultVersion, 1) == workflow.DefaultVersion {
		return err
	}
	reason := "the onboarding stopped: " + explain(o.ctx, err)
	o.status = OnboardingStatus{Stage: store.OnboardFailed}
	setStage(o.ctx, store.OnboardFailed, reason)
	if rerr := workflow.ExecuteActivity(recording(o.short), a.RecordOnboarding, activities.OnboardingStep{IntegrationID: o.in.IntegrationID,
		Stage: store.OnboardFailed, Message: reason, Action: "onboarding.failed", Details: map[string]any{"reason": reason}}).Get(o.ctx, nil); rerr != nil {
		workflow.GetLogger(o.ctx).Error("recording the failure", "error", rerr)
	}
	return err
}
