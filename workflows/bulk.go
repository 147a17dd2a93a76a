package workflows

import (
	"fmt"
	"slices"
	"time"

	"github.com/hubkeeper/hubkeeper/activities"
	"github.com/hubkeeper/hubkeeper/internal/store"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"
)

// BulkMemberAction applies an action to many members, one chunk (a Graph
// batch) at a time, after Meta's restriction window for Meta changes. The
// progress query and the API report how far it has come.
func BulkMemberAction(ctx workflow.Context, in BulkInput) (BulkProgress, error) {
	progress := BulkProgress{Chunks: in.Chunks, Status: "running"}
	if err := workflow.SetQueryHandler(ctx, QueryProgress, func() (BulkProgress, error) { return progress, nil }); err != nil {
		return progress, err
	}
	info := workflow.GetInfo(ctx)
	short := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{StartToCloseTimeout: 30 * time.Second, RetryPolicy: quickRetry})
	status := func(ctx workflow.Context, st string, until *time.Time) error {
		progress.Status = st
		return workflow.ExecuteActivity(ctx, a.RecordBulkStatus, activities.BulkStatusInput{BulkID: in.BulkID,
			WorkflowID: info.WorkflowExecution.ID, Status: st, WaitingUntil: until}).Get(ctx, nil)
	}
	stage := func(st, details string) { setStage(ctx, st, details) }
	if err := status(short, "running", nil); err != nil {
		return progress, err
	}
	err := func() error {
		if slices.Contains(store.ProviderActions, in.Action) {
			if err := waitForRestriction(ctx, short, in.IntegrationID, func(st string, until *time.Time) error {
				return status(short, st, until)
			}); err != nil {
				return err
			}
		}
		chunkCtx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{StartToCloseTimeout: 5 * time.Minute,
			HeartbeatTimeout: activities.HeartbeatTimeout,
			RetryPolicy: &temporal.RetryPolicy{InitialInterval: 5 * time.Second, BackoffCoefficient: 2, MaximumInterval: 30 * time.Minute,
				MaximumAttempts: 50, NonRetryableErrorTypes: activities.NonRetryable}})
		for i := range in.Chunks {
			stage(StageApplying, fmt.Sprintf("%s: chunk %d of %d (%d done, %d failed, %d cancelled)", in.Action, i+1, in.Chunks,
				progress.Done, progress.Failed, progress.Cancelled))
			var res activities.BulkChunkResult
			if err := workflow.ExecuteActivity(chunkCtx, a.RunBulkChunk, activities.BulkChunkInput{BulkID: in.BulkID, Chunk: i,
				WorkflowID: info.WorkflowExecution.ID, RunID: info.WorkflowExecution.RunID}).Get(ctx, &res); err != nil {
				return err
			}
			progress.ChunksDone++
			progress.Done += res.Done
			progress.Failed += res.Failed
			progress.Cancelled += res.Cancelled
		}
		return nil
	}()
	if err != nil {
		stage(StageFailed, "bulk "+in.Action+" failed: "+explain(ctx, err))
		_ = status(recording(short), "failed", nil)
		return progress, err
	}
	stage(StageDone, fmt.Sprintf("%s: %d done, %d failed, %d cancelled", in.Action, progress.Done, progress.Failed, progress.Cancelled))
	return progress, status(short, "succeeded", nil)
}
