package workflows

import (
	"context"
	"fmt"

	"github.com/hubkeeper/hubkeeper/internal/temporalclient"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
)

// Bulk member actions: one workflow applies an action to up to
// store.BulkLimit members, a Graph batch at a time.

// BulkActionID is the workflow id of a bulk action.
func BulkActionID(integrationID, bulkID string) string { return "bulk/" + integrationID + "/" + bulkID }

// BulkInput names the bulk action; its members stay in Postgres.
type BulkInput struct {
	BulkID        string
	WorkspaceID   string
	IntegrationID string
	Action        string
	Chunks        int
}

// QueryProgress is the name of the query that reports a bulk action's progress.
const QueryProgress = "progress"

// BulkProgress is what the progress query answers.
type BulkProgress struct {
	Chunks     int
	ChunksDone int
	Done       int
	Failed     int
	// Cancelled counts members left alone because they changed since the admin asked.
	Cancelled int
	Status    string
}

// StartBulkAction starts a stored bulk action.
func StartBulkAction(ctx context.Context, c client.Client, taskQueue string, in BulkInput) (client.WorkflowRun, error) {
	run, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{
		ID:        BulkActionID(in.IntegrationID, in.BulkID),
		Priority:  tenant(in.WorkspaceID),
		TaskQueue: taskQueue,
		TypedSearchAttributes: temporal.NewSearchAttributes(
			temporalclient.WorkspaceID.ValueSet(in.WorkspaceID),
			temporalclient.IntegrationID.ValueSet(in.IntegrationID),
			temporalclient.Stage.ValueSet(StageStarting)),
		StaticSummary: fmt.Sprintf("bulk %s (%d chunks)", in.Action, in.Chunks),
	}, BulkMemberAction, in)
	if err != nil {
		return nil, fmt.Errorf("start bulk action: %w", err)
	}
	return run, nil
}
