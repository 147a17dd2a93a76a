package workflows

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/hubkeeper/hubkeeper/activities"
	"github.com/hubkeeper/hubkeeper/internal/domain"
	"github.com/hubkeeper/hubkeeper/internal/secrets"
	"github.com/hubkeeper/hubkeeper/internal/store"
	"github.com/hubkeeper/hubkeeper/internal/temporalclient"
	"github.com/hubkeeper/hubkeeper/internal/temporaltest"
	"github.com/stretchr/testify/mock"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/worker"
)

var input = DirectorySyncInput{WorkspaceID: "ws-1", DirectoryID: "dir-1", Provider: "okta", Trigger: "test"}

// newEnv is a test environment in which every check and import gets its
// slot at once.
func newEnv(t *testing.T) *testsuite.TestWorkflowEnvironment {
	env := withoutSlots()
	env.OnActivity(a.TakeSlot, mock.Anything, mock.Anything).Return(nil).Maybe()
	env.OnActivity(a.ReleaseSlot, mock.Anything, mock.Anything).Return(nil).Maybe()
	return env
}

// withoutSlots is a test environment whose tests say what slots do.
func withoutSlots() *testsuite.TestWorkflowEnvironment {
	var suite testsuite.WorkflowTestSuite
	env := suite.NewTestWorkflowEnvironment()
	env.RegisterActivity(&activities.Activities{})
	return env
}

func TestDirectorySyncSucceeds(t *testing.T) {
	env := newEnv(t)
	env.OnActivity(a.StartDirectorySync, mock.Anything, mock.MatchedBy(func(in activities.StartDirectorySyncInput) bool {
		return in.DirectoryID == "dir-1" && in.WorkflowID != "" && in.RunID != ""
	})).Return("run-1", nil).Once()
	env.OnActivity(a.FetchDirectoryUsers, mock.Anything, "run-1").Return(activities.FetchResult{Fetched: 12, Requests: 3}, nil).Once()
	env.OnActivity(a.ApplyDirectoryImport, mock.Anything, "run-1").Return(activities.ApplyResult{SyncCounts: domain.SyncCounts{Added: 10, Unchanged: 2}}, nil).Once()
	env.OnActivity(a.ImportDirectoryGroups, mock.Anything, "run-1").Return(store.GroupCounts{Groups: 4}, nil).Once()
	env.ExecuteWorkflow(DirectorySync, input)
	if err := env.GetWorkflowError(); err != nil {
		t.Fatal(err)
	}
	var res DirectorySyncResult
	if err := env.GetWorkflowResult(&res); err != nil {
		t.Fatal(err)
	}
	want := DirectorySyncResult{SyncRunID: "run-1", Added: 10, Unchanged: 2, Requests: 3, Groups: 4}
	if res != want {
		t.Fatalf("result = %+v, want %+v", res, want)
	}
	env.AssertExpectations(t)
}

func TestDirectorySyncAuthBrokenFailsOnceAndRecords(t *testing.T) {
	env := newEnv(t)
	env.OnActivity(a.StartDirectorySync, mock.Anything, mock.Anything).Return("run-1", nil)
	env.OnActivity(a.FetchDirectoryUsers, mock.Anything, "run-1").Return(activities.FetchResult{},
		temporal.NewNonRetryableApplicationError("okta auth_broken (HTTP 401 E0000011): Okta rejected the API token", activities.ErrAuthBroken, nil)).Once()
	env.OnActivity(a.FailSyncRun, mock.Anything, mock.MatchedBy(func(in activities.FailSyncRunInput) bool {
		return in.SyncRunID == "run-1" && in.Message != ""
	})).Return(nil).Once()
	env.ExecuteWorkflow(DirectorySync, input)
	var appErr *temporal.ApplicationError
	if err := env.GetWorkflowError(); !errors.As(err, &appErr) || appErr.Type() != activities.ErrAuthBroken {
		t.Fatalf("error = %v, want AuthBroken", err)
	}
	env.AssertExpectations(t)
	env.AssertNotCalled(t, "ApplyDirectoryImport", mock.Anything, mock.Anything)
}

func TestDirectorySyncWaitsOutRateLimit(t *testing.T) {
	env := newEnv(t)
	env.OnActivity(a.StartDirectorySync, mock.Anything, mock.Anything).Return("run-1", nil)
	calls := 0
	var firstAt, secondAt time.Time
	env.OnActivity(a.FetchDirectoryUsers, mock.Anything, "run-1").Return(func(_ context.Context, _ string) (activities.FetchResult, error) {
		calls++
		if calls == 1 {
			firstAt = env.Now()
			pe := &domain.ProviderError{Provider: "okta", Kind: domain.RateLimited, RetryAfter: 20 * time.Minute, Message: "slow down"}
			return activities.FetchResult{}, temporal.NewApplicationErrorWithOptions(pe.Error(), activities.ErrRateLimited,
				temporal.ApplicationErrorOptions{NextRetryDelay: pe.RetryAfter})
		}
		secondAt = env.Now()
		return activities.FetchResult{Fetched: 1, Requests: 1}, nil
	})
	env.OnActivity(a.ApplyDirectoryImport, mock.Anything, "run-1").Return(activities.ApplyResult{SyncCounts: domain.SyncCounts{Added: 1}}, nil)
	env.OnActivity(a.ImportDirectoryGroups, mock.Anything, "run-1").Return(store.GroupCounts{}, nil)
	env.ExecuteWorkflow(DirectorySync, input)
	if err := env.GetWorkflowError(); err != nil {
		t.Fatal(err)
	}
	if calls != 2 || secondAt.Sub(firstAt) < 20*time.Minute {
		t.Fatalf("calls=%d, retried after %v: want the server's 20m hint honoured", calls, secondAt.Sub(firstAt))
	}
}

func TestReplayExportedHistories(t *testing.T) {
	keys, err := secrets.ParseKeyring(temporaltest.KeySpec)
	if err != nil {
		t.Fatal(err)
	}
	replayer, err := worker.NewWorkflowReplayerWithOptions(worker.WorkflowReplayerOptions{DataConverter: temporalclient.DataConverter(keys),
		FailureConverter: temporalclient.FailureConverter(keys)})
	if err != nil {
		t.Fatal(err)
	}
	replayer.RegisterWorkflow(DirectorySync)
	replayer.RegisterWorkflow(IntegrationSync)
	replayer.RegisterWorkflow(MemberAction)
	replayer.RegisterWorkflow(DeprovisionReport)
	replayer.RegisterWorkflow(MetaOnboarding)
	replayer.RegisterWorkflow(PinterestOnboarding)
	replayer.RegisterWorkflow(BulkMemberAction)
	replayer.RegisterWorkflow(Retention)
	replayer.RegisterWorkflow(GroupRule)
	// Every history in testdata, those recorded by older code included.
	names, err := filepath.Glob("testdata/*.json")
	if err != nil || len(names) < 20 {
		t.Fatalf("%d histories in testdata (%v)", len(names), err)
	}
	for _, name := range names {
		t.Run(name, func(t *testing.T) {
			if err := replayer.ReplayWorkflowHistoryFromJSONFile(nil, name); err != nil {
				t.Fatalf("replay: %v", err)
			}
		})
	}
}

// An import the deprovision safeguard halted fails as SafeguardHalted, not
// retried, and its run is left as the apply recorded it.
func TestDirectorySyncSafeguardHalts(t *testing.T) {
	env := newEnv(t)
	env.OnActivity(a.StartDirectorySync, mock.Anything, mock.Anything).Return("run-1", nil)
	env.OnActivity(a.FetchDirectoryUsers, mock.Anything, "run-1").Return(activities.FetchResult{Fetched: 3}, nil)
	env.OnActivity(a.ApplyDirectoryImport, mock.Anything, "run-1").Return(activities.ApplyResult{Halted: true,
		HaltReason: "deprovision safeguard: 90 of 100 users"}, nil).Once()
	env.OnActivity(a.FailSyncRun, mock.Anything, mock.Anything).Return(nil).Once()
	env.ExecuteWorkflow(DirectorySync, input)
	var appErr *temporal.ApplicationError
	if err := env.GetWorkflowError(); !errors.As(err, &appErr) || appErr.Type() != ErrSafeguardHalted || !appErr.NonRetryable() {
		t.Fatalf("error = %v, want a non-retryable %s", err, ErrSafeguardHalted)
	}
	env.AssertExpectations(t)
}
