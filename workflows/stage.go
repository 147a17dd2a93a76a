package workflows

import (
	"errors"
	"time"

	"github.com/hubkeeper/hubkeeper/activities"
	"github.com/hubkeeper/hubkeeper/internal/temporalclient"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"
)

// quickRetry is the retry policy of short Postgres activities.
var quickRetry = &temporal.RetryPolicy{InitialInterval: time.Second, BackoffCoefficient: 2, MaximumInterval: time.Minute,
	MaximumAttempts: 20, NonRetryableErrorTypes: activities.NonRetryable}

// untilDone is the retry policy of Postgres activities that must not give
// up: recording how a run ended, and the steps of runs that wait for days
// (reviews, onboardings). They retry until Postgres answers again, so no
// run ends, or waits, with Postgres saying otherwise.
var untilDone = &temporal.RetryPolicy{InitialInterval: time.Second, BackoffCoefficient: 2, MaximumInterval: 5 * time.Minute,
	NonRetryableErrorTypes: activities.NonRetryable}

// mailRetry is the retry policy of e-mails: a mail server that stays down
// for more than about half a minute is noted, and the next e-mail of the
// run (a reminder) tries again.
var mailRetry = &temporal.RetryPolicy{InitialInterval: 2 * time.Second, BackoffCoefficient: 2, MaximumInterval: 30 * time.Second,
	MaximumAttempts: 5, NonRetryableErrorTypes: activities.NonRetryable}

// tenant is the Priority of a workspace's workflows: their tasks share one
// fairness key, so the matching service dispatches workspaces in turn and
// one with hundreds of checks due cannot starve the others. Activities and
// child workflows inherit it.
func tenant(workspaceID string) temporal.Priority {
	return temporal.Priority{FairnessKey: workspaceID}
}

// recording is ctx for recording how a run ended: retried until done, and
// run even when the workflow was cancelled.
func recording(ctx workflow.Context) workflow.Context {
	disconnected, _ := workflow.NewDisconnectedContext(ctx)
	return workflow.WithRetryPolicy(disconnected, *untilDone)
}

// setStage shows a workflow's step in the Temporal UI: the Stage search
// attribute and the current details.
func setStage(ctx workflow.Context, stage, details string) {
	workflow.SetCurrentDetails(ctx, details)
	if err := workflow.UpsertTypedSearchAttributes(ctx, temporalclient.Stage.ValueSet(stage)); err != nil {
		workflow.GetLogger(ctx).Warn("stage search attribute", "error", err)
	}
}

// waitForRestriction sleeps, durably, while Meta's restriction window of
// the integration is open, saying so through setStage and record (which
// gets "waiting" with the time, then "running").
func waitForRestriction(ctx, short workflow.Context, integrationID string, record func(status string, until *time.Time) error) error {
	var until *time.Time
	if err := workflow.ExecuteActivity(short, a.RestrictedUntil, integrationID).Get(ctx, &until); err != nil {
		return err
	}
	now := workflow.Now(ctx)
	if until == nil || !until.After(now) {
		return nil
	}
	setStage(ctx, StageWaiting, "waiting for Meta's restriction until "+until.UTC().Format(time.RFC3339))
	if err := record("waiting", until); err != nil {
		return err
	}
	if err := workflow.Sleep(ctx, until.Sub(now)); err != nil {
		return err
	}
	return record("running", nil)
}

// runUnderOwnID runs a Schedule's run of a sync (whose workflow id the
// Schedule suffixes with its time) as a child under the sync's own id, the
// one manual triggers use: so one import or check of a thing runs at a
// time, whoever starts it. A run already going under that id is left to
// finish, and this one ends at once.
func runUnderOwnID[R any](ctx workflow.Context, id string, sync any, in any, attrs temporal.SearchAttributes) (R, error) {
	var res R
	child := workflow.WithChildOptions(ctx, workflow.ChildWorkflowOptions{WorkflowID: id, TypedSearchAttributes: attrs,
		ParentClosePolicy: enumspb.PARENT_CLOSE_POLICY_ABANDON})
	setStage(ctx, StageStarting, "running as "+id)
	err := workflow.ExecuteChildWorkflow(child, sync, in).Get(ctx, &res)
	if temporal.IsWorkflowExecutionAlreadyStartedError(err) {
		setStage(ctx, StageDone, id+" was already running; this run left it to finish")
		return res, nil
	}
	if err == nil {
		setStage(ctx, StageDone, "done as "+id)
	} else {
		setStage(ctx, StageFailed, id+" failed: "+explain(ctx, err))
	}
	return res, err
}

// explain says why a step failed in a sentence for people: what the
// activity or child workflow that gave up said, without Temporal's
// wrapping (which goes to the log, with the whole chain).
func explain(ctx workflow.Context, err error) string {
	workflow.GetLogger(ctx).Warn("step failed", "error", err)
	var (
		app      *temporal.ApplicationError
		timeout  *temporal.TimeoutError
		canceled *temporal.CanceledError
		stopped  *temporal.TerminatedError
	)
	switch {
	case errors.As(err, &app):
		return app.Message()
	case errors.As(err, &timeout):
		return "no worker finished the step in time"
	case errors.As(err, &canceled):
		return "cancelled"
	case errors.As(err, &stopped):
		return "stopped by an operator"
	}
	for inner := errors.Unwrap(err); inner != nil; inner = errors.Unwrap(err) {
		err = inner
	}
	return err.Error()
}
