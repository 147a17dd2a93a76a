package e2e

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/hubkeeper/hubkeeper/internal/domain"
	"github.com/hubkeeper/hubkeeper/internal/sandbox/oktasandbox"
	"github.com/hubkeeper/hubkeeper/internal/sandbox/seed"
	"github.com/hubkeeper/hubkeeper/internal/store"
	"github.com/hubkeeper/hubkeeper/workflows"
)

// TestGroupRulePreviewEqualsWhatItDoes: a rule "members of the Okta group
// Marketing get EMPLOYEE in the Meta business" previews who it would
// invite and change; saved, it does exactly that through member actions,
// checked in the Meta sandbox. A person who leaves the group shows in the
// rule's plan as to report, and lands in the report of the check after the
// one that ran the rule, with the group named.
func TestGroupRulePreviewEqualsWhatItDoes(t *testing.T) {
	people := seed.Company(emailDomain, 300, 5)
	s := newStack(t, people)
	dir := s.importOkta()
	ig, _ := s.createIntegration(s.apiKey, metaToken)
	if _, err := s.check(s.apiKey, ig.ID); err != nil {
		t.Fatal(err)
	}
	byEmail := map[string]seed.Person{}
	for _, p := range people {
		byEmail[p.Email] = p
	}
	// The group: four admins (to change), four employees (as the rule
	// says), and four active people not in the business (to invite).
	var group []string
	var admins, employees []store.Member
	for _, m := range s.members(s.apiKey, ig.ID, string(domain.StateOnboarded)) {
		p, ok := byEmail[*m.MatchedEmail]
		if !ok || p.Status != domain.UserActive || m.Kind != domain.MemberUser {
			continue
		}
		switch {
		case m.Role == "ADMIN" && len(admins) < 4:
			admins = append(admins, m)
		case m.Role == "EMPLOYEE" && len(employees) < 4:
			employees = append(employees, m)
		default:
			continue
		}
		group = append(group, oktasandbox.OktaID(p.Key))
	}
	inBusiness := map[string]bool{}
	for _, m := range s.members(s.apiKey, ig.ID, "") {
		inBusiness[m.Email] = true
		if m.MatchedEmail != nil {
			inBusiness[*m.MatchedEmail] = true
		}
	}
	var joiners []string
	for _, p := range people {
		if p.Status == domain.UserActive && !inBusiness[p.Email] && p.Alias == "" && len(joiners) < 4 {
			joiners = append(joiners, p.Email)
			group = append(group, oktasandbox.OktaID(p.Key))
		}
	}
	if len(admins) != 4 || len(employees) != 4 || len(joiners) != 4 {
		t.Fatalf("seed: %d admins, %d employees, %d joiners", len(admins), len(employees), len(joiners))
	}
	groupID := s.okta.AddGroup("Marketing", group...)
	if _, err := s.sync(dir.ID); err != nil {
		t.Fatal(err)
	}

	body := map[string]any{"directory_id": dir.ID, "group_id": groupID, "role": "EMPLOYEE"}
	s.expectErrors(t, []badRequest{
		{"UnknownGroup", "POST", "/v1/integrations/" + ig.ID + "/rules/preview", s.apiKey,
			`{"directory_id":"` + dir.ID + `","group_id":"00gnope","role":"EMPLOYEE"}`, 400},
		{"BadRole", "POST", "/v1/integrations/" + ig.ID + "/rules", s.apiKey,
			`{"directory_id":"` + dir.ID + `","group_id":"` + groupID + `","role":"OWNER"}`, 400},
		{"UnknownAsset", "POST", "/v1/integrations/" + ig.ID + "/rules", s.apiKey,
			`{"directory_id":"` + dir.ID + `","group_id":"` + groupID + `","role":"EMPLOYEE","assets":[{"asset_id":"act_0","tasks":["ANALYZE"]}]}`, 400},
		{"NoRole", "POST", "/v1/integrations/" + ig.ID + "/rules", s.apiKey, `{"directory_id":"` + dir.ID + `","group_id":"` + groupID + `"}`, 400},
	})
	var plan store.RulePlan
	if code := s.call("POST", "/v1/integrations/"+ig.ID+"/rules/preview", s.apiKey, body, &plan); code != 200 {
		t.Fatalf("preview: %d", code)
	}
	emails := func(ps []store.RulePerson) []string {
		var out []string
		for _, p := range ps {
			out = append(out, p.Email)
		}
		slices.Sort(out)
		return out
	}
	var wantChange []string
	for _, m := range admins {
		wantChange = append(wantChange, *m.MatchedEmail)
	}
	slices.Sort(wantChange)
	slices.Sort(joiners)
	if !slices.Equal(emails(plan.Invite), joiners) || !slices.Equal(emails(plan.Change), wantChange) || plan.Unchanged != 4 || len(plan.Report) != 0 {
		t.Fatalf("preview: invite %v, change %v, unchanged %d; want %v and %v", emails(plan.Invite), emails(plan.Change), plan.Unchanged, joiners, wantChange)
	}

	var created struct {
		Rule       store.GroupRule `json:"rule"`
		WorkflowID string          `json:"workflow_id"`
		RunID      string          `json:"run_id"`
	}
	if code := s.call("POST", "/v1/integrations/"+ig.ID+"/rules", s.apiKey, body, &created); code != 201 || created.WorkflowID == "" {
		t.Fatalf("create rule: %d %+v", code, created)
	}
	if code := s.call("POST", "/v1/integrations/"+ig.ID+"/rules", s.apiKey, body, nil); code != 409 {
		t.Fatalf("a second rule for the group: %d", code)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var res workflows.GroupRuleResult
	if err := s.temporal.GetWorkflow(ctx, created.WorkflowID, created.RunID).Get(ctx, &res); err != nil || res.Started != 8 {
		t.Fatalf("rule run: %+v %v", res, err)
	}
	// Every action the plan named, done once, as the rule's.
	for _, p := range plan.Invite {
		id := workflows.MemberActionID(workflows.MemberActionInput{IntegrationID: ig.ID, Action: store.ActionInvite, Email: p.Email})
		if err := s.temporal.GetWorkflow(ctx, id, "").Get(ctx, nil); err != nil {
			t.Fatalf("invite %s: %v", id, err)
		}
	}
	for _, p := range plan.Change {
		id := workflows.MemberActionID(workflows.MemberActionInput{IntegrationID: ig.ID, MemberID: p.MemberID, Action: store.ActionRole})
		if err := s.temporal.GetWorkflow(ctx, id, "").Get(ctx, nil); err != nil {
			t.Fatalf("role %s: %v", id, err)
		}
	}
	b := s.meta.Business(metaBusinessID)
	for _, m := range admins {
		if u := b.Users[m.ExternalID]; u == nil || u.Role != "EMPLOYEE" {
			t.Fatalf("member %s at Meta: %+v", m.ExternalID, u)
		}
	}
	var invited []string
	for _, p := range b.Pending {
		if slices.Contains(joiners, p.Email) && p.Role == "EMPLOYEE" {
			invited = append(invited, p.Email)
		}
	}
	if slices.Sort(invited); !slices.Equal(invited, joiners) {
		t.Fatalf("invited at Meta %v, want %v", invited, joiners)
	}
	events, _, err := s.store.ListAuditEvents(context.Background(), s.ws.ID, store.AuditFilter{Action: "member.role"}, store.Page{Limit: 50})
	if err != nil {
		t.Fatal(err)
	}
	byRule := 0
	for _, e := range events {
		if e.Actor == "rule:"+created.Rule.ID {
			byRule++
		}
	}
	if byRule != 4 {
		t.Fatalf("%d role changes audited as the rule's", byRule)
	}

	// Two employees leave the group: the saved rule's plan says it would
	// report them; the check runs the rule, and the next check reports.
	leaver, back := employees[0], employees[1]
	membership := func(m store.Member, in bool) {
		t.Helper()
		if err := s.okta.SetMembership(groupID, oktasandbox.OktaID(byEmail[*m.MatchedEmail].Key), in); err != nil {
			t.Fatal(err)
		}
		if _, err := s.sync(dir.ID); err != nil {
			t.Fatal(err)
		}
	}
	membership(leaver, false)
	membership(back, false)
	var view struct {
		Plan store.RulePlan `json:"plan"`
	}
	s.call("GET", "/v1/integrations/"+ig.ID+"/rules/"+created.Rule.ID, s.apiKey, nil, &view)
	if got := emails(view.Plan.Report); len(got) != 2 || !slices.Contains(got, *leaver.MatchedEmail) || len(view.Plan.Invite)+len(view.Plan.Change) != 0 {
		t.Fatalf("plan after the leaving: %+v", view.Plan)
	}
	ruled, err := s.check(s.apiKey, ig.ID)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.temporal.GetWorkflow(ctx, workflows.GroupRuleID(created.Rule.ID), "").Get(ctx, &res); err != nil || res.Reported != 2 {
		t.Fatalf("the check's rule run: %+v %v", res, err)
	}
	exportHistory(t, s, ruled.WorkflowID, ruled.RunID, "integration_sync_meta_rules.json")
	exportHistory(t, s, created.WorkflowID, created.RunID, "group_rule.json")
	assertNoSecrets(t, s, created.WorkflowID, created.RunID, metaToken)
	if _, err := s.check(s.apiKey, ig.ID); err != nil {
		t.Fatal(err)
	}
	var reports struct{ Items []store.Report }
	s.call("GET", "/v1/reports", s.apiKey, nil, &reports)
	var report store.Report
	for _, r := range reports.Items {
		for _, m := range r.Members {
			if m.MemberID == leaver.ExternalID && m.LeftGroup == "Marketing" && m.DirectoryStatus == "active" && r.Status == "pending" {
				report = r
			}
		}
	}
	if report.ID == "" {
		t.Fatalf("the leaver is not reported for leaving Marketing: %+v", reports.Items)
	}

	// One of them is back in the group before an admin confirms: their
	// removal is called off; the other is removed at Meta.
	membership(back, true)
	if code := s.call("POST", "/v1/reports/"+report.ID+"/decision", s.apiKey, map[string]any{"decision": "confirm", "version": report.Version}, nil); code != 200 {
		t.Fatalf("confirm: %d", code)
	}
	if err := s.temporal.GetWorkflow(ctx, workflows.ReportWorkflowID(report.ID), "").Get(ctx, nil); err != nil {
		t.Fatal(err)
	}
	var done store.Report
	s.call("GET", "/v1/reports/"+report.ID, s.apiKey, nil, &done)
	outcomes := map[string]string{}
	for _, m := range done.Members {
		outcomes[m.MemberID] = m.Result
	}
	if outcomes[leaver.ExternalID] != store.ResultRemoved || b.Users[leaver.ExternalID] != nil ||
		outcomes[back.ExternalID] != store.ResultCancelled || b.Users[back.ExternalID] == nil {
		t.Fatalf("outcomes %v; at Meta the leaver %v, the one back %v", outcomes, b.Users[leaver.ExternalID] != nil, b.Users[back.ExternalID] != nil)
	}

	// A rule with tasks on an ad account: the member it covers gets them.
	analyst := employees[2]
	var ad string
	for id, a := range b.Assets {
		if a.Kind == "ad_account" && a.Holders[analyst.ExternalID] == nil && (ad == "" || id < ad) {
			ad = id
		}
	}
	adsGroup := s.okta.AddGroup("Ads analysts", oktasandbox.OktaID(byEmail[*analyst.MatchedEmail].Key))
	if _, err := s.sync(dir.ID); err != nil {
		t.Fatal(err)
	}
	withTasks := map[string]any{"directory_id": dir.ID, "group_id": adsGroup, "role": "EMPLOYEE",
		"assets": []map[string]any{{"asset_id": ad, "tasks": []string{"ANALYZE"}}}}
	if s.call("POST", "/v1/integrations/"+ig.ID+"/rules/preview", s.apiKey, withTasks, &plan); len(plan.Change) != 1 ||
		plan.Change[0].MemberID != analyst.ExternalID {
		t.Fatalf("preview with tasks: %+v", plan)
	}
	if code := s.call("POST", "/v1/integrations/"+ig.ID+"/rules", s.apiKey, withTasks, &created); code != 201 {
		t.Fatalf("rule with tasks: %d", code)
	}
	if err := s.temporal.GetWorkflow(ctx, created.WorkflowID, created.RunID).Get(ctx, &res); err != nil || res.Started != 1 {
		t.Fatalf("rule with tasks: %+v %v", res, err)
	}
	id := workflows.MemberActionID(workflows.MemberActionInput{IntegrationID: ig.ID, MemberID: analyst.ExternalID, Action: store.ActionRole})
	if err := s.temporal.GetWorkflow(ctx, id, "").Get(ctx, nil); err != nil {
		t.Fatal(err)
	}
	if got := b.Assets[ad].Holders[analyst.ExternalID]; !slices.Equal(got, []string{"ANALYZE"}) {
		t.Fatalf("tasks at Meta: %v", got)
	}
	if code := s.call("DELETE", "/v1/integrations/"+ig.ID+"/rules/"+created.Rule.ID, s.apiKey, nil, nil); code != 204 {
		t.Fatalf("delete rule: %d", code)
	}
	var rules struct{ Items []store.GroupRule }
	if s.call("GET", "/v1/integrations/"+ig.ID+"/rules", s.apiKey, nil, &rules); len(rules.Items) != 1 || rules.Items[0].GroupName != "Marketing" {
		t.Fatalf("rules after the delete: %+v", rules.Items)
	}
}
