package workflows

import (
	"fmt"
	"time"

	"github.com/hubkeeper/hubkeeper/activities"
	"github.com/hubkeeper/hubkeeper/internal/store"
	"go.temporal.io/sdk/workflow"
)

// Review statuses.
const (
	ReportConfirmed = "confirmed"
	ReportRejected  = "rejected"
	ReportExpired   = "expired"
)

// DeprovisionReport e-mails the workspace's admins a link to the report,
// waits for their decision (reminding them on a cadence), and either
// expires with nothing removed, ends rejected, or removes each confirmed
// person through the same exactly-once removal as member actions and
// e-mails a summary.
func DeprovisionReport(ctx workflow.Context, in ReportInput) (ReportResult, error) {
	info := workflow.GetInfo(ctx)
	// A review waits for days: its Postgres steps outlast an outage.
	short := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{StartToCloseTimeout: time.Minute, RetryPolicy: untilDone})
	mailing := workflow.WithRetryPolicy(short, *mailRetry)
	var timings ReportTimings
	if err := workflow.ExecuteActivity(short, a.ReportTimings).Get(ctx, &timings); err != nil {
		return ReportResult{}, err
	}
	expires := workflow.Now(ctx).Add(timings.ExpireAfter)
	// An e-mail that cannot be sent (the mail server down for long) is noted
	// and the review waits on: the next reminder mails again, and a decision
	// through the API or an earlier link still counts.
	mail := func(kind string) error {
		err := workflow.ExecuteActivity(mailing, a.SendReportMail, activities.ReportMailInput{ReportID: in.ReportID, Kind: kind,
			LinksExpire: expires}).Get(ctx, nil)
		if err == nil || workflow.GetVersion(ctx, "mail-failures-wait-on", workflow.DefaultVersion, 1) == workflow.DefaultVersion {
			return err
		}
		why := explain(ctx, err)
		setStage(ctx, StageWaiting, "the "+kind+" e-mail could not be sent ("+why+"); waiting for a decision until "+
			expires.UTC().Format(time.RFC3339))
		return workflow.ExecuteActivity(short, a.NoteReportMailFailed, activities.ReportMailFailure{ReportID: in.ReportID, Kind: kind,
			Reason: why}).Get(ctx, nil)
	}
	setStage(ctx, StageWaiting, "waiting for an admin's decision until "+expires.UTC().Format(time.RFC3339))
	if err := mail(activities.MailRequest); err != nil {
		return ReportResult{}, err
	}

	status := ""
	// A decision may come before the review waits for it (its wake-up
	// signal then finds no workflow): look first.
	if workflow.GetVersion(ctx, "status-before-wait", workflow.DefaultVersion, 1) == 1 {
		if err := workflow.ExecuteActivity(short, a.ReportStatus, in.ReportID).Get(ctx, &status); err != nil {
			return ReportResult{}, err
		}
		if status == "pending" {
			status = ""
		}
	}
	decisions := workflow.GetSignalChannel(ctx, SignalDecision)
	expiry := workflow.NewTimer(ctx, timings.ExpireAfter)
	// The reminder keeps its cadence whatever signals arrive in between.
	reminderCtx, cancelReminder := workflow.WithCancel(ctx)
	defer cancelReminder()
	reminder := workflow.NewTimer(reminderCtx, timings.RemindEvery)
	for status == "" {
		sel := workflow.NewSelector(ctx)
		sel.AddReceive(decisions, func(c workflow.ReceiveChannel, _ bool) {
			c.Receive(ctx, nil)
		})
		remind, expired := false, false
		sel.AddFuture(reminder, func(workflow.Future) { remind = true })
		sel.AddFuture(expiry, func(workflow.Future) { expired = true })
		sel.Select(ctx)
		switch {
		case expired:
			if err := workflow.ExecuteActivity(short, a.ExpireReport, in.ReportID).Get(ctx, nil); err != nil {
				return ReportResult{}, err
			}
			setStage(ctx, StageDone, "expired: nobody decided, nobody was removed")
			return ReportResult{Status: ReportExpired}, nil
		default: // a decision, or a reminder: read the decision from Postgres, the source of truth
			if err := workflow.ExecuteActivity(short, a.ReportStatus, in.ReportID).Get(ctx, &status); err != nil {
				return ReportResult{}, err
			}
			if status == "pending" {
				status = ""
			}
			// Still undecided at a reminder: remind. (A decision whose wake-up
			// signal was lost is picked up here too.)
			if remind && status == "" {
				if err := mail(activities.MailReminder); err != nil {
					return ReportResult{}, err
				}
			}
			if remind {
				reminder = workflow.NewTimer(reminderCtx, timings.RemindEvery)
			}
		}
	}
	if status == ReportRejected {
		setStage(ctx, StageDone, "rejected: nobody was removed")
		return ReportResult{Status: ReportRejected}, nil
	}

	var members []string
	if err := workflow.ExecuteActivity(short, a.ReportIncludedMembers, in.ReportID).Get(ctx, &members); err != nil {
		return ReportResult{}, err
	}
	setStage(ctx, StageApplying, fmt.Sprintf("removing %d people", len(members)))
	// Reviews that removed before removals knew their report recorded raw outcomes.
	fromReport := workflow.GetVersion(ctx, "removals-know-their-report", workflow.DefaultVersion, 1) == 1
	futures := make([]workflow.ChildWorkflowFuture, len(members))
	for i, id := range members {
		ch := store.MemberChange{WorkspaceID: in.WorkspaceID, IntegrationID: in.IntegrationID, MemberID: id,
			Action: store.ActionRemove, Actor: "report:" + in.ReportID}
		if fromReport {
			ch.ReportID = in.ReportID
		}
		childCtx := workflow.WithChildOptions(ctx, workflow.ChildWorkflowOptions{WorkflowID: MemberActionID(ch) + "/" + info.WorkflowExecution.RunID})
		futures[i] = workflow.ExecuteChildWorkflow(childCtx, MemberAction, ch)
	}
	finish := activities.FinishReportInput{ReportID: in.ReportID, WorkflowID: info.WorkflowExecution.ID}
	if fromReport {
		finish.Results = map[string]store.RemovalResult{}
	} else {
		finish.Outcomes = map[string]string{}
	}
	res := ReportResult{}
	for i, f := range futures {
		var done MemberActionResult
		err := f.Get(ctx, &done)
		if !fromReport {
			if err != nil {
				finish.Outcomes[members[i]] = "failed: " + err.Error()
				res.Failed++
			} else {
				finish.Outcomes[members[i]] = "removed"
				res.Removed++
			}
			continue
		}
		r := removalResult(ctx, done, err)
		finish.Results[members[i]] = r
		if r.Result == store.ResultRemoved || r.Result == store.ResultGone {
			res.Removed++
		} else {
			res.Failed++
		}
	}
	if err := workflow.ExecuteActivity(short, a.FinishReport, finish).Get(ctx, &res.Status); err != nil {
		return res, err
	}
	if err := mail(activities.MailSummary); err != nil {
		return res, err
	}
	setStage(ctx, StageDone, fmt.Sprintf("%s: %d removed, %d failed", res.Status, res.Removed, res.Failed))
	return res, nil
}

// removalResult says how a person's removal ended, in a sentence for
// people ("removed", "already gone", "not removed: Meta refused: …").
func removalResult(ctx workflow.Context, done MemberActionResult, err error) store.RemovalResult {
	switch {
	case err != nil:
		return store.RemovalResult{Result: store.ResultFailed, Outcome: "not removed: " + explain(ctx, err)}
	case done.Status == store.ActionCancelled:
		return store.RemovalResult{Result: store.ResultCancelled, Outcome: "not removed: " + done.Outcome}
	case done.Outcome == store.OutcomeGone:
		return store.RemovalResult{Result: store.ResultGone, Outcome: store.OutcomeGone}
	}
	return store.RemovalResult{Result: store.ResultRemoved, Outcome: store.OutcomeRemoved}
}
