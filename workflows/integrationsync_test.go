package workflows

import (
	"errors"
	"testing"

	"github.com/hubkeeper/hubkeeper/activities"
	"github.com/stretchr/testify/mock"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
)

var igInput = IntegrationSyncInput{WorkspaceID: "ws-1", IntegrationID: "ig-1", Provider: "meta", BusinessID: "9001", Trigger: "test"}

func TestIntegrationSyncSucceeds(t *testing.T) {
	env := newEnv(t)
	env.OnActivity(a.StartIntegrationSync, mock.Anything, mock.Anything).Return("run-1", nil).Once()
	env.OnActivity(a.FetchMetaMembers, mock.Anything, "run-1").Return(120, nil).Once()
	env.OnActivity(a.FetchMetaAssets, mock.Anything, "run-1").Return(16, nil).Once()
	env.OnActivity(a.FetchMetaGrants, mock.Anything, "run-1").Return(80, nil).Once()
	env.OnActivity(a.ReconcileIntegration, mock.Anything, "run-1").Return(activities.ReconcileResult{Added: 118, Removed: 2}, nil).Once()
	env.ExecuteWorkflow(IntegrationSync, igInput)
	if err := env.GetWorkflowError(); err != nil {
		t.Fatal(err)
	}
	var res IntegrationSyncResult
	_ = env.GetWorkflowResult(&res)
	want := IntegrationSyncResult{SyncRunID: "run-1", Members: 120, Assets: 16, Grants: 80, Added: 118, Removed: 2}
	if res != want {
		t.Fatalf("result = %+v, want %+v", res, want)
	}
	env.AssertExpectations(t)
}

func TestIntegrationSyncSafeguardHalts(t *testing.T) {
	env := newEnv(t)
	env.OnActivity(a.StartIntegrationSync, mock.Anything, mock.Anything).Return("run-1", nil)
	env.OnActivity(a.FetchMetaMembers, mock.Anything, "run-1").Return(3, nil)
	env.OnActivity(a.FetchMetaAssets, mock.Anything, "run-1").Return(0, nil)
	env.OnActivity(a.FetchMetaGrants, mock.Anything, "run-1").Return(0, nil)
	env.OnActivity(a.ReconcileIntegration, mock.Anything, "run-1").Return(activities.ReconcileResult{Halted: true, Removed: 90,
		HaltReason: "removal safeguard: 90 of 100 members"}, nil).Once()
	env.OnActivity(a.FailSyncRun, mock.Anything, mock.Anything).Return(nil).Once()
	env.ExecuteWorkflow(IntegrationSync, igInput)
	var appErr *temporal.ApplicationError
	if err := env.GetWorkflowError(); !errors.As(err, &appErr) || appErr.Type() != ErrSafeguardHalted || !appErr.NonRetryable() {
		t.Fatalf("error = %v, want a non-retryable %s", err, ErrSafeguardHalted)
	}
}

func TestIntegrationSyncTokenRejected(t *testing.T) {
	env := newEnv(t)
	env.OnActivity(a.StartIntegrationSync, mock.Anything, mock.Anything).Return("run-1", nil)
	// Both fetches run at once; the workflow ends at the first failure, so the
	// other may never be run.
	env.OnActivity(a.FetchMetaMembers, mock.Anything, "run-1").Return(0,
		temporal.NewNonRetryableApplicationError("meta auth_broken (HTTP 400 190/463)", activities.ErrAuthBroken, nil)).Maybe()
	env.OnActivity(a.FetchMetaAssets, mock.Anything, "run-1").Return(0,
		temporal.NewNonRetryableApplicationError("meta auth_broken (HTTP 400 190/463)", activities.ErrAuthBroken, nil)).Once()
	env.OnActivity(a.FailSyncRun, mock.Anything, mock.MatchedBy(func(in activities.FailSyncRunInput) bool { return in.SyncRunID == "run-1" })).Return(nil).Once()
	env.ExecuteWorkflow(IntegrationSync, igInput)
	var appErr *temporal.ApplicationError
	if err := env.GetWorkflowError(); !errors.As(err, &appErr) || appErr.Type() != activities.ErrAuthBroken {
		t.Fatalf("error = %v", err)
	}
	env.AssertExpectations(t)
	env.AssertNotCalled(t, "ReconcileIntegration", mock.Anything, mock.Anything)
}

// A Schedule's run (its id suffixed with the time) checks as a child under
// the integration's own id, the one manual triggers find.
func TestScheduledCheckRunsUnderItsOwnID(t *testing.T) {
	env := newEnv(t)
	env.SetStartWorkflowOptions(client.StartWorkflowOptions{ID: IntegrationSyncID("ig-1") + "-2026-12-01T00:00:00Z"})
	env.OnActivity(a.StartIntegrationSync, mock.Anything, mock.MatchedBy(func(in activities.StartIntegrationSyncInput) bool {
		return in.WorkflowID == IntegrationSyncID("ig-1")
	})).Return("run-1", nil).Once()
	env.OnActivity(a.FetchMetaMembers, mock.Anything, "run-1").Return(3, nil)
	env.OnActivity(a.FetchMetaAssets, mock.Anything, "run-1").Return(1, nil)
	env.OnActivity(a.FetchMetaGrants, mock.Anything, "run-1").Return(2, nil)
	env.OnActivity(a.ReconcileIntegration, mock.Anything, "run-1").Return(activities.ReconcileResult{Added: 3}, nil).Once()
	env.ExecuteWorkflow(IntegrationSync, igInput)
	var res IntegrationSyncResult
	if err := env.GetWorkflowResult(&res); err != nil || res.SyncRunID != "run-1" || res.Added != 3 {
		t.Fatalf("result %+v, %v", res, err)
	}
	env.AssertExpectations(t)
}
