package workflows

import (
	"context"
	"fmt"
	"time"

	"github.com/hubkeeper/hubkeeper/internal/temporalclient"
	enumspb "go.temporal.io/api/enums/v1"
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
	Members, Assets, Grants, Partners  int
	Added, Changed, Removed, Unchanged int
	// TokenExpiry is when the Meta token stops working (nil: never, or
	// unknown); AccessProblem says why Meta could not tell.
	TokenExpiry   *time.Time `json:",omitempty"`
	AccessProblem string     `json:",omitempty"`
	// PartnersProblem says why the partners were not read (they stay as
	// the last check left them).
	PartnersProblem string `json:",omitempty"`
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
		Priority:                 tenant(in.WorkspaceID),
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

// EnsureIntegrationSyncSchedule creates the integration's daily Schedule,
// or leaves an existing one alone.
func EnsureIntegrationSyncSchedule(ctx context.Context, c client.Client, taskQueue string, every time.Duration, in IntegrationSyncInput) error {
	in.Trigger = "schedule"
	return ensureDailySchedule(ctx, c, IntegrationSyncID(in.IntegrationID), every, &client.ScheduleWorkflowAction{
		ID: IntegrationSyncID(in.IntegrationID), Workflow: IntegrationSync, Args: []any{in}, TaskQueue: taskQueue, Priority: tenant(in.WorkspaceID),
		TypedSearchAttributes: integrationSyncAttributes(in)})
}
