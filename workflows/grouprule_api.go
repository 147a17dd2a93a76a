package workflows

import (
	"context"
	"fmt"

	"github.com/hubkeeper/hubkeeper/internal/temporalclient"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
)

// Group rules: one run at a time per rule, started when the rule is saved
// and by every check of its integration.

// GroupRuleID is the workflow id of a rule's runs.
func GroupRuleID(ruleID string) string { return "rule/" + ruleID }

// GroupRuleInput names a rule; it carries no personal data.
type GroupRuleInput struct {
	RuleID        string
	WorkspaceID   string
	IntegrationID string
}

// GroupRuleResult is what a run started: member actions for joiners and
// movers (Underway: one of that kind was already running for the member),
// and how many people the next check reports for leaving the group.
type GroupRuleResult struct {
	Started, Underway, Reported, Unchanged, Skipped int
}

func groupRuleOptions(in GroupRuleInput, taskQueue string) client.StartWorkflowOptions {
	return client.StartWorkflowOptions{
		ID:                       GroupRuleID(in.RuleID),
		TaskQueue:                taskQueue,
		Priority:                 tenant(in.WorkspaceID),
		WorkflowIDConflictPolicy: enumspb.WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING,
		TypedSearchAttributes:    groupRuleAttributes(in),
		StaticSummary:            "group rule " + in.RuleID,
	}
}

func groupRuleAttributes(in GroupRuleInput) temporal.SearchAttributes {
	return temporal.NewSearchAttributes(temporalclient.WorkspaceID.ValueSet(in.WorkspaceID),
		temporalclient.IntegrationID.ValueSet(in.IntegrationID), temporalclient.Stage.ValueSet(StageStarting))
}

// StartGroupRule runs a rule now, or returns the run already under way.
func StartGroupRule(ctx context.Context, c client.Client, taskQueue string, in GroupRuleInput) (client.WorkflowRun, error) {
	run, err := c.ExecuteWorkflow(ctx, groupRuleOptions(in, taskQueue), GroupRule, in)
	if err != nil {
		return nil, fmt.Errorf("start group rule: %w", err)
	}
	return run, nil
}
