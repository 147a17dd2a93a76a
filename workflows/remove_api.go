package workflows

import (
	"context"
	"errors"
	"fmt"

	"github.com/hubkeeper/hubkeeper/internal/temporalclient"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
)

// StopIntegration deletes an integration's Schedule and cancels every
// workflow still running for it: checks, onboarding, member and bulk
// actions, and the reviews of its reports. It is idempotent.
func StopIntegration(ctx context.Context, c client.Client, integrationID string, reportIDs []string) error {
	known := []string{IntegrationSyncID(integrationID), OnboardingID(integrationID)}
	for _, id := range reportIDs {
		known = append(known, ReportWorkflowID(id))
	}
	return stop(ctx, c, IntegrationSyncID(integrationID), temporalclient.IntegrationID.GetName(), integrationID, known...)
}

// StopDirectory deletes a directory's Schedule and cancels its running
// imports. It is idempotent.
func StopDirectory(ctx context.Context, c client.Client, directoryID string) error {
	return stop(ctx, c, DirectorySyncID(directoryID), temporalclient.DirectoryID.GetName(), directoryID, DirectorySyncID(directoryID))
}

// stop deletes the Schedule scheduleID, then cancels the workflows of the
// known ids and those whose search attribute names the subject (which
// visibility may list a moment late).
func stop(ctx context.Context, c client.Client, scheduleID, attribute, subject string, known ...string) error {
	if err := c.ScheduleClient().GetHandle(ctx, scheduleID).Delete(ctx); err != nil && !isNotFound(err) {
		return fmt.Errorf("delete schedule %s: %w", scheduleID, err)
	}
	ids := map[string]bool{}
	for _, id := range known {
		ids[id] = true
	}
	req := &workflowservice.ListWorkflowExecutionsRequest{
		Query: fmt.Sprintf("%s = %q AND ExecutionStatus = 'Running'", attribute, subject)}
	for {
		page, err := c.ListWorkflow(ctx, req)
		if err != nil {
			return fmt.Errorf("list running workflows: %w", err)
		}
		for _, e := range page.GetExecutions() {
			ids[e.GetExecution().GetWorkflowId()] = true
		}
		if req.NextPageToken = page.GetNextPageToken(); len(req.NextPageToken) == 0 {
			break
		}
	}
	for id := range ids {
		if err := c.CancelWorkflow(ctx, id, ""); err != nil && !isNotFound(err) {
			return fmt.Errorf("cancel %s: %w", id, err)
		}
	}
	return nil
}

// isNotFound reports whether Temporal has no such Schedule or running workflow.
func isNotFound(err error) bool {
	var nf *serviceerror.NotFound
	return errors.As(err, &nf)
}
