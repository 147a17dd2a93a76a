package workflows

import (
	"context"
	"testing"
	"time"

	"github.com/hubkeeper/hubkeeper/activities"
	"github.com/hubkeeper/hubkeeper/internal/store"
	"github.com/stretchr/testify/mock"
	"go.temporal.io/sdk/temporal"
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
	var removedAt time.Time
	env.OnActivity(a.RemoveMetaMember, mock.Anything, mock.Anything).Return(func(context.Context, activities.MemberChange) (string, error) {
		removedAt = env.Now()
		return "AtraceId", nil
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
	env.AssertNotCalled(t, "RemoveMetaMember", mock.Anything, mock.Anything)
	env.AssertNotCalled(t, "RestrictedUntil", mock.Anything, mock.Anything)
}

func TestMetaRestrictionAnswerWaitsAndRetries(t *testing.T) {
	env := newEnv(t)
	env.OnActivity(a.RecordMemberAction, mock.Anything, mock.Anything).Return(nil)
	env.OnActivity(a.RestrictedUntil, mock.Anything, mock.Anything).Return((*time.Time)(nil), nil)
	calls := 0
	var first, second time.Time
	env.OnActivity(a.RemoveMetaMember, mock.Anything, mock.Anything).Return(func(context.Context, activities.MemberChange) (string, error) {
		calls++
		if calls == 1 {
			first = env.Now()
			return "", temporal.NewApplicationErrorWithOptions("meta rate_limited (HTTP 400 10/2859030): This Action Is Not Allowed",
				activities.ErrRateLimited, temporal.ApplicationErrorOptions{NextRetryDelay: 5 * time.Minute})
		}
		second = env.Now()
		return "Atrace", nil
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
