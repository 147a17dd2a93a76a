package workflows

import (
	"testing"

	"github.com/hubkeeper/hubkeeper/activities"
	"github.com/hubkeeper/hubkeeper/internal/store"
	"github.com/stretchr/testify/mock"
)

// A rule's run starts one member action per joiner and mover, as the
// rule's, and ends once they have started; a deleted rule does nothing.
func TestGroupRuleStartsMemberActions(t *testing.T) {
	env := newEnv(t)
	work := activities.RuleWork{Reported: 1, Unchanged: 3, Actions: []activities.MemberChange{
		{WorkspaceID: "ws-1", IntegrationID: "ig-1", Action: store.ActionInvite, Email: "ann@acme.test", Role: "EMPLOYEE", Actor: "rule:r1"},
		{WorkspaceID: "ws-1", IntegrationID: "ig-1", MemberID: "m-2", Action: store.ActionRole, Role: "EMPLOYEE", Actor: "rule:r1"},
	}}
	env.OnActivity(a.PrepareGroupRule, mock.Anything, "r1").Return(work, nil).Once()
	env.OnWorkflow(MemberAction, mock.Anything, mock.Anything).Return(MemberActionResult{Status: store.ActionSucceeded}, nil).Maybe()
	env.ExecuteWorkflow(GroupRule, GroupRuleInput{RuleID: "r1", WorkspaceID: "ws-1", IntegrationID: "ig-1"})
	var res GroupRuleResult
	if err := env.GetWorkflowResult(&res); err != nil {
		t.Fatal(err)
	}
	if res != (GroupRuleResult{Started: 2, Reported: 1, Unchanged: 3}) {
		t.Fatalf("result %+v", res)
	}

	env = newEnv(t)
	env.OnActivity(a.PrepareGroupRule, mock.Anything, "gone").Return(activities.RuleWork{Gone: true}, nil).Once()
	env.ExecuteWorkflow(GroupRule, GroupRuleInput{RuleID: "gone"})
	if err := env.GetWorkflowResult(&res); err != nil || res != (GroupRuleResult{}) {
		t.Fatalf("deleted rule: %+v %v", res, err)
	}
}
