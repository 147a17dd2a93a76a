package workflows

import (
	"slices"
	"time"

	"github.com/hubkeeper/hubkeeper/activities"
	"github.com/hubkeeper/hubkeeper/internal/domain"
	"github.com/hubkeeper/hubkeeper/internal/store"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"
)

// MemberAction applies an admin's change to a member. A removal first waits
// out Meta's restriction window, durably, then removes the person at Meta
// exactly once; every change is recorded in Postgres with its audit event.
func MemberAction(ctx workflow.Context, in MemberActionInput) error {
	info := workflow.GetInfo(ctx)
	in.WorkflowID, in.RunID = info.WorkflowExecution.ID, info.WorkflowExecution.RunID
	short := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{StartToCloseTimeout: 30 * time.Second, RetryPolicy: quickRetry})
	record := func(ctx workflow.Context, status string, until *time.Time, msg string) error {
		return workflow.ExecuteActivity(ctx, a.RecordMemberAction, activities.MemberActionStatus{Change: in, Status: status,
			WaitingUntil: until, Error: msg}).Get(ctx, nil)
	}
	stage := func(stage, details string) { setStage(ctx, stage, details) }
	if err := record(short, "running", nil, ""); err != nil {
		return err
	}
	err := applyMemberAction(ctx, short, in, record, stage)
	if err != nil {
		stage(StageFailed, in.Action+" failed: "+err.Error())
		cleanup, _ := workflow.NewDisconnectedContext(short)
		_ = record(cleanup, "failed", nil, err.Error())
		return err
	}
	stage(StageDone, in.Action+" done")
	return record(short, "succeeded", nil, "")
}

func applyMemberAction(ctx, short workflow.Context, in MemberActionInput,
	record func(workflow.Context, string, *time.Time, string) error, stage func(string, string)) error {
	if in.Provider == domain.ProviderPinterest && slices.Contains(store.MetaActions, in.Action) {
		if err := applyAtPinterest(ctx, &in, stage); err != nil {
			return err
		}
	} else if slices.Contains(store.MetaActions, in.Action) {
		if err := waitForRestriction(ctx, short, in.IntegrationID, func(status string, until *time.Time) error {
			return record(short, status, until, "")
		}); err != nil {
			return err
		}
		provider := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{StartToCloseTimeout: 2 * time.Minute,
			RetryPolicy: &temporal.RetryPolicy{InitialInterval: 5 * time.Second, BackoffCoefficient: 2, MaximumInterval: 30 * time.Minute,
				MaximumAttempts: 50, NonRetryableErrorTypes: activities.NonRetryable}})
		var err error
		switch in.Action {
		case store.ActionRemove:
			stage(StageApplying, "removing the member at Meta")
			err = workflow.ExecuteActivity(provider, a.RemoveMetaMember, in).Get(ctx, &in.TraceID)
		case store.ActionRole:
			stage(StageApplying, "changing the role and tasks at Meta")
			err = workflow.ExecuteActivity(provider, a.ChangeMetaRole, in).Get(ctx, &in.TraceID)
		case store.ActionInvite:
			stage(StageApplying, "inviting at Meta")
			var sent activities.InviteResult
			err = workflow.ExecuteActivity(provider, a.InviteMetaMember, in).Get(ctx, &sent)
			in.MemberID, in.TraceID = sent.InvitationID, sent.TraceID
		case store.ActionCancel:
			stage(StageApplying, "cancelling the invitation at Meta")
			err = workflow.ExecuteActivity(provider, a.CancelMetaInvitation, in).Get(ctx, &in.TraceID)
		}
		if err != nil {
			return err
		}
	}
	stage(StageApplying, "recording the change")
	return workflow.ExecuteActivity(short, a.ApplyMemberChange, in).Get(ctx, nil)
}

// applyAtPinterest makes a change in Pinterest's web app, through the
// browser; Pinterest has no restriction window.
func applyAtPinterest(ctx workflow.Context, in *MemberActionInput, stage func(string, string)) error {
	browserCtx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{StartToCloseTimeout: 5 * time.Minute,
		RetryPolicy: &temporal.RetryPolicy{InitialInterval: 10 * time.Second, BackoffCoefficient: 2, MaximumInterval: 30 * time.Minute,
			MaximumAttempts: 20, NonRetryableErrorTypes: activities.NonRetryable}})
	switch in.Action {
	case store.ActionRemove:
		stage(StageApplying, "removing the member in Pinterest Business Manager")
		return workflow.ExecuteActivity(browserCtx, a.RemovePinterestMember, *in).Get(ctx, nil)
	case store.ActionRole:
		stage(StageApplying, "changing the role in Pinterest Business Manager")
		return workflow.ExecuteActivity(browserCtx, a.ChangePinterestRole, *in).Get(ctx, nil)
	case store.ActionInvite:
		stage(StageApplying, "inviting in Pinterest Business Manager")
		var sent activities.InviteResult
		err := workflow.ExecuteActivity(browserCtx, a.InvitePinterestMember, *in).Get(ctx, &sent)
		in.MemberID = sent.InvitationID
		return err
	}
	return temporal.NewNonRetryableApplicationError("Pinterest has no "+in.Action+" in Hubkeeper", activities.ErrInvalid, nil)
}
