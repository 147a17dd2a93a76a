package e2e

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/hubkeeper/hubkeeper/internal/domain"
	"github.com/hubkeeper/hubkeeper/internal/sandbox/metasandbox"
	"github.com/hubkeeper/hubkeeper/internal/sandbox/seed"
	"github.com/hubkeeper/hubkeeper/internal/store"
	"github.com/hubkeeper/hubkeeper/workflows"
	"github.com/jackc/pgx/v5"
	sdkworker "go.temporal.io/sdk/worker"
)

// connected is a stack with the directory imported and the Meta business checked.
func connected(t *testing.T) (*stack, store.Integration, []seed.Person) {
	t.Helper()
	people := seed.Company(emailDomain, 300, 5)
	s := newStack(t, people)
	s.importOkta()
	ig, _ := s.createIntegration(s.apiKey, metaToken)
	if _, err := s.check(s.apiKey, ig.ID); err != nil {
		t.Fatal(err)
	}
	return s, ig, people
}

type actionStarted struct {
	WorkflowID   string     `json:"workflow_id"`
	RunID        string     `json:"run_id"`
	Status       string     `json:"status"`
	WaitingUntil *time.Time `json:"waiting_until"`
}

// act runs a member action through the API and waits for it.
func (s *stack) act(igID, memberID, action string, body any) actionStarted {
	s.t.Helper()
	var started actionStarted
	if code := s.call("POST", "/v1/integrations/"+igID+"/members/"+memberID+"/"+action, s.apiKey, body, &started); code != http.StatusAccepted {
		s.t.Fatalf("%s %s: %d", action, memberID, code)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := s.temporal.GetWorkflow(ctx, started.WorkflowID, started.RunID).Get(ctx, nil); err != nil {
		s.t.Fatalf("%s %s: %v", action, memberID, err)
	}
	return started
}

// memberWithActions is the API's answer for one member.
type memberWithActions struct {
	store.Member
	Actions []store.MemberAction `json:"actions"`
}

func (s *stack) member(igID, memberID string) memberWithActions {
	s.t.Helper()
	var m memberWithActions
	if code := s.call("GET", "/v1/integrations/"+igID+"/members/"+memberID, s.apiKey, nil, &m); code != 200 {
		s.t.Fatalf("member %s: %d", memberID, code)
	}
	return m
}

// firstOf returns the first member of a tab whose e-mail ends with suffix.
func (s *stack) firstOf(igID string, state domain.MemberState, suffix string) store.Member {
	s.t.Helper()
	for _, m := range s.members(s.apiKey, igID, string(state)) {
		if m.Kind == domain.MemberUser && strings.HasSuffix(m.Email, suffix) {
			return m
		}
	}
	s.t.Fatalf("no %s member ending in %s", state, suffix)
	return store.Member{}
}

func TestMemberActions(t *testing.T) {
	s, ig, people := connected(t)
	b := s.meta.Business(metaBusinessID)
	var someone, other string
	for _, p := range people {
		if p.Status == domain.UserActive && !p.AliasShared {
			if someone == "" {
				someone = p.Email
			} else if other == "" {
				other = p.Email
			}
		}
	}

	t.Run("Match", func(t *testing.T) {
		m := s.firstOf(ig.ID, domain.StateUnmatched, "@"+metasandbox.AgencyDomain)
		s.act(ig.ID, m.ExternalID, "match", map[string]string{"email": someone, "hub_role": "owner"})
		got := s.member(ig.ID, m.ExternalID)
		if got.State != domain.StateOnboarded || *got.MatchedEmail != someone || *got.HubRole != "owner" || got.MatchedBy != "admin" {
			t.Fatalf("after match: %+v", got)
		}
		if _, err := s.check(s.apiKey, ig.ID); err != nil {
			t.Fatal(err)
		}
		if got := s.member(ig.ID, m.ExternalID); got.State != domain.StateOnboarded || got.MatchedBy != "admin" {
			t.Fatalf("a check for updates undid the admin's match: %+v", got)
		}
		t.Run("Reassign", func(t *testing.T) {
			s.act(ig.ID, m.ExternalID, "reassign", map[string]string{"email": other})
			if got := s.member(ig.ID, m.ExternalID); *got.MatchedEmail != other {
				t.Fatalf("after reassign: %+v", got)
			}
		})
	})

	t.Run("ExemptAndUnexempt", func(t *testing.T) {
		m := s.firstOf(ig.ID, domain.StateUnmatched, "@"+metasandbox.PersonalDomain)
		s.act(ig.ID, m.ExternalID, "exempt", map[string]string{"reason": "freelance photographer on contract"})
		if _, err := s.check(s.apiKey, ig.ID); err != nil {
			t.Fatal(err)
		}
		if got := s.member(ig.ID, m.ExternalID); got.State != domain.StateExempted || got.ExemptReason == "" {
			t.Fatalf("after exempt and a check: %+v", got)
		}
		s.act(ig.ID, m.ExternalID, "unexempt", nil)
		if got := s.member(ig.ID, m.ExternalID); got.State != domain.StateUnmatched {
			t.Fatalf("after unexempt: %+v", got)
		}
	})

	t.Run("Remove", func(t *testing.T) {
		m := s.firstOf(ig.ID, domain.StateOnboarded, "@"+emailDomain)
		if len(m.Assets) == 0 {
			for _, cand := range s.members(s.apiKey, ig.ID, "onboarded") {
				if len(cand.Assets) > 0 && cand.Kind == domain.MemberUser {
					m = cand
					break
				}
			}
		}
		removals := s.meta.Removals()
		started := s.act(ig.ID, m.ExternalID, "remove", nil)
		if b.Users[m.ExternalID] != nil || s.meta.Removals() != removals+1 {
			t.Fatal("the sandbox business still has the member")
		}
		for _, a := range b.Assets {
			if a.Holders[m.ExternalID] != nil {
				t.Fatal("the removed member still holds an asset at Meta")
			}
		}
		got := s.member(ig.ID, m.ExternalID)
		if got.State != domain.StateRemoved || len(got.Assets) != 0 || got.Actions[0].Status != "succeeded" {
			t.Fatalf("after remove: %+v", got)
		}
		// Postgres and Meta agree: a check right after changes nothing.
		if _, err := s.check(s.apiKey, ig.ID); err != nil {
			t.Fatal(err)
		}
		runs, _, _ := s.store.ListSyncRuns(context.Background(), s.ws.ID, ig.ID, store.Page{Limit: 1})
		if r := runs[0]; r.Added+r.Changed+r.Removed != 0 || r.Details["grant_rows_written"].(float64) != 0 {
			t.Fatalf("the check after the removal changed things: %+v", r)
		}
		exportHistory(t, s, started.WorkflowID, started.RunID, "member_action_remove_look_first.json")
		var audit struct {
			Items []store.AuditEvent `json:"items"`
		}
		s.call("GET", "/v1/audit?action=member.remove", s.apiKey, nil, &audit)
		if len(audit.Items) != 1 || audit.Items[0].TraceID == "" || audit.Items[0].WorkflowID != started.WorkflowID ||
			!strings.HasPrefix(audit.Items[0].Actor, "api_key:") || audit.Items[0].Details["before"] == nil {
			t.Fatalf("audit = %+v", audit.Items)
		}
	})

	t.Run("ChangeRoleAndTasks", func(t *testing.T) {
		m := s.firstOf(ig.ID, domain.StateOnboarded, "@"+emailDomain)
		var page, ad string
		for id, a := range b.Assets {
			if a.Kind == "page" && page == "" {
				page = id
			}
			if a.Kind == "ad_account" && ad == "" && a.Holders[m.ExternalID] == nil {
				ad = id
			}
		}
		roled := s.act(ig.ID, m.ExternalID, "role", map[string]any{"role": "ADMIN", "assets": []map[string]any{
			{"asset_id": ad, "tasks": []string{"ADVERTISE", "ANALYZE"}}, {"asset_id": page, "tasks": []string{}}}})
		exportHistory(t, s, roled.WorkflowID, roled.RunID, "member_action_role.json")
		if u := b.Users[m.ExternalID]; u.Role != "ADMIN" || len(b.Assets[ad].Holders[m.ExternalID]) != 2 || b.Assets[page].Holders[m.ExternalID] != nil {
			t.Fatalf("at Meta: role %s, ad tasks %v, page tasks %v", u.Role, b.Assets[ad].Holders[m.ExternalID], b.Assets[page].Holders[m.ExternalID])
		}
		got := s.member(ig.ID, m.ExternalID)
		if got.Role != "ADMIN" {
			t.Fatalf("after role: %+v", got.Member)
		}
		if _, err := s.check(s.apiKey, ig.ID); err != nil {
			t.Fatal(err)
		}
		runs, _, _ := s.store.ListSyncRuns(context.Background(), s.ws.ID, ig.ID, store.Page{Limit: 1})
		if r := runs[0]; r.Added+r.Changed+r.Removed != 0 || r.Details["grant_rows_written"].(float64) != 0 {
			t.Fatalf("the check after the role change changed things: %+v", r)
		}
	})

	t.Run("InviteAcceptAndCancel", func(t *testing.T) {
		var invitees []string
		inBusiness := map[string]bool{}
		for _, u := range b.Users {
			inBusiness[u.Email] = true
		}
		for _, p := range b.Pending {
			inBusiness[p.Email] = true
		}
		for _, p := range people {
			if p.Status == domain.UserActive && !inBusiness[p.Email] && len(invitees) < 2 {
				invitees = append(invitees, p.Email)
			}
		}
		invites := s.meta.Invitations()
		for _, email := range invitees {
			var started actionStarted
			if code := s.call("POST", "/v1/integrations/"+ig.ID+"/invitations", s.apiKey, map[string]string{"email": email, "role": "EMPLOYEE"}, &started); code != 202 {
				t.Fatalf("invite: %d", code)
			}
			if strings.Contains(started.WorkflowID, email) {
				t.Fatal("the workflow id shows the e-mail address")
			}
			if err := s.temporal.GetWorkflow(context.Background(), started.WorkflowID, started.RunID).Get(context.Background(), nil); err != nil {
				t.Fatal(err)
			}
			exportHistory(t, s, started.WorkflowID, started.RunID, "member_action_invite.json")
		}
		if s.meta.Invitations() != invites+2 {
			t.Fatalf("%d invitations sent, want 2", s.meta.Invitations()-invites)
		}
		pendingID := map[string]string{}
		for _, m := range s.members(s.apiKey, ig.ID, "pending") {
			pendingID[m.Email] = m.ExternalID
		}
		if pendingID[invitees[0]] == "" || pendingID[invitees[1]] == "" {
			t.Fatalf("invitees not pending: %v", pendingID)
		}
		// The first accepts: the next check onboards them.
		if _, err := s.meta.AcceptInvitation(metaBusinessID, pendingID[invitees[0]]); err != nil {
			t.Fatal(err)
		}
		if _, err := s.check(s.apiKey, ig.ID); err != nil {
			t.Fatal(err)
		}
		onboarded := false
		for _, m := range s.members(s.apiKey, ig.ID, "onboarded") {
			onboarded = onboarded || m.Email == invitees[0]
		}
		if !onboarded {
			t.Fatal("the accepted invitee is not onboarded after a check")
		}
		// The second is cancelled.
		var started actionStarted
		if code := s.call("DELETE", "/v1/integrations/"+ig.ID+"/invitations/"+pendingID[invitees[1]], s.apiKey, nil, &started); code != 202 {
			t.Fatalf("cancel: %d", code)
		}
		if err := s.temporal.GetWorkflow(context.Background(), started.WorkflowID, started.RunID).Get(context.Background(), nil); err != nil {
			t.Fatal(err)
		}
		exportHistory(t, s, started.WorkflowID, started.RunID, "member_action_cancel.json")
		if b.Pending[pendingID[invitees[1]]] != nil {
			t.Fatal("the invitation is still pending at Meta")
		}
		for _, m := range s.members(s.apiKey, ig.ID, "pending") {
			if m.Email == invitees[1] {
				t.Fatal("the cancelled invitation is still listed")
			}
		}
	})

	t.Run("PermissionErrorFailsFast", func(t *testing.T) {
		m := s.firstOf(ig.ID, domain.StateOnboarded, "@"+emailDomain)
		before, _ := s.meta.Requests()
		s.meta.Inject(metasandbox.Faults["permission"], 1)
		var started actionStarted
		s.call("POST", "/v1/integrations/"+ig.ID+"/members/"+m.ExternalID+"/role", s.apiKey, map[string]string{"role": "EMPLOYEE"}, &started)
		err := s.temporal.GetWorkflow(context.Background(), started.WorkflowID, started.RunID).Get(context.Background(), nil)
		if err == nil || !strings.Contains(err.Error(), "Application does not have permission") {
			t.Fatalf("role change under a permission error: %v", err)
		}
		if reqs, _ := s.meta.Requests(); reqs-before != 1 {
			t.Fatalf("%d Graph requests: a permission error must not be retried", reqs-before)
		}
		if got := s.member(ig.ID, m.ExternalID); got.Actions[0].Status != "failed" || !strings.Contains(got.Actions[0].Error, "(#10)") {
			t.Fatalf("action = %+v", got.Actions[0])
		}
	})

	// An expired invitation shows as expired, and the address can be invited again.
	t.Run("ExpiredInvitationInvitedAgain", func(t *testing.T) {
		var inv *metasandbox.PendingUser
		for _, p := range b.Pending {
			if p.Status == "PENDING" {
				inv = p
				break
			}
		}
		if err := s.meta.ExpireInvitation(metaBusinessID, inv.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := s.check(s.apiKey, ig.ID); err != nil {
			t.Fatal(err)
		}
		if m := s.member(ig.ID, inv.ID); m.InvitationStatus != "EXPIRED" {
			t.Fatalf("the expired invitation shows %q", m.InvitationStatus)
		}
		invites := s.meta.Invitations()
		var started actionStarted
		if code := s.call("POST", "/v1/integrations/"+ig.ID+"/invitations", s.apiKey, map[string]string{"email": inv.Email, "role": "EMPLOYEE"},
			&started); code != 202 {
			t.Fatalf("inviting again: %d", code)
		}
		if err := s.temporal.GetWorkflow(context.Background(), started.WorkflowID, started.RunID).Get(context.Background(), nil); err != nil {
			t.Fatal(err)
		}
		if s.meta.Invitations() != invites+1 {
			t.Fatal("no new invitation was sent")
		}
	})

	// A task set Meta's enums allow but Meta refuses is sent, and Meta's
	// answer is the action's error.
	t.Run("TasksMetaRefuses", func(t *testing.T) {
		m := s.firstOf(ig.ID, domain.StateOnboarded, "@"+emailDomain)
		ad := ""
		for id, a := range b.Assets {
			if a.Kind == "ad_account" {
				ad = id
				break
			}
		}
		var started actionStarted
		if code := s.call("POST", "/v1/integrations/"+ig.ID+"/members/"+m.ExternalID+"/role", s.apiKey,
			map[string]any{"assets": []map[string]any{{"asset_id": ad, "tasks": []string{"DRAFT", "MANAGE"}}}}, &started); code != 202 {
			t.Fatalf("role: %d", code)
		}
		if err := s.temporal.GetWorkflow(context.Background(), started.WorkflowID, started.RunID).Get(context.Background(), nil); err == nil {
			t.Fatal("Meta's refusal was not the action's")
		}
		if a := s.member(ig.ID, m.ExternalID).Actions[0]; a.Status != store.ActionFailed || !strings.Contains(a.Error, "Meta refused") ||
			!strings.Contains(a.Error, "1752129") {
			t.Fatalf("action %+v", a)
		}
	})

	// Graph's 100/33 for a user the token lost permission on is not proof of
	// a removal: the action fails with Meta's words and nothing is recorded removed.
	t.Run("LostPermissionIsNotARemoval", func(t *testing.T) {
		m := s.firstOf(ig.ID, domain.StateOnboarded, "@"+emailDomain)
		defer s.meta.LosePermissionOn(m.ExternalID)()
		var started actionStarted
		s.call("POST", "/v1/integrations/"+ig.ID+"/members/"+m.ExternalID+"/remove", s.apiKey, nil, &started)
		if err := s.temporal.GetWorkflow(context.Background(), started.WorkflowID, started.RunID).Get(context.Background(), nil); err == nil {
			t.Fatal("the removal succeeded")
		}
		got := s.member(ig.ID, m.ExternalID)
		if got.State != domain.StateOnboarded || b.Users[m.ExternalID] == nil {
			t.Fatalf("after the refused removal: %s, at Meta: %v", got.State, b.Users[m.ExternalID] != nil)
		}
		if a := got.Actions[0]; a.Status != store.ActionFailed || !strings.Contains(a.Error, "Meta refused") || !strings.Contains(a.Error, "100/33") {
			t.Fatalf("action %+v", a)
		}
	})

	t.Run("MetaRestrictionAnswerSaysWaiting", func(t *testing.T) {
		m := s.firstOf(ig.ID, domain.StateUnmatched, "@"+metasandbox.AgencyDomain)
		s.meta.Inject(metasandbox.Faults["restricted"], 1)
		var started actionStarted
		s.call("POST", "/v1/integrations/"+ig.ID+"/members/"+m.ExternalID+"/remove", s.apiKey, nil, &started)
		defer s.temporal.TerminateWorkflow(context.Background(), started.WorkflowID, started.RunID, "test over")
		deadline := time.Now().Add(20 * time.Second)
		for {
			got := s.member(ig.ID, m.ExternalID)
			if len(got.Actions) == 0 {
				time.Sleep(50 * time.Millisecond)
				continue
			}
			if a := got.Actions[0]; a.Status == "waiting" && a.WaitingUntil != nil && strings.Contains(a.Error, "restricts") {
				if a.WaitingUntil.Before(time.Now().Add(4 * time.Minute)) {
					t.Fatalf("waiting until %v: Meta's few minutes were not honoured", a.WaitingUntil)
				}
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("the action never said it waits: %+v", got.Actions)
			}
			time.Sleep(100 * time.Millisecond)
		}
		if b.Users[m.ExternalID] == nil {
			t.Fatal("removed despite Meta's restriction")
		}
	})

	t.Run("RemoveWaitsForRestriction", func(t *testing.T) {
		until := time.Now().Add(3 * time.Second)
		conn, _ := pgx.Connect(context.Background(), s.dbURL)
		defer conn.Close(context.Background())
		if _, err := conn.Exec(context.Background(), `UPDATE integrations SET restricted_until = $2 WHERE id = $1`, ig.ID, until); err != nil {
			t.Fatal(err)
		}
		m := s.firstOf(ig.ID, domain.StateOnboarded, "@"+emailDomain)
		var started actionStarted
		s.call("POST", "/v1/integrations/"+ig.ID+"/members/"+m.ExternalID+"/remove", s.apiKey, nil, &started)
		if started.Status != "waiting" || started.WaitingUntil == nil {
			t.Fatalf("answer = %+v, want waiting", started)
		}
		time.Sleep(time.Second)
		if got := s.member(ig.ID, m.ExternalID); len(got.Actions) == 0 || got.Actions[0].Status != "waiting" || b.Users[m.ExternalID] == nil {
			t.Fatalf("during the restriction: %+v", got.Actions)
		}
		if err := s.temporal.GetWorkflow(context.Background(), started.WorkflowID, started.RunID).Get(context.Background(), nil); err != nil {
			t.Fatal(err)
		}
		if time.Now().Before(until) || b.Users[m.ExternalID] != nil {
			t.Fatal("the removal did not wait for the restriction window, or did not happen")
		}
	})

	// A removal waiting out the window looks again before it acts: the
	// member was exempted meanwhile, so nothing is sent.
	t.Run("QueuedRemovalCalledOffByExemption", func(t *testing.T) {
		until := time.Now().Add(3 * time.Second)
		conn, _ := pgx.Connect(context.Background(), s.dbURL)
		defer conn.Close(context.Background())
		if _, err := conn.Exec(context.Background(), `UPDATE integrations SET restricted_until = $2 WHERE id = $1`, ig.ID, until); err != nil {
			t.Fatal(err)
		}
		m := s.firstOf(ig.ID, domain.StateUnmatched, "@"+metasandbox.AgencyDomain)
		var started actionStarted
		s.call("POST", "/v1/integrations/"+ig.ID+"/members/"+m.ExternalID+"/remove", s.apiKey, nil, &started)
		if started.Status != "waiting" {
			t.Fatalf("answer = %+v, want waiting", started)
		}
		s.act(ig.ID, m.ExternalID, "exempt", map[string]string{"reason": "the agency runs our campaigns"})
		removalsBefore := s.meta.Removals()
		var res workflows.MemberActionResult
		if err := s.temporal.GetWorkflow(context.Background(), started.WorkflowID, started.RunID).Get(context.Background(), &res); err != nil {
			t.Fatal(err)
		}
		if res.Status != store.ActionCancelled || b.Users[m.ExternalID] == nil || s.meta.Removals() != removalsBefore {
			t.Fatalf("result %+v; the exempted member was removed: %v", res, b.Users[m.ExternalID] == nil)
		}
		got := s.member(ig.ID, m.ExternalID)
		var removal store.MemberAction
		for _, a := range got.Actions {
			if a.Action == store.ActionRemove {
				removal = a
				break
			}
		}
		if got.State != domain.StateExempted || removal.Status != store.ActionCancelled || removal.Outcome != "the member was exempted meanwhile" {
			t.Fatalf("member %s, removal %+v", got.State, removal)
		}
		exportHistory(t, s, started.WorkflowID, started.RunID, "member_action_called_off.json")
	})
}

func TestMemberActionBadInput(t *testing.T) {
	s, ig, _ := connected(t)
	onboarded := s.firstOf(ig.ID, domain.StateOnboarded, "@"+emailDomain)
	unmatched := s.firstOf(ig.ID, domain.StateUnmatched, "@"+metasandbox.AgencyDomain)
	system := s.members(s.apiKey, ig.ID, "system")[0]
	base := "/v1/integrations/" + ig.ID + "/members/"
	adAccount := ""
	for id, a := range s.meta.Business(metaBusinessID).Assets {
		if a.Kind == "ad_account" {
			adAccount = id
		}
	}
	invitesBefore := s.meta.Invitations()
	defer func() {
		if s.meta.Invitations() != invitesBefore {
			t.Error("a bad request invited someone at Meta")
		}
	}()
	removalsBefore := s.meta.Removals()
	s.expectErrors(t, []badRequest{
		{"UnknownMember", "POST", base + "999/remove", s.apiKey, "", 404},
		{"UnknownIntegration", "POST", "/v1/integrations/00000000-0000-4000-8000-000000000000/members/1/remove", s.apiKey, "", 404},
		{"ExemptOnboarded", "POST", base + onboarded.ExternalID + "/exempt", s.apiKey, `{"reason":"contractor"}`, 409},
		{"MatchOnboarded", "POST", base + onboarded.ExternalID + "/match", s.apiKey, `{"email":"` + *onboarded.MatchedEmail + `","hub_role":"owner"}`, 409},
		{"UnexemptUnmatched", "POST", base + unmatched.ExternalID + "/unexempt", s.apiKey, "", 409},
		{"ReassignUnmatched", "POST", base + unmatched.ExternalID + "/reassign", s.apiKey, `{"email":"` + *onboarded.MatchedEmail + `"}`, 409},
		{"RemoveSystemUser", "POST", base + system.ExternalID + "/remove", s.apiKey, "", 409},
		{"EmptyReason", "POST", base + unmatched.ExternalID + "/exempt", s.apiKey, `{"reason":""}`, 400},
		{"NoBody", "POST", base + unmatched.ExternalID + "/exempt", s.apiKey, "", 400},
		{"BadHubRole", "POST", base + unmatched.ExternalID + "/match", s.apiKey, `{"email":"` + *onboarded.MatchedEmail + `","hub_role":"admin"}`, 400},
		{"UnknownPerson", "POST", base + unmatched.ExternalID + "/match", s.apiKey, `{"email":"nobody@acme.test","hub_role":"owner"}`, 400},
		{"NotAnEmail", "POST", base + unmatched.ExternalID + "/match", s.apiKey, `{"email":"nobody","hub_role":"owner"}`, 400},
		{"UnknownField", "POST", base + unmatched.ExternalID + "/remove", s.apiKey, `{"force":true}`, 400},
		{"ReasonNotString", "POST", base + unmatched.ExternalID + "/exempt", s.apiKey, `{"reason":5}`, 400},
		{"BadAuditLimit", "GET", "/v1/audit?limit=9999", s.apiKey, "", 400},
		{"BadRole", "POST", base + onboarded.ExternalID + "/role", s.apiKey, `{"role":"OWNER"}`, 400},
		{"NothingToChange", "POST", base + onboarded.ExternalID + "/role", s.apiKey, `{}`, 400},
		{"UnknownTask", "POST", base + onboarded.ExternalID + "/role", s.apiKey, `{"assets":[{"asset_id":"` + adAccount + `","tasks":["OWN"]}]}`, 400},
		{"TaskTwice", "POST", base + onboarded.ExternalID + "/role", s.apiKey, `{"assets":[{"asset_id":"` + adAccount + `","tasks":["ANALYZE","ANALYZE"]}]}`, 400},
		{"UnknownAsset", "POST", base + onboarded.ExternalID + "/role", s.apiKey, `{"assets":[{"asset_id":"act_0","tasks":["ANALYZE"]}]}`, 400},
		{"RoleOfSystemUser", "POST", base + system.ExternalID + "/role", s.apiKey, `{"role":"ADMIN"}`, 409},
		{"InviteMember", "POST", "/v1/integrations/" + ig.ID + "/invitations", s.apiKey, `{"email":"` + onboarded.Email + `","role":"EMPLOYEE"}`, 409},
		{"InviteStranger", "POST", "/v1/integrations/" + ig.ID + "/invitations", s.apiKey, `{"email":"stranger@else.example","role":"EMPLOYEE"}`, 400},
		{"InviteBadRole", "POST", "/v1/integrations/" + ig.ID + "/invitations", s.apiKey, `{"email":"` + *onboarded.MatchedEmail + `","role":"GOD"}`, 400},
		{"CancelMember", "DELETE", "/v1/integrations/" + ig.ID + "/invitations/" + onboarded.ExternalID, s.apiKey, "", 409},
		{"CancelUnknown", "DELETE", "/v1/integrations/" + ig.ID + "/invitations/123", s.apiKey, "", 404},
	})
	if s.meta.Removals() != removalsBefore {
		t.Fatal("a bad request removed someone at Meta")
	}
}

// TestExactlyOnceAcrossWorkerStop stops the worker while a removal or an
// invitation is at Meta and starts another: Meta sees it once.
func TestExactlyOnceAcrossWorkerStop(t *testing.T) {
	for _, action := range []string{store.ActionRemove, store.ActionInvite} {
		t.Run(action, func(t *testing.T) {
			s, ig, people := connected(t)
			b := s.meta.Business(metaBusinessID)
			ch := store.MemberChange{WorkspaceID: s.ws.ID, IntegrationID: ig.ID, Action: action, Actor: "test", Role: "EMPLOYEE"}
			var atMeta func() bool
			var count func() int
			if action == store.ActionRemove {
				ch.MemberID = s.firstOf(ig.ID, domain.StateOnboarded, "@"+emailDomain).ExternalID
				atMeta, count = func() bool { return b.Users[ch.MemberID] == nil }, s.meta.Removals
			} else {
				inBusiness := map[string]bool{}
				for _, m := range s.members(s.apiKey, ig.ID, "") {
					inBusiness[m.Email] = true
				}
				for _, p := range people {
					if p.Status == domain.UserActive && !inBusiness[p.Email] {
						ch.Email = p.Email
						break
					}
				}
				before := s.meta.Invitations()
				atMeta, count = func() bool { return s.meta.Invitations() > before }, func() int { return s.meta.Invitations() - before }
			}
			newWorker := func() sdkworker.Worker { return s.crashableWorker(t, "once") }
			first := newWorker()
			s.meta.Latency = 300 * time.Millisecond
			run, err := startMemberAction(s, "once", ch)
			if err != nil {
				t.Fatal(err)
			}
			deadline := time.Now().Add(30 * time.Second)
			for !atMeta() {
				if time.Now().After(deadline) {
					t.Fatal("the action never reached Meta")
				}
				time.Sleep(5 * time.Millisecond)
			}
			first.Stop()
			second := newWorker()
			defer second.Stop()
			if err := s.temporal.GetWorkflow(context.Background(), run.GetID(), run.GetRunID()).Get(context.Background(), nil); err != nil {
				t.Fatal(err)
			}
			if n := count(); n != 1 {
				t.Fatalf("Meta saw the %s %d times, want once", action, n)
			}
			events, _, _ := s.store.ListAuditEvents(context.Background(), s.ws.ID, store.AuditFilter{Action: "member." + action}, store.Page{})
			if len(events) != 1 {
				t.Fatalf("%d audit events", len(events))
			}
		})
	}
}
