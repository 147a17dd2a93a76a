package workflows

import (
	"context"
	"fmt"
	"time"

	"github.com/hubkeeper/hubkeeper/internal/temporalclient"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
)

// RunTypes names each workflow type a workspace runs, for people.
var RunTypes = map[string]string{
	"DirectorySync":       "Directory import",
	"IntegrationSync":     "Check for updates",
	"MemberAction":        "Member action",
	"BulkMemberAction":    "Bulk action",
	"DeprovisionReport":   "Deprovision report",
	"MetaOnboarding":      "Meta onboarding",
	"PinterestOnboarding": "Pinterest onboarding",
	"GroupRule":           "Group rule",
}

// Run is one workflow run of a workspace, as visibility lists it.
type Run struct {
	WorkflowID, RunID, Type string
	// Status is Temporal's (Running, Completed, Failed, …); Stage the
	// run's last step.
	Status, Stage              string
	IntegrationID, DirectoryID string
	StartedAt                  time.Time
	ClosedAt                   *time.Time
}

// RunFilter narrows ListRuns to a workflow type of RunTypes, or to the
// runs still going.
type RunFilter struct {
	Type    string
	Running bool
}

// ListRuns lists a page of the workspace's workflow runs (running ones
// first, then the most recently closed) and the next page's token. Only
// tokens it returned may be passed back: Temporal waits out the deadline
// on one it did not make.
func ListRuns(ctx context.Context, c client.Client, workspaceID string, f RunFilter, size int, token []byte) ([]Run, []byte, error) {
	query := fmt.Sprintf("%s = %q", temporalclient.WorkspaceID.GetName(), workspaceID)
	if f.Type != "" {
		query += fmt.Sprintf(" AND WorkflowType = %q", f.Type)
	}
	if f.Running {
		query += " AND ExecutionStatus = 'Running'"
	}
	page, err := c.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{Query: query, PageSize: int32(size), NextPageToken: token})
	if err != nil {
		return nil, nil, err
	}
	var runs []Run
	for _, e := range page.GetExecutions() {
		attrs := e.GetSearchAttributes().GetIndexedFields()
		text := func(name string) string {
			var v string
			if p, ok := attrs[name]; ok {
				_ = converter.GetDefaultDataConverter().FromPayload(p, &v)
			}
			return v
		}
		r := Run{WorkflowID: e.GetExecution().GetWorkflowId(), RunID: e.GetExecution().GetRunId(), Type: e.GetType().GetName(),
			Status: e.GetStatus().String(), Stage: text(temporalclient.Stage.GetName()),
			IntegrationID: text(temporalclient.IntegrationID.GetName()), DirectoryID: text(temporalclient.DirectoryID.GetName()),
			StartedAt: e.GetStartTime().AsTime()}
		if e.GetCloseTime() != nil {
			closed := e.GetCloseTime().AsTime()
			r.ClosedAt = &closed
		}
		runs = append(runs, r)
	}
	return runs, page.GetNextPageToken(), nil
}
