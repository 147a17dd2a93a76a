package workflows

import (
	"errors"
	"fmt"
	"time"

	"github.com/hubkeeper/hubkeeper/activities"
	"github.com/hubkeeper/hubkeeper/internal/connector"
	"github.com/hubkeeper/hubkeeper/internal/domain"
	"github.com/hubkeeper/hubkeeper/internal/temporalclient"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"
)

// IntegrationSync checks a business center for updates: record a sync run;
// fetch members, and meanwhile assets then who holds them, each in a
// heartbeating activity that resumes where it stopped; reconcile in one
// transaction. Its history has the same events whatever the business's size.
func IntegrationSync(ctx workflow.Context, in IntegrationSyncInput) (IntegrationSyncResult, error) {
	if id := IntegrationSyncID(in.IntegrationID); workflow.GetInfo(ctx).WorkflowExecution.ID != id &&
		workflow.GetVersion(ctx, "one-check-at-a-time", workflow.DefaultVersion, 1) == 1 {
		return runUnderOwnID[IntegrationSyncResult](ctx, id, IntegrationSync, in, integrationSyncAttributes(in))
	}
	s := &integrationSync{in: in}
	return s.run(ctx)
}

type integrationSync struct {
	in     IntegrationSyncInput
	result IntegrationSyncResult
}

func (s *integrationSync) run(ctx workflow.Context) (IntegrationSyncResult, error) {
	info := workflow.GetInfo(ctx)
	if err := workflow.UpsertTypedSearchAttributes(ctx,
		temporalclient.WorkspaceID.ValueSet(s.in.WorkspaceID),
		temporalclient.IntegrationID.ValueSet(s.in.IntegrationID),
		temporalclient.Provider.ValueSet(s.in.Provider),
		temporalclient.BusinessID.ValueSet(s.in.BusinessID)); err != nil {
		return s.result, err
	}
	setStage(ctx, StageStarting, "Recording the sync run")
	short := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{StartToCloseTimeout: 30 * time.Second, RetryPolicy: quickRetry})
	err := workflow.ExecuteActivity(short, a.StartIntegrationSync, activities.StartIntegrationSyncInput{
		IntegrationID: s.in.IntegrationID, Trigger: s.in.Trigger, WorkflowID: info.WorkflowExecution.ID, RunID: info.WorkflowExecution.RunID,
	}).Get(ctx, &s.result.SyncRunID)
	if err != nil {
		setStage(ctx, StageFailed, "Could not record the sync run: "+explain(ctx, err))
		return s.result, err
	}
	slot := activities.SlotRequest{Provider: s.in.Provider, WorkspaceID: s.in.WorkspaceID, SyncRunID: s.result.SyncRunID}
	if err := withSlot(ctx, slot, func() error { return s.fetchAndReconcile(ctx, short) }); err != nil {
		why := explain(ctx, err)
		setStage(ctx, StageFailed, "Check for updates failed: "+why)
		cleanup := recording(short)
		if ferr := workflow.ExecuteActivity(cleanup, a.FailSyncRun, activities.FailSyncRunInput{
			SyncRunID: s.result.SyncRunID, Message: why}).Get(cleanup, nil); ferr != nil {
			workflow.GetLogger(ctx).Error("recording the failure", "error", ferr)
		}
		return s.result, err
	}
	done := fmt.Sprintf("Checked: %d members (%d added, %d changed, %d removed), %d assets, %d grants, %d partners",
		s.result.Members, s.result.Added, s.result.Changed, s.result.Removed, s.result.Assets, s.result.Grants, s.result.Partners)
	switch {
	case s.result.AccessProblem != "":
		done += "; the token's expiry is unknown: " + s.result.AccessProblem
	case s.result.TokenExpiry != nil:
		done += "; the token expires " + s.result.TokenExpiry.UTC().Format(time.RFC3339)
	}
	if s.result.PartnersProblem != "" {
		done += "; partners were not read: " + s.result.PartnersProblem
	}
	setStage(ctx, StageDone, done)
	return s.result, nil
}

func (s *integrationSync) fetchAndReconcile(ctx, short workflow.Context) error {
	fetch := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: 2 * time.Hour,
		HeartbeatTimeout:    activities.HeartbeatTimeout,
		RetryPolicy: &temporal.RetryPolicy{InitialInterval: 5 * time.Second, BackoffCoefficient: 2, MaximumInterval: 10 * time.Minute,
			MaximumAttempts: 12, NonRetryableErrorTypes: activities.NonRetryable},
	})
	setStage(ctx, StageFetching, "Fetching members, assets and who holds them (progress: GET /v1/integrations/"+s.in.IntegrationID+"/sync-runs)")
	if err := s.fetch(ctx, fetch); err != nil {
		return err
	}

	setStage(ctx, StageApplying, fmt.Sprintf("Reconciling %d members, %d assets, %d grants", s.result.Members, s.result.Assets, s.result.Grants))

	reconcile := workflow.WithActivityOptions(short, workflow.ActivityOptions{StartToCloseTimeout: time.Hour,
		HeartbeatTimeout: activities.HeartbeatTimeout, RetryPolicy: quickRetry})
	var res activities.ReconcileResult
	if err := workflow.ExecuteActivity(reconcile, a.ReconcileIntegration, s.result.SyncRunID).Get(ctx, &res); err != nil {
		return err
	}
	s.result.Added, s.result.Changed, s.result.Removed, s.result.Unchanged = res.Added, res.Changed, res.Removed, res.Unchanged
	if res.Halted {
		return temporal.NewNonRetryableApplicationError(res.HaltReason, ErrSafeguardHalted, nil)
	}
	// Every check makes sure the open report's review runs, so one that
	// stopped on a failure resumes. Runs recorded before did so only for new
	// findings, and runs before reviews existed not at all.
	if workflow.GetVersion(ctx, "review-every-open-report", workflow.DefaultVersion, 1) == 1 {
		if res.ReportID != "" {
			if err := s.startReview(ctx, res.ReportID); err != nil {
				return err
			}
		}
		return s.startRules(ctx, res.Rules)
	}
	if res.Reported > 0 && workflow.GetVersion(ctx, "deprovision-review", workflow.DefaultVersion, 1) == 1 {
		return s.startReview(ctx, res.ReportID)
	}
	return nil
}

// fetch stages the business's members, assets and grants as its
// connector's channel goes: through the Graph API (members meanwhile
// assets then grants and partners), or in one activity through the
// connector's SnapshotReader (Pinterest's API or its web app).
func (s *integrationSync) fetch(ctx, fetch workflow.Context) error {
	if d, _ := connector.Describe(domain.Provider(s.in.Provider), ""); d.Channel != connector.ChannelGraph {
		var got activities.PinterestFetch
		if err := workflow.ExecuteActivity(fetch, a.FetchPinterest, s.result.SyncRunID).Get(ctx, &got); err != nil {
			return err
		}
		s.result.Members, s.result.Assets, s.result.Grants = got.Members, got.Assets, got.Grants
		return nil
	}
	// Checks recorded before read neither the token's expiry nor two-factor.
	var access workflow.Future
	if workflow.GetVersion(ctx, "meta-access-check", workflow.DefaultVersion, 1) == 1 {
		short := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{StartToCloseTimeout: time.Minute, RetryPolicy: quickRetry})
		access = workflow.ExecuteActivity(short, a.CheckMetaAccess, s.result.SyncRunID)
	}
	members := workflow.ExecuteActivity(fetch, a.FetchMetaMembers, s.result.SyncRunID)
	if err := workflow.ExecuteActivity(fetch, a.FetchMetaAssets, s.result.SyncRunID).Get(ctx, &s.result.Assets); err != nil {
		return err
	}
	// Partners are read beside the grants; checks recorded before did not.
	var partners workflow.Future
	if workflow.GetVersion(ctx, "meta-partners", workflow.DefaultVersion, 1) == 1 {
		partners = workflow.ExecuteActivity(fetch, a.FetchMetaPartners, s.result.SyncRunID)
	}
	if err := workflow.ExecuteActivity(fetch, a.FetchMetaGrants, s.result.SyncRunID).Get(ctx, &s.result.Grants); err != nil {
		return err
	}
	if partners != nil {
		if err := optional(ctx, partners.Get(ctx, &s.result.Partners), &s.result.PartnersProblem); err != nil {
			return err
		}
	}
	if err := members.Get(ctx, &s.result.Members); err != nil || access == nil {
		return err
	}
	return s.noteAccess(ctx, access)
}

// noteAccess waits for what Meta said of the token and two-factor, and
// mails the admins when the token expires within the notice period. A
// notice that cannot be sent now is sent by the next check; only a broken
// token fails the check.
func (s *integrationSync) noteAccess(ctx workflow.Context, access workflow.Future) error {
	var got activities.MetaAccess
	if err := access.Get(ctx, &got); err != nil {
		return optional(ctx, err, &s.result.AccessProblem)
	}
	s.result.TokenExpiry = got.Expiry
	if !got.NoticeDue {
		return nil
	}
	mailing := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{StartToCloseTimeout: time.Minute, RetryPolicy: mailRetry})
	if err := workflow.ExecuteActivity(mailing, a.SendTokenNotice, activities.TokenNoticeInput{IntegrationID: s.in.IntegrationID,
		Expiry: *got.Expiry}).Get(ctx, nil); err != nil {
		workflow.GetLogger(ctx).Warn("token expiry notice not sent; the next check tries again", "error", explain(ctx, err))
	}
	return nil
}

// optional sorts out the failure of a step a check can do without (the
// token's expiry, the partners): a broken token fails the check; anything
// else is said in problem, and the members, assets and grants still land.
func optional(ctx workflow.Context, err error, problem *string) error {
	var app *temporal.ApplicationError
	if err == nil || errors.As(err, &app) && app.Type() == activities.ErrAuthBroken {
		return err
	}
	*problem = explain(ctx, err)
	return nil
}

// startRules runs the integration's group rules on what the check found;
// a rule already running is left to finish.
func (s *integrationSync) startRules(ctx workflow.Context, rules []string) error {
	if len(rules) == 0 || workflow.GetVersion(ctx, "group-rules", workflow.DefaultVersion, 1) == workflow.DefaultVersion {
		return nil
	}
	for _, id := range rules {
		in := GroupRuleInput{RuleID: id, WorkspaceID: s.in.WorkspaceID, IntegrationID: s.in.IntegrationID}
		child := workflow.WithChildOptions(ctx, workflow.ChildWorkflowOptions{WorkflowID: GroupRuleID(id),
			ParentClosePolicy: enumspb.PARENT_CLOSE_POLICY_ABANDON, TypedSearchAttributes: groupRuleAttributes(in)})
		err := workflow.ExecuteChildWorkflow(child, GroupRule, in).GetChildWorkflowExecution().Get(ctx, nil)
		if err != nil && !temporal.IsWorkflowExecutionAlreadyStartedError(err) {
			return err
		}
	}
	return nil
}

// startReview starts the review of the open report, which outlives this
// check; a review already running keeps the report and its new members.
// A report decided while its review was not running is acted on by the new
// review, which reads the decision first.
func (s *integrationSync) startReview(ctx workflow.Context, reportID string) error {
	child := workflow.WithChildOptions(ctx, workflow.ChildWorkflowOptions{WorkflowID: ReportWorkflowID(reportID),
		ParentClosePolicy: enumspb.PARENT_CLOSE_POLICY_ABANDON, TypedSearchAttributes: temporal.NewSearchAttributes(
			temporalclient.WorkspaceID.ValueSet(s.in.WorkspaceID), temporalclient.IntegrationID.ValueSet(s.in.IntegrationID))})
	err := workflow.ExecuteChildWorkflow(child, DeprovisionReport, ReportInput{ReportID: reportID, WorkspaceID: s.in.WorkspaceID,
		IntegrationID: s.in.IntegrationID}).GetChildWorkflowExecution().Get(ctx, nil)
	if temporal.IsWorkflowExecutionAlreadyStartedError(err) {
		return nil
	}
	return err
}
