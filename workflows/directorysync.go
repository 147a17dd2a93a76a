// Package workflows holds Hubkeeper's Temporal workflows. Each family has a
// contract file (IDs, inputs, results, how to start it) and a workflow file.
// Workflows carry ids only: secrets and user lists stay in Postgres.
package workflows

import (
	"fmt"
	"time"

	"github.com/hubkeeper/hubkeeper/activities"
	"github.com/hubkeeper/hubkeeper/internal/store"
	"github.com/hubkeeper/hubkeeper/internal/temporalclient"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"
)

// a refers to the activities; the SDK calls them by name.
var a *activities.Activities

// DirectorySync imports one directory: record a sync run, fetch every page
// into Postgres (heartbeating, resumable), apply the import in one
// transaction, and mark the run failed if anything gives up. An import the
// deprovision safeguard halts fails as ErrSafeguardHalted, applying nothing.
func DirectorySync(ctx workflow.Context, in DirectorySyncInput) (DirectorySyncResult, error) {
	if id := DirectorySyncID(in.DirectoryID); workflow.GetInfo(ctx).WorkflowExecution.ID != id &&
		workflow.GetVersion(ctx, "one-import-at-a-time", workflow.DefaultVersion, 1) == 1 {
		return runUnderOwnID[DirectorySyncResult](ctx, id, DirectorySync, in, directorySyncAttributes(in))
	}
	s := &directorySync{in: in}
	return s.run(ctx)
}

type directorySync struct {
	in     DirectorySyncInput
	result DirectorySyncResult
}

func (s *directorySync) run(ctx workflow.Context) (DirectorySyncResult, error) {
	info := workflow.GetInfo(ctx)
	if err := workflow.UpsertTypedSearchAttributes(ctx,
		temporalclient.WorkspaceID.ValueSet(s.in.WorkspaceID),
		temporalclient.DirectoryID.ValueSet(s.in.DirectoryID),
		temporalclient.Provider.ValueSet(s.in.Provider)); err != nil {
		return s.result, err
	}
	setStage(ctx, StageStarting, "Recording the sync run")

	short := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{StartToCloseTimeout: 30 * time.Second, RetryPolicy: quickRetry})
	err := workflow.ExecuteActivity(short, a.StartDirectorySync, activities.StartDirectorySyncInput{
		DirectoryID: s.in.DirectoryID, Trigger: s.in.Trigger, WorkflowID: info.WorkflowExecution.ID, RunID: info.WorkflowExecution.RunID,
	}).Get(ctx, &s.result.SyncRunID)
	if err != nil {
		setStage(ctx, StageFailed, "Could not record the sync run: "+explain(ctx, err))
		return s.result, err
	}

	slot := activities.SlotRequest{Provider: s.in.Provider, WorkspaceID: s.in.WorkspaceID, SyncRunID: s.result.SyncRunID}
	if err := withSlot(ctx, slot, func() error { return s.fetchAndApply(ctx, short) }); err != nil {
		why := explain(ctx, err)
		setStage(ctx, StageFailed, "Import failed: "+why)
		cleanup := recording(short)
		if ferr := workflow.ExecuteActivity(cleanup, a.FailSyncRun, activities.FailSyncRunInput{
			SyncRunID: s.result.SyncRunID, Message: why}).Get(cleanup, nil); ferr != nil {
			workflow.GetLogger(ctx).Error("recording the failure", "error", ferr)
		}
		return s.result, err
	}
	setStage(ctx, StageDone, fmt.Sprintf("Imported: %d added, %d changed, %d deprovisioned, %d unchanged (%d requests)",
		s.result.Added, s.result.Changed, s.result.Deprovisioned, s.result.Unchanged, s.result.Requests))
	return s.result, nil
}

func (s *directorySync) fetchAndApply(ctx, short workflow.Context) error {
	setStage(ctx, StageFetching, "Fetching users from the directory (progress: GET /v1/directories/"+s.in.DirectoryID+"/sync-runs)")
	fetchCtx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: 2 * time.Hour,
		HeartbeatTimeout:    activities.HeartbeatTimeout,
		RetryPolicy: &temporal.RetryPolicy{InitialInterval: 5 * time.Second, BackoffCoefficient: 2, MaximumInterval: 10 * time.Minute,
			MaximumAttempts: 12, NonRetryableErrorTypes: activities.NonRetryable},
	})
	var fetched activities.FetchResult
	if err := workflow.ExecuteActivity(fetchCtx, a.FetchDirectoryUsers, s.result.SyncRunID).Get(ctx, &fetched); err != nil {
		return err
	}
	s.result.Requests = fetched.Requests

	setStage(ctx, StageApplying, fmt.Sprintf("Applying %d fetched users", fetched.Fetched))
	applyCtx := workflow.WithActivityOptions(short, workflow.ActivityOptions{StartToCloseTimeout: time.Hour,
		HeartbeatTimeout: activities.HeartbeatTimeout, RetryPolicy: quickRetry})
	var counts activities.ApplyResult
	if err := workflow.ExecuteActivity(applyCtx, a.ApplyDirectoryImport, s.result.SyncRunID).Get(ctx, &counts); err != nil {
		return err
	}
	s.result.Added, s.result.Changed, s.result.Deprovisioned, s.result.Unchanged = counts.Added, counts.Changed, counts.Deprovisioned, counts.Unchanged
	if counts.Halted {
		return temporal.NewNonRetryableApplicationError(counts.HaltReason, ErrSafeguardHalted, nil)
	}
	if workflow.GetVersion(ctx, "directory-groups", workflow.DefaultVersion, 1) == workflow.DefaultVersion {
		return nil
	}
	setStage(ctx, StageApplying, "Importing the directory's groups")
	var groups store.GroupCounts
	if err := workflow.ExecuteActivity(fetchCtx, a.ImportDirectoryGroups, s.result.SyncRunID).Get(ctx, &groups); err != nil {
		return err
	}
	s.result.Groups = groups.Groups
	return nil
}
