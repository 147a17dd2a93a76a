package e2e

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hubkeeper/hubkeeper/internal/domain"
	"github.com/hubkeeper/hubkeeper/internal/sandbox/oktasandbox"
	"github.com/hubkeeper/hubkeeper/internal/sandbox/seed"
	"github.com/hubkeeper/hubkeeper/internal/store"
	"github.com/hubkeeper/hubkeeper/workflows"
)

var linkRE = regexp.MustCompile(`/confirm/([A-Za-z0-9_-]{20,})`)

// waitMail waits for a message to recipient whose subject contains text.
func (s *stack) waitMail(recipient, subject string) (body string) {
	s.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		for _, m := range s.mail.Messages() {
			if slices.Contains(m.To, recipient) && strings.Contains(m.Subject, subject) {
				return m.Text
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	s.t.Fatalf("no mail %q to %s", subject, recipient)
	return ""
}

func page(t testing.TB, method, u string, form url.Values) (int, string) {
	t.Helper()
	var resp *http.Response
	var err error
	if method == "GET" {
		resp, err = http.Get(u)
	} else {
		resp, err = http.PostForm(u, form)
	}
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestDeprovisionReportByLink(t *testing.T) {
	people := seed.Company(emailDomain, 300, 5)
	s := newStack(t, people)
	s.importOkta()
	s.setAdmins("it@acme.test", "sec@acme.test")
	ig, _ := s.createIntegration(s.apiKey, metaToken)
	if _, err := s.check(s.apiKey, ig.ID); err != nil {
		t.Fatal(err)
	}
	var reports struct {
		Items []store.Report `json:"items"`
	}
	s.call("GET", "/v1/reports", s.apiKey, nil, &reports)
	if len(reports.Items) != 1 || len(reports.Items[0].Members) < 2 {
		t.Fatalf("reports = %+v", reports.Items)
	}
	report := reports.Items[0]
	for _, m := range report.Members {
		if m.DirectoryStatus != string(domain.UserDeprovisioned) {
			t.Fatalf("reported %s whose directory status is %s", m.Email, m.DirectoryStatus)
		}
	}
	body := s.waitMail("it@acme.test", "people to remove")
	other := s.waitMail("sec@acme.test", "people to remove")
	link, otherLink := linkRE.FindStringSubmatch(body), linkRE.FindStringSubmatch(other)
	if link == nil || otherLink == nil || link[1] == otherLink[1] {
		t.Fatalf("links: %v %v", link, otherLink)
	}
	token := link[1]
	confirmURL := s.api.URL + "/confirm/" + token

	// A mail scanner's prefetch shows the page and changes nothing.
	code, html := page(t, "GET", confirmURL, nil)
	if code != 200 || !strings.Contains(html, report.Members[0].Email) || !strings.Contains(html, `name="decision" value="confirm"`) {
		t.Fatalf("page: %d", code)
	}
	if r, _ := s.store.Report(context.Background(), "", report.ID); r.Status != "pending" {
		t.Fatalf("a GET changed the report to %s", r.Status)
	}
	if code, _ := page(t, "GET", s.api.URL+"/confirm/forged-token-forged-token-xx", nil); code != 404 {
		t.Fatalf("forged link: %d", code)
	}
	if code, _ := page(t, "POST", s.api.URL+"/confirm/forged-token-forged-token-xx", url.Values{"decision": {"confirm"}}); code != 404 {
		t.Fatalf("forged POST: %d", code)
	}

	// Confirm, leaving the first person out.
	keptOut := report.Members[0].MemberID
	form := url.Values{"decision": {"confirm"}, "version": {strconv.Itoa(report.Version)}}
	for _, m := range report.Members[1:] {
		form.Add("keep_in_removal", m.MemberID)
	}
	if code, html := page(t, "POST", confirmURL, form); code != 200 || !strings.Contains(html, "being removed") {
		t.Fatalf("confirm: %d %s", code, html)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var res workflows.ReportResult
	if err := s.temporal.GetWorkflow(ctx, workflows.ReportWorkflowID(report.ID), "").Get(ctx, &res); err != nil {
		t.Fatal(err)
	}
	b := s.meta.Business(metaBusinessID)
	if res.Status != "applied" || res.Removed != len(report.Members)-1 {
		t.Fatalf("review = %+v", res)
	}
	if b.Users[keptOut] == nil {
		t.Fatal("the person left out was removed")
	}
	for _, m := range report.Members[1:] {
		if b.Users[m.MemberID] != nil {
			t.Fatalf("%s is still in the business", m.Email)
		}
	}
	s.waitMail("it@acme.test", "applied")
	for _, action := range []string{"report.confirmed", "report.applied", "member.remove"} {
		events, _, _ := s.store.ListAuditEvents(context.Background(), s.ws.ID, store.AuditFilter{Action: action}, store.Page{})
		if len(events) == 0 {
			t.Fatalf("no %s audit event", action)
		}
	}

	// The link works once; the other admin's link is too late.
	if code, html := page(t, "POST", confirmURL, url.Values{"decision": {"reject"}, "version": {strconv.Itoa(report.Version)}}); code != 409 ||
		!strings.Contains(html, "Already decided") {
		t.Fatalf("replayed link: %d", code)
	}
	if code, html := page(t, "GET", s.api.URL+"/confirm/"+otherLink[1], nil); code != 200 || !strings.Contains(html, "it@acme.test") ||
		strings.Contains(html, `value="confirm"`) {
		t.Fatalf("other admin's link after the decision: %d", code)
	}
	assertNoSecrets(t, s, workflows.ReportWorkflowID(report.ID), "", token)
	exportHistory(t, s, workflows.ReportWorkflowID(report.ID), "", "deprovision_report_outcomes.json")
	assertNoSecrets(t, s, workflows.ReportWorkflowID(report.ID), "", otherLink[1])
}

func TestReportDecisionAPI(t *testing.T) {
	s, _, _ := connected(t)
	var reports struct {
		Items []store.Report `json:"items"`
	}
	s.call("GET", "/v1/reports", s.apiKey, nil, &reports)
	id, version := reports.Items[0].ID, reports.Items[0].Version
	other, _ := s.store.CreateWorkspace(context.Background(), "Other")
	otherKey, _, _ := s.store.CreateAPIKey(context.Background(), store.NewAPIKey{WorkspaceID: other.ID, Name: "o", Scope: store.ScopeAdmin, Actor: "test"})
	s.expectErrors(t, []badRequest{
		{"BadDecision", "POST", "/v1/reports/" + id + "/decision", s.apiKey, `{"decision":"maybe"}`, 400},
		{"UnknownLeftOut", "POST", "/v1/reports/" + id + "/decision", s.apiKey, fmt.Sprintf(`{"decision":"confirm","exclude":["nobody"],"version":%d}`, version), 400},
		{"NoVersion", "POST", "/v1/reports/" + id + "/decision", s.apiKey, `{"decision":"confirm"}`, 400},
		{"StaleVersion", "POST", "/v1/reports/" + id + "/decision", s.apiKey, fmt.Sprintf(`{"decision":"confirm","version":%d}`, version-1), 409},
		{"VersionNotANumber", "POST", "/v1/reports/" + id + "/decision", s.apiKey, `{"decision":"confirm","version":"1"}`, 400},
		{"OtherWorkspace", "POST", "/v1/reports/" + id + "/decision", otherKey, fmt.Sprintf(`{"decision":"reject","version":%d}`, version), 404},
		{"OtherWorkspaceGet", "GET", "/v1/reports/" + id, otherKey, ``, 404},
		{"UnknownReport", "GET", "/v1/reports/00000000-0000-4000-8000-000000000000", s.apiKey, ``, 404},
		{"BadAdminEmail", "PUT", "/v1/workspace/settings", s.apiKey, `{"admin_emails":["not-an-address"]}`, 400},
	})
	var decided store.Report
	if code := s.call("POST", "/v1/reports/"+id+"/decision", s.apiKey, map[string]any{"decision": "reject", "version": version}, &decided); code != 200 ||
		decided.Status != "rejected" || !strings.HasPrefix(decided.DecidedBy, "api_key:") {
		t.Fatalf("reject: %d %+v", code, decided)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var res workflows.ReportResult
	if err := s.temporal.GetWorkflow(ctx, workflows.ReportWorkflowID(id), "").Get(ctx, &res); err != nil || res.Status != "rejected" {
		t.Fatalf("review after reject: %+v, %v", res, err)
	}
	if code := s.call("POST", "/v1/reports/"+id+"/decision", s.apiKey, map[string]any{"decision": "confirm", "version": version}, nil); code != 409 {
		t.Fatalf("second decision: %d", code)
	}
}

// setAdmins makes addresses the workspace's report admins.
func (s *stack) setAdmins(admins ...string) {
	s.t.Helper()
	if code := s.call("PUT", "/v1/workspace/settings", s.apiKey, map[string]any{"admin_emails": admins}, nil); code != 200 {
		s.t.Fatalf("settings: %d", code)
	}
}

// leave deprovisions an onboarded member's person in Okta and imports the directory.
func (s *stack) leave(t *testing.T, dir store.Directory, m store.Member) {
	t.Helper()
	for _, p := range s.people {
		if p.Email == *m.MatchedEmail {
			if err := s.okta.SetStatus(oktasandbox.OktaID(p.Key), "DEPROVISIONED"); err != nil {
				t.Fatal(err)
			}
		}
	}
	if _, err := s.sync(dir.ID); err != nil {
		t.Fatal(err)
	}
}

// A page opened before a check added someone to the report does not decide
// for them: it asks again, listing them. Kept people (a rejected report)
// are not reported or mailed again by later checks, until an admin undoes
// the keep.
func TestReportChangedSinceShownAndKeptPeople(t *testing.T) {
	people := seed.Company(emailDomain, 300, 5)
	s := newStack(t, people)
	dir := s.importOkta()
	s.setAdmins("it@acme.test")
	ig, _ := s.createIntegration(s.apiKey, metaToken)
	if _, err := s.check(s.apiKey, ig.ID); err != nil {
		t.Fatal(err)
	}
	link := linkRE.FindStringSubmatch(s.waitMail("it@acme.test", "people to remove"))[1]
	var reports struct{ Items []store.Report }
	s.call("GET", "/v1/reports", s.apiKey, nil, &reports)
	shown := reports.Items[0]
	form := url.Values{"decision": {"confirm"}, "version": {strconv.Itoa(shown.Version)}}
	for _, m := range shown.Members {
		form.Add("keep_in_removal", m.MemberID)
	}

	// Someone else leaves and joins the report while the page is open.
	leaver := s.firstOf(ig.ID, domain.StateOnboarded, "@"+emailDomain)
	s.leave(t, dir, leaver)
	if _, err := s.check(s.apiKey, ig.ID); err != nil {
		t.Fatal(err)
	}
	removalsBefore := s.meta.Removals()
	code, html := page(t, "POST", s.api.URL+"/confirm/"+link, form)
	if code != http.StatusConflict || !strings.Contains(html, "changed since you opened it") || !strings.Contains(html, leaver.Email) ||
		!strings.Contains(html, `value="confirm"`) {
		t.Fatalf("a decision on the older version: %d\n%s", code, html)
	}
	var now store.Report
	s.call("GET", "/v1/reports/"+shown.ID, s.apiKey, nil, &now)
	if now.Status != "pending" || now.Version != shown.Version+1 || len(now.Members) != len(shown.Members)+1 || s.meta.Removals() != removalsBefore {
		t.Fatalf("after the refused decision: %s v%d, %d people, %d removals", now.Status, now.Version, len(now.Members),
			s.meta.Removals()-removalsBefore)
	}

	// Keep everyone. The next checks report nobody and mail nobody.
	if code := s.call("POST", "/v1/reports/"+now.ID+"/decision", s.apiKey, map[string]any{"decision": "reject", "version": now.Version}, nil); code != 200 {
		t.Fatalf("reject: %d", code)
	}
	mails := len(s.mail.Messages())
	for range 2 {
		if _, err := s.check(s.apiKey, ig.ID); err != nil {
			t.Fatal(err)
		}
	}
	s.call("GET", "/v1/reports", s.apiKey, nil, &reports)
	if len(reports.Items) != 1 || len(s.mail.Messages()) != mails {
		t.Fatalf("after keeping everyone: %d reports, %d new mails", len(reports.Items), len(s.mail.Messages())-mails)
	}
	kept := s.member(ig.ID, leaver.ExternalID)
	if kept.KeptBy == nil || !strings.HasPrefix(*kept.KeptBy, "api_key:") || kept.KeptAt == nil {
		t.Fatalf("kept by %v at %v", kept.KeptBy, kept.KeptAt)
	}
	// Undo the keep for one: the next check reports them alone.
	s.act(ig.ID, leaver.ExternalID, "unkeep", nil)
	if _, err := s.check(s.apiKey, ig.ID); err != nil {
		t.Fatal(err)
	}
	s.call("GET", "/v1/reports", s.apiKey, nil, &reports)
	if len(reports.Items) != 2 || len(reports.Items[0].Members) != 1 || reports.Items[0].Members[0].MemberID != leaver.ExternalID {
		t.Fatalf("after undoing the keep: %+v", reports.Items)
	}
}

// A report e-mail that failed for one admin is retried for that admin only:
// the others do not get it twice.
func TestReportMailRetriedOncePerAdmin(t *testing.T) {
	s := newStack(t, seed.Company(emailDomain, 300, 5))
	s.importOkta()
	s.setAdmins("it@acme.test", "sec@acme.test")
	s.mail.Refuse("sec@acme.test")
	ig, _ := s.createIntegration(s.apiKey, metaToken)
	if _, err := s.check(s.apiKey, ig.ID); err != nil {
		t.Fatal(err)
	}
	s.waitMail("it@acme.test", "people to remove")
	time.Sleep(4 * time.Second) // the send is retried while sec@ refuses it
	s.mail.Accept("sec@acme.test")
	s.waitMail("sec@acme.test", "people to remove")
	count := map[string]int{}
	for _, m := range s.mail.Messages() {
		for _, to := range m.To {
			if strings.Contains(m.Subject, "people to remove") {
				count[to]++
			}
		}
	}
	if count["it@acme.test"] != 1 || count["sec@acme.test"] != 1 {
		t.Fatalf("requests per admin: %v, want one each", count)
	}
}
