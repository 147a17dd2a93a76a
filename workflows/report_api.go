package workflows

import (
	"context"
	"fmt"

	"github.com/hubkeeper/hubkeeper/activities"
	"github.com/hubkeeper/hubkeeper/internal/temporalclient"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
)

// Deprovision review: a report of people whose directory identity is gone
// waits for an admin's decision by e-mail link or API, reminds them, and
// expires with nothing removed.

// ReportWorkflowID is the workflow id of a report's review.
func ReportWorkflowID(reportID string) string { return "deprovision-report/" + reportID }

// ReportInput names the report; its people stay in Postgres.
type ReportInput struct {
	ReportID      string
	WorkspaceID   string
	IntegrationID string
}

// ReportResult is how a review ended.
type ReportResult struct {
	Status  string
	Removed int
	Failed  int
}

// SignalDecision wakes a review after a decision was recorded in Postgres.
// It carries no decision: the workflow reads it from the store.
const SignalDecision = "decision"

// WakeReportReview tells a report's review that it was decided. A review
// that is not running (it stopped on a failure) is started again; it reads
// the decision first and acts on it.
func WakeReportReview(ctx context.Context, c client.Client, taskQueue string, in ReportInput) error {
	_, err := c.SignalWithStartWorkflow(ctx, ReportWorkflowID(in.ReportID), SignalDecision, nil, client.StartWorkflowOptions{
		ID: ReportWorkflowID(in.ReportID), TaskQueue: taskQueue, WorkflowIDReusePolicy: enumspb.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE,
		Priority: tenant(in.WorkspaceID),
		TypedSearchAttributes: temporal.NewSearchAttributes(temporalclient.WorkspaceID.ValueSet(in.WorkspaceID),
			temporalclient.IntegrationID.ValueSet(in.IntegrationID), temporalclient.Stage.ValueSet(StageStarting)),
		StaticSummary: "Deprovision report review",
	}, DeprovisionReport, in)
	if err != nil {
		return fmt.Errorf("wake report review: %w", err)
	}
	return nil
}

// ReportTimings are how often a review reminds and when it expires.
type ReportTimings = activities.ReportTimings
