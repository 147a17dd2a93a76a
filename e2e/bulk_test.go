package e2e

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/hubkeeper/hubkeeper/internal/domain"
	"github.com/hubkeeper/hubkeeper/internal/sandbox/metasandbox"
	"github.com/hubkeeper/hubkeeper/internal/sandbox/seed"
	"github.com/hubkeeper/hubkeeper/internal/store"
	"github.com/hubkeeper/hubkeeper/workflows"
)

func TestBulkRemove500(t *testing.T) {
	people := seed.Company(emailDomain, 800, 12)
	s := newStack(t, people)
	s.meta.AddBusiness(metasandbox.NewBusiness(metaBusinessID, emailDomain, people, metasandbox.Shape{Members: 700, Pages: 10,
		AdAccounts: 6, HoldersPerAsset: 4, Invitations: 3}, time.Now()), metaToken)
	s.importOkta()
	ig, _ := s.createIntegration(s.apiKey, metaToken)
	if _, err := s.check(s.apiKey, ig.ID); err != nil {
		t.Fatal(err)
	}
	var targets, unmatched []string
	for _, m := range s.members(s.apiKey, ig.ID, "") {
		if m.Kind != domain.MemberUser {
			continue
		}
		if m.State == domain.StateUnmatched && len(unmatched) < 10 {
			unmatched = append(unmatched, m.ExternalID)
		} else if (m.State == domain.StateOnboarded || m.State == domain.StateUnmatched) && len(targets) < store.BulkLimit {
			targets = append(targets, m.ExternalID)
		}
	}
	if len(targets) != store.BulkLimit {
		t.Fatalf("only %d members to remove", len(targets))
	}

	t.Run("BadInput", func(t *testing.T) {
		list := func(ids []string) string { return `["` + strings.Join(ids, `","`) + `"]` }
		tooMany := append(append([]string{}, targets...), unmatched[0])
		onboarded := s.firstOf(ig.ID, domain.StateOnboarded, "@"+emailDomain).ExternalID
		base := "/v1/integrations/" + ig.ID + "/members/bulk"
		s.expectErrors(t, []badRequest{
			{"TooMany", "POST", base, s.apiKey, `{"action":"remove","members":` + list(tooMany) + `}`, 400},
			{"None", "POST", base, s.apiKey, `{"action":"remove","members":[]}`, 400},
			{"Duplicate", "POST", base, s.apiKey, `{"action":"remove","members":` + list([]string{unmatched[0], unmatched[0]}) + `}`, 400},
			{"UnknownAction", "POST", base, s.apiKey, `{"action":"invite","members":` + list(unmatched[:1]) + `}`, 400},
			{"UnknownMember", "POST", base, s.apiKey, `{"action":"remove","members":["1","2"]}`, 404},
			{"WrongTab", "POST", base, s.apiKey, `{"action":"exempt","reason":"agency","members":` + list([]string{unmatched[0], onboarded}) + `}`, 409},
			{"RoleWithoutRole", "POST", base, s.apiKey, `{"action":"role","members":` + list(unmatched[:1]) + `}`, 400},
		})
	})

	t.Run("Exempt", func(t *testing.T) {
		var started struct{ BulkID, WorkflowID, RunID string }
		var raw map[string]any
		code := s.call("POST", "/v1/integrations/"+ig.ID+"/members/bulk", s.apiKey, map[string]any{"action": "exempt",
			"reason": "agency staff on retainer", "members": unmatched}, &raw)
		if code != 202 {
			t.Fatalf("bulk exempt: %d %v", code, raw)
		}
		started.WorkflowID, started.RunID, started.BulkID = raw["workflow_id"].(string), raw["run_id"].(string), raw["bulk_id"].(string)
		if err := s.temporal.GetWorkflow(context.Background(), started.WorkflowID, started.RunID).Get(context.Background(), nil); err != nil {
			t.Fatal(err)
		}
		for _, id := range unmatched {
			if got := s.member(ig.ID, id); got.State != domain.StateExempted {
				t.Fatalf("%s is %s", id, got.State)
			}
		}
	})

	t.Run("Remove", func(t *testing.T) {
		reqsBefore, _ := s.meta.Requests()
		var raw map[string]any
		if code := s.call("POST", "/v1/integrations/"+ig.ID+"/members/bulk", s.apiKey, map[string]any{"action": "remove",
			"members": targets}, &raw); code != 202 {
			t.Fatalf("bulk remove: %d %v", code, raw)
		}
		workflowID, runID, bulkID := raw["workflow_id"].(string), raw["run_id"].(string), raw["bulk_id"].(string)
		sawProgress := false
		for {
			var bulk store.BulkAction
			s.call("GET", "/v1/integrations/"+ig.ID+"/bulk/"+bulkID, s.apiKey, nil, &bulk)
			if q, err := s.temporal.QueryWorkflow(context.Background(), workflowID, runID, workflows.QueryProgress); err == nil {
				var p workflows.BulkProgress
				if q.Get(&p) == nil && p.ChunksDone > 0 && p.ChunksDone < p.Chunks {
					sawProgress = true
				}
			}
			if bulk.Status == "succeeded" {
				if bulk.Done != store.BulkLimit || bulk.Failed != 0 {
					t.Fatalf("bulk = %d done, %d failed", bulk.Done, bulk.Failed)
				}
				break
			}
			if bulk.Status == "failed" {
				t.Fatalf("bulk failed: %+v", bulk)
			}
			time.Sleep(20 * time.Millisecond)
		}
		exportHistory(t, s, workflowID, runID, "bulk_remove.json")
		reqs, _ := s.meta.Requests()
		t.Logf("500 removals in %d Graph requests; progress seen mid-way: %v", reqs-reqsBefore, sawProgress)
		if s.meta.Removals() != store.BulkLimit || reqs-reqsBefore > 10+2 {
			t.Fatalf("%d removals at Meta in %d requests, want 500 in about 10 batches", s.meta.Removals(), reqs-reqsBefore)
		}
		if n := len(s.members(s.apiKey, ig.ID, "removed")); n != store.BulkLimit {
			t.Fatalf("%d members in the removed tab", n)
		}
		events, _, _ := s.store.ListAuditEvents(context.Background(), s.ws.ID, store.AuditFilter{Action: "member.remove"}, store.Page{Limit: 500})
		if len(events) != store.BulkLimit {
			t.Fatalf("%d audit events", len(events))
		}
		if _, err := s.check(s.apiKey, ig.ID); err != nil {
			t.Fatal(err)
		}
		runs, _, _ := s.store.ListSyncRuns(context.Background(), s.ws.ID, ig.ID, store.Page{Limit: 1})
		if r := runs[0]; r.Added+r.Changed+r.Removed != 0 {
			t.Fatal(fmt.Sprintf("the check after the bulk removal changed things: %+v", r))
		}
	})
}
