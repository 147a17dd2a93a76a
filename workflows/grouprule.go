package workflows

import (
	"fmt"
	"time"

	"github.com/hubkeeper/hubkeeper/activities"
	"github.com/hubkeeper/hubkeeper/internal/temporalclient"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"
)

// GroupRule runs a group rule once: it plans (noting who the rule covers,
// so the next check reports those who left its group) and starts a member
// action per joiner (an invitation) and per mover (a role and task
// change). The actions are the same exactly-once workflows an admin's are,
// audited as the rule's; they outlive this run, which ends once they have
// started, so a Meta restriction window holds up no later run.
func GroupRule(ctx workflow.Context, in GroupRuleInput) (GroupRuleResult, error) {
	var res GroupRuleResult
	setStage(ctx, StageApplying, "Planning the rule")
	short := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{StartToCloseTimeout: time.Minute, RetryPolicy: quickRetry})
	var work activities.RuleWork
	if err := workflow.ExecuteActivity(short, a.PrepareGroupRule, in.RuleID).Get(ctx, &work); err != nil {
		setStage(ctx, StageFailed, "Could not plan the rule: "+explain(ctx, err))
		return res, err
	}
	if work.Gone {
		setStage(ctx, StageDone, "The rule was deleted")
		return res, nil
	}
	res.Reported, res.Unchanged, res.Skipped = work.Reported, work.Unchanged, work.Skipped
	starts := make([]workflow.ChildWorkflowFuture, len(work.Actions))
	for i, ch := range work.Actions {
		child := workflow.WithChildOptions(ctx, workflow.ChildWorkflowOptions{WorkflowID: MemberActionID(ch),
			ParentClosePolicy: enumspb.PARENT_CLOSE_POLICY_ABANDON, Priority: tenant(in.WorkspaceID),
			TypedSearchAttributes: temporal.NewSearchAttributes(temporalclient.WorkspaceID.ValueSet(in.WorkspaceID),
				temporalclient.IntegrationID.ValueSet(in.IntegrationID), temporalclient.Stage.ValueSet(StageStarting))})
		starts[i] = workflow.ExecuteChildWorkflow(child, MemberAction, ch)
	}
	for _, f := range starts {
		err := f.GetChildWorkflowExecution().Get(ctx, nil)
		switch {
		case temporal.IsWorkflowExecutionAlreadyStartedError(err):
			res.Underway++
		case err != nil:
			setStage(ctx, StageFailed, "Could not start a member action: "+explain(ctx, err))
			return res, err
		default:
			res.Started++
		}
	}
	setStage(ctx, StageDone, fmt.Sprintf("Started %d member actions (%d already under way); %d left the group, reported by the next check; "+
		"%d as the rule says; %d skipped", res.Started, res.Underway, res.Reported, res.Unchanged, res.Skipped))
	return res, nil
}
