package workflows

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hubkeeper/hubkeeper/activities"
	"github.com/hubkeeper/hubkeeper/internal/store"
	"github.com/stretchr/testify/mock"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
)

var onboardingInput = OnboardingInput{WorkspaceID: "ws-1", IntegrationID: "ig-1", BusinessID: "104857600000001"}

// onboardingLog is what an onboarding recorded and mailed, with the
// (skipped) time since it started.
type onboardingLog struct {
	steps []activities.OnboardingStep
	at    []time.Duration
	mails []string // "stage@hours" or "stage reminder@hours"
}

func (l *onboardingLog) stage() string { return l.steps[len(l.steps)-1].Stage }

// onboardingEnv mocks the bookkeeping activities of an onboarding.
func onboardingEnv(t *testing.T, timings activities.OnboardingTimings) (*testsuite.TestWorkflowEnvironment, *onboardingLog) {
	env := newEnv(t)
	start := env.Now()
	log := &onboardingLog{}
	env.OnActivity(a.OnboardingTimings, mock.Anything).Return(timings, nil).Once()
	env.OnActivity(a.RecordOnboarding, mock.Anything, mock.Anything).Return(func(_ context.Context, step activities.OnboardingStep) error {
		log.steps, log.at = append(log.steps, step), append(log.at, env.Now().Sub(start))
		return nil
	})
	env.OnActivity(a.SendOnboardingMail, mock.Anything, mock.Anything).Return(func(_ context.Context, in activities.OnboardingMailInput) error {
		kind := log.stage()
		if in.Reminder {
			kind += " reminder"
		}
		log.mails = append(log.mails, fmt.Sprintf("%s@%.0fh", kind, env.Now().Sub(start).Hours()))
		return nil
	})
	return env, log
}

var dayTimings = activities.OnboardingTimings{RemindEvery: 24 * time.Hour, ApprovalDeadline: 14 * 24 * time.Hour,
	StepDeadline: 14 * 24 * time.Hour, ClaimPollEvery: 6 * time.Hour, RestrictionWindow: 7 * 24 * time.Hour}

func TestOnboardingWholePath(t *testing.T) {
	env, log := onboardingEnv(t, dayTimings)
	start := env.Now()
	hours := func(h int) time.Duration { return time.Duration(h) * time.Hour }
	signal := func(at int, name string, arg any) {
		env.RegisterDelayedCallback(func() { env.SignalWorkflow(name, arg) }, hours(at))
	}
	// Support approves at 36 h; the admin says "claimed" at 40 h, too early;
	// Business Manager has the claim from 72 h, which a poll finds.
	signal(36, SignalAppApproved, nil)
	signal(40, SignalClaimed, nil)
	var claimChecks []time.Duration
	env.OnActivity(a.CheckAppClaimed, mock.Anything, "ig-1").Return(func(context.Context, string) (activities.Verdict, error) {
		claimChecks = append(claimChecks, env.Now().Sub(start))
		if env.Now().Sub(start) < hours(72) {
			return activities.Verdict{Problems: []string{"business 104857600000001 does not own app 42 yet"}}, nil
		}
		return activities.Verdict{}, nil
	})
	// A token without ads_management at 80 h, a good one at 100 h, its system
	// user created at 99 h.
	created := start.Add(hours(99))
	signal(80, SignalToken, "cred-weak")
	signal(100, SignalToken, "cred-good")
	env.OnActivity(a.VerifyOnboardingToken, mock.Anything, activities.VerifyOnboardingTokenInput{IntegrationID: "ig-1", CredentialID: "cred-weak"}).
		Return(activities.Verdict{Problems: []string{"the token lacks the permissions ads_management"}}, nil).Once()
	env.OnActivity(a.VerifyOnboardingToken, mock.Anything, activities.VerifyOnboardingTokenInput{IntegrationID: "ig-1", CredentialID: "cred-good"}).
		Return(activities.Verdict{SystemUserID: "su-1", CreatedTime: created}, nil).Once()
	var accepted activities.AcceptOnboardingTokenInput
	env.OnActivity(a.AcceptOnboardingToken, mock.Anything, mock.Anything).Return(func(_ context.Context, in activities.AcceptOnboardingTokenInput) error {
		accepted = in
		return nil
	}).Once()
	signal(110, SignalProfile, nil)
	env.OnActivity(a.VerifyOnboardingProfile, mock.Anything, "ig-1").Return(activities.Verdict{}, nil).Once()
	env.RegisterWorkflow(IntegrationSync)
	env.OnWorkflow(IntegrationSync, mock.Anything, mock.MatchedBy(func(in IntegrationSyncInput) bool {
		return in.IntegrationID == "ig-1" && in.Trigger == "onboarding"
	})).Return(IntegrationSyncResult{Members: 240, Added: 240}, nil).Once()
	env.OnActivity(a.ClaimOwner, mock.Anything, "ig-1").Return("matched member 7 to jane@acme.example as owner", nil).Once()
	env.OnActivity(a.StartSyncSchedule, mock.Anything, "ig-1").Return(nil).Once()

	// The query says where the onboarding stands, mid-way through the claim.
	var mid OnboardingStatus
	env.RegisterDelayedCallback(func() {
		v, err := env.QueryWorkflow(QueryOnboarding)
		if err == nil {
			err = v.Get(&mid)
		}
		if err != nil {
			t.Errorf("query: %v", err)
		}
	}, hours(50))

	env.ExecuteWorkflow(MetaOnboarding, onboardingInput)
	var res OnboardingResult
	if err := env.GetWorkflowResult(&res); err != nil {
		t.Fatal(err)
	}
	env.AssertExpectations(t)
	if res.Sync.Members != 240 || !strings.Contains(res.OwnerClaim, "as owner") {
		t.Fatalf("result %+v", res)
	}

	wantMails := []string{"app_approval@0h", "app_approval reminder@24h", "claim@36h", "claim reminder@60h", "token@72h",
		"token reminder@96h", "profile@100h", "done@110h"}
	if !slices.Equal(log.mails, wantMails) {
		t.Fatalf("mails\n got %v\nwant %v", log.mails, wantMails)
	}
	// The claim is checked on entry, on every 6-hour poll and at the admin's call.
	wantChecks := []time.Duration{hours(36), hours(40), hours(42), hours(48), hours(54), hours(60), hours(66), hours(72)}
	if !slices.Equal(claimChecks, wantChecks) {
		t.Fatalf("claim checks at %v, want %v", claimChecks, wantChecks)
	}
	if mid.Stage != store.OnboardClaim || !strings.Contains(mid.WaitingFor, "claim") || mid.Until == nil ||
		!mid.Until.Equal(start.Add(hours(36)+dayTimings.StepDeadline)) || len(mid.Problems) != 1 {
		t.Fatalf("query mid-claim = %+v", mid)
	}
	// The restriction window starts at the system user's creation.
	if accepted.CredentialID != "cred-good" || accepted.SystemUserID != "su-1" || !accepted.RestrictedUntil.Equal(created.Add(7*24*time.Hour)) {
		t.Fatalf("accepted %+v", accepted)
	}
	// Refusals are recorded with their problems: the early claim (once: the
	// polls found nothing new) and the weak token.
	var refusals []string
	for _, s := range log.steps {
		if s.Action == "onboarding.refused" {
			refusals = append(refusals, s.Stage+": "+strings.Join(s.Problems, "; "))
		}
	}
	wantRefusals := []string{"claim: business 104857600000001 does not own app 42 yet", "claim: business 104857600000001 does not own app 42 yet",
		"token: the token lacks the permissions ads_management"}
	if !slices.Equal(refusals, wantRefusals) {
		t.Fatalf("refusals\n got %q\nwant %q", refusals, wantRefusals)
	}
	var stages []string
	for _, s := range log.steps {
		if len(stages) == 0 || stages[len(stages)-1] != s.Stage {
			stages = append(stages, s.Stage)
		}
	}
	want := []string{"app_approval", "claim", "token", "profile", "first_check", "owner_claim", "schedule", "done"}
	if !slices.Equal(stages, want) {
		t.Fatalf("stages %v, want %v", stages, want)
	}

	// A removal asked for right after onboarding waits for the window, then runs.
	actionEnv := newEnv(t)
	actionEnv.SetStartTime(start.Add(hours(110)))
	until := accepted.RestrictedUntil
	actionEnv.OnActivity(a.RecordMemberAction, mock.Anything, mock.Anything).Return(nil)
	actionEnv.OnActivity(a.RestrictedUntil, mock.Anything, "ig-1").Return(&until, nil)
	actionEnv.OnActivity(a.CheckMemberIntent, mock.Anything, mock.Anything).Return(activities.Intent{Provider: "meta"}, nil).Once()
	var removedAt time.Time
	actionEnv.OnActivity(a.RemoveMember, mock.Anything, mock.Anything).Return(func(context.Context, activities.MemberChange) (activities.ProviderChange, error) {
		removedAt = actionEnv.Now()
		return activities.ProviderChange{TraceID: "Atrace"}, nil
	}).Once()
	actionEnv.OnActivity(a.ApplyMemberChange, mock.Anything, mock.Anything).Return(nil).Once()
	actionEnv.ExecuteWorkflow(MemberAction, MemberActionInput{WorkspaceID: "ws-1", IntegrationID: "ig-1", MemberID: "m-9", Action: store.ActionRemove})
	if err := actionEnv.GetWorkflowError(); err != nil {
		t.Fatal(err)
	}
	if removedAt.Before(until) || removedAt.Sub(until) > time.Minute {
		t.Fatalf("removal queued at 110 h ran at %v; the window ends at %v", removedAt, until)
	}
}

func TestOnboardingDeadlineExpires(t *testing.T) {
	timings := dayTimings
	timings.ApprovalDeadline = 84 * time.Hour
	env, log := onboardingEnv(t, timings)
	env.ExecuteWorkflow(MetaOnboarding, onboardingInput)
	err := env.GetWorkflowError()
	var appErr *temporal.ApplicationError
	if !errors.As(err, &appErr) || appErr.Type() != ErrOnboardingFailed || !strings.Contains(appErr.Error(), "app_approval") {
		t.Fatalf("error = %v, want an %s naming the step", err, ErrOnboardingFailed)
	}
	want := []string{"app_approval@0h", "app_approval reminder@24h", "app_approval reminder@48h", "app_approval reminder@72h", "failed@84h"}
	if !slices.Equal(log.mails, want) {
		t.Fatalf("mails\n got %v\nwant %v", log.mails, want)
	}
	last := log.steps[len(log.steps)-1]
	if last.Stage != store.OnboardFailed || last.Action != "onboarding.failed" || !strings.Contains(last.Message, "support to approve") {
		t.Fatalf("last step %+v", last)
	}
}

func TestRestartWithApprovedAppStartsAtClaim(t *testing.T) {
	env, log := onboardingEnv(t, dayTimings)
	env.OnActivity(a.CheckAppClaimed, mock.Anything, "ig-1").Return(activities.Verdict{Problems: []string{"not yet"}}, nil)
	env.RegisterDelayedCallback(func() { env.CancelWorkflow() }, time.Hour)
	in := onboardingInput
	in.AppApproved = true
	env.ExecuteWorkflow(MetaOnboarding, in)
	if len(log.steps) == 0 || log.steps[0].Stage != store.OnboardClaim || log.mails[0] != "claim@0h" {
		t.Fatalf("a restart with the app approved began with %+v, mails %v", log.steps[0], log.mails)
	}
}

func TestPinterestOnboardingWaitsForACodeThenLogsInAgain(t *testing.T) {
	env, log := onboardingEnv(t, dayTimings)
	logins := 0
	env.OnActivity(a.VerifyPinterestLogin, mock.Anything, "ig-1").Return(func(context.Context, string) (activities.Verdict, error) {
		if logins++; logins == 1 {
			return activities.Verdict{Problems: []string{"Pinterest sent a verification code and none was submitted within 15m0s"}}, nil
		}
		return activities.Verdict{}, nil
	})
	// The person submits a code two days later: the onboarding logs in again.
	env.RegisterDelayedCallback(func() { env.SignalWorkflow(SignalVerification, nil) }, 48*time.Hour)
	env.RegisterWorkflow(IntegrationSync)
	env.OnWorkflow(IntegrationSync, mock.Anything, mock.MatchedBy(func(in IntegrationSyncInput) bool { return in.Provider == "pinterest" })).
		Return(IntegrationSyncResult{Members: 91}, nil).Once()
	env.OnActivity(a.StartSyncSchedule, mock.Anything, "ig-1").Return(nil).Once()
	in := onboardingInput
	in.Provider = "pinterest"
	env.ExecuteWorkflow(PinterestOnboarding, in)
	var res OnboardingResult
	if err := env.GetWorkflowResult(&res); err != nil {
		t.Fatal(err)
	}
	if logins != 2 || res.Sync.Members != 91 {
		t.Fatalf("logins %d, result %+v", logins, res)
	}
	var stages []string
	for _, s := range log.steps {
		if len(stages) == 0 || stages[len(stages)-1] != s.Stage {
			stages = append(stages, s.Stage)
		}
	}
	if want := []string{"login", "first_check", "schedule", "done"}; !slices.Equal(stages, want) {
		t.Fatalf("stages %v, want %v", stages, want)
	}
	if log.steps[1].Action != "onboarding.refused" || log.at[1] != 0 {
		t.Fatalf("the missing code was not recorded at once: %+v at %v", log.steps[1], log.at[1])
	}
	env.AssertNotCalled(t, "ClaimOwner", mock.Anything, mock.Anything)
}

func TestOnboardingFirstCheckFailureFails(t *testing.T) {
	env, log := onboardingEnv(t, dayTimings)
	env.RegisterDelayedCallback(func() { env.SignalWorkflow(SignalAppApproved, nil) }, time.Hour)
	env.OnActivity(a.CheckAppClaimed, mock.Anything, "ig-1").Return(activities.Verdict{}, nil)
	env.RegisterDelayedCallback(func() { env.SignalWorkflow(SignalToken, "cred-1") }, 2*time.Hour)
	env.OnActivity(a.VerifyOnboardingToken, mock.Anything, mock.Anything).Return(activities.Verdict{SystemUserID: "su-1"}, nil)
	env.OnActivity(a.AcceptOnboardingToken, mock.Anything, mock.MatchedBy(func(in activities.AcceptOnboardingTokenInput) bool {
		// Without Meta's created_time, the window starts when the token is accepted.
		return in.RestrictedUntil.Equal(env.Now().Add(dayTimings.RestrictionWindow))
	})).Return(nil).Once()
	env.RegisterDelayedCallback(func() { env.SignalWorkflow(SignalProfile, nil) }, 3*time.Hour)
	env.OnActivity(a.VerifyOnboardingProfile, mock.Anything, "ig-1").Return(activities.Verdict{}, nil)
	env.RegisterWorkflow(IntegrationSync)
	env.OnWorkflow(IntegrationSync, mock.Anything, mock.Anything).Return(IntegrationSyncResult{},
		temporal.NewNonRetryableApplicationError("meta auth_broken: token expired", activities.ErrAuthBroken, nil))
	env.ExecuteWorkflow(MetaOnboarding, onboardingInput)
	var appErr *temporal.ApplicationError
	if err := env.GetWorkflowError(); !errors.As(err, &appErr) || appErr.Type() != ErrOnboardingFailed {
		t.Fatalf("error = %v", err)
	}
	if log.stage() != store.OnboardFailed || !strings.Contains(log.steps[len(log.steps)-1].Message, "first check") {
		t.Fatalf("last step %+v", log.steps[len(log.steps)-1])
	}
	env.AssertNotCalled(t, "StartSyncSchedule", mock.Anything, mock.Anything)
}

// An e-mail that cannot be sent does not end the onboarding: the stage
// records it as a problem and waits on. A step that gives up ends the
// onboarding as failed in Postgres, with why, so it can be restarted.
func TestOnboardingSurvivesMailAndRecordsGivingUp(t *testing.T) {
	env := newEnv(t)
	var steps []activities.OnboardingStep
	env.OnActivity(a.OnboardingTimings, mock.Anything).Return(dayTimings, nil).Once()
	env.OnActivity(a.RecordOnboarding, mock.Anything, mock.Anything).Return(func(_ context.Context, step activities.OnboardingStep) error {
		steps = append(steps, step)
		return nil
	})
	env.OnActivity(a.SendOnboardingMail, mock.Anything, mock.Anything).Return(
		temporal.NewApplicationError("mail: sending to 1 recipients via smtp:25: connection refused", "SMTP"))
	env.RegisterDelayedCallback(func() { env.SignalWorkflow(SignalAppApproved, nil) }, 30*time.Hour)
	env.OnActivity(a.CheckAppClaimed, mock.Anything, "ig-1").Return(activities.Verdict{},
		temporal.NewNonRetryableApplicationError("Meta refused: (#100) Unsupported get request (error 100)", activities.ErrPermanent, nil)).Once()
	env.ExecuteWorkflow(MetaOnboarding, onboardingInput)
	if err := env.GetWorkflowError(); err == nil {
		t.Fatal("the onboarding succeeded")
	}
	mailProblem := slices.ContainsFunc(steps, func(s activities.OnboardingStep) bool {
		return s.Stage == store.OnboardAppApproval && s.Action == "onboarding.mail_failed" && len(s.Problems) == 1 &&
			strings.Contains(s.Problems[0], "connection refused")
	})
	if !mailProblem {
		t.Fatalf("the failed e-mail was not recorded as a problem: %+v", steps)
	}
	if !slices.ContainsFunc(steps, func(s activities.OnboardingStep) bool { return s.Stage == store.OnboardClaim }) {
		t.Fatal("the onboarding did not go on to the claim after the e-mails failed")
	}
	last := steps[len(steps)-1]
	if last.Stage != store.OnboardFailed || !strings.Contains(last.Message, "Unsupported get request") ||
		strings.Contains(last.Message, "activity error") {
		t.Fatalf("last recorded step %+v, want failed with the reason", last)
	}
}
