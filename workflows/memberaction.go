package workflows

import (
	"slices"
	"time"

	"github.com/hubkeeper/hubkeeper/activities"
	"github.com/hubkeeper/hubkeeper/internal/connector"
	"github.com/hubkeeper/hubkeeper/internal/domain"
	"github.com/hubkeeper/hubkeeper/internal/store"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"
)

// MemberAction applies an admin's change to a member. A change at the
// provider first waits out Meta's restriction window, durably, then looks
// at the member again: one that changed meanwhile calls the action off
// (cancelled, nothing sent); otherwise the provider is changed exactly
// once. Every change is recorded in Postgres with its audit event.
func MemberAction(ctx workflow.Context, in MemberActionInput) (MemberActionResult, error) {
	info := workflow.GetInfo(ctx)
	in.WorkflowID, in.RunID = info.WorkflowExecution.ID, info.WorkflowExecution.RunID
	short := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{StartToCloseTimeout: 30 * time.Second, RetryPolicy: quickRetry})
	record := func(ctx workflow.Context, st activities.MemberActionStatus) error {
		st.Change = in
		return workflow.ExecuteActivity(ctx, a.RecordMemberAction, st).Get(ctx, nil)
	}
	stage := func(stage, details string) { setStage(ctx, stage, details) }
	var res MemberActionResult
	if err := record(short, activities.MemberActionStatus{Status: store.ActionRunning}); err != nil {
		return res, err
	}
	var err error
	// Actions started before the look before acting act as they were asked.
	if workflow.GetVersion(ctx, "look-before-acting", workflow.DefaultVersion, 1) == workflow.DefaultVersion {
		res, err = MemberActionResult{Status: store.ActionSucceeded, Outcome: doneOutcomes[in.Action]}, applyAsAsked(ctx, short, in, record, stage)
	} else {
		res, err = applyMemberAction(ctx, short, in, record, stage)
	}
	if err != nil {
		why := explain(ctx, err)
		stage(StageFailed, in.Action+" failed: "+why)
		_ = record(recording(short), activities.MemberActionStatus{Status: store.ActionFailed, Error: why})
		return res, err
	}
	stage(StageDone, in.Action+": "+res.Outcome)
	return res, record(short, activities.MemberActionStatus{Status: res.Status, Outcome: res.Outcome})
}

// doneOutcomes say what a successful action did.
var doneOutcomes = map[string]string{
	store.ActionMatch: "matched", store.ActionExempt: "exempted", store.ActionUnexempt: "back to unmatched",
	store.ActionReassign: "reassigned", store.ActionRemove: store.OutcomeRemoved, store.ActionRole: "role and tasks changed",
	store.ActionInvite: "invited", store.ActionCancel: "invitation cancelled", store.ActionUnkeep: "no longer kept",
}

// applyMemberAction acts at the provider, when the action changes it, and
// records the change.
func applyMemberAction(ctx, short workflow.Context, in MemberActionInput,
	record func(workflow.Context, activities.MemberActionStatus) error, stage func(string, string)) (MemberActionResult, error) {
	res := MemberActionResult{Status: store.ActionSucceeded, Outcome: doneOutcomes[in.Action]}
	if slices.Contains(store.ProviderActions, in.Action) {
		if err := waitForRestriction(ctx, short, in.IntegrationID, func(status string, until *time.Time) error {
			return record(short, activities.MemberActionStatus{Status: status, WaitingUntil: until})
		}); err != nil {
			return res, err
		}
		stage(StageApplying, "looking at the member again before acting")
		var intent activities.Intent
		if err := workflow.ExecuteActivity(short, a.CheckMemberIntent, in).Get(ctx, &intent); err != nil {
			return res, err
		}
		if intent.Cancel != "" {
			return MemberActionResult{Status: store.ActionCancelled, Outcome: intent.Cancel}, nil
		}
		change := activities.ProviderChange{AlreadyDone: intent.Done}
		if !intent.Done {
			var err error
			if change, err = changeAtProvider(ctx, in, intent.Provider, stage); err != nil {
				return res, err
			}
		}
		if change.AlreadyDone {
			res.Outcome = alreadyDone[in.Action]
		}
		in.TraceID = change.TraceID
		if in.Action == store.ActionInvite {
			in.MemberID = change.InvitationID
		}
	}
	stage(StageApplying, "recording the change")
	return res, workflow.ExecuteActivity(short, a.ApplyMemberChange, in).Get(ctx, nil)
}

// alreadyDone says what an action found in place at the provider.
var alreadyDone = map[string]string{store.ActionRemove: store.OutcomeGone, store.ActionCancel: store.OutcomeGone,
	store.ActionInvite: "already invited"}

// changeAtProvider makes the change at the provider, exactly once.
func changeAtProvider(ctx workflow.Context, in MemberActionInput, provider domain.Provider, stage func(string, string)) (activities.ProviderChange, error) {
	actx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{StartToCloseTimeout: 5 * time.Minute,
		HeartbeatTimeout: activities.HeartbeatTimeout,
		RetryPolicy: &temporal.RetryPolicy{InitialInterval: 5 * time.Second, BackoffCoefficient: 2, MaximumInterval: 30 * time.Minute,
			MaximumAttempts: 50, NonRetryableErrorTypes: activities.NonRetryable}})
	d, _ := connector.Describe(provider, "")
	where := d.Name
	var act any
	switch in.Action {
	case store.ActionRemove:
		act, where = a.RemoveMember, "removing the member at "+where
	case store.ActionRole:
		act, where = a.ChangeRole, "changing the role at "+where
	case store.ActionInvite:
		act, where = a.InviteMember, "inviting at "+where
	case store.ActionCancel:
		act, where = a.CancelInvitation, "cancelling the invitation at "+where
	}
	stage(StageApplying, where)
	var change activities.ProviderChange
	err := workflow.ExecuteActivity(actx, act, in).Get(ctx, &change)
	return change, err
}

// applyAsAsked is how actions started before the look before acting apply:
// at Meta or Pinterest as the input says, then recorded.
func applyAsAsked(ctx, short workflow.Context, in MemberActionInput,
	record func(workflow.Context, activities.MemberActionStatus) error, stage func(string, string)) error {
	if d, _ := connector.Describe(in.Provider, ""); d.Channel == connector.ChannelBrowser && slices.Contains(store.ProviderActions, in.Action) {
		if err := applyAtPinterest(ctx, &in, stage); err != nil {
			return err
		}
	} else if slices.Contains(store.ProviderActions, in.Action) {
		if err := waitForRestriction(ctx, short, in.IntegrationID, func(status string, until *time.Time) error {
			return record(short, activities.MemberActionStatus{Status: status, WaitingUntil: until})
		}); err != nil {
			return err
		}
		provider := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{StartToCloseTimeout: 2 * time.Minute,
			HeartbeatTimeout: activities.HeartbeatTimeout,
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
// browser, for actions started before the look before acting.
func applyAtPinterest(ctx workflow.Context, in *MemberActionInput, stage func(string, string)) error {
	browserCtx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{StartToCloseTimeout: 5 * time.Minute,
		HeartbeatTimeout: activities.HeartbeatTimeout,
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
