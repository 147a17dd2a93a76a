package activities

import (
	"context"

	"github.com/hubkeeper/hubkeeper/internal/domain"
	"github.com/hubkeeper/hubkeeper/internal/store"
)

// RuleWork is what a group rule's run is to do: the member actions to
// start (invitations of joiners, role and task changes of movers), and
// how many it left alone or will report.
type RuleWork struct {
	// Gone: the rule was deleted; nothing to do.
	Gone    bool
	Actions []MemberChange
	// Reported are the people who left the group, whom the next check
	// reports; Unchanged are as the rule says (or exempted, or invited);
	// Skipped could not be acted on (the member changed since the plan).
	Reported, Unchanged, Skipped int
}

// PrepareGroupRule plans a rule's run and notes who it covers now (so that
// those who left its group are reported by the next check). Each action is
// checked as an admin's would be, with the member as it is now to compare
// before acting; a member that cannot take it is skipped.
func (a *Activities) PrepareGroupRule(ctx context.Context, ruleID string) (RuleWork, error) {
	r, err := a.Store.GroupRule(ctx, "", ruleID)
	if domain.ErrorCode(err) == domain.ENotFound {
		return RuleWork{Gone: true}, nil
	}
	if err != nil {
		return RuleWork{}, failure(err)
	}
	ig, err := a.Store.IntegrationByID(ctx, r.IntegrationID)
	if err != nil {
		return RuleWork{}, failure(err)
	}
	plan, err := a.Store.PlanGroupRule(ctx, r)
	if err != nil {
		return RuleWork{}, failure(err)
	}
	if err := a.Store.RecordGroupRule(ctx, r.ID, plan.InGroup); err != nil {
		return RuleWork{}, failure(err)
	}
	work := RuleWork{Reported: len(plan.Report), Unchanged: plan.Unchanged}
	actor := "rule:" + r.ID
	for _, p := range plan.Invite {
		ch := MemberChange{WorkspaceID: r.WorkspaceID, IntegrationID: r.IntegrationID, Action: store.ActionInvite, Actor: actor,
			Email: p.Email, Role: r.Role, Provider: ig.Provider}
		if _, err := a.Store.CheckMemberChange(ctx, ch); err != nil {
			work.Skipped++
			continue
		}
		work.Actions = append(work.Actions, ch)
	}
	for _, p := range plan.Change {
		ch := MemberChange{WorkspaceID: r.WorkspaceID, IntegrationID: r.IntegrationID, MemberID: p.MemberID, Action: store.ActionRole,
			Actor: actor, Role: r.Role, Assets: r.Assets, Provider: ig.Provider}
		snap, err := a.Store.CheckMemberChange(ctx, ch)
		if err != nil {
			work.Skipped++
			continue
		}
		ch.Expect = &snap
		work.Actions = append(work.Actions, ch)
	}
	return work, nil
}
