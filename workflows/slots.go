package workflows

import (
	"time"

	"github.com/hubkeeper/hubkeeper/activities"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"
)

// withSlot runs work holding a slot of its provider's and workspace's
// concurrency (activities.TakeSlot), waiting as long as it takes for one,
// and gives the slot back however work ends, cancellation included. Runs
// recorded before slots existed run without one.
func withSlot(ctx workflow.Context, req activities.SlotRequest, work func() error) error {
	if workflow.GetVersion(ctx, "work-slots", workflow.DefaultVersion, 1) == workflow.DefaultVersion {
		return work()
	}
	run := workflow.GetInfo(ctx).WorkflowExecution
	req.Holder = run.ID + "/" + run.RunID
	waiting := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{StartToCloseTimeout: 30 * time.Second,
		RetryPolicy: &temporal.RetryPolicy{InitialInterval: 2 * time.Second, BackoffCoefficient: 2, MaximumInterval: time.Minute,
			NonRetryableErrorTypes: activities.NonRetryable}})
	// Released even when taking it failed: the last attempt may have taken it.
	defer func() {
		release := recording(waiting)
		if err := workflow.ExecuteActivity(release, a.ReleaseSlot, req.Holder).Get(release, nil); err != nil {
			workflow.GetLogger(ctx).Error("releasing the slot", "error", err)
		}
	}()
	if err := workflow.ExecuteActivity(waiting, a.TakeSlot, req).Get(ctx, nil); err != nil {
		return err
	}
	return work()
}
