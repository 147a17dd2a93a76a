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

// Integration sync ("check for updates"): imports a business center's
// members, assets and grants and reconciles them. A daily Schedule per
// integration runs it, and so does a manual trigger.

// IntegrationSyncID is the workflow id of an integration's manual checks
// and the id of its Schedule.
func IntegrationSyncID(integrationID string) string { return "sync/" + integrationID }

// IntegrationSyncInput carries ids only.
type IntegrationSyncInput struct {
	WorkspaceID   string
	IntegrationID string
	Provider      string
	BusinessID    string
	Trigger       string
}

// IntegrationSyncResult is what one check did; lists stay in Postgres.
type IntegrationSyncResult struct {
	SyncRunID                          string
	Members, Assets, Grants            int
	Added, Changed, Removed, Unchanged int
}

// ErrSafeguardHalted is the failure type of a check the removal safeguard stopped.
const ErrSafeguardHalted = "SafeguardHalted"

func integrationSyncAttributes(in IntegrationSyncInput) temporal.SearchAttributes {
	return temporal.NewSearchAttributes(
		temporalclient.WorkspaceID.ValueSet(in.WorkspaceID),
		temporalclient.IntegrationID.ValueSet(in.IntegrationID),
		temporalclient.Provider.ValueSet(in.Provider),
		temporalclient.BusinessID.ValueSet(in.BusinessID),
		temporalclient.Stage.ValueSet(StageStarting),
	)
}

// StartIntegrationSync starts a check for updates, or returns the one in progress.
func StartIntegrationSync(ctx context.Context, c client.Client, taskQueue string, in IntegrationSyncInput) (client.WorkflowRun, error) {
	run, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
		ID:                       IntegrationSyncID(in.IntegrationID),
		TaskQueue:                taskQueue,
		WorkflowIDConflictPolicy: enumspb.WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING,
		WorkflowIDReusePolicy:    enumspb.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE,
		TypedSearchAttributes:    integrationSyncAttributes(in),
		StaticSummary:            "Check for updates (" + in.Provider + " business " + in.BusinessID + ", " + in.Trigger + ")",
	}, IntegrationSync, in)
	if err != nil {
		return nil, fmt.Errorf("start check for updates: %w", err)
	}
	return run, nil
}

// EnsureIntegrationSyncSchedule creates the integration's daily Schedule
// (overlap: skip), or leaves an existing one alone.
func EnsureIntegrationSyncSchedule(ctx context.Context, c client.Client, taskQueue string, every time.Duration, in IntegrationSyncInput) error {
	in.Trigger = "schedule"
	h := fnv.New64a()
	h.Write([]byte(in.IntegrationID))
	_, err := c.ScheduleClient().Create(ctx, client.ScheduleOptions{
		ID: IntegrationSyncID(in.IntegrationID),
		Spec: client.ScheduleSpec{Intervals: []client.ScheduleIntervalSpec{{Every: every,
			Offset: time.Duration(h.Sum64() % uint64(every))}}, Jitter: every / 48},
		Overlap:       enumspb.SCHEDULE_OVERLAP_POLICY_SKIP,
		CatchupWindow: every,
		Action: &client.ScheduleWorkflowAction{ID: IntegrationSyncID(in.IntegrationID), Workflow: IntegrationSync, Args: []any{in},
			TaskQueue: taskQueue, TypedSearchAttributes: integrationSyncAttributes(in)},
	})
	var exists *serviceerror.AlreadyExists
	if err != nil && !errors.Is(err, temporal.ErrScheduleAlreadyRunning) && !errors.As(err, &exists) {
		return fmt.Errorf("create check-for-updates schedule: %w", err)
	}
	return nil
}
