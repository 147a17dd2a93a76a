package workflows

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"time"

	"github.com/hubkeeper/hubkeeper/internal/temporalclient"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
)

// Directory sync: imports one directory's users into Postgres. It runs from
// a daily Schedule per directory and from a manual trigger.

// DirectorySyncID is the workflow id of a directory's manual syncs and the
// id of its Schedule (scheduled runs get a timestamp suffix).
func DirectorySyncID(directoryID string) string { return "directory-sync/" + directoryID }

// DirectorySyncInput carries ids only; the workflow loads everything else.
type DirectorySyncInput struct {
	WorkspaceID string
	DirectoryID string
	// Provider is the directory type (okta, entra), shown as a search attribute.
	Provider string
	// Trigger says who started the run: "api", "schedule", "starter", "dev".
	Trigger string
}

// DirectorySyncResult is what one import did. User lists stay in Postgres.
type DirectorySyncResult struct {
	SyncRunID     string
	Added         int
	Changed       int
	Deprovisioned int
	Unchanged     int
	Requests      int
	// Groups is how many groups the directory has after the import.
	Groups int
}

// Stages of a directory sync, shown in the Stage search attribute.
const (
	StageStarting = "starting"
	StageFetching = "fetching"
	StageApplying = "applying"
	StageDone     = "done"
	StageFailed   = "failed"
)

func directorySyncAttributes(in DirectorySyncInput) temporal.SearchAttributes {
	return temporal.NewSearchAttributes(
		temporalclient.WorkspaceID.ValueSet(in.WorkspaceID),
		temporalclient.DirectoryID.ValueSet(in.DirectoryID),
		temporalclient.Provider.ValueSet(in.Provider),
		temporalclient.Stage.ValueSet(StageStarting),
	)
}

// StartDirectorySync starts a manual sync, or returns the run already in
// progress for the directory, so two triggers never import twice at once.
func StartDirectorySync(ctx context.Context, c client.Client, taskQueue string, in DirectorySyncInput) (client.WorkflowRun, error) {
	run, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
		ID:                       DirectorySyncID(in.DirectoryID),
		Priority:                 tenant(in.WorkspaceID),
		TaskQueue:                taskQueue,
		WorkflowIDConflictPolicy: enumspb.WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING,
		WorkflowIDReusePolicy:    enumspb.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE,
		TypedSearchAttributes:    directorySyncAttributes(in),
		StaticSummary:            "Directory import (" + in.Provider + ", " + in.Trigger + ")",
	}, DirectorySync, in)
	if err != nil {
		return nil, fmt.Errorf("start directory sync: %w", err)
	}
	return run, nil
}

// EnsureDirectorySyncSchedule creates the directory's daily Schedule, or
// leaves an existing one alone.
func EnsureDirectorySyncSchedule(ctx context.Context, c client.Client, taskQueue string, every time.Duration, in DirectorySyncInput) error {
	in.Trigger = "schedule"
	return ensureDailySchedule(ctx, c, DirectorySyncID(in.DirectoryID), every, &client.ScheduleWorkflowAction{
		ID: DirectorySyncID(in.DirectoryID), Workflow: DirectorySync, Args: []any{in}, TaskQueue: taskQueue, Priority: tenant(in.WorkspaceID),
		TypedSearchAttributes: directorySyncAttributes(in)})
}

// ensureDailySchedule creates a Schedule running action every interval
// (overlap: skip, missed runs caught up within one interval), or leaves an
// existing one alone. Its first run is spread by the id, so Schedules
// created together do not all fire at once.
func ensureDailySchedule(ctx context.Context, c client.Client, id string, every time.Duration, action *client.ScheduleWorkflowAction) error {
	h := fnv.New64a()
	h.Write([]byte(id))
	_, err := c.ScheduleClient().Create(ctx, client.ScheduleOptions{
		ID:            id,
		Spec:          client.ScheduleSpec{Intervals: []client.ScheduleIntervalSpec{{Every: every, Offset: time.Duration(h.Sum64() % uint64(every))}}, Jitter: every / 48},
		Overlap:       enumspb.SCHEDULE_OVERLAP_POLICY_SKIP,
		CatchupWindow: every,
		Action:        action,
	})
	var exists *serviceerror.AlreadyExists
	if err != nil && !errors.Is(err, temporal.ErrScheduleAlreadyRunning) && !errors.As(err, &exists) {
		return fmt.Errorf("create schedule %s: %w", id, err)
	}
	return nil
}
