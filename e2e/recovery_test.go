package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/hubkeeper/hubkeeper/api"
	"github.com/hubkeeper/hubkeeper/internal/mail"
	"github.com/hubkeeper/hubkeeper/internal/sandbox/metasandbox"
	"github.com/hubkeeper/hubkeeper/internal/sandbox/seed"
	"github.com/hubkeeper/hubkeeper/internal/store"
	"github.com/hubkeeper/hubkeeper/workflows"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"
)

// running reports whether the latest run of a workflow id runs.
func (s *stack) running(t *testing.T, id string) bool {
	t.Helper()
	d, err := s.temporal.DescribeWorkflowExecution(context.Background(), id, "")
	if err != nil {
		t.Fatal(err)
	}
	return d.WorkflowExecutionInfo.Status == enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING
}

// A report whose review stopped (an operator terminated it, or it failed)
// is not left pending with nothing waiting: the next check starts the
// review again, and a decision made while none runs is acted on.
func TestStoppedReviewResumes(t *testing.T) {
	s, ig, _ := connected(t)
	var reports struct{ Items []store.Report }
	s.call("GET", "/v1/reports", s.apiKey, nil, &reports)
	report := reports.Items[0]
	id := workflows.ReportWorkflowID(report.ID)
	ctx := context.Background()
	if err := s.temporal.TerminateWorkflow(ctx, id, "", "test: the review stopped"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.check(s.apiKey, ig.ID); err != nil {
		t.Fatal(err)
	}
	if !s.running(t, id) {
		t.Fatal("the check did not resume the open report's review")
	}

	// Stopped again, then decided through the API: the removals still happen.
	if err := s.temporal.TerminateWorkflow(ctx, id, "", "test: the review stopped again"); err != nil {
		t.Fatal(err)
	}
	if code := s.call("POST", "/v1/reports/"+report.ID+"/decision", s.apiKey, map[string]any{"decision": "confirm", "version": report.Version},
		nil); code != http.StatusOK {
		t.Fatalf("confirm: %d", code)
	}
	wctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	var res workflows.ReportResult
	if err := s.temporal.GetWorkflow(wctx, id, "").Get(wctx, &res); err != nil || res.Status != "applied" || res.Removed != len(report.Members) {
		t.Fatalf("review after the decision: %+v, %v", res, err)
	}
	for _, m := range report.Members {
		if s.meta.Business(metaBusinessID).Users[m.MemberID] != nil {
			t.Fatalf("%s was not removed", m.MemberID)
		}
	}
}

// An onboarding whose workflow stopped is not left waiting with nothing
// waiting: the next submission says so and records it failed, and it can
// be restarted.
func TestStoppedOnboardingCanRestart(t *testing.T) {
	s := newStack(t, seed.Company(emailDomain, 40, 2))
	const businessID = "901234567890777"
	s.meta.AddBusiness(metasandbox.NewBusiness(businessID, emailDomain, s.people, metaShape, time.Now()), "EAAunused-token-of-another-app")
	var created onboardedView
	if code := s.call("POST", "/v1/integrations", s.apiKey, map[string]any{"provider": "meta", "label": "Acme onboarding",
		"business_id": businessID, "login_method": "sso", "onboarding": true, "admin_email": "it@" + emailDomain, "graph_base_url": s.metaURL},
		&created); code != http.StatusCreated {
		t.Fatalf("create: %d", code)
	}
	s.waitOnboarding(created.ID, "app approval", atStage(store.OnboardAppApproval))
	base := "/v1/integrations/" + created.ID + "/onboarding/"
	if code := s.call("POST", base+"restart", s.apiKey, nil, nil); code != http.StatusConflict {
		t.Fatalf("restarting a running onboarding: %d", code)
	}
	if err := s.temporal.TerminateWorkflow(context.Background(), workflows.OnboardingID(created.ID), "", "test: stopped"); err != nil {
		t.Fatal(err)
	}
	supportKey, _, err := s.store.CreateAPIKey(context.Background(), store.NewAPIKey{Name: "support desk", Scope: store.ScopeSupport, Actor: "test"})
	if err != nil {
		t.Fatal(err)
	}
	appID, appSecret := s.meta.RegisterApp()
	var refused struct {
		Error struct{ Message string }
	}
	code := s.call("POST", base+"app-approved", supportKey, map[string]string{"app_id": appID, "app_secret": appSecret}, &refused)
	if code != http.StatusConflict || !strings.Contains(refused.Error.Message, "restart it") {
		t.Fatalf("a submission to a stopped onboarding: %d %q", code, refused.Error.Message)
	}
	if v := s.integration(created.ID); v.Onboarding.Stage != store.OnboardFailed || !strings.Contains(v.Onboarding.Message, "stopped") {
		t.Fatalf("after the refused submission: %+v", v.Onboarding)
	}
	if code := s.call("POST", base+"restart", s.apiKey, nil, nil); code != http.StatusAccepted {
		t.Fatalf("restart: %d", code)
	}
	if v := s.waitOnboarding(created.ID, "the claim", atStage(store.OnboardClaim)); v.Status != "onboarding" {
		t.Fatalf("restarted: %+v", v.Integration)
	}
	if !s.running(t, workflows.OnboardingID(created.ID)) {
		t.Fatal("the restarted onboarding does not run")
	}
}

// With the mail server down, a review notes the e-mail it could not send
// and waits on: a decision through the API still removes people, and the
// summary goes out once the server is back.
func TestReviewWithTheMailServerDown(t *testing.T) {
	s := newStack(t, seed.Company(emailDomain, 300, 5))
	s.importOkta()
	s.setAdmins("it@acme.test")
	addr := s.mail.Addr
	if err := s.mail.Close(); err != nil {
		t.Fatal(err)
	}
	ig, _ := s.createIntegration(s.apiKey, metaToken)
	if _, err := s.check(s.apiKey, ig.ID); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(90 * time.Second)
	var failed struct{ Items []store.AuditEvent }
	for len(failed.Items) == 0 {
		if time.Now().After(deadline) {
			t.Fatal("the review never noted the e-mail it could not send")
		}
		time.Sleep(500 * time.Millisecond)
		s.call("GET", "/v1/audit?action=report.mail_failed", s.apiKey, nil, &failed)
	}
	var reports struct{ Items []store.Report }
	s.call("GET", "/v1/reports", s.apiKey, nil, &reports)
	report := reports.Items[0]
	if !s.running(t, workflows.ReportWorkflowID(report.ID)) || report.Status != "pending" {
		t.Fatalf("after the failed e-mail: review running %v, report %s", s.running(t, workflows.ReportWorkflowID(report.ID)), report.Status)
	}
	catcher, err := mail.StartCatcher(addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { catcher.Close() })
	s.mail = catcher
	if code := s.call("POST", "/v1/reports/"+report.ID+"/decision", s.apiKey, map[string]any{"decision": "confirm", "version": report.Version},
		nil); code != http.StatusOK {
		t.Fatalf("confirm: %d", code)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var res workflows.ReportResult
	if err := s.temporal.GetWorkflow(ctx, workflows.ReportWorkflowID(report.ID), "").Get(ctx, &res); err != nil || res.Status != "applied" {
		t.Fatalf("review: %+v, %v", res, err)
	}
	s.waitMail("it@acme.test", "applied")
}

// Schedules and workflows start after their rows commit: with Temporal
// down, a directory and an onboarding are still created (nothing starts),
// and their Schedule and workflow start once Temporal is back, once.
func TestStartsOwedWhileTemporalIsDown(t *testing.T) {
	s := newStack(t, seed.Company(emailDomain, 40, 2))
	down, err := client.NewLazyClient(client.Options{HostPort: "127.0.0.1:1"})
	if err != nil {
		t.Fatal(err)
	}
	downAPI := httptest.NewServer(api.New(api.Options{Store: s.store, Temporal: down, TaskQueue: taskQueue, SyncEvery: 24 * time.Hour, ProviderHosts: sandboxHosts,
		Codec: http.NotFoundHandler()}))
	t.Cleanup(downAPI.Close)
	post := func(path string, body any, out any) int {
		t.Helper()
		raw, _ := json.Marshal(body)
		req, _ := http.NewRequest("POST", downAPI.URL+path, bytes.NewReader(raw))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+s.apiKey)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		_ = json.NewDecoder(resp.Body).Decode(out)
		return resp.StatusCode
	}
	var dir store.Directory
	if code := post("/v1/directories", s.oktaDirectoryBody(oktaToken), &dir); code != http.StatusCreated {
		t.Fatalf("create directory with Temporal down: %d", code)
	}
	const businessID = "901234567890778"
	s.meta.AddBusiness(metasandbox.NewBusiness(businessID, emailDomain, s.people, metaShape, time.Now()), "EAAunused-token-of-another-app")
	var ig store.Integration
	if code := post("/v1/integrations", map[string]any{"provider": "meta", "label": "Acme onboarding", "business_id": businessID,
		"login_method": "sso", "onboarding": true, "admin_email": "it@" + emailDomain, "graph_base_url": s.metaURL}, &ig); code != http.StatusCreated {
		t.Fatalf("create onboarding with Temporal down: %d", code)
	}
	ctx := context.Background()
	if _, err := s.temporal.ScheduleClient().GetHandle(ctx, workflows.DirectorySyncID(dir.ID)).Describe(ctx); err == nil {
		t.Fatal("a Schedule exists although Temporal was down")
	}
	if owed, _ := s.store.OwedStarts(ctx, 10); len(owed) != 2 {
		t.Fatalf("%d starts owed, want 2", len(owed))
	}

	// Temporal is back (the stack's own API reaches it): the owed starts are made, once.
	drain, stop := context.WithCancel(ctx)
	defer stop()
	go s.server.DrainStarts(drain, 100*time.Millisecond)
	s.waitOnboarding(ig.ID, "app approval", atStage(store.OnboardAppApproval))
	deadline := time.Now().Add(30 * time.Second)
	for {
		owed, _ := s.store.OwedStarts(ctx, 10)
		_, err := s.temporal.ScheduleClient().GetHandle(ctx, workflows.DirectorySyncID(dir.ID)).Describe(ctx)
		if err == nil && len(owed) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the owed starts were not made: %v, %d owed", err, len(owed))
		}
		time.Sleep(50 * time.Millisecond)
	}
	if !s.running(t, workflows.OnboardingID(ig.ID)) {
		t.Fatal("the onboarding does not run")
	}
}
