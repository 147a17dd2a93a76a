package e2e

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hubkeeper/hubkeeper/internal/domain"
	"github.com/hubkeeper/hubkeeper/internal/sandbox/pinsandbox"
	"github.com/hubkeeper/hubkeeper/internal/sandbox/seed"
	"github.com/hubkeeper/hubkeeper/internal/store"
	"github.com/hubkeeper/hubkeeper/workflows"
)

const (
	pinBusinessID = "549755813888"
	pinAutomation = "automation@acme.test"
	pinPassword   = "Pinterest-e2e-Pa55word-Kq19"
)

// pinterestSandbox serves a Pinterest business of the stack's people:
// the automation account and members more, ad accounts, pageSize a page.
func (s *stack) pinterestSandbox(t testing.TB, flow string, members, adAccounts, pageSize int) (*pinsandbox.Server, string) {
	t.Helper()
	sb := pinsandbox.New()
	sb.Flow, sb.PageSize = flow, pageSize
	sb.AddBusiness(pinsandbox.NewDemoBusiness(pinBusinessID, "Acme", pinAutomation, s.people, members, adAccounts))
	sb.AddAccount(pinAutomation, pinPassword)
	srv := httptest.NewServer(sb)
	t.Cleanup(srv.Close)
	return sb, srv.URL
}

func (s *stack) createPinterest(businessID, password, webURL string) (onboardedView, int) {
	s.t.Helper()
	var v onboardedView
	code := s.call("POST", "/v1/integrations", s.apiKey, map[string]any{"provider": "pinterest", "label": "Acme Pinterest",
		"business_id": businessID, "login_method": "password", "web_base_url": webURL,
		"automation": map[string]string{"label": "Hubkeeper bot", "email": pinAutomation, "password": password, "phone": "+1 415 555 0100"}}, &v)
	return v, code
}

// TestPinterestOnboardingAndChecks: a Pinterest business is onboarded
// through the API in real Chromium, with the verification code Pinterest
// asks of a new browser; members land in the same tabs as Meta's; later
// checks reuse the kept browser session, and log in again (without a new
// code) when it expired.
func TestPinterestOnboardingAndChecks(t *testing.T) {
	people := seed.Company(emailDomain, 120, 5)
	s := newStack(t, people)
	s.importOkta()
	sb, webURL := s.pinterestSandbox(t, pinsandbox.FlowPeople, 90, 4, 25)
	sb.RequireVerification = true

	created, code := s.createPinterest(pinBusinessID, pinPassword, webURL)
	if code != http.StatusCreated || created.Status != "onboarding" || created.Onboarding == nil || created.Onboarding.Stage != store.OnboardLogin ||
		created.Settings.Automation == nil || created.Settings.Automation.Email != pinAutomation {
		t.Fatalf("create: %d %+v", code, created)
	}
	igID := created.ID
	// Pinterest e-mails the automation account a code; a person submits it.
	deadline := time.Now().Add(time.Minute)
	for sb.VerificationCode(pinAutomation) == "" {
		if time.Now().After(deadline) {
			t.Fatal("the login never reached Pinterest's verification step")
		}
		time.Sleep(100 * time.Millisecond)
	}
	base := "/v1/integrations/" + igID + "/onboarding/"
	s.expectErrors(t, []badRequest{
		{"CodeNotACode", "POST", base + "verification", s.apiKey, `{"code":"12 34"}`, http.StatusBadRequest},
		{"ClaimedIsMetas", "POST", base + "claimed", s.apiKey, "", http.StatusConflict},
		{"PinterestWithToken", "POST", "/v1/integrations", s.apiKey, `{"provider":"pinterest","label":"x","business_id":"1","login_method":"password","access_token":"x"}`, http.StatusBadRequest},
		{"PinterestWithoutAccount", "POST", "/v1/integrations", s.apiKey, `{"provider":"pinterest","mode":"browser","label":"x","business_id":"1","login_method":"password"}`, http.StatusBadRequest},
		{"PinterestSSO", "POST", "/v1/integrations", s.apiKey, `{"provider":"pinterest","label":"x","business_id":"1","login_method":"sso","automation":{"email":"a@b.test","password":"p"}}`, http.StatusBadRequest},
	})
	verification := sb.VerificationCode(pinAutomation)
	if code := s.call("POST", base+"verification", s.apiKey, map[string]string{"code": verification}, nil); code != http.StatusAccepted {
		t.Fatalf("verification: %d", code)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	run := s.temporal.GetWorkflow(ctx, workflows.OnboardingID(igID), "")
	var res workflows.OnboardingResult
	if err := run.Get(ctx, &res); err != nil {
		v := s.integration(igID)
		logs := s.logs.String()
		t.Fatalf("%v\n%+v\n%+v\n%s", err, v.Integration, v.Onboarding, logs[max(0, len(logs)-6000):])
	}
	done := s.integration(igID)
	biz := sb.Business(pinBusinessID)
	wantMembers := len(biz.Members) + len(biz.Invites)
	if done.Status != "connected" || done.Onboarding.Stage != store.OnboardDone || res.Sync.Members != wantMembers || res.Sync.Assets != len(biz.AdAccounts) {
		t.Fatalf("after onboarding: %+v %+v, result %+v (sandbox: %d members, %d ad accounts)", done.Integration, done.Onboarding, res,
			wantMembers, len(biz.AdAccounts))
	}
	if _, err := s.temporal.ScheduleClient().GetHandle(ctx, workflows.IntegrationSyncID(igID)).Describe(ctx); err != nil {
		t.Fatalf("no daily Schedule: %v", err)
	}
	// The same tabs as Meta: directory people onboarded, personal and agency addresses unmatched.
	onboarded, unmatched := s.members(s.apiKey, igID, string(domain.StateOnboarded)), s.members(s.apiKey, igID, string(domain.StateUnmatched))
	if len(onboarded) == 0 || len(unmatched) == 0 {
		t.Fatalf("%d onboarded, %d unmatched", len(onboarded), len(unmatched))
	}
	for _, m := range unmatched {
		if strings.HasSuffix(m.Email, "@"+emailDomain) && m.Email != pinAutomation {
			t.Fatalf("%s is unmatched although the directory has them", m.Email)
		}
	}

	// A later check reuses the kept browser session: no new login.
	_, loginsBefore := sb.Stats()
	checked, err := s.check(s.apiKey, igID)
	if err != nil {
		t.Fatal(err)
	}
	exportHistory(t, s, checked.WorkflowID, checked.RunID, "integration_sync_pinterest.json")
	if _, logins := sb.Stats(); logins != loginsBefore {
		t.Fatalf("a check with a kept session logged in again (%d → %d)", loginsBefore, logins)
	}
	// An expired session logs in again, and the trusted browser needs no code.
	sb.ExpireSessions()
	codeBefore := sb.VerificationCode(pinAutomation)
	if _, err := s.check(s.apiKey, igID); err != nil {
		t.Fatal(err)
	}
	if _, logins := sb.Stats(); logins != loginsBefore+1 || sb.VerificationCode(pinAutomation) != codeBefore {
		t.Fatalf("after expiry: %d logins (want %d), a new code asked: %v", logins, loginsBefore+1, sb.VerificationCode(pinAutomation) != codeBefore)
	}
	pinterestActions(t, s, sb, igID)

	// A UI the automation does not know fails the check at once, clearly,
	// with a screenshot and the page kept and named in the audit log.
	sb.Flow = pinsandbox.FlowRedesign
	if _, err := s.check(s.apiKey, igID); err == nil || !strings.Contains(err.Error(), "UI changed") {
		t.Fatalf("a check against an unknown UI: %v", err)
	}
	sb.Flow = pinsandbox.FlowPeople
	var failures struct{ Items []store.AuditEvent }
	s.call("GET", "/v1/audit?action=integration.automation_failed", s.apiKey, nil, &failures)
	if len(failures.Items) != 1 {
		t.Fatalf("%d automation failures in the audit log, want 1", len(failures.Items))
	}
	msg, _ := failures.Items[0].Details["message"].(string)
	shot := regexp.MustCompile(`screenshot (\S+\.png)`).FindStringSubmatch(msg)
	if shot == nil {
		t.Fatalf("the audit event names no screenshot: %q", msg)
	}
	html, err := os.ReadFile(strings.TrimSuffix(shot[1], ".png") + ".html")
	if st, serr := os.Stat(shot[1]); serr != nil || st.Size() == 0 || err != nil || !strings.Contains(string(html), "team-grid") ||
		strings.Contains(string(html), pinPassword) {
		t.Fatalf("capture %s: %v %v", shot[1], serr, err)
	}
	for _, secret := range []string{pinPassword, verification} {
		assertNoSecrets(t, s, workflows.OnboardingID(igID), run.GetRunID(), secret)
	}
	exportHistory(t, s, workflows.OnboardingID(igID), run.GetRunID(), "pinterest_onboarding.json")

	// The integration moves to Pinterest's API: the same integration, its
	// checks and actions kept, the automation account's secrets gone.
	runsBefore := s.count(t, `SELECT count(*) FROM sync_runs WHERE integration_id = $1`, igID)
	actionsBefore := s.count(t, `SELECT count(*) FROM audit_events WHERE subject_id LIKE $1 || '/%' AND action LIKE 'member.%'`, igID)
	var moved store.Integration
	if code := s.call("PUT", "/v1/integrations/"+igID+"/mode", s.apiKey, map[string]string{"mode": "api"}, &moved); code != http.StatusOK ||
		moved.Mode != "api" || moved.Status != "onboarding" || moved.Settings.Automation != nil {
		t.Fatalf("switch to the API: %d %+v", code, moved)
	}
	if n := s.count(t, `SELECT count(*) FROM credentials WHERE owner_id = $1`, igID); n != 0 {
		t.Fatalf("%d secrets of the automation account left", n)
	}
	s.expectErrors(t, []badRequest{
		{"BrowserWithoutAccount", "PUT", "/v1/integrations/" + igID + "/mode", s.apiKey, `{"mode":"browser"}`, http.StatusBadRequest},
		{"AlreadyAPI", "PUT", "/v1/integrations/" + igID + "/mode", s.apiKey, `{"mode":"api"}`, http.StatusConflict},
	})
	if code, page := s.consentToPinterest(t, s.apiKey, igID, "allow"); code != http.StatusOK {
		t.Fatalf("consent: %d %s", code, page)
	}
	res2 := s.waitCheck(t, igID)
	apiBiz := s.pin.Business(pinBusinessID)
	if res2.Members != len(apiBiz.Members)+len(apiBiz.Invites) || s.integration(igID).Status != "connected" {
		t.Fatalf("the first check through the API: %+v (the business has %d people, %d invitations)", res2, len(apiBiz.Members), len(apiBiz.Invites))
	}
	if n := s.count(t, `SELECT count(*) FROM sync_runs WHERE integration_id = $1`, igID); n != runsBefore+1 {
		t.Fatalf("%d checks after the switch, %d before", n, runsBefore)
	}
	if n := s.count(t, `SELECT count(*) FROM audit_events WHERE subject_id LIKE $1 || '/%' AND action LIKE 'member.%'`, igID); n != actionsBefore || n == 0 {
		t.Fatalf("%d member actions in the audit log after the switch, %d before", n, actionsBefore)
	}
}

// TestPinterestWrongPassword: the login fails without retries, the
// integration needs re-authorisation, and the API says why.
func TestPinterestWrongPassword(t *testing.T) {
	s := newStack(t, seed.Company(emailDomain, 40, 5))
	sb, webURL := s.pinterestSandbox(t, pinsandbox.FlowEmployees, 90, 4, 25)
	wrong := "Wrong-" + pinPassword
	created, code := s.createPinterest(pinBusinessID, wrong, webURL)
	if code != http.StatusCreated {
		t.Fatalf("create: %d", code)
	}
	v := s.waitOnboarding(created.ID, "a refused password", refusedFor("refused the automation account's password"))
	if v.Status != "needs_reauth" || strings.Contains(v.StatusMessage, pinAutomation) {
		t.Fatalf("integration %+v", v.Integration)
	}
	if pages, logins := sb.Stats(); logins != 0 || pages > 6 {
		t.Fatalf("a refused password was retried: %d pages, %d logins", pages, logins)
	}
	// The right password, and the onboarding logs in again and finishes.
	path := "/v1/integrations/" + created.ID + "/"
	s.expectErrors(t, []badRequest{
		{"TokenForPinterest", "PUT", path + "token", s.apiKey, `{"access_token":"EAAx"}`, http.StatusBadRequest},
		{"PasswordEmpty", "PUT", path + "password", s.apiKey, `{"password":""}`, http.StatusBadRequest},
		{"PasswordAndToken", "PUT", path + "password", s.apiKey, `{"password":"x","access_token":"y"}`, http.StatusBadRequest},
		{"CheckWhileOnboarding", "POST", path + "sync", s.apiKey, "", http.StatusConflict},
	})
	if code := s.call("PUT", path+"password", s.apiKey, map[string]string{"password": pinPassword}, nil); code != http.StatusNoContent {
		t.Fatalf("new password: %d", code)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if err := s.temporal.GetWorkflow(ctx, workflows.OnboardingID(created.ID), "").Get(ctx, nil); err != nil {
		t.Fatal(err)
	}
	if v := s.integration(created.ID); v.Status != "connected" || v.Onboarding.Stage != store.OnboardDone {
		t.Fatalf("after the new password: %s, %s", v.Status, v.Onboarding.Stage)
	}
	for _, secret := range []string{wrong, pinPassword} {
		assertNoSecrets(t, s, workflows.OnboardingID(created.ID), "", secret)
	}
}

// pinterestActions runs each member action through the API on a connected
// Pinterest integration and checks the sandbox's state after.
func pinterestActions(t *testing.T, s *stack, sb *pinsandbox.Server, igID string) {
	biz := sb.Business(pinBusinessID)
	var employee, agency, personal store.Member
	for _, m := range s.members(s.apiKey, igID, string(domain.StateOnboarded)) {
		if m.Role == pinsandbox.RoleEmployee && employee.ExternalID == "" {
			employee = m
		}
	}
	for _, m := range s.members(s.apiKey, igID, string(domain.StateUnmatched)) {
		if strings.HasSuffix(m.Email, "@agency.example") && agency.ExternalID == "" {
			agency = m
		}
		if strings.HasSuffix(m.Email, "@gmail.example") && personal.ExternalID == "" {
			personal = m
		}
	}
	s.expectErrors(t, []badRequest{
		{"MetaRole", "POST", "/v1/integrations/" + igID + "/members/" + employee.ExternalID + "/role", s.apiKey, `{"role":"ADMIN"}`, http.StatusBadRequest},
		{"AdAccountTasks", "POST", "/v1/integrations/" + igID + "/members/" + employee.ExternalID + "/role", s.apiKey,
			`{"assets":[{"asset_id":"549755900000","tasks":["ANALYST"]}]}`, http.StatusBadRequest},
		{"BulkRemove", "POST", "/v1/integrations/" + igID + "/members/bulk", s.apiKey, `{"action":"remove","members":["` + agency.ExternalID + `"]}`, http.StatusBadRequest},
	})

	roled := s.act(igID, employee.ExternalID, "role", map[string]string{"role": pinsandbox.RoleManager})
	exportHistory(t, s, roled.WorkflowID, roled.RunID, "member_action_pinterest_role.json")
	if biz.Members[employee.ExternalID].Role != pinsandbox.RoleManager {
		t.Fatal("the role did not change in Pinterest")
	}
	removed := s.act(igID, agency.ExternalID, "remove", nil)
	exportHistory(t, s, removed.WorkflowID, removed.RunID, "member_action_pinterest_remove.json")
	if biz.Members[agency.ExternalID] != nil {
		t.Fatal("the agency member is still in the business")
	}
	if code := s.call("POST", "/v1/integrations/"+igID+"/members/"+agency.ExternalID+"/remove", s.apiKey, nil, nil); code != http.StatusConflict {
		t.Fatalf("removing a removed member: %d, want 409", code)
	}
	s.act(igID, personal.ExternalID, "exempt", map[string]string{"reason": "uses a personal account for the brand"})
	if m := s.member(igID, personal.ExternalID); m.State != domain.StateExempted {
		t.Fatalf("exempted member is %s", m.State)
	}

	// Invite a directory person who is not in the business.
	var invitee string
	for _, p := range s.people {
		if p.Status == domain.UserActive && sbMember(biz, p.Email) == nil {
			invitee = p.Email
			break
		}
	}
	var started actionStarted
	if code := s.call("POST", "/v1/integrations/"+igID+"/invitations", s.apiKey, map[string]string{"email": invitee, "role": "EMPLOYEE"}, &started); code != http.StatusAccepted {
		t.Fatalf("invite: %d", code)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := s.temporal.GetWorkflow(ctx, started.WorkflowID, started.RunID).Get(ctx, nil); err != nil {
		t.Fatal(err)
	}
	exportHistory(t, s, started.WorkflowID, started.RunID, "member_action_pinterest_invite.json")
	var inviteID string
	for id, inv := range biz.Invites {
		if inv.Email == invitee && inv.Status == "PENDING" {
			inviteID = id
		}
	}
	pending := s.members(s.apiKey, igID, string(domain.StatePending))
	if inviteID == "" || !slices.ContainsFunc(pending, func(m store.Member) bool { return m.ExternalID == inviteID }) {
		t.Fatalf("invitation %q of %s not pending in the sandbox and the API", inviteID, invitee)
	}
	if code := s.call("DELETE", "/v1/integrations/"+igID+"/invitations/"+inviteID, s.apiKey, nil, nil); code != http.StatusBadRequest {
		t.Fatalf("cancelling a Pinterest invitation: %d, want 400", code)
	}
	// Accepted, the next check onboards them; nothing else changes.
	if _, err := sb.AcceptInvite(pinBusinessID, inviteID, "New Hire"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.check(s.apiKey, igID); err != nil {
		t.Fatal(err)
	}
	if !slices.ContainsFunc(s.members(s.apiKey, igID, string(domain.StateOnboarded)), func(m store.Member) bool { return m.Email == invitee }) {
		t.Fatalf("%s was not onboarded after accepting", invitee)
	}
	if m := s.member(igID, agency.ExternalID); m.State != domain.StateRemoved {
		t.Fatalf("the removed member is %s after a check", m.State)
	}
}

func sbMember(b *pinsandbox.Business, email string) *pinsandbox.Member {
	for _, m := range b.Members {
		if strings.EqualFold(m.Email, email) {
			return m
		}
	}
	return nil
}

// TestPinterestWorkerStoppedMidCheckResumes: a worker stopped while it
// reads the members list; the next worker resumes from the page its last
// heartbeat named instead of starting over.
func TestPinterestWorkerStoppedMidCheckResumes(t *testing.T) {
	people := seed.Company(emailDomain, 260, 8)
	s := newStack(t, people)
	sb, webURL := s.pinterestSandbox(t, pinsandbox.FlowEmployees, 219, 3, 10)
	sb.Latency = 40 * time.Millisecond
	created, _ := s.createPinterest(pinBusinessID, pinPassword, webURL)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	if err := s.temporal.GetWorkflow(ctx, workflows.OnboardingID(created.ID), "").Get(ctx, nil); err != nil {
		t.Fatal(err)
	}
	// A clean check, for comparison.
	before, _ := sb.Stats()
	if _, err := s.check(s.apiKey, created.ID); err != nil {
		t.Fatal(err)
	}
	after, _ := sb.Stats()
	clean := after - before

	first := s.crashableWorker(t, "pinterest-resume")
	run, err := workflows.StartIntegrationSync(ctx, s.temporal, "pinterest-resume", workflows.IntegrationSyncInput{WorkspaceID: s.ws.ID,
		IntegrationID: created.ID, Provider: "pinterest", BusinessID: pinBusinessID, Trigger: "test"})
	if err != nil {
		t.Fatal(err)
	}
	start, _ := sb.Stats()
	deadline := time.Now().Add(time.Minute)
	for {
		runs, _, _ := s.store.ListSyncRuns(ctx, s.ws.ID, created.ID, store.Page{Limit: 1})
		if len(runs) == 1 && runs[0].RunID == run.GetRunID() && runs[0].Fetched >= 120 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("no progress")
		}
		time.Sleep(20 * time.Millisecond)
	}
	first.Stop()
	stopped, _ := sb.Stats()
	second := s.crashableWorker(t, "pinterest-resume")
	defer second.Stop()
	var res workflows.IntegrationSyncResult
	if err := s.temporal.GetWorkflow(ctx, run.GetID(), run.GetRunID()).Get(ctx, &res); err != nil {
		t.Fatalf("check after restart: %v", err)
	}
	end, _ := sb.Stats()
	if res.Unchanged != 220 || res.Added+res.Changed+res.Removed != 0 {
		t.Fatalf("resumed check: %+v, want 220 unchanged", res)
	}
	// Starting over would serve the pages read before the stop a second time.
	beforeStop := stopped - start
	if beforeStop < 12 || end-start > clean+4 {
		t.Fatalf("%d pages before the stop, %d in all; a clean check is %d", beforeStop, end-start, clean)
	}
	t.Logf("%d pages before the stop, %d in all, a clean check %d", beforeStop, end-start, clean)
}

// TestPinterestReportRemovesAtPinterest: a deprovision report of a
// Pinterest business, confirmed, removes its people from Pinterest through
// the browser, and each outcome is a sentence.
func TestPinterestReportRemovesAtPinterest(t *testing.T) {
	people := seed.Company(emailDomain, 60, 6)
	s := newStack(t, people)
	s.importOkta()
	s.setAdmins("it@" + emailDomain)
	sb, webURL := s.pinterestSandbox(t, pinsandbox.FlowEmployees, 40, 2, 25)
	created, code := s.createPinterest(pinBusinessID, pinPassword, webURL)
	if code != http.StatusCreated {
		t.Fatalf("create: %d", code)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	if err := s.temporal.GetWorkflow(ctx, workflows.OnboardingID(created.ID), "").Get(ctx, nil); err != nil {
		t.Fatal(err)
	}
	var reports struct{ Items []store.Report }
	s.call("GET", "/v1/reports", s.apiKey, nil, &reports)
	if len(reports.Items) != 1 || len(reports.Items[0].Members) == 0 {
		t.Fatalf("reports: %+v", reports.Items)
	}
	report := reports.Items[0]
	biz := sb.Business(pinBusinessID)
	for _, m := range report.Members {
		if biz.Members[m.MemberID] == nil {
			t.Fatalf("reported member %s is not in the Pinterest business", m.MemberID)
		}
	}
	if code := s.call("POST", "/v1/reports/"+report.ID+"/decision", s.apiKey, map[string]any{"decision": "confirm", "version": report.Version}, nil); code != http.StatusOK {
		t.Fatalf("confirm: %d\n%s", code, s.logs.String())
	}
	var res workflows.ReportResult
	if err := s.temporal.GetWorkflow(ctx, workflows.ReportWorkflowID(report.ID), "").Get(ctx, &res); err != nil {
		t.Fatal(err)
	}
	if res.Status != "applied" || res.Removed != len(report.Members) {
		t.Fatalf("review: %+v for %d people", res, len(report.Members))
	}
	var done store.Report
	s.call("GET", "/v1/reports/"+report.ID, s.apiKey, nil, &done)
	for _, m := range done.Members {
		if biz.Members[m.MemberID] != nil {
			t.Fatalf("%s is still in the Pinterest business", m.MemberID)
		}
		if m.Result != store.ResultRemoved || m.Outcome != "removed" {
			t.Fatalf("outcome of %s: %s %q", m.MemberID, m.Result, m.Outcome)
		}
	}
	if body := s.waitMail("it@"+emailDomain, "applied"); !strings.Contains(body, "removed") || strings.Contains(body, "child workflow") {
		t.Fatalf("summary mail: %s", body)
	}
	exportHistory(t, s, workflows.ReportWorkflowID(report.ID), "", "deprovision_report_pinterest.json")
}
