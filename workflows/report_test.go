package workflows

import (
	"context"
	"errors"
	"maps"
	"slices"
	"testing"
	"time"

	"github.com/hubkeeper/hubkeeper/activities"
	"github.com/hubkeeper/hubkeeper/internal/store"
	"github.com/stretchr/testify/mock"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
)

var reportInput = ReportInput{ReportID: "r-1", WorkspaceID: "ws-1", IntegrationID: "ig-1"}

// reviewEnv mocks the report activities and counts the e-mails by kind.
func reviewEnv(t *testing.T, status func() string) (*testsuite.TestWorkflowEnvironment, map[string][]time.Time) {
	env := newEnv(t)
	env.RegisterWorkflow(MemberAction)
	sent := map[string][]time.Time{}
	env.OnActivity(a.ReportTimings, mock.Anything).Return(activities.ReportTimings{RemindEvery: 24 * time.Hour, ExpireAfter: 7 * 24 * time.Hour}, nil)
	env.OnActivity(a.SendReportMail, mock.Anything, mock.Anything).Return(func(_ context.Context, in activities.ReportMailInput) error {
		sent[in.Kind] = append(sent[in.Kind], env.Now())
		return nil
	})
	env.OnActivity(a.ReportStatus, mock.Anything, "r-1").Return(func(context.Context, string) (string, error) { return status(), nil })
	return env, sent
}

func TestReportExpiresWithNothingRemoved(t *testing.T) {
	env, sent := reviewEnv(t, func() string { return "pending" })
	start := env.Now()
	var expiredAt time.Time
	env.OnActivity(a.ExpireReport, mock.Anything, "r-1").Return(func(context.Context, string) error {
		expiredAt = env.Now()
		return nil
	}).Once()
	env.ExecuteWorkflow(DeprovisionReport, reportInput)
	var res ReportResult
	if err := env.GetWorkflowResult(&res); err != nil || res.Status != ReportExpired {
		t.Fatalf("result %+v, %v", res, err)
	}
	if len(sent[activities.MailRequest]) != 1 || len(sent[activities.MailReminder]) != 6 {
		t.Fatalf("sent %d requests and %d reminders, want 1 and 6 (one a day until day 7)", len(sent[activities.MailRequest]), len(sent[activities.MailReminder]))
	}
	if got := sent[activities.MailReminder][0].Sub(start); got != 24*time.Hour {
		t.Fatalf("first reminder after %v", got)
	}
	if expiredAt.Sub(start) != 7*24*time.Hour {
		t.Fatalf("expired after %v", expiredAt.Sub(start))
	}
	env.AssertNotCalled(t, "ReportIncludedMembers", mock.Anything, mock.Anything)
}

func TestReportConfirmedRemovesIncludedPeople(t *testing.T) {
	decided := false
	env, sent := reviewEnv(t, func() string {
		if decided {
			return ReportConfirmed
		}
		return "pending"
	})
	// A signal while the report is still pending (its decision did not commit) changes nothing.
	env.RegisterDelayedCallback(func() { env.SignalWorkflow(SignalDecision, nil) }, 12*time.Hour)
	env.RegisterDelayedCallback(func() { decided = true; env.SignalWorkflow(SignalDecision, nil) }, 50*time.Hour)
	env.OnActivity(a.ReportIncludedMembers, mock.Anything, "r-1").Return([]string{"m-1", "m-2"}, nil).Once()
	env.OnWorkflow(MemberAction, mock.Anything, mock.MatchedBy(func(in MemberActionInput) bool { return in.MemberID == "m-1" })).
		Return(MemberActionResult{Status: store.ActionSucceeded, Outcome: store.OutcomeRemoved}, nil)
	env.OnWorkflow(MemberAction, mock.Anything, mock.MatchedBy(func(in MemberActionInput) bool { return in.MemberID == "m-2" })).
		Return(MemberActionResult{}, errors.New("meta permission denied"))
	env.OnActivity(a.FinishReport, mock.Anything, mock.MatchedBy(func(in activities.FinishReportInput) bool {
		return in.Results["m-1"].Result == store.ResultRemoved && in.Results["m-2"].Result == store.ResultFailed
	})).Return("partially_applied", nil).Once()
	env.ExecuteWorkflow(DeprovisionReport, reportInput)
	var res ReportResult
	if err := env.GetWorkflowResult(&res); err != nil {
		t.Fatal(err)
	}
	if res.Status != "partially_applied" || res.Removed != 1 || res.Failed != 1 {
		t.Fatalf("result %+v", res)
	}
	if len(sent[activities.MailReminder]) != 2 || len(sent[activities.MailSummary]) != 1 {
		t.Fatalf("reminders %d, summaries %d; want 2 (days 1 and 2) and 1", len(sent[activities.MailReminder]), len(sent[activities.MailSummary]))
	}
	env.AssertExpectations(t)
}

func TestReportRejectedRemovesNobody(t *testing.T) {
	env, _ := reviewEnv(t, func() string { return ReportRejected })
	env.RegisterDelayedCallback(func() { env.SignalWorkflow(SignalDecision, nil) }, time.Hour)
	env.ExecuteWorkflow(DeprovisionReport, reportInput)
	var res ReportResult
	if err := env.GetWorkflowResult(&res); err != nil || res.Status != ReportRejected {
		t.Fatalf("result %+v, %v", res, err)
	}
	env.AssertNotCalled(t, "ReportIncludedMembers", mock.Anything, mock.Anything)
}

// A decision recorded before the review waits (its signal found no
// workflow) is seen at once.
func TestReportDecidedBeforeReviewWaits(t *testing.T) {
	env, sent := reviewEnv(t, func() string { return ReportRejected })
	env.ExecuteWorkflow(DeprovisionReport, reportInput)
	var res ReportResult
	if err := env.GetWorkflowResult(&res); err != nil || res.Status != ReportRejected {
		t.Fatalf("result %+v, %v", res, err)
	}
	if len(sent[activities.MailReminder]) != 0 {
		t.Fatal("reminded about a decided report")
	}
}

// Each confirmed person's outcome is a sentence: removed, already gone,
// not removed and why (the member changed, or the provider refused); the
// removals name their report, whose members they expect.
func TestReportOutcomesAreSentences(t *testing.T) {
	env, _ := reviewEnv(t, func() string { return ReportConfirmed })
	env.OnActivity(a.ReportIncludedMembers, mock.Anything, "r-1").Return([]string{"m-1", "m-2", "m-3", "m-4"}, nil).Once()
	results := map[string]struct {
		res MemberActionResult
		err error
	}{
		"m-1": {MemberActionResult{Status: store.ActionSucceeded, Outcome: store.OutcomeRemoved}, nil},
		"m-2": {MemberActionResult{Status: store.ActionSucceeded, Outcome: store.OutcomeGone}, nil},
		"m-3": {MemberActionResult{Status: store.ActionCancelled, Outcome: "the member was exempted meanwhile"}, nil},
		"m-4": {MemberActionResult{}, temporal.NewNonRetryableApplicationError("Meta refused: (#10) no permission (error 10)", activities.ErrPermanent, nil)},
	}
	for id, r := range results {
		env.OnWorkflow(MemberAction, mock.Anything, mock.MatchedBy(func(in MemberActionInput) bool {
			return in.MemberID == id && in.ReportID == "r-1" && in.Action == store.ActionRemove
		})).Return(r.res, r.err).Once()
	}
	var got map[string]store.RemovalResult
	env.OnActivity(a.FinishReport, mock.Anything, mock.Anything).Return(func(_ context.Context, in activities.FinishReportInput) (string, error) {
		got = in.Results
		return "partially_applied", nil
	}).Once()
	env.ExecuteWorkflow(DeprovisionReport, reportInput)
	var res ReportResult
	if err := env.GetWorkflowResult(&res); err != nil || res.Removed != 2 || res.Failed != 2 {
		t.Fatalf("result %+v, %v", res, err)
	}
	want := map[string]store.RemovalResult{
		"m-1": {Result: store.ResultRemoved, Outcome: "removed"},
		"m-2": {Result: store.ResultGone, Outcome: "already gone"},
		"m-3": {Result: store.ResultCancelled, Outcome: "not removed: the member was exempted meanwhile"},
		"m-4": {Result: store.ResultFailed, Outcome: "not removed: Meta refused: (#10) no permission (error 10)"},
	}
	if !maps.Equal(got, want) {
		t.Fatalf("results\n%v\nwant\n%v", got, want)
	}
}

// E-mails that cannot be sent are noted and the review waits on: a decision
// still removes people, and the review ends as it should.
func TestReportWaitsOnWhenMailFails(t *testing.T) {
	env := newEnv(t)
	env.RegisterWorkflow(MemberAction)
	decided := false
	env.OnActivity(a.ReportTimings, mock.Anything).Return(activities.ReportTimings{RemindEvery: 24 * time.Hour, ExpireAfter: 7 * 24 * time.Hour}, nil)
	env.OnActivity(a.SendReportMail, mock.Anything, mock.Anything).Return(temporal.NewApplicationError("mail: 451 try later", "SMTP"))
	var noted []string
	env.OnActivity(a.NoteReportMailFailed, mock.Anything, mock.Anything).Return(func(_ context.Context, in activities.ReportMailFailure) error {
		noted = append(noted, in.Kind)
		return nil
	})
	env.OnActivity(a.ReportStatus, mock.Anything, "r-1").Return(func(context.Context, string) (string, error) {
		if decided {
			return ReportConfirmed, nil
		}
		return "pending", nil
	})
	env.RegisterDelayedCallback(func() { decided = true; env.SignalWorkflow(SignalDecision, nil) }, 30*time.Hour)
	env.OnActivity(a.ReportIncludedMembers, mock.Anything, "r-1").Return([]string{"m-1"}, nil).Once()
	env.OnWorkflow(MemberAction, mock.Anything, mock.Anything).Return(MemberActionResult{Status: store.ActionSucceeded, Outcome: store.OutcomeRemoved}, nil)
	env.OnActivity(a.FinishReport, mock.Anything, mock.Anything).Return("applied", nil).Once()
	env.ExecuteWorkflow(DeprovisionReport, reportInput)
	var res ReportResult
	if err := env.GetWorkflowResult(&res); err != nil || res.Status != "applied" || res.Removed != 1 {
		t.Fatalf("result %+v, %v", res, err)
	}
	if !slices.Equal(noted, []string{activities.MailRequest, activities.MailReminder, activities.MailSummary}) {
		t.Fatalf("noted failed e-mails %v", noted)
	}
}
