package workflows

import (
	"context"
	"testing"
	"time"

	"github.com/hubkeeper/hubkeeper/activities"
	"github.com/hubkeeper/hubkeeper/internal/domain"
	"github.com/hubkeeper/hubkeeper/internal/store"
	"github.com/stretchr/testify/mock"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
)

func TestRemoveWaitsForRestrictionWindow(t *testing.T) {
	env := newEnv(t)
	start := env.Now()
	until := start.Add(7 * 24 * time.Hour)
	in := MemberActionInput{WorkspaceID: "ws-1", IntegrationID: "ig-1", MemberID: "m-1", Action: store.ActionRemove, Actor: "api_key:k"}
	var statuses []string
	env.OnActivity(a.RecordMemberAction, mock.Anything, mock.Anything).Return(func(_ context.Context, st activities.MemberActionStatus) error {
		statuses = append(statuses, st.Status)
		if st.Status == "waiting" && (st.WaitingUntil == nil || !st.WaitingUntil.Equal(until)) {
			t.Errorf("waiting until %v, want %v", st.WaitingUntil, until)
		}
		return nil
	})
	env.OnActivity(a.RestrictedUntil, mock.Anything, "ig-1").Return(&until, nil)
	env.OnActivity(a.CheckMemberIntent, mock.Anything, mock.Anything).Return(activities.Intent{Provider: domain.ProviderMeta}, nil).Once()
	var removedAt time.Time
	env.OnActivity(a.RemoveMember, mock.Anything, mock.Anything).Return(func(context.Context, activities.MemberChange) (activities.ProviderChange, error) {
		removedAt = env.Now()
		return activities.ProviderChange{TraceID: "AtraceId"}, nil
	}).Once()
	env.OnActivity(a.ApplyMemberChange, mock.Anything, mock.MatchedBy(func(ch activities.MemberChange) bool {
		return ch.TraceID == "AtraceId" && ch.WorkflowID != ""
	})).Return(nil).Once()
	env.ExecuteWorkflow(MemberAction, in)
	if err := env.GetWorkflowError(); err != nil {
		t.Fatal(err)
	}
	if removedAt.Before(until) {
		t.Fatalf("removed at %v, before the window closed at %v", removedAt, until)
	}
	want := []string{"running", "waiting", "running", "succeeded"}
	if len(statuses) != len(want) {
		t.Fatalf("statuses %v, want %v", statuses, want)
	}
	for i := range want {
		if statuses[i] != want[i] {
			t.Fatalf("statuses %v, want %v", statuses, want)
		}
	}
	env.AssertExpectations(t)
}

func TestLocalActionNeedsNoMeta(t *testing.T) {
	env := newEnv(t)
	env.OnActivity(a.RecordMemberAction, mock.Anything, mock.Anything).Return(nil)
	env.OnActivity(a.ApplyMemberChange, mock.Anything, mock.Anything).Return(nil).Once()
	env.ExecuteWorkflow(MemberAction, MemberActionInput{IntegrationID: "ig-1", MemberID: "m-1", Action: store.ActionExempt, Reason: "agency"})
	if err := env.GetWorkflowError(); err != nil {
		t.Fatal(err)
	}
	env.AssertNotCalled(t, "RemoveMember", mock.Anything, mock.Anything)
	env.AssertNotCalled(t, "RestrictedUntil", mock.Anything, mock.Anything)
}

func TestMetaRestrictionAnswerWaitsAndRetries(t *testing.T) {
	env := newEnv(t)
	env.OnActivity(a.RecordMemberAction, mock.Anything, mock.Anything).Return(nil)
	env.OnActivity(a.RestrictedUntil, mock.Anything, mock.Anything).Return((*time.Time)(nil), nil)
	env.OnActivity(a.CheckMemberIntent, mock.Anything, mock.Anything).Return(activities.Intent{Provider: domain.ProviderMeta}, nil)
	calls := 0
	var first, second time.Time
	env.OnActivity(a.RemoveMember, mock.Anything, mock.Anything).Return(func(context.Context, activities.MemberChange) (activities.ProviderChange, error) {
		calls++
		if calls == 1 {
			first = env.Now()
			return activities.ProviderChange{}, temporal.NewApplicationErrorWithOptions("Meta asks to slow down: This Action Is Not Allowed (error 10/2859030)",
				activities.ErrRateLimited, temporal.ApplicationErrorOptions{NextRetryDelay: 5 * time.Minute})
		}
		second = env.Now()
		return activities.ProviderChange{TraceID: "Atrace"}, nil
	})
	env.OnActivity(a.ApplyMemberChange, mock.Anything, mock.Anything).Return(nil).Once()
	env.ExecuteWorkflow(MemberAction, MemberActionInput{IntegrationID: "ig-1", MemberID: "m-1", Action: store.ActionRemove})
	if err := env.GetWorkflowError(); err != nil {
		t.Fatalf("a restriction answer failed the action: %v", err)
	}
	if calls != 2 || second.Sub(first) < 5*time.Minute {
		t.Fatalf("calls=%d, retried after %v: want a retry after Meta's few minutes", calls, second.Sub(first))
	}
}

// actionEnv runs member actions whose statuses it records, with no restriction window.
func actionEnv(t *testing.T) (*testsuite.TestWorkflowEnvironment, *[]activities.MemberActionStatus) {
	env := newEnv(t)
	var statuses []activities.MemberActionStatus
	env.OnActivity(a.RecordMemberAction, mock.Anything, mock.Anything).Return(func(_ context.Context, st activities.MemberActionStatus) error {
		statuses = append(statuses, st)
		return nil
	})
	env.OnActivity(a.RestrictedUntil, mock.Anything, mock.Anything).Return((*time.Time)(nil), nil)
	return env, &statuses
}

// A queued action that finds its member changed sends nothing and ends
// cancelled with the reason.
func TestActionCalledOffWhenMemberChanged(t *testing.T) {
	env, statuses := actionEnv(t)
	env.OnActivity(a.CheckMemberIntent, mock.Anything, mock.Anything).Return(activities.Intent{Provider: domain.ProviderMeta,
		Cancel: "the member was exempted meanwhile"}, nil).Once()
	env.ExecuteWorkflow(MemberAction, MemberActionInput{IntegrationID: "ig-1", MemberID: "m-1", Action: store.ActionRemove})
	var res MemberActionResult
	if err := env.GetWorkflowResult(&res); err != nil {
		t.Fatal(err)
	}
	if res.Status != store.ActionCancelled || res.Outcome != "the member was exempted meanwhile" {
		t.Fatalf("result %+v", res)
	}
	last := (*statuses)[len(*statuses)-1]
	if last.Status != store.ActionCancelled || last.Outcome != res.Outcome {
		t.Fatalf("recorded %+v", last)
	}
	env.AssertNotCalled(t, "RemoveMember", mock.Anything, mock.Anything)
	env.AssertNotCalled(t, "ApplyMemberChange", mock.Anything, mock.Anything)
}

// The provider comes from the integration, not from the input: a removal
// started without one (a report's) removes at Pinterest when the
// integration is Pinterest's, and one already gone says so.
func TestActionActsAtTheIntegrationsProvider(t *testing.T) {
	env, statuses := actionEnv(t)
	env.OnActivity(a.CheckMemberIntent, mock.Anything, mock.Anything).Return(activities.Intent{Provider: domain.ProviderPinterest}, nil).Once()
	env.OnActivity(a.RemoveMember, mock.Anything, mock.Anything).Return(activities.ProviderChange{AlreadyDone: true}, nil).Once()
	env.OnActivity(a.ApplyMemberChange, mock.Anything, mock.Anything).Return(nil).Once()
	env.ExecuteWorkflow(MemberAction, MemberActionInput{IntegrationID: "ig-1", MemberID: "m-1", Action: store.ActionRemove})
	var res MemberActionResult
	if err := env.GetWorkflowResult(&res); err != nil || res.Status != store.ActionSucceeded || res.Outcome != store.OutcomeGone {
		t.Fatalf("result %+v, %v", res, err)
	}
	if last := (*statuses)[len(*statuses)-1]; last.Status != store.ActionSucceeded || last.Outcome != store.OutcomeGone {
		t.Fatalf("recorded %+v", last)
	}
	env.AssertExpectations(t)
}

// A failure is recorded as the provider's sentence, not Temporal's error chain.
func TestActionFailureRecordsASentence(t *testing.T) {
	env, statuses := actionEnv(t)
	env.OnActivity(a.CheckMemberIntent, mock.Anything, mock.Anything).Return(activities.Intent{Provider: domain.ProviderMeta}, nil).Once()
	env.OnActivity(a.RemoveMember, mock.Anything, mock.Anything).Return(activities.ProviderChange{},
		temporal.NewNonRetryableApplicationError("Meta refused: (#10) Application does not have permission (error 10)", activities.ErrPermanent, nil)).Once()
	env.ExecuteWorkflow(MemberAction, MemberActionInput{IntegrationID: "ig-1", MemberID: "m-1", Action: store.ActionRemove})
	if err := env.GetWorkflowError(); err == nil {
		t.Fatal("the action succeeded")
	}
	last := (*statuses)[len(*statuses)-1]
	if last.Status != store.ActionFailed || last.Error != "Meta refused: (#10) Application does not have permission (error 10)" {
		t.Fatalf("recorded %+v", last)
	}
}
