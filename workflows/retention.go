package workflows

import (
	"context"
	"time"

	"github.com/hubkeeper/hubkeeper/activities"
	"github.com/hubkeeper/hubkeeper/internal/store"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/workflow"
)

// RetentionID is the id of the retention Schedule and of its runs.
const RetentionID = "retention"

// Retention purges what Hubkeeper keeps only for a while: superseded
// credentials, used or expired report links, staging rows, and the
// failure captures of the worker it runs on. Its Schedule runs it daily.
func Retention(ctx workflow.Context) (store.Purged, error) {
	ctx = workflow.WithActivityOptions(ctx, workflow.ActivityOptions{StartToCloseTimeout: 10 * time.Minute, RetryPolicy: quickRetry})
	var purged store.Purged
	err := workflow.ExecuteActivity(ctx, (*activities.Activities).Purge).Get(ctx, &purged)
	return purged, err
}

// EnsureRetentionSchedule creates the retention Schedule, running every
// interval, or leaves an existing one alone.
func EnsureRetentionSchedule(ctx context.Context, c client.Client, taskQueue string, every time.Duration) error {
	return ensureDailySchedule(ctx, c, RetentionID, every, &client.ScheduleWorkflowAction{ID: RetentionID, Workflow: Retention,
		TaskQueue: taskQueue})
}
