package e2e

import (
	"context"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/hubkeeper/hubkeeper/internal/domain"
	"github.com/hubkeeper/hubkeeper/internal/sandbox/metasandbox"
	"github.com/hubkeeper/hubkeeper/internal/sandbox/seed"
	"github.com/hubkeeper/hubkeeper/internal/store"
	"github.com/hubkeeper/hubkeeper/workflows"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"
)

// runningRun waits until a workflow with id runs and returns its run id.
func (s *stack) runningRun(t *testing.T, id string) string {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		d, err := s.temporal.DescribeWorkflowExecution(context.Background(), id, "")
		if err == nil && d.WorkflowExecutionInfo.Status == enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING {
			return d.WorkflowExecutionInfo.Execution.RunId
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("%s never ran", id)
	return ""
}

// scheduledRun triggers a Schedule and returns the workflow its action started.
func (s *stack) scheduledRun(t *testing.T, scheduleID string) client.WorkflowRun {
	t.Helper()
	ctx := context.Background()
	h := s.temporal.ScheduleClient().GetHandle(ctx, scheduleID)
	before, err := h.Describe(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := h.Trigger(ctx, client.ScheduleTriggerOptions{}); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		d, err := h.Describe(ctx)
		if err == nil && len(d.Info.RecentActions) > len(before.Info.RecentActions) {
			started := d.Info.RecentActions[len(d.Info.RecentActions)-1].StartWorkflowResult
			return s.temporal.GetWorkflow(ctx, started.WorkflowID, started.FirstExecutionRunID)
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("schedule %s started nothing", scheduleID)
	return nil
}

// manualJoinsScheduled triggers the Schedule id, then, while its run goes,
// the manual trigger at path, which must answer that very run.
func (s *stack) manualJoinsScheduled(t *testing.T, id, path string) client.WorkflowRun {
	t.Helper()
	scheduled := s.scheduledRun(t, id)
	running := s.runningRun(t, id)
	var manual syncStarted
	if code := s.call("POST", path, s.apiKey, nil, &manual); code != http.StatusAccepted {
		t.Fatalf("sync: %d", code)
	}
	if manual.WorkflowID != id || manual.RunID != running {
		t.Fatalf("the manual trigger started %s/%s while %s/%s ran", manual.WorkflowID, manual.RunID, id, running)
	}
	return scheduled
}

// One import of a directory at a time, whoever starts it: a manual trigger
// during a Schedule's run returns that run, and a Schedule's run during a
// manual one leaves it to finish.
func TestOneImportAtATime(t *testing.T) {
	s := newStack(t, seed.Company(emailDomain, 600, 10))
	s.okta.Latency = 150 * time.Millisecond
	dir := s.createDirectory(s.oktaDirectoryBody(oktaToken))
	id := workflows.DirectorySyncID(dir.ID)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	runs := func() int {
		list, _, err := s.store.ListSyncRuns(ctx, s.ws.ID, dir.ID, store.Page{Limit: store.MaxLimit})
		if err != nil {
			t.Fatal(err)
		}
		return len(list)
	}

	scheduled := s.manualJoinsScheduled(t, id, "/v1/directories/"+dir.ID+"/sync")
	var res workflows.DirectorySyncResult
	if err := scheduled.Get(ctx, &res); err != nil || res.Added != 600 {
		t.Fatalf("scheduled import: %+v, %v", res, err)
	}
	exportHistory(t, s, scheduled.GetID(), scheduled.GetRunID(), "directory_sync_scheduled.json")
	if n := runs(); n != 1 {
		t.Fatalf("%d imports ran, want 1", n)
	}

	// The other way round: a Schedule's run while a manual import goes.
	var manual syncStarted
	if code := s.call("POST", "/v1/directories/"+dir.ID+"/sync", s.apiKey, nil, &manual); code != http.StatusAccepted {
		t.Fatalf("sync: %d", code)
	}
	s.runningRun(t, id)
	if err := s.scheduledRun(t, id).Get(ctx, &res); err != nil {
		t.Fatalf("scheduled run during a manual import: %v", err)
	}
	if err := s.temporal.GetWorkflow(ctx, manual.WorkflowID, manual.RunID).Get(ctx, &res); err != nil || res.Unchanged != 600 {
		t.Fatalf("manual import: %+v, %v", res, err)
	}
	if n := runs(); n != 2 {
		t.Fatalf("%d imports ran, want 2", n)
	}
}

// One check of an integration at a time, the same way.
func TestOneCheckAtATime(t *testing.T) {
	s := newStack(t, seed.Company(emailDomain, 300, 5))
	s.importOkta()
	// Slow enough that the check is still running when the test looks, on a loaded machine too.
	s.meta.Latency = 400 * time.Millisecond
	ig, _ := s.createIntegration(s.apiKey, metaToken)
	id := workflows.IntegrationSyncID(ig.ID)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	scheduled := s.manualJoinsScheduled(t, id, "/v1/integrations/"+ig.ID+"/sync")
	var res workflows.IntegrationSyncResult
	if err := scheduled.Get(ctx, &res); err != nil || res.Members == 0 {
		t.Fatalf("scheduled check: %+v, %v", res, err)
	}
	exportHistory(t, s, scheduled.GetID(), scheduled.GetRunID(), "integration_sync_scheduled.json")
	list, _, err := s.store.ListSyncRuns(ctx, s.ws.ID, ig.ID, store.Page{Limit: store.MaxLimit})
	if err != nil || len(list) != 1 {
		t.Fatalf("%d checks ran, want 1 (%v)", len(list), err)
	}
}

// What an admin does while a check is fetching stays as they left it: the
// check applies a snapshot begun before, and must not undo a removal, an
// exemption, a role change or an invitation made meanwhile.
func TestCheckKeepsWhatAnAdminDidDuringIt(t *testing.T) {
	s, ig, people := connected(t)
	b := s.meta.Business(metaBusinessID)
	removed := s.firstOf(ig.ID, domain.StateOnboarded, "@"+emailDomain)
	var roled store.Member
	for _, m := range s.members(s.apiKey, ig.ID, string(domain.StateOnboarded)) {
		if m.ExternalID != removed.ExternalID && m.Role == "EMPLOYEE" {
			roled = m
			break
		}
	}
	exempted := s.firstOf(ig.ID, domain.StateUnmatched, "@"+metasandbox.AgencyDomain)
	invitee := ""
	for _, p := range people {
		if p.Status == domain.UserActive && !inMetaBusiness(b, p.Email) {
			invitee = p.Email
			break
		}
	}

	// The check stops before its grants, with members and invitations fetched.
	release := s.meta.HoldBatches()
	defer release()
	var started syncStarted
	if code := s.call("POST", "/v1/integrations/"+ig.ID+"/sync", s.apiKey, nil, &started); code != http.StatusAccepted {
		t.Fatalf("sync: %d", code)
	}
	deadline := time.Now().Add(30 * time.Second)
	for s.meta.HeldBatches() == 0 || !membersFetched(t, s, ig.ID, started.RunID) {
		if time.Now().After(deadline) {
			t.Fatal("the check never reached its grants")
		}
		time.Sleep(20 * time.Millisecond)
	}
	s.act(ig.ID, removed.ExternalID, "remove", nil)
	s.act(ig.ID, roled.ExternalID, "role", map[string]string{"role": "ADMIN"})
	s.act(ig.ID, exempted.ExternalID, "exempt", map[string]string{"reason": "agency on retainer"})
	var invited actionStarted
	if code := s.call("POST", "/v1/integrations/"+ig.ID+"/invitations", s.apiKey, map[string]string{"email": invitee, "role": "EMPLOYEE"},
		&invited); code != http.StatusAccepted {
		t.Fatalf("invite: %d", code)
	}
	if err := s.temporal.GetWorkflow(context.Background(), invited.WorkflowID, invited.RunID).Get(context.Background(), nil); err != nil {
		t.Fatal(err)
	}
	release()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := s.temporal.GetWorkflow(ctx, started.WorkflowID, started.RunID).Get(ctx, nil); err != nil {
		t.Fatal(err)
	}
	if m := s.member(ig.ID, removed.ExternalID); m.State != domain.StateRemoved {
		t.Fatalf("the member removed during the check is %s", m.State)
	}
	if m := s.member(ig.ID, roled.ExternalID); m.Role != "ADMIN" {
		t.Fatalf("the role changed during the check is %s", m.Role)
	}
	if m := s.member(ig.ID, exempted.ExternalID); m.State != domain.StateExempted {
		t.Fatalf("the member exempted during the check is %s", m.State)
	}
	if !slices.ContainsFunc(s.members(s.apiKey, ig.ID, string(domain.StatePending)), func(m store.Member) bool { return m.Email == invitee }) {
		t.Fatal("the invitation sent during the check is gone")
	}
}

func inMetaBusiness(b *metasandbox.Business, email string) bool {
	for _, u := range b.Users {
		if u.Email == email {
			return true
		}
	}
	for _, p := range b.Pending {
		if p.Email == email {
			return true
		}
	}
	return false
}

// membersFetched reports whether a check's run has staged every member edge.
func membersFetched(t *testing.T, s *stack, igID, runID string) bool {
	runs, _, err := s.store.ListSyncRuns(context.Background(), s.ws.ID, igID, store.Page{Limit: 1})
	if err != nil {
		t.Fatal(err)
	}
	want := len(s.meta.Business(metaBusinessID).Users) + len(s.meta.Business(metaBusinessID).Pending) +
		len(s.meta.Business(metaBusinessID).SystemUsers)
	return len(runs) == 1 && runs[0].RunID == runID && runs[0].Fetched >= want
}
