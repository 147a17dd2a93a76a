package workflows

import (
	"context"
	"errors"
	"fmt"

	"github.com/hubkeeper/hubkeeper/activities"
	"github.com/hubkeeper/hubkeeper/internal/domain"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
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

// SignalReportDecision tells a report's review that it was decided.
func SignalReportDecision(ctx context.Context, c client.Client, reportID string) error {
	err := c.SignalWorkflow(ctx, ReportWorkflowID(reportID), "", SignalDecision, nil)
	var nf *serviceerror.NotFound
	if errors.As(err, &nf) {
		return domain.Errorf(domain.ENotFound, "the report's review is not running")
	}
	if err != nil {
		return fmt.Errorf("signal report decision: %w", err)
	}
	return nil
}

// ReportTimings are how often a review reminds and when it expires.
type ReportTimings = activities.ReportTimings
